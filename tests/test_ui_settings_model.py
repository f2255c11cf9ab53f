"""The settings dialog's data side, without Qt: keys of the settings module, diff, checks."""

from __future__ import annotations

from typing import Any

import pytest

from softphone_assist.core.config import ConfigError
from softphone_assist.settings.layers import Settings, SettingsError, TtsSettings
from softphone_assist.ui.hotkey_combos import HotkeyError
from softphone_assist.ui.settings_model import (
    FIELDS,
    OPTIONAL_FIELDS,
    check_settings,
    dialog_fields,
    diff_settings,
    get_path,
    known_to_settings,
    set_path,
    settings_values,
)


def test_every_field_is_a_key_of_the_settings_module() -> None:
    # save_user_settings refuses unknown keys: a renamed key there must fail here, not at save
    assert [f.key for f in FIELDS if not known_to_settings(f.path)] == []
    keys = [f.key for f in FIELDS]
    assert len(keys) == len(set(keys))
    assert all(all(label for label in f.labels) for f in (*FIELDS, *OPTIONAL_FIELDS))


def test_optional_fields_appear_only_when_the_settings_know_them() -> None:
    assert not known_to_settings(("overlay", "no_such_key"))
    shown = {f.key for f in dialog_fields()}
    for f in OPTIONAL_FIELDS:
        assert (f.key in shown) == known_to_settings(f.path)


def test_settings_values_nest_the_dataclasses() -> None:
    values = settings_values(Settings(company="星河", tts=TtsSettings(outputs=("headset", "speak_to"))))
    assert values["company"] == "星河"
    assert values["tts"]["outputs"] == ["headset", "speak_to"]
    assert values["detector"]["pause_s"] == 0.6
    assert values["hotkeys"]["speak"] == "Ctrl+Alt+S"
    assert values["timing"]["dead_air_after_s"] is None
    assert "sources" not in values


def test_paths() -> None:
    data: dict[str, Any] = {}
    set_path(data, ("tts", "rate"), 180)
    set_path(data, ("company",), "星河")
    assert data == {"tts": {"rate": 180}, "company": "星河"}
    assert get_path(data, ("tts", "rate")) == 180
    assert get_path(data, ("tts", "voice"), "x") == "x"
    assert get_path(data, ("company", "x")) is None


def test_diff_reports_only_changed_leaves_nested() -> None:
    before = settings_values(Settings())
    after = settings_values(Settings())
    after["company"] = "星河通信"
    after["tts"]["mode"] = "auto"
    after["tts"]["outputs"] = ("headset",)  # a tuple equals the list it was
    after["detector"]["vad_mode"] = 3.0  # 3 from a file equals 3.0 from a box
    after["timing"]["dead_air_after_s"] = 12.0
    assert diff_settings(before, after, FIELDS) == {
        "company": "星河通信", "tts": {"mode": "auto"}, "timing": {"dead_air_after_s": 12.0}}
    back = settings_values(Settings())
    before["timing"]["dead_air_after_s"] = 12.0
    assert diff_settings(before, back, FIELDS) == {"timing": {"dead_air_after_s": None}}  # None: unset


def test_diff_does_not_confuse_false_with_zero() -> None:
    zero = {"overlay": {"click_through": 0}}
    assert diff_settings({"overlay": {"click_through": False}}, zero, FIELDS) == zero


def test_check_settings_raises_what_the_loader_would() -> None:
    check_settings({"detector": {"speech_level_dbov": -40.0}, "hotkeys": {"speak": "F9"}})
    with pytest.raises(ConfigError, match=r"detector\.pause_s: 9\.0 is outside 0\.05\.\.5 s"):
        check_settings({"detector": {"pause_s": 9.0}})
    with pytest.raises(HotkeyError, match=r"hotkeys\.skip: 'F9' is already used by hotkeys\.speak"):
        check_settings({"hotkeys": {"speak": "F9", "skip": "F9"}})
    with pytest.raises(SettingsError, match=r"^tts\.outputs: choose at least one"):
        check_settings({"tts": {"outputs": []}})


def test_locked_keys_are_never_in_the_diff() -> None:
    from softphone_assist.ui.settings_model import locked_keys

    before = settings_values(Settings())
    after = {**before, "company": "Mine", "title": "女士", "tts": {**before["tts"], "mode": "auto"}}
    assert diff_settings(before, after, FIELDS, locked={"company", "tts.mode"}) == {"title": "女士"}
    assert diff_settings(before, after, FIELDS) == {"company": "Mine", "title": "女士", "tts": {"mode": "auto"}}
    s = Settings(locked=frozenset({"company"}))
    assert locked_keys(s) == {"company"} and locked_keys(before) == frozenset()
    assert "locked" not in settings_values(s) and "sources" not in settings_values(s)


def test_autostart_is_a_general_checkbox() -> None:
    spec = next(f for f in FIELDS if f.key == "autostart")
    assert (spec.kind, spec.section, spec.label("en")) == ("bool", "general", "Start when I log in")
