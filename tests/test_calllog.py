"""Call log: timelines in SQLite (WAL, versioned schema, never audio) and `log` output."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from softphone_assist import calllog
from softphone_assist.calllog import CallLog, CallLogError, LoggedCall, format_log, print_log
from softphone_assist.core.errors import UserError
from softphone_assist.core.events import (
    CallEvent,
    ConditionChanged,
    LineStats,
    MayHangUp,
    ProtocolEnded,
    ShowPrompt,
)
from softphone_assist.core.timeline import record_lines, to_text

CST = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 14, 3, 12, tzinfo=CST)

TIMELINE: list[CallEvent | ConditionChanged | ShowPrompt | MayHangUp | ProtocolEnded] = [
    CallEvent(100.0, "call_start", "ipc"),
    CallEvent(101.5, "answered", "ipc"),
    ConditionChanged(106.3, "caller", "silent", 101.3, LineStats(level_dbov=-70.2, noise_dbov=-84.3)),
    ShowPrompt(
        106.3, "silent_line", 1, 3, "上午好,某某公司很高兴为您服务", "无声电话", never_say="喂,说话呀!"
    ),
    ShowPrompt(118.0, "low_volume", 1, 4, "非常抱歉,我这边听不清楚", "客户声音小", hint="先检查自己的音量"),
    MayHangUp(125.0, "silent_line", "once the customer agrees"),
    ProtocolEnded(126.0, "silent_line", "call_end"),
    CallEvent(126.0, "call_end", "ipc"),
]


@pytest.fixture
def log(tmp_path: Path) -> Any:
    with CallLog(tmp_path / "data" / "calls.sqlite3") as lg:
        yield lg


def record_call(lg: CallLog, start: datetime = T0, number: str | None = "13800138000") -> int:
    cid = lg.start_call(start, number, stream_t=100.0)
    for r in TIMELINE:
        lg.add(cid, r.to_json())
    lg.end_call(cid, start + timedelta(seconds=26), "call_end")
    return cid


def test_a_call_round_trips_with_its_records_in_order(log: CallLog) -> None:
    cid = record_call(log)
    [call] = log.recent(5)
    assert call == LoggedCall(
        id=cid,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=26),
        number="13800138000",
        end_reason="call_end",
        stream_t0=100.0,
        records=tuple(r.to_json() for r in TIMELINE),
    )
    assert call.started_at.utcoffset() == timedelta(hours=8)


def test_recent_gives_the_last_n_oldest_first(log: CallLog) -> None:
    ids = [log.start_call(T0 + timedelta(minutes=i), f"10{i}") for i in range(5)]
    log.add(ids[4], {"event": "call_state", "t": 1.0, "state": "call_start"})
    assert [c.id for c in log.recent(3)] == ids[2:]
    assert [c.number for c in log.recent(100)] == ["100", "101", "102", "103", "104"]
    assert log.recent(0) == []
    assert log.recent(1)[0].records == ({"event": "call_state", "t": 1.0, "state": "call_start"},)


def test_the_file_is_wal_versioned_and_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "calls.sqlite3"
    CallLog(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA user_version").fetchone() == (calllog.SCHEMA_VERSION,)
    db.close()


def test_the_schema_has_no_place_for_audio(log: CallLog) -> None:
    db = sqlite3.connect(log.path)
    types = {
        (table, col[2].upper())
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for col in db.execute(f"PRAGMA table_info({table})")
    }
    db.close()
    assert {t for _, t in types} <= {"INTEGER", "TEXT", "REAL", ""}
    assert not any("BLOB" in t for _, t in types)


@pytest.mark.parametrize(
    ("record", "error", "match"),
    [
        ({"event": "audio", "pcm": b"\x00\x01"}, TypeError, "plain JSON data \\(never audio\\)"),
        ({"event": "audio", "pcm": np.zeros(160, dtype=np.int16)}, TypeError, "plain JSON data"),
        ({"event": "condition", "snr_db": float("nan")}, ValueError, "Out of range float"),
        ({"t": 1.0}, ValueError, "a dict with an 'event' string"),
        ({"event": "prompt", "text": "x" * 20_000}, ValueError, "is over 16384"),
    ],
)
def test_add_takes_json_data_only(log: CallLog, record: dict[str, Any], error: type, match: str) -> None:
    cid = log.start_call(T0, None)
    with pytest.raises(error, match=match):
        log.add(cid, record)
    assert log.recent(1)[0].records == ()


def test_add_and_end_need_an_open_call(log: CallLog) -> None:
    with pytest.raises(ValueError, match="no call 42 in the call log"):
        log.add(42, {"event": "prompt"})
    cid = log.start_call(T0, None)
    log.end_call(cid, T0 + timedelta(seconds=1))
    with pytest.raises(ValueError, match=f"call {cid} has already ended"):
        log.add(cid, {"event": "prompt"})
    with pytest.raises(ValueError, match=f"call {cid} has already ended"):
        log.end_call(cid, T0)


def test_calls_left_open_by_a_crash_can_be_closed(log: CallLog) -> None:
    a = log.start_call(T0, "1")
    log.end_call(a, T0 + timedelta(seconds=5))
    log.start_call(T0, "2")
    log.start_call(T0, "3")
    assert log.end_open_calls(T0 + timedelta(hours=1)) == 2
    assert [(c.end_reason, c.ended_at) for c in log.recent(3)] == [
        (None, T0 + timedelta(seconds=5)),
        ("app stopped", T0 + timedelta(hours=1)),
        ("app stopped", T0 + timedelta(hours=1)),
    ]


def test_a_reader_sees_what_the_running_app_wrote(log: CallLog) -> None:
    cid = log.start_call(T0, "10086", stream_t=0.0)
    log.add(cid, TIMELINE[0].to_json())
    with CallLog(log.path) as reader:  # `softphone-assist log` while the app runs
        [call] = reader.recent(1)
    assert call.records == (TIMELINE[0].to_json(),) and call.ended_at is None
    log.add(cid, TIMELINE[1].to_json())  # the writer goes on after the reader
    assert len(log.recent(1)[0].records) == 2


def test_a_log_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 7")
    db.close()
    with pytest.raises(
        CallLogError, match=r"written by a newer softphone-assist \(schema 7, this one knows 2\)"
    ):
        CallLog(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (7,)
    db.close()


def test_a_foreign_database_or_junk_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(CallLogError, match=r"not a softphone-assist call log \(unknown tables\)"):
        CallLog(other)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CallLogError, match="not a softphone-assist call log") as e:
        CallLog(junk)
    assert isinstance(e.value, UserError) and str(junk) in str(e.value)


def test_default_path_is_in_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert calllog.default_log_path() == tmp_path / "softphone-assist" / "calls.sqlite3"


# --------------------------------------------------------------------------------------------
# `softphone-assist log`
# --------------------------------------------------------------------------------------------
EXPECTED_TEXT = """\
Call 1  2025-03-01 14:03:12 – 14:03:38 (0:26)  number 13800138000  [call_end]
  14:03:12    +0.0s  call call start  (ipc)
  14:03:13    +1.5s  call answered  (ipc)
  14:03:18    +6.3s  caller  silent (since 1.30)   level -70.2 dBov, noise -84.3 dBov, SNR —
  14:03:18    +6.3s  ▶ 1/3 [silent_line]  上午好,某某公司很高兴为您服务
                       never say: 喂,说话呀!
  14:03:30   +18.0s  ▶ 1/4 [low_volume]  非常抱歉,我这边听不清楚
                       hint: 先检查自己的音量
  14:03:37   +25.0s  ✓ the agent may hang up now [silent_line] — once the customer agrees
  14:03:38   +26.0s  ■ silent_line ended: the call ended
  14:03:38   +26.0s  call call end  (ipc)

Call 2  2025-03-01 15:00:00 (not ended)  number unknown
                     custom: {"x": 1}
             t=3.0s  call call start  (hotkey)
"""


def test_format_log_text_is_one_block_per_call_with_times_and_prompts(log: CallLog) -> None:
    record_call(log)
    cid = log.start_call(datetime(2025, 3, 1, 15, 0, tzinfo=CST), None)  # no stream time known
    log.add(cid, {"event": "custom", "x": 1})
    log.add(cid, CallEvent(3.0, "call_start", "hotkey").to_json())
    assert format_log(log.recent(10), as_json=False) == EXPECTED_TEXT


def test_the_log_reads_like_the_replay_timeline() -> None:
    """One renderer: each logged record is the line `replay`/`listen` print for its update, without
    the time (a prompt's display name is not in the record, so the log's line has none)."""
    for u in TIMELINE:
        shown = to_text(u)
        assert shown is not None
        if isinstance(u, ShowPrompt):
            shown = shown.replace(f"▶ {u.title} ", "▶ ")
        first, *more = record_lines(u.to_json())
        assert shown == "\n".join([f"{u.t:8.2f}  {first}", *(" " * 10 + m for m in more)])


def test_format_log_json_is_an_array_of_calls(log: CallLog) -> None:
    record_call(log)
    data = json.loads(format_log(log.recent(1), as_json=True))
    assert data == [
        {
            "id": 1,
            "started_at": "2025-03-01T14:03:12+08:00",
            "ended_at": "2025-03-01T14:03:38+08:00",
            "number": "13800138000",
            "end_reason": "call_end",
            "stream_t0": 100.0,
            "records": [r.to_json() for r in TIMELINE],
        }
    ]


def test_format_log_of_nothing() -> None:
    assert format_log([], as_json=False) == "No calls logged yet.\n"
    assert format_log([], as_json=True) == "[]\n"


def test_a_call_over_midnight_shows_the_end_date(log: CallLog) -> None:
    cid = log.start_call(datetime(2025, 3, 1, 23, 59, 0, tzinfo=CST), "1")
    log.end_call(cid, datetime(2025, 3, 2, 1, 0, 5, tzinfo=CST))
    assert format_log(log.recent(1), as_json=False) == (
        "Call 1  2025-03-01 23:59:00 – 2025-03-02 01:00:05 (1:01:05)  number 1\n"
    )


def test_print_log_without_a_log_file_creates_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    path = tmp_path / "calls.sqlite3"
    assert print_log(5, False, path, out) == 0
    assert out.getvalue() == f"No calls logged yet (no log at {path}).\n"
    assert not path.exists()
    out = io.StringIO()
    assert print_log(5, True, path, out) == 0 and out.getvalue() == "[]\n"


def test_print_log_prints_the_last_calls(log: CallLog) -> None:
    record_call(log)
    record_call(log, start=T0 + timedelta(hours=1), number="95555")
    out = io.StringIO()
    assert print_log(1, False, log.path, out) == 0
    assert out.getvalue().startswith("Call 2  2025-03-01 15:03:12 – 15:03:38 (0:26)  number 95555")
    with pytest.raises(UserError, match="--last: 0 is not a positive number of calls"):
        print_log(0, False, log.path, out)
