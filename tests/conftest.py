"""Test-suite guard for CI: a test that skips because a tool is missing is a broken set-up there.

Locally a missing sound server or display skips its tests with the install command as the reason;
`.ci/run` sets SOFTPHONE_ASSIST_NO_SKIPS=1, and then any skip fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from softphone_assist.speech.render import LineRenderer

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("SOFTPHONE_ASSIST_NO_SKIPS") and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus: int) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("SOFTPHONE_ASSIST_NO_SKIPS") and _skipped:
        terminalreporter.write_line(f"SOFTPHONE_ASSIST_NO_SKIPS: {len(_skipped)} test(s) skipped; the CI set-up "
                                    f"is missing something: {', '.join(_skipped[:5])}", red=True)


# The TTS fixtures the espeak-ng and sound-server tests share (tests/test_tts_*.py).
@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LineRenderer]:
    """A real TTS worker process (pyttsx3 + espeak-ng) with its own cache, for one test module."""
    from softphone_assist.speech.render import LineRenderer

    r = LineRenderer(tmp_path_factory.mktemp("tts-cache"))
    r.start()
    yield r
    r.close()


@pytest.fixture(scope="module")
def zh_voice(renderer: LineRenderer) -> str:
    return renderer.pick_voice("zh-CN", timeout=60).id
