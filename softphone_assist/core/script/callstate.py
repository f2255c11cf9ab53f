"""The call-state table: the one authority on which call-state move is legal (issue 7 §4).

The script engine applies it (and emits a `CallStateChanged` for every move it makes); the
events-file checker (callevents.py), the automatic call logic's gate (live.py) and the overlay's
view model (ui/overlay_state.py) consult it instead of keeping rules of their own.

A move is a call-state event (`CallEventKind`) or `caller_spoke`: the caller speaking during
closing means the customer has another question, so the call is active again. That move is the
engine's own (nobody reports it), which is why it is in the table and not in `CALL_EVENT_KINDS`.
"""

from __future__ import annotations

from typing import Literal

from softphone_assist.core.events import CallEventKind, CallState

CallMove = CallEventKind | Literal["caller_spoke"]

# (state, move) -> next state. Anything missing is illegal. The transition table is data.
CALL_TRANSITIONS: dict[tuple[CallState, CallMove], CallState] = {
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
    ("closing", "caller_spoke"): "active",  # the customer has another question
    ("closing", "hold"): "on_hold",
    ("closing", "call_end"): "ended",
}

# a call is up (the ladders and the automatic call logic care about these)
CALL_UP: frozenset[CallState] = frozenset({"active", "on_hold", "closing"})


def next_call_state(state: CallState, move: CallMove) -> CallState | None:
    """The state after `move`, or None when the table does not allow it."""
    return CALL_TRANSITIONS.get((state, move))


def refusal(state: CallState, move: CallMove) -> str | None:
    """Why `move` is illegal in `state` (one line), or None when it is legal."""
    if next_call_state(state, move) is not None:
        return None
    return f"{move} is not allowed while the call is {state.replace('_', ' ')}"
