"""A TOML table reader that fails with "<file>:<line>: <key path>: <problem>" (a ScriptError).

tomllib keeps no positions, so `key_lines` indexes the text once (key path -> line) and every
`TomlTable` carries its key path: a failed read names the line of the key, or of its table when
the key is missing. Key paths are written as in the file, array entries counted from 1
(`ladder.silent_line.step[2].wait_s`). `finish()` refuses keys nobody read, so a typo fails
instead of silently doing nothing. What the keys mean is loader.py's business; the one script
notion here is the `{placeholder}` check of `text()` (model.placeholder_problem).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from softphone_assist.core.errors import ScriptError
from softphone_assist.core.script.model import placeholder_problem

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*(\"[^\"]*\"|[A-Za-z0-9_-]+)\s*=")
_LAST_PART = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")


def key_lines(text: str) -> dict[str, int]:
    """Key path -> line number, for error messages (tomllib keeps no positions).

    Best effort for the layout the script files use: [table] and [[array]] headers and
    `key = value` lines; a key inside a multi-line value is not indexed.
    """
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            table = header.group(2)
            if header.group(1) == "[[":
                counts[table] = counts.get(table, 0) + 1
                table = f"{table}[{counts[table]}]"
            lines.setdefault(table, number)
        elif assign := _ASSIGN.match(line):
            key = assign.group(1).strip('"')
            lines.setdefault(f"{table}.{key}" if table else key, number)
    return lines


class TomlTable:
    """One TOML table and its key path: typed reads that fail with file:line + key + problem."""

    def __init__(self, file: Path, key: str, data: dict[str, Any], lines: Mapping[str, int]) -> None:
        self.file, self.key, self.data, self.lines = file, key, data, lines
        self._read: set[str] = set()

    def _child(self, key: str, data: dict[str, Any]) -> TomlTable:
        return TomlTable(self.file, key, data, self.lines)

    def _line(self, path: str) -> int | None:
        """The line of `path`, else of the nearest enclosing key or table (a missing key's table)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            shorter = _LAST_PART.sub("", path)
            if shorter == path:
                return None
            path = shorter
        return None

    def path(self, key: str | None) -> str:
        if key is None:
            return self.key or "(top level)"
        return f"{self.key}.{key}" if self.key else key

    def fail(self, key: str | None, problem: str) -> NoReturn:
        path = self.path(key)
        line = self._line(path)
        where = f"{self.file}:{line}" if line is not None else str(self.file)
        raise ScriptError(f"{where}: {path}: {problem}")

    def value(self, key: str, *, required: bool = True) -> Any:
        self._read.add(key)
        if key not in self.data and required:
            self.fail(key, "missing (required key)")
        return self.data.get(key)

    def text(self, key: str, *, placeholders: tuple[str, ...] = ()) -> str:
        """A required non-empty string that uses only `placeholders`."""
        value = self.optional_text(key, placeholders=placeholders, required=True)
        assert value is not None  # required: a missing key has failed already
        return value

    def optional_text(self, key: str, *, placeholders: tuple[str, ...] = (),
                      required: bool = False) -> str | None:
        value = self.value(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f"expected text in quotes, got {_describe(value)}")
        if not value.strip():
            self.fail(key, "must not be empty")
        problem = placeholder_problem(value, placeholders)
        if problem:
            self.fail(key, problem)
        return value

    def texts(self, key: str) -> list[str]:
        values = self.value(key)
        if not isinstance(values, list) or not values:
            self.fail(key, f"expected a non-empty list of texts, got {_describe(values)}")
        return [self._child(self.key, {f"{key}[{i}]": v}).text(f"{key}[{i}]")
                for i, v in enumerate(values, start=1)]

    def number(self, key: str, low: float, high: float, unit: str) -> float:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number ({unit}), got {_describe(value)}")
        if not low <= value <= high:  # also refuses nan
            self.fail(key, f"{value} is outside {low:g}..{high:g} {unit}")
        return float(value)

    def integer(self, key: str, low: int, high: int, *, note: str = "", default: int | None = None) -> int:
        value = self.value(key, required=default is None)
        if value is None:
            return default  # type: ignore[return-value]  # only None when a default is given
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected a whole number, got {_describe(value)}")
        if not low <= value <= high:
            self.fail(key, f"{value} is outside {low}..{high}" + (f" ({note})" if note else ""))
        return value

    def boolean(self, key: str) -> bool:
        value = self.value(key)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_describe(value)}")
        return value

    def table(self, key: str) -> TomlTable:
        value = self.value(key)
        if not isinstance(value, dict):
            self.fail(key, f"expected a table [{self.path(key)}], got {_describe(value)}")
        return self._child(self.path(key), value)

    def tables(self, key: str) -> list[TomlTable]:
        """An array of tables ([[key]]), each with its 1-based index in the key path."""
        values = self.value(key)
        if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
            self.fail(key, f"expected [[{self.path(key)}]] tables, got {_describe(values)}")
        return [self._child(f"{self.path(key)}[{i}]", v) for i, v in enumerate(values, start=1)]

    def finish(self) -> None:
        """Refuse keys nobody read: a misspelt key must not be silently ignored."""
        unknown = [k for k in self.data if k not in self._read]
        if unknown:
            known = ", ".join(sorted(self._read)) or "none"
            self.fail(unknown[0], f"unknown key (known here: {known})")


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {value!r}"
