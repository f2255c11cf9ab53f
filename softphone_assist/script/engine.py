"""The script engine: the service standard's ladders as a pure state machine.

Rules (the standard, SERVICE_STANDARD.md, as this engine applies them):

* Events in (call-state events, caller/agent condition changes, end of TTS playback, skip/snooze),
  actions out (ShowPrompt, MayHangUp, ProtocolEnded, Deadline). No clock, no threads: time is the
  `t` of each input, and `advance(t)` fires every deadline up to `t` in order.
* Every wait is counted from the END of the agent's line: the agent channel's speech end when there
  is an agent channel; the end of TTS playback (`LineSpoken`); otherwise the prompt time plus the
  line's speaking time at the script's `chars_per_minute`. Without an agent channel the opening
  greeting counts as said at call start.
* Call start shows the greeting (silent_line step 1). 5 s of caller silence after it: the repeat
  (step 2); 5 s more: the goodbye (step 3); 5 s more: the agent may hang up.
* Mid-call, when the agent spoke last and the caller says nothing for `caller_silent_after_s`:
  caller_silent. When the caller spoke last and both sides are silent for `dead_air_after_s`:
  dead_air (only with an agent channel: without one nobody knows whether the agent is talking).
* low_volume / noisy_line start when that caller condition has persisted `condition_persist_s`;
  each fires once per episode (until the caller is heard at normal level again).
* Caller speech ends silent_line, caller_silent, dead_air and closing (`caller_spoke`); normal
  caller speech ends low_volume and noisy_line (`resolved`), as does a noisy line that has gone
  silent for `condition_persist_s`.
* One ladder at a time: a ladder never stacks on another. A noisy line may replace a ladder that
  assumes a silent line (silent_line, caller_silent, dead_air: `superseded`).
* On hold: nothing but the hold reminder every `hold` step-1 wait; `resume` shows the back-from-hold
  line. `closing` starts the closing ladder (the agent's own closing line is step 1).
* An illegal call-state event (resume when not on hold, anything after call_end except a new
  call_start…) raises IllegalEvent and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from softphone_assist.events import (
    Action,
    CallEvent,
    CallEventKind,
    ConditionChanged,
    Deadline,
    EngineInput,
    LineSpoken,
    MayHangUp,
    Protocol,
    ProtocolEnded,
    ShowPrompt,
    UserCommand,
)
from softphone_assist.script.model import Ladder, Script

CallState = Literal["idle", "active", "on_hold", "closing", "ended"]
LineEndSource = Literal["agent", "tts", "estimate"]

# (state, event) -> next state. Anything missing is illegal. The transition table is data.
CALL_TRANSITIONS: dict[tuple[CallState, CallEventKind], CallState] = {
    ("idle", "call_start"): "active",
    ("idle", "answered"): "active",
    ("ended", "call_start"): "active",
    ("ended", "answered"): "active",
    ("active", "answered"): "active",  # ring hook then answer hook: the call is already running
    ("active", "hold"): "on_hold",
    ("active", "closing"): "closing",
    ("active", "call_end"): "ended",
    ("on_hold", "resume"): "active",
    ("on_hold", "call_end"): "ended",
    ("closing", "closing"): "closing",  # the agent closes again after the customer's last question
    ("closing", "hold"): "on_hold",
    ("closing", "call_end"): "ended",
}

SILENCE_LADDERS: frozenset[Protocol] = frozenset({"silent_line", "caller_silent", "dead_air"})
ENDED_BY_CALLER_SPEECH: frozenset[Protocol] = frozenset(
    {"greeting", "silent_line", "caller_silent", "dead_air", "closing", "hold"}
)


class IllegalEvent(ValueError):
    """The event makes no sense in the current call state; nothing was changed."""


@dataclass(slots=True)
class _Run:
    """The ladder in progress."""

    ladder: Ladder
    step: int  # 1-based step last shown (or said, for closing step 1)
    line_end: float | None  # end of the agent's line for that step; None while it is being said
    prompt_t: float
    hung_up_allowed: bool = False
    said_from: float | None = None  # agent speech ending after this is the line (default: prompt_t)


@dataclass(frozen=True, slots=True)
class EngineOptions:
    has_agent_channel: bool = False
    tts_speaks: bool = False  # automatic TTS: the end of playback ends the line
    company: str | None = None
    title: str | None = None


class ScriptEngine:
    def __init__(self, script: Script, call_started_at: datetime, options: EngineOptions | None = None):
        self.script = script
        self.options = options or EngineOptions()
        self._started_at = call_started_at  # wall clock of stream t=0: only for the greeting text
        self.call_state: CallState = "idle"
        self._run: _Run | None = None
        self._caller_condition = "silent"
        self._caller_condition_t = 0.0
        self._caller_speaking = False
        self._agent_speaking = False
        self._agent_speech_since = 0.0
        self._last_caller_end: float | None = None
        self._last_agent_end: float | None = None
        self._hold_since: float | None = None
        self._hold_reminders = 0
        self._episode_fired: set[str] = set()  # condition ladders already run in this episode
        self._snoozed: set[str] = set()  # protocols the agent silenced for this call
        self._shown_due: tuple[Protocol, float | None] | None = None
        self._now = 0.0  # latest input or deadline time: nothing is ever scheduled before it

    # ----------------------------------------------------------------------------------------
    # public API
    # ----------------------------------------------------------------------------------------
    @property
    def line_end_source(self) -> LineEndSource:
        if self.options.has_agent_channel:
            return "agent"
        return "tts" if self.options.tts_speaks else "estimate"

    @property
    def active_protocol(self) -> Protocol | None:
        return self._visible_protocol() if self._run else None

    def handle(self, event: EngineInput) -> list[Action]:
        """Apply one input at its time `event.t` (deadlines before it must have been advanced)."""
        out: list[Action] = []
        self._now = max(self._now, event.t)
        if isinstance(event, CallEvent):
            self._on_call_event(event, out)
        elif isinstance(event, ConditionChanged):
            if event.channel == "caller":
                self._on_caller(event, out)
            else:
                self._on_agent(event, out)
        elif isinstance(event, LineSpoken):
            self._line_ended(event.t, out)
        elif isinstance(event, UserCommand):
            self._on_user(event, out)
        else:  # pragma: no cover - typing guards this
            raise IllegalEvent(f"unknown input {event!r}")
        self._report_deadline(event.t, out)
        return out

    def next_deadline(self) -> float | None:
        due = self._next()
        return None if due is None else due[0]

    def advance(self, t: float) -> list[Action]:
        """Fire every deadline at or before `t`, each at its own exact time."""
        out: list[Action] = []
        while (nxt := self._next()) is not None and nxt[0] <= t:
            due, what = nxt
            self._now = due
            self._fire(due, what, out)
            self._report_deadline(due, out)
        return out

    # ----------------------------------------------------------------------------------------
    # call state
    # ----------------------------------------------------------------------------------------
    def _on_call_event(self, ev: CallEvent, out: list[Action]) -> None:
        nxt = CALL_TRANSITIONS.get((self.call_state, ev.kind))
        if nxt is None:
            raise IllegalEvent(f"call event {ev.kind!r} at {ev.t:.2f} s is not allowed while the call is "
                               f"{self.call_state.replace('_', ' ')}")
        prev, self.call_state = self.call_state, nxt
        if ev.kind in ("call_start", "answered") and prev in ("idle", "ended"):
            self._reset_call()
            self._start(self.script.ladders["silent_line"], ev.t, out, step=1,
                        said_at=ev.t if self.line_end_source == "estimate" else None)
        elif ev.kind == "hold":
            self._end(ev.t, "hold", out)
            self._hold_since, self._hold_reminders = ev.t, 0
        elif ev.kind == "resume":
            self._hold_since = None
            self._start(self.script.ladders["hold"], ev.t, out, step=2)
        elif ev.kind == "closing":
            self._end(ev.t, "closing", out)
            # step 1 is the agent's own closing line: said already, or being said right now (the
            # end of the agent's current speech, detected a pause later, is the end of the line)
            speaking = self._agent_speaking and self.options.has_agent_channel
            self._start(self.script.ladders["closing"], ev.t, out, step=1,
                        said_at=None if speaking else ev.t, prompt=False)
            if speaking and self._run is not None:
                self._run.said_from = self._agent_speech_since
        elif ev.kind == "call_end":
            self._end(ev.t, "call_end", out)
            self._hold_since = None

    def _reset_call(self) -> None:
        self._run = None
        self._last_caller_end = self._last_agent_end = None
        self._hold_since = None
        self._episode_fired.clear()
        self._snoozed.clear()
        self._shown_due = None

    # ----------------------------------------------------------------------------------------
    # conditions
    # ----------------------------------------------------------------------------------------
    def _on_caller(self, ev: ConditionChanged, out: list[Action]) -> None:
        was_speaking = self._caller_speaking
        self._caller_condition, self._caller_condition_t = ev.condition, ev.t
        self._caller_speaking = ev.condition in ("speech", "low_volume")
        if was_speaking and not self._caller_speaking:
            self._last_caller_end = ev.since
        if ev.condition == "speech":
            # the caller is heard at normal level: the quiet and the noisy episodes are over
            self._episode_fired -= {"low_volume", "noisy_line"}
        elif ev.condition != "noisy":
            # the noise stopped; a quiet caller's pauses do not end a low-volume episode
            self._episode_fired.discard("noisy_line")
        if self._run is None or self.call_state in ("idle", "ended", "on_hold"):
            return
        proto = self._run.ladder.protocol
        visible = self._visible_protocol()
        if self._caller_speaking and visible in ENDED_BY_CALLER_SPEECH:
            self._end(ev.t, "caller_spoke", out)
            if self.call_state == "closing":
                self.call_state = "active"  # the customer has another question
        elif ev.condition == "speech" and proto in ("low_volume", "noisy_line"):
            self._end(ev.t, "resolved", out)

    def _on_agent(self, ev: ConditionChanged, out: list[Action]) -> None:
        speaking = ev.condition == "speech"
        if speaking and not self._agent_speaking:
            self._agent_speech_since = ev.since
        if self._agent_speaking and not speaking:
            self._last_agent_end = ev.since
            if self.options.has_agent_channel:
                self._line_ended(ev.since, out)
        elif speaking and self._run is not None and self._run.line_end is not None \
                and self.options.has_agent_channel and ev.since >= self._run.prompt_t:
            # the agent is talking again: the wait restarts from the end of what they say now
            self._run.line_end = None
        self._agent_speaking = speaking

    def _line_ended(self, t: float, out: list[Action]) -> None:
        run = self._run
        if run is None or run.hung_up_allowed:
            return
        if t < (run.prompt_t if run.said_from is None else run.said_from):
            return  # speech that ended before the line was asked for is not the line
        run.line_end = t if run.line_end is None else max(run.line_end, t)

    # ----------------------------------------------------------------------------------------
    # user commands
    # ----------------------------------------------------------------------------------------
    def _on_user(self, ev: UserCommand, out: list[Action]) -> None:
        if self._run is None:
            return
        proto = self._run.ladder.protocol
        if ev.command == "snooze":
            self._snoozed.add(proto)
            self._end(ev.t, "snoozed", out)
        else:
            self._episode_fired.add(proto)
            self._end(ev.t, "skipped", out)

    # ----------------------------------------------------------------------------------------
    # ladders
    # ----------------------------------------------------------------------------------------
    def _visible_protocol(self) -> Protocol:
        assert self._run is not None
        if self._run.ladder.protocol == "silent_line" and self._run.step == 1:
            return "greeting"
        return self._run.ladder.protocol  # type: ignore[return-value]

    def _start(self, ladder: Ladder, t: float, out: list[Action], *, step: int,
               said_at: float | None = None, prompt: bool = True) -> None:
        self._run = _Run(ladder=ladder, step=step, line_end=said_at, prompt_t=t)
        if ladder.protocol in ("low_volume", "noisy_line"):
            self._episode_fired.add(ladder.protocol)
        if prompt:
            self._prompt(t, out)

    def _prompt(self, t: float, out: list[Action]) -> None:
        run = self._run
        assert run is not None
        step = run.ladder.steps[run.step - 1]
        text = self._fill(step.text, t)
        visible = self._visible_protocol()
        run.prompt_t = t
        if run.line_end is None and self.line_end_source == "estimate":
            run.line_end = t + self.script.speaking_time_s(text)
        title = self.script.labels.get("greeting", run.ladder.title) if visible == "greeting" \
            else run.ladder.title
        out.append(ShowPrompt(
            t=t, protocol=visible, step=run.step,
            steps=1 if visible == "greeting" else len(run.ladder.steps),
            text=text, title=title, never_say=run.ladder.never_say, hint=step.hint,
            wait_s=step.wait_s, speak=self.options.tts_speaks,
        ))

    def _end(self, t: float, reason: str, out: list[Action]) -> None:
        if self._run is None:
            return
        out.append(ProtocolEnded(t=t, protocol=self._visible_protocol(), reason=reason))
        self._run = None

    def _fill(self, text: str, t: float) -> str:
        when = self._started_at + timedelta(seconds=t)
        return self.script.fill(text, when, company=self.options.company, title=self.options.title)

    # ----------------------------------------------------------------------------------------
    # deadlines
    # ----------------------------------------------------------------------------------------
    def _next(self) -> tuple[float, str] | None:
        cands: list[tuple[float, str]] = []
        timing = self.script.timing
        run = self._run
        if self.call_state == "on_hold":
            if self._hold_since is not None and "hold" not in self._snoozed:
                every = self.script.ladders["hold"].steps[0].wait_s
                cands.append((self._hold_since + every * (self._hold_reminders + 1), "hold_reminder"))
        elif self.call_state in ("active", "closing"):
            if run is not None:
                if run.line_end is not None and not run.hung_up_allowed and not self._agent_busy():
                    cands.append((run.line_end + run.ladder.steps[run.step - 1].wait_s, "step"))
                if run.ladder.protocol == "noisy_line" and self._caller_condition == "silent":
                    cands.append((self._caller_condition_t + timing.condition_persist_s, "noise_gone"))
            for proto, cond in (("noisy_line", "noisy"), ("low_volume", "low_volume")):
                if self._caller_condition == cond and self._may_start(proto):
                    cands.append((self._caller_condition_t + timing.condition_persist_s, proto))
            if run is None and self.call_state == "active" and not self._caller_speaking \
                    and not self._agent_busy():
                agent_end, caller_end = self._last_agent_end, self._last_caller_end
                if agent_end is not None and (caller_end is None or agent_end > caller_end) \
                        and self._may_start("caller_silent"):
                    cands.append((agent_end + timing.caller_silent_after_s, "caller_silent"))
                elif caller_end is not None and self.options.has_agent_channel \
                        and (agent_end is None or caller_end >= agent_end) and self._may_start("dead_air"):
                    cands.append((max(caller_end, agent_end or caller_end) + timing.dead_air_after_s,
                                  "dead_air"))
        if not cands:
            return None
        # a condition that began on hold or under another ladder is acted on now, not in the past
        due, what = min(cands)
        return max(due, self._now), what

    def _agent_busy(self) -> bool:
        return self._agent_speaking and self.options.has_agent_channel

    def _may_start(self, proto: str) -> bool:
        if proto in self._snoozed or proto in self._episode_fired:
            return False
        if self._run is None:
            return True
        # a noisy line replaces a ladder that assumes a silent line; nothing else stacks
        return proto == "noisy_line" and self._run.ladder.protocol in SILENCE_LADDERS

    def _fire(self, due: float, what: str, out: list[Action]) -> None:
        if what == "hold_reminder":
            self._hold_reminders += 1
            ladder = self.script.ladders["hold"]
            self._run = _Run(ladder=ladder, step=1, line_end=None, prompt_t=due)
            self._prompt(due, out)
            self._run = None  # on hold the reminder is a one-off line, not a ladder to answer
        elif what == "step":
            self._next_step(due, out)
        elif what == "noise_gone":
            self._end(due, "resolved", out)
        elif what in ("noisy_line", "low_volume"):
            if self._run is not None:
                self._end(due, "superseded", out)
            self._start(self.script.ladders[what], due, out, step=1)
        else:  # caller_silent, dead_air
            self._start(self.script.ladders[what], due, out, step=1)

    def _next_step(self, due: float, out: list[Action]) -> None:
        run = self._run
        assert run is not None
        ladder = run.ladder
        if run.step < len(ladder.steps):
            run.step += 1
            run.line_end = None
            self._prompt(due, out)
        elif ladder.protocol == "hold":
            self._end(due, "resolved", out)  # the back-from-hold line has been said
        elif ladder.may_hang_up:
            run.hung_up_allowed = True
            out.append(MayHangUp(t=due, protocol=self._visible_protocol(), note=ladder.hang_up_note))
        else:
            run.line_end = None  # dead_air: stays on its last line until somebody speaks
            run.step = len(ladder.steps)

    def _report_deadline(self, t: float, out: list[Action]) -> None:
        """Tell the overlay when the next step is due, whenever that changes."""
        if self._run is None:
            self._shown_due = None
            return
        nxt = self._next()
        due = nxt[0] if nxt is not None and nxt[1] == "step" else None
        if self._run.hung_up_allowed:
            due = None
        key = (self._visible_protocol(), due)
        if key != self._shown_due:
            self._shown_due = key
            out.append(Deadline(t=t, protocol=key[0], due=due))

