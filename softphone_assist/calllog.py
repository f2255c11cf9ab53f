"""Call log: every call's timeline in SQLite under the user data dir. Never any audio.

Rules:
- A row per call (wall-clock start and end, caller number, why it ended) and, in order, the
  `to_json()` dicts of the records in events.py: call states, conditions, prompts, may_hang_up,
  protocol_end. The API takes JSON data only; there is no parameter, column or BLOB for audio.
- WAL journal: the app writes while `softphone-assist log` reads. Each `add` is its own small
  transaction (with synchronous=NORMAL, WAL does not fsync on every commit).
- The schema is versioned with PRAGMA user_version; a file from a newer version is refused,
  not altered. The file holds phone numbers: it is created 0600 in a 0700 directory (POSIX).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from softphone_assist.errors import UserError

APP = "softphone-assist"
SCHEMA_VERSION = 1
MAX_RECORD_BYTES = 16_384  # a prompt with its text is ~1 KB; anything far bigger is a bug upstream

_SCHEMA_V1 = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,  -- ISO 8601, as given (with its UTC offset when aware)
    ended_at TEXT,
    number TEXT,
    end_reason TEXT,
    stream_t0 REAL  -- stream seconds at the call start: maps a record's `t` to wall-clock time
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    t REAL,
    event TEXT NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX records_by_call ON records(call_id, id);
"""
_MIGRATIONS: dict[int, str] = {}  # version N -> SQL that makes it N+1 (none yet)


class CallLogError(UserError):
    """The log file cannot be used; the message names it."""


@dataclass(frozen=True, slots=True)
class LoggedCall:
    id: int
    started_at: datetime
    ended_at: datetime | None
    number: str | None
    end_reason: str | None
    stream_t0: float | None
    records: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "number": self.number,
            "end_reason": self.end_reason,
            "stream_t0": self.stream_t0,
            "records": list(self.records),
        }


def default_log_path() -> Path:
    import platformdirs  # the app extra; tests pass a path

    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "calls.sqlite3"


class CallLog:
    """The app's writer (and `log`'s reader). Use from one thread: the app's main loop."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        new = not self.path.exists()
        if new:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; BEGIN by hand
        except sqlite3.Error as e:
            raise CallLogError(f"{self.path}: cannot open the call log ({e})") from None
        try:
            if new and sys.platform != "win32":
                os.chmod(self.path, 0o600)
            self._db.execute("PRAGMA busy_timeout = 2000")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise CallLogError(f"{self.path}: not a softphone-assist call log ({e})") from None
        except CallLogError:
            self._db.close()
            raise

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CallLogError(
                f"{self.path}: written by a newer softphone-assist (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade, or point the log elsewhere"
            )
        if version == 0:
            if self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise CallLogError(f"{self.path}: not a softphone-assist call log (unknown tables)")
            self._db.executescript(f"BEGIN; {_SCHEMA_V1} PRAGMA user_version = 1; COMMIT;")
            version = 1
        while version < SCHEMA_VERSION:
            step = _MIGRATIONS[version]
            self._db.executescript(f"BEGIN; {step} PRAGMA user_version = {version + 1}; COMMIT;")
            version += 1

    # -- writing --------------------------------------------------------------------------------
    def start_call(self, started_at: datetime, number: str | None, *, stream_t: float | None = None) -> int:
        """A new call; `stream_t` is the stream time of its start (for clock times in `log`)."""
        cur = self._db.execute(
            "INSERT INTO calls (started_at, number, stream_t0) VALUES (?, ?, ?)",
            (started_at.isoformat(), number or None, stream_t),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def add(self, call_id: int, record_json: Mapping[str, Any]) -> None:
        """Append one record's `to_json()` to an open call. JSON data only: no bytes, no arrays."""
        if not isinstance(record_json, Mapping) or not isinstance(record_json.get("event"), str):
            raise ValueError(f"a call log record is a dict with an 'event' string, got {record_json!r:.80}")
        try:
            text = json.dumps(dict(record_json), ensure_ascii=False, allow_nan=False)
        except TypeError as e:
            raise TypeError(f"call log records must be plain JSON data (never audio): {e}") from None
        if len(text.encode()) > MAX_RECORD_BYTES:
            raise ValueError(f"call log record of {len(text.encode())} bytes is over {MAX_RECORD_BYTES}")
        t = record_json.get("t")
        t = float(t) if isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t) else None
        self._require_open(call_id)
        self._db.execute(
            "INSERT INTO records (call_id, t, event, json) VALUES (?, ?, ?, ?)",
            (call_id, t, record_json["event"], text),
        )

    def end_call(self, call_id: int, ended_at: datetime, reason: str | None = None) -> None:
        self._require_open(call_id)
        self._db.execute(
            "UPDATE calls SET ended_at = ?, end_reason = ? WHERE id = ?",
            (ended_at.isoformat(), reason, call_id),
        )

    def end_open_calls(self, ended_at: datetime, reason: str = "app stopped") -> int:
        """Close calls left open (the app quit or crashed mid-call); returns how many."""
        cur = self._db.execute(
            "UPDATE calls SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL",
            (ended_at.isoformat(), reason),
        )
        return cur.rowcount

    def _require_open(self, call_id: int) -> None:
        row = self._db.execute("SELECT ended_at FROM calls WHERE id = ?", (call_id,)).fetchone()
        if row is None:
            raise ValueError(f"no call {call_id} in the call log")
        if row[0] is not None:
            raise ValueError(f"call {call_id} has already ended")

    # -- reading --------------------------------------------------------------------------------
    def recent(self, n: int) -> list[LoggedCall]:
        """The last `n` calls, oldest first (the newest ends up next to the prompt)."""
        if n <= 0:
            return []
        rows = self._db.execute(
            "SELECT id, started_at, ended_at, number, end_reason, stream_t0"
            " FROM calls ORDER BY id DESC LIMIT ?",
            (n,),
        ).fetchall()[::-1]
        records: dict[int, list[dict[str, Any]]] = {r[0]: [] for r in rows}
        if rows:
            marks = ",".join("?" * len(rows))
            for call_id, text in self._db.execute(
                f"SELECT call_id, json FROM records WHERE call_id IN ({marks}) ORDER BY id", list(records)
            ):
                records[call_id].append(json.loads(text))
        return [
            LoggedCall(
                id=r[0], started_at=datetime.fromisoformat(r[1]),
                ended_at=datetime.fromisoformat(r[2]) if r[2] else None,
                number=r[3], end_reason=r[4], stream_t0=r[5], records=tuple(records[r[0]]),
            )
            for r in rows
        ]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CallLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# `softphone-assist log [--last N] [--json]`
# --------------------------------------------------------------------------------------------
_STATES = {"call_start": "call started", "answered": "answered", "hold": "on hold", "resume": "resumed",
           "closing": "closing", "call_end": "call ended"}


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _describe(r: Mapping[str, Any]) -> list[str]:
    """One record as text: the first line, then indented detail lines."""
    ev = r.get("event")
    if ev == "call_state":
        src = f" ({r['source']})" if r.get("source") else ""
        return [f"{_STATES.get(r.get('state', ''), r.get('state'))}{src}"]
    if ev == "condition":
        figures = [f"{name} {r[key]:g} {unit}" for key, name, unit in (
            ("speech_dbov", "speech", "dBov"), ("noise_dbov", "noise", "dBov"), ("snr_db", "SNR", "dB"),
        ) if isinstance(r.get(key), int | float)]
        detail = f"  [{', '.join(figures)}]" if figures else ""
        return [f"{r.get('channel')} line: {r.get('condition')}{detail}"]
    if ev == "prompt":
        lines = [f"PROMPT {r.get('protocol')} {r.get('step')}/{r.get('steps')}: {r.get('text')}"]
        lines += [f"    hint: {r['hint']}"] if r.get("hint") else []
        return lines + ([f"    never say: {r['never_say']}"] if r.get("never_say") else [])
    if ev == "may_hang_up":
        return [f"may hang up ({r.get('protocol')})" + (f": {r['note']}" if r.get("note") else "")]
    if ev == "protocol_end":
        return [f"{r.get('protocol')} ended: {r.get('reason')}"]
    rest = {k: v for k, v in r.items() if k not in ("event", "t")}
    return [f"{ev}: {json.dumps(rest, ensure_ascii=False)}"]


def _format_call(c: LoggedCall) -> str:
    start = c.started_at
    if c.ended_at is None:
        span = "(not ended)"
    else:
        end = c.ended_at.strftime("%H:%M:%S" if c.ended_at.date() == start.date() else "%Y-%m-%d %H:%M:%S")
        span = f"– {end} ({_duration((c.ended_at - start).total_seconds())})"
    head = f"Call {c.id}  {start:%Y-%m-%d %H:%M:%S} {span}  number {c.number or 'unknown'}"
    lines = [head + (f"  [{c.end_reason}]" if c.end_reason else "")]
    for r in c.records:
        t = r.get("t")
        if isinstance(t, int | float) and c.stream_t0 is not None:
            offset = t - c.stream_t0
            stamp = f"{start + timedelta(seconds=offset):%H:%M:%S} {offset:+7.1f}s"
        else:
            stamp = f"{f't={t:.1f}s':>17}" if isinstance(t, int | float) else " " * 17
        first, *more = _describe(r)
        lines.append(f"  {stamp}  {first}")
        lines += [f"  {'':17}  {m}" for m in more]
    return "\n".join(lines)


def format_log(calls: Sequence[LoggedCall], as_json: bool) -> str:
    """Readable blocks (one per call, times and prompt texts) or a JSON array; ends with a newline."""
    if as_json:
        return json.dumps([c.to_json() for c in calls], ensure_ascii=False, indent=2) + "\n"
    if not calls:
        return "No calls logged yet.\n"
    return "\n\n".join(_format_call(c) for c in calls) + "\n"


def print_log(
    last: int = 10,
    as_json: bool = False,
    path: str | os.PathLike[str] | None = None,
    out: TextIO | None = None,
) -> int:
    """For the CLI: print the last calls; returns the exit code. CallLogError for a bad file."""
    if last < 1:
        raise UserError(f"--last: {last} is not a positive number of calls")
    target = Path(path) if path is not None else default_log_path()
    out = out or sys.stdout
    if not target.exists():  # do not create a database just to say it is empty
        out.write("[]\n" if as_json else f"No calls logged yet (no log at {target}).\n")
        return 0
    with CallLog(target) as log:
        out.write(format_log(log.recent(last), as_json))
    return 0
