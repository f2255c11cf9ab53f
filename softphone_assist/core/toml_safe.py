"""The one safe way to parse TOML here: deep nesting is a decode error, never a RecursionError.

tomllib recurses once per nested array or inline table, so a 1 KB line `a = [[[[...]]]]` raises
RecursionError, which no `except ValueError` catches: it stopped the app at start-up from the
user's config.toml. Every TOML reader (settings, script files) goes through `loads`. Pure, core.
"""

from __future__ import annotations

import tomllib
from typing import Any

TOMLDecodeError = tomllib.TOMLDecodeError
TOO_DEEP = "nested too deeply"


def loads(text: str) -> dict[str, Any]:
    """tomllib.loads; nesting deeper than Python's stack allows raises TOMLDecodeError(TOO_DEEP)."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise TOMLDecodeError(TOO_DEEP) from None
