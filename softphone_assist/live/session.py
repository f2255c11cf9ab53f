"""The live app's heartbeat, without Qt: one `pump()` per timer tick moves everything along.

    audio source (LiveCapture, or a recording paced by the clock) -> Pipeline.feed -> updates
    IPC commands (softphone hooks)  -> call-state events at the current stream time
    caller stream digital zero      -> automatic call start/end when no hook drives the call
    device outages (capture marks)  -> NoAudio records at exact stream times (sample / rate): the
                                       pipeline and the automatic call logic take them as no audio,
                                       not as silence
    prompts (auto TTS) / "speak"    -> Speaker; the end of playback -> LineSpoken on the stream clock
    every update                    -> the call log (SQLite), and back to the caller (overlay/JSONL)

The overlay app calls `pump()` from a QTimer; `softphone-assist listen` from a plain loop. Nothing
here blocks: the audio callback, the TTS worker and pynput are the only foreign threads, and each
of them only hands data over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from softphone_assist.core.autocall import AutoCallDetector
from softphone_assist.core.events import (
    CallEvent,
    CallEventKind,
    CallStateChanged,
    Channel,
    NoAudio,
    ProtocolEnded,
    ShowPrompt,
    Update,
    UserCommand,
)
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.timeline import in_record

_SHORTEST_IDLE_S = 0.02  # one capture block of the PortAudio path

log = logging.getLogger("softphone_assist.live.session")

# what the overlay's buttons, the hotkeys and the IPC `call` command may ask for
CALL_REQUESTS: dict[str, CallEventKind] = {
    "start": "call_start", "call_start": "call_start", "answered": "answered", "hold": "hold",
    "resume": "resume", "closing": "closing", "end": "call_end", "call_end": "call_end",
}


class AudioSource(Protocol):
    def read_available(self) -> list[tuple[Channel, np.ndarray]]: ...
    def problems(self) -> list[str]: ...


class OutageMark(Protocol):  # capture.Outage
    @property
    def channel(self) -> Channel: ...
    @property
    def sample(self) -> int: ...
    @property
    def ended(self) -> bool: ...


class CommandSource(Protocol):
    def poll(self) -> list: ...  # ipc.CallCommand: .kind (engine event name) and .number
    # optional: wait(timeout) blocks until a command may be there (IpcServer); see LiveSession.idle


class SpeakerLike(Protocol):
    def speak(self, text: str) -> int: ...
    def skip(self) -> None: ...
    def poll(self) -> list: ...


class CallLogLike(Protocol):
    def start_call(self, started_at: datetime, number: str | None, *, stream_t: float | None = None) -> int: ...
    def add(self, call_id: int, record_json: dict) -> None: ...
    def end_call(self, call_id: int, ended_at: datetime, reason: str | None = None) -> None: ...


@dataclass
class LiveSession:
    pipeline: Pipeline
    audio: AudioSource
    commands: CommandSource | None = None
    speaker: SpeakerLike | None = None
    speak_auto: bool = False
    calllog: CallLogLike | None = None
    autocall: AutoCallDetector | None = None
    clock: Callable[[], float] = time.monotonic  # only to place the end of TTS playback on the stream
    wall: Callable[[], datetime] = datetime.now  # only for the call log's timestamps
    # audio is fed in chunks of at least this much stream time: the trackers cost per call more than
    # per frame (bench_live_cpu: the whole tree 1.13-1.23 % of a core with 0.3 s chunks, 0.97-1.0 %
    # with 0.6 s, both pumping every 0.1 s).
    # A prompt that falls due inside the audio waiting is not held back: that audio is fed at once,
    # so a timed line is late by at most a capture block plus a tick; what waits is a condition
    # change (already ~0.5 s behind the audio by the trackers' smoothing) and the meters.
    min_feed_s: float = 0.5
    problems: list[str] = field(default_factory=list)  # device problems now (refreshed every pump)
    notes: list[str] = field(default_factory=list)  # start-up notices, e.g. why TTS is off
    current_prompt: ShowPrompt | None = None
    _pending: dict[Channel, list[np.ndarray]] = field(default_factory=lambda: {"caller": [], "agent": []})
    _call_id: int | None = None
    _number: str | None = None
    _asked: bool = False  # a button, hotkey or hook since the last feed: feed what came, do not wait

    # ------------------------------------------------------------------------------------------
    def pump(self) -> list[Update]:
        """Take what arrived since the last tick and return the updates, in stream-time order."""
        for cmd in self.commands.poll() if self.commands is not None else []:
            self._number = getattr(cmd, "number", None) or self._number
            self.request(cmd.kind, source="ipc")
        self._speech_events()
        for channel, samples in self.audio.read_available():
            if channel == "caller" or self.pipeline.has_agent:  # an agent stream nobody analyses: drop
                self._pending[channel].append(samples)
        self._outages()
        updates = self._feed()
        self.problems = self.audio.problems()
        for msg in self.pipeline.rejected:
            log.warning("ignored call-state event: %s", msg)
        self.pipeline.rejected.clear()
        self._follow(updates)
        return updates

    def request(self, what: str, source: str = "button") -> None:
        """A button, hotkey or hook: speak/skip/snooze the prompt, or a call-state change."""
        self._asked = True
        if what == "speak":
            if self.speaker is not None and self.current_prompt is not None:
                self.speaker.speak(self.current_prompt.text)
            return
        if what in ("skip", "snooze"):
            if self.speaker is not None:
                self.speaker.skip()
            self.pipeline.schedule([UserCommand(t=self.received_t, command="skip" if what == "skip" else "snooze")])
            return
        kind = CALL_REQUESTS.get(what)
        if kind is None:
            log.warning("ignored unknown request %r from %s", what, source)
            return
        if self.autocall is not None:
            self.autocall.hook_took_over()
        self.pipeline.schedule([CallEvent(t=self.received_t, kind=kind, source=source)])

    def wait_s(self, longest: float) -> float:
        """How long the loop may wait before the next pump: `longest`, or less when a prompt falls
        due sooner (it is shown when its audio arrives, not a whole wait later). Never under a
        capture block: a deadline whose audio has not arrived yet must not make the loop spin."""
        due = self.pipeline.engine.next_deadline()
        return longest if due is None else min(longest, max(_SHORTEST_IDLE_S, due - self.received_t))

    def idle(self, longest: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """The headless loop's wait between two pumps (`wait_s`); a hook ends it at once: the IPC
        socket wakes the wait, so a call event is placed on the stream clock when it comes."""
        waiter = getattr(self.commands, "wait", None)
        if waiter is not None:
            waiter(self.wait_s(longest))
        else:
            sleep(self.wait_s(longest))

    @property
    def received_t(self) -> float:
        """Stream time of the caller audio received so far (fed or waiting to be): "now" for a
        button, a hook or the end of playback, whatever the feed chunking."""
        return self.pipeline.t + sum(len(x) for x in self._pending["caller"]) / self.pipeline.rate

    # ------------------------------------------------------------------------------------------
    def _feed(self) -> list[Update]:
        caller = np.concatenate(self._pending["caller"]) if self._pending["caller"] else np.zeros(0)
        agent = np.concatenate(self._pending["agent"]) if self._pending["agent"] else np.zeros(0)
        n = len(caller) if not self.pipeline.has_agent else min(len(caller), len(agent))
        due = self.pipeline.engine.next_deadline()
        due_now = due is not None and due <= self.pipeline.t + n / self.pipeline.rate
        if n < self.min_feed_s * self.pipeline.rate and not ((due_now or self._asked) and n > 0):
            self._pending["caller"] = [caller] if len(caller) else []
            self._pending["agent"] = [agent] if len(agent) else []
            return self.pipeline.flush_until(self.pipeline.t)
        self._pending["caller"] = [caller[n:]] if len(caller) > n else []
        self._pending["agent"] = [agent[n:]] if len(agent) > n else []
        self._asked = False
        if self.autocall is not None:
            # the detector sees the same caller samples from the same start: its times are stream times
            for t, kind in self.autocall.process(caller[:n]):
                if self._auto_allowed(kind):
                    self.pipeline.schedule([CallEvent(t=t, kind=kind, source="auto")])
        return self.pipeline.feed(caller[:n], agent[:n] if self.pipeline.has_agent else None)

    def _outages(self) -> None:
        """Capture outage marks -> NoAudio at the mark's stream time (before those samples are fed)."""
        take: Callable[[], list[OutageMark]] | None = getattr(self.audio, "take_outages", None)
        for m in take() if take is not None else []:
            if m.channel == "agent" and not self.pipeline.has_agent:
                continue
            t = m.sample / self.pipeline.rate
            self.pipeline.schedule([NoAudio(t=t, channel=m.channel, since=t, ended=m.ended)])
            if m.channel == "caller" and self.autocall is not None:
                if m.ended:
                    self.autocall.audio_back(t)
                else:
                    self.autocall.no_audio(t)

    def _auto_allowed(self, kind: CallEventKind) -> bool:
        """The engine's call-state table decides what is legal; on top of it, the automatic logic
        never ends a call on hold or in closing (quiet hold music, a goodbye's pause: not a hang-up)."""
        engine = self.pipeline.engine
        return engine.allows(kind) and (kind != "call_end" or engine.call_state == "active")

    def _speech_events(self) -> None:
        if self.speaker is None:
            return
        for ev in self.speaker.poll():
            ended_at = getattr(ev, "ended_at", None)
            if ended_at is None or getattr(ev, "cancelled", True):
                continue  # only a line played to its end is the end of the agent's line
            # place the end of playback on the stream clock: now on the stream, minus how long ago
            ago = max(0.0, self.clock() - ended_at)
            self.pipeline.line_spoken(max(0.0, self.received_t - ago))

    def _follow(self, updates: list[Update]) -> None:
        for u in updates:
            if isinstance(u, ShowPrompt):
                self.current_prompt = u
                if self.speak_auto and u.speak and self.speaker is not None:
                    self.speaker.speak(u.text)
            elif isinstance(u, ProtocolEnded):
                self.current_prompt = None
            if isinstance(u, CallStateChanged) and self.autocall is not None:
                self.autocall.on_hold = u.state == "on_hold"  # the engine's state, not our own reading
            self._log(u)

    def _log(self, u: Update) -> None:
        if self.calllog is None:
            return
        to_json = getattr(u, "to_json", None)
        if isinstance(u, CallEvent) and u.kind in ("call_start", "answered") and self._call_id is None:
            self._call_id = self.calllog.start_call(self.wall(), self._number, stream_t=u.t)
        if self._call_id is not None and to_json is not None and in_record(u):
            self.calllog.add(self._call_id, to_json())
        if isinstance(u, CallEvent) and u.kind == "call_end" and self._call_id is not None:
            self.calllog.end_call(self._call_id, self.wall(), "call_end")
            self._call_id, self._number = None, None
