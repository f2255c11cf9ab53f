"""IT's policy: [policy] locked in the machine file beats the user's file and $SOFTPHONE_ASSIST_CONFIG;
bad policy entries are reported like any bad setting; saving never writes a locked key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from softphone_assist.settings import layers as st
from softphone_assist.settings.layers import Origin, load_report, load_settings, save_user_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    return write(tmp_path / "machine.toml", 'company = "Acme"\nlocale = "en"\n[tts]\nmode = "off"\n'
                 '[policy]\nlocked = ["company", "locale", "tts.mode", "autostart"]\n')


@pytest.fixture
def user(tmp_path: Path) -> Path:
    return write(tmp_path / "user.toml", 'company = "Mine"\ntitle = "女士"\nautostart = true\n'
                 '[tts]\nmode = "auto"\nrate = 180\n')


def test_locked_keys_ignore_the_user_file(machine: Path, user: Path) -> None:
    report = load_report([machine, user])
    s = report.settings
    assert (s.company, s.locale, s.tts.mode, s.autostart) == ("Acme", "en", "off", False)
    assert (s.title, s.tts.rate) == ("女士", 180)  # not locked: the user's
    assert s.locked == {"company", "locale", "tts.mode", "autostart"}
    assert report.problems == ()  # a locked key in the user file is not the agent's fault
    assert report.ignored == tuple(
        f"{user}: {key}: locked by your IT department ({machine}); ignored"
        for key in ("company", "autostart", "tts.mode"))


def test_each_key_says_which_layer_it_came_from(machine: Path, user: Path, tmp_path: Path) -> None:
    extra = write(tmp_path / "extra.toml", "[overlay]\nopacity = 0.5\n[tts]\nmode = \"auto\"\n")
    origins = load_report([machine, user, extra]).origins
    assert set(origins) == set(st.KEYS)
    assert origins["company"] == Origin("locked", str(machine))
    assert origins["autostart"] == Origin("locked", None)  # locked at the default: machine does not set it
    assert origins["title"] == Origin("user", str(user))
    assert origins["overlay.opacity"] == Origin("env", str(extra))
    assert origins["tts.mode"] == Origin("locked", str(machine))  # the env file cannot unlock either
    assert origins["hotkeys.speak"] == Origin("default")


def test_the_env_file_cannot_unlock(machine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = write(tmp_path / "extra.toml", 'company = "Test"\n[policy]\nlocked = []\n')
    report = load_report([machine, tmp_path / "no-user.toml", extra])
    assert report.settings.company == "Acme" and "company" in report.settings.locked
    assert report.problems == (
        f"{extra}: [policy] is read only from the machine file ({machine}), agents cannot lock or unlock "
        f"settings; ignored",)


def test_policy_in_the_user_file_is_ignored_with_a_warning(tmp_path: Path) -> None:
    no_machine = tmp_path / "machine.toml"
    user = write(tmp_path / "user.toml", 'company = "Mine"\n[policy]\nlocked = ["company"]\n')
    s, problems = load_settings([no_machine, user])
    assert s.company == "Mine" and s.locked == frozenset()
    assert problems == [f"{user}: [policy] is read only from the machine file ({no_machine}), agents cannot "
                        f"lock or unlock settings; ignored"]


def test_a_table_name_locks_all_its_keys(tmp_path: Path) -> None:
    m = write(tmp_path / "m.toml", '[policy]\nlocked = ["tts", "hotkeys.end"]\n')
    u = write(tmp_path / "u.toml", '[tts]\nmode = "auto"\nvoice = "zh"\n[hotkeys]\nend = "F9"\nskip = "F8"\n')
    s = load_settings([m, u])[0]
    assert s.locked == {"tts.mode", "tts.voice", "tts.rate", "tts.outputs", "hotkeys.end"}
    assert (s.tts.mode, s.tts.voice, s.hotkeys.end, s.hotkeys.skip) == ("on_request", None, "Ctrl+Alt+E", "F8")


@pytest.mark.parametrize(("policy", "problem", "locked"), [
    ('locked = ["compnay", "locale"]',
     "policy.locked: compnay: no such setting to lock (did you mean company?); ignored", {"locale"}),
    ('locked = ["tts.mdoe"]', "policy.locked: tts.mdoe: no such setting to lock (did you mean tts.mode?); ignored",
     set()),
    ('locked = ["policy"]', "policy.locked: policy: no such setting to lock; ignored", set()),
    ('locked = "company"', 'policy.locked: expected a list of setting names such as ["company", "tts.mode"], '
                          "got 'company'; nothing is locked", set()),
    ('locked = ["company", 3]', 'policy.locked: expected a list of setting names such as ["company", '
                               "\"tts.mode\"], got ['company', 3]; nothing is locked", set()),
    ('lock = ["company"]', "policy.lock: unknown setting (did you mean policy.locked?), ignored", set()),
])
def test_bad_policy_entries_are_reported_with_file_and_key(tmp_path: Path, policy: str, problem: str,
                                                           locked: set[str]) -> None:
    m = write(tmp_path / "m.toml", f"[policy]\n{policy}\n")
    s, problems = load_settings([m])
    assert problems == [f"{m}: {problem}"]
    assert s.locked == locked


def test_a_policy_that_is_not_a_table(tmp_path: Path) -> None:
    m = write(tmp_path / "m.toml", 'policy = "strict"\n')
    s, problems = load_settings([m])
    assert problems == [f"{m}: policy: must be a table ([policy]), got 'strict'; nothing is locked"]
    assert s.locked == frozenset()


def test_a_bad_locked_machine_value_falls_back_to_the_default_and_stays_locked(tmp_path: Path) -> None:
    m = write(tmp_path / "m.toml", '[tts]\nmode = "loud"\n[policy]\nlocked = ["tts.mode"]\n')
    u = write(tmp_path / "u.toml", '[tts]\nmode = "auto"\n')
    s, problems = load_settings([m, u])
    assert s.tts.mode == "on_request" and "tts.mode" in s.locked
    assert problems == [f"{m}: tts.mode: 'loud' is not one of off, on_request, auto; keeping 'on_request'"]


def test_a_locked_hotkey_never_gives_way_in_a_clash(tmp_path: Path) -> None:
    # hotkeys.end is resolved after hotkeys.speak; locked, IT's choice wins and speak falls back
    m = write(tmp_path / "m.toml", '[hotkeys]\nend = "Ctrl+Alt+S"\n[policy]\nlocked = ["hotkeys.end"]\n')
    s, problems = load_settings([m])
    assert s.hotkeys.end == "Ctrl+Alt+S"
    assert s.hotkeys.speak == ""  # its default is the locked key: off
    assert problems == ["defaults: hotkeys.speak: Ctrl+Alt+S is already used by hotkeys.end; "
                        "using nothing (disabled)"]


def test_autostart_defaults_to_false_and_the_machine_or_user_may_set_it(tmp_path: Path) -> None:
    assert st.Settings().autostart is False
    m = write(tmp_path / "m.toml", "autostart = true\n")
    assert load_settings([m])[0].autostart is True
    u = write(tmp_path / "u.toml", "autostart = false\n")
    assert load_settings([m, u])[0].autostart is False


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------
def test_save_never_writes_a_locked_key(tmp_path: Path, machine: Path) -> None:
    target = tmp_path / "user.toml"
    locked = st.machine_policy(machine)
    assert locked == {"company", "locale", "tts.mode", "autostart"}
    save_user_settings({"company": "Mine", "tts": {"mode": "auto", "rate": 200}, "title": "客户"}, target,
                       locked=locked)
    assert tomllib.loads(target.read_text(encoding="utf-8")) == {"title": "客户", "tts": {"rate": 200}}


def test_save_of_only_locked_keys_writes_nothing_and_keeps_the_users_lines(tmp_path: Path) -> None:
    target = write(tmp_path / "user.toml", 'company = "Old"\n')
    before = target.read_bytes()
    assert save_user_settings({"company": None, "overlay.x": 5}, target,
                              locked={"company", "overlay.x"}) == target
    assert target.read_bytes() == before


def test_save_to_the_platform_file_reads_the_machine_policy(tmp_path: Path, machine: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "machine_config_path", lambda: machine)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = save_user_settings({"overlay": {"x": 10, "y": 20}, "locale": "zh-TW"})
    assert path == tmp_path / "cfg" / "softphone-assist" / "config.toml"
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"overlay": {"x": 10, "y": 20}}


def test_an_unknown_key_is_still_refused_when_others_are_locked(tmp_path: Path) -> None:
    with pytest.raises(st.SettingsError, match=r"tts\.mdoe: unknown setting"):
        save_user_settings({"tts.mdoe": "auto"}, tmp_path / "u.toml", locked={"tts.mode"})


def test_machine_policy_of_a_missing_or_broken_file_locks_nothing(tmp_path: Path) -> None:
    assert st.machine_policy(tmp_path / "none.toml") == frozenset()
    assert st.machine_policy(write(tmp_path / "bad.toml", "[policy\n")) == frozenset()
