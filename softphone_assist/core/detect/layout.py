"""Rows of a tracker's FrameRing and what a frame before the stream began reads as."""

from __future__ import annotations

import math

# final when the frame arrives
LEVEL = 0  # frame level, lost packets repaired (dBov)
SMOOTH_LEVEL = 1  # 30 ms level, repaired (dBov)
TILT = 2  # spectral tilt (dB)
POWER = 3  # mean square (int16 units^2)
DIFF_POWER = 4  # mean square of the first difference
FLOOR = 5  # noise floor in force (dBov)
THRESHOLD = 6  # speech candidate threshold (dBov)
# final one frame late (3-frame median)
MEDIAN = 7  # median level (dBov)
QUIET = 8  # power with clicks replaced by the local median
SPIKE = 9  # excess power of clicks
RUN = 10  # consecutive speech candidates ending here (capped)
# final MIN_RUN (speech) and MIN_RUN + GUARD (near speech) frames late
SPEECH = 11  # 1.0: caller speech frame
NEAR_SPEECH = 12  # 1.0: speech within GUARD frames (neither speech nor noise)
CLIPPED = 13  # clipped samples counted so far, up to and including this frame
# agent tracker only
AGENT_FLOOR = 14  # the lowest floor of the last 2 s: the agent's own speech must not lift its gate
AGENT_SPEECH = 15  # 1.0: webrtcvad says speech and the level clears the gate
# caller tracker only, on hop frames (floor.HOP), computed when the noise model needs them (NaN:
# not yet): the 20 ms window of frames i - 1 and i (levels.voicing)
VOICE = 16  # normalised autocorrelation peak at a pitch lag (0: no periodicity, 1: periodic)
PITCH = 17  # the lag of that peak (ms)

# Levels before the stream read +inf, so that the floor percentiles of the first second rank only
# the frames heard so far (the line's own floor, not an assumed digital silence).
PADS = (math.inf, math.inf, 0.0, 0.0, 0.0, math.inf, math.inf, -120.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, math.inf, 0.0,
        0.0, 0.0)
