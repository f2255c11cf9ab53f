"""Which frames are caller speech, which are line noise, and how much of the noise is impulsive.

A frame is a speech *candidate* when its level, median-filtered over 3 frames, is 6 dB above
the noise floor: the median removes single-frame clicks and single lost packets. Candidates
become *speech* only in runs of at least `MIN_RUN` frames (50 ms: a syllable, not a click or a
crackle burst). Frames within `GUARD` frames of speech are neither speech nor noise (the weak
edges of syllables would inflate the noise estimate).

Impulsive noise (clicks, crackle) hides under speech and is mostly removed by the median, yet
its RMS counts in N (CORPUS.md §1). So each frame more than 10 dB above the median of its
neighbourhood contributes its excess power to a separate impulse estimate, measured over all
frames; the corpus' own speech never does that by more than -24 dB re S (measured).

Lags: a frame's median needs the next frame, its run length the next MIN_RUN - 1 frames, its
guard the next GUARD frames. So at frame i, speech is final up to i - MIN_RUN and noise up to
i - MIN_RUN - GUARD; the trackers read windows that end there.
"""

from __future__ import annotations

import numpy as np

from softphone_assist.core.detect.history import FrameRing
from softphone_assist.core.detect.layout import (
    FLOOR,
    LEVEL,
    MEDIAN,
    NEAR_SPEECH,
    POWER,
    QUIET,
    RUN,
    SPEECH,
    SPIKE,
    THRESHOLD,
)

SPEECH_OVER_FLOOR_DB = 6.0
# On a digitally silent line the floor says nothing: a candidate must also reach -65 dBov, 5 dB
# over the loudest line hiss (-70 +- 2 dBov) and 10 dB under the quietest low-volume talker.
ABS_SPEECH_MIN_DBOV = -65.0
MIN_RUN = 5
GUARD = 2
SPIKE_RATIO = 10.0  # 10 dB over the neighbourhood median
SPEECH_LAG = MIN_RUN
NOISE_LAG = MIN_RUN + GUARD


def median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


class FrameClassifier:
    """Fills THRESHOLD, MEDIAN, QUIET, SPIKE, RUN, SPEECH and NEAR_SPEECH rows as frames become final."""

    def __init__(self) -> None:
        self._median_end = 0  # frames [.., end) have MEDIAN, QUIET, SPIKE, RUN
        self._speech_end = 0
        self._near_end = 0

    def process(self, ring: FrameRing, a: int, b: int) -> None:
        """Frames [a, b) have LEVEL, POWER and FLOOR; derive what has become final."""
        buf = ring.buf
        c = ring.col(a)
        buf[THRESHOLD, c : c + b - a] = np.maximum(buf[FLOOR, c : c + b - a] + SPEECH_OVER_FLOOR_DB,
                                                   ABS_SPEECH_MIN_DBOV)
        # frames [j0, b - 1) get their median now (frame j needs j + 1)
        j0, j1 = self._median_end, b - 1
        if j1 > j0:
            cj = ring.col(j0)
            lv = buf[LEVEL, cj - 1 : cj + j1 - j0 + 1]
            pw = buf[POWER, cj - 1 : cj + j1 - j0 + 1]
            med_l = median3(lv[:-2], lv[1:-1], lv[2:])
            med_p = median3(pw[:-2], pw[1:-1], pw[2:])
            p = pw[1:-1]
            spike = p > SPIKE_RATIO * med_p
            buf[MEDIAN, cj : cj + j1 - j0] = med_l
            buf[QUIET, cj : cj + j1 - j0] = np.where(spike, med_p, p)
            buf[SPIKE, cj : cj + j1 - j0] = np.where(spike, p - med_p, 0.0)
            cand = med_l > buf[THRESHOLD, cj : cj + j1 - j0]
            # length of the run of candidates ending at each frame (only >= MIN_RUN matters)
            prev = int(buf[RUN, cj - 1])
            idx = np.arange(j1 - j0)
            last_break = np.maximum.accumulate(np.where(cand, -1 - prev, idx))
            buf[RUN, cj : cj + j1 - j0] = np.minimum(np.where(cand, idx - last_break, 0), 2 * MIN_RUN)
            self._median_end = j1

        # speech for frames [s0, b - MIN_RUN): a candidate inside a run of >= MIN_RUN
        s0, s1 = self._speech_end, b - SPEECH_LAG
        if s1 > s0:
            cs = ring.col(s0)
            m = s1 - s0
            run = buf[RUN, cs : cs + m + MIN_RUN - 1]
            speech = np.zeros(m, dtype=bool)
            for o in range(MIN_RUN):  # the run through frame j reaches j + o and is long enough
                r = run[o : o + m]
                speech |= (r >= MIN_RUN) & (r >= o + 1)
            buf[SPEECH, cs : cs + m] = speech
            self._speech_end = s1

        g0, g1 = self._near_end, b - NOISE_LAG
        if g1 > g0:
            cg = ring.col(g0)
            m = g1 - g0
            sp = buf[SPEECH, cg - GUARD : cg + m + GUARD]
            near = sp[: m].copy()
            for o in range(1, 2 * GUARD + 1):
                np.maximum(near, sp[o : o + m], out=near)
            buf[NEAR_SPEECH, cg : cg + m] = near
            self._near_end = g1
