"""Build stereo agent/caller calls from real recorded telephony speech, for tests and the demo call.

Speech comes from Debian's asterisk-core-sounds packages (clean 8 kHz studio prompts, CC-BY-SA /
CC-BY, see NOTICE). A name is a path under /usr/share/asterisk/sounds without ".wav", e.g.
"en_US_f_Allison/vm-goodbye", "en/hello-world" or "it_IT_m_Carlo/auth-thankyou".

Levels follow the line-condition corpus (/work/shared/corpus/CORPUS.md §1): dBov = 20*log10(rms/32768)
on int16-scaled samples; a speech level is the ITU-T P.56 method B active speech level, re-implemented
here with numpy only because scipy is not a dependency of the product.

Everything is placed on the 10 ms frame grid, so a span's start and end are exact frame boundaries and
a test can assert prompt times computed from them to the sample. Randomness comes only from `seed`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import soundfile as sf
import soxr

from softphone_assist.core.errors import InputError
from softphone_assist.core.events import CALL_EVENT_KINDS

if TYPE_CHECKING:
    from softphone_assist.core.events import Update
    from softphone_assist.core.pipeline import Pipeline

RATE = 16000
SOUNDS = Path("/usr/share/asterisk/sounds")
FULL_SCALE = 32768.0
TRIM_DBOV = -60.0  # 10 ms frames quieter than this at either end of a prompt are not speech
RAMP_S = 0.02  # raised-cosine fade of added noise, as in the corpus
FLOORS: dict[str, tuple[str, float] | None] = {
    "zero": None,  # digital silence
    "hiss": ("white", -70.0),
    "comfort_noise": ("pink", -60.0),
}
NOISE_KINDS = ("white", "pink", "brown", "babble")
BABBLE_EXCLUDE = ("beep", "2tone", "tt-monkeys")  # tones and animal noises are not talkers
P56_MARGIN_DB = 15.9
P56_HANGOVER_S = 0.2
P56_TIME_CONST_S = 0.03

Channel = Literal["agent", "caller"]
Rng = np.random.Generator


class SpeechUnavailable(InputError, FileNotFoundError):
    """A recorded prompt is missing; the message names the file and the Debian package to install."""


def dbov_rms(x: np.ndarray) -> float:
    """Plain RMS level in dBov (-inf for digital zero or an empty array)."""
    ms = float(np.mean(np.square(x, dtype=np.float64))) if len(x) else 0.0
    return 10.0 * np.log10(ms / FULL_SCALE**2) if ms > 0 else float("-inf")


# ---------------------------------------------------------------------------------------------
# Recorded speech
# ---------------------------------------------------------------------------------------------
def _package_of(name: str) -> str:
    """The Debian package that provides a prompt's folder.

    A voice folder (`en_US_f_Allison`) comes with the WAV package of its language
    (asterisk-core-sounds-en-wav); a bare language folder (`en`) is an alias that only the
    language's base package (asterisk-core-sounds-en) creates.
    """
    folder = name.split("/", 1)[0]
    if "_" not in folder:
        return f"asterisk-core-sounds-{folder}"
    return f"asterisk-core-sounds-{folder[:2]}-wav"


def have_speech(voice: str = "en_US_f_Allison") -> bool:
    """Is this voice installed (default: the English Allison voice of asterisk-core-sounds-en-wav)?"""
    return (SOUNDS / voice).is_dir() and any((SOUNDS / voice).glob("*.wav"))


def _frame_len(rate: int) -> int:
    if rate < 8000 or rate % 100:
        raise ValueError(f"rate {rate}: expected a multiple of 100 Hz, at least 8000")
    return rate // 100


@functools.lru_cache(maxsize=256)  # ~50 MB of typical prompts at 16 kHz
def _load(name: str, rate: int) -> np.ndarray:
    path = SOUNDS / f"{name}.wav"
    if not path.is_file():
        voice_dir = SOUNDS / name.split("/", 1)[0]
        why = "no such prompt" if voice_dir.is_dir() else f"install the Debian package {_package_of(name)}"
        raise SpeechUnavailable(f"speech {name!r}: {path} does not exist ({why})")
    data, file_rate = sf.read(path, dtype="int16", always_2d=True)
    x = data[:, 0].astype(np.float64)
    if file_rate != rate:
        x = soxr.resample(x, file_rate, rate, quality="HQ")
    frame = _frame_len(rate)
    x = np.pad(x, (0, -len(x) % frame))  # the file's last partial frame is completed with zeros
    frame_db = 10 * np.log10(np.mean(x.reshape(-1, frame) ** 2, axis=1) / FULL_SCALE**2 + 1e-30)
    loud = np.flatnonzero(frame_db >= TRIM_DBOV)
    if loud.size == 0:
        raise ValueError(f"speech {name!r}: {path} holds no frame above {TRIM_DBOV} dBov")
    y = x[loud[0] * frame : (loud[-1] + 1) * frame].copy()
    y.flags.writeable = False  # shared by the cache
    return y


def utterance(name: str, rate: int = RATE) -> np.ndarray:
    """A prompt as float64 int16-scale samples at `rate`, trimmed to whole 10 ms frames of speech."""
    return _load(name, rate).copy()


@functools.lru_cache(maxsize=16)
def voice_prompts(voice: str) -> tuple[str, ...]:
    """All prompt names of a voice (sorted, subfolders included) that are speech, for babble."""
    names = []
    for path in sorted((SOUNDS / voice).rglob("*.wav")):
        rel = path.relative_to(SOUNDS).with_suffix("").as_posix()
        if "/silence/" not in rel and not any(word in path.name for word in BABBLE_EXCLUDE):
            names.append(rel)
    if not names:
        raise SpeechUnavailable(f"voice {voice!r}: no prompts under {SOUNDS / voice} "
                                f"(install the Debian package {_package_of(voice)})")
    return tuple(names)


# ---------------------------------------------------------------------------------------------
# P.56 method B active speech level (the corpus' definition: common.py p56_active_level)
# ---------------------------------------------------------------------------------------------
def _one_pole(x: np.ndarray, g: float, block: int = 2048) -> np.ndarray:
    """y[n] = (1-g) x[n] + g y[n-1], y[-1] = 0, in closed form per block (no scipy lfilter).

    Within a block y[i] = (1-g) g^i sum_{j<=i} x[j] g^-j + g^(i+1) y_prev; g^-block stays small
    (about e^8.5 at 8 kHz), so the cumulative sum loses no useful precision.
    """
    k = np.arange(block, dtype=np.float64)
    g_pos, g_neg, g_carry = g**k, g**-k, g ** (k + 1)
    y = np.empty(len(x), dtype=np.float64)
    prev = 0.0
    for s in range(0, len(x), block):
        xb = x[s : s + block]
        m = len(xb)
        yb = (1.0 - g) * g_pos[:m] * np.cumsum(xb * g_neg[:m]) + g_carry[:m] * prev
        y[s : s + m] = yb
        prev = float(yb[-1])
    return y


def _causal_max(x: np.ndarray, width: int) -> np.ndarray:
    """out[n] = max(x[n-width+1 .. n]) with zeros before the start (x >= 0), van Herk/Gil-Werman."""
    n = len(x)
    padded = np.concatenate([np.zeros(width - 1), x])
    padded = np.pad(padded, (0, -len(padded) % width))
    blocks = padded.reshape(-1, width)
    prefix = np.maximum.accumulate(blocks, axis=1).ravel()
    suffix = np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    start = np.arange(n)  # window [start, start+width-1] in padded coordinates
    return np.maximum(suffix[start], prefix[start + width - 1])


def p56_active_level(x: np.ndarray, rate: int) -> tuple[float, float, np.ndarray]:
    """(active level dBov, activity factor, per-sample activity mask); -inf level for digital zero."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    energy = float(np.sum(x * x))
    if n == 0 or energy <= 0:
        return float("-inf"), 0.0, np.zeros(n, dtype=bool)
    g = float(np.exp(-1.0 / (rate * P56_TIME_CONST_S)))
    env = _causal_max(_one_pole(_one_pole(np.abs(x), g), g), round(P56_HANGOVER_S * rate) + 1)
    env_sorted = np.sort(env)
    peak_db = 20 * np.log10(max(env_sorted[-1], 1e-9) / FULL_SCALE)
    c_db = np.arange(peak_db - 0.01, -140.0, -0.05)[::-1]  # thresholds on a 0.05 dB grid, ascending
    c_lin = FULL_SCALE * 10 ** (c_db / 20)
    active = n - np.searchsorted(env_sorted, c_lin, side="left")
    ok = active > 0
    c_db, c_lin, active = c_db[ok], c_lin[ok], active[ok]
    a_db = 10 * np.log10(energy / active / FULL_SCALE**2)
    diff = a_db - c_db  # falls as the threshold rises
    reached = np.flatnonzero(diff <= P56_MARGIN_DB)
    j = int(reached[0]) if reached.size else len(diff) - 1
    if 0 < j < len(diff) and diff[j - 1] != diff[j]:
        frac = (diff[j - 1] - P56_MARGIN_DB) / (diff[j - 1] - diff[j])
        level = a_db[j - 1] + frac * (a_db[j] - a_db[j - 1])
        threshold = c_lin[j - 1] + frac * (c_lin[j] - c_lin[j - 1])
    else:
        level, threshold = a_db[j], c_lin[j]
    mask = env >= threshold
    return float(level), float(mask.mean()), mask


def p56_level(x: np.ndarray, rate: int) -> float:
    """Active speech level in dBov (ITU-T P.56 method B, as the corpus measures it)."""
    return p56_active_level(x, rate)[0]


def at_level(x: np.ndarray, level_dbov: float, rate: int = RATE) -> np.ndarray:
    """`x` scaled so that its P.56 active speech level is `level_dbov`."""
    current = p56_level(x, rate)
    if not np.isfinite(current):
        raise ValueError("at_level: the signal is digital silence, it has no speech level")
    return np.asarray(x, dtype=np.float64) * 10 ** ((level_dbov - current) / 20)


# ---------------------------------------------------------------------------------------------
# Noise (unit RMS)
# ---------------------------------------------------------------------------------------------
def _unit(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x * x)))
    return x / rms if rms > 0 else x


def _shaped(rng: Rng, n: int, rate: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power ~ 1/f**exponent above 20 Hz (FFT shaping, as the corpus does)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec *= np.maximum(np.fft.rfftfreq(n, 1.0 / rate), 20.0) ** (-exponent / 2.0)
    spec[0] = 0.0
    return _unit(np.fft.irfft(spec, n))


def babble(rng: Rng, n: int, rate: int, voices: Sequence[str]) -> np.ndarray:
    """6-10 simultaneous talkers, each resampled by 0.82-1.22 (pitch and formants) so that a few
    recorded voices give many; utterances ±3 dB, 0-0.3 s apart. Each talker is joined mid-stream
    (random offset up to 1 s), so the babble does not start with everybody silent."""
    pool = [name for voice in voices for name in voice_prompts(voice)]
    out = np.zeros(n)
    for _ in range(int(rng.integers(6, 11))):
        factor = float(rng.uniform(0.82, 1.22))
        offset = int(rng.integers(0, rate))
        parts: list[np.ndarray] = []
        total = 0
        while total < (n + offset) * factor + rate:
            u = _load(pool[int(rng.integers(len(pool)))], rate) * 10 ** (rng.uniform(-3, 3) / 20)
            gap = np.zeros(int(rng.uniform(0.0, 0.3) * rate))
            parts += [u, gap]
            total += len(u) + len(gap)
        talker = soxr.resample(np.concatenate(parts), rate * factor, rate, quality="HQ")[offset : offset + n]
        out += np.pad(talker, (0, n - len(talker)))
    return _unit(out)


def noise(kind: str, rng: Rng, n: int, rate: int, voices: Sequence[str] = ("en_US_f_Allison",)) -> np.ndarray:
    """Unit-RMS noise of a kind in NOISE_KINDS."""
    makers: dict[str, Callable[[], np.ndarray]] = {
        "white": lambda: _unit(rng.standard_normal(n)),
        "pink": lambda: _shaped(rng, n, rate, 1.0),
        "brown": lambda: _shaped(rng, n, rate, 2.0),
        "babble": lambda: babble(rng, n, rate, voices),
    }
    if kind not in makers:
        raise ValueError(f"noise kind {kind!r}: expected one of {', '.join(NOISE_KINDS)}")
    return makers[kind]()


def _ramped(x: np.ndarray, rate: int) -> np.ndarray:
    r = min(round(RAMP_S * rate), len(x) // 2)
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(r) + 0.5) / r)
    y = x.copy()
    y[:r] *= fade
    y[len(y) - r :] *= fade[::-1]
    return y


# ---------------------------------------------------------------------------------------------
# The call
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Span:
    """Seconds, on the 10 ms grid."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Placement:
    """One thing put on a channel: a prompt (`name` = its sound name) or added noise (`name` = kind)."""

    channel: Channel
    what: Literal["speech", "noise"]
    name: str
    span: Span
    level_dbov: float


class CallBuilder:
    """Two channels (agent, caller) of `duration_s`, each = line floor + placed speech + added noise.

    Floors: "zero" (digital silence), "hiss" (white, -70 dBov RMS), "comfort_noise" (pink, -60 dBov).
    Each floor and each added noise has its own random stream derived from `seed`, so adding a noise
    does not change the floors and the same calls in the same order give the same samples.
    """

    def __init__(self, duration_s: float, rate: int = RATE, caller_floor: str = "zero", seed: int = 0,
                 agent_floor: str = "zero") -> None:
        self.frame = _frame_len(rate)
        if duration_s <= 0:
            raise ValueError(f"duration_s {duration_s}: must be positive")
        self.rate = rate
        self.seed = seed
        self.n = round(duration_s * 100) * self.frame
        self.floor_names = {"caller": caller_floor, "agent": agent_floor}
        self._floor = {ch: self._floor_track(floor, stream)
                       for stream, (ch, floor) in enumerate(self.floor_names.items())}
        self._speech = {"caller": np.zeros(self.n), "agent": np.zeros(self.n)}
        self._noise = {"caller": np.zeros(self.n), "agent": np.zeros(self.n)}
        self.placements: list[Placement] = []
        self.events: list[tuple[float, str]] = []

    @property
    def duration(self) -> float:
        return self.n / self.rate

    def _floor_track(self, floor: str, stream: int) -> np.ndarray:
        if floor not in FLOORS:
            raise ValueError(f"floor {floor!r}: expected one of {', '.join(FLOORS)}")
        spec = FLOORS[floor]
        if spec is None:
            return np.zeros(self.n)
        kind, level = spec
        rng = np.random.default_rng([self.seed, stream])
        return noise(kind, rng, self.n, self.rate) * FULL_SCALE * 10 ** (level / 20)

    @staticmethod
    def _channel(channel: str) -> None:
        if channel not in ("agent", "caller"):
            raise ValueError(f"channel {channel!r}: expected 'agent' or 'caller'")

    def _index(self, t: float) -> int:
        """Sample index of `t` snapped to the 10 ms grid."""
        idx = round(t * 100) * self.frame
        if not 0 <= idx <= self.n:
            raise ValueError(f"t={t} s is outside the call (0..{self.duration} s)")
        return idx

    def says(self, channel: Channel, t: float, name: str, level_dbov: float = -26.0) -> Span:
        """Place prompt `name` at `t` (snapped to 10 ms) at P.56 level `level_dbov`; returns its span."""
        self._channel(channel)
        u = at_level(_load(name, self.rate), level_dbov, self.rate)
        start = self._index(t)
        end = start + len(u)
        if end > self.n:
            raise ValueError(f"{channel} says {name!r} at {t} s: it ends at {end / self.rate:.2f} s, "
                             f"after the end of the call ({self.duration:.2f} s)")
        self._speech[channel][start:end] += u
        span = Span(start / self.rate, end / self.rate)
        self.placements.append(Placement(channel, "speech", name, span, level_dbov))
        return span

    def agent_says(self, t: float, name: str, level_dbov: float = -26.0) -> Span:
        return self.says("agent", t, name, level_dbov)

    def caller_says(self, t: float, name: str, level_dbov: float = -26.0) -> Span:
        return self.says("caller", t, name, level_dbov)

    def turn(self, channel: Channel, t: float, names: Sequence[str], level_dbov: float = -26.0,
             gap_s: float = 0.3) -> list[Span]:
        """Several prompts in a row, `gap_s` (snapped to 10 ms) apart, each at `level_dbov`."""
        spans: list[Span] = []
        for name in names:
            spans.append(self.says(channel, t, name, level_dbov))
            t = spans[-1].end + gap_s
        return spans

    def caller_noise(self, t0: float, t1: float, kind: str, level_dbov: float,
                     voices: Sequence[str] = ("en_US_f_Allison",)) -> Span:
        """Add noise on the caller line over [t0, t1) (10 ms grid) with 20 ms raised-cosine ramps,
        scaled so that the added noise alone, ramps included, has RMS `level_dbov`.
        `voices` are the talkers of babble."""
        return self.add_noise("caller", t0, t1, kind, level_dbov, voices)

    def add_noise(self, channel: Channel, t0: float, t1: float, kind: str, level_dbov: float,
                  voices: Sequence[str] = ("en_US_f_Allison",)) -> Span:
        """`caller_noise` on either channel."""
        self._channel(channel)
        start, end = self._index(t0), self._index(t1)
        if end - start < 2 * self.frame:
            raise ValueError(f"noise {t0}..{t1} s: shorter than 20 ms")
        stream = 2 + sum(p.what == "noise" for p in self.placements)
        x = _ramped(noise(kind, np.random.default_rng([self.seed, stream]), end - start, self.rate, voices),
                    self.rate)
        self._noise[channel][start:end] += _unit(x) * FULL_SCALE * 10 ** (level_dbov / 20)
        span = Span(start / self.rate, end / self.rate)
        self.placements.append(Placement(channel, "noise", kind, span, level_dbov))
        return span

    def call_event(self, t: float, kind: str) -> None:
        """Record a call-state event for `write_events` (kinds of softphone_assist.core.events)."""
        if kind not in CALL_EVENT_KINDS:
            raise ValueError(f"call event {kind!r}: expected one of {', '.join(CALL_EVENT_KINDS)}")
        self.events.append((round(t, 3), kind))

    def track(self, channel: Channel, parts: Sequence[str] = ("floor", "speech", "noise")) -> np.ndarray:
        """A channel's samples (float64, int16 scale, unclipped), or only some of its parts."""
        self._channel(channel)
        layers = {"floor": self._floor, "speech": self._speech, "noise": self._noise}
        out = np.zeros(self.n)
        for part in parts:
            out += layers[part][channel]
        return out

    def caller_track(self) -> np.ndarray:
        return self.track("caller")

    def agent_track(self) -> np.ndarray:
        return self.track("agent")

    def write(self, path: str | Path, channels: str = "agent,caller", subtype: str = "PCM_16") -> Path:
        """Write the channels in this order (default: left = agent, right = caller); PCM_16 is
        rounded and clipped to int16 here so that reading it back with dtype="int16" is exact."""
        names = [c.strip() for c in channels.split(",")]
        if not names or any(c not in ("agent", "caller") for c in names):
            raise ValueError(f"channels {channels!r}: expected a comma list of 'agent' and 'caller'")
        data = np.column_stack([self.track(c) for c in names])  # type: ignore[arg-type]
        path = Path(path)
        if subtype == "PCM_16":
            sf.write(path, np.clip(np.rint(data), -32768, 32767).astype(np.int16), self.rate, subtype=subtype)
        else:
            sf.write(path, data / FULL_SCALE, self.rate, subtype=subtype)
        return path

    def write_events(self, path: str | Path) -> Path:
        """The recorded call events as JSONL, one {"t", "event"} object per line, in time order."""
        path = Path(path)
        lines = [json.dumps({"t": t, "event": kind}) for t, kind in sorted(self.events, key=lambda e: e[0])]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path


def feed_in_chunks(pipe: Pipeline, b: CallBuilder, chunk_s: float,
                   agent: np.ndarray | None = None) -> list[Update]:
    """Feed the call's two tracks (or `agent` in place of its agent track), as a PCM_16 file holds
    them, `chunk_s` at a time, and `finish()`: the updates a replay of that file would give."""
    a = np.clip(np.rint(b.agent_track() if agent is None else agent), -32768, 32767)
    c = np.clip(np.rint(b.caller_track()), -32768, 32767)
    step = round(chunk_s * b.rate)
    out: list[Update] = []
    for i in range(0, len(c), step):
        out += pipe.feed(c[i : i + step], a[i : i + step])
    return out + pipe.finish()
