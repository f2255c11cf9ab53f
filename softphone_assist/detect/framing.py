"""The 10 ms frame grid every detector works on, and per-frame levels in dBov.

dBov = 20*log10(rms / 32768) on int16-scaled samples (0 dBov: a full-scale square wave; a
full-scale sine is -3.01 dBov), the convention of the corpus label rules (CORPUS.md §1).
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.01
FULL_SCALE = 32768.0
LEVEL_FLOOR_DBOV = -120.0  # what digital zero reads as: finite, so it can be compared and printed
SUPPORTED_RATES = (8000, 16000, 32000, 48000)


def frame_len(rate: int) -> int:
    """Samples per 10 ms frame at `rate` Hz."""
    if rate not in SUPPORTED_RATES:
        raise ValueError(f"unsupported analysis rate {rate} Hz (expected one of {SUPPORTED_RATES})")
    return rate // 100


def frame_power(frames: np.ndarray) -> np.ndarray:
    """Mean square of each frame, in int16 units squared."""
    f = np.asarray(frames, dtype=np.float64)
    return np.einsum("ij,ij->i", f, f) / f.shape[1]


def power_to_dbov(power: np.ndarray) -> np.ndarray:
    """Mean square (int16 units squared) to dBov, digital zero to LEVEL_FLOOR_DBOV."""
    p = np.asarray(power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(p / (FULL_SCALE * FULL_SCALE))
    return np.maximum(db, LEVEL_FLOOR_DBOV)


def frame_dbov(frames: np.ndarray) -> np.ndarray:
    """Per-frame RMS level in dBov; digital zero reads LEVEL_FLOOR_DBOV (-120)."""
    return power_to_dbov(frame_power(frames))
