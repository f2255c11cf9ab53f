"""The script model the engine reads: frozen, slotted records built by `loader.load_script`.

A Script holds every line and timing of the service standard for one language. The shape of
each ladder (how many steps, whether the agent may hang up after the last one) is the standard
itself and lives here in `LADDER_SHAPES`; the loader refuses files that change it. Wording and
waits are free.

Checks that overrides from the settings need as well as the file (timings, company, title) live
here and raise ScriptError("<key>: <problem>"); the caller prefixes the file or settings source.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from softphone_assist.core.errors import ScriptError
from softphone_assist.core.limits import TIMING_RANGES, name_problem
from softphone_assist.core.script.greeting import GreetingRules

PLACEHOLDERS: tuple[str, ...] = ("company", "title", "greeting", "hours")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class LadderShape:
    steps: int
    may_hang_up: bool
    why: str  # quoted in the error when a file breaks the shape


# The service standard's protocols (SERVICE_STANDARD.md P1-P5), in the order files list them.
LADDER_SHAPES: Mapping[str, LadderShape] = MappingProxyType({
    "silent_line": LadderShape(3, True, "opening, the same opening again, goodbye; then may hang up"),
    "caller_silent": LadderShape(3, True, "can you hear me, the same again, goodbye; then may hang up"),
    "low_volume": LadderShape(4, True, "louder please, hands-free?, pick up the handset, call again"),
    "noisy_line": LadderShape(2, True, "the call-from-another-phone line twice; then may hang up"),
    "dead_air": LadderShape(3, False, "three keep-engaged lines; never hang up during a look-up"),
    "hold": LadderShape(2, False, "the reminder while on hold, then the back-from-hold line"),
    "closing": LadderShape(3, True, "closing line, anything else?, I will hang up now"),
})
LADDER_PROTOCOLS: tuple[str, ...] = tuple(LADDER_SHAPES)

# (low, high, unit) for every Timing field: values outside are typos, not preferences. The table
# is softphone_assist.core.limits, which the settings check too (a setting the settings accept must
# never be refused here at start-up).
TIMING_LIMITS: Mapping[str, tuple[float, float, str]] = MappingProxyType(
    {name: (r.low, r.high, r.unit) for name, r in TIMING_RANGES.items()})


def placeholder_problem(text: str, allowed: tuple[str, ...]) -> str | None:
    """Why `text` has a placeholder it may not use ({compnay}, a stray brace), or None."""
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name not in allowed:
            if not allowed:
                return f"placeholder {match.group(0)} is not allowed here (this text is shown as written)"
            known = ", ".join("{" + p + "}" for p in allowed)
            return f"unknown placeholder {match.group(0)} (known: {known})"
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        return "unmatched '{' or '}' (placeholders look like {company})"
    return None


def check_name(key: str, value: object) -> str:
    """A company name or form of address: one short line of plain text."""
    if not isinstance(value, str):
        raise ScriptError(f"{key}: expected text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ScriptError(f"{key}: must not be empty")
    problem = name_problem(value)
    if problem:
        raise ScriptError(f"{key}: {problem}")
    return value


@dataclass(frozen=True, slots=True)
class Step:
    text: str  # may contain {company}, {title}, {greeting}, {hours}
    wait_s: float  # wait after the END of this line before the next step / may_hang_up / repeat
    hint: str | None = None  # not spoken, shown small


@dataclass(frozen=True, slots=True)
class Ladder:
    protocol: str  # one of LADDER_PROTOCOLS
    title: str  # display name in the script's language
    steps: tuple[Step, ...]
    never_say: str | None
    may_hang_up: bool  # after the last step's wait the agent may hang up
    hang_up_note: str | None  # e.g. "only once the customer agrees"


@dataclass(frozen=True, slots=True)
class Timing:
    condition_persist_s: float  # low_volume/noisy must persist this long before their ladder starts
    caller_silent_after_s: float  # mid-call, agent spoke last, caller silent this long -> caller_silent
    dead_air_after_s: float  # caller spoke last, both sides silent this long -> dead_air
    chars_per_minute: float  # agent speaking rate, to estimate the end of a line (see speaking_time_s)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high, unit = TIMING_LIMITS[f.name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScriptError(f"timing.{f.name}: expected a number, got {type(value).__name__} {value!r}")
            if not low <= value <= high:  # also refuses nan
                raise ScriptError(f"timing.{f.name}: {value} is outside {low:g}..{high:g} {unit}")


@dataclass(frozen=True, slots=True)
class Script:
    locale: str  # "zh-CN" | "zh-TW" | "en" (or a call centre's own, same form)
    path: Path
    company: str  # default company name (IT overrides it in the settings)
    title: str  # default form of address for {title}
    hours: int  # default {hours} for the complaint line
    timing: Timing
    ladders: Mapping[str, Ladder]  # keys: LADDER_PROTOCOLS
    greeting_rules: GreetingRules
    on_demand: Mapping[str, str]  # key -> line (P6, before_hold, alternative openings), file order
    forbidden: tuple[str, ...]  # 服务忌语
    labels: Mapping[str, str]  # UI strings by key
    # key -> button/menu name; after the API fields, with a default, so older callers still work
    on_demand_titles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    language: str = ""  # the language's own name ("简体中文"), for the settings dialog
    # coaching hint per kind (config.COACH_KINDS), shown small, never spoken
    coach: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def opening(self) -> str:
        """The call-start greeting line: silent_line step 1, unfilled."""
        return self.ladders["silent_line"].steps[0].text

    def speaking_time_s(self, text: str) -> float:
        """How long the agent needs to say `text` (filled) at `timing.chars_per_minute`.

        Counted: every character except punctuation, with each run of whitespace as one. For
        Chinese that is the spoken syllables (the standard's 120 字 per minute); for English it is
        letters plus word gaps: the en file's 760 per minute is ~150 words per minute on its lines.
        """
        spoken = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
        return len(" ".join(spoken.split())) / self.timing.chars_per_minute * 60.0

    def fill(self, text: str, when: datetime, *, company: str | None = None, title: str | None = None) -> str:
        """`text` with {company}, {title}, {greeting} (for `when`, the call's local time), {hours}."""
        values = {
            "company": self.company if company is None else company,
            "title": self.title if title is None else title,
            "hours": str(self.hours),
        }
        if "{greeting}" in text:
            values["greeting"] = self.greeting_rules.greeting_for(when)
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def with_overrides(self, *, company: str | None = None, title: str | None = None,
                       timing: Mapping[str, float] | None = None) -> Script:
        """A copy with settings applied, checked like the file; errors name the setting."""
        where = f"settings override of script {self.path}"
        try:
            new_timing = self.timing
            if timing:
                current = {f.name: getattr(self.timing, f.name) for f in fields(Timing)}
                unknown = sorted(set(timing) - set(current))
                if unknown:
                    raise ScriptError(f"timing.{unknown[0]}: unknown setting (known: {', '.join(current)})")
                new_timing = Timing(**{**current, **timing})
            return replace(
                self,
                company=self.company if company is None else check_name("company", company),
                title=self.title if title is None else check_name("title", title),
                timing=new_timing,
            )
        except ScriptError as e:
            raise ScriptError(f"{where}: {e}") from None
