"""The call-log file: every call's timeline in SQLite under the user data dir. Never any audio.

Rules:
- A row per call (wall-clock start and end, caller number, why it ended, which process wrote it)
  and, in order, the `to_json()` dicts of the records in events.py: call states, conditions,
  prompts, may_hang_up, protocol_end. The API takes JSON data only; there is no parameter, column
  or BLOB for audio.
- WAL journal: the app writes while `softphone-assist log` reads. Each write is its own small
  transaction (with synchronous=NORMAL, WAL does not fsync on every commit).
- The schema is versioned with PRAGMA user_version; a file from a newer version is refused,
  not altered. The file holds phone numbers: it is created 0600 in a 0700 directory (POSIX);
  with `hash_numbers` only a salted HMAC of the number is stored (salt: `number-salt` beside
  the log, per user); deleted calls are overwritten (secure_delete), not just unlinked.
- Open calls belong to the process that started them (owners.py): a new instance closes only
  the calls of dead processes, at the time of their last record.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from softphone_assist.calllog.owners import OwnerLock, owner_alive, sweep_dead_owners
from softphone_assist.core import safejson
from softphone_assist.core.errors import UserError

APP = "softphone-assist"
SCHEMA_VERSION = 2
MAX_RECORD_BYTES = 16_384  # a prompt with its text is ~1 KB; anything far bigger is a bug upstream
MAX_LAST = 2**63 - 1  # SQLite's largest integer: `log --last 99999999999999999999` means "all"
ORPHAN_REASON = "app died (ended at its last record)"
SALT_FILE = "number-salt"
_HASHED = "hmac-sha256:"  # what a stored number starts with when only its hash is kept

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
_MIGRATIONS: dict[int, str] = {
    1: "ALTER TABLE calls ADD COLUMN owner TEXT;",  # the writing process (owners.py); NULL: unknown
}


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


def _number_salt(folder: Path) -> bytes:
    """This user's salt for number hashes, created on first use (0600): hashes mean nothing elsewhere."""
    path = folder / SALT_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise CallLogError(f"{path}: not a number salt (expected hex); remove it to make a new one") from None
    salt = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(salt.hex() + "\n")
    return salt


def _as_local(dt: datetime) -> datetime:
    """Naive local time, so that naive and aware start times compare."""
    return dt.astimezone().replace(tzinfo=None) if dt.tzinfo is not None else dt


class CallLog:
    """One connection to the log file (the app's writer, or `log`'s reader). Use from one thread.

    Errors are CallLogError for the file as a whole (open, schema), sqlite3.Error for a write or
    read that failed (locked, damaged page), ValueError/TypeError for a bad record or call id.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, hash_numbers: bool = False,
        busy_timeout_ms: int = 2000,
    ) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        self.hash_numbers = hash_numbers
        self._owner: OwnerLock | None = None  # taken when this connection starts its first call
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
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA secure_delete = ON")  # a purged number is gone from the file
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
    def stored_number(self, number: str | None) -> str | None:
        """What the log keeps of a number: itself, or with `hash_numbers` a salted HMAC of it."""
        if not number:
            return None
        if not self.hash_numbers:
            return number
        digest = hmac.new(_number_salt(self.path.parent), number.encode(), hashlib.sha256).hexdigest()
        return f"{_HASHED}{digest[:32]}"

    def hash_plain_numbers(self) -> int:
        """With `hash_numbers`: replace the numbers logged before it was turned on by their hashes."""
        if not self.hash_numbers:
            return 0
        plain = self._db.execute(
            "SELECT id, number FROM calls WHERE number IS NOT NULL AND number NOT LIKE ?", (f"{_HASHED}%",)
        ).fetchall()
        for call_id, number in plain:
            self._db.execute("UPDATE calls SET number = ? WHERE id = ?", (self.stored_number(number), call_id))
        return len(plain)

    def start_call(self, started_at: datetime, number: str | None, *, stream_t: float | None = None) -> int:
        """A new call; `stream_t` is the stream time of its start (for clock times in `log`)."""
        if self._owner is None:
            self._owner = OwnerLock(self.path)
        cur = self._db.execute(
            "INSERT INTO calls (started_at, number, stream_t0, owner) VALUES (?, ?, ?, ?)",
            (started_at.isoformat(), self.stored_number(number), stream_t, self._owner.token),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def set_number(self, call_id: int, number: str) -> None:
        """The number of an open call, learnt after it started (a hook after the audio started it)."""
        self._require_open(call_id)
        self._db.execute("UPDATE calls SET number = ? WHERE id = ?", (self.stored_number(number), call_id))

    def add(self, call_id: int, record_json: Mapping[str, Any]) -> None:
        """Append one record's `to_json()` to an open call. JSON data only: no bytes, no arrays."""
        import json

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
        """Close this connection's open calls at `ended_at`, and the calls that dead processes left
        open (a crash, `kill -9`) at the time of their last record. Calls of live processes stay
        open. Returns how many were closed."""
        mine = self._owner.token if self._owner is not None else None
        closed = 0
        for call_id, owner, started, t0 in self._db.execute(
            "SELECT id, owner, started_at, stream_t0 FROM calls WHERE ended_at IS NULL"
        ).fetchall():
            if owner is not None and owner == mine:
                when, why = ended_at, reason
            elif owner is None or not owner_alive(self.path, owner):
                when, why = self._last_record_time(call_id, started, t0), ORPHAN_REASON
            else:
                continue
            self._db.execute("UPDATE calls SET ended_at = ?, end_reason = ? WHERE id = ?",
                             (when.isoformat(), why, call_id))
            closed += 1
        sweep_dead_owners(self.path)
        return closed

    def _last_record_time(self, call_id: int, started: str, t0: float | None) -> datetime:
        """Wall time of a call's last record (its start when nothing places it later)."""
        start = datetime.fromisoformat(started)
        (last_t,) = self._db.execute("SELECT max(t) FROM records WHERE call_id = ?", (call_id,)).fetchone()
        if last_t is None or t0 is None or last_t < t0:
            return start
        return start + timedelta(seconds=last_t - t0)

    def _require_open(self, call_id: int) -> None:
        row = self._db.execute("SELECT ended_at FROM calls WHERE id = ?", (call_id,)).fetchone()
        if row is None:
            raise ValueError(f"no call {call_id} in the call log")
        if row[0] is not None:
            raise ValueError(f"call {call_id} has already ended")

    # -- retention --------------------------------------------------------------------------------
    def purge(self, before: datetime | None = None) -> tuple[int, int]:
        """Delete the calls that started before `before` (all calls when None), records and all.

        A call still being written by a live process is kept. Returns (deleted, kept in progress).
        """
        limit = _as_local(before) if before is not None else None
        doomed: list[int] = []
        in_progress = 0
        for call_id, started, ended, owner in self._db.execute(
            "SELECT id, started_at, ended_at, owner FROM calls"
        ).fetchall():
            if limit is not None and _as_local(datetime.fromisoformat(started)) >= limit:
                continue
            if ended is None and owner is not None and (
                (self._owner is not None and owner == self._owner.token) or owner_alive(self.path, owner)
            ):
                in_progress += 1
                continue
            doomed.append(call_id)
        if doomed:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for i in range(0, len(doomed), 500):
                    part = doomed[i : i + 500]
                    self._db.execute(f"DELETE FROM calls WHERE id IN ({','.join('?' * len(part))})", part)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL held the deleted rows too
        return len(doomed), in_progress

    # -- reading --------------------------------------------------------------------------------
    def recent(self, n: int) -> list[LoggedCall]:
        """The last `n` calls, oldest first (the newest ends up next to the prompt)."""
        if n <= 0:
            return []
        rows = self._db.execute(
            "SELECT id, started_at, ended_at, number, end_reason, stream_t0"
            " FROM calls ORDER BY id DESC LIMIT ?",
            (min(n, MAX_LAST),),
        ).fetchall()[::-1]
        records: dict[int, list[dict[str, Any]]] = {r[0]: [] for r in rows}
        if rows:
            marks = ",".join("?" * len(rows))
            for call_id, text in self._db.execute(
                f"SELECT call_id, json FROM records WHERE call_id IN ({marks}) ORDER BY id", list(records)
            ):
                records[call_id].append(_record(text))
        return [
            LoggedCall(
                id=r[0], started_at=datetime.fromisoformat(r[1]),
                ended_at=datetime.fromisoformat(r[2]) if r[2] else None,
                number=r[3], end_reason=r[4], stream_t0=r[5], records=tuple(records[r[0]]),
            )
            for r in rows
        ]

    def close(self) -> None:
        if self._owner is not None:
            self._owner.release()
            self._owner = None
        self._db.close()

    def __enter__(self) -> CallLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _record(text: str) -> dict[str, Any]:
    """A stored record; a row damaged or edited by hand reads as an `unreadable` record, not a crash."""
    try:
        obj = safejson.loads(text)
    except ValueError as e:
        return {"event": "unreadable", "problem": str(e)[:200]}
    return obj if isinstance(obj, dict) else {"event": "unreadable", "problem": "not a JSON object"}
