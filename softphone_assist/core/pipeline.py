"""One pipeline for live calls and recorded ones: samples in, updates out.

    feed(caller, agent) -> framing (exact 10 ms frames) -> VAD (injected) -> caller/agent trackers
                        -> script engine (deadlines fired at their exact stream time) -> updates

Stream time is samples consumed / rate; nothing here reads a clock. Inputs that happen at a time
(call-state events from a file or a softphone hook, the end of TTS playback, skip/snooze) enter
through `schedule()` or at the current stream time through `now()`-stamped helpers. Within a
block, inputs are applied in time order; a deadline due at the same instant as an input fires
after it (a caller who speaks exactly when the next step is due has answered).

Outages: the live capture fills the time a device was gone with zeros (stream time stays
samples / rate) and says so with NoAudio records (start at the first missing sample, end at the
first sample that is audio again), scheduled like any input. The trackers still see the zeros
(their frames must stay contiguous), but what they conclude from them is not passed on: a
condition change of that channel during the outage is held back, and at its end the channel's
condition then (if it changed) is reported at the end with `since` = the end, as is a change
reported later whose `since` falls inside the outage. The engine freezes its countdowns meanwhile.

Coaching (detect/coach.py): with an agent channel, each block's agent features (power, speech
frames, clipped samples) and the block's updates go to the Coach after the engine has run; its
CoachHints are merged in at their stream time. Updates made without audio (flush_until, finish)
reach the coach before the next block. `coach=CoachConfig(kinds=frozenset())` turns it off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Literal

import numpy as np

from softphone_assist.core.config import CoachConfig, DetectorConfig
from softphone_assist.core.detect import AgentSpeechTracker, CallerLineTracker, frame_dbov, frame_len
from softphone_assist.core.detect.coach import Coach, target_syllables_per_minute
from softphone_assist.core.detect.framing import frame_time
from softphone_assist.core.events import (
    CallEvent,
    CallEventKind,
    Channel,
    CoachHint,
    ConditionChanged,
    EngineInput,
    LineSpoken,
    LineStats,
    Meter,
    NoAudio,
    Update,
    UserCommand,
)
from softphone_assist.core.script.engine import EngineOptions, IllegalEvent, ScriptEngine
from softphone_assist.core.script.model import Script

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
VadFn = Callable[[np.ndarray], np.ndarray]  # (n, frame_len) frames -> (n,) bool speech flags
VadFactory = Callable[[int, int], VadFn]  # (rate, mode) -> a VAD for one channel
METER_FRAMES = 10  # a meter reading every 100 ms of stream
_EPS = 1e-9

# the order of simultaneous inputs: call state first, then the agent, then the caller
_INPUT_ORDER = {CallEvent: 0, NoAudio: 0, LineSpoken: 1, UserCommand: 1, ConditionChanged: 2}


def _input_key(ev: EngineInput) -> tuple[float, int]:
    rank = _INPUT_ORDER[type(ev)]
    if isinstance(ev, ConditionChanged) and ev.channel == "caller":
        rank = 3
    elif isinstance(ev, NoAudio) and not ev.ended:
        rank = 4  # a change found in the audio up to the loss is still real
    return (ev.t, rank)


def _script_rate(script: Script) -> float:
    """The script's own lines without their {placeholders}: what chars_per_minute was set for."""
    lines = [step.text for ladder in script.ladders.values() for step in ladder.steps]
    lines = [_PLACEHOLDER.sub("", t) for t in [*lines, *script.on_demand.values()]]
    return target_syllables_per_minute(script.timing.chars_per_minute, lines)


def _merged(out: list[Update], hints: list[CoachHint]) -> list[Update]:
    """Hints go after every update at or before their time; nothing else moves."""
    merged: list[Update] = []
    i = 0
    for u in out:
        while i < len(hints) and hints[i].t < u.t - _EPS:
            merged.append(hints[i])
            i += 1
        merged.append(u)
    merged.extend(hints[i:])
    return merged


class _Framer:
    """Keeps the samples of one channel that do not yet fill a whole frame.

    A block is framed in place (the frames `take` returns may be views of the caller's array,
    read before `feed` returns); what is left over is copied, so that a caller may reuse its
    buffer afterwards.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._rest = np.zeros(0, dtype=np.float64)

    def push(self, samples: np.ndarray) -> None:
        # int16 samples stay int16 (the VAD takes them as they are, the trackers convert them to the
        # same float64 values); anything else is float64. A rest of the other type promotes to float64.
        x = np.asarray(samples)
        if x.dtype != np.int16:
            x = x.astype(np.float64, copy=False)
        x = x.reshape(-1)
        self._rest = np.concatenate((self._rest, x)) if self._rest.size else x  # x: `take` or `keep` copies

    def available(self) -> int:
        return self._rest.size // self.n

    def take(self, frames: int) -> np.ndarray:
        k = frames * self.n
        out, self._rest = self._rest[:k].reshape(frames, self.n), self._rest[k:].copy()
        return out

    def keep(self) -> None:
        """Own the samples left over when nothing was taken (they may be the caller's array)."""
        self._rest = self._rest.copy()


class Pipeline:
    def __init__(
        self,
        rate: int,
        script: Script,
        vad_factory: VadFactory,
        *,
        has_agent: bool,
        call_started_at: datetime,
        detector: DetectorConfig | None = None,
        engine_options: EngineOptions | None = None,
        meters: bool = False,
        coach: CoachConfig | None = None,
    ) -> None:
        self.rate = rate
        self.detector = detector or DetectorConfig()
        self.has_agent = has_agent
        self._flen = frame_len(rate)
        self._frames_done = 0
        self._caller_in = _Framer(self._flen)
        self._agent_in = _Framer(self._flen) if has_agent else None
        self.caller = CallerLineTracker(rate, self.detector)
        self.agent = AgentSpeechTracker(rate, self.detector) if has_agent else None
        # a VAD per channel whose tracker reads it (webrtcvad keeps state per stream)
        self._caller_vad = vad_factory(rate, self.detector.vad_mode) if self.caller.uses_vad else None
        self._agent_vad = vad_factory(rate, self.detector.vad_mode) if has_agent else None
        # whether there is an agent channel is the pipeline's to say, not the caller's
        opts = replace(engine_options or EngineOptions(), has_agent_channel=has_agent)
        self.engine = ScriptEngine(script, call_started_at, opts)
        self._scheduled: list[EngineInput] = []
        self.rejected: list[str] = []  # call events that made no sense (hold while idle…): for the log
        self._meters = meters
        self._meter_acc: list[np.ndarray] = []
        # outages (module doc): open ones, the last closed one, held-back and last passed conditions
        self._lost: dict[Channel, float] = {}
        self._last_outage: dict[Channel, tuple[float, float]] = {}
        self._held: dict[Channel, ConditionChanged] = {}
        self._passed: dict[Channel, str] = {}
        # coaching the agent's own speaking needs the agent's channel (detect/coach.py)
        coach = coach or CoachConfig()
        self.coach = Coach(coach, script.coach, _script_rate(script), self.detector.pause_s) \
            if has_agent and coach.kinds else None

    # ------------------------------------------------------------------------------------------
    @property
    def t(self) -> float:
        """Stream seconds consumed so far (whole frames)."""
        return frame_time(self._frames_done)

    def schedule(self, inputs: Iterable[EngineInput]) -> None:
        """Inputs that happen at a known stream time (an events file; a hook stamped on arrival)."""
        self._scheduled.extend(inputs)
        self._scheduled.sort(key=_input_key)

    def call_event(self, kind: CallEventKind, source: str) -> CallEvent:
        """A call-state change happening now (live): applied at the current stream time."""
        ev = CallEvent(t=self.t, kind=kind, source=source)
        self.schedule([ev])
        return ev

    def line_spoken(self, t: float | None = None) -> None:
        self.schedule([LineSpoken(t=self.t if t is None else t)])

    def user_command(self, command: Literal["skip", "snooze"]) -> None:
        self.schedule([UserCommand(t=self.t, command=command)])

    def caller_stats(self) -> LineStats:
        return self.caller.stats()

    # ------------------------------------------------------------------------------------------
    def feed(self, caller: np.ndarray, agent: np.ndarray | None = None) -> list[Update]:
        """Consume samples (int16 scale: int16 arrays, as a replay reads them, or float) and return
        what happened, in stream-time order."""
        self._caller_in.push(caller)
        if self._agent_in is not None:
            self._agent_in.push(np.zeros(len(caller)) if agent is None else agent)
        n = self._caller_in.available()
        if self._agent_in is not None:
            n = min(n, self._agent_in.available())
        if n == 0:
            self._caller_in.keep()
            if self._agent_in is not None:
                self._agent_in.keep()
            return self.flush_until(self.t)
        first = self._frames_done
        cframes = self._caller_in.take(n)
        cvad = self._caller_vad(cframes) if self._caller_vad is not None else np.zeros(n, dtype=bool)
        inputs: list[EngineInput] = list(self.caller.process(cframes, cvad, first))
        aframes = None
        if self._agent_in is not None and self.agent is not None and self._agent_vad is not None:
            aframes = self._agent_in.take(n)
            inputs.extend(self.agent.process(aframes, self._agent_vad(aframes), first))
        self._frames_done += n
        out: list[Update] = []
        if self._meters:
            out.extend(self._meter_readings(cframes, aframes, first))
        out.extend(self._apply(inputs, self.t))
        if self.coach is not None and self.agent is not None and self.agent.features is not None:
            hints = self.coach.process(self.agent.features, out)
            if hints:
                out = _merged(out, hints)
        if self._meters:
            out.sort(key=lambda u: u.t)  # meters interleave with events; the sort is stable
        return out

    def flush_until(self, t: float) -> list[Update]:
        """Apply scheduled inputs and deadlines up to `t` without new audio (end of a recording)."""
        return self._observed(self._apply([], t))

    def finish(self) -> list[Update]:
        """End of the recording: apply every scheduled input left (e.g. a call_end at the end)."""
        last = max((ev.t for ev in self._scheduled), default=self.t)
        return self._observed(self._apply([], max(last, self.t)))

    def _observed(self, out: list[Update]) -> list[Update]:
        if self.coach is not None:
            self.coach.observe(out)  # prompts and call events without audio still move the coach
        return out

    # ------------------------------------------------------------------------------------------
    def _apply(self, detected: list[EngineInput], until: float) -> list[Update]:
        due = [ev for ev in self._scheduled if ev.t <= until + _EPS]
        self._scheduled = self._scheduled[len(due):]
        inputs = sorted(detected + due, key=_input_key)
        out: list[Update] = []
        for ev in self._outage_filter(inputs):
            out.extend(self.engine.advance(ev.t - _EPS))
            try:
                actions = self.engine.handle(ev)
            except IllegalEvent as e:  # a softphone hook out of step must not stop the call
                self.rejected.append(str(e))
                continue
            if isinstance(ev, CallEvent | ConditionChanged | NoAudio):
                out.append(ev)
            out.extend(actions)
        out.extend(self.engine.advance(until + _EPS))
        return out

    def _outage_filter(self, inputs: list[EngineInput]) -> list[EngineInput]:
        """Hold back what the trackers made of an outage's zeros (module doc)."""
        out: list[EngineInput] = []
        for ev in inputs:
            if isinstance(ev, NoAudio):
                c = ev.channel
                if not ev.ended and c not in self._lost:
                    self._lost[c] = ev.t
                    out.append(ev)
                elif ev.ended and c in self._lost:
                    t0 = self._lost.pop(c)
                    self._last_outage[c] = (t0, ev.t)
                    out.append(replace(ev, since=t0))
                    held = self._held.pop(c, None)
                    if held is not None and held.condition != self._passed.get(c, "silent"):
                        self._passed[c] = held.condition
                        out.append(replace(held, t=ev.t, since=ev.t))
            elif isinstance(ev, ConditionChanged):
                c = ev.channel
                if c in self._lost:
                    self._held[c] = ev
                    continue
                t0, t1 = self._last_outage.get(c, (0.0, 0.0))
                if t0 <= ev.since < t1:
                    ev = replace(ev, since=t1)
                self._passed[c] = ev.condition
                out.append(ev)
            else:
                out.append(ev)
        return out

    def _meter_readings(self, cframes: np.ndarray, aframes: np.ndarray | None, first: int) -> list[Meter]:
        cdb = frame_dbov(cframes)
        adb = frame_dbov(aframes) if aframes is not None else None
        out: list[Meter] = []
        for i in range(len(cdb)):
            if (first + i + 1) % METER_FRAMES == 0:
                lo = max(0, i + 1 - METER_FRAMES)
                c = float(10 * np.log10(np.mean(10 ** (cdb[lo:i + 1] / 10))))
                a = None if adb is None else float(10 * np.log10(np.mean(10 ** (adb[lo:i + 1] / 10))))
                out.append(Meter(t=frame_time(first + i + 1), caller_dbov=c, agent_dbov=a))
        return out
