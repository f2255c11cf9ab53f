"""The allowed values that the settings and the script model share: one table, one owner.

Settings (`settings.py`, the dialog) and the script model (`script/model.py`, which checks the
script files and the settings' overrides in `Script.with_overrides`) both read these, so a value
the settings accept can never be refused by the script at start-up. Pure: stdlib only, part of
the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# The languages the app ships (UI strings, scripts, settings' `locale`), the default first.
LOCALES: tuple[str, ...] = ("zh-CN", "zh-TW", "en")
DEFAULT_LOCALE = LOCALES[0]


@dataclass(frozen=True, slots=True)
class Range:
    low: float
    high: float
    unit: str = ""  # for messages: "s", "characters per minute"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high  # also False for nan

    def describe(self) -> str:
        return f"{self.low:g}..{self.high:g}" + (f" {self.unit}" if self.unit else "")


# Numeric settings by their dotted key. The timing.* keys are also the script file's [timing]
# (values outside are typos, not preferences); the others are the settings' own.
RANGES: Mapping[str, Range] = MappingProxyType({
    "timing.condition_persist_s": Range(0.0, 30.0, "s"),
    "timing.caller_silent_after_s": Range(1.0, 120.0, "s"),
    "timing.dead_air_after_s": Range(1.0, 300.0, "s"),
    "timing.chars_per_minute": Range(30.0, 3000.0, "characters per minute"),
    "tts.rate": Range(50, 400, "words per minute"),
    "overlay.x": Range(-100_000, 100_000),
    "overlay.y": Range(-100_000, 100_000),
    "overlay.opacity": Range(0.2, 1.0),
    "overlay.calm_hide_after_s": Range(1.0, 3600.0, "s"),
})
TIMING_RANGES: Mapping[str, Range] = MappingProxyType(
    {k.split(".", 1)[1]: r for k, r in RANGES.items() if k.startswith("timing.")})

# A company name or form of address is filled into spoken lines: one short line, no braces.
NAME_MAX_CHARS = 80


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a company name or form of address, or None (emptiness is the caller's)."""
    if len(value) > NAME_MAX_CHARS:
        return f"{len(value)} characters is longer than {NAME_MAX_CHARS}"
    if "\n" in value or "\r" in value:
        return "must be one line"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    if "{" in value or "}" in value:
        return "must not contain '{' or '}' (it is filled into lines)"
    return None
