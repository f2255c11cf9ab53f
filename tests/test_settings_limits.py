"""One table of limits (softphone_assist.core.limits): whatever the settings accept, the script model accepts
too, so no saved setting can stop the app at start-up; the shipped languages are listed once."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict
from pathlib import Path

import pytest

from softphone_assist.core import limits
from softphone_assist.core.errors import ScriptError
from softphone_assist.core.script.loader import available_locales, load_script
from softphone_assist.core.script.model import TIMING_LIMITS
from softphone_assist.settings import layers as st
from softphone_assist.settings.checks import Invalid
from softphone_assist.ui import strings
from softphone_assist.ui.settings_dialog import _SECTION_TITLES, _WORDS
from softphone_assist.ui.settings_model import FIELDS, OPTIONAL_FIELDS, pick

SCRIPTS = {locale: load_script(locale) for locale in limits.LOCALES}


def _around(x: float) -> list[float]:
    return [x, math.nextafter(x, -math.inf), math.nextafter(x, math.inf), x - 0.5, x + 0.5, x - 1, x + 1]


def number_candidates() -> list[object]:
    """Boundary values of every range, values once used by either side, and odd TOML numbers."""
    values: list[object] = [0, 0.0, -0.0, 0.1, 60, 60.5, 119, 120, 121, 600, 601, 760, 2999, 3000, 3001,
                            math.nan, math.inf, -math.inf, True, False, "5", None]
    for r in limits.RANGES.values():
        values += _around(r.low) + _around(r.high) + [int(r.low), int(r.high)]
    return values


def name_candidates() -> list[object]:
    base = ["Acme", "星河通信", "先生/女士", "", " ", "  Acme  ", "a{b", "a}b", "{company}", "a\nb", "a\rb",
            "a\tb", "a\x7fb", "a\x00b", 3, None, True]
    for n in (limits.NAME_MAX_CHARS - 1, limits.NAME_MAX_CHARS, limits.NAME_MAX_CHARS + 1, 200):
        base += ["x" * n, "客" * n, " " + "x" * n + " ", "x" * (n - 1) + "{"]
    return base


def accepted(key: str, raw: object) -> tuple[bool, object]:
    try:
        return True, st.check_value(key, raw)
    except Invalid:
        return False, None


@pytest.mark.parametrize("locale", limits.LOCALES)
@pytest.mark.parametrize("field", sorted(TIMING_LIMITS))
def test_every_timing_the_settings_accept_the_script_accepts(locale: str, field: str) -> None:
    script = SCRIPTS[locale]
    tried = 0
    for raw in number_candidates():
        ok, value = accepted(f"timing.{field}", raw)
        if ok:
            assert isinstance(value, float)
            tried += 1
            assert getattr(script.with_overrides(timing={field: value}).timing, field) == value
    assert tried >= 6  # the low and high bounds and the values just inside them at least


@pytest.mark.parametrize("locale", limits.LOCALES)
@pytest.mark.parametrize("key", ["company", "title"])
def test_every_name_the_settings_accept_the_script_accepts(locale: str, key: str) -> None:
    script = SCRIPTS[locale]
    tried = 0
    for raw in name_candidates():
        ok, value = accepted(key, raw)
        if ok and value:  # "" keeps the script's (app.script_for passes None)
            assert isinstance(value, str)
            tried += 1
            changed = script.with_overrides(company=value) if key == "company" else script.with_overrides(title=value)
            assert getattr(changed, key) == value
    assert tried >= 6


def test_the_boundaries_are_the_same_on_both_sides() -> None:
    script = SCRIPTS["zh-CN"]
    for field, (low, high, _) in TIMING_LIMITS.items():
        r = limits.RANGES[f"timing.{field}"]
        assert (low, high) == (r.low, r.high)
        for outside in (math.nextafter(low, -math.inf), math.nextafter(high, math.inf)):
            assert not accepted(f"timing.{field}", outside)[0]
            with pytest.raises(ScriptError):
                script.with_overrides(timing={field: outside})
    # the values the issue found accepted by one side only
    assert accepted("timing.chars_per_minute", 760)[0]  # the en script's own rate
    assert accepted("timing.caller_silent_after_s", 90)[0]
    assert not accepted("company", "x" * 81)[0] and not accepted("company", "{Acme}")[0]


def test_a_settings_file_at_the_limits_starts_the_app_script(tmp_path: Path) -> None:
    """The path the app takes at start-up: load the settings, then app.script_for (with_overrides)."""
    from softphone_assist.live.compose import script_for

    cases = itertools.product(["low", "high"], limits.LOCALES)
    for end, locale in cases:
        timing = "\n".join(f"{f} = {getattr(limits.TIMING_RANGES[f], end)}" for f in TIMING_LIMITS)
        name = "客" * limits.NAME_MAX_CHARS
        f = tmp_path / f"{end}-{locale}.toml"
        f.write_text(f'company = "{name}"\ntitle = "{name}"\nlocale = "{locale}"\n[timing]\n{timing}\n',
                     encoding="utf-8")
        s, problems = st.load_settings([f])
        assert problems == []
        script = script_for(s)
        assert script.company == name and script.locale == locale
        assert asdict(script.timing) == {k: getattr(limits.TIMING_RANGES[k], end) for k in TIMING_LIMITS}


def test_the_dialog_offers_only_values_the_settings_accept() -> None:
    for spec in (*FIELDS, *OPTIONAL_FIELDS):
        if spec.kind in ("float", "int") and spec.key in limits.RANGES:
            r = limits.RANGES[spec.key]
            assert r.low <= spec.minimum and spec.maximum <= r.high, spec.key
            assert accepted(spec.key, spec.minimum)[0] and accepted(spec.key, spec.maximum)[0]


def test_the_languages_are_listed_once() -> None:
    assert st.LOCALES is limits.LOCALES and strings.LOCALES is limits.LOCALES
    assert strings.DEFAULT_LOCALE == limits.LOCALES[0] == st.Settings().locale
    assert set(limits.LOCALES) <= set(available_locales())  # each has its script file
    assert set(strings._TABLES) == set(limits.LOCALES)  # ... and its UI strings
    assert set(_SECTION_TITLES) == set(_WORDS) == set(limits.LOCALES)  # ... and its dialog words
    locale_field = next(f for f in FIELDS if f.key == "locale")
    assert [c for c, _ in locale_field.choices] == list(limits.LOCALES)
    assert [pick(("a", "b", "c"), loc) for loc in limits.LOCALES] == ["a", "b", "c"]


def test_the_settings_module_takes_its_locales_from_the_one_list() -> None:
    source = Path(st.__file__).read_text(encoding="utf-8") + Path(strings.__file__).read_text(encoding="utf-8")
    assert '("zh-CN", "zh-TW", "en")' not in source
