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
  call_start…) raises IllegalEvent and changes nothing (it is checked before anything moves).
  Legality is the call-state table's (script/callstate.py), the one rule book that the events
  file checker, the live session and the overlay consult too. Every move the engine makes, the
  caller's speech taking closing back to active included, goes through the table and is emitted
  as a CallStateChanged.
* What starts, ends and may supersede each ladder is data: ladder_rules.LADDER_RULES.
* An outage (NoAudio: a channel's device is gone) is not silence: while any channel has no audio,
  no deadline fires and no ladder starts or moves on; that channel's conditions are ignored. When
  the last channel has audio again, every countdown resumes where it stopped: a time before the
  outage moves on by its length, a time inside it becomes its end (so silence is counted only
  while both sides could be heard). Call-state events, skip/snooze and TTS ends still apply.
* A caller `tone` (ringback, busy, DTMF, fax...: detect/tones.py) is the line, not the customer:
  for the ladders it is silence. It ends no ladder, is no caller turn, and silence that a tone
  interrupts goes on counting from where it began.
* Ringback before `answered`: a `ringback` tone while the call is up (call_start) but not answered
  and the caller has not spoken yet means it is still ringing. The greeting / silent-line ladder
  ends (`ringing`) and nothing starts or moves on until the call is answered: at `answered`, at
  the caller's first words, or once no ringback has been heard for `RINGBACK_GONE_S` (5 s: the
  longest ringback pause, 4 s, has passed: a line that picked up and says nothing). Then the
  greeting is shown, as at call start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from softphone_assist.core.events import (
    Action,
    CallEvent,
    CallState,
    CallStateChanged,
    Channel,
    ConditionChanged,
    Deadline,
    EngineInput,
    LineSpoken,
    MayHangUp,
    NoAudio,
    Protocol,
    ProtocolEnded,
    ShowPrompt,
    UserCommand,
)
from softphone_assist.core.script.callstate import CALL_TRANSITIONS, CallMove, next_call_state, refusal
from softphone_assist.core.script.ladder_rules import LADDER_RULES, SELF_STARTERS, LadderRule, started_by
from softphone_assist.core.script.model import Ladder, Script

__all__ = ["CALL_TRANSITIONS", "CallState", "EngineOptions", "IllegalEvent", "ScriptEngine"]

LineEndSource = Literal["agent", "tts", "estimate"]

RINGBACK_GONE_S = 5.0  # CN / EU / US ringback pause: 4 s

# What a deadline does when it falls due; at equal times the lower rank goes first (an end before a
# start before a step: the line that is over first, then what replaces it)
DueKind = Literal["end", "start", "step", "hold_reminder", "ring_gone"]
_RANK: dict[DueKind, int] = {"end": 0, "start": 1, "step": 2, "hold_reminder": 2, "ring_gone": 2}
_Due = tuple[float, int, str, DueKind]  # (time, rank, protocol or "", kind): min() is the next one


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
        self._no_audio: set[Channel] = set()  # channels whose device is gone right now
        self._outage_since: float | None = None  # when the first of them went
        self._caller_tone = False  # the caller's line carries a tone now
        self._answered = False  # an `answered` event came in this call
        self._ringing = False  # ringback heard before the call was answered (module doc)
        self._ring_gone_since: float | None = None  # while ringing: the end of the last ringback

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

    def allows(self, move: CallMove) -> bool:
        """Whether the call-state table allows `move` now (the one authority: script/callstate.py)."""
        return next_call_state(self.call_state, move) is not None

    def handle(self, event: EngineInput) -> list[Action]:
        """Apply one input at its time `event.t` (deadlines before it must have been advanced).

        An illegal call-state event raises IllegalEvent before anything has changed."""
        if isinstance(event, CallEvent) and not self.allows(event.kind):
            raise IllegalEvent(f"call event {event.kind!r} at {event.t:.2f} s is not allowed while the call "
                               f"is {self.call_state.replace('_', ' ')}")
        out: list[Action] = []
        self._now = max(self._now, event.t)
        if isinstance(event, CallEvent):
            self._on_call_event(event, out)
        elif isinstance(event, NoAudio):
            self._on_no_audio(event)
        elif isinstance(event, ConditionChanged):
            if event.channel in self._no_audio:
                pass  # zeros standing in for a lost device: not the caller's or agent's state
            elif event.channel == "caller":
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
            self._now = nxt[0]
            self._fire(nxt, out)
            self._report_deadline(nxt[0], out)
        return out

    # ----------------------------------------------------------------------------------------
    # call state
    # ----------------------------------------------------------------------------------------
    def _move(self, move: CallMove, t: float, out: list[Action]) -> CallState:
        """Every call-state move goes through the table and is reported; returns the old state."""
        nxt = next_call_state(self.call_state, move)
        if nxt is None:  # handle() checked call events; an internal move must be legal too
            raise IllegalEvent(refusal(self.call_state, move))
        prev, self.call_state = self.call_state, nxt
        if nxt != prev:
            out.append(CallStateChanged(t=t, state=nxt, previous=prev, cause=move))
        return prev

    def _on_call_event(self, ev: CallEvent, out: list[Action]) -> None:
        prev = self._move(ev.kind, ev.t, out)
        if ev.kind in ("call_start", "answered") and prev in ("idle", "ended"):
            self._reset_call()
            self._start(self.script.ladders[started_by("call_up")], ev.t, out, step=1,
                        said_at=ev.t if self.line_end_source == "estimate" else None)
        elif ev.kind == "answered" and self._ringing:
            self._stop_ringing(ev.t, out)  # it rang until now: the greeting now (module doc)
        elif ev.kind == "hold":
            self._end(ev.t, "hold", out)
            self._hold_since, self._hold_reminders = ev.t, 0
        elif ev.kind == "resume":
            self._hold_since = None
            self._start(self.script.ladders[started_by("resume")], ev.t, out, step=2)
        elif ev.kind == "closing":
            self._end(ev.t, "closing", out)
            # step 1 is the agent's own closing line: said already, or being said right now (the
            # end of the agent's current speech, detected a pause later, is the end of the line)
            speaking = self._agent_speaking and self.options.has_agent_channel
            self._start(self.script.ladders[started_by("closing")], ev.t, out, step=1,
                        said_at=None if speaking else ev.t, prompt=False)
            if speaking and self._run is not None:
                self._run.said_from = self._agent_speech_since
        elif ev.kind == "call_end":
            self._end(ev.t, "call_end", out)
            self._hold_since = None
        self._answered = self._answered or ev.kind == "answered"
        self._ringing = self._ringing and ev.kind == "call_start"  # any other event: the call is up

    def _on_no_audio(self, ev: NoAudio) -> None:
        if not ev.ended:
            if not self._no_audio:
                self._outage_since = ev.t
            self._no_audio.add(ev.channel)
            return
        if ev.channel not in self._no_audio:
            return  # an end without a start: nothing was frozen
        self._no_audio.discard(ev.channel)
        if not self._no_audio and self._outage_since is not None:
            self._resume_countdowns(self._outage_since, ev.t)
            self._outage_since = None

    def _resume_countdowns(self, t0: float, t1: float) -> None:
        """The outage [t0, t1] did not happen for the countdowns (module doc)."""
        def shift(a: float | None) -> float | None:
            if a is None:
                return None
            return a + (t1 - t0) if a <= t0 else max(a, t1)

        if self._run is not None:
            self._run.line_end = shift(self._run.line_end)
        self._caller_condition_t = shift(self._caller_condition_t) or 0.0
        self._last_caller_end = shift(self._last_caller_end)
        self._last_agent_end = shift(self._last_agent_end)
        self._hold_since = shift(self._hold_since)

    def _reset_call(self) -> None:
        self._run = None
        self._answered = self._ringing = False
        self._ring_gone_since = None
        self._last_caller_end = self._last_agent_end = None
        self._hold_since = None
        self._episode_fired.clear()
        self._snoozed.clear()
        self._shown_due = None

    # ----------------------------------------------------------------------------------------
    # conditions
    # ----------------------------------------------------------------------------------------
    def _on_caller(self, ev: ConditionChanged, out: list[Action]) -> None:
        """Tones first (module doc): silence for the ladders; ringback before `answered`."""
        tone, was_tone = ev.condition == "tone", self._caller_tone
        self._caller_tone = tone
        if tone:
            self._ring_gone_since = None
            if ev.tone_kind == "ringback" and self.call_state == "active" and not self._answered \
                    and not self._ringing and self._last_caller_end is None and not self._caller_speaking:
                self._ringing = True
                if self._run is not None and self._rule().ended_by_ringback:
                    self._end(ev.t, "ringing", out)
        elif was_tone and self._ringing:
            self._ring_gone_since = ev.since
        answered_by_voice = self._ringing and ev.condition in ("speech", "low_volume")
        if tone or (was_tone and ev.condition == "silent"):
            if self._caller_condition == "silent":
                return  # the silence goes on
            ev = replace(ev, condition="silent")
        self._caller_changed(ev, out)
        if answered_by_voice:
            self._stop_ringing(ev.t, out)

    def _stop_ringing(self, t: float, out: list[Action]) -> None:
        self._ringing = False
        self._ring_gone_since = None
        if self._run is None and self.call_state == "active":
            self._start(self.script.ladders[started_by("call_up")], t, out, step=1,
                        said_at=t if self.line_end_source == "estimate" else None)

    def _caller_changed(self, ev: ConditionChanged, out: list[Action]) -> None:
        was_speaking = self._caller_speaking
        self._caller_condition, self._caller_condition_t = ev.condition, ev.t
        self._caller_speaking = ev.condition in ("speech", "low_volume")
        if was_speaking and not self._caller_speaking:
            self._last_caller_end = ev.since
        # the caller heard at normal level ends the quiet and noisy episodes; the noise stopping, the noisy one
        self._episode_fired -= {p for p in self._episode_fired
                                if p in LADDER_RULES and ev.condition in LADDER_RULES[p].episode_ends_on}
        if self._run is None or self.call_state in ("idle", "ended", "on_hold"):
            return
        rule = self._rule()
        if self._caller_speaking and rule.ended_by_caller_speech:
            self._end(ev.t, "caller_spoke", out)
            if self.call_state == "closing":
                self._move("caller_spoke", ev.t, out)  # the customer has another question
        elif ev.condition == "speech" and rule.ended_by_normal_speech:
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

    def _rule(self) -> LadderRule:
        assert self._run is not None
        return LADDER_RULES[self._run.ladder.protocol]  # type: ignore[index]

    def _start(self, ladder: Ladder, t: float, out: list[Action], *, step: int,
               said_at: float | None = None, prompt: bool = True) -> None:
        self._run = _Run(ladder=ladder, step=step, line_end=said_at, prompt_t=t)
        if LADDER_RULES[ladder.protocol].once_per_episode:  # type: ignore[index]
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
    def _next(self) -> _Due | None:
        """The earliest deadline: the running ladder's next step or end, or a ladder that starts by
        itself (ladder_rules.LADDER_RULES); on hold the reminder; while ringing, the ring's end."""
        if self._no_audio:
            return None  # frozen during an outage
        if self._ringing and self.call_state == "active":  # nothing moves while it rings
            gone = self._ring_gone_since
            return None if gone is None else self._due(gone + RINGBACK_GONE_S, "ring_gone")
        cands: list[_Due] = []
        run = self._run
        if self.call_state == "on_hold":
            if self._hold_since is not None and "hold" not in self._snoozed:
                every = self.script.ladders["hold"].steps[0].wait_s
                cands.append(self._due(self._hold_since + every * (self._hold_reminders + 1), "hold_reminder"))
        elif self.call_state in ("active", "closing"):
            if run is not None:
                if run.line_end is not None and not run.hung_up_allowed and not self._agent_busy():
                    cands.append(self._due(run.line_end + run.ladder.steps[run.step - 1].wait_s, "step"))
                if self._rule().ended_by_silence and self._caller_condition == "silent":
                    cands.append(self._due(self._caller_condition_t + self.script.timing.condition_persist_s,
                                           "end", run.ladder.protocol))
            for proto in SELF_STARTERS:
                when = self._start_due(proto, LADDER_RULES[proto])
                if when is not None:
                    cands.append(self._due(when, "start", proto))
        if not cands:
            return None
        # a condition that began on hold or under another ladder is acted on now, not in the past
        due = min(cands)
        return (max(due[0], self._now), *due[1:])

    @staticmethod
    def _due(t: float, kind: DueKind, proto: str = "") -> _Due:
        return (t, _RANK[kind], proto, kind)

    def _start_due(self, proto: Protocol, rule: LadderRule) -> float | None:
        """When the self-starting ladder `proto` is due to start (None: not now)."""
        if self.call_state not in rule.start_states or not self._may_start(proto, rule):
            return None
        timing = self.script.timing
        if rule.start == "caller_condition":
            if self._caller_condition != rule.start_condition:
                return None
            return self._caller_condition_t + timing.condition_persist_s
        if self._caller_speaking or self._agent_busy():
            return None  # somebody is talking: no silence is being counted
        if rule.needs_agent_channel and not self.options.has_agent_channel:
            return None
        agent_end, caller_end = self._last_agent_end, self._last_caller_end
        if rule.start == "agent_spoke_last":
            spoke_last = agent_end is not None and (caller_end is None or agent_end > caller_end)
            return agent_end + timing.caller_silent_after_s if spoke_last and agent_end is not None else None
        if rule.start == "caller_spoke_last" and caller_end is not None \
                and (agent_end is None or caller_end >= agent_end):
            return max(caller_end, agent_end or caller_end) + timing.dead_air_after_s
        return None

    def _agent_busy(self) -> bool:
        return self._agent_speaking and self.options.has_agent_channel

    def _may_start(self, proto: Protocol, rule: LadderRule) -> bool:
        """The legality check for a start, made before anything changes."""
        if proto in self._snoozed or proto in self._episode_fired:
            return False
        # a ladder never stacks on another; it may only replace one its rule supersedes
        return self._run is None or self._run.ladder.protocol in rule.supersedes

    def _fire(self, due: _Due, out: list[Action]) -> None:
        t, _, proto, kind = due
        if kind == "hold_reminder":
            self._hold_reminders += 1
            ladder = self.script.ladders["hold"]
            self._run = _Run(ladder=ladder, step=1, line_end=None, prompt_t=t)
            self._prompt(t, out)
            self._run = None  # on hold the reminder is a one-off line, not a ladder to answer
        elif kind == "step":
            self._next_step(t, out)
        elif kind == "ring_gone":
            self._stop_ringing(t, out)
        elif kind == "end":
            self._end(t, "resolved", out)
        else:  # start: _next only offers a start that _may_start allowed
            if self._run is not None:
                self._end(t, "superseded", out)
            self._start(self.script.ladders[proto], t, out, step=1)

    def _next_step(self, due: float, out: list[Action]) -> None:
        run = self._run
        assert run is not None
        ladder = run.ladder
        if run.step < len(ladder.steps):
            run.step += 1
            run.line_end = None
            self._prompt(due, out)
        elif self._rule().ended_by_last_step:
            self._end(due, "resolved", out)  # e.g. hold: the back-from-hold line has been said
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
        due = nxt[0] if nxt is not None and nxt[3] == "step" else None
        if self._run.hung_up_allowed:
            due = None
        key = (self._visible_protocol(), due)
        if key != self._shown_due:
            self._shown_due = key
            out.append(Deadline(t=t, protocol=key[0], due=due))

