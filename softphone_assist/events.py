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
Condition = Literal["speech", "silent", "low_volume", "noisy"]
CALLER_CONDITIONS: tuple[Condition, ...] = ("speech", "silent", "low_volume", "noisy")

CallEventKind = Literal["call_start", "answered", "hold", "resume", "closing", "call_end"]
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

    def to_json(self) -> dict[str, Any]:
        return {
            "t": _t(self.t),
            "event": "condition",
            "channel": self.channel,
            "condition": self.condition,
            "since": _t(self.since),
            **self.stats.to_json(),
        }


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
    reason: str  # caller_spoke | resolved | call_end | hold | closing | superseded | skipped | snoozed

    def to_json(self) -> dict[str, Any]:
        return {"t": _t(self.t), "event": "protocol_end", "protocol": self.protocol, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Deadline:
    """The next step is due at `due` (stream seconds), for the overlay's countdown ring."""

    t: float
    protocol: Protocol
    due: float | None  # None: waiting for the end of the agent's line


Action = ShowPrompt | MayHangUp | ProtocolEnded | Deadline
EngineInput = ConditionChanged | CallEvent | LineSpoken | UserCommand
Update = ConditionChanged | CallEvent | ShowPrompt | MayHangUp | ProtocolEnded | Deadline | Meter
