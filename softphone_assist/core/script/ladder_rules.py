"""Per-protocol ladder rules: what starts each ladder, what ends it, what it may supersede.

The script engine (engine.py) reads this table instead of a chain of conditions on protocol names;
the wording of the rules is in engine.py's module docstring (from SERVICE_STANDARD.md). Rules that
hold for every ladder stay in the engine: a ladder never stacks on another; hold, closing and
call_end end whatever runs; snoozed protocols never start again in the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from softphone_assist.core.events import CallState, Condition, Protocol

# What starts a ladder:
#   call_up            the call comes up (call_start / answered, or the ringback stops): greeting
#   resume             the call comes back from hold (starts at step 2, the back-from-hold line)
#   closing            the agent closes (step 1 is the agent's own closing line)
#   caller_condition   the caller's line has been in `start_condition` for condition_persist_s
#   agent_spoke_last   the agent spoke last; the caller silent for caller_silent_after_s
#   caller_spoke_last  the caller spoke last; both sides silent for dead_air_after_s (needs the
#                      agent channel: without it nobody knows whether the agent is talking)
Start = Literal["call_up", "resume", "closing", "caller_condition", "agent_spoke_last", "caller_spoke_last"]
# Started by the engine's own deadlines (the others by a call-state event)
SELF_STARTING: frozenset[Start] = frozenset({"caller_condition", "agent_spoke_last", "caller_spoke_last"})


@dataclass(frozen=True, slots=True)
class LadderRule:
    start: Start
    start_condition: Condition | None = None  # for start == caller_condition
    start_states: frozenset[CallState] = frozenset()  # call states in which it may start by itself
    needs_agent_channel: bool = False
    once_per_episode: bool = False  # fires once per episode of its condition...
    episode_ends_on: frozenset[Condition] = frozenset()  # ...which ends when the caller's line turns to one of these
    supersedes: frozenset[Protocol] = frozenset()  # ladders it may replace ("superseded")
    # what ends it (the ProtocolEnded reason in brackets)
    ended_by_caller_speech: bool = False  # the caller speaks, at any level [caller_spoke]
    ended_by_normal_speech: bool = False  # the caller is heard at normal level [resolved]
    ended_by_silence: bool = False  # the caller's line silent for condition_persist_s [resolved]
    ended_by_ringback: bool = False  # ringback before `answered`: it is still ringing [ringing]
    ended_by_last_step: bool = False  # its last line said, it is over [resolved]
    # after the last step, when it does not end: the script's `may_hang_up`, else it stays there


SILENCE_LADDERS: frozenset[Protocol] = frozenset({"silent_line", "caller_silent", "dead_air"})
_CALL: frozenset[CallState] = frozenset({"active", "closing"})
_ACTIVE: frozenset[CallState] = frozenset({"active"})

LADDER_RULES: dict[Protocol, LadderRule] = {
    # step 1 of silent_line is shown as "greeting"
    "silent_line": LadderRule("call_up", ended_by_caller_speech=True, ended_by_ringback=True),
    "caller_silent": LadderRule("agent_spoke_last", start_states=_ACTIVE, ended_by_caller_speech=True),
    "dead_air": LadderRule("caller_spoke_last", start_states=_ACTIVE, needs_agent_channel=True,
                           ended_by_caller_speech=True),
    "low_volume": LadderRule("caller_condition", start_condition="low_volume", start_states=_CALL,
                             once_per_episode=True, ended_by_normal_speech=True,
                             episode_ends_on=frozenset({"speech"})),  # a quiet caller's pauses do not end it
    "noisy_line": LadderRule("caller_condition", start_condition="noisy", start_states=_CALL,
                             once_per_episode=True, episode_ends_on=frozenset({"speech", "low_volume", "silent"}),
                             supersedes=SILENCE_LADDERS,
                             ended_by_normal_speech=True, ended_by_silence=True),
    "hold": LadderRule("resume", ended_by_caller_speech=True, ended_by_last_step=True),
    "closing": LadderRule("closing", ended_by_caller_speech=True),
}

# the order in which self-starting ladders are considered (the engine takes the earliest due)
SELF_STARTERS: tuple[Protocol, ...] = tuple(p for p, r in LADDER_RULES.items() if r.start in SELF_STARTING)


def started_by(start: Start) -> Protocol:
    """The ladder that `start` (one of the call-state starts) begins."""
    return next(p for p, r in LADDER_RULES.items() if r.start == start)
