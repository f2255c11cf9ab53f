"""Records that flow through the pipeline: call-state events in, conditions and actions out.

Every record carries `t`, stream seconds counted from samples consumed (never a clock).
Records are frozen and slotted: they are passed between the audio path, the script engine,
the overlay and the JSONL writer, and nobody may change one in flight.

`to_json()` gives the JSONL contract of `softphone-assist replay --jsonl` (README, "JSONL").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Channel = Literal["caller", "agent"]
Condition = Literal["speech", "silent", "low_volume", "noisy", "tone"]
# tone: a telephone tone on the caller's line (ringback, busy, DTMF, fax...), never the caller speaking
CALLER_CONDITIONS: tuple[Condition, ...] = ("speech", "silent", "low_volume", "noisy", "tone")

CallEventKind = Literal["call_start", "answered", "hold", "resume", "closing", "call_end"]
# the state of the call, as the script engine's call-state table moves it (script/callstate.py)
CallState = Literal["idle", "active", "on_hold", "closing", "ended"]
CALL_EVENT_KINDS: tuple[CallEventKind, ...] = (
    "call_start", "answered", "hold", "resume", "closing", "call_end",
)

Protocol = Literal[
    "greeting", "silent_line", "caller_silent", "low_volume", "noisy_line", "dead_air", "hold", "closing",
]
PROTOCOLS: tuple[Protocol, ...] = (
    "greeting", "silent_line", "caller_silent", "low_volume", "noisy_line", "dead_air", "hold", "closing",
)


def _t(t: float) -> float:
    """Stream times are printed to the millisecond; floats like 8.530000000000001 are not."""
    return round(t, 3)


def _db(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


# --------------------------------------------------------------------------------------------
# Detection output
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LineStats:
    """Why a channel is in its condition: the figures the overlay shows next to a prompt."""

    level_dbov: float | None = None  # short-term RMS level (last 100 ms)
    speech_dbov: float | None = None  # active speech level of the current/last turn (P.56 style)
    noise_dbov: float | None = None  # RMS of what is not speech (None: digital zero)
    snr_db: float | None = None  # speech_dbov - noise_dbov, when both exist
    clipped: int = 0  # clipped samples seen on this channel so far

    def to_json(self) -> dict[str, Any]:
        return {
            "level_dbov": _db(self.level_dbov),
            "speech_dbov": _db(self.speech_dbov),
            "noise_dbov": _db(self.noise_dbov),
            "snr_db": _db(self.snr_db),
            "clipped": self.clipped,
        }


@dataclass(frozen=True, slots=True)
class ConditionChanged:
    """A channel's condition changed at `t` (the end of the frame where it was decided).

    `since` is when the change really happened in the audio, which can be earlier than `t`:
    a speech end is only known once the pause has outlasted the in-turn pause allowance.
    """

    t: float
    channel: Channel
    condition: Condition
    since: float
    stats: LineStats = field(default_factory=LineStats)
    tone_hz: tuple[int, ...] = ()  # condition "tone": its 1 or 2 frequencies
    tone_kind: str | None = None  # condition "tone": ringback | busy | congestion | dtmf | cng | ced | sit | unknown

    def to_json(self) -> dict[str, Any]:
        out = {
            "t": _t(self.t),
            "event": "condition",
            "channel": self.channel,
            "condition": self.condition,
            "since": _t(self.since),
            **self.stats.to_json(),
        }
        if self.condition == "tone":
            out["tone_hz"] = list(self.tone_hz)
            out["tone_kind"] = self.tone_kind
        return out


@dataclass(frozen=True, slots=True)
class NoAudio:
    """A channel's device delivered nothing from `since` (unplugged, sink unloaded, stalled): an
    outage, not silence. `t == since` when it starts; `ended` at `t` when audio is back.

    The capture fills the lost time with zeros so that stream time stays samples / rate; these
    records say which zeros are not audio. Nothing is concluded from them (script/engine.py).
    """

    t: float
    channel: Channel
    since: float
    ended: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": _t(self.t), "event": "no_audio", "channel": self.channel,
                               "state": "end" if self.ended else "start", "since": _t(self.since)}
        if self.ended:
            out["lost_s"] = _t(self.t - self.since)
        return out


@dataclass(frozen=True, slots=True)
class CoachHint:
    """A quiet hint for the agent about their own speaking (softphone_assist/core/detect/coach.py).

    Never spoken and never in place of a ladder prompt: the overlay shows `text` on a line of its
    own. `detail` holds the figures behind it (levels, rates, times) for the JSONL.
    """

    t: float
    kind: str  # config.COACH_KINDS: overtalk | agent_quiet | agent_clipping | speech_rate
    text: str  # the script's [coach] line for this kind, in the script's language
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"t": _t(self.t), "event": "coach", "kind": self.kind, "detail": dict(self.detail)}


@dataclass(frozen=True, slots=True)
class Meter:
    """Short-term levels for the overlay's meters, every 100 ms of stream; not part of the JSONL."""

    t: float
    caller_dbov: float | None
    agent_dbov: float | None


# --------------------------------------------------------------------------------------------
# Inputs to the script engine besides conditions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallEvent:
    """A call-state change, as a softphone hook, a button or an events file reports it."""

    t: float
    kind: CallEventKind
    source: str = "file"  # file | ipc | hotkey | button | auto

    def to_json(self) -> dict[str, Any]:
        return {"t": _t(self.t), "event": "call_state", "state": self.kind, "source": self.source}


@dataclass(frozen=True, slots=True)
class CallStateChanged:
    """The script engine moved the call from `previous` to `state` at `t` (script/callstate.py).

    Emitted for every move the engine makes: `cause` is the call-state event that caused it, or
    `caller_spoke` (the caller spoke during closing: the call is active again). The overlay and
    the live session take the call state from these, never from their own rules. In the JSONL
    (event "call_move") only the engine's own moves appear: a move caused by a call-state event
    is already its "call_state" record.
    """

    t: float
    state: CallState
    previous: CallState
    cause: str  # a CallEventKind or "caller_spoke"

    def to_json(self) -> dict[str, Any]:
        return {"t": _t(self.t), "event": "call_move", "from": self.previous, "to": self.state,
                "cause": self.cause}


@dataclass(frozen=True, slots=True)
class LineSpoken:
    """TTS finished playing the prompted line at `t`: the end of the agent's line."""

    t: float


@dataclass(frozen=True, slots=True)
class UserCommand:
    """The agent pressed a button or hotkey: skip the current prompt, or snooze it for this call."""

    t: float
    command: Literal["skip", "snooze"]


# --------------------------------------------------------------------------------------------
# Actions out of the script engine
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShowPrompt:
    """Say this line now. `wait_s` is the wait after the end of the line before the next step."""

    t: float
    protocol: Protocol
    step: int
    steps: int  # how many steps the ladder has, for "无声电话 2/3"
    text: str
    title: str  # the protocol's display name in the script's language
    never_say: str | None = None
    hint: str | None = None  # advice that is not spoken ("check your own headset volume first")
    wait_s: float | None = None
    speak: bool = False  # automatic TTS mode: the app should speak this line

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "t": _t(self.t), "event": "prompt", "protocol": self.protocol, "step": self.step,
            "steps": self.steps, "text": self.text,
        }
        if self.never_say:
            out["never_say"] = self.never_say
        if self.hint:
            out["hint"] = self.hint
        return out


@dataclass(frozen=True, slots=True)
class MayHangUp:
    t: float
    protocol: Protocol
    note: str | None = None  # e.g. "once the customer agrees"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": _t(self.t), "event": "may_hang_up", "protocol": self.protocol}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class ProtocolEnded:
    t: float
    protocol: Protocol
    reason: str  # caller_spoke | resolved | call_end | hold | closing | superseded | skipped | snoozed | ringing

    def to_json(self) -> dict[str, Any]:
        return {"t": _t(self.t), "event": "protocol_end", "protocol": self.protocol, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Deadline:
    """The next step is due at `due` (stream seconds), for the overlay's countdown ring."""

    t: float
    protocol: Protocol
    due: float | None  # None: waiting for the end of the agent's line


Action = ShowPrompt | MayHangUp | ProtocolEnded | Deadline | CallStateChanged
EngineInput = ConditionChanged | CallEvent | LineSpoken | UserCommand | NoAudio
Update = (ConditionChanged | CallEvent | ShowPrompt | MayHangUp | ProtocolEnded | Deadline | Meter | NoAudio
          | CoachHint | CallStateChanged)
