"""The agent's own microphone: is the agent speaking? speech | silent, with exact times.

A speech frame is one webrtcvad calls speech and whose level is 6 dB over the microphone's
noise floor (webrtcvad alone also fires on office babble and keyboard noise). A turn starts at
the third consecutive speech frame (a single click is not a turn) and its `since` is the start
of the first of them. It ends when no speech frame has come for more than pause_s; `since` is
then the end of the line, exactly on the 10 ms grid: the script engine counts its waits from
there. It is reported pause_s + 10 ms after the last speech frame, so it lies in the past; the
prompt due at the end + the script's wait is still ahead (waits before a line are >= 1 s,
pause_s is 0.6 s by default).
Digital zero (a muted mic, a lost device's fill) is never speech, whatever webrtcvad says.

The end of the line is where its sound fades into the floor, not where webrtcvad stops: webrtcvad
drops the soft ending of the last word (a decaying vowel, a final fricative, the release of a
final stop) 10-250 ms early. So when a turn ends, its end is carried past the last speech frame
over its *tail* (_line_end): frames TAIL_OVER_FLOOR_DB over the floor the turn began on (during a
long turn the floor creeps up towards the agent's voice) and TAIL_OVER_NOISE_DB over the 90th
percentile of the rest of the pause (babble or pink noise at the mic reach far over their
floor), with dips of at most TAIL_DIP_FRAMES; after a longer gap, up to TAIL_GAP_FRAMES (a stop's
closure), only a frame TAIL_BURST_DB higher still (the release) carries it on. A tail lasts
MAX_TAIL_FRAMES and half the pause allowance at most; sound that goes on longer is noise, not a
word's ending, and the end is then the last speech frame.
Everything is vectorised per block with carried state (a turn's tail and pause are read back from
the frame ring when it ends), so the result does not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import math

import numpy as np

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect.activity import ABS_SPEECH_MIN_DBOV, SPEECH_OVER_FLOOR_DB
from softphone_assist.core.detect.coach import AgentFrames
from softphone_assist.core.detect.floor import HOP, SLOW_FRAMES, NoiseFloor
from softphone_assist.core.detect.framing import FRAME_S, check_block, frame_len, frame_time, power_to_dbov
from softphone_assist.core.detect.history import FrameRing
from softphone_assist.core.detect.layout import AGENT_FLOOR, AGENT_SPEECH, CLIPPED, FLOOR, LEVEL, PADS, POWER
from softphone_assist.core.detect.levels import LEVEL_FRAMES, DcOffset, count_clipped, reported
from softphone_assist.core.events import Condition, ConditionChanged, LineStats

ONSET_FRAMES = 3
SPEECH_LEVEL_FRAMES = 100  # speech_dbov: speech frames of the last 1 s
GATE_MEMORY = 2  # the gate uses the lowest of the floors now, 1 s ago and 2 s ago
TAIL_OVER_FLOOR_DB = 6.0  # a word's soft ending: frames this far over the turn's floor, VAD or not
TAIL_OVER_NOISE_DB = 3.0  # ... and over the loud frames of the pause after it (babble, pink noise):
TAIL_NOISE_PCT = 90.0  # its 90th percentile
TAIL_MIN_DBOV = -70.0  # on a digitally silent mic: the recording's own faint sound still counts
TAIL_BURST_DB = 6.0  # a release after a closure: 6 dB over the tail gate
TAIL_DIP_FRAMES = 3  # a dip this short under the gate does not break a soft ending
TAIL_GAP_FRAMES = 15  # a final stop's closure (up to ~150 ms) before its release
MAX_TAIL_FRAMES = 30  # 300 ms at most, and half the pause allowance (the rest is the noise heard)

def percentile(x: np.ndarray, q: float) -> float:
    """np.percentile(x, q) of a non-empty 1-d float array (numpy's default, linear method), value for
    value: the same partition of a copy, the same order statistics and the same float operations as
    numpy's _quantile and _lerp, without its general machinery (~100 us a call, and numpy.ma imported
    on the first: ~10 ms of a replay's start-up). A NaN anywhere gives NaN, as in numpy.
    tests/test_replay_speed_paths.py compares the two."""
    n = x.size
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:  # numpy then reads the last value twice, with the weight from index -1
        lo = hi = -1
    else:
        lo = math.floor(virtual)
        hi = lo + 1
    s = np.array(x, dtype=np.float64)  # a copy, partitioned at numpy's indices (np.unique's order)
    s.partition(np.array(sorted({0, -1, lo, hi}), dtype=np.intp))
    if math.isnan(s[-1]):  # NaN sorts last
        return math.nan
    gamma = virtual - lo
    a, b = float(s[lo]), float(s[hi])
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


class AgentSpeechTracker:
    uses_vad = True  # the agent's own microphone: webrtcvad and the level over the mic floor

    def __init__(self, rate: int, config: DetectorConfig) -> None:
        frame_len(rate)
        self.rate = rate
        self.config = config
        self._pause_frames = round(config.pause_s / FRAME_S)
        # the end of a turn reads the pause back from the frame that decides it (_line_end)
        keep = max(SPEECH_LEVEL_FRAMES, GATE_MEMORY * SLOW_FRAMES, self._pause_frames + 1)
        self._ring = FrameRing(PADS, keep=keep + HOP)
        self._floor = NoiseFloor(steady_path=False)  # a slow floor is enough to gate webrtcvad
        self._dc = DcOffset()
        self._next = 0
        self._run = 0  # consecutive speech frames ending at the last frame
        self._last_end = -(10**9)  # frame index just after the last speech frame
        self._last_onset = -(10**9)  # last frame that completed ONSET_FRAMES speech frames
        self._last_break = -(10**9) + 1  # last frame at which a pause exceeded pause_s
        self._in_turn = False
        # the soft end of a line (_line_end): the longest tail, the floor the current turn began on
        self._max_tail = min(MAX_TAIL_FRAMES, self._pause_frames // 2)
        self._turn_floor = math.inf
        self.features: AgentFrames | None = None  # per-frame features of the last block, for the coach

    @property
    def condition(self) -> Condition:
        return "speech" if self._in_turn else "silent"

    def stats(self) -> LineStats:
        """Level of the last 100 ms, speech level of the last 1 s, mic noise floor."""
        n = self._next
        if n == 0:
            return LineStats()
        sp = self._ring.row(AGENT_SPEECH, n - SPEECH_LEVEL_FRAMES, n) > 0.5
        speech = None
        if sp.any():
            pw = self._ring.row(POWER, n - SPEECH_LEVEL_FRAMES, n)
            speech = reported(float(power_to_dbov(np.array([pw[sp].mean()]))[0]))
        noise = reported(float(self._ring.buf[AGENT_FLOOR, self._ring.col(n - 1)]))
        snr = speech - noise if speech is not None and noise is not None else None
        return LineStats(self._level_at(n - 1), speech, noise, snr, self._clipped_at(n - 1))

    def process(self, frames: np.ndarray, vad: np.ndarray, first_frame: int) -> list[ConditionChanged]:
        frames = np.asarray(frames, dtype=np.float64)
        vad = np.asarray(vad, dtype=bool)
        check_block(frames, vad, self.rate, self._next, first_frame)
        out: list[ConditionChanged] = []
        chunk = self._ring.capacity - self._ring.keep
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for s in range(0, frames.shape[0], chunk):
            out += self._process(frames[s : s + chunk], vad[s : s + chunk])
            parts.append(self._block_features(first_frame + s, self._next))
        if parts:
            power, speech, clipped = (np.concatenate(p) for p in zip(*parts, strict=True))
            self.features = AgentFrames(first_frame, power, speech, clipped)
        else:
            self.features = AgentFrames(first_frame, np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0))
        return out

    def _block_features(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ring = self._ring
        clipped = np.diff(ring.row(CLIPPED, a - 1, b))
        return ring.row(POWER, a, b).copy(), ring.row(AGENT_SPEECH, a, b) > 0.5, clipped

    def _process(self, frames: np.ndarray, vad: np.ndarray) -> list[ConditionChanged]:
        a = self._next
        n = frames.shape[0]
        power = self._dc.remove(frames, np.einsum("ij,ij->i", frames, frames) / frames.shape[1])
        ring = self._ring
        ring.reserve(n)
        count_clipped(ring.buf, CLIPPED, ring.col(a), frames, self.config.clip_dbov)
        self._floor.process(ring, a, power, power)  # the tilt row is not used here
        ring.end = a + n
        c = ring.col(a)
        buf = ring.buf
        # a long turn lifts the 1 s floor towards the agent's own voice; the gate remembers 2 s
        low = buf[FLOOR, c : c + n].copy()
        for k in range(1, GATE_MEMORY + 1):
            np.minimum(low, buf[FLOOR, c - k * SLOW_FRAMES : c - k * SLOW_FRAMES + n], out=low)
        buf[AGENT_FLOOR, c : c + n] = low
        level = buf[LEVEL, c : c + n]  # zero runs read the last real level: `real` tells them apart
        real = power > 0.0  # digital zero (a muted or lost mic) is never the agent speaking
        speech = vad & real & (level > np.maximum(low + SPEECH_OVER_FLOOR_DB, ABS_SPEECH_MIN_DBOV))
        buf[AGENT_SPEECH, c : c + n] = speech
        self._next = a + n

        idx = np.arange(a, a + n)
        # consecutive speech frames ending at each frame
        last_gap = np.maximum.accumulate(np.where(speech, a - 1 - self._run, idx))
        run = np.where(speech, idx - last_gap, 0)
        # end of the last speech frame so far, and the quiet time since
        last_end = np.maximum.accumulate(np.where(speech, idx + 1, self._last_end))
        quiet = idx + 1 - last_end
        onset = np.maximum.accumulate(np.where(run >= ONSET_FRAMES, idx, self._last_onset))
        brk = np.maximum.accumulate(np.where(quiet > self._pause_frames, idx, self._last_break))
        in_turn = onset > brk
        was = np.concatenate([[self._in_turn], in_turn[:-1]])

        # the floor the turn began on: during a long turn the floor creeps up towards the voice
        begun = np.maximum.accumulate(np.where(in_turn & ~was, idx - a, -1))
        turn_floor = np.where(begun >= 0, low[np.maximum(begun, 0)], self._turn_floor)

        out: list[ConditionChanged] = []
        for k in np.nonzero(in_turn != was)[0].tolist():
            i = a + k
            t = frame_time(i + 1)
            if in_turn[k]:
                since = frame_time(i + 1 - int(run[k]))  # start of the first frame of the run
                out.append(ConditionChanged(t, "agent", "speech", since, self._stats_at(i)))
            else:
                floor = min(float(turn_floor[k]), float(low[k]))
                since = frame_time(self._line_end(int(last_end[k]), i, floor))
                out.append(ConditionChanged(t, "agent", "silent", since, self._stats_at(i)))

        self._run = int(run[-1])
        self._last_end = int(last_end[-1])
        self._last_onset = int(onset[-1])
        self._last_break = int(brk[-1])
        self._in_turn = bool(in_turn[-1])
        self._turn_floor = float(turn_floor[-1])
        return out

    def _line_end(self, end: int, decided: int, floor: float) -> int:
        """Frame index just after the line's sound (module doc): `end` (just after the last speech
        frame) carried over the soft ending in the max_tail + 1 frames after it. The frames from
        there to `decided` (the frame that ends the turn) are the noise the ending must stand over."""
        w = self._max_tail + 1
        ring = self._ring
        level = ring.row(LEVEL, end, end + w)
        real = ring.row(POWER, end, end + w) > 0.0  # digital zero reads the last level (repair)
        noise = ring.row(LEVEL, end + w, decided + 1)
        gate = max(floor + TAIL_OVER_FLOOR_DB, TAIL_MIN_DBOV,
                   percentile(noise, TAIL_NOISE_PCT) + TAIL_OVER_NOISE_DB if noise.size else -math.inf)
        soft = real & (level > gate)
        j = np.arange(w)
        # the last speech frame (j = -1) and a release TAIL_BURST_DB over the gate are anchors; a
        # soft frame counts when no dip of more than TAIL_DIP_FRAMES lies between it and an anchor
        last_anchor = np.maximum.accumulate(np.where(real & (level > gate + TAIL_BURST_DB), j, -1))
        last_soft = np.maximum.accumulate(np.where(soft, j, -1))
        last_dip = np.maximum.accumulate(np.where(j - last_soft > TAIL_DIP_FRAMES, j, -2))
        ok = soft & (last_dip < last_anchor)
        last_ok = np.maximum.accumulate(np.where(ok, j, -1))
        gaps = np.flatnonzero(j - last_ok > TAIL_GAP_FRAMES)  # nothing for that long: it is over
        tail = np.flatnonzero(ok[: int(gaps[0]) if gaps.size else w])
        if tail.size == 0 or tail[-1] == w - 1:
            return end  # no soft ending; or sound that goes on past max_tail: noise, not the line
        return end + int(tail[-1]) + 1

    def _level_at(self, i: int) -> float | None:
        p = self._ring.row(POWER, i + 1 - LEVEL_FRAMES, i + 1)
        return reported(float(power_to_dbov(np.array([p.mean()]))[0]))

    def _stats_at(self, i: int) -> LineStats:
        floor = float(self._ring.buf[AGENT_FLOOR, self._ring.col(i)])
        return LineStats(self._level_at(i), None, reported(floor), None, self._clipped_at(i))

    def _clipped_at(self, i: int) -> int:
        return int(self._ring.buf[CLIPPED, self._ring.col(i)])
