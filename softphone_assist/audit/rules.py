"""The service standard's rules, checked over one call's timeline: pure functions, no audio.

Each rule reads the engine's timeline (`CallTimeline`) and the agent's actual speech (agent lines
from the agent channel) and returns violations `{"rule", "t", "duration"?, "detail"}`, `t` in
seconds from the start of the file. Thresholds come from the script (`Thresholds.from_script`),
so a centre's own script changes the audit; the tolerance (default 1 s) is given to the agent
where the standard times the agent's reaction (the waits and the answer window).

* silent_line_hangup_early: the caller line never left `silent`, and the call ended before the
  standard allowed hanging up: three agent lines (greeting, repeat, goodbye), each starting at
  least its step's wait (minus the tolerance) after the end of the line before, and the third
  step's wait (minus the tolerance) after the agent's last line. t = the call end.
* repeat_too_soon: on a silent line (from call start until the caller line first leaves `silent`)
  or in a caller_silent ladder (from its first prompt to its end), the agent's next line began
  less than the step's wait minus the tolerance after its previous line ended. A line that is too
  soon does not count as the next step. t = the start of that line.
* dead_air: neither side talking (agent silent, caller line `silent`) for `dead_air_s` or more,
  inside the call and not on hold; t = its start, with its duration.
* hold_too_long: on hold for more than `hold_s` without coming back (resume, the call end, or,
  with an agent channel, the agent speaking); t = the start of that stretch, with its duration.
* noisy_line_unanswered / low_volume_unanswered: a prompt of that ladder was shown and no agent
  speech overlaps the `answer_s` + tolerance after it; t = the prompt.
* late_greeting: the agent's first words started more than `late_greeting_s` after the call
  started (or the agent never spoke); t = the first words (or the call start).
Rules that need the agent's speech are not checked on a caller-only (mono) recording.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from softphone_assist.audit.calltimeline import CallTimeline, Span
from softphone_assist.core.script.model import Script

DEFAULT_TOLERANCE_S = 1.0
LATE_GREETING_S = 3.0  # the standard: greet within 3 s of answering (not a script timing)
ANSWER_S = 5.0  # a shown noisy/low-volume line must be said within this (+ tolerance)
_EPS = 1e-6  # times are on the 10 ms grid, printed to the ms: compare without float dust


@dataclass(frozen=True, slots=True)
class Thresholds:
    silent_line_waits: tuple[float, ...]  # wait after greeting, repeat, goodbye
    caller_silent_waits: tuple[float, ...]
    dead_air_s: float
    hold_s: float
    answer_s: float = ANSWER_S
    late_greeting_s: float = LATE_GREETING_S
    tolerance_s: float = DEFAULT_TOLERANCE_S

    @classmethod
    def from_script(cls, script: Script, tolerance_s: float = DEFAULT_TOLERANCE_S) -> Thresholds:
        ladders = script.ladders
        return cls(
            silent_line_waits=tuple(s.wait_s for s in ladders["silent_line"].steps),
            caller_silent_waits=tuple(s.wait_s for s in ladders["caller_silent"].steps),
            dead_air_s=script.timing.dead_air_after_s,
            hold_s=ladders["hold"].steps[0].wait_s,
            tolerance_s=tolerance_s,
        )


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    t: float
    detail: str
    duration: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "t": round(self.t, 3)}
        if self.duration is not None:
            out["duration"] = round(self.duration, 3)
        out["detail"] = self.detail
        return out


def _wait(waits: Sequence[float], step: int) -> float:
    """The wait after step `step` (1-based); steps past the ladder's last reuse its last wait."""
    return waits[min(step, len(waits)) - 1]


def _lines_between(tl: CallTimeline, t0: float, t1: float) -> list[Span]:
    return [s for s in tl.agent_lines if t0 - _EPS <= s.start < t1 - _EPS]


def _silent_line_end(tl: CallTimeline) -> float:
    first = tl.caller_first_not_silent()
    return min(tl.call_end, first) if first is not None else tl.call_end


def _walk_ladder(lines: Sequence[Span], waits: Sequence[float], tol: float, rule: str,
                 name: str) -> tuple[int, float | None, list[Violation]]:
    """(steps said in time, end of the agent's last line, too-soon violations) over `lines`."""
    steps, last_end = 0, None
    found: list[Violation] = []
    for line in lines:
        if last_end is not None and steps > 0:
            gap = line.start - last_end
            need = _wait(waits, steps)
            if gap < need - tol - _EPS:
                found.append(Violation(rule, line.start, f"{name}: the agent spoke again {gap:.2f} s after "
                                                         f"the end of the line before (the standard: {need:g} s)"))
                last_end = line.end
                continue
        steps += 1
        last_end = line.end
    return steps, last_end, found


def silent_line_hangup_early(tl: CallTimeline, th: Thresholds) -> list[Violation]:
    first = tl.caller_first_not_silent()
    if first is not None and first < tl.call_end - _EPS:
        return []
    lines = _lines_between(tl, tl.call_start, tl.call_end)
    steps, last_end, _ = _walk_ladder(lines, th.silent_line_waits, th.tolerance_s, "", "")
    need_steps = len(th.silent_line_waits)
    if steps >= need_steps and last_end is not None:
        allowed = last_end + _wait(th.silent_line_waits, need_steps)
        if tl.call_end >= allowed - th.tolerance_s - _EPS:
            return []
        return [Violation("silent_line_hangup_early", tl.call_end,
                          f"silent line: the call ended at {tl.call_end:.2f} s, the standard allows hanging up "
                          f"from {allowed:.2f} s ({_wait(th.silent_line_waits, need_steps):g} s after the "
                          f"agent's last line)")]
    return [Violation("silent_line_hangup_early", tl.call_end,
                      f"silent line: the call ended at {tl.call_end:.2f} s after {steps} of the standard's "
                      f"{need_steps} lines")]


def repeat_too_soon(tl: CallTimeline, th: Thresholds) -> list[Violation]:
    found = _walk_ladder(_lines_between(tl, tl.call_start, _silent_line_end(tl)), th.silent_line_waits,
                         th.tolerance_s, "repeat_too_soon", "silent line")[2]
    starts = [p.t for p in tl.prompts if p.protocol == "caller_silent" and p.step == 1]
    for t0 in starts:
        t1 = next((t for t, proto, _ in tl.protocol_ends if proto == "caller_silent" and t >= t0), tl.call_end)
        found += _walk_ladder(_lines_between(tl, t0, t1), th.caller_silent_waits, th.tolerance_s,
                              "repeat_too_soon", "caller silent")[2]
    return found


def _union(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: s.start):
        if out and s.start <= out[-1].end + _EPS:
            out[-1] = Span(out[-1].start, max(out[-1].end, s.end))
        else:
            out.append(s)
    return out


def quiet_stretches(tl: CallTimeline) -> list[Span]:
    """Inside the call, not on hold: stretches where neither side talks and the caller line is silent."""
    busy = _union([*tl.agent_lines, *(Span(s.start, s.end) for s in tl.caller if s.condition != "silent"),
                   *tl.holds, Span(float("-inf"), tl.call_start), Span(tl.call_end, float("inf"))])
    return [Span(a.end, b.start) for a, b in itertools.pairwise(busy) if b.start - a.end > _EPS]


def dead_air(tl: CallTimeline, th: Thresholds) -> list[Violation]:
    return [Violation("dead_air", s.start, f"both sides silent for {s.duration:.2f} s "
                                           f"(the standard: less than {th.dead_air_s:g} s)", s.duration)
            for s in quiet_stretches(tl) if s.duration >= th.dead_air_s - _EPS]


def hold_too_long(tl: CallTimeline, th: Thresholds) -> list[Violation]:
    found: list[Violation] = []
    for hold in tl.holds:
        start = hold.start
        for line in (tl.agent_lines if tl.has_agent else ()):
            if hold.start < line.start < hold.end:
                if line.start - start > th.hold_s + _EPS:
                    found.append(_hold(start, line.start, th))
                start = max(start, min(line.end, hold.end))
        if hold.end - start > th.hold_s + _EPS:
            found.append(_hold(start, hold.end, th))
    return found


def _hold(t0: float, t1: float, th: Thresholds) -> Violation:
    return Violation("hold_too_long", t0, f"on hold for {t1 - t0:.2f} s without coming back "
                                          f"(the standard: every {th.hold_s:g} s)", t1 - t0)


def _unanswered(protocol: str) -> Callable[[CallTimeline, Thresholds], list[Violation]]:
    rule = f"{protocol}_unanswered"

    def check(tl: CallTimeline, th: Thresholds) -> list[Violation]:
        found: list[Violation] = []
        window = th.answer_s + th.tolerance_s
        for p in tl.prompts:
            if p.protocol != protocol:
                continue
            if not any(line.start <= p.t + window + _EPS and line.end >= p.t - _EPS for line in tl.agent_lines):
                found.append(Violation(rule, p.t, f"{protocol} step {p.step} was due and the agent said nothing "
                                                  f"within {window:g} s"))
        return found

    check.__name__ = rule
    return check


noisy_line_unanswered = _unanswered("noisy_line")
low_volume_unanswered = _unanswered("low_volume")


def late_greeting(tl: CallTimeline, th: Thresholds) -> list[Violation]:
    first = next((s for s in tl.agent_lines if s.end > tl.call_start + _EPS), None)
    if first is None:
        if tl.call_end - tl.call_start > th.late_greeting_s + _EPS:
            return [Violation("late_greeting", tl.call_start, "the agent never spoke")]
        return []
    late = first.start - tl.call_start
    if late > th.late_greeting_s + _EPS:
        return [Violation("late_greeting", first.start, f"the agent's first words came {late:.2f} s after the "
                                                        f"call started (the standard: {th.late_greeting_s:g} s)")]
    return []


RuleFn = Callable[[CallTimeline, Thresholds], list[Violation]]

# name -> (check, needs the agent channel); the report lists the rules in this order
RULES: dict[str, tuple[RuleFn, bool]] = {
    "silent_line_hangup_early": (silent_line_hangup_early, True),
    "repeat_too_soon": (repeat_too_soon, True),
    "dead_air": (dead_air, True),
    "hold_too_long": (hold_too_long, False),
    "noisy_line_unanswered": (noisy_line_unanswered, True),
    "low_volume_unanswered": (low_volume_unanswered, True),
    "late_greeting": (late_greeting, True),
}


def check_rules(tl: CallTimeline, th: Thresholds) -> tuple[list[Violation], list[str]]:
    """(violations in time order, names of the rules not checked because there is no agent channel)."""
    found: list[Violation] = []
    skipped: list[str] = []
    for name, (check, needs_agent) in RULES.items():
        if needs_agent and not tl.has_agent:
            skipped.append(name)
            continue
        found.extend(check(tl, th))
    return sorted(found, key=lambda v: (v.t, list(RULES).index(v.rule))), skipped
