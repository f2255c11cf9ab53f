"""A deeply nested TOML file is "not valid TOML (nested too deeply)", never a RecursionError: the settings
ignore the file like any broken one, the script loader names it, the app still starts."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from softphone_assist.core import toml_safe
from softphone_assist.core.errors import ScriptError
from softphone_assist.core.script.loader import load_script
from softphone_assist.settings import layers as st

DEEP_ARRAY = "a = " + "[" * 600 + "]" * 600 + "\n"  # 1.2 KB
DEEP_INLINE = "a = " + "{b = " * 600 + "1" + "}" * 600 + "\n"


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_INLINE], ids=["arrays", "inline tables"])
def test_tomllib_itself_recurses_and_the_safe_loader_does_not(text: str) -> None:
    with pytest.raises(RecursionError):  # the reason for toml_safe; if tomllib is fixed, so much the better
        tomllib.loads(text)
    with pytest.raises(toml_safe.TOMLDecodeError, match=r"^nested too deeply$"):
        toml_safe.loads(text)


def test_the_safe_loader_reads_ordinary_toml_like_tomllib() -> None:
    text = 'x = [[1, 2], [3]]\n[t]\ny = {z = "w"}\n'
    assert toml_safe.loads(text) == tomllib.loads(text)
    with pytest.raises(toml_safe.TOMLDecodeError, match="line 1"):
        toml_safe.loads("x = \n")


@pytest.mark.parametrize("layer", [0, 1, 2], ids=["machine", "user", "env"])
def test_a_deep_settings_file_is_reported_and_ignored(tmp_path: Path, layer: int) -> None:
    files = [tmp_path / "machine.toml", tmp_path / "user.toml", tmp_path / "extra.toml"]
    files[layer].write_text('company = "Acme"\n' + DEEP_ARRAY, encoding="utf-8")
    report = st.load_report(files)
    assert report.problems == (f"{files[layer]}: not valid TOML (nested too deeply); the whole file is ignored",)
    assert report.settings.company == ""  # the whole file is ignored, its good keys too
    assert report.files[layer].status == "invalid"


def test_saving_over_a_deep_user_file_is_refused(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text(DEEP_INLINE, encoding="utf-8")
    with pytest.raises(st.SettingsError, match="nested too deeply"):
        st.save_user_settings({"company": "Acme"}, user)
    assert user.read_text(encoding="utf-8") == DEEP_INLINE


def test_a_deep_script_file_is_a_script_error(tmp_path: Path) -> None:
    script = tmp_path / "mine.toml"
    script.write_text(DEEP_ARRAY, encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        load_script(script)
    assert str(caught.value) == f"{script}: TOML syntax error: nested too deeply"


def test_the_command_reports_a_deep_user_file_and_carries_on(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg" / "softphone-assist"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text(DEEP_ARRAY, encoding="utf-8")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "softphone_assist", "config"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert f"  {cfg / 'config.toml'}: not valid TOML (nested too deeply); the whole file is ignored\n" in res.stdout
