"""The pure core (`softphone_assist/core/`: records, settings of the detectors and scripts, detection, the
script engine, the pipeline) stays pure: no GUI, audio I/O, TTS, clock or threads. The package is
checked as a whole, so a module added to it is checked without anyone editing this file."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "softphone_assist"
CORE = PKG / "core"
# The top level holds only the shells' entry points; everything else lives in a package that says what it is.
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "commands.py", "extras.py", "replay.py"}
FORBIDDEN = {"PySide6", "sounddevice", "pyttsx3", "webrtcvad", "time", "threading", "soundfile", "soxr",
             "asyncio", "multiprocessing", "sqlite3", "socket"}
CLOCK_CALLS = {"now", "today", "utcnow", "monotonic", "perf_counter"}


def core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def imported_modules(tree: ast.AST) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
    return mods


def test_core_files_exist():
    names = {p.relative_to(CORE).as_posix() for p in core_files()}
    assert {"pipeline.py", "events.py", "config.py", "script/engine.py", "detect/__init__.py"} <= names


def test_top_level_holds_only_the_entry_points():
    assert {p.name for p in PKG.glob("*.py")} == TOP_LEVEL


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(PKG).as_posix())
def test_core_module_imports_nothing_impure(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = {m for m in imported_modules(tree) if m.split(".")[0] in FORBIDDEN}
    # inside the package, the core may only import the core
    for m in imported_modules(tree):
        if m.startswith("softphone_assist.") and not m.startswith("softphone_assist.core"):
            bad.add(m)
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(PKG).as_posix())
def test_core_module_reads_no_clock(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {n.func.attr for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert not calls & CLOCK_CALLS, f"{path.name} calls {sorted(calls & CLOCK_CALLS)}"


def test_importing_the_core_loads_no_impure_module():
    # the interpreter itself loads `time`; what counts is what importing the core adds
    code = (
        "import sys, numpy, lunardate, tomllib\n"
        "base = set(sys.modules)\n"
        "import importlib, pkgutil, softphone_assist.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'softphone_assist.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(m for m in set(sys.modules) - base if m.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
        "print(','.join(bad))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""
