"""The caller's line condition: speech | silent | low_volume | noisy, by the corpus label rules.

Every HOP frames (50 ms) the tracker estimates, from the frames already final:

* S, the active speech level: power mean of the speech frames of the last 0.7 s, minus the
  noise power (so S is the talker, not talker + noise, as the label rules measure it);
* N, the line noise: power mean of the recent non-speech frames that belong to the current
  floor (a floor that jumped by > 6 dB marks a new line state; older frames are forgotten),
  plus the power of clicks counted over all frames (see activity.py);
* whether speech is present: a speech frame within the pause allowance.

It applies the label rules (rules.py), lets a small learned model (noise_model.py) turn a
speech/low_volume verdict into noisy where the noise never pauses the way a line floor does
(the model is evaluated only at those evaluations; its voicing statistics need the samples, so
the 20 ms windows at the hop frames of the second before such an evaluation are analysed then,
once each), and smooths the result (smoothing.py).

Tones (tones.py: ringback, busy, DTMF, fax...) are not the caller: their frames count neither as
speech nor as noise, and while a tone was heard within 0.6 s and no caller speech is present the
condition is `tone`, with its frequencies and kind (again when the kind becomes known).

The pause allowance is pause_s + 0.15 s of quiet frames. The rules measure pauses on P.56
activity, whose 200 ms hangover keeps a turn active after the last audible frame: a 0.6 s
P.56 pause shows up as 0.6-0.9 s of quiet frames. 0.15 s is the measured best trade-off
between calling long in-turn pauses "silent" and reporting the end of a turn late.
"""

from __future__ import annotations

import numpy as np

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import rules
from softphone_assist.core.detect.activity import NOISE_LAG, SPEECH_LAG, FrameClassifier
from softphone_assist.core.detect.floor import CALLER_SLOW_FRAMES, CALLER_SLOW_RANK, HOP, NoiseFloor, hop_frames
from softphone_assist.core.detect.framing import (
    FRAME_S,
    FULL_SCALE,
    LEVEL_FLOOR_DBOV,
    check_block,
    frame_len,
    frame_time,
    power_to_dbov,
)
from softphone_assist.core.detect.history import FrameRing
from softphone_assist.core.detect.layout import (
    CLIPPED,
    FLOOR,
    LEVEL,
    MEDIAN,
    NEAR_SPEECH,
    PADS,
    PITCH,
    POWER,
    QUIET,
    SPEECH,
    SPIKE,
    THRESHOLD,
    TILT,
    VOICE,
)
from softphone_assist.core.detect.levels import (
    LEVEL_FRAMES,
    SILENT_LINE_DBOV,
    VOICE_RATE,
    DcOffset,
    count_clipped,
    frame_power_and_tilt,
    reported,
    voicing,
)
from softphone_assist.core.detect.noise_model import GATE_FRAMES as NOISE_GATE_FRAMES
from softphone_assist.core.detect.noise_model import LONG as NOISE_MODEL_FRAMES
from softphone_assist.core.detect.noise_model import (
    NOISE_GATE_DBOV,
    VOICE_FRAMES,
    VOICE_WINDOWS,
    NoiseModel,
    hop_features,
    shipped_model,
)
from softphone_assist.core.detect.noise_model import _levels as _noise_levels
from softphone_assist.core.detect.rules import CODES, rule_codes
from softphone_assist.core.detect.smoothing import ConditionSmoother
from softphone_assist.core.detect.tones import ToneInfo, ToneTracker, same_info
from softphone_assist.core.events import Condition, ConditionChanged, LineStats

P56_TAIL_S = 0.15
NOISE_FRAMES = 100  # N: non-speech frames of the last 1 s
NOISE_MIN_FRAMES = 10  # with fewer, the floor estimate fills in
NOISE_BAND_DB = 3.0  # quiet frames: at most this far above the current floor
LINE_CHANGE_DB = 6.0  # frames recorded under a floor this different belong to another line state
SPIKE_FRAMES = 100
TONE = len(CODES)  # rule code of the tone condition (after the label rules' codes)
CONDITIONS: tuple[Condition, ...] = (*CODES, "tone")
TONE_GAP_FRAMES = 60  # a tone heard within 0.6 s holds `tone` over busy (0.5 s) and DTMF gaps
TONE_MODEL_MEMORY = 1000  # frames (10 s) after the last tone frame before the noise model is asked again
assert TONE_MODEL_MEMORY >= NOISE_MODEL_FRAMES  # so a tone in the model's own window is covered too
PCM_TAIL = VOICE_FRAMES + 1  # frames kept for the voicing windows of the next block's first hops


class CallerLineTracker:
    # webrtcvad flags 45-98 % of noise-only frames and misses most quiet speech (mode 3, dev corpus):
    # the caller's condition rests on levels, so the pipeline need not run the VAD for it
    uses_vad = False

    def __init__(self, rate: int, config: DetectorConfig, noise_model: NoiseModel | bool = True) -> None:
        """`noise_model`: True for the shipped second opinion on noisy (noise_model.py), False for
        the level rules alone, or a model of one's own (bench/train_caller_model.py)."""
        frame_len(rate)  # validates the rate
        self.rate = rate
        self.config = config
        self._pause_frames = round((config.pause_s + P56_TAIL_S) / FRAME_S)
        self._speech_frames = self._pause_frames - SPEECH_LAG  # speech window, ends SPEECH_LAG back
        self._span = max(NOISE_FRAMES + NOISE_LAG, SPIKE_FRAMES + 1, self._speech_frames + SPEECH_LAG,
                         NOISE_MODEL_FRAMES)
        self._ring = FrameRing(PADS, keep=max(self._span, CALLER_SLOW_FRAMES) + HOP)
        # the voicing of a hop's 20 ms window is computed only when the noise model asks about a
        # second that holds it (most never are), from the block being processed or, for windows
        # before it, from a copy of the last PCM_TAIL frames (not a copy of every frame), kept in a
        # buffer of 4 x PCM_TAIL frames that short live blocks append to, moved only when full
        self._pcm_buf = np.zeros((4 * PCM_TAIL, frame_len(rate)))
        self._pcm_end = PCM_TAIL  # the tail is self._pcm_buf[self._pcm_end - PCM_TAIL : self._pcm_end]
        self._block = self._pcm_buf[:0]
        self._floor = NoiseFloor(slow_frames=CALLER_SLOW_FRAMES, slow_rank=CALLER_SLOW_RANK)
        self._dc = DcOffset()
        self._frames = FrameClassifier()
        self._smoother = ConditionSmoother(HOP, FRAME_S)
        self._tones = ToneTracker(rate, keep=self._ring.keep)  # tones.py
        self._tone_shown: ToneInfo | None = None  # the tone of the last `tone` event
        self._model = shipped_model() if noise_model is True else (noise_model or None)
        # bench/train_caller_model.py: (hop frames, features, rule codes) of every evaluation
        self.feature_sink: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._noisy_vote = False  # the model's vote at the last evaluation
        self._last_tone_frame = -(10**9)  # the last frame flagged as a tone
        self._next = 0
        self._last_speech_end = 0  # frame index just after the last speech frame
        self._turn_start = 0
        self._present = False
        self._speech_dbov: float | None = None
        self._noise_dbov: float | None = None

    @property
    def condition(self) -> Condition:
        return self._smoother.condition

    def stats(self) -> LineStats:
        """Current figures: level of the last 100 ms, S and N of the last evaluation."""
        level = self._level_at(self._next - 1) if self._next else None
        s, n = self._speech_dbov, self._noise_dbov
        snr = s - n if s is not None and n is not None else None
        return LineStats(level, s, n, snr, self._clipped_at(self._next - 1))

    def process(self, frames: np.ndarray, vad: np.ndarray, first_frame: int) -> list[ConditionChanged]:
        """Feed the next frames (n, frame_len) in int16 scale; returns the condition changes.

        `vad` is accepted for interface symmetry: webrtcvad flags most noise as speech and
        misses most quiet speech, so the caller's decision rests on levels, not on it.
        """
        frames = np.asarray(frames, dtype=np.float64)
        vad = np.asarray(vad, dtype=bool)
        check_block(frames, vad, self.rate, self._next, first_frame)
        out: list[ConditionChanged] = []
        chunk = self._ring.capacity - self._ring.keep
        for s in range(0, frames.shape[0], chunk):  # a long block in pieces the buffer can hold
            out += self._process(frames[s : s + chunk])
        return out

    def _process(self, frames: np.ndarray) -> list[ConditionChanged]:
        a = self._next
        b = a + frames.shape[0]
        power, diff_power = frame_power_and_tilt(frames, self._dc)
        self._ring.reserve(b - a)
        self._ring.buf[VOICE, self._ring.col(a) : self._ring.col(b)] = np.nan  # not computed yet
        self._block = frames
        count_clipped(self._ring.buf, CLIPPED, self._ring.col(a), frames, self.config.clip_dbov)
        self._floor.process(self._ring, a, power, diff_power)
        self._tones.process(frames, self._ring.row(LEVEL, a, b), self._ring.row(TILT, a, b))
        self._ring.end = b
        self._frames.process(self._ring, a, b)
        self._next = b
        first, count = hop_frames(a, b)
        out = self._evaluate(first, count) if count else []
        self._keep_tail(frames)
        self._block = self._pcm_buf[:0]  # the caller may reuse its buffer
        return out

    def _level_at(self, i: int) -> float | None:
        p = self._ring.row(POWER, i + 1 - LEVEL_FRAMES, i + 1)
        return reported(float(power_to_dbov(np.array([p.mean()]))[0]))

    def _evaluate(self, first: int, count: int) -> list[ConditionChanged]:
        ring = self._ring
        hops = first + HOP * np.arange(count)
        # one strided view serves every window: S ends SPEECH_LAG back, N ends NOISE_LAG back,
        # clicks end one frame back (their median needs the next frame)
        view = ring.windows(first, count, HOP, self._span)
        now = view[:, :, -1]
        floor, thr = now[FLOOR], now[THRESHOLD]

        width = self._speech_frames
        sw = view[:, :, self._span - SPEECH_LAG - width : self._span - SPEECH_LAG]
        # tones (tones.py): tone frames are neither caller speech nor line noise
        tw = self._tones.windows(first, count, HOP, self._span)  # None: no tone in these windows
        is_sp = (sw[SPEECH] > 0.5) & (sw[MEDIAN] > thr[:, None])
        if tw is not None:
            is_sp &= ~tw[:, self._span - SPEECH_LAG - width : self._span - SPEECH_LAG]
        n_sp = is_sp.sum(axis=1)
        # lost packets (zero frames inside speech) keep a turn going but have no level to measure
        heard = is_sp & (sw[POWER] > 0.0)
        s_pow = (sw[POWER] * heard).sum(axis=1) / np.maximum(heard.sum(axis=1), 1)

        nw = view[:, :, self._span - NOISE_LAG - NOISE_FRAMES : self._span - NOISE_LAG]
        # quiet frames at the current floor, and short bursts (clicks, babble peaks) that never
        # made a syllable; frames from another line state (floor moved > 6 dB) are forgotten
        quiet = nw[MEDIAN] <= (floor + NOISE_BAND_DB)[:, None]
        burst = nw[MEDIAN] > nw[THRESHOLD]
        same_line = np.abs(nw[FLOOR] - floor[:, None]) <= LINE_CHANGE_DB
        is_noise = (nw[NEAR_SPEECH] < 0.5) & (quiet | burst) & same_line & (nw[POWER] > 0.0)
        if tw is not None:
            is_noise &= ~tw[:, self._span - NOISE_LAG - NOISE_FRAMES : self._span - NOISE_LAG]
        n_noise = is_noise.sum(axis=1)
        fill = np.maximum(NOISE_MIN_FRAMES - n_noise, 0)
        floor_pow = FULL_SCALE * FULL_SCALE * 10.0 ** (floor / 10.0)
        n_pow = ((nw[QUIET] * is_noise).sum(axis=1) + fill * floor_pow) / np.maximum(n_noise + fill, 1)
        n_pow += view[SPIKE, :, self._span - 1 - SPIKE_FRAMES : self._span - 1].mean(axis=1)

        n_db = power_to_dbov(n_pow)
        noise_known = n_db > SILENT_LINE_DBOV
        present = n_sp > 0
        # S of the current turn: measured where speech frames were heard, else the last measured
        idx = np.arange(hops.size)
        new_turn = present & ~np.concatenate([[self._present], present[:-1]])
        measured = heard.any(axis=1)
        last_measured = np.maximum.accumulate(np.where(measured, idx, -1))
        s_now = power_to_dbov(np.maximum(s_pow - n_pow, 1e-3))
        carried = LEVEL_FLOOR_DBOV if self._speech_dbov is None else self._speech_dbov
        s_db = np.where(last_measured >= 0, s_now[np.maximum(last_measured, 0)], carried)
        rule = rule_codes(s_db, present, n_db, noise_known, self.config)
        if self._model is not None or self.feature_sink is not None:
            # the model is asked only where its answer can matter: the rules hear a talker, its 2 s
            # window holds the line, not the time before the call, and no tone was heard within
            # TONE_MODEL_MEMORY (>= that window: its level statistics would read a tone as line
            # noise, and a busy or ringback cadence goes on under a talker whose words hide it from
            # the tone detector)
            voiced = ((rule == rules.SPEECH) | (rule == rules.LOW_VOLUME)) & (hops >= NOISE_MODEL_FRAMES)
            if tw is not None:
                seen = tw.any(axis=1)
                last = hops - self._span + 1 + (self._span - 1 - np.argmax(tw[:, ::-1], axis=1))
                last = np.maximum.accumulate(np.where(seen, last, self._last_tone_frame))
                self._last_tone_frame = max(self._last_tone_frame, int(last[-1]))
                voiced &= hops - last >= TONE_MODEL_MEMORY
            elif hops[0] - self._last_tone_frame < TONE_MODEL_MEMORY:
                voiced &= hops - self._last_tone_frame >= TONE_MODEL_MEMORY
            rows = np.flatnonzero(voiced)
            if self.feature_sink is None and self._model is not None and rows.size:
                # NoiseModel.is_noisy says no wherever the quiet tenth of the last 0.5 s (its p10_short
                # feature) is under NOISE_GATE_DBOV, so those rows need no features (most of a talker
                # over a quiet line): p10 >= the gate <=> at most a tenth of the levels are under it
                under = (_noise_levels(view[LEVEL, rows, -NOISE_GATE_FRAMES:]) < NOISE_GATE_DBOV).sum(axis=1)
                rows = rows[under <= NOISE_GATE_FRAMES // 10]
            vote = np.zeros(hops.size, dtype=bool)
            if rows.size:
                voice = self._voicing(hops[rows])
                feats = hop_features(view, self._span - SPEECH_LAG, s_db[rows], n_db[rows], rows, voice)
                if self.feature_sink is not None:
                    self.feature_sink.append((hops[rows], feats, rule[rows]))
                if self._model is not None:
                    vote[rows] = self._model.is_noisy(feats, rule[rows] == rules.LOW_VOLUME)
            if self._model is not None:
                # the model must agree with itself over two evaluations in a row (one is a blip);
                # an evaluation where the rules themselves said noisy agrees
                agree = vote | (rule == rules.NOISY)
                sure = vote & np.concatenate([[self._noisy_vote], agree[:-1]])
                self._noisy_vote = bool(agree[-1])
                rule = np.where(sure, rules.NOISY, rule)
        if tw is not None:  # a tone heard lately and no caller speech (speech over a tone is speech)
            rule = np.where(tw[:, self._span - TONE_GAP_FRAMES :].any(axis=1) & ~present, TONE, rule)
        codes = rule.tolist()

        # turn bookkeeping for `since`, vectorised over the evaluations: a turn starts at its first
        # speech frame and ends after its last heard one (a lost packet at the end is not speech)
        se = hops - SPEECH_LAG
        last_sp = se - np.argmax(heard[:, ::-1], axis=1)
        first_sp = se - width + 1 + np.argmax(is_sp, axis=1)
        last_end = np.maximum.accumulate(np.where(measured, last_sp + 1, self._last_speech_end))
        last_end = np.maximum(last_end, self._last_speech_end)
        end_before = np.concatenate([[self._last_speech_end], last_end[:-1]])
        turn_start = np.maximum.accumulate(
            np.where(new_turn, np.maximum(first_sp, end_before), self._turn_start)
        )

        out: list[ConditionChanged] = []
        smoother = self._smoother
        for k, code in enumerate(codes):
            i = int(hops[k])
            tone_info = self._tones.hop_info[k]
            if CONDITIONS[code] == smoother.condition and not smoother.pending:
                if code == TONE and not same_info(tone_info, self._tone_shown):  # known better now
                    out.append(self._tone_event(i, tone_info, frame_time(i + 1)))
                continue
            change = smoother.step(i, CONDITIONS[code])
            if change is None:
                continue
            t = frame_time(i + 1)
            if change.condition == "tone" and change.previous in ("speech", "low_volume"):
                since_frame = self._speech_end_before(tone_info.start if tone_info else i, int(last_end[k]))
            elif change.condition == "silent" and change.previous in ("speech", "low_volume"):
                since_frame = int(last_end[k])
            elif change.condition in ("speech", "low_volume") and change.previous in ("silent", "tone"):
                since_frame = int(turn_start[k])
            elif change.condition == "tone" and tone_info is not None:
                since_frame = tone_info.start
            elif change.previous == "tone":
                since_frame = self._tones.hop_end[k]
            else:
                since_frame = change.pending_since_frame + 1 - HOP
            since = min(frame_time(since_frame), t)
            speech = float(s_db[k]) if last_measured[k] >= 0 else self._speech_dbov
            noise = float(n_db[k]) if noise_known[k] else None
            stats = self._stats_at(i, speech, noise)
            if change.condition == "tone":
                out.append(self._tone_event(i, tone_info, since, stats))
                continue
            out.append(ConditionChanged(t, "caller", change.condition, since, stats))

        self._last_speech_end = int(last_end[-1])
        self._turn_start = int(turn_start[-1])
        self._present = bool(present[-1])
        if last_measured[-1] >= 0:
            self._speech_dbov = float(s_db[-1])
        self._noise_dbov = float(n_db[-1]) if noise_known[-1] else None
        return out

    def _voicing(self, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, VOICE_WINDOWS) voicing peaks and pitch lags of the hop windows of the last
        VOICE_FRAMES frames up to each hop frame in `ends`, oldest first. Windows not computed
        yet are computed now, in one batch: a window's values depend on its two frames only,
        whatever the block cuts."""
        ring = self._ring
        hop_cols = ends[:, None] - ring.origin - HOP * np.arange(VOICE_WINDOWS - 1, -1, -1)
        lo = int(hop_cols[0, 0])  # `ends` ascend: the windows needed, without a sort
        wanted = np.zeros(int(hop_cols[-1, -1]) + 1 - lo, dtype=bool)
        wanted[hop_cols - lo] = True
        need = np.flatnonzero(wanted) + lo
        need = need[np.isnan(ring.buf[VOICE, need])]
        if need.size:
            ring.buf[VOICE, need], ring.buf[PITCH, need] = voicing(self._windows(need + ring.origin))
        return ring.buf[VOICE][hop_cols], ring.buf[PITCH][hop_cols]

    def _keep_tail(self, frames: np.ndarray) -> None:
        """The last PCM_TAIL frames, copied: the voicing windows of the next block's first hops."""
        n, buf = frames.shape[0], self._pcm_buf
        if n >= PCM_TAIL:
            buf[:PCM_TAIL] = frames[-PCM_TAIL:]
            self._pcm_end = PCM_TAIL
            return
        if self._pcm_end + n > buf.shape[0]:
            buf[: PCM_TAIL - n] = buf[self._pcm_end - PCM_TAIL + n : self._pcm_end]
            self._pcm_end = PCM_TAIL - n
        buf[self._pcm_end : self._pcm_end + n] = frames
        self._pcm_end += n

    def _windows(self, ends: np.ndarray) -> np.ndarray:
        """(len(ends), VOICE_WINDOW) 4 kHz samples of the 20 ms windows ending at these frames
        (ascending): their two frames from the block (a sliding view of it, no copy) or, for
        windows ending before its second frame, from the tail; then sums of 2 (8 kHz) or 4 (16 kHz)
        samples in a row, as strided adds (a mean over a short last axis is numpy's slow case)."""
        block, fl = self._block, self._block.shape[1]
        start = self._ring.end - block.shape[0]
        split = int(np.searchsorted(ends, start + 1))
        parts = []
        if split:  # frames start - PCM_TAIL .. start
            pre = np.concatenate([self._pcm_buf[self._pcm_end - PCM_TAIL : self._pcm_end], block[:1]])
            parts.append(np.lib.stride_tricks.sliding_window_view(pre.reshape(-1), 2 * fl)[::fl][
                ends[:split] - 1 - (start - PCM_TAIL)])
        if split < ends.size:
            flat = np.ascontiguousarray(block).reshape(-1)
            parts.append(np.lib.stride_tricks.sliding_window_view(flat, 2 * fl)[::fl][ends[split:] - 1 - start])
        pcm = parts[0] if len(parts) == 1 else np.concatenate(parts)
        k = self.rate // VOICE_RATE
        low = pcm[:, 0::k] + pcm[:, 1::k]
        if k == 4:
            low += pcm[:, 2::k] + pcm[:, 3::k]
        return low

    def _speech_end_before(self, start: int, fallback: int) -> int:
        """The end of the last speech frame before a tone began, with the tone marks known now
        (a tone's first frames can pass for speech until its second window confirms it)."""
        lo = max(start - self._span, self._ring.origin, self._next - self._ring.keep)
        sp = (self._ring.row(SPEECH, lo, start) > 0.5) & ~self._tones.flags(lo, start)
        hits = np.flatnonzero(sp)
        return lo + int(hits[-1]) + 1 if hits.size else min(fallback, start)

    def _tone_event(self, i: int, info: ToneInfo | None, since: float,
                    stats: LineStats | None = None) -> ConditionChanged:
        """A `tone` condition event: at its start, and again when what it is becomes known."""
        self._tone_shown = info
        hz, kind = (info.hz, info.kind) if info is not None else ((), "unknown")
        if stats is None:
            stats = self._stats_at(i, self._speech_dbov, self._noise_dbov)
        return ConditionChanged(frame_time(i + 1), "caller", "tone", since, stats, hz, kind)

    def _stats_at(self, i: int, speech: float | None, noise: float | None) -> LineStats:
        level = self._level_at(i)
        snr = speech - noise if speech is not None and noise is not None else None
        return LineStats(level, speech, noise, snr, self._clipped_at(i))

    def _clipped_at(self, i: int) -> int:
        return int(self._ring.buf[CLIPPED, self._ring.col(i)])
