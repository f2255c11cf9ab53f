"""A second opinion on "noisy" where the level rules hear a talker: a small learned classifier.

The label rules need N, the noise under the talker. The level tracker measures it in the
pauses, so noise that never pauses the way a line floor does — music, crackle, babble, or any
noise in the first second after it starts under a turn — reads as a talker over a quiet line.
What such lines share is physical: the quiet end of the level distribution stays high, the
level swings less than a talker's over a silent line, clicks carry power the median removes.
A logistic model over those per-hop statistics (FEATURES), trained on the dev corpus by
bench/train_caller_model.py, gives P(noisy); where the rules say speech or low_volume and the
model is sure (P >= its threshold) at two evaluations in a row, the line is noisy. The model is
only asked where its physics holds: the quiet tenth of the last second is at least -60 dBov
(NOISE_GATE_DBOV: over a quiet floor a talker is a talker), its 2 s window holds the call, not
the time before it, and no tone (tones.py) was heard in that window. Weights ship as
caller_noise_model.json next to this file; numpy only, deterministic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from softphone_assist.core.detect.layout import LEVEL, POWER, SPEECH, SPIKE, TILT

MODEL_FILE = "caller_noise_model.json"
WINDOW = 100  # 1 s of frames
SHORT = 50  # 0.5 s
LONG = 200  # 2 s: a talker's turn dips towards the line floor between words within 2 s
# noisy needs N >= -45 dBov; 15 dB under it still admits impulsive and gappy noise (crackle,
# music), whose quiet frames sit well below its RMS
NOISE_GATE_DBOV = -60.0
LEVEL_MIN_DBOV = -100.0  # digital zero reads -120; clipped so one lost packet does not dominate
FEATURES = (
    "n_db", "s_db", "snr_db", "p10", "p50", "p90", "range_90_10", "range_50_10", "p10_short",
    "range_short", "spike_db", "tilt_median", "tilt_spread", "speech_fraction", "p10_over_n",
    "p5_long", "range_long",
)
_RANKS = (WINDOW // 10, WINDOW // 2, WINDOW - WINDOW // 10)
_SHORT_RANKS = (SHORT // 10, SHORT - SHORT // 10)


def _levels(level: np.ndarray) -> np.ndarray:
    """Frame levels for the statistics: frames before the stream began (+inf in the ring, so the
    floor percentiles ignore them) read as a digitally silent line, the state a call starts in."""
    return np.clip(np.where(np.isposinf(level), LEVEL_MIN_DBOV, level), LEVEL_MIN_DBOV, 10.0)


def hop_features(view: np.ndarray, speech_end: int, s_db: np.ndarray, n_db: np.ndarray) -> np.ndarray:
    """(count, len(FEATURES)) statistics of each evaluation's last second.

    `view`: the tracker's (rows, count, span) windows ending at each evaluation; `speech_end`:
    the column just after the last final SPEECH flag; s_db, n_db: the tracker's S and N.
    """
    lv = _levels(view[LEVEL, :, -WINDOW:])
    q = np.partition(lv, _RANKS, axis=1)
    p10, p50, p90 = (q[:, r] for r in _RANKS)
    qs = np.partition(lv[:, -SHORT:], _SHORT_RANKS, axis=1)
    p10s, p90s = qs[:, _SHORT_RANKS[0]], qs[:, _SHORT_RANKS[1]]
    ql = np.partition(_levels(view[LEVEL, :, -LONG:]), (LONG // 20, LONG // 2), axis=1)
    p5l, p50l = ql[:, LONG // 20], ql[:, LONG // 2]
    power = view[POWER, :, -WINDOW - 1 : -1].sum(axis=1)
    spike = view[SPIKE, :, -WINDOW - 1 : -1].sum(axis=1)
    spike_db = 10.0 * np.log10((spike + 1e-3) / (power + 1e-3))
    tl = np.partition(view[TILT, :, -SHORT:], (*_SHORT_RANKS, SHORT // 2), axis=1)
    tilt_med = tl[:, SHORT // 2]
    tilt_spread = tl[:, _SHORT_RANKS[1]] - tl[:, _SHORT_RANKS[0]]
    speech_frac = view[SPEECH, :, speech_end - WINDOW : speech_end].mean(axis=1)
    s = np.clip(s_db, LEVEL_MIN_DBOV, 0.0)
    n = np.clip(n_db, LEVEL_MIN_DBOV, 0.0)
    every = {
        "n_db": n, "s_db": s, "snr_db": np.clip(s - n, -20.0, 60.0), "p10": p10, "p50": p50, "p90": p90,
        "range_90_10": p90 - p10, "range_50_10": p50 - p10, "p10_short": p10s, "range_short": p90s - p10s,
        "spike_db": np.maximum(spike_db, -40.0), "tilt_median": np.clip(tilt_med, -40.0, 10.0),
        "tilt_spread": np.minimum(tilt_spread, 40.0), "speech_fraction": speech_frac,
        "p10_over_n": np.clip(p10 - n, -20.0, 60.0), "p5_long": p5l, "range_long": p50l - p5l,
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

    def probability(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self.mean) / self.scale
        if self.hidden_w.shape[1]:
            z = np.tanh(z @ self.hidden_w + self.hidden_b)
        return 1.0 / (1.0 + np.exp(-(z @ self.out_w + self.out_b)))

    def is_noisy(self, feats: np.ndarray) -> np.ndarray:
        """P(noisy) >= threshold, and only where the quiet tenth of the last second is at most
        NOISE_GATE_DB under the rules' noise threshold: a line whose pauses fall to a quiet floor
        is a talker over that floor, whatever the model extrapolates."""
        loud_pauses = feats[:, FEATURES.index("p10")] >= NOISE_GATE_DBOV
        return loud_pauses & (self.probability(feats) >= self.threshold)

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
            "hidden_w": self.hidden_w.tolist(), "hidden_b": self.hidden_b.tolist(),
            "out_w": self.out_w.tolist(), "out_b": self.out_b, "threshold": self.threshold,
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
                   float(d["out_b"]), float(d["threshold"]))  # type: ignore[arg-type]


_MODEL: NoiseModel | None = None


def shipped_model() -> NoiseModel:
    """The weights shipped with the package (loaded once)."""
    global _MODEL
    if _MODEL is None:
        text = resources.files("softphone_assist.core.detect").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        _MODEL = NoiseModel.from_json(json.loads(text))
    return _MODEL
