"""The settings dialog's data side, without Qt: field table, change diff, load-time checks."""

from __future__ import annotations

import pytest

from softphone_assist.config import ConfigError
from softphone_assist.ui.hotkey_combos import HotkeyError
from softphone_assist.ui.settings_model import (
    FIELDS,
    check_settings,
    diff_settings,
    get_path,
    set_path,
    timing_fields,
)


def test_field_keys_are_unique_and_labelled_in_three_languages() -> None:
    keys = [f.key for f in FIELDS]
    assert len(keys) == len(set(keys))
    assert all(all(label for label in f.labels) for f in FIELDS)
    assert {"company", "agent_title", "locale", "devices.caller", "devices.agent", "devices.speak_to",
            "detector.speech_level_dbov", "tts.voice", "tts.rate", "tts.mode", "tts.outputs",
            "hotkeys.speak", "hotkeys.end", "overlay.calm_hide_after_s"} <= set(keys)


def test_paths() -> None:
    data: dict = {}
    set_path(data, ("tts", "rate"), 180)
    set_path(data, ("company",), "星河")
    assert data == {"tts": {"rate": 180}, "company": "星河"}
    assert get_path(data, ("tts", "rate")) == 180
    assert get_path(data, ("tts", "voice"), "x") == "x"
    assert get_path(data, ("company", "x"), None) is None


def test_diff_reports_only_changed_leaves_nested() -> None:
    before = {"company": "星河", "detector": {"pause_s": 0.6}, "tts": {"rate": 200}}
    after = {"company": "星河通信", "detector": {"pause_s": 0.6}, "tts": {"rate": 200.0, "mode": "auto"}}
    assert diff_settings(before, after, FIELDS) == {"company": "星河通信", "tts": {"mode": "auto"}}


def test_diff_compares_against_defaults_when_a_key_is_missing() -> None:
    # the user layer is empty; the dialog shows defaults; unchanged defaults are not "changes"
    after = {"detector": {"speech_level_dbov": -37.0}, "overlay": {"click_through": False}}
    assert diff_settings({}, after, FIELDS) == {}
    assert diff_settings({}, {"overlay": {"click_through": True}}, FIELDS) == {"overlay": {"click_through": True}}


def test_timing_fields_come_from_the_current_settings() -> None:
    specs = timing_fields({"timings": {"repeat_wait_s": 5, "custom_s": 2.5}})
    assert [(s.key, s.default, s.label("zh-CN")) for s in specs] == [
        ("timings.custom_s", 2.5, "custom_s"), ("timings.repeat_wait_s", 5.0, "重复前等待")]
    assert timing_fields({}) == ()


def test_check_settings_raises_the_loaders_errors() -> None:
    check_settings({"detector": {"speech_level_dbov": -40.0}, "hotkeys": {"speak": "<f9>"}})
    with pytest.raises(ConfigError, match=r"detector\.pause_s: 9\.0 is outside 0\.05\.\.5 s"):
        check_settings({"detector": {"pause_s": 9.0}})
    with pytest.raises(HotkeyError, match=r"hotkeys\.skip: '<f9>' is already used by hotkeys\.speak"):
        check_settings({"hotkeys": {"speak": "<f9>", "skip": "<f9>"}})
