#!/usr/bin/env python3
"""Tone detection (softphone_assist/core/detect/tones.py): precision/recall of tone frames, its cost,
and what it does on the dev corpus (which holds no tones).

    python bench/bench_tones.py [--rates 8,16] [--dev /tmp/corpus/dev] [--no-dev] [--limit N]

1. A generated set, per 10 ms frame: tones (E.180 ringback / busy / congestion of CN, EU, US;
   Q.23 DTMF digits of 70-100 ms; CNG, CED, SIT) at -10..-30 dBov over comfort noise or white
   line noise at 15-30 dB SNR; recorded speech (all asterisk-core-sounds voices installed, their
   sound effects confbridge-join/leave left out); noise (white, pink, brown, babble, 50 Hz hum
   with harmonics); music-like multi-tones (chords and melodies of harmonic notes). A tone frame
   is a frame wholly inside a burst; frames touching a burst's edge count neither way.
   Precision, recall and the worst frequency error of detected tones are printed, plus false
   tone frames per category.
2. Cost, in CPU time of this process (time.process_time: the machine may be shared): the
   ToneTracker alone per second of audio (level/tilt given, as the caller tracker gives them),
   and the in-process replay of the bundled demo call (reading, resampling, both trackers, VAD,
   engine) with the tone hook on and off (the ToneTracker replaced by one that never looks) -
   x real time, best of 3, alternated.
3. Dev corpus: `tone` condition seconds and events of the caller tracker (all false: no tones
   there), and the corpus macro-F1 with the hook on and off (bench/tune_detector.py's scoring).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

import callkit  # noqa: E402

from softphone_assist.core.detect import frame_len  # noqa: E402
from softphone_assist.core.detect import tones as T  # noqa: E402

FS = 32768.0
VOICES = ("en_US_f_Allison", "it_IT_m_Carlo", "fr_CA_f_June", "ru_RU_f_IvrvoiceRU", "es_MX_f_Allison")
SOUND_EFFECTS = ("confbridge-join", "confbridge-leave")


def sines(hz: tuple[float, ...], n: int, rate: int, level_dbov: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(n) / rate
    x = sum(np.sin(2 * np.pi * f * t + phase + k) for k, f in enumerate(hz))
    return np.asarray(x) * FS * 10 ** (level_dbov / 20) / np.sqrt(len(hz) / 2)


def cadenced(hz: tuple[float, ...], on: float, off: float, total: float, rate: int, level: float) -> np.ndarray:
    n = round(total * 100) * frame_len(rate)
    t = np.arange(n) / rate
    x = sines(hz, n, rate, level)
    return x * ((t % (on + off)) < on - 1e-9) if off > 0 else x


def dtmf(digits: str, on: float, rate: int, level: float) -> np.ndarray:
    low, high = (697.0, 770.0, 852.0, 941.0), (1209.0, 1336.0, 1477.0, 1633.0)
    fl = frame_len(rate)
    parts = [np.zeros(20 * fl)]
    for d in digits:
        r = next(i for i, keys in enumerate(T.DTMF_KEYS) if d in keys)
        parts.append(sines((low[r], high[T.DTMF_KEYS[r].index(d)]), round(on * 100) * fl, rate, level))
        parts.append(np.zeros(round(on * 100) * fl))
    return np.concatenate(parts)


TONES = {
    "cn_ringback": ((450.0,), 1.0, 4.0, 11.0), "cn_busy": ((450.0,), 0.35, 0.35, 5.0),
    "cn_congestion": ((450.0,), 0.7, 0.7, 5.0), "eu_ringback": ((425.0,), 1.0, 4.0, 11.0),
    "eu_busy": ((425.0,), 0.5, 0.5, 5.0), "eu_congestion": ((425.0,), 0.25, 0.25, 4.0),
    "us_ringback": ((440.0, 480.0), 2.0, 4.0, 12.0), "us_busy": ((480.0, 620.0), 0.5, 0.5, 5.0),
    "us_reorder": ((480.0, 620.0), 0.25, 0.25, 4.0), "cng": ((1100.0,), 0.5, 3.0, 8.0),
    "ced": ((2100.0,), 3.3, 0.0, 3.3), "linphone_hangup": ((480.0,), 0.2, 0.2, 0.6),
}


def tone_cases(rate: int) -> Iterator[tuple[str, np.ndarray, tuple[float, ...] | None]]:
    for name, (hz, on, off, total) in TONES.items():
        for level in (-10.0, -20.0, -30.0):
            yield name, cadenced(hz, on, off, total, rate, level), hz
    for on in (0.07, 0.1):
        yield f"dtmf_{round(on * 1000)}ms", dtmf("0123456789*#ABCD", on, rate, -18.0), None
    sit = np.concatenate([cadenced((f,), 1.0, 0.0, 0.33, rate, -20.0) for f in (950.0, 1400.0, 1800.0)])
    yield "sit", sit, None


def speech_cases(rate: int, limit: int) -> Iterator[tuple[str, np.ndarray]]:
    for voice in VOICES:
        if not callkit.have_speech(voice):
            continue
        names = [n for n in callkit.voice_prompts(voice) if not any(s in n for s in SOUND_EFFECTS)]
        for name in names[: limit or None]:
            try:
                yield f"speech:{voice}", callkit.utterance(name, rate)
            except ValueError:  # a prompt of silence only
                continue


def noise_cases(rate: int) -> Iterator[tuple[str, np.ndarray]]:
    n = 10 * rate
    for k, kind in enumerate(("white", "pink", "brown", "babble")):
        for level in (-30.0, -45.0):
            yield f"noise:{kind}", callkit.noise(kind, np.random.default_rng(k), n, rate) * FS * 10 ** (level / 20)
    t = np.arange(n) / rate
    hum = sum(np.sin(2 * np.pi * 50.0 * h * t) / h for h in (1, 2, 3, 5, 7, 9))
    yield "noise:hum", np.asarray(hum) * FS * 10 ** (-30 / 20)


def harmonic_note(f0: float, n: int, rate: int, level: float, partials: int = 6) -> np.ndarray:
    t = np.arange(n) / rate
    x = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, partials + 1) if f0 * h < rate / 2)
    x = np.asarray(x) * (1 - np.exp(-t / 0.01)) * np.exp(-t / 0.8)  # plucked: attack and decay
    return x / np.sqrt(np.mean(x * x) + 1e-12) * FS * 10 ** (level / 20)


def music_cases(rate: int) -> Iterator[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16]) / 12)
    for _ in range(4):  # melodies: a harmonic note every 0.25-0.5 s
        parts = []
        for _ in range(24):
            n = int(rng.uniform(0.25, 0.5) * 100) * frame_len(rate)
            parts.append(harmonic_note(float(rng.choice(scale)), n, rate, -24.0))
        yield "music:melody", np.concatenate(parts)
    for _ in range(4):  # chords of 3 notes, 0.6-1 s each
        parts = []
        for _ in range(12):
            n = int(rng.uniform(0.6, 1.0) * 100) * frame_len(rate)
            notes = rng.choice(scale, 3, replace=False)
            parts.append(sum(harmonic_note(float(f), n, rate, -28.0) for f in notes))
        yield "music:chords", np.concatenate(parts)


def whole_frames(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames wholly inside a burst, and frames touching one."""
    fl = frame_len(rate)
    a = np.abs(x[: x.size // fl * fl]).reshape(-1, fl)
    inside, touch = a.min(axis=1) > 0, a.max(axis=1) > 0
    inner = inside.copy()
    inner[1:] &= inside[:-1]
    inner[:-1] &= inside[1:]
    near = touch.copy()
    near[1:] |= touch[:-1]
    near[:-1] |= touch[1:]
    return inner, near


def generated(rate: int, limit: int) -> None:
    rng = np.random.default_rng(11)
    tp = fn = 0
    fp: dict[str, list[int]] = {}
    worst_hz = 0.0
    for name, x, hz in tone_cases(rate):
        for line in ("comfort", "snr15", "snr20", "snr30"):
            inner, near = whole_frames(x, rate)
            on_rms = float(np.sqrt(np.mean(x[np.abs(x) > 0] ** 2)))
            if line == "comfort":
                nz = callkit.noise("pink", rng, x.size, rate) * FS * 10 ** (-60 / 20)
            else:
                nz = rng.standard_normal(x.size) * on_rms * 10 ** (-int(line[3:]) / 20)
            flags, infos = T.detect_tones(x + nz, rate)
            tp += int((flags & inner).sum())
            fn += int((~flags & inner).sum())
            cat = fp.setdefault(f"tone-gaps:{name.split('_')[0]}", [0, 0])
            cat[0] += int((flags & ~near).sum())
            cat[1] += int((~near).sum())
            if hz is not None:
                for i in infos:
                    if i is not None and len(i.hz) == len(hz):
                        worst_hz = max(worst_hz, max(abs(f - g) for f, g in zip(i.hz, hz, strict=True)))
    others = [*speech_cases(rate, limit), *noise_cases(rate), *music_cases(rate)]
    for cat_name, x in others:
        flags, _ = T.detect_tones(x, rate)
        cat = fp.setdefault(cat_name.split(":")[0] + ":" + cat_name.split(":")[1], [0, 0])
        cat[0] += int(flags.sum())
        cat[1] += flags.size
    false = sum(v[0] for v in fp.values())
    precision = tp / max(tp + false, 1)
    recall = tp / max(tp + fn, 1)
    print(f"== generated set @ {rate // 1000} kHz: {tp + fn} tone frames, "
          f"{sum(v[1] for v in fp.values())} frames that are no tone")
    print(f"precision {precision:.4f}  recall {recall:.4f}  worst frequency error of a detected tone {worst_hz:.1f} Hz")
    print(f"  {'category':<28} {'false tone frames':>17} {'of frames':>10} {'rate':>8}")
    for k in sorted(fp):
        f, n = fp[k]
        print(f"  {k:<28} {f:17d} {n:10d} {f / max(n, 1):8.5f}")


def tracker_cost(rate: int) -> None:
    from softphone_assist.core.detect.levels import dbov, frame_power_and_tilt, tilt_db

    sets = {"speech": np.concatenate([x for _, x in speech_cases(rate, 40)]),
            "tones": np.concatenate([x for _, x, _ in tone_cases(rate)])}
    for name, x in sets.items():
        fl = frame_len(rate)
        frames = x[: x.size // fl * fl].reshape(-1, fl)
        power, diff = frame_power_and_tilt(frames)
        level, tilt = dbov(power), tilt_db(power, diff)
        best = float("inf")
        for _ in range(3):
            tr = T.ToneTracker(rate, keep=200)
            t0 = time.process_time()
            for s in range(0, frames.shape[0], 100):
                tr.process(frames[s : s + 100], level[s : s + 100], tilt[s : s + 100])
            best = min(best, time.process_time() - t0)
        secs = frames.shape[0] / 100
        print(f"ToneTracker alone @ {rate // 1000} kHz on {name}: {best / secs * 1e6:.0f} us per second of audio "
              f"({secs:.0f} s, 100-frame blocks)")


class _DeafTones(T.ToneTracker):
    """The hook off: never analyses, marks nothing."""

    def process(self, frames: np.ndarray, level: np.ndarray, tilt: np.ndarray) -> None:
        n = frames.shape[0]
        self._ring.reserve(n)
        c = self._ring.col(self._next)
        self._ring.buf[0, c : c + n] = 0.0
        self._ring.buf[1, c : c + n] = np.inf
        self._next += n
        self._ring.end = self._next
        _first, count = T.hop_frames(self._next - n, self._next)
        self.hop_info, self.hop_end = [None] * count, [0] * count


def replay_speed(minutes: float) -> None:
    import tempfile
    from datetime import datetime

    import soundfile as sf

    import softphone_assist.core.detect.caller as caller_mod
    from softphone_assist.replay import ReplayRun

    x, rate = sf.read(ROOT / "resources" / "demo" / "demo_call.wav", dtype="int16", always_2d=True)
    n = int(minutes * 60 * rate)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "call.wav"
        sf.write(path, np.tile(x, (-(-n // len(x)), 1))[:n], rate, subtype="PCM_16")
        real = caller_mod.ToneTracker
        for _u in ReplayRun(path=path, start_time=datetime(2026, 11, 23, 14, 0)).updates():
            pass  # warm-up: imports, caches
        for label, cls in (("on", real), ("off", _DeafTones)) * 3:
            caller_mod.ToneTracker = cls  # type: ignore[misc]
            best = float("inf")
            for _ in range(3):
                t0 = time.process_time()
                for _u in ReplayRun(path=path, start_time=datetime(2026, 11, 23, 14, 0)).updates():
                    pass
                best = min(best, time.process_time() - t0)
            print(f"replay in-process, demo call {minutes:g} min, 2 ch {rate // 1000} kHz, tone hook {label}: "
                  f"{best:.3f} s = {minutes * 60 / best:.0f} x real time")
        caller_mod.ToneTracker = real  # type: ignore[misc]


def dev_corpus(folder: str, limit: int) -> None:
    import tune_detector as tune
    from _corpus import iter_calls

    import softphone_assist.core.detect.caller as caller_mod
    from softphone_assist.core.config import DetectorConfig

    cfg = DetectorConfig()
    for rate_khz in (16, 8):
        tone_s = events = calls = 0
        for call in iter_calls(folder, rate_khz, cfg.vad_mode, limit):
            records, _ = tune.run_call(call, cfg, 100)
            calls += 1
            seconds = len(tune.score.truth_per_second(call.meta))
            decided = tune.score.decisions_per_second(records, seconds)
            tone_s += sum(d == "tone" for d in decided)
            events += sum(r["condition"] == "tone" for r in records)
        print(f"dev corpus @ {rate_khz} kHz: {calls} calls, `tone` events {events}, seconds scored as tone {tone_s}")
    args = argparse.Namespace(limit=limit, block=100, by_noise=False)
    real = caller_mod.ToneTracker
    for label, cls in (("on", real), ("off", _DeafTones)):
        caller_mod.ToneTracker = cls  # type: ignore[misc]
        print(f"-- tone hook {label}")
        for rate_khz in (16, 8):
            r = tune.bench(folder, rate_khz, args)
            print(f"tone hook {label} @ {rate_khz} kHz: macro-F1 {r['macro_f1']:.4f}")
    caller_mod.ToneTracker = real  # type: ignore[misc]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="8,16")
    ap.add_argument("--limit", type=int, default=0, help="speech prompts per voice / dev calls (0: all)")
    ap.add_argument("--dev", default="/tmp/corpus/dev")
    ap.add_argument("--no-dev", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    for rate in (int(r) * 1000 for r in args.rates.split(",")):
        generated(rate, args.limit)
        tracker_cost(rate)
    if not args.no_speed:
        replay_speed(10.0)
    if not args.no_dev and os.path.isdir(args.dev):
        dev_corpus(args.dev, args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
