"""The 10 ms frame grid every detector works on, and per-frame levels in dBov.

dBov = 20*log10(rms / 32768) on int16-scaled samples (0 dBov: a full-scale square wave; a
full-scale sine is -3.01 dBov), the convention of the corpus label rules (CORPUS.md §1).
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.01
FRAMES_PER_S = 100


def frame_time(frames: int) -> float:
    """Stream time (s) at the end of `frames` frames: k / 100 is exact to the double, k * 0.01 is not."""
    return frames / FRAMES_PER_S
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


_FLOOR_POWER = FULL_SCALE * FULL_SCALE * 10.0 ** (LEVEL_FLOOR_DBOV / 10.0)


def power_to_dbov(power: np.ndarray) -> np.ndarray:
    """Mean square (int16 units squared) to dBov, digital zero to LEVEL_FLOOR_DBOV."""
    p = np.maximum(np.asarray(power, dtype=np.float64), _FLOOR_POWER)
    return 10.0 * np.log10(p / (FULL_SCALE * FULL_SCALE))


def frame_dbov(frames: np.ndarray) -> np.ndarray:
    """Per-frame RMS level in dBov; digital zero reads LEVEL_FLOOR_DBOV (-120)."""
    return power_to_dbov(frame_power(frames))


def check_block(frames: np.ndarray, vad: np.ndarray, rate: int, expected_first: int, first: int) -> None:
    """A tracker's input: (n, frame_len) frames, n vad flags, continuing exactly where the last block ended."""
    n = frame_len(rate)
    if frames.ndim != 2 or frames.shape[1] != n:
        raise ValueError(f"frames must have shape (n, {n}) at {rate} Hz, got {frames.shape}")
    if vad.shape != (frames.shape[0],):
        raise ValueError(f"vad must have shape ({frames.shape[0]},), got {vad.shape}")
    if first != expected_first:
        raise ValueError(f"blocks must be contiguous: expected first_frame {expected_first}, got {first}")
