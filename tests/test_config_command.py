"""`softphone-assist config` as IT meets it: the effective settings with their layer, the files and the
problems; `--init-machine` writes a valid machine file or refuses with one line; `run --if-autostart`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from softphone_assist.settings import layers as st
from softphone_assist.settings.command import init_machine


class Seat:
    """A seat: its own user config dir; the machine file is passed with --machine-file / --path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.user = root / "cfg" / "softphone-assist" / "config.toml"
        self.user.parent.mkdir(parents=True)
        self.machine = root / "etc" / "config.toml"
        self.env = {"XDG_CONFIG_HOME": str(root / "cfg"), "HOME": str(root), "PATH": os.environ["PATH"],
                    "QT_QPA_PLATFORM": "offscreen"}  # no DISPLAY: `run` would need a desktop

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "softphone_assist", *args], capture_output=True, text=True,
                              env={**self.env, **env}, timeout=120)


@pytest.fixture
def seat(tmp_path: Path) -> Seat:
    return Seat(tmp_path)


def table_rows(text: str) -> dict[str, tuple[str, str]]:
    """key -> (value, layer) from the printed table."""
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("  ") and parts and parts[0] in st.KEYS:
            key, rest = parts[0], line.strip()[len(parts[0]):].strip()
            value, _, layer = rest.rpartition("  ")
            rows[key] = (value.strip(), layer.strip())
    return rows


def test_config_prints_every_key_with_its_layer(seat: Seat) -> None:
    seat.machine.parent.mkdir()
    seat.machine.write_text('company = "Acme"\nautostart = true\n[tts]\nmode = "off"\n'
                            '[policy]\nlocked = ["company", "tts.mode", "tts.voice"]\n', encoding="utf-8")
    seat.user.write_text('company = "Mine"\ntitle = "女士"\n[overlay]\nopacity = 1.5\n', encoding="utf-8")
    extra = seat.root / "extra.toml"
    extra.write_text('locale = "en"\n', encoding="utf-8")
    res = seat.cli("config", "--machine-file", str(seat.machine), SOFTPHONE_ASSIST_CONFIG=str(extra))
    assert res.returncode == 0 and res.stderr == ""
    out = res.stdout
    assert f"  machine  {seat.machine}  (read)\n  user     {seat.user}  (read)\n  env      {extra}  (read)\n" in out
    assert "locked by IT ([policy] of the machine file): company, tts.mode, tts.voice\n" in out
    rows = table_rows(out)
    assert set(rows) == set(st.KEYS)
    assert rows["company"] == ('"Acme"', "locked")
    assert rows["tts.mode"] == ('"off"', "locked")
    assert rows["tts.voice"] == ("(system default)", "locked (default)")
    assert rows["autostart"] == ("true", "machine")
    assert rows["title"] == ('"女士"', "user")
    assert rows["locale"] == ('"en"', "env")
    assert rows["overlay.opacity"] == ("0.9", "default")  # the user's 1.5 is out of range
    assert rows["timing.dead_air_after_s"] == ("(the script's value)", "default")
    assert f"problems:\n  {seat.user}: overlay.opacity: 1.5 is outside 0.2..1; keeping 0.9\n" in out
    assert (f"ignored because IT locked them:\n  {seat.user}: company: locked by your IT department "
            f"({seat.machine}); ignored\n") in out


def test_config_json(seat: Seat) -> None:
    seat.user.write_text('[tts]\noutputs = ["headset", "speak_to"]\n', encoding="utf-8")
    res = seat.cli("config", "--json", "--machine-file", str(seat.machine))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["files"] == [{"layer": "machine", "path": str(seat.machine), "status": "not found"},
                             {"layer": "user", "path": str(seat.user), "status": "read"}]
    assert data["env"] is None and data["locked"] == [] and data["problems"] == []
    assert data["settings"]["tts.outputs"] == {"value": ["headset", "speak_to"], "layer": "user",
                                               "path": str(seat.user)}
    assert data["settings"]["devices.caller"] == {"value": None, "layer": "default", "path": None}
    assert list(data["settings"]) == list(st.KEYS)


def test_init_machine_writes_a_file_the_settings_read_back(seat: Seat) -> None:
    res = seat.cli("config", "--init-machine", "--company", "星河通信", "--locale", "zh-TW", "--tts-mode",
                   "auto", "--autostart", "on", "--lock", "company,locale", "--lock", "tts", "--path",
                   str(seat.machine))
    assert (res.returncode, res.stdout, res.stderr) == (0, f"{seat.machine}\n", "")
    assert stat.S_IMODE(seat.machine.stat().st_mode) == 0o644  # every agent's app must read it
    data = tomllib.loads(seat.machine.read_text(encoding="utf-8"))
    assert data == {"company": "星河通信", "locale": "zh-TW", "autostart": True, "tts": {"mode": "auto"},
                    "policy": {"locked": ["company", "locale", "tts"]}}
    report = st.load_report([seat.machine])
    assert report.problems == ()
    assert report.settings.locked == {"company", "locale", "tts.mode", "tts.voice", "tts.rate", "tts.outputs"}
    assert [p.name for p in seat.machine.parent.iterdir()] == ["config.toml"]  # no temp file left
    assert seat.cli("config", "--check", "--machine-file", str(seat.machine)).returncode == 0


def test_init_machine_updates_only_the_given_keys(seat: Seat) -> None:
    seat.machine.parent.mkdir()
    seat.machine.write_text('company = "Acme"\n[detector]\npause_s = 0.8\n[policy]\nlocked = ["company"]\n',
                            encoding="utf-8")
    # an MSI passes every property; the ones not set arrive empty and change nothing
    res = seat.cli("config", "--init-machine", "--company", "", "--locale", "", "--tts-mode", "", "--autostart",
                   "off", "--lock", "", "--lock", "company", "--lock", "detector", "--path", str(seat.machine))
    assert res.returncode == 0, res.stderr
    assert tomllib.loads(seat.machine.read_text(encoding="utf-8")) == {
        "company": "Acme", "autostart": False, "detector": {"pause_s": 0.8},
        "policy": {"locked": ["company", "detector"]}}


@pytest.mark.parametrize(("args", "line"), [
    (["--tts-mode", "loud"], "--tts-mode: 'loud' is not one of off, on_request, auto"),
    (["--locale", "fr"], "--locale: 'fr' is not one of zh-CN, zh-TW, en"),
    (["--company", "{Acme}"], "--company: must not contain '{' or '}' (it is filled into lines)"),
    (["--company", "x" * 81], "--company: 81 characters is longer than 80"),
    (["--autostart", "maybe"], "--autostart: 'maybe' is not one of on, off"),
    (["--lock", "compnay"], "--lock: compnay: no such setting to lock (did you mean company?)"),
])
def test_init_machine_refuses_a_bad_value_with_one_line(seat: Seat, args: list[str], line: str) -> None:
    seat.machine.parent.mkdir()
    seat.machine.write_text('company = "Acme"\n', encoding="utf-8")
    res = seat.cli("config", "--init-machine", "--locale", "en", *args, "--path", str(seat.machine))
    assert (res.returncode, res.stdout, res.stderr) == (2, "", f"softphone-assist: error: {line}\n")
    assert seat.machine.read_text(encoding="utf-8") == 'company = "Acme"\n'  # untouched


def test_init_machine_refuses_to_merge_into_a_broken_file(seat: Seat) -> None:
    seat.machine.parent.mkdir()
    seat.machine.write_text("company = \n", encoding="utf-8")
    res = seat.cli("config", "--init-machine", "--locale", "en", "--path", str(seat.machine))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"softphone-assist: error: {seat.machine}: cannot update it (")
    assert res.stderr.endswith("fix or delete the file first\n")


def test_init_machine_warns_about_problems_already_in_the_file(seat: Seat, tmp_path: Path) -> None:
    import io

    seat.machine.parent.mkdir()
    seat.machine.write_text('[tts]\nmdoe = "auto"\n', encoding="utf-8")
    err = io.StringIO()
    assert init_machine(locale="en", path=seat.machine, err=err) == seat.machine
    assert err.getvalue() == (f"softphone-assist: warning: {seat.machine}: tts.mdoe: unknown setting "
                              f"(did you mean tts.mode?), ignored\n")


def test_init_machine_default_path_is_the_platform_machine_file(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "machine_config_path", lambda: tmp_path / "pd" / "config.toml")
    assert init_machine(autostart="1") == tmp_path / "pd" / "config.toml"
    assert st.load_settings([tmp_path / "pd" / "config.toml"])[0].autostart is True


def test_an_unreadable_machine_path_is_one_line(seat: Seat) -> None:
    blocker = seat.root / "file"
    blocker.write_text("", encoding="utf-8")
    target = blocker / "config.toml"  # under a file: neither root nor anyone can read or write it
    res = seat.cli("config", "--init-machine", "--locale", "en", "--path", str(target))
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == f"softphone-assist: error: {target}: cannot be read (Not a directory)\n"


def test_a_refused_write_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import softphone_assist.settings.command as sc
    from softphone_assist.core.errors import UserError

    def refuse(path: Path, text: str, *, mode: int | None = None) -> None:
        raise PermissionError(13, "Permission denied")  # what a non-admin gets under /etc or %ProgramData%

    monkeypatch.setattr(sc, "write_atomically", refuse)
    target = tmp_path / "config.toml"
    with pytest.raises(UserError) as caught:
        init_machine(locale="en", path=target)
    assert str(caught.value) == (f"cannot write {target}: Permission denied (the machine file needs "
                                 f"administrator rights, or pass --path)")


def test_init_options_need_init_machine(seat: Seat) -> None:
    res = seat.cli("config", "--lock", "company")
    assert (res.returncode, res.stderr) == (2, "softphone-assist: error: --lock: only used with --init-machine\n")


def test_check_exits_2_on_a_problem(seat: Seat) -> None:
    seat.machine.parent.mkdir()
    seat.machine.write_text('locale = "fr"\n[policy]\nlocked = ["locale"]\n', encoding="utf-8")
    res = seat.cli("config", "--check", "--machine-file", str(seat.machine))
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == (f"softphone-assist: settings: {seat.machine}: locale: 'fr' is not one of zh-CN, "
                          f"zh-TW, en; keeping 'zh-CN'\n")


# --------------------------------------------------------------------------------------------
# run --if-autostart: what the login entries run on every seat
# --------------------------------------------------------------------------------------------
def test_if_autostart_exits_at_once_and_silently_when_off(seat: Seat) -> None:
    res = seat.cli("run", "--if-autostart")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    seat.user.write_text("autostart = false\n[tts]\nmode = \"loud\"\n", encoding="utf-8")  # a bad key: still silent
    res = seat.cli("run", "--if-autostart")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


def test_if_autostart_goes_on_to_run_when_on(seat: Seat) -> None:
    seat.user.write_text("autostart = true\n", encoding="utf-8")
    res = seat.cli("run", "--if-autostart")
    # past the autostart check: `run` itself now wants a desktop, which this test has not got
    assert res.returncode == 2
    assert res.stderr.startswith("softphone-assist: error: no display here (DISPLAY is not set)")


def test_a_locked_autostart_ignores_the_users_wish(seat: Seat, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = seat.root / "m.toml"
    machine.write_text("autostart = false\n[policy]\nlocked = [\"autostart\"]\n", encoding="utf-8")
    seat.user.write_text("autostart = true\n", encoding="utf-8")
    assert st.load_settings([machine, seat.user])[0].autostart is False


def test_the_machine_file_in_the_it_docs_is_valid(tmp_path: Path) -> None:
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "it-rollout.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```toml\n(.*?)```", doc, re.S) if "[policy]" in b)
    machine = tmp_path / "config.toml"
    machine.write_text(example, encoding="utf-8")
    report = st.load_report([machine])
    assert report.problems == ()
    assert report.settings.locked >= {"company", "locale", "tts.mode", "log.keep_days"}
