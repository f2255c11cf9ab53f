"""Checks of single setting values: each returns the value to use or raises Invalid(why).

The messages quote values the way the user wrote them in TOML (`show`), since they end up in
"file: key: problem; keeping X" reports. Which key takes which check is `settings._CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from softphone_assist.core.config import ConfigError, DetectorConfig
from softphone_assist.core.limits import RANGES, Range, name_problem

Device = str | int | None  # a device name (substring match is the audio layer's job) or an index


class Invalid(Exception):
    """A value that cannot be used; the message says why, without the key."""


def show(v: Any) -> str:
    """A value as the user wrote it in TOML, for messages."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(show(x) for x in v) + "]"
    return "nothing" if v is None else str(v)


def text(v: Any, limit: int = 200) -> str:
    if not isinstance(v, str):
        raise Invalid(f"expected a string, got {show(v)}")
    v = v.strip()
    if len(v) > limit or any(ord(c) < 32 for c in v):
        raise Invalid(f"expected one line of at most {limit} characters")
    return v


def name(v: Any) -> str:
    """A company name or form of address ("" keeps the script's): the script model's own rule."""
    if not isinstance(v, str):
        raise Invalid(f"expected a string, got {show(v)}")
    v = v.strip()
    problem = name_problem(v)
    if problem:
        raise Invalid(problem)
    return v


def optional_text(v: Any) -> str | None:
    return text(v) or None


def choice(options: tuple[str, ...], canon: Callable[[str], str] = str.lower) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        by_canon = {canon(o): o for o in options}
        if isinstance(v, str) and canon(v.strip()) in by_canon:
            return by_canon[canon(v.strip())]
        raise Invalid(f"{show(v)} is not one of {', '.join(options)}")

    return check


def locale_key(s: str) -> str:
    return s.lower().replace("_", "-")


def device(v: Any) -> Device:
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise Invalid(f"device index {v} is negative")
        return v
    return text(v) or None


def number(limits: Range) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise Invalid(f"expected a number, got {show(v)}")
        if not limits.contains(v):
            raise Invalid(f"{v:g} is outside {limits.describe()}")
        return float(v)

    return check


def ranged(key: str) -> Callable[[Any], float]:
    """The check of a numeric setting whose limits are in softphone_assist.core.limits.RANGES."""
    return number(RANGES[key])


def ranged_integer(key: str) -> Callable[[Any], int]:
    r = RANGES[key]
    return integer(int(r.low), int(r.high))


def integer(lo: int, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise Invalid(f"expected a whole number, got {show(v)}")
        if v < lo or (hi is not None and v > hi):
            raise Invalid(f"{v} is outside {lo}..{hi}" if hi is not None else f"{v} is below {lo}")
        return v

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise Invalid(f"expected true or false, got {show(v)}")
    return v


def record_audio(v: Any) -> bool:
    if boolean(v):
        raise Invalid("softphone-assist never records audio; only false is allowed")
    return False


def outputs(options: tuple[str, ...]) -> Callable[[Any], tuple[str, ...]]:
    """A non-empty list of distinct device roles taken from `options`."""

    def check(v: Any) -> tuple[str, ...]:
        if not isinstance(v, list) or not v:
            raise Invalid(f"expected a non-empty list of {', '.join(options)} (use mode = \"off\" for none)")
        out = tuple(choice(options)(x) for x in v)
        if len(set(out)) != len(out):
            raise Invalid("lists a device twice")
        return out

    return check


_MODIFIERS = {"ctrl": "Ctrl", "control": "Ctrl", "alt": "Alt", "option": "Alt", "shift": "Shift",
              "meta": "Meta", "win": "Meta", "super": "Meta", "cmd": "Meta"}
_NAMED_KEYS = {k.lower(): k for k in (
    "Space", "Enter", "Esc", "Tab", "Backspace", "Delete", "Insert", "Home", "End", "PageUp",
    "PageDown", "Up", "Down", "Left", "Right", "Pause",
)} | {"return": "Enter", "escape": "Esc", "del": "Delete", "ins": "Insert", "pgup": "PageUp",
      "pgdown": "PageDown", "pgdn": "PageDown"}
_ALONE_OK = {f"F{i}" for i in range(1, 25)} | {"Pause"}  # keys that do not steal typing on their own


def hotkey(v: Any) -> str:
    """'ctrl + alt + s' -> 'Ctrl+Alt+S' (Qt's QKeySequence text); '' disables the action."""
    written = text(v, limit=40)
    if not written:
        return ""
    parts = [p.strip() for p in written.split("+")]
    *mods, key = parts
    canon_mods = []
    for m in mods:
        if m.lower() not in _MODIFIERS:
            raise Invalid(f"{written!r}: {m!r} is not a modifier (Ctrl, Alt, Shift, Meta)")
        canon_mods.append(_MODIFIERS[m.lower()])
    if len(set(canon_mods)) != len(canon_mods):
        raise Invalid(f"{written!r} repeats a modifier")
    if len(key) == 1 and key.isascii() and key.isalnum():
        key = key.upper()
    elif key.upper() in _ALONE_OK:
        key = key.upper() if key.upper() != "PAUSE" else "Pause"
    elif key.lower() in _NAMED_KEYS:
        key = _NAMED_KEYS[key.lower()]
    else:
        raise Invalid(f"{written!r}: {key!r} is not a key (a letter, a digit, F1..F24, Space, Enter, ...)")
    if not canon_mods and key not in _ALONE_OK:
        raise Invalid(f"{written!r} needs a modifier such as Ctrl+Alt (a bare key would steal typing)")
    order = ["Ctrl", "Alt", "Shift", "Meta"]
    return "+".join([*sorted(canon_mods, key=order.index), key])


def detector_key(name: str) -> Callable[[Any], Any]:
    """DetectorConfig's own check of one key, its message without the key name."""

    def check(v: Any) -> Any:
        try:
            return getattr(DetectorConfig.from_mapping({name: v}), name)
        except ConfigError as e:
            raise Invalid(str(e).split(": ", 1)[-1]) from None

    return check
