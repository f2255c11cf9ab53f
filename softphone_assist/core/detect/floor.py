"""Noise floor of a channel: the level the line sits at when nobody speaks, in dBov.

Two estimates, both low percentiles of the recent frame levels:

* slow: the 5th percentile over 1 s. Speech dips to the floor between words and utterances
  (the corpus joins utterances with 0.15-0.6 s pauses), so continuous speech does not lift
  it; loud noise that starts lifts it after ~0.95 s.
* fast: the 10th percentile over 0.5 s, trusted only when the last 0.4-0.5 s look like
  stationary noise: level and spectral tilt both steady (white, pink, hum, fan, GSM buzz), or
  the quieter 40 % of the frames within 2 dB of each other (noise under a talker at low SNR).
  Speech is rarely that steady: its syllables move level and tilt by 10-30 dB.

Noisy segments last only 2-8 s, so the fast path matters: it lets "noisy" appear ~0.5 s after
stationary noise starts. The floor is re-estimated every `HOP` frames (50 ms).
"""

from __future__ import annotations

import math

import numpy as np

from softphone_assist.core.detect.history import FrameRing
from softphone_assist.core.detect.layout import DIFF_POWER, FLOOR, LEVEL, POWER, SMOOTH_LEVEL, TILT
from softphone_assist.core.detect.levels import ZeroRunRepair, dbov, tilt_db

HOP = 5  # frames between floor (and condition) evaluations
assert TILT == SMOOTH_LEVEL + 1  # _estimate sorts the two rows as one slice

SLOW_FRAMES, SLOW_RANK = 100, 4  # 5th percentile of 1 s
STEADY_FRAMES, STEADY_LO, STEADY_HI = 50, 4, 44  # p10..p90 spread of level and tilt over 0.5 s
FAST_RANK = STEADY_LO  # fast floor: 10th percentile of the same 0.5 s
STEADY_SPREAD_DB = 3.5
LOW_FRAMES, LOW_LO, LOW_HI = 40, 1, 15  # p5..p40 of the level over 0.4 s
LOW_SPREAD_DB = 2.0
SMOOTH_FRAMES = 3  # 30 ms: steadiness is judged on smoothed power, not on single 10 ms frames
KEEP = SLOW_FRAMES


def hop_frames(a: int, b: int) -> tuple[int, int]:
    """First hop frame >= a (frames i with (i + 1) % HOP == 0) and how many lie in [a, b)."""
    first = a + (-(a + 1)) % HOP
    return first, max(0, (b - first + HOP - 1) // HOP)


class NoiseFloor:
    """Writes LEVEL, SMOOTH_LEVEL, TILT, POWER, DIFF_POWER and FLOOR rows of a FrameRing."""

    def __init__(self, steady_path: bool = True) -> None:
        self.steady_path = steady_path
        self._repair_level = ZeroRunRepair()
        self._repair_smooth = ZeroRunRepair()
        self.floor_dbov = math.inf  # latest estimate; none before the first hop (nothing is speech)

    def process(self, ring: FrameRing, a: int, power: np.ndarray, diff_power: np.ndarray) -> None:
        """Frames [a, a + n) arrive with these powers; the ring has room for them."""
        n = power.size
        c = ring.col(a)
        buf = ring.buf
        buf[POWER, c : c + n] = power
        buf[DIFF_POWER, c : c + n] = diff_power
        buf[LEVEL, c : c + n] = self._repair_level(dbov(power))
        if self.steady_path:
            self._smooth(buf, c, n)
        self._estimate(ring, a, n)

    def _smooth(self, buf: np.ndarray, c: int, n: int) -> None:
        # 30 ms means, summed in a fixed order so that any block split gives the same values
        both = buf[POWER : DIFF_POWER + 1, c - SMOOTH_FRAMES + 1 : c + n]
        acc = both[:, SMOOTH_FRAMES - 1 :].copy()
        for k in range(1, SMOOTH_FRAMES):
            acc += both[:, SMOOTH_FRAMES - 1 - k : both.shape[1] - k]
        acc /= SMOOTH_FRAMES
        buf[SMOOTH_LEVEL, c : c + n] = self._repair_smooth(dbov(acc[0]))
        buf[TILT, c : c + n] = tilt_db(acc[0], acc[1])

    def _estimate(self, ring: FrameRing, a: int, n: int) -> None:
        buf = ring.buf
        c = ring.col(a)
        first, count = hop_frames(a, a + n)
        if count == 0:
            buf[FLOOR, c : c + n] = self.floor_dbov
            return
        view = ring.windows(first, count, HOP, SLOW_FRAMES)
        # order statistics, exact whichever way they are found: a partition with one rank, a sort
        # (numpy's SIMD sort) where several ranks are read (a partition at several ranks is ~8x slower)
        floor = np.partition(view[LEVEL], SLOW_RANK, axis=1)[:, SLOW_RANK]
        if self.steady_path:
            fast = np.partition(view[LEVEL, :, -STEADY_FRAMES:], FAST_RANK, axis=1)[:, FAST_RANK]
            recent = np.sort(view[SMOOTH_LEVEL : TILT + 1, :, -STEADY_FRAMES:], axis=2)
            spread = np.maximum(
                recent[0, :, STEADY_HI] - recent[0, :, STEADY_LO],  # SMOOTH_LEVEL
                recent[1, :, STEADY_HI] - recent[1, :, STEADY_LO],  # TILT
            )
            low = np.sort(view[SMOOTH_LEVEL, :, -LOW_FRAMES:], axis=1)
            steady = (spread < STEADY_SPREAD_DB) | (low[:, LOW_HI] - low[:, LOW_LO] < LOW_SPREAD_DB)
            floor = np.where(steady, np.maximum(floor, fast), floor)
        # each frame gets the estimate of the last hop at or before it
        lead = first - a
        buf[FLOOR, c : c + lead] = self.floor_dbov
        buf[FLOOR, c + lead : c + n] = np.repeat(floor, HOP)[: n - lead]
        self.floor_dbov = float(floor[-1])
