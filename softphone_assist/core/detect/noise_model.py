"""A second opinion on "noisy" where the level rules hear a talker: a small learned classifier.

The label rules need N, the noise under the talker. The level tracker measures it in the
pauses, so noise that never pauses the way a line floor does — music, crackle, babble, or any
noise in the first second after it starts under a turn — reads as a talker over a quiet line.
What such lines share is physical: the quiet end of the level distribution stays high, the
level swings less than a talker's over a silent line, clicks carry power the median removes,
and the envelope lacks a talker's rhythm — syllables come at 2.5-8 Hz and fall between them
towards the line's floor and colour (a stationary hum or fan has no rhythm, music's comes in
beats and sustained notes, babble's many talkers blur it), and music's held notes keep their
spectral colour (tilt) while they swell and decay smoothly, where a talker's colour changes with
every phoneme and the envelope turns at every syllable edge. None of those says whether the
sound is a voice: the voicing statistics do (voicing_features: a talker's voiced stretches
repeat with a pitch period of 2.5-12 ms that glides from window to window, between unvoiced gaps
at syllable rate; most noises have no such period, a drone or siren never pauses, a held note or
a hum's buzz keeps its period exactly), read on the 20 ms windows at the last second's hop frames
(levels.voicing; the caller tracker computes a window only when the model asks about a second
that holds it). A model with one small tanh hidden layer over those per-hop statistics
(FEATURES) gives P(noisy); it is trained by
bench/train_caller_model.py on the dev corpus and on training splits with other voices and
noise kinds (bench/make_holdout.py --train, and --train-extra's random procedural noise), never
on the hold-out split. Where the rules say
speech or low_volume and the model is sure (P >= its threshold) at two evaluations in a row,
the line is noisy. The model is only asked where its physics holds: the quiet tenth of the
last 0.5 s is at least -60 dBov (NOISE_GATE_DBOV: over a quiet floor a talker is a talker; half
a second, not a whole one, so that a noise that starts under a turn can be told 0.5 s after it
starts — over a whole second the time before the noise kept the gate shut for ~0.95 s),
its 2 s window holds the call, not the time before it, and no tone (tones.py) was heard in
that window nor in the 10 s before it (caller.TONE_MODEL_MEMORY: a busy cadence goes on under a
talker whose words hide it from the tone detector). Weights ship as caller_noise_model.json
next to this file; numpy only, deterministic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from softphone_assist.core.detect.floor import HOP
from softphone_assist.core.detect.layout import LEVEL, POWER, SPEECH, SPIKE, TILT

MODEL_FILE = "caller_noise_model.json"
WINDOW = 100  # 1 s of frames
SHORT = 50  # 0.5 s
LONG = 200  # 2 s: a talker's turn dips towards the line floor between words within 2 s
# noisy needs N >= -45 dBov; 15 dB under it still admits impulsive and gappy noise (crackle,
# music), whose quiet frames sit well below its RMS
NOISE_GATE_DBOV = -60.0
# the gate reads the quiet tenth of the last GATE_FRAMES frames: the p10_short feature
GATE_FRAMES = SHORT
GATE_FEATURE = "p10_short"
LEVEL_MIN_DBOV = -100.0  # digital zero reads -120; clipped so one lost packet does not dominate
FEATURES = (
    "n_db", "s_db", "snr_db", "p10", "p50", "p90", "range_90_10", "range_50_10", "p10_short",
    "range_short", "spike_db", "tilt_median", "tilt_spread", "speech_fraction", "p10_over_n",
    "p5_long", "range_long", "mod_syllabic", "mod_slow", "mod_db", "level_tilt_corr", "delta_mean",
    "p10_recent", "range_recent", "rise_db", "mod_peak", "mod_centroid", "level_skew", "env_curvature",
    "tilt_step", "loud_tilt_spread",
    "voiced_frac", "voice_peak", "pitch_steady", "pitch_held", "voice_flips",
)
_RANKS = (WINDOW // 10, WINDOW // 2, WINDOW - WINDOW // 10)
_SHORT_RANKS = (SHORT // 10, SHORT - SHORT // 10)
ENV_STEP = 2  # the envelope rhythm is read on 20 ms levels (up to 8 Hz needs no finer)
HOP_STEP = 5  # 50 ms: the tilt step of tilt_step
RECENT = 30  # 0.3 s: what a noise that has just started looks like before it fills the longer windows
_RECENT_RANKS = (RECENT // 10, RECENT - RECENT // 10)
# the voicing statistics read the last 1 s: the 20 ms windows ending at its hop frames (one every
# 50 ms; levels.voicing). Windows every 20 ms cost the tracker ~60 ms a 10-minute call more than
# this, mostly FFTs, while the budget is ~10 ms.
VOICE_FRAMES = WINDOW
VOICE_WINDOWS = VOICE_FRAMES // HOP  # the windows end on the tracker's hop frames, which all asked hops share
VOICED_PEAK = 0.6  # a window is voiced from this autocorrelation peak on (white noise: ~0.3)
PITCH_STEADY = 0.1  # a talker's pitch moves by less than 10 % between voiced windows in a row
PITCH_HELD = 0.01  # ... and by more than 1 % in most of them; a held note, a hum's buzz do not


def _modulation_basis() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hann-windowed cosine and sine rows at 0.5 Hz steps (0.5-8 Hz) over the 2 s window of
    20 ms levels, and which of them are syllabic (2.5-8 Hz: speech's 4 Hz rhythm) and slow
    (0.5-2 Hz: a beat, a swell)."""
    t = np.arange(LONG // ENV_STEP) * 0.01 * ENV_STEP
    hz = 0.5 * np.arange(1, 17)
    win = np.hanning(t.size)[:, None]
    basis = np.concatenate([np.cos(2 * np.pi * t[:, None] * hz), np.sin(2 * np.pi * t[:, None] * hz)], axis=1)
    return basis * win, (hz >= 2.5) & (hz <= 8.0), hz <= 2.0


_BASIS, _SYLLABIC, _SLOW = _modulation_basis()
_HZ = 0.5 * np.arange(1, _SYLLABIC.size + 1)
_HANN = np.hanning(LONG // ENV_STEP)


def _levels(level: np.ndarray) -> np.ndarray:
    """Frame levels for the statistics: frames before the stream began (+inf in the ring, so the
    floor percentiles ignore them) read as a digitally silent line, the state a call starts in."""
    return np.clip(np.where(np.isposinf(level), LEVEL_MIN_DBOV, level), LEVEL_MIN_DBOV, 10.0)


def voicing_features(peak: np.ndarray, lag: np.ndarray) -> dict[str, np.ndarray]:
    """Whether the last second sounds like a voice: (rows, windows) autocorrelation peaks and
    pitch lags of its 20 ms windows (levels.voicing), oldest first.

    A talker's voiced sounds alternate with unvoiced sounds and pauses at syllable rate
    (voiced_frac ~0.3-0.7, voice_flips: the share of window steps that switch), and within a
    voiced stretch the pitch glides: it stays within 10 % from window to window (pitch_steady,
    among voiced pairs) but seldom within 1 % (pitch_held). Most noises have no periodicity
    at pitch lags (fans, roars, clicks, rain: low voice_peak, random lags), or never pause (a
    machine's drone, a siren), and a held musical note or a hum's buzz keeps its period exactly.
    """
    voiced = peak >= VOICED_PEAK
    pair = voiced[:, 1:] & voiced[:, :-1]
    n_pair = np.maximum(pair.sum(axis=1), 1)
    step = np.abs(np.diff(lag, axis=1)) / np.maximum(np.minimum(lag[:, 1:], lag[:, :-1]), 1.0)
    return {
        "voiced_frac": voiced.mean(axis=1),
        "voice_peak": peak.mean(axis=1),
        "pitch_steady": (pair & (step < PITCH_STEADY)).sum(axis=1) / n_pair,
        "pitch_held": (pair & (step < PITCH_HELD)).sum(axis=1) / n_pair,
        "voice_flips": (voiced[:, 1:] != voiced[:, :-1]).mean(axis=1),
    }


def hop_features(view: np.ndarray, speech_end: int, s_db: np.ndarray, n_db: np.ndarray,
                 rows: np.ndarray | None, voice: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(count, len(FEATURES)) statistics of each evaluation's last 2 s.

    `view`: the tracker's (rows, count, span) windows ending at each evaluation; `speech_end`:
    the column just after the last final SPEECH flag; s_db, n_db: the tracker's S and N. `rows`:
    only these evaluations (indices into count; s_db and n_db are then already theirs); None:
    all. `voice`: the voicing peaks and pitch lags of their last second's 20 ms windows
    (voicing_features; the tracker computes them only for the evaluations it asks about).

    Besides level percentiles, the envelope's rhythm: the share of the level's fluctuation over
    the last 2 s at syllabic rates (2.5-8 Hz: a talker's ~4 Hz) and at slow ones (0.5-2 Hz: music's
    beat, traffic's swell), its syllabic depth, how level and spectral tilt move together (voiced
    syllables are loud and dark, the pauses between them the line's colour), and the mean
    frame-to-frame level step; how narrow (mod_peak) and where (mod_centroid) the
    fluctuation's spectrum is, the skew of the last second's levels (a talker's deep dips), how
    smoothly the envelope moves (env_curvature), and how steady the colour is (tilt_step over
    50 ms, loud_tilt_spread among the loud half of the frames): cheap statistics of the same rows.
    """
    # order statistics by sorting: numpy's SIMD sort is 4-8x faster than a partition at several
    # ranks, and gives the same values
    sel = slice(None) if rows is None else rows
    lv_long = _levels(view[LEVEL, sel, -LONG:])
    lv = lv_long[:, -WINDOW:]
    q = np.sort(lv, axis=1)
    p10, p50, p90 = (q[:, r] for r in _RANKS)
    qs = np.sort(lv[:, -SHORT:], axis=1)
    p10s, p90s = qs[:, _SHORT_RANKS[0]], qs[:, _SHORT_RANKS[1]]
    ql = np.sort(lv_long, axis=1)
    p5l, p50l = ql[:, LONG // 20], ql[:, LONG // 2]
    power = view[POWER, sel, -WINDOW - 1 : -1].sum(axis=1)
    spike = view[SPIKE, sel, -WINDOW - 1 : -1].sum(axis=1)
    spike_db = 10.0 * np.log10((spike + 1e-3) / (power + 1e-3))
    tilt = view[TILT, sel, -WINDOW:]
    tl = np.sort(tilt[:, -SHORT:], axis=1)
    tilt_med = tl[:, SHORT // 2]
    tilt_spread = tl[:, _SHORT_RANKS[1]] - tl[:, _SHORT_RANKS[0]]
    speech_frac = view[SPEECH, sel, speech_end - WINDOW : speech_end].mean(axis=1)
    # a held note keeps its colour while it swells and decays; a talker's changes with every
    # phoneme: the mean tilt step over 50 ms, and the tilt spread of the loud half of the second
    tcl = np.clip(tilt, -40.0, 10.0)  # the tilt statistics' one clip (a dead frame's tilt is meaningless)
    tilt_step = np.abs(np.diff(tcl[:, ::HOP_STEP], axis=1)).mean(axis=1)
    # envelope rhythm over 2 s (levels floored 50 dB under the window's loudest: a digitally
    # silent gap or a lost packet is a dip, not a 70 dB cliff); shares of the fluctuation's
    # energy (Hann-windowed, Parseval) at syllabic and at slow rates
    env = (lv_long[:, 0::ENV_STEP] + lv_long[:, 1::ENV_STEP]) * 0.5  # 20 ms means (ENV_STEP = 2)
    env = np.maximum(env, env.max(axis=1, keepdims=True) - 50.0)
    env -= env.mean(axis=1, keepdims=True)
    spec = env @ _BASIS
    spec *= spec
    half = _SYLLABIC.size
    mod = spec[:, :half] + spec[:, half:]
    total = (env * env) @ (_HANN * _HANN) * (env.shape[1] / 2) + 1e-6
    syllabic = mod[:, _SYLLABIC].sum(axis=1)
    slow = mod[:, _SLOW].sum(axis=1)
    # a beat or a held rhythm puts the fluctuation in one narrow band, a talker's syllables
    # spread it over 2.5-8 Hz around ~4 Hz, babble has little of either
    mod_all = mod.sum(axis=1) + 1e-6
    mod_peak = mod.max(axis=1) / mod_all
    mod_centroid = (mod @ _HZ) / mod_all
    # notes swell and decay smoothly; a talker's envelope turns at every syllable edge
    d1 = np.diff(env, axis=1)
    curvature = np.abs(np.diff(d1, axis=1)).mean(axis=1) / (np.abs(d1).mean(axis=1) + 1e-3)
    loud = lv >= p50[:, None]
    loud_n = np.maximum(loud.sum(axis=1), 1)
    loud_mean = (tcl * loud).sum(axis=1) / loud_n
    loud_spread = np.sqrt((((tcl - loud_mean[:, None]) ** 2) * loud).sum(axis=1) / loud_n)
    lc = lv - lv.mean(axis=1, keepdims=True)
    tc = tcl - tcl.mean(axis=1, keepdims=True)
    corr = (lc * tc).sum(axis=1) / np.sqrt((lc * lc).sum(axis=1) * (tc * tc).sum(axis=1) + 1e-6)
    delta = np.minimum(np.abs(np.diff(lv, axis=1)), 20.0).mean(axis=1)
    # onset: the quiet and loud ends of the last 0.3 s, and how far the recent half second rose
    # over the second before the last one (mean levels)
    qr = np.sort(lv[:, -RECENT:], axis=1)
    p10r, p90r = qr[:, _RECENT_RANKS[0]], qr[:, _RECENT_RANKS[1]]
    rise = lv[:, -SHORT:].mean(axis=1) - lv_long[:, : LONG - WINDOW].mean(axis=1)
    # a talker over a quiet line sits loud with deep dips between words (mean under the median);
    # a noise that never pauses spreads about its median
    skew = lv.mean(axis=1) - p50
    s = np.clip(s_db, LEVEL_MIN_DBOV, 0.0)
    n = np.clip(n_db, LEVEL_MIN_DBOV, 0.0)
    every = {
        "n_db": n, "s_db": s, "snr_db": np.clip(s - n, -20.0, 60.0), "p10": p10, "p50": p50, "p90": p90,
        "range_90_10": p90 - p10, "range_50_10": p50 - p10, "p10_short": p10s, "range_short": p90s - p10s,
        "spike_db": np.maximum(spike_db, -40.0), "tilt_median": np.clip(tilt_med, -40.0, 10.0),
        "tilt_spread": np.minimum(tilt_spread, 40.0), "speech_fraction": speech_frac,
        "p10_over_n": np.clip(p10 - n, -20.0, 60.0), "p5_long": p5l, "range_long": p50l - p5l,
        "mod_syllabic": syllabic / total, "mod_slow": slow / total,
        "mod_db": 10.0 * np.log10(syllabic + 1e-3), "level_tilt_corr": corr, "delta_mean": delta,
        "p10_recent": p10r, "range_recent": p90r - p10r, "rise_db": np.clip(rise, -40.0, 60.0),
        "mod_peak": mod_peak, "mod_centroid": mod_centroid, "level_skew": np.clip(skew, -40.0, 20.0),
        "env_curvature": curvature, "tilt_step": tilt_step, "loud_tilt_spread": loud_spread,
        **voicing_features(*voice),
    }
    return np.stack([every[f] for f in FEATURES], axis=1)


@dataclass(frozen=True)
class NoiseModel:
    """Standardise, one tanh hidden layer (or none), logistic output."""

    mean: np.ndarray
    scale: np.ndarray
    hidden_w: np.ndarray  # (features, hidden); (features, 0) for a plain logistic model
    hidden_b: np.ndarray
    out_w: np.ndarray  # (hidden,) or (features,) when there is no hidden layer
    out_b: float
    threshold: float
    threshold_low_volume: float | None = None  # where the rules say low_volume; None: `threshold`

    def probability(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self.mean) / self.scale
        if self.hidden_w.shape[1]:
            z = np.tanh(z @ self.hidden_w + self.hidden_b)
        return 1.0 / (1.0 + np.exp(-(z @ self.out_w + self.out_b)))

    def is_noisy(self, feats: np.ndarray, low_volume: np.ndarray | None = None) -> np.ndarray:
        """P(noisy) >= threshold (threshold_low_volume where `low_volume`), and only where the
        quiet tenth of the last 0.5 s is at least NOISE_GATE_DBOV: a line whose pauses fall to
        a quiet floor is a talker over that floor, whatever the model extrapolates."""
        loud_pauses = feats[:, FEATURES.index(GATE_FEATURE)] >= NOISE_GATE_DBOV
        thr = np.full(feats.shape[0], self.threshold)
        if low_volume is not None and self.threshold_low_volume is not None:
            thr = np.where(low_volume, self.threshold_low_volume, thr)
        return loud_pauses & (self.probability(feats) >= thr)

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
            "hidden_w": self.hidden_w.tolist(), "hidden_b": self.hidden_b.tolist(),
            "out_w": self.out_w.tolist(), "out_b": self.out_b, "threshold": self.threshold,
            "threshold_low_volume": self.threshold_low_volume,
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> NoiseModel:
        if d.get("features") != list(FEATURES):
            raise ValueError(f"{MODEL_FILE}: trained on other features than {FEATURES}")
        nf = len(FEATURES)

        def arr(key: str) -> np.ndarray:
            return np.asarray(d[key], dtype=np.float64)

        hidden_w = arr("hidden_w").reshape(nf, -1)
        return cls(arr("mean"), arr("scale"), hidden_w, arr("hidden_b").reshape(-1), arr("out_w").reshape(-1),
                   float(d["out_b"]), float(d["threshold"]),  # type: ignore[arg-type]
                   _optional(d.get("threshold_low_volume")))


def _optional(v: object) -> float | None:
    return None if v is None else float(v)  # type: ignore[arg-type]


_MODEL: NoiseModel | None = None


def shipped_model() -> NoiseModel:
    """The weights shipped with the package (loaded once)."""
    global _MODEL
    if _MODEL is None:
        text = resources.files("softphone_assist.core.detect").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        _MODEL = NoiseModel.from_json(json.loads(text))
    return _MODEL
