"""Where a call's timeline picture lives, and drawing it next to the audit of that call.

A picture is named by the call's sha256 (`img/call-<16 hex>.png`), so a resumed audit or a second
copy of a call reuses it. The audit command draws each call's picture as its row arrives (from a
local worker or a Dask cluster alike); the report draws only what is still missing (a resumed
audit's older rows).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

IMG_DIR = "img"


def call_id(row: dict[str, Any]) -> str:
    key = row.get("sha256") or hashlib.sha256(str(row.get("file")).encode()).hexdigest()
    return f"call-{key[:16]}"


def timeline_png(out_dir: Path, row: dict[str, Any]) -> Path:
    return out_dir / IMG_DIR / f"{call_id(row)}.png"


def draw_if_missing(out_dir: Path, row: dict[str, Any]) -> None:
    """The call's timeline picture, unless the file could not be read or the picture exists."""
    if "error" in row:
        return
    png = timeline_png(out_dir, row)
    if not png.is_file():
        from softphone_assist.audit import plots  # matplotlib: only where pictures are drawn

        png.parent.mkdir(parents=True, exist_ok=True)
        plots.call_timeline(row, png)
