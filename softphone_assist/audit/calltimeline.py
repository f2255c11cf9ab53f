"""One call's timeline (the JSONL records of `replay --jsonl`) read back as spans, for the rules.

Pure: records in, spans out. Times are stream seconds from the start of the file.

* Agent lines: from an agent `speech` condition's `since` to the next agent `silent`'s `since`
  (the detector's real end of speech, not the 0.6 s later moment it became certain).
* Caller conditions: each caller condition holds from its `since` to the next one's; before the
  first it is `silent` (the tracker starts silent). "Talking" is `speech` or `low_volume`; a
  `tone` counts as silent.
* The call runs from its first `answered` (else `call_start`, else 0) to its last `call_end` (else
  the end of the file); holds from each `hold` to the next `resume` / `call_end`.
One call per file: a second call_start after a call_end is read as the same call going on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]
CALLER_TALKING = frozenset({"speech", "low_volume"})
# a telephone tone (ringback, busy, DTMF…) is the softphone, not the customer: for the rules the
# caller is as silent as on a quiet line, exactly as the engine treats it for its ladders
CALLER_QUIET = frozenset({"silent", "tone"})


@dataclass(frozen=True, slots=True)
class Span:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class CallerSpan:
    start: float
    end: float
    condition: str


@dataclass(frozen=True, slots=True)
class Prompt:
    t: float
    protocol: str
    step: int


@dataclass(frozen=True, slots=True)
class CallTimeline:
    duration: float
    has_agent: bool
    call_start: float
    call_end: float
    agent_lines: tuple[Span, ...]
    caller: tuple[CallerSpan, ...]  # contiguous from 0 to duration
    holds: tuple[Span, ...]
    prompts: tuple[Prompt, ...]
    protocol_ends: tuple[tuple[float, str, str], ...]  # (t, protocol, reason)
    may_hang_up: tuple[tuple[float, str], ...]  # (t, protocol)

    def caller_first_not_silent(self) -> float | None:
        """When the caller line first left silence (spoke, or turned noisy; a tone is silence), or None."""
        return next((s.start for s in self.caller if s.condition not in CALLER_QUIET), None)

    def caller_talking(self) -> tuple[Span, ...]:
        return tuple(Span(s.start, s.end) for s in self.caller if s.condition in CALLER_TALKING)

    def caller_silent(self) -> tuple[Span, ...]:
        return tuple(Span(s.start, s.end) for s in self.caller if s.condition in CALLER_QUIET)


def _ordered(times: list[float]) -> list[float]:
    """`since` values made non-decreasing (a later change can never have happened earlier)."""
    out: list[float] = []
    for t in times:
        out.append(max(t, out[-1]) if out else t)
    return out


def read_timeline(records: Iterable[Record], duration: float, *, has_agent: bool) -> CallTimeline:
    recs = sorted(records, key=lambda r: float(r["t"]))  # stable: same-t records keep their order
    agent = [r for r in recs if r.get("event") == "condition" and r.get("channel") == "agent"]
    caller = [r for r in recs if r.get("event") == "condition" and r.get("channel") == "caller"]

    lines: list[Span] = []
    started: float | None = None
    for r, since in zip(agent, _ordered([float(r["since"]) for r in agent]), strict=True):
        if r["condition"] == "speech" and started is None:
            started = since
        elif r["condition"] != "speech" and started is not None:
            lines.append(Span(started, since))
            started = None
    if started is not None:
        lines.append(Span(started, duration))

    spans: list[CallerSpan] = []
    cond, since_prev = "silent", 0.0
    for r, since in zip(caller, _ordered([float(r["since"]) for r in caller]), strict=True):
        if r["condition"] == cond:
            continue
        if since > since_prev:
            spans.append(CallerSpan(since_prev, since, cond))
        cond, since_prev = str(r["condition"]), since
    spans.append(CallerSpan(since_prev, max(duration, since_prev), cond))

    states = [(float(r["t"]), str(r["state"])) for r in recs if r.get("event") == "call_state"]
    starts = [t for t, s in states if s == "answered"] or [t for t, s in states if s == "call_start"]
    ends = [t for t, s in states if s == "call_end"]
    holds: list[Span] = []
    held: float | None = None
    for t, s in states:
        if s == "hold" and held is None:
            held = t
        elif s in ("resume", "call_end") and held is not None:
            holds.append(Span(held, t))
            held = None
    if held is not None:
        holds.append(Span(held, duration))

    return CallTimeline(
        duration=duration,
        has_agent=has_agent,
        call_start=starts[0] if starts else 0.0,
        call_end=ends[-1] if ends else duration,
        agent_lines=tuple(lines),
        caller=tuple(spans),
        holds=tuple(holds),
        prompts=tuple(Prompt(float(r["t"]), str(r["protocol"]), int(r["step"]))
                      for r in recs if r.get("event") == "prompt"),
        protocol_ends=tuple((float(r["t"]), str(r["protocol"]), str(r["reason"]))
                            for r in recs if r.get("event") == "protocol_end"),
        may_hang_up=tuple((float(r["t"]), str(r["protocol"])) for r in recs if r.get("event") == "may_hang_up"),
    )
