"""The live app's call log: a record, never a reason to stop helping the agent.

`LiveCallLog` has the writer's methods (start_call, add, end_call) and never raises. A write that
fails (another process holds the write lock, a damaged page, a full disk, a file that cannot be
opened at all) waits in memory, in order, and is retried at most once per `retry_s`; the log is
reported unavailable (a warning on logger `softphone_assist.calllog` once, and `problems()` for
the overlay's banner) until everything waiting has been written. A record the store refuses as
such (not JSON data, a call that another process already closed) is dropped with a warning: it
would never succeed. At most `max_pending` records wait; later ones are counted and dropped.

Its call ids are its own: the file's ids are known only once a call's start has been written.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from softphone_assist.calllog.store import CallLog, CallLogError

log = logging.getLogger("softphone_assist.calllog")

_Op = tuple[str, int, tuple[Any, ...]]  # (method, local call id, arguments)


class LiveCallLog:
    def __init__(
        self,
        opener: Callable[[], CallLog],
        *,
        keep_days: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = datetime.now,
        retry_s: float = 1.0,
        max_pending: int = 10_000,
    ) -> None:
        self._opener, self._keep_days = opener, keep_days
        self._clock, self._wall, self._retry_s, self._max_pending = clock, wall, retry_s, max_pending
        self._log: CallLog | None = None
        self._ids: dict[int, int] = {}  # local call id -> the file's call id
        self._next_id = 1
        self._open_call: int | None = None  # the local id of the call being written, if any
        self._open_number: str | None = None  # and its number, when one is known
        self._pending: list[_Op] = []
        self._dropped = 0
        self._problem: str | None = None  # why the log is unavailable now
        self._last_try = -float("inf")
        self._connect()

    # -- what the session calls ---------------------------------------------------------------
    def start_call(self, started_at: datetime, number: str | None, *, stream_t: float | None = None) -> int:
        call_id, self._next_id = self._next_id, self._next_id + 1
        self._open_call, self._open_number = call_id, number or None
        self._queue(("start_call", call_id, (started_at, number, stream_t)))
        return call_id

    def add(self, call_id: int, record_json: Mapping[str, Any]) -> None:
        self._queue(("add", call_id, (dict(record_json),)))

    def end_call(self, call_id: int, ended_at: datetime, reason: str | None = None) -> None:
        if self._open_call == call_id:
            self._open_call = None
        self._queue(("end_call", call_id, (ended_at, reason)))

    def attach_number(self, number: str) -> int | None:
        """Give the call being written its number (a hook's `call start --number N` that came
        after the audio had started the call). Returns the local call id; None without a call, or
        when the call has a number already."""
        if self._open_call is None or not number or self._open_number is not None:
            return None
        self._open_number = number
        self._queue(("set_number", self._open_call, (number,)))
        return self._open_call

    @property
    def open_call(self) -> int | None:
        return self._open_call

    def problems(self) -> list[str]:
        """What is wrong with the log now (for the overlay's banner); empty when all is written."""
        return [self._problem_text(self._problem)] if self._problem is not None else []

    def close(self, ended_at: datetime | None = None, reason: str = "app stopped") -> None:
        """The app stops: end the open call, write what waits (one last try), close the file."""
        if self._open_call is not None:
            self.end_call(self._open_call, ended_at or self._wall(), reason)
        self._last_try = -float("inf")
        self._flush()
        if self._log is not None:
            try:
                self._log.end_open_calls(ended_at or self._wall(), reason)
            except sqlite3.Error as e:
                log.warning("call log: could not close open calls: %s", e)
            self._log.close()
            self._log = None
        if self._pending or self._dropped:
            log.warning("call log: %d record(s) could not be written and are lost",
                        len(self._pending) + self._dropped)
            self._pending.clear()

    # -- inside ---------------------------------------------------------------------------------
    def _connect(self) -> bool:
        if self._log is not None:
            return True
        try:
            lg = self._opener()
        except (CallLogError, sqlite3.Error, OSError) as e:
            self._fail(str(e))
            return False
        try:
            lg.end_open_calls(self._wall())  # calls that dead instances left open; live ones stay
            lg.hash_plain_numbers()  # hash_numbers was turned on: the older numbers go too
            if self._keep_days:
                lg.purge(self._wall() - timedelta(days=self._keep_days))
        except (sqlite3.Error, OSError) as e:
            log.warning("call log: start-up clean-up failed (%s); going on", e)
        self._log = lg
        return True

    def _queue(self, op: _Op) -> None:
        if len(self._pending) >= self._max_pending and op[0] == "add":
            self._dropped += 1
        else:
            self._pending.append(op)
        if self._problem is None or self._clock() - self._last_try >= self._retry_s:
            self._flush()

    def _flush(self) -> None:
        self._last_try = self._clock()
        if not self._connect():
            return
        assert self._log is not None
        while self._pending:
            method, local, args = self._pending[0]
            try:
                self._apply(self._log, method, local, args)
            except (sqlite3.Error, OSError, CallLogError) as e:  # locked, damaged, disk full, a bad
                self._fail(str(e))  # salt file: keep it, say so, and try again later
                return
            except (ValueError, TypeError, KeyError) as e:  # would never succeed: drop this one
                log.warning("call log: dropped a %s record: %s", method, e)
            self._pending.pop(0)
        if self._problem is not None:
            log.warning("call log: available again; everything kept in memory is written")
            self._problem = None

    def _apply(self, lg: CallLog, method: str, local: int, args: tuple[Any, ...]) -> None:
        if method == "start_call":
            started_at, number, stream_t = args
            self._ids[local] = lg.start_call(started_at, number, stream_t=stream_t)
            return
        file_id = self._ids[local]  # KeyError: its start was dropped
        if method == "add":
            lg.add(file_id, args[0])
        elif method == "end_call":
            lg.end_call(file_id, *args)
            del self._ids[local]
        elif method == "set_number":
            lg.set_number(file_id, args[0])

    def _fail(self, why: str) -> None:
        if self._problem != why:  # say it once per cause, not once per retry
            log.warning("%s", self._problem_text(why))
        self._problem = why

    def _problem_text(self, why: str) -> str:
        text = f"call log unavailable ({why}); assistance goes on"
        if waiting := len(self._pending) + self._dropped:
            text += f", {waiting} record(s) kept in memory" if not self._dropped else \
                f", {len(self._pending)} record(s) kept in memory, {self._dropped} dropped"
        return text


class NumberFromHooks:
    """Wraps the IPC command source: a hook's number for a call that audio already started is
    attached to that call in the log (the engine ignores the late `call start` itself)."""

    def __init__(self, commands: Any, calllog: LiveCallLog) -> None:
        self._commands, self._calllog = commands, calllog

    def poll(self) -> list[Any]:
        cmds = self._commands.poll()
        for cmd in cmds:
            number = getattr(cmd, "number", None)
            kind = getattr(cmd, "kind", None)
            if number and kind in ("call_start", "answered") and self._calllog.attach_number(number):
                log.warning("call log: %s %s: the call was already running; its number is "
                            "attached to it", cmd.state, number)
        return cmds

    def wait(self, timeout: float) -> None:
        self._commands.wait(timeout)

    def fileno(self) -> int:
        return int(self._commands.fileno())

    @property
    def has_clients(self) -> bool:
        return bool(self._commands.has_clients)

    def close(self) -> None:
        self._commands.close()
