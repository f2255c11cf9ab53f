"""The call log under faults: a second instance, kill -9, a locked or damaged file, late numbers.

The log is a record, not a reason to stop helping the agent: LiveCallLog never raises, keeps what
it could not write and writes it once the file is usable again.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.calllog import ORPHAN_REASON, CallLog, LiveCallLog, NumberFromHooks
from softphone_assist.core.autocall import AutoCallDetector
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.loader import load_script
from softphone_assist.ipc import CallCommand
from softphone_assist.live.session import LiveSession

T0 = datetime(2026, 3, 1, 14, 0, 0)
LOGGER = "softphone_assist.calllog"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def rows(path: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT id, number, ended_at, end_reason FROM calls ORDER BY id").fetchall()
    finally:
        db.close()


def events(path: Path, call_id: int) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [e for (e,) in db.execute("SELECT event FROM records WHERE call_id = ? ORDER BY id", (call_id,))]
    finally:
        db.close()


# --------------------------------------------------------------------------------------------
# A second instance, and a killed one
# --------------------------------------------------------------------------------------------
def test_a_second_instance_leaves_the_first_ones_open_call_alone(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    first = LiveCallLog(lambda: CallLog(path))
    cid = first.start_call(T0, "10086", stream_t=0.0)
    first.add(cid, {"event": "call_state", "t": 0.0, "state": "call_start"})
    second = LiveCallLog(lambda: CallLog(path))  # its start-up closes the calls of dead instances only
    assert rows(path) == [(1, "10086", None, None)]
    first.add(cid, {"event": "prompt", "t": 5.0})  # this once raised "call 1 has already ended"
    first.end_call(cid, T0 + timedelta(seconds=9), "call_end")
    assert first.problems() == [] and events(path, 1) == ["call_state", "prompt"]
    assert rows(path) == [(1, "10086", (T0 + timedelta(seconds=9)).isoformat(), "call_end")]
    second.close()
    first.close()


_CHILD = """
import sys, time
from datetime import datetime
from softphone_assist.calllog import CallLog
log = CallLog(sys.argv[1])
cid = log.start_call(datetime(2026, 3, 1, 14, 0, 0), "10086", stream_t=100.0)
for t in (100.0, 104.5, 113.0):
    log.add(cid, {"event": "condition", "t": t})
print("ready", flush=True)
time.sleep(60)
"""


def test_after_kill_9_the_call_ends_at_its_last_record_not_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_CHILD), str(path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        with CallLog(path) as other:  # while it lives, its call is its own
            assert other.end_open_calls(T0 + timedelta(minutes=5)) == 0
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with CallLog(path) as log:  # the next start, 20 minutes later
        assert log.end_open_calls(T0 + timedelta(minutes=20)) == 1
        [call] = log.recent(1)
    assert call.ended_at == T0 + timedelta(seconds=13)  # 113 - 100: its last record, not "now"
    assert call.end_reason == ORPHAN_REASON
    assert list((tmp_path / "calls.sqlite3.owners").iterdir()) == []  # the dead one's mark is gone


def test_a_call_from_an_old_log_without_owner_is_closed_at_its_last_record(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    with CallLog(path) as log:
        cid = log.start_call(T0, None, stream_t=10.0)
        log.add(cid, {"event": "prompt", "t": 17.5})
    db = sqlite3.connect(path)
    db.execute("UPDATE calls SET owner = NULL")  # what schema 1 wrote
    db.commit()
    db.close()
    with CallLog(path) as log:
        assert log.end_open_calls(T0 + timedelta(hours=2)) == 1
        assert log.recent(1)[0].ended_at == T0 + timedelta(seconds=7.5)


def test_schema_1_files_are_migrated(tmp_path: Path) -> None:
    from softphone_assist.calllog.store import _SCHEMA_V1

    path = tmp_path / "calls.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_V1 + "PRAGMA user_version = 1;")
    db.execute("INSERT INTO calls (started_at, number) VALUES (?, ?)", (T0.isoformat(), "1"))
    db.commit()
    db.close()
    with CallLog(path) as log:
        assert [c.number for c in log.recent(5)] == ["1"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (2,)
    db.close()


# --------------------------------------------------------------------------------------------
# A locked, damaged or unusable file: assistance goes on
# --------------------------------------------------------------------------------------------
def test_a_write_lock_held_by_another_process_delays_records_but_loses_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    path = tmp_path / "calls.sqlite3"
    clock = Clock()
    live = LiveCallLog(lambda: CallLog(path, busy_timeout_ms=10), clock=clock)
    cid = live.start_call(T0, "10086", stream_t=0.0)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock (for far over 2 s)
    live.add(cid, {"event": "call_state", "t": 0.0})
    live.add(cid, {"event": "prompt", "t": 1.0})
    assert live.problems() == ["call log unavailable (database is locked); assistance goes on, "
                               "2 record(s) kept in memory"]
    assert sum("call log unavailable (database is locked)" in r.getMessage() for r in caplog.records) == 1
    clock.now = 0.5
    live.add(cid, {"event": "prompt", "t": 2.0})  # before retry_s: queued without a try
    locker.execute("COMMIT")
    locker.close()
    clock.now = 1.0
    live.end_call(cid, T0 + timedelta(seconds=3), "call_end")
    assert live.problems() == []
    assert events(path, 1) == ["call_state", "prompt", "prompt"]
    assert rows(path) == [(1, "10086", (T0 + timedelta(seconds=3)).isoformat(), "call_end")]
    assert any("available again" in r.getMessage() for r in caplog.records)
    live.close()


def test_a_log_that_cannot_be_opened_is_reported_and_the_app_goes_on(tmp_path: Path) -> None:
    junk = tmp_path / "calls.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    live = LiveCallLog(lambda: CallLog(junk))
    cid = live.start_call(T0, None)
    live.add(cid, {"event": "prompt", "t": 1.0})
    [problem] = live.problems()
    assert problem.startswith(f"call log unavailable ({junk}: not a softphone-assist call log")
    live.close()  # and closing is quiet too
    assert junk.read_bytes() == b"this is not sqlite" * 100


def damage_a_page(path: Path) -> None:
    """Overwrite the middle of the file (the records' pages), as a disk error would."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(4096 * 2)
        f.write(b"\xde\xad\xbe\xef" * ((size - 4096 * 2) // 4))


def filled_log(path: Path, calls: int = 30, start: datetime = T0, every: timedelta = timedelta(minutes=1)) -> None:
    """`calls` finished calls of 20 prompts each, `every` apart from `start`, all in the main file."""
    with CallLog(path) as log:
        for i in range(calls):
            cid = log.start_call(start + i * every, f"1380013800{i}", stream_t=0.0)
            for k in range(20):
                log.add(cid, {"event": "prompt", "t": float(k), "text": "上午好" * 20})
            log.end_call(cid, start + i * every + timedelta(seconds=30), "call_end")
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file
    db.close()


def test_a_damaged_page_while_the_app_runs_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    filled_log(path)
    live = LiveCallLog(lambda: CallLog(path))
    damage_a_page(path)
    cid = live.start_call(T0 + timedelta(hours=1), "1")
    for k in range(50):
        live.add(cid, {"event": "prompt", "t": float(k), "text": "x" * 500})
    live.end_call(cid, T0 + timedelta(hours=1, seconds=50))
    problems = live.problems()
    assert len(problems) == 1 and problems[0].startswith("call log unavailable (")
    assert "malformed" in problems[0] or "corrupt" in problems[0]
    live.close()


# --------------------------------------------------------------------------------------------
# A hook's number after the audio started the call
# --------------------------------------------------------------------------------------------
class Commands:
    def __init__(self) -> None:
        self.queue: list[CallCommand] = []

    def poll(self) -> list[CallCommand]:
        out, self.queue = self.queue, []
        return out

    def close(self) -> None:
        pass


class Audio:
    def __init__(self, caller: np.ndarray) -> None:
        self.caller, self.pos = caller, 0

    def read_available(self) -> list[tuple[str, np.ndarray]]:
        chunk = self.caller[self.pos : self.pos + 320]
        self.pos += 320
        return [("caller", chunk)] if len(chunk) else []

    def problems(self) -> list[str]:
        return []


def test_a_hook_number_after_the_audio_started_the_call_is_attached_to_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    path = tmp_path / "calls.sqlite3"
    live = LiveCallLog(lambda: CallLog(path))
    cmds = Commands()
    rate = 16000
    hiss = np.random.default_rng(1).normal(0, 10.0, rate * 6)
    pipe = Pipeline(rate, load_script("zh-CN"), WebRtcVad, has_agent=False, call_started_at=T0)
    session = LiveSession(pipeline=pipe, audio=Audio(np.concatenate([np.zeros(rate * 2), hiss])),
                          commands=NumberFromHooks(cmds, live), calllog=live, autocall=AutoCallDetector(rate))
    while pipe.t < 3.0:
        session.pump()
    assert pipe.engine.call_state == "active"  # started from audio at 2.0 s, without a number
    assert rows(path) == [(1, None, None, None)]
    cmds.queue.append(CallCommand("start", "13800138000"))  # the softphone's hook, a second late
    session.pump()
    assert rows(path) == [(1, "13800138000", None, None)]
    assert any("already running; its number is attached" in r.getMessage() for r in caplog.records)
    cmds.queue.append(CallCommand("answered", "99999"))  # a number is there already: kept
    session.pump()
    assert rows(path)[0][1] == "13800138000"
    live.close()


def test_a_hook_number_for_a_call_it_starts_itself_is_not_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    live = LiveCallLog(lambda: CallLog(tmp_path / "calls.sqlite3"))
    cmds = Commands()
    hooks = NumberFromHooks(cmds, live)
    cmds.queue.append(CallCommand("start", "10086"))
    assert hooks.poll() == [CallCommand("start", "10086")]
    live.start_call(T0, "10086")  # what the session does with it
    cmds.queue.append(CallCommand("answered", "10086"))
    hooks.poll()
    assert [r for r in caplog.records if r.name == LOGGER] == []
    live.close()


# --------------------------------------------------------------------------------------------
# Privacy: retention and hashed numbers
# --------------------------------------------------------------------------------------------
def test_calls_older_than_keep_days_are_deleted_when_the_app_starts(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    with CallLog(path) as log:
        for days_ago in (40, 31, 29, 1):
            cid = log.start_call(T0 - timedelta(days=days_ago), f"{days_ago}", stream_t=0.0)
            log.add(cid, {"event": "prompt", "t": 1.0})
            log.end_call(cid, T0 - timedelta(days=days_ago, seconds=-30))
    live = LiveCallLog(lambda: CallLog(path), keep_days=30, wall=lambda: T0)
    assert [r[1] for r in rows(path)] == ["29", "1"]
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM records").fetchone() == (2,)  # their records went too
    db.close()
    live.close()


def test_keep_days_and_hash_numbers_are_settings_it_can_set(tmp_path: Path) -> None:
    from softphone_assist.settings.layers import load_settings

    machine = tmp_path / "machine.toml"
    machine.write_text("[log]\nkeep_days = 7\nhash_numbers = true\n")
    settings, problems = load_settings([machine])
    assert problems == [] and (settings.log.keep_days, settings.log.hash_numbers) == (7, True)
    assert (load_settings([])[0].log.keep_days, load_settings([])[0].log.hash_numbers) == (30, False)
    machine.write_text("[log]\nkeep_days = -1\n")
    settings, problems = load_settings([machine])
    assert settings.log.keep_days == 30 and len(problems) == 1 and "log.keep_days" in problems[0]


def test_hash_numbers_stores_only_a_salted_hash(tmp_path: Path) -> None:
    path = tmp_path / "data" / "calls.sqlite3"
    with CallLog(path, hash_numbers=True) as log:
        a = log.start_call(T0, "13800138000")
        b = log.start_call(T0, "13800138000")
        log.set_number(b, "10086")
        [ca, cb] = log.recent(2)
    assert ca.id == a and ca.number is not None and ca.number.startswith("hmac-sha256:")
    assert len(ca.number) == len("hmac-sha256:") + 32 and cb.number != ca.number
    with CallLog(path, hash_numbers=True) as log:  # the same salt next time: the same number matches
        assert log.stored_number("13800138000") == ca.number
    salt = path.parent / "number-salt"
    assert oct(salt.stat().st_mode & 0o777) == "0o600" and len(bytes.fromhex(salt.read_text())) == 32
    assert b"13800138000" not in path.read_bytes() and b"10086" not in path.read_bytes()
    other = tmp_path / "other" / "calls.sqlite3"  # another user's data dir: another salt
    with CallLog(other, hash_numbers=True) as log:
        assert log.stored_number("13800138000") != ca.number


# --------------------------------------------------------------------------------------------
# The app's composition: a bad log file never stops the app from starting
# --------------------------------------------------------------------------------------------
def test_the_app_starts_and_assists_with_a_log_file_it_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from contextlib import ExitStack

    from softphone_assist.live.compose import LiveOptions, build_session
    from softphone_assist.settings.layers import Settings

    caplog.set_level(logging.WARNING, LOGGER)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    junk = tmp_path / "softphone-assist" / "calls.sqlite3"
    junk.parent.mkdir()
    junk.write_bytes(b"this is not sqlite" * 100)
    rate = 16000
    with ExitStack() as stack:  # this raised CallLogError: the app did not start at all
        session = build_session(Settings(), LiveOptions(ipc=False, speak="off"), stack,
                                audio=Audio(np.zeros(rate * 3)), has_agent=False)
        session.request("start", "button")
        prompts = []
        while session.pipeline.t < 2.0:
            prompts += [u for u in session.pump() if type(u).__name__ == "ShowPrompt"]
        assert [p.protocol for p in prompts] == ["greeting"]  # assistance goes on
        assert isinstance(session.calllog, LiveCallLog)
        [problem] = session.calllog.problems()
        assert problem.startswith(f"call log unavailable ({junk}: not a softphone-assist call log")
    assert any("call log unavailable" in r.getMessage() for r in caplog.records)


def test_turning_hash_numbers_on_hashes_the_numbers_logged_before(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    with CallLog(path) as log:
        log.start_call(T0, "13800138000")
        log.start_call(T0, None)
    live = LiveCallLog(lambda: CallLog(path, hash_numbers=True))
    [(_, first, _, _), (_, second, _, _)] = rows(path)
    with CallLog(path, hash_numbers=True) as log:
        assert first == log.stored_number("13800138000") and second is None
    live.close()
    assert b"13800138000" not in path.read_bytes()


def test_a_broken_salt_file_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    (tmp_path / "number-salt").write_text("not hex at all\n")
    live = LiveCallLog(lambda: CallLog(path, hash_numbers=True))
    cid = live.start_call(T0, "13800138000")
    live.add(cid, {"event": "prompt", "t": 1.0})
    [problem] = live.problems()
    assert problem == (f"call log unavailable ({tmp_path / 'number-salt'}: not a number salt (expected hex); "
                       "remove it to make a new one); assistance goes on, 2 record(s) kept in memory")
    live.close()
    assert rows(path) == []  # no plain number was written instead
