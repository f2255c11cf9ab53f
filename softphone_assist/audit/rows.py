"""The audit's results on disk: calls.jsonl (appended and flushed call by call) and calls.csv.

calls.jsonl is the record: one object per call, written as soon as the call is done and synced,
so a crash or Ctrl-C loses at most the calls in flight. A kill can leave a half-written last line;
reading skips it (that call is audited again). A later run into the same folder skips every call
whose sha256 already has a row. calls.csv is rebuilt from all rows at the end of each run.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from softphone_assist.audit.rules import RULES
from softphone_assist.core.events import CALLER_CONDITIONS, PROTOCOLS

Row = dict[str, Any]
JSONL_NAME = "calls.jsonl"
CSV_NAME = "calls.csv"


def read_rows(out_dir: Path) -> list[Row]:
    """Every complete row in `out_dir/calls.jsonl`, one per sha256 (the first kept), file order."""
    path = out_dir / JSONL_NAME
    if not path.is_file():
        return []
    rows: list[Row] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # the line a kill cut short
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            key = row.get("sha256") or row.get("file")
            if isinstance(row, dict) and key not in seen:
                seen.add(key)
                rows.append(row)
    return rows


def row_line(row: Row) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


class RowWriter:
    """Appends rows to calls.jsonl, each one flushed and synced before the next call is counted."""

    def __init__(self, out_dir: Path) -> None:
        path = out_dir / JSONL_NAME
        self._f: TextIO = path.open("a", encoding="utf-8")
        if path.stat().st_size and not _ends_with_newline(path):
            self._f.write("\n")  # close the line a kill cut short, so the next row starts clean

    def write(self, row: Row) -> None:
        self._f.write(row_line(row))
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


FIGURE_COLUMNS = ("agent_talk_pct", "caller_talk_pct", "silence_pct", "longest_dead_air_s", "overtalk_s")


def csv_columns() -> list[str]:
    return ["file", "sha256", "duration_s", "channels", *FIGURE_COLUMNS,
            *(f"caller_{c}_s" for c in CALLER_CONDITIONS), *(f"prompts_{p}" for p in PROTOCOLS),
            "violations", *(f"violations_{r}" for r in RULES), "violation_times", "rules_not_checked",
            "warnings", "error"]


def flat(row: Row) -> dict[str, Any]:
    """One row as spreadsheet cells: figures, counts per rule, and the violations as `rule@t`."""
    out: dict[str, Any] = {k: row.get(k, "") for k in ("file", "sha256", "duration_s", "channels")}
    if "error" in row:
        return {**out, "error": row["error"]}
    for k in FIGURE_COLUMNS:
        out[k] = "" if row.get(k) is None else row[k]
    for c in CALLER_CONDITIONS:
        out[f"caller_{c}_s"] = row.get("caller_condition_s", {}).get(c, 0.0)
    for p in PROTOCOLS:
        out[f"prompts_{p}"] = row.get("prompts", {}).get(p, 0)
    violations = row.get("violations", [])
    out["violations"] = len(violations)
    for r in RULES:
        out[f"violations_{r}"] = sum(v["rule"] == r for v in violations)
    out["violation_times"] = "; ".join(f"{v['rule']}@{v['t']:g}" for v in violations)
    out["rules_not_checked"] = " ".join(row.get("rules_not_checked", []))
    out["warnings"] = " | ".join(row.get("warnings", []))
    out["error"] = ""
    return out


def write_csv(out_dir: Path, rows: Iterable[Row]) -> Path:
    path = out_dir / CSV_NAME
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=csv_columns())
        w.writeheader()
        for row in rows:
            w.writerow(flat(row))
    tmp.replace(path)
    return path
