"""Test-suite guard for CI: a test that skips because a tool is missing is a broken set-up there.

Locally a missing sound server or display skips its tests with the install command as the reason;
`.ci/run` sets SOFTPHONE_ASSIST_NO_SKIPS=1, and then any skip fails the run.
"""

from __future__ import annotations

import os

import pytest

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
