"""The missing-extra error, in-process (tests/test_wheel.py runs the real core-only install end to end)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from softphone_assist import cli, commands, extras
from softphone_assist.extras import APP_MODULES, NEEDS, MissingExtraError, from_import_error, require

ROOT = Path(__file__).resolve().parents[1]


def test_the_module_table_names_every_distribution_of_the_app_extra() -> None:
    app = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert {Requirement(r).name for r in app["app"]} == set(APP_MODULES.values())
    assert {m for needed in NEEDS.values() for m in needed} <= set(APP_MODULES)


def test_require_names_the_first_missing_module_and_the_extra() -> None:
    require("listen", ("numpy",))  # installed: nothing to say
    with pytest.raises(MissingExtraError) as e:
        require("listen", ("numpy", "no_such_module_for_this_test", "another_missing_one"))
    assert e.value.line() == ("softphone-assist listen: needs the 'app' extra (pip install 'softphone-assist[app]'): "
                              "module no_such_module_for_this_test is missing")


def test_an_app_module_failing_to_import_later_gets_the_same_line(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    def dispatch(*_: object) -> int:
        raise ModuleNotFoundError("No module named 'PySide6'", name="PySide6.QtCore")

    monkeypatch.setattr(commands, "dispatch", dispatch)
    assert cli.main(["log"]) == 2
    assert capsys.readouterr().err == ("softphone-assist log: needs the 'app' extra "
                                       "(pip install 'softphone-assist[app]'): module PySide6 is missing\n")


def test_any_other_missing_module_is_a_bug_and_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def dispatch(*_: object) -> int:
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    monkeypatch.setattr(commands, "dispatch", dispatch)
    with pytest.raises(ModuleNotFoundError, match="yaml"):
        cli.main(["log"])
    assert from_import_error("log", ModuleNotFoundError("x", name=None)) is None


def test_listen_asked_to_speak_needs_pyttsx3_too(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # only pyttsx3 "missing": from the settings TTS degrades with a note, but --speak asks for it
    monkeypatch.setattr(extras, "is_installed", lambda module: module != "pyttsx3")
    assert cli.main(["listen", "--caller", "x", "--speak", "auto", "--seconds", "1"]) == 2
    assert capsys.readouterr().err == ("softphone-assist listen: needs the 'app' extra "
                                       "(pip install 'softphone-assist[app]'): module pyttsx3 is missing\n")
