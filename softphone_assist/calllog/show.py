"""`softphone-assist log [--last N] [--json]` and `log --purge [--before DATE]`.

A damaged or locked file is one line naming it (CallLogError), never a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from softphone_assist.calllog.store import CallLog, CallLogError, LoggedCall, default_log_path
from softphone_assist.core.errors import UserError
from softphone_assist.core.timeline import record_lines


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _call_times(r: Mapping[str, Any], t0: float | None) -> Mapping[str, Any]:
    """The record with its stream times (t, since) as seconds into the call, like the stamps."""
    if t0 is None:
        return r
    return {**r, **{k: round(r[k] - t0, 3) for k in ("t", "since") if isinstance(r.get(k), int | float)}}


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
        first, *more = record_lines(_call_times(r, c.stream_t0))  # the text of the `replay` timeline
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


def _damaged(path: Path, e: sqlite3.Error) -> CallLogError:
    return CallLogError(f"{path}: cannot read the call log ({e}); move it away to start a new one "
                        f"(`sqlite3 {path} .recover` may save what is left)")


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
        try:
            calls = log.recent(last)
        except sqlite3.Error as e:
            raise _damaged(target, e) from None
    out.write(format_log(calls, as_json))
    return 0


def purge_log(
    before: datetime | None = None,
    path: str | os.PathLike[str] | None = None,
    out: TextIO | None = None,
) -> int:
    """For the CLI: delete the calls that started before `before` (all when None)."""
    target = Path(path) if path is not None else default_log_path()
    out = out or sys.stdout
    which = f"started before {before.isoformat(sep=' ')}" if before is not None else "logged"
    if not target.exists():
        out.write(f"No calls {which} to purge (no log at {target}).\n")
        return 0
    with CallLog(target) as log:
        try:
            deleted, kept = log.purge(before)
        except sqlite3.Error as e:
            raise _damaged(target, e) from None
    note = f"; {kept} call(s) still in progress were kept" if kept else ""
    out.write(f"Purged {deleted} call(s) {which} from {target}{note}.\n")
    return 0
