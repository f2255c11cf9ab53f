"""Writing the settings file: a tiny TOML writer and an atomic replace.

tomllib only reads. Settings hold tables of scalars and of lists of scalars, nothing more, so a
few lines cover them; no arrays of tables, no dates.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(s: str) -> str:
    out = [_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in s]
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_string(k)


def toml_value(v: Any) -> str:
    """One value as TOML writes it (`"Acme"`, `true`, `["headset"]`), for files and for messages."""
    return _toml_value(v)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("-inf" if v < 0 else "inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dump_toml(data: Mapping[str, Any]) -> str:
    """TOML text that tomllib reads back to `data` (no arrays of tables, no dates)."""
    lines: list[str] = []

    def table(t: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        scalars = [(k, v) for k, v in t.items() if not isinstance(v, Mapping)]
        subtables = [(k, v) for k, v in t.items() if isinstance(v, Mapping)]
        if prefix and (scalars or not subtables):
            lines.extend(["", "[" + ".".join(_toml_key(p) for p in prefix) + "]"])
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars)
        for k, v in subtables:
            table(v, (*prefix, k))

    table(data, ())
    return "\n".join(lines).lstrip("\n") + "\n"


def write_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Readers see the old file or the new one, never half of one (temp file + fsync + rename).

    The file is private to its owner (mkstemp's 0600) unless `mode` says otherwise: the machine
    file must be 0644, or the agents' app, which is not root, cannot read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
