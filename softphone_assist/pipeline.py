"""One pipeline for live calls and recorded ones: samples in, updates out.

    feed(caller, agent) -> framing (exact 10 ms frames) -> VAD (injected) -> caller/agent trackers
                        -> script engine (deadlines fired at their exact stream time) -> updates

Stream time is samples consumed / rate; nothing here reads a clock. Inputs that happen at a time
(call-state events from a file or a softphone hook, the end of TTS playback, skip/snooze) enter
through `schedule()` or at the current stream time through `now()`-stamped helpers. Within a
block, inputs are applied in time order; a deadline due at the same instant as an input fires
after it (a caller who speaks exactly when the next step is due has answered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Literal

import numpy as np

from softphone_assist.config import DetectorConfig
from softphone_assist.detect import AgentSpeechTracker, CallerLineTracker, frame_dbov, frame_len
from softphone_assist.detect.framing import frame_time
from softphone_assist.events import (
    CallEvent,
    CallEventKind,
    ConditionChanged,
    EngineInput,
    LineSpoken,
    LineStats,
    Meter,
    Update,
    UserCommand,
)
from softphone_assist.script.engine import EngineOptions, IllegalEvent, ScriptEngine
from softphone_assist.script.model import Script

VadFn = Callable[[np.ndarray], np.ndarray]  # (n, frame_len) frames -> (n,) bool speech flags
VadFactory = Callable[[int, int], VadFn]  # (rate, mode) -> a VAD for one channel
METER_FRAMES = 10  # a meter reading every 100 ms of stream
_EPS = 1e-9

# the order of simultaneous inputs: call state first, then the agent, then the caller
_INPUT_ORDER = {CallEvent: 0, LineSpoken: 1, UserCommand: 1, ConditionChanged: 2}


def _input_key(ev: EngineInput) -> tuple[float, int]:
    rank = _INPUT_ORDER[type(ev)]
    if isinstance(ev, ConditionChanged) and ev.channel == "caller":
        rank = 3
    return (ev.t, rank)


class _Framer:
    """Keeps the samples of one channel that do not yet fill a whole frame."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._rest = np.zeros(0, dtype=np.float64)

    def push(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, dtype=np.float64).reshape(-1)
        self._rest = np.concatenate((self._rest, x)) if self._rest.size else x.copy()

    def available(self) -> int:
        return self._rest.size // self.n

    def take(self, frames: int) -> np.ndarray:
        k = frames * self.n
        out, self._rest = self._rest[:k].reshape(frames, self.n), self._rest[k:]
        return out


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
        """Consume samples (int16 scale) and return what happened, in stream-time order."""
        self._caller_in.push(caller)
        if self._agent_in is not None:
            self._agent_in.push(np.zeros(len(caller)) if agent is None else agent)
        n = self._caller_in.available()
        if self._agent_in is not None:
            n = min(n, self._agent_in.available())
        if n == 0:
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
        if self._meters:
            out.sort(key=lambda u: u.t)  # meters interleave with events; the sort is stable
        return out

    def flush_until(self, t: float) -> list[Update]:
        """Apply scheduled inputs and deadlines up to `t` without new audio (end of a recording)."""
        return self._apply([], t)

    def finish(self) -> list[Update]:
        """End of the recording: apply every scheduled input left (e.g. a call_end at the end)."""
        last = max((ev.t for ev in self._scheduled), default=self.t)
        return self._apply([], max(last, self.t))

    # ------------------------------------------------------------------------------------------
    def _apply(self, detected: list[EngineInput], until: float) -> list[Update]:
        due = [ev for ev in self._scheduled if ev.t <= until + _EPS]
        self._scheduled = self._scheduled[len(due):]
        inputs = sorted(detected + due, key=_input_key)
        out: list[Update] = []
        for ev in inputs:
            out.extend(self.engine.advance(ev.t - _EPS))
            try:
                actions = self.engine.handle(ev)
            except IllegalEvent as e:  # a softphone hook out of step must not stop the call
                self.rejected.append(str(e))
                continue
            if isinstance(ev, CallEvent | ConditionChanged):
                out.append(ev)
            out.extend(actions)
        out.extend(self.engine.advance(until + _EPS))
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
