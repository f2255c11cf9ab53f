"""Noise floor of a channel: the level the line sits at when nobody speaks, in dBov.

Two estimates, both low percentiles of the recent frame levels:

* slow: the 5th percentile over 1 s (the agent's channel), or for the caller the 4th-lowest
  frame of 1.2 s (CALLER_SLOW_FRAMES). Speech dips to the floor between words and utterances
  (the corpus joins utterances with 0.15-0.6 s pauses), so continuous speech does not lift
  it; loud noise that starts lifts it after ~0.95 s (1.17 s). A dense talker can go a whole
  second without 50 ms at the line floor (a compressed studio reading, sustained vowels, a
  recording whose own room tone fills the gaps between words): over 1 s the 5th percentile then
  sits in the talker's dips, ~10 dB under S, and the label rules read the talker as a noisy
  line. The longer, lower order statistic keeps such a turn over its floor; it also lets noise
  under a turn wait longer for the rules, which is the learned second opinion's to catch
  (noise_model.py: it is asked from 0.5 s after a noise starts). Chosen on the dev corpus, the
  validation calls of the training split and a leave-one-noise-kind-out check on that split
  (bench/train_caller_model.py): 1.5 s helped dense voices more but cost noisy recall on a
  noise kind the model had not heard.
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
CALLER_SLOW_FRAMES, CALLER_SLOW_RANK = 120, 3  # the caller's: the 4th-lowest frame of 1.2 s
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

    def __init__(self, steady_path: bool = True, slow_frames: int = SLOW_FRAMES, slow_rank: int = SLOW_RANK) -> None:
        self.steady_path = steady_path
        self.slow_frames = slow_frames  # the ring must keep at least this many frames
        self.slow_rank = slow_rank
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
        view = ring.windows(first, count, HOP, self.slow_frames)
        # order statistics, exact whichever way they are found: a partition with one rank, a sort
        # (numpy's SIMD sort) where several ranks are read (a partition at several ranks is ~8x slower)
        k = self.slow_rank
        if self.steady_path:
            part = np.partition(view[LEVEL, :, -STEADY_FRAMES:], FAST_RANK, axis=1)
            fast = part[:, FAST_RANK]
        if self.steady_path and self.slow_frames > STEADY_FRAMES and k <= FAST_RANK:
            # the k + 1 lowest of the window are among the k + 1 lowest of its older part and those
            # of its last 0.5 s, which the fast floor has just partitioned: a short partition and
            # one of 2 (k + 1) values instead of one over the whole window (the same value)
            older = ring.windows(first - STEADY_FRAMES, count, HOP, self.slow_frames - STEADY_FRAMES)
            lowest = [np.partition(older[LEVEL], k, axis=1)[:, : k + 1], part[:, : k + 1]]
            floor = np.partition(np.concatenate(lowest, axis=1), k, axis=1)[:, k]
        else:
            floor = np.partition(view[LEVEL], k, axis=1)[:, k]
        if self.steady_path:
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
