"""Per-call figures for the audit row: who talked how much, silence, overtalk, conditions, prompts.

Pure, from a `CallTimeline`. Percentages are of the file's duration; "talking" for the caller is
`speech` or `low_volume`; silence is neither side talking while the caller line is `silent`
(a noisy line is not silence). Without an agent channel the agent figures are None.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from softphone_assist.audit.calltimeline import CallTimeline, Span
from softphone_assist.audit.rules import quiet_stretches
from softphone_assist.core.events import CALLER_CONDITIONS, PROTOCOLS


def _total(spans: tuple[Span, ...] | list[Span]) -> float:
    return sum(s.duration for s in spans)


def _overlap(a: tuple[Span, ...], b: tuple[Span, ...]) -> float:
    total, j = 0.0, 0
    for s in a:
        while j < len(b) and b[j].end <= s.start:
            j += 1
        k = j
        while k < len(b) and b[k].start < s.end:
            total += max(0.0, min(s.end, b[k].end) - max(s.start, b[k].start))
            k += 1
    return total


def _pct(x: float, of: float) -> float:
    return round(100.0 * x / of, 1) if of > 0 else 0.0


def call_figures(tl: CallTimeline) -> dict[str, Any]:
    d = tl.duration
    caller_talk = tl.caller_talking()
    conditions = {c: round(float(sum(s.end - s.start for s in tl.caller if s.condition == c)), 2)
                  for c in CALLER_CONDITIONS}
    prompts = Counter(p.protocol for p in tl.prompts)
    out: dict[str, Any] = {
        "agent_talk_pct": None,
        "caller_talk_pct": _pct(_total(caller_talk), d),
        "silence_pct": None,
        "longest_dead_air_s": None,
        "overtalk_s": None,
        "caller_condition_s": conditions,
        "prompts": {p: prompts[p] for p in PROTOCOLS if prompts[p]},
    }
    if tl.has_agent:
        quiet = quiet_stretches(tl)
        out.update(
            agent_talk_pct=_pct(_total(tl.agent_lines), d),
            silence_pct=_pct(_total(quiet), d),
            longest_dead_air_s=round(max((s.duration for s in quiet), default=0.0), 2),
            overtalk_s=round(_overlap(tl.agent_lines, caller_talk), 2),
        )
    return out
