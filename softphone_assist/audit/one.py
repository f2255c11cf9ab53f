"""Audit one recorded call: the replay's Pipeline, then the pure rules over its timeline -> one row.

`audit_one(path, options)` is what every worker runs (a local process or a Dask worker): it reads
the file by path and returns a small JSON-able dict, never audio. A file that cannot be read gives
a row with `error` (the reader's one-line message) instead of raising, so one bad file never stops
an audit of thousands.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from softphone_assist.audit.calltimeline import CallTimeline, read_timeline
from softphone_assist.audit.figures import call_figures
from softphone_assist.audit.rules import DEFAULT_TOLERANCE_S, Thresholds, check_rules
from softphone_assist.core.errors import UserError
from softphone_assist.core.script.loader import load_script, script_file
from softphone_assist.core.script.model import Script
from softphone_assist.core.timeline import JSONL_TYPES
from softphone_assist.replay import ReplayRun

# the greeting's wording depends on the time of day; the audit judges timing only, so every call
# is replayed as if it started at the same moment and rows do not depend on when the audit ran
_START = datetime(2026, 1, 5, 10, 0)


@dataclass(frozen=True, slots=True)
class AuditOptions:
    channels: str | None = None
    events_dir: Path | None = None
    locale: str = "zh-CN"
    tolerance_s: float = DEFAULT_TOLERANCE_S


_SCRIPTS: dict[tuple[str, int, int], Script] = {}


def script_for(locale: str) -> Script:
    """`load_script(locale)`, parsed once per process while its file is unchanged: a worker audits
    many calls (parsing the TOML took ~25 ms a call, ~0.3 s of CPU per audio hour)."""
    path, _ = script_file(locale)
    try:
        st = path.stat()
    except OSError:
        return load_script(locale)  # the loader says what is wrong
    key = (str(locale), st.st_mtime_ns, st.st_size)
    if key not in _SCRIPTS:
        _SCRIPTS.clear()
        _SCRIPTS[key] = load_script(locale)
    return _SCRIPTS[key]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def events_file_for(path: Path, events_dir: Path | None) -> Path | None:
    """`<events-dir>/<call>.events.jsonl` for `<call>.wav`, when it exists."""
    if events_dir is None:
        return None
    candidate = events_dir / f"{path.stem}.events.jsonl"
    return candidate if candidate.is_file() else None


def timeline_records(path: Path, options: AuditOptions) -> tuple[list[dict[str, Any]], ReplayRun]:
    """The JSONL records of `replay --jsonl` for this call (the engine's own timeline)."""
    run = ReplayRun(path=path, channels=options.channels, events_path=events_file_for(path, options.events_dir),
                    locale=options.locale, start_time=_START, script=script_for(options.locale))
    records = [u.to_json() for u in run.updates() if isinstance(u, JSONL_TYPES)]
    return records, run


def lanes(tl: CallTimeline) -> dict[str, Any]:
    """The spans the report draws (agent lines, caller conditions, holds, prompts): small, no audio."""
    return {
        "agent": [[round(s.start, 3), round(s.end, 3)] for s in tl.agent_lines],
        "caller": [[round(s.start, 3), round(s.end, 3), s.condition] for s in tl.caller if s.condition != "silent"],
        "holds": [[round(s.start, 3), round(s.end, 3)] for s in tl.holds],
        "prompts": [[round(p.t, 3), p.protocol, p.step] for p in tl.prompts],
    }


def audit_one(path: str | Path, options: AuditOptions, sha256: str | None = None) -> dict[str, Any]:
    """One call's row. `sha256`: the file's hash when the caller already computed it (the command
    hashes every file to skip those already audited; reading a file twice costs ~0.2 s per hour)."""
    path = Path(path)
    row: dict[str, Any] = {"file": str(path)}
    try:
        row["sha256"] = sha256 or sha256_of(path)
        records, run = timeline_records(path, options)
        info = run.info
        assert info is not None  # set as soon as the file is open
        tl = read_timeline(records, info.duration_s, has_agent=info.has_agent)
        violations, not_checked = check_rules(tl, Thresholds.from_script(script_for(options.locale),
                                                                         options.tolerance_s))
    except UserError as e:
        return {**row, "error": str(e)}
    except OSError as e:  # name the file that failed when it is not the call (a missing resource)
        other = "" if e.filename in (None, str(path)) else f" ({e.filename})"
        return {**row, "error": f"{path}: {e.strerror or e}{other}"}
    except Exception as e:  # a bug on one file must not cost the other thousands: the row says what
        return {**row, "error": f"{path}: internal error {type(e).__name__}: {e}"}
    row.update(
        duration_s=round(info.duration_s, 3),
        channels=",".join(info.channel_map),
        **call_figures(tl),
        violations=[v.to_json() for v in violations],
        rules_not_checked=not_checked,
        warnings=list(run.warnings),
        lanes=lanes(tl),
    )
    return row
