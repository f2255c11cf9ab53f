"""The overlay's view model: update records in, what to display out. Pure (no Qt, no clock).

Rules, in the order `apply` uses them:
- ShowPrompt makes its protocol the active one. A prompt for another protocol drops the old
  protocol's may-hang-up state; a Deadline issued before this prompt (or for another
  protocol) is stale and is dropped too.
- Deadline sets the countdown of its protocol. A prompt with no deadline yet is waiting for
  the agent's line: the engine counts the wait from the end of the line, not from the prompt.
- MayHangUp marks its protocol "you may hang up"; the last line stays on screen with it.
- ProtocolEnded for the active protocol clears everything and starts the calm period.
- The call state is the script engine's (script/callstate.py is its only rule book): a
  CallStateChanged sets it outright (the engine's own moves, closing -> active when the caller
  speaks, come only as these); a CallEvent moves it through the same table, for a view fed
  without an engine. Moving from idle/ended into a call, or to ended, resets the prompt state.
- ConditionChanged keeps the last condition per channel for the "why" line.
- Meter keeps the last levels.
- CoachHint (the agent's own speaking: detect/coach.py) is shown on its own small line for
  COACH_SHOW_S of stream time, under the prompt and never instead of it; a newer hint replaces
  it, call start and end clear it. It keeps a hidden calm overlay visible while it is shown.
`view(now)` formats all of it for stream time `now` (samples consumed / rate, like the engine's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from softphone_assist.core.events import (
    CallEvent,
    CallStateChanged,
    Channel,
    CoachHint,
    ConditionChanged,
    Deadline,
    LineStats,
    MayHangUp,
    Meter,
    Protocol,
    ProtocolEnded,
    ShowPrompt,
    Update,
)
from softphone_assist.core.events import CallState as LineState
from softphone_assist.core.script.callstate import next_call_state
from softphone_assist.ui.strings import DEFAULT_LOCALE, ui_strings

Mode = Literal["calm", "prompt", "may_hang_up"]
CallState = Literal["idle", "call", "hold", "closing"]  # what the overlay shows (strings: state_*)
_SHOWN: dict[LineState, CallState] = {
    "idle": "idle", "active": "call", "on_hold": "hold", "closing": "closing", "ended": "idle",
}

METER_FLOOR_DBOV = -60.0  # the meters' bottom: quieter than this reads as an empty bar
COACH_SHOW_S = 10.0  # a coaching hint stays this long: one quiet hint, not a standing reproach


@dataclass(frozen=True, slots=True)
class CountdownView:
    """The ring: `fraction` of the wait left (1.0 full .. 0.0 due); `text` the caption under it."""

    waiting_for_line: bool
    remaining_s: float | None
    fraction: float
    seconds_text: str  # the figure inside the ring: whole seconds left, rounded up; "…" while waiting
    text: str


@dataclass(frozen=True, slots=True)
class MeterView:
    dbov: float | None
    fraction: float  # 0..1 of the bar, METER_FLOOR_DBOV..0 dBov
    text: str


@dataclass(frozen=True, slots=True)
class OverlayView:
    mode: Mode
    visible: bool
    call_state: CallState
    call_state_text: str
    title: str  # "无声电话 2/3"
    line: str
    hint: str
    never_say: str  # already prefixed ("忌：…"); empty when the script gives none
    countdown: CountdownView | None
    may_hang_up: str  # "可以挂机了 — once the customer agrees"; empty unless mode == "may_hang_up"
    why: str
    caller_meter: MeterView
    agent_meter: MeterView
    device_problem: str  # empty: no banner
    can_speak: bool
    coach: str = ""  # the coaching hint line; empty: none


def meter_view(dbov: float | None) -> MeterView:
    if dbov is None:  # digital zero: nothing on the channel at all
        return MeterView(None, 0.0, "—")
    fraction = (dbov - METER_FLOOR_DBOV) / -METER_FLOOR_DBOV
    return MeterView(dbov, min(1.0, max(0.0, fraction)), f"{round(dbov)} dB")  # round(): no "-0"


class OverlayState:
    """Feed it updates with `apply`; ask `view(now)` what to show.

    `calm_hide_after_s`: when nothing needs the agent for this long, the overlay hides
    (None: never hide, the calm overlay shows its meters only).
    """

    def __init__(self, locale: str = DEFAULT_LOCALE, calm_hide_after_s: float | None = None) -> None:
        self.locale = locale
        self.calm_hide_after_s = calm_hide_after_s
        self.prompt: ShowPrompt | None = None
        self.deadline: Deadline | None = None
        self.hang_up: MayHangUp | None = None
        self.conditions: dict[Channel, ConditionChanged] = {}
        self.meter: Meter | None = None
        self.line_state: LineState = "idle"  # the engine's call state, as its updates report it
        self.hold_since: float | None = None
        self.calm_since = 0.0
        self.device_problem = ""
        self.coach: CoachHint | None = None
        self.last_t = 0.0  # the latest stream time seen in any update

    # ---------------------------------------------------------------- input
    @property
    def active_protocol(self) -> Protocol | None:
        if self.prompt is not None:
            return self.prompt.protocol
        return self.hang_up.protocol if self.hang_up is not None else None

    def apply(self, update: Update) -> None:
        self.last_t = max(self.last_t, update.t)
        match update:
            case ShowPrompt():
                self._on_prompt(update)
            case Deadline():
                self.deadline = update
            case MayHangUp():
                self.hang_up = update
                if self.deadline is not None and self.deadline.protocol == update.protocol:
                    self.deadline = None  # nothing further is scheduled: the ladder is done
            case ProtocolEnded():
                if update.protocol == self.active_protocol:
                    self._clear_prompt(update.t)
            case ConditionChanged():
                self.conditions[update.channel] = update
            case Meter():
                self.meter = update
            case CallStateChanged():
                self._set_line_state(update.state, update.t)
            case CallEvent():
                nxt = next_call_state(self.line_state, update.kind)
                if nxt is not None:  # the engine refuses it too: it never reaches the overlay
                    self._set_line_state(nxt, update.t)
            case CoachHint():
                self.coach = update

    def set_device_problem(self, text: str) -> None:
        """Show a banner (headset unplugged, device lost); an empty text clears it."""
        self.device_problem = text

    def _on_prompt(self, prompt: ShowPrompt) -> None:
        if self.hang_up is not None and self.hang_up.protocol != prompt.protocol:
            self.hang_up = None
        stale = self.deadline is not None and (
            self.deadline.protocol != prompt.protocol or self.deadline.t < prompt.t
        )
        if stale:
            self.deadline = None
        self.prompt = prompt

    def _clear_prompt(self, t: float) -> None:
        self.prompt = None
        self.deadline = None
        self.hang_up = None
        self.calm_since = t

    @property
    def call_state(self) -> CallState:
        return _SHOWN[self.line_state]

    def _set_line_state(self, state: LineState, t: float) -> None:
        prev, self.line_state = self.line_state, state
        if state == prev:
            return  # the CallEvent and the engine's CallStateChanged for it: one move
        if state == "ended" or prev in ("idle", "ended"):
            self._clear_prompt(t)  # a call starts or ends: nothing of the last one stays
            self.coach = None
            self.conditions.clear()
        self.hold_since = t if state == "on_hold" else None

    # ---------------------------------------------------------------- output
    def view(self, now: float | None = None) -> OverlayView:
        """What to display at stream time `now` (default: the latest update's time)."""
        t = self.last_t if now is None else now
        s = ui_strings(self.locale)
        prompt = self.prompt
        mode: Mode = "calm"
        if self.hang_up is not None:
            mode = "may_hang_up"
        elif prompt is not None:
            mode = "prompt"
        coach = self.coach.text if self.coach is not None and 0 <= t - self.coach.t < COACH_SHOW_S else ""
        visible = bool(self.device_problem or coach) or mode != "calm" or self.calm_hide_after_s is None or (
            t - self.calm_since < self.calm_hide_after_s
        )
        may = ""
        if self.hang_up is not None:
            may = s["may_hang_up"] + (f" — {self.hang_up.note}" if self.hang_up.note else "")
        meter = self.meter
        return OverlayView(
            mode=mode,
            visible=visible,
            call_state=self.call_state,
            call_state_text=s[f"state_{self.call_state}"],
            title=_title(prompt),
            line=prompt.text if prompt else "",
            hint=(prompt.hint or "") if prompt else "",
            never_say=s["never_say"] + prompt.never_say if prompt and prompt.never_say else "",
            countdown=self._countdown(t) if mode == "prompt" else None,
            may_hang_up=may,
            why=self._why(t) if mode != "calm" else "",
            caller_meter=meter_view(meter.caller_dbov if meter else None),
            agent_meter=meter_view(meter.agent_dbov if meter else None),
            device_problem=self.device_problem,
            can_speak=prompt is not None,
            coach=coach,
        )

    def _countdown(self, now: float) -> CountdownView:
        s = ui_strings(self.locale)
        d = self.deadline
        other = d is not None and self.prompt is not None and d.protocol != self.prompt.protocol
        if d is None or d.due is None or other:
            return CountdownView(True, None, 1.0, "…", s["waiting_for_line"])
        remaining = max(0.0, d.due - now)
        total = d.due - d.t
        fraction = 0.0 if total <= 0 else min(1.0, remaining / total)
        whole = math.ceil(round(remaining, 3))  # 4.0000001 s of float noise still reads "4"
        text = s["next_step_in"].format(s=whole) if whole > 0 else s["next_step_now"]
        return CountdownView(False, remaining, fraction, str(whole), text)

    def _why(self, now: float) -> str:
        """Why the prompt fired: the caller's condition, for how long, and its figures."""
        s = ui_strings(self.locale)
        secs = s["seconds"].format
        if self.active_protocol == "hold" and self.hold_since is not None:
            return s["on_hold_for"].format(s=secs(s=now - self.hold_since))
        caller = self.conditions.get("caller")
        if caller is None:
            return ""
        agent = self.conditions.get("agent")
        if self.active_protocol == "dead_air" and agent is not None and agent.condition == "silent":
            head = s["both_silent"].format(s=secs(s=now - max(caller.since, agent.since)))
        elif caller.condition == "speech":
            head = s["cond_speech"]
        else:
            head = s[f"cond_{caller.condition}"].format(s=secs(s=now - caller.since))
        return " · ".join([head, *_stat_texts(caller.stats, caller.condition == "silent", self.locale)])


def _title(prompt: ShowPrompt | None) -> str:
    """"无声电话 2/3"; a one-step protocol (the greeting) shows its name only."""
    if prompt is None:
        return ""
    return prompt.title if prompt.steps <= 1 else f"{prompt.title} {prompt.step}/{prompt.steps}"


def _stat_texts(stats: LineStats, silent: bool, locale: str) -> list[str]:
    s = ui_strings(locale)
    out = []
    if stats.speech_dbov is not None and not silent:
        out.append(s["stat_speech"].format(v=round(stats.speech_dbov)))
    if stats.level_dbov is not None:
        out.append(s["stat_level"].format(v=round(stats.level_dbov)))
    if stats.noise_dbov is not None:
        out.append(s["stat_noise"].format(v=round(stats.noise_dbov)))
    elif silent and stats.level_dbov is None:
        out.append(s["digital_silence"])
    if stats.snr_db is not None:
        out.append(s["stat_snr"].format(v=round(stats.snr_db)))
    if stats.clipped:
        out.append(s["stat_clipped"].format(n=stats.clipped))
    return out
