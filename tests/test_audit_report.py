"""The audit report opened from disk in real headless Chromium (Debian's `chromium`): it renders (the
screenshot is kept in test-artifacts/audit_report.png), its images load, and its table lists every
call. The page's own inline script marks <body data-images="N total, M not loaded"> once loaded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_audit_cli import build_calls

from softphone_assist.audit import plots
from softphone_assist.cli import main

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (./setup.sh test installs it)")


def chromium(*args: str) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        done = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Table(HTMLParser):
    """The file names in the first cell of each row of <table id="calls">'s body, and each row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []
        self.rows: list[list[str]] = []  # the text of each cell, row by row
        self._in_calls = self._in_body = self._in_cell = False
        self._cell = -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "calls") in attrs:
            self._in_calls = True
        elif self._in_calls and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self._cell = -1
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell += 1
            self._in_cell = True
            self.rows[-1].append("")
            if self._cell == 0:
                self.files.append(dict(attrs).get("data-v") or "")

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_calls = self._in_body = False
        elif tag == "td":
            self._in_cell = False


def test_the_report_renders_in_chromium_with_every_call_and_its_pictures(tmp_path: Path) -> None:
    calls = build_calls(tmp_path / "calls")
    out = tmp_path / "out"
    assert main(["audit", str(tmp_path / "calls"), "--out", str(out), "--jobs", "2"]) == 1  # the corrupt one
    page = out / "report.html"
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing from the network
    assert all(f"</i>{name}</span>" in text for name, _colour in plots.LEGEND)  # the pictures' key, once

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "audit_report.png"
    shot.unlink(missing_ok=True)
    chromium(f"--screenshot={shot}", "--window-size=1280,2000", "--virtual-time-budget=5000", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    dom = chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    good = len(calls) - 1  # the corrupt file has no picture
    assert f'data-images="{good + 2} total, 0 not loaded"' in dom  # one per call + two aggregate plots
    table = _Table()
    table.feed(dom)
    assert sorted(table.files) == sorted(str(p.resolve()) for p in calls.values())

    # the check can fail: a missing picture is reported by the page itself
    next((out / "img").glob("call-*.png")).unlink()
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert f'data-images="{good + 2} total, 1 not loaded"' in dom


def test_the_table_sorts_in_chromium(tmp_path: Path) -> None:
    build_calls(tmp_path / "calls")
    out = tmp_path / "out"
    main(["audit", str(tmp_path / "calls"), "--out", str(out), "--jobs", "2"])
    page = out / "report.html"

    def column(address: str, heading: str) -> list[str]:
        table = _Table()
        table.feed(chromium("--virtual-time-budget=5000", "--dump-dom", address))
        heads = ["file", "duration s", "violations"]
        return [row[heads.index(heading)] for row in table.rows]

    as_written = column(page.as_uri(), "duration s")
    durations = [float(x) for x in as_written if x != "—"]
    assert len(set(durations)) > 1  # else an order could not show
    down = column(page.as_uri() + "#sort=duration%20s", "duration s")  # a first click: largest first
    assert [float(x) for x in down if x != "—"] == sorted(durations, reverse=True)
    up = column(page.as_uri() + "#sort=duration%20s&dir=asc", "duration s")  # a second click
    assert [float(x) for x in up if x != "—"] == sorted(durations)
    assert sorted(down) == sorted(up) == sorted(as_written)  # reordered, nothing lost
    names = column(page.as_uri() + "#sort=file&dir=asc", "file")
    assert names == sorted(names, key=str.lower)
