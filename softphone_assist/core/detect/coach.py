"""Coaching the agent's own speaking: one quiet hint when they rush, mumble, clip or talk over.

Pure core: no clock, no threads. The pipeline hands over, per block, the agent tracker's per-frame
features (`AgentFrames`) and the updates of the same stretch of stream (conditions of both
channels, call state, prompts, ladder ends, outages); time is the frame grid (frame i ends at
(i + 1) / 100 s). Kinds (thresholds: config.CoachConfig; texts: the script's [coach] section):

* overtalk: the agent's and the caller's turns (as the trackers report them: pauses up to
  pause_s inside a turn do not end it) overlap for `overtalk_s`. A turn still running at t is
  only known to have lasted until t - pause_s, so the hint comes pause_s after the overlap has
  reached `overtalk_s`: at max(both turns' starts) + overtalk_s + pause_s.
* agent_quiet: the active level (mean power of the agent's speech frames) of the last
  `quiet_window_s` of agent speech frames is below `quiet_dbov`.
* agent_clipping: the last `clip_window_s` of agent speech frames hold `clip_samples` clipped
  samples (|x| >= detector.clip_dbov).
* speech_rate: syllable nuclei (detect/syllables.py) over the last `rate_window_s` of agent turn
  time (each turn from its first speech frame to its last) exceed the script's rate by
  `rate_over`. A frame's nucleus and turn membership are final RATE_DELAY frames later (the
  nucleus needs its context, the turn end its pause), so the hint comes RATE_DELAY frames after
  the frame that crossed the limit.

The coach listens only while a call is up (call_start/answered .. hold/call_end, again from
resume), every channel has audio, and the agent is not following a ladder prompt: from a
prompt until the end of the agent's next speech that ends after it (the engine's end of the
line), the ladder's end or its may-hang-up. Frames outside are not counted in any window.
Each kind fires at most once per `repeat_s` of stream time; kinds not in `kinds` never fire.
The result does not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from softphone_assist.core.config import CoachConfig
from softphone_assist.core.detect.framing import FRAMES_PER_S, power_to_dbov
from softphone_assist.core.detect.syllables import LAG, SyllableCounter, text_syllables
from softphone_assist.core.events import (
    CallEvent,
    CoachHint,
    ConditionChanged,
    MayHangUp,
    NoAudio,
    ProtocolEnded,
    ShowPrompt,
    Update,
)

_EPS = 1e-9
CALLER_TALKING = ("speech", "low_volume")  # a tone or a noisy line is not the customer talking


@dataclass(frozen=True, slots=True)
class AgentFrames:
    """The agent tracker's per-frame features of one block: frames first .. first + len - 1."""

    first: int
    power: np.ndarray  # mean square, DC removed (int16 units^2)
    speech: np.ndarray  # bool: a speech frame (webrtcvad and the level gate)
    clipped: np.ndarray  # clipped samples in the frame


def target_syllables_per_minute(chars_per_minute: float, lines: Sequence[str]) -> float:
    """The script's rate in syllables: its chars_per_minute counts what `speaking_time_s` counts
    (Chinese characters; English letters and word gaps), so the rate in syllables is that times the
    syllables per counted character of the script's own lines (1.0 for Chinese)."""
    chars = sum(len(" ".join("".join(ch for ch in t if ch.isalnum() or ch.isspace()).split())) for t in lines)
    syllables = sum(text_syllables(t) for t in lines)
    return chars_per_minute * syllables / chars if chars and syllables else chars_per_minute


def _frame_at(t: float) -> int:
    """The first frame that starts at or after stream time t."""
    return math.ceil(t * FRAMES_PER_S - 1e-6)


def _t(frame_end: int) -> float:
    return frame_end / FRAMES_PER_S


class _Window:
    """Sums over the last `size` values of a series that arrives in pieces, in O(new values).

    Keeps the running cumulative sum C of the last size + 1 positions (amortised, like FrameRing):
    the sum of the window ending at value p is C(p + 1) - C(max(p + 1 - size, 0)).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._c = np.zeros(max(4 * size, 1024) + 1)  # _c[j] = sum of values with index < base + j
        self._base = 0
        self._n = 0  # _c[0 .. _n] are in use

    def sums(self, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each new value: the sum of the window ending at it, and how many values it holds."""
        k = len(new)
        if self._n + k + 1 > self._c.size:
            keep = min(self.size + 1, self._n + 1)
            buf = self._c if keep + k <= self._c.size else np.zeros(2 * (keep + k))
            buf[:keep] = self._c[self._n + 1 - keep : self._n + 1].copy()
            self._base += self._n + 1 - keep
            self._n, self._c = keep - 1, buf
        seen, n = self._base + self._n, self._n
        c = self._c
        np.cumsum(np.asarray(new, dtype=np.float64), out=c[n + 1 : n + 1 + k])
        c[n + 1 : n + 1 + k] += c[n]
        self._n += k
        # window of the value at seen + i: C(seen + i + 1) - C(seen + i + 1 - size), C(<= 0) = 0
        start = seen + 1 - self.size  # index of C for the first new value's window start
        if start >= 0:  # the usual case: every window is full; plain slices, no index arrays
            lo = c[start - self._base : start - self._base + k]
            return c[n + 1 : n + 1 + k] - lo, np.full(k, self.size)
        first = np.arange(start, start + k)
        lo = np.where(first > 0, c[np.maximum(first, 0) - self._base], 0.0)
        return c[n + 1 : n + 1 + k] - lo, np.minimum(np.arange(seen + 1, seen + 1 + k), self.size)


class Coach:
    def __init__(self, config: CoachConfig, texts: Mapping[str, str], target_spm: float, pause_s: float) -> None:
        self.config = config
        self.texts = dict(texts)
        self.target_spm = target_spm
        self.limit_spm = target_spm * (1.0 + config.rate_over)
        self._pause_frames = round(pause_s * FRAMES_PER_S)
        self._pause_s = self._pause_frames / FRAMES_PER_S
        self.rate_delay = max(LAG, self._pause_frames + 1)  # frames: see the module doc
        self._last: dict[str, float] = {}
        self._pending: list[Update] = []
        # call and listening state
        self._active = False
        self._lost: set[str] = set()
        self._prompt_t: float | None = None
        self._elig_since = 0.0
        self._agent_turn = self._caller_turn = False
        self._agent_since = self._caller_since = 0.0
        # windows
        self._quiet = _Window(round(config.quiet_window_s * FRAMES_PER_S))
        self._clip = _Window(round(config.clip_window_s * FRAMES_PER_S))
        self._rate = _Window(round(config.rate_window_s * FRAMES_PER_S))
        self._syll = SyllableCounter()
        self._turns: list[list[int | None]] = []  # agent turns [first frame, end frame or None]
        self._next = 0  # first frame not yet seen
        self._rate_next = 0  # first frame the rate path has not counted
        self._hist_first = 0  # frame of _elig_hist[0] and _nuclei[0]
        self._elig_hist = np.zeros(0, dtype=bool)
        self._nuclei = np.zeros(0, dtype=bool)

    @property
    def listening(self) -> bool:
        return self._active and not self._lost and self._prompt_t is None

    def observe(self, updates: Sequence[Update]) -> None:
        """Updates that came without audio (end of a recording): applied before later frames."""
        self._pending.extend(updates)

    # ------------------------------------------------------------------------------------------
    def process(self, frames: AgentFrames, updates: Sequence[Update]) -> list[CoachHint]:
        first, n = frames.first, len(frames.power)
        if first != self._next:
            raise ValueError(f"coach: blocks must be contiguous: expected frame {self._next}, got {first}")
        events = sorted([*self._pending, *updates], key=lambda u: u.t)  # stable: same-t order kept
        self._pending = []
        elig = np.zeros(n, dtype=bool)
        both = np.zeros(n, dtype=bool)
        start = np.zeros(n)  # overlap start (max of both turn starts and the listening start)
        k = 0
        for ev in events:
            b = min(max(_frame_at(ev.t) - first, 0), n)
            self._fill(elig, both, start, k, b)
            k = max(k, b)
            self._apply(ev)
        self._fill(elig, both, start, k, n)
        self._next = first + n

        hints: list[tuple[int, CoachHint]] = []
        sp = np.asarray(frames.speech, dtype=bool)
        idx = np.arange(first, first + n)
        ends = idx + 1  # frame i ends at (i + 1) / 100 s
        # overtalk
        if both.any():
            ok = both & (ends / FRAMES_PER_S - self._pause_s - start >= self.config.overtalk_s - _EPS)
            hints += self._fire("overtalk", ends[ok], lambda j: {"since": round(float(start[ok][j]), 3)})
        # level and clipping over the agent's speech frames while listening
        m = sp & elig
        if m.any():
            hints += self._level_and_clipping(frames, m, ends[m])
        hints += self._speech_rate(frames, elig)
        hints.sort(key=lambda h: h[0])
        return [h for _, h in hints]

    def _level_and_clipping(self, frames: AgentFrames, m: np.ndarray, at: np.ndarray) -> list[tuple[int, CoachHint]]:
        hints: list[tuple[int, CoachHint]] = []
        total, count = self._quiet.sums(np.asarray(frames.power, dtype=np.float64)[m])
        full = count >= self._quiet.size
        level = power_to_dbov(np.where(full, total / np.maximum(count, 1), 1.0))
        ok = full & (level < self.config.quiet_dbov)
        hints += self._fire("agent_quiet", at[ok], lambda j: {
            "speech_dbov": round(float(level[ok][j]), 1), "threshold_dbov": self.config.quiet_dbov})
        clipped, _ = self._clip.sums(np.asarray(frames.clipped, dtype=np.float64)[m])
        ok = clipped >= self.config.clip_samples
        hints += self._fire("agent_clipping", at[ok], lambda j: {
            "clipped": int(clipped[ok][j]), "window_s": self.config.clip_window_s})
        return hints

    # ------------------------------------------------------------------------------------------
    def _fill(self, elig: np.ndarray, both: np.ndarray, start: np.ndarray, a: int, b: int) -> None:
        if b <= a:
            return
        listening = self.listening
        elig[a:b] = listening
        if listening and self._agent_turn and self._caller_turn:
            both[a:b] = True
            start[a:b] = max(self._agent_since, self._caller_since, self._elig_since)

    def _apply(self, ev: Update) -> None:
        was = self.listening
        if isinstance(ev, CallEvent):
            if ev.kind in ("call_start", "answered", "resume"):
                self._active = True
            elif ev.kind in ("hold", "call_end"):
                self._active = False
                self._prompt_t = None
        elif isinstance(ev, NoAudio):
            (self._lost.discard if ev.ended else self._lost.add)(ev.channel)
        elif isinstance(ev, ShowPrompt):
            self._prompt_t = ev.t
        elif isinstance(ev, ProtocolEnded | MayHangUp):
            self._prompt_t = None
        elif isinstance(ev, ConditionChanged):
            if ev.channel == "agent":
                if ev.condition == "speech" and not self._agent_turn:
                    self._agent_turn, self._agent_since = True, ev.since
                    self._turns.append([round(ev.since * FRAMES_PER_S), None])
                elif ev.condition != "speech" and self._agent_turn:
                    self._agent_turn = False
                    if self._turns and self._turns[-1][1] is None:
                        self._turns[-1][1] = round(ev.since * FRAMES_PER_S)
                    if self._prompt_t is not None and ev.since >= self._prompt_t - _EPS:
                        self._prompt_t = None  # the prompted line has been said
            else:
                talking = ev.condition in CALLER_TALKING
                if talking and not self._caller_turn:
                    self._caller_since = ev.since
                self._caller_turn = talking
        if self.listening and not was:
            self._elig_since = ev.t

    def _fire(self, kind: str, times: np.ndarray,
              detail: Callable[[int], dict[str, Any]]) -> list[tuple[int, CoachHint]]:
        """The first candidate frame end in `times` (ascending, frame ends) that the rate limit
        allows, then the next one `repeat_s` later, and so on."""
        if kind not in self.config.kinds or times.size == 0:
            return []
        out: list[tuple[int, CoachHint]] = []
        j = 0
        while j < times.size:
            last = self._last.get(kind)
            if last is not None:
                j += int(np.searchsorted(times[j:], round((last + self.config.repeat_s) * FRAMES_PER_S) - 0.5))
                if j >= times.size:
                    break
            end = int(times[j])
            t = _t(end)
            self._last[kind] = t
            out.append((end, CoachHint(t=t, kind=kind, text=self.texts.get(kind, kind), detail=detail(j))))
            j += 1
        return out

    def _speech_rate(self, frames: AgentFrames, elig: np.ndarray) -> list[tuple[int, CoachHint]]:
        first, n = frames.first, len(frames.power)
        f0, flags = self._syll.push(frames.power, frames.speech)
        self._elig_hist = np.concatenate([self._elig_hist, elig])
        self._nuclei = np.concatenate([self._nuclei, np.zeros(n, dtype=bool)])
        self._nuclei[f0 - self._hist_first : f0 - self._hist_first + flags.size] = flags
        stop = first + n - self.rate_delay  # frames before this are final (module doc)
        a = self._rate_next
        if stop <= a:
            return []
        idx = np.arange(a, stop)
        turn = np.zeros(stop - a, dtype=bool)
        for s, e in self._turns:
            assert s is not None
            lo, hi = max(s, a), stop if e is None else min(e, stop)
            if hi > lo:
                turn[lo - a : hi - a] = True
        self._turns = [t for t in self._turns if t[1] is None or t[1] > stop]
        h = self._hist_first
        counted = turn & self._elig_hist[a - h : stop - h]
        syll, count = self._rate.sums(self._nuclei[a - h : stop - h][counted].astype(np.float64))
        spm = syll * 60.0 / self.config.rate_window_s
        # the hint is given at the frame where the crossing is known, if the coach still listens then
        known = idx[counted] + self.rate_delay
        listening_then = self._elig_hist[known - h]
        ok = (count >= self._rate.size) & (spm > self.limit_spm + _EPS) & listening_then
        self._rate_next = stop
        keep = stop - h
        self._elig_hist, self._nuclei = self._elig_hist[keep:], self._nuclei[keep:]
        self._hist_first = stop
        return self._fire("speech_rate", known[ok] + 1, lambda j: {
            "syllables_per_minute": round(float(spm[ok][j]), 1),
            "limit_per_minute": round(self.limit_spm, 1),
            "script_per_minute": round(self.target_spm, 1)})
