"""The one JSON parser for text from outside: IPC lines, events files, call-log rows, endpoint files.

CPython's `json.loads` raises RecursionError, not ValueError, on deeply nested input: one 3 KB
line of ``[[[…`` is enough. Every caller here expects ValueError for bad input, so a RecursionError
escaped them and killed the app. `loads` raises `JsonNestingError` (a ValueError) instead, and
refuses nesting deeper than `MAX_DEPTH` before parsing at all, so the answer does not depend on
how deep the caller's own stack already is. None of our formats nests deeper than 3 levels.

Stdlib only and nothing else imported: the hook client (`softphone-assist call`) uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32
# what changes the depth: brackets, and strings (whose brackets do not count; \\. skips escapes)
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')
_BRACKETS = ("[", "]", "{", "}")


class JsonNestingError(ValueError):
    """Input nested deeper than MAX_DEPTH (or than Python's recursion limit)."""


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting in `text`, ignoring brackets inside strings."""
    tokens = [t for t in _TOKENS.findall(text) if t in _BRACKETS]  # a string token is never a bracket
    depth = deepest = 0
    for tok in tokens:
        if tok in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(
    text: str,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """json.loads, but deep nesting is a JsonNestingError (a ValueError), never a RecursionError.

    Other errors are json's own: JSONDecodeError (a ValueError).
    """
    if (depth := nesting_depth(text)) > max_depth:
        raise JsonNestingError(f"JSON nested {depth} levels deep (at most {max_depth})")
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except RecursionError:  # a max_depth above the interpreter's limit
        raise JsonNestingError(f"JSON nested too deeply (at most {max_depth} levels)") from None
