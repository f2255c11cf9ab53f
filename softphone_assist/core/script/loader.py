"""Read and validate a script file (resources/scripts/<locale>.toml) into a `Script`.

Every problem raises ScriptError "<file>:<line>: <key path>: <problem>": the line of the key (or of
its table when the key is missing; no line for TOML syntax errors, whose text from tomllib ends in
"(at line L, column C)"), the key path as written in the file (`ladder.silent_line.step[2].wait_s`,
steps and other array entries counted from 1, as the overlay counts steps); the typed reads and
the key -> line index are in toml_table.py.
Unknown keys are errors (a typo must not silently do nothing), except in `[labels]`, where the UI
may look up extra strings; the labels it needs are required.
The layout is documented at the top of resources/scripts/zh-CN.toml.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from types import MappingProxyType

from softphone_assist.core import toml_safe
from softphone_assist.core.config import COACH_KINDS
from softphone_assist.core.errors import ScriptError
from softphone_assist.core.resources import resources_dir
from softphone_assist.core.script.greeting import (
    HOLIDAY_CALENDARS,
    MAX_HOLIDAY_DAYS,
    MINUTES_PER_DAY,
    GreetingRules,
    HolidayCalendar,
    HolidayRule,
    TimeOfDayRule,
)
from softphone_assist.core.script.model import (
    LADDER_SHAPES,
    PLACEHOLDERS,
    TIMING_LIMITS,
    Ladder,
    Script,
    Step,
    Timing,
    check_name,
)
from softphone_assist.core.script.toml_table import TomlTable, key_lines

MAX_WAIT_S = 600.0  # ten minutes between two lines is a typo, not a protocol
MIN_ANSWER_WAIT_S = 1.0  # a wait before another line or hang-up must give the caller time to answer
# Lines of the standard that the UI offers on demand; a file may add its own keys.
REQUIRED_ON_DEMAND: tuple[str, ...] = (
    "before_hold", "opening_alt", "opening_variant", "low_volume_handset", "late_answer",
    "agent_too_quiet", "agent_at_max_volume", "repeat_please", "dialect", "complaint_pending",
)
# UI strings the engine and overlay look up; `greeting` is the title of the call-start greeting.
REQUIRED_LABELS: tuple[str, ...] = (
    "greeting", "may_hang_up", "may_hang_up_when_agreed", "waiting_for_line", "next_line_in",
    "never_say", "hint", "forbidden", "on_demand", "skip", "snooze", "caller", "agent",
    "condition_speech", "condition_silent", "condition_low_volume", "condition_noisy",
    "call_idle", "call_active", "call_on_hold", "call_closing",
)
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][A-Za-z]{1,3})?$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


def scripts_dir() -> Path:
    return resources_dir() / "scripts"


def available_locales() -> list[str]:
    """Locales with a script file under resources/scripts/ (not validated: load to check)."""
    return sorted(p.stem for p in scripts_dir().glob("*.toml"))


def script_file(locale_or_path: str | Path) -> tuple[Path, str | None]:
    """The file a `--locale` names, and the locale its name promises (None for a path as given):
    "zh-CN" -> (resources/scripts/zh-CN.toml, "zh-CN"); a path (or anything ending in .toml) as given."""
    text = str(locale_or_path)
    if isinstance(locale_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(locale_or_path), None
    return scripts_dir() / f"{text}.toml", text


def load_script(locale_or_path: str | Path) -> Script:
    """"zh-CN" -> resources/scripts/zh-CN.toml; a path (or anything ending in .toml) as given."""
    path, locale = script_file(locale_or_path)
    if locale is None:
        return _load_file(path, expected_locale=None)
    if not path.is_file():
        available = ", ".join(available_locales()) or "none"
        raise ScriptError(f"unknown script locale {locale!r} (available: {available}; folder {path.parent})")
    return _load_file(path, expected_locale=locale)


def _load_file(path: Path, expected_locale: str | None) -> Script:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScriptError(f"{path}: script file not found") from None
    except OSError as e:
        raise ScriptError(f"{path}: cannot read the script file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
        data = toml_safe.loads(text)  # deep nesting is a syntax error, not a RecursionError
    except UnicodeDecodeError as e:
        raise ScriptError(f"{path}: not UTF-8 text (byte {e.start}); save the file as UTF-8") from None
    except toml_safe.TOMLDecodeError as e:
        raise ScriptError(f"{path}: TOML syntax error: {e}") from None  # tomllib says "(at line L, column C)"
    return _build(TomlTable(path, "", data, key_lines(text)), expected_locale)


def _build(top: TomlTable, expected_locale: str | None) -> Script:
    meta = top.table("meta")
    locale = meta.text("locale")
    if not _LOCALE.match(locale):
        meta.fail("locale", f"{locale!r} is not a locale like zh-CN, zh-TW or en")
    if expected_locale is not None and locale != expected_locale:
        meta.fail("locale", f"{locale!r} does not match the file name {expected_locale}.toml")
    language = meta.text("language")  # the language's own name, for the settings dialog
    meta.finish()

    defaults = top.table("defaults")
    company = _name(defaults, "company")
    title = _name(defaults, "title")
    hours = defaults.integer("hours", 1, 720)
    defaults.finish()

    timing = _timing(top.table("timing"))
    greeting_rules = _greeting(top.table("greeting"))
    ladders = _ladders(top.table("ladder"))
    on_demand, on_demand_titles = _on_demand(top.table("on_demand"))
    forbidden_table = top.table("forbidden")
    forbidden = tuple(forbidden_table.texts("phrases"))
    forbidden_table.finish()
    labels = _labels(top.table("labels"))
    coach = _coach(top.table("coach"))
    top.finish()
    return Script(
        locale=locale, path=top.file, company=company, title=title, hours=hours, timing=timing,
        ladders=ladders, greeting_rules=greeting_rules, on_demand=on_demand, forbidden=forbidden,
        labels=labels, on_demand_titles=on_demand_titles, language=language, coach=coach,
    )


def _name(table: TomlTable, key: str) -> str:
    value = table.value(key)
    try:
        return check_name(key, value)
    except ScriptError as e:
        table.fail(key, str(e).split(": ", 1)[1])


def _timing(table: TomlTable) -> Timing:
    values = {key: table.number(key, low, high, unit) for key, (low, high, unit) in TIMING_LIMITS.items()}
    table.finish()
    return Timing(**values)


def _minute(table: TomlTable, key: str, *, end: bool) -> int:
    value = table.value(key)
    if isinstance(value, time):  # TOML local time: from = 08:30:00
        if value.second or value.microsecond:
            table.fail(key, f"{value} has seconds; greetings change on whole minutes (HH:MM)")
        return value.hour * 60 + value.minute
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        table.fail(key, f"expected a time of day \"HH:MM\", got {value!r}")
    minute = int(match.group(1)) * 60 + int(match.group(2))
    last = MINUTES_PER_DAY if end else MINUTES_PER_DAY - 1
    if int(match.group(2)) > 59 or minute > last:
        table.fail(key, f"{value} is not a time of day (00:00..{'24:00' if end else '23:59'})")
    return minute


def _greeting(table: TomlTable) -> GreetingRules:
    default = table.text("default")
    ranges: list[tuple[TimeOfDayRule, TomlTable]] = []
    for entry in table.tables("time_of_day"):
        start, end = _minute(entry, "from", end=False), _minute(entry, "to", end=True)
        rule = TimeOfDayRule(start, end, entry.text("text"))
        if rule.end_minute <= rule.start_minute:
            entry.fail("to", f"{rule} is empty or wraps past midnight; split it at 24:00")
        entry.finish()
        ranges.append((rule, entry))
    by_start = sorted(ranges, key=lambda pair: pair[0].start_minute)
    for (before, before_entry), (after, after_entry) in itertools.pairwise(by_start):
        if after.start_minute < before.end_minute:
            after_entry.fail(None, f"{after} overlaps {before_entry.key} {before}")
    holidays = tuple(_holiday(entry) for entry in table.tables("holiday"))
    table.finish()
    return GreetingRules(default=default, time_of_day=tuple(r for r, _ in ranges), holidays=holidays)


def _holiday(entry: TomlTable) -> HolidayRule:
    name = entry.text("name")
    calendar = entry.text("calendar")
    if calendar not in HOLIDAY_CALENDARS:
        entry.fail("calendar", f"{calendar!r} is not one of {', '.join(map(repr, HOLIDAY_CALENDARS))}")
    cal: HolidayCalendar = calendar
    month = day = 0
    if cal == "lunar_new_year_eve":
        for key in ("month", "day"):
            if key in entry.data:
                entry.fail(key, "not used with calendar = \"lunar_new_year_eve\" (the day before lunar 1/1)")
    else:
        month = entry.integer("month", 1, 12, note=f"{cal} calendar")
        last_day = 30 if cal == "lunar" else (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
        day = entry.integer("day", 1, last_day, note=f"{cal} month {month}")
    days = entry.integer("days", 1, MAX_HOLIDAY_DAYS, default=1)
    text = entry.text("text")
    entry.finish()
    return HolidayRule(name=name, calendar=cal, month=month, day=day, days=days, text=text)


def _ladders(table: TomlTable) -> Mapping[str, Ladder]:
    ladders = {protocol: _ladder(table.table(protocol), protocol) for protocol in LADDER_SHAPES}
    table.finish()
    return MappingProxyType(ladders)


def _ladder(table: TomlTable, protocol: str) -> Ladder:
    shape = LADDER_SHAPES[protocol]
    title = table.text("title")
    never_say = table.optional_text("never_say")
    may_hang_up = table.boolean("may_hang_up")
    if may_hang_up != shape.may_hang_up:
        table.fail("may_hang_up", f"must be {str(shape.may_hang_up).lower()} for {protocol} "
                                  f"(the service standard: {shape.why})")
    hang_up_note = table.optional_text("hang_up_note")
    if hang_up_note is not None and not may_hang_up:
        table.fail("hang_up_note", "only used when may_hang_up = true")
    entries = table.tables("step")
    if len(entries) != shape.steps:
        count = f"{len(entries)} step" + ("" if len(entries) == 1 else "s")
        table.fail("step", f"has {count}; the service standard's {protocol} protocol has exactly "
                           f"{shape.steps} ({shape.why})")
    steps = []
    for number, entry in enumerate(entries, start=1):
        step = Step(text=entry.text("text", placeholders=PLACEHOLDERS),
                    wait_s=entry.number("wait_s", 0.0, MAX_WAIT_S, "s"),
                    hint=entry.optional_text("hint"))
        followed = number < shape.steps or may_hang_up  # another line or the hang-up comes after it
        if followed and step.wait_s < MIN_ANSWER_WAIT_S:
            entry.fail("wait_s", f"{step.wait_s:g} s leaves the caller no time to answer before the next "
                                 f"line; use at least {MIN_ANSWER_WAIT_S:g} s")
        entry.finish()
        steps.append(step)
    table.finish()
    return Ladder(protocol=protocol, title=title, steps=tuple(steps), never_say=never_say,
                  may_hang_up=may_hang_up, hang_up_note=hang_up_note)


def _on_demand(table: TomlTable) -> tuple[Mapping[str, str], Mapping[str, str]]:
    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    for key in REQUIRED_ON_DEMAND:
        table.table(key)  # a clear "missing" error before the loop below meets the others
    for key in table.data:
        if not _KEY.match(key):
            table.fail(key, "keys are lower-case letters, digits and _ (like late_answer)")
        entry = table.table(key)
        titles[key] = entry.text("title")
        texts[key] = entry.text("text", placeholders=PLACEHOLDERS)
        entry.finish()
    return MappingProxyType(texts), MappingProxyType(titles)


def _coach(table: TomlTable) -> Mapping[str, str]:
    """One hint per coaching kind, shown as written (no placeholders); no other keys."""
    texts = {kind: table.text(kind) for kind in COACH_KINDS}
    table.finish()
    return MappingProxyType(texts)


def _labels(table: TomlTable) -> Mapping[str, str]:
    labels = {key: table.text(key) for key in REQUIRED_LABELS}
    labels.update({key: table.text(key) for key in table.data if key not in labels})
    return MappingProxyType(labels)
