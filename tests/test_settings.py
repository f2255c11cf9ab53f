"""Settings: layering, one clear message per bad value (defaults kept), round trip of the user file."""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.errors import UserError
from softphone_assist.settings import layers as st
from softphone_assist.settings.layers import Settings, SettingsError, dump_toml, load_settings, save_user_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load(*files: Path) -> tuple[Settings, list[str]]:
    return load_settings(list(files))


# --------------------------------------------------------------------------------------------
# Layering
# --------------------------------------------------------------------------------------------
def test_no_files_give_the_defaults_and_no_problems(tmp_path: Path) -> None:
    s, problems = load(tmp_path / "machine.toml", tmp_path / "user.toml")
    assert problems == []
    assert s == Settings()
    assert (s.locale, s.tts.mode, s.tts.outputs, s.log.record_audio) == (
        "zh-CN",
        "on_request",
        ("headset",),
        False,
    )
    assert s.detector == DetectorConfig()


def test_user_wins_over_machine_and_the_extra_file_over_both(tmp_path: Path) -> None:
    machine = write(
        tmp_path / "machine.toml",
        'company = "Acme"\nlocale = "en"\n[tts]\nmode = "off"\nrate = 150\n[detector]\npause_s = 0.8\n',
    )
    user = write(
        tmp_path / "user.toml", '[tts]\nmode = "auto"\n[devices]\ncaller = "CABLE Output"\nagent = 2\n'
    )
    extra = write(tmp_path / "extra.toml", "[devices]\nagent = 3\n")
    s, problems = load(machine, user, extra)
    assert problems == []
    assert (s.company, s.locale) == ("Acme", "en")  # only the machine file says so
    assert (s.tts.mode, s.tts.rate) == ("auto", 150)  # key by key: user mode, machine rate
    assert s.detector.pause_s == 0.8 and s.detector.vad_mode == 3
    assert s.devices == st.DeviceSettings(caller="CABLE Output", agent=3)
    assert s.sources == (str(machine), str(user), str(extra))


def test_default_paths_are_machine_user_and_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv(st.ENV_CONFIG, raising=False)
    assert st.default_paths() == [
        Path("/etc/softphone-assist/config.toml"),
        tmp_path / "cfg" / "softphone-assist" / "config.toml",
    ]
    monkeypatch.setenv(st.ENV_CONFIG, str(tmp_path / "extra.toml"))
    assert st.default_paths()[-1] == tmp_path / "extra.toml"


def test_the_env_file_is_read_and_a_missing_one_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv(st.ENV_CONFIG, str(write(tmp_path / "extra.toml", 'title = "女士"\n')))
    s, problems = load_settings()
    assert s.title == "女士" and problems == []
    monkeypatch.setenv(st.ENV_CONFIG, str(tmp_path / "missing.toml"))
    s, problems = load_settings()
    assert s == Settings(sources=())
    assert problems == [
        f"{tmp_path / 'missing.toml'}: file not found (named by SOFTPHONE_ASSIST_CONFIG); ignored"
    ]


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {}, Path("/etc/softphone-assist/config.toml")),
        ("darwin", {}, Path("/Library/Application Support/softphone-assist/config.toml")),
        ("win32", {"PROGRAMDATA": "D:\\PD"}, Path("D:\\PD") / "softphone-assist" / "config.toml"),
    ],
)
def test_machine_file_location_per_platform(
    monkeypatch: pytest.MonkeyPatch, platform: str, env: dict[str, str], expected: Path
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert st.machine_config_path() == expected


# --------------------------------------------------------------------------------------------
# Bad values: one message naming file + key + problem, and the value below is kept
# --------------------------------------------------------------------------------------------
BAD = [
    ('locale = "fr"', "locale: 'fr' is not one of zh-CN, zh-TW, en; keeping 'zh-CN'"),
    ("company = 3", "company: expected a string, got 3; keeping ''"),
    ('company = "a\\nb"', "company: must be one line; keeping ''"),
    ('company = "{title} Ltd"', "company: must not contain '{' or '}' (it is filled into lines); keeping ''"),
    ('company = "' + "x" * 81 + '"', "company: 81 characters is longer than 80; keeping ''"),
    ('title = "Sir\\tor Madam"', "title: must not contain control characters; keeping ''"),
    ("autostart = 1", "autostart: expected true or false, got 1; keeping false"),
    ("[timing]\nchars_per_minute = 3001", "timing.chars_per_minute: 3001 is outside 30..3000 characters per "
                                          "minute; keeping nothing"),
    ("[devices]\ncaller = -1", "devices.caller: device index -1 is negative; keeping nothing"),
    ("[devices]\nagent = true", "devices.agent: expected a string, got true; keeping nothing"),
    ("[detector]\nvad_mode = 7", "detector.vad_mode: 7 is not one of 0, 1, 2, 3; keeping 3"),
    (
        "[detector]\nspeech_level_dbov = 5",
        "detector.speech_level_dbov: 5 is outside -90..0 dBov; keeping -37.0",
    ),
    ('[detector]\npause_s = "0.6"', "detector.pause_s: expected a number, got '0.6'; keeping 0.6"),
    ("[timing]\ndead_air_after_s = 0.5", "timing.dead_air_after_s: 0.5 is outside 1..300 s; keeping nothing"),
    (
        "[timing]\nchars_per_minute = true",
        "timing.chars_per_minute: expected a number, got true; keeping nothing",
    ),
    ('[tts]\nmode = "loud"', "tts.mode: 'loud' is not one of off, on_request, auto; keeping 'on_request'"),
    ("[tts]\nrate = 1.5", "tts.rate: expected a whole number, got 1.5; keeping nothing"),
    ("[tts]\nrate = 1000", "tts.rate: 1000 is outside 50..400; keeping nothing"),
    ("[overlay]\ncalm_hide_after_s = 0.5", "overlay.calm_hide_after_s: 0.5 is outside 1..3600 s; keeping nothing"),
    (
        "[tts]\noutputs = []",
        'tts.outputs: expected a non-empty list of headset, speak_to (use mode = "off" for none); '
        "keeping ['headset']",
    ),
    (
        '[tts]\noutputs = ["speakers"]',
        "tts.outputs: 'speakers' is not one of headset, speak_to; keeping ['headset']",
    ),
    ('[tts]\noutputs = ["headset", "headset"]', "tts.outputs: lists a device twice; keeping ['headset']"),
    (
        '[hotkeys]\nspeak = "Hyper+S"',
        "hotkeys.speak: 'Hyper+S': 'Hyper' is not a modifier (Ctrl, Alt, Shift, Meta); keeping 'Ctrl+Alt+S'",
    ),
    (
        '[hotkeys]\nspeak = "Ctrl+Alt+Banana"',
        "hotkeys.speak: 'Ctrl+Alt+Banana': 'Banana' is not a key "
        "(a letter, a digit, F1..F24, Space, Enter, ...); keeping 'Ctrl+Alt+S'",
    ),
    (
        '[hotkeys]\nskip = "n"',
        "hotkeys.skip: 'n' needs a modifier such as Ctrl+Alt (a bare key would steal typing); "
        "keeping 'Ctrl+Alt+N'",
    ),
    (
        '[hotkeys]\nhold = "Ctrl+ctrl+H"',
        "hotkeys.hold: 'Ctrl+ctrl+H' repeats a modifier; keeping 'Ctrl+Alt+H'",
    ),
    (
        '[overlay]\nclick_through = "yes"',
        "overlay.click_through: expected true or false, got 'yes'; keeping false",
    ),
    ("[overlay]\nopacity = 0.1", "overlay.opacity: 0.1 is outside 0.2..1; keeping 0.9"),
    ("[overlay]\nx = 1.5", "overlay.x: expected a whole number, got 1.5; keeping nothing"),
    ("[log]\nenabled = 1", "log.enabled: expected true or false, got 1; keeping true"),
    (
        "[log]\nrecord_audio = true",
        "log.record_audio: softphone-assist never records audio; only false is allowed; keeping false",
    ),
    ("tts = 3", "tts: must be a table ([tts]), got 3; ignored"),
    ('[tts]\nmdoe = "auto"', "tts.mdoe: unknown setting (did you mean tts.mode?), ignored"),
    ("[foo]\nbar = 1", "foo: unknown setting, ignored"),
]


@pytest.mark.parametrize(
    ("toml", "message"), BAD, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(BAD)]
)
def test_each_bad_value_is_reported_and_the_default_kept(tmp_path: Path, toml: str, message: str) -> None:
    f = write(tmp_path / "user.toml", toml if toml.startswith("company") else 'company = "Kept"\n' + toml)
    s, problems = load(f)
    assert problems == [f"{f}: {message}"]
    expected_company = "" if toml.startswith("company") else "Kept"  # the other keys still apply
    assert s == Settings(company=expected_company, sources=(str(f),))


def test_a_bad_user_value_keeps_the_machine_value(tmp_path: Path) -> None:
    machine = write(tmp_path / "machine.toml", '[tts]\nmode = "auto"\n')
    user = write(tmp_path / "user.toml", '[tts]\nmode = "loud"\n')
    s, problems = load(machine, user)
    assert s.tts.mode == "auto"
    assert problems == [f"{user}: tts.mode: 'loud' is not one of off, on_request, auto; keeping 'auto'"]


def test_a_broken_toml_file_is_ignored_as_a_whole(tmp_path: Path) -> None:
    machine = write(tmp_path / "machine.toml", 'locale = "en"\n')
    user = write(tmp_path / "user.toml", 'company = "Acme"\n[tts\nmode = "auto"\n')
    s, problems = load(machine, user)
    assert (s.locale, s.company, s.tts.mode) == ("en", "", "on_request")
    assert len(problems) == 1
    assert problems[0].startswith(f"{user}: not valid TOML (")
    assert "line 2" in problems[0] and problems[0].endswith("); the whole file is ignored")
    assert s.sources == (str(machine),)


def test_a_file_that_is_not_utf8_is_ignored(tmp_path: Path) -> None:
    f = tmp_path / "user.toml"
    f.write_bytes('company = "公司"\n'.encode("gb18030"))
    s, problems = load(f)
    assert s.company == ""
    assert problems[0].startswith(f"{f}: not valid TOML (") and "utf-8" in problems[0]


def test_a_utf8_bom_from_notepad_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "user.toml"
    f.write_bytes(b"\xef\xbb\xbf" + 'company = "公司"\n'.encode())
    assert load(f) == (Settings(company="公司", sources=(str(f),)), [])


def test_an_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = write(tmp_path / "user.toml", 'company = "x"\n')
    real = Path.read_bytes

    def denied(self: Path) -> bytes:  # chmod 0 does not stop root, so fake what a user would get
        if self == f:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    s, problems = load(f)
    assert s.company == "" and problems == [f"{f}: cannot be read (Permission denied); ignored"]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("ctrl + alt + s", "Ctrl+Alt+S"),
        ("Shift+Ctrl+f5", "Ctrl+Shift+F5"),
        ("Win+Alt+pgdn", "Alt+Meta+PageDown"),
        ("F9", "F9"),
        ("pause", "Pause"),
        ("Ctrl+Alt+escape", "Ctrl+Alt+Esc"),
        ("", ""),
    ],
)
def test_hotkeys_are_normalized_to_qt_text(tmp_path: Path, given: str, canonical: str) -> None:
    f = write(tmp_path / "user.toml", f'[hotkeys]\nspeak = "{given}"\n')
    s, problems = load(f)
    assert problems == [] and s.hotkeys.speak == canonical


def test_a_hotkey_clash_falls_back_to_the_default_or_off(tmp_path: Path) -> None:
    f = write(tmp_path / "user.toml", '[hotkeys]\nspeak = "Ctrl+Alt+N"\nskip = "Ctrl+Alt+N"\n')
    s, problems = load(f)
    assert (s.hotkeys.speak, s.hotkeys.skip) == ("Ctrl+Alt+N", "")  # skip's default is speak's key now
    assert problems == [
        f"{f}: hotkeys.skip: Ctrl+Alt+N is already used by hotkeys.speak; using nothing (disabled)"
    ]
    f = write(tmp_path / "user.toml", '[hotkeys]\nhold = "ctrl+alt+s"\n')
    s, problems = load(f)
    assert (s.hotkeys.speak, s.hotkeys.hold) == ("Ctrl+Alt+S", "Ctrl+Alt+H")
    assert problems == [f"{f}: hotkeys.hold: Ctrl+Alt+S is already used by hotkeys.speak; using 'Ctrl+Alt+H'"]


@pytest.mark.parametrize(
    "toml",
    [
        "devices = [1, 2]",
        "[detector]\npause_s = {a = 1}",
        "[tts]\noutputs = [1, true]",
        "locale = []",
        "x = 1979-05-27",
    ],
)
def test_odd_shapes_never_raise(tmp_path: Path, toml: str) -> None:
    s, problems = load(write(tmp_path / "user.toml", toml + "\n"))
    assert len(problems) == 1
    assert dataclasses.replace(s, sources=()) == Settings()


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().locale = "en"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Saving the user layer
# --------------------------------------------------------------------------------------------
def test_save_writes_only_the_user_file_and_loads_back(tmp_path: Path) -> None:
    machine = write(tmp_path / "machine.toml", '# IT\'s comment\nlocale = "en"\n[tts]\nmode = "off"\n')
    before = machine.read_bytes()
    user = tmp_path / "cfg" / "config.toml"
    out = save_user_settings(
        {
            "tts": {"mode": "auto", "outputs": ("speak_to", "headset")},
            "hotkeys.speak": "ctrl+shift+f1",
            "company": 'Acme "Call" \\ 中心',
            "devices": {"agent": 1},
            "overlay.opacity": 0.75,
        },
        path=user,
    )
    assert out == user and machine.read_bytes() == before
    s, problems = load(machine, user)
    assert problems == []
    assert (s.locale, s.tts.mode, s.tts.outputs) == ("en", "auto", ("speak_to", "headset"))
    assert (s.hotkeys.speak, s.company, s.devices.agent, s.overlay.opacity) == (
        "Ctrl+Shift+F1",
        'Acme "Call" \\ 中心',
        1,
        0.75,
    )
    assert sorted(p.name for p in user.parent.iterdir()) == ["config.toml"]  # no temp file left


def test_save_merges_with_the_existing_user_file_and_none_removes_a_key(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", 'locale = "zh-TW"\n[tts]\nmode = "auto"\nrate = 200\n')
    save_user_settings({"tts.rate": None, "overlay": {"x": 10, "y": -20}}, path=user)
    assert tomllib.loads(user.read_text()) == {
        "locale": "zh-TW",
        "tts": {"mode": "auto"},
        "overlay": {"x": 10, "y": -20},
    }
    save_user_settings({"tts.mode": None}, path=user)
    assert tomllib.loads(user.read_text()) == {"locale": "zh-TW", "overlay": {"x": 10, "y": -20}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tts.mode": "loud"}, "tts.mode: 'loud' is not one of off, on_request, auto"),
        ({"tts": {"mdoe": "auto"}}, "tts.mdoe: unknown setting (did you mean tts.mode?)"),
        (
            {"log.record_audio": True},
            "log.record_audio: softphone-assist never records audio; only false is allowed",
        ),
        ({"detector.vad_mode": 9}, "detector.vad_mode: 9 is not one of 0, 1, 2, 3"),
    ],
)
def test_an_invalid_change_raises_and_writes_nothing(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    user = write(tmp_path / "user.toml", 'company = "Acme"\n')
    with pytest.raises(SettingsError) as e:
        save_user_settings({"locale": "en", **changes}, path=user)
    assert str(e.value) == message
    assert isinstance(e.value, UserError)
    assert user.read_text() == 'company = "Acme"\n'


def test_save_refuses_to_overwrite_a_broken_user_file(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", "company = \n")
    with pytest.raises(SettingsError, match=r"cannot update it \(.*\); fix or delete the file first"):
        save_user_settings({"locale": "en"}, path=user)
    assert user.read_text() == "company = \n"


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write(tmp_path / "user.toml", 'locale = "en"\n')

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space left"):
        save_user_settings({"locale": "zh-TW"}, path=user)
    assert user.read_text() == 'locale = "en"\n'
    assert [p.name for p in tmp_path.iterdir()] == ["user.toml"]


def test_save_defaults_to_the_platform_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert save_user_settings({"locale": "en"}) == tmp_path / "softphone-assist" / "config.toml"
    assert (tmp_path / "softphone-assist" / "config.toml").read_text() == 'locale = "en"\n'


# --------------------------------------------------------------------------------------------
# The TOML writer
# --------------------------------------------------------------------------------------------
def test_dump_toml_round_trips_tricky_values() -> None:
    data: dict[str, Any] = {
        "plain": "text",
        "quotes": 'say "hi" \\ there',
        "controls": "tab\tnew\nline\rcr\x01\x7f\b\f",
        "cjk": "您好，欢迎致电！😀",
        "empty": "",
        "flags": [True, False],
        "numbers": [0, -7, 1.5, 1e-7, 12345678901234],
        "key with space": 1,
        "中文键": "v",
        "tts": {"mode": "auto", "outputs": ["headset"], "nested": {"deep": 0.25}},
        "empty_table": {},
    }
    text = dump_toml(data)
    assert tomllib.loads(text) == data


def test_dump_toml_puts_top_level_keys_before_tables() -> None:
    assert dump_toml({"tts": {"mode": "off"}, "locale": "en"}) == 'locale = "en"\n\n[tts]\nmode = "off"\n'


@pytest.mark.parametrize("value", [None, object(), {1, 2}])
def test_dump_toml_refuses_what_it_cannot_write(value: Any) -> None:
    with pytest.raises(TypeError, match="cannot write"):
        dump_toml({"k": value})


@pytest.mark.parametrize("value,expected", [("30", 30.0), ("0", None), ("-3", None)])
def test_overlay_hides_when_calm_only_when_asked(tmp_path: Path, value: str, expected: float | None) -> None:
    s, problems = load(write(tmp_path / "user.toml", f"[overlay]\ncalm_hide_after_s = {value}\n"))
    assert s.overlay.calm_hide_after_s == expected
    assert bool(problems) == (value == "-3")  # a negative time is reported; the default (never) is kept
