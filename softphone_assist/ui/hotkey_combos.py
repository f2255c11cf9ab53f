"""Hotkey settings without Qt: the actions, default combos and the combo checker.

Combos use pynput's syntax: `<ctrl>+<alt>+s`, `<f9>`, `<shift>+<f2>`; an empty combo unbinds.
Kept apart from `hotkeys.py` so the settings loader can validate them without importing Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from softphone_assist.errors import UserError

ACTIONS: Final = ("speak", "skip", "snooze", "call_start", "hold", "end")
DEFAULT_HOTKEYS: Final[Mapping[str, str]] = {
    "speak": "<ctrl>+<alt>+s",
    "skip": "<ctrl>+<alt>+k",
    "snooze": "<ctrl>+<alt>+z",
    "call_start": "<ctrl>+<alt>+a",
    "hold": "<ctrl>+<alt>+h",
    "end": "<ctrl>+<alt>+e",
}

_MODIFIERS: Final = frozenset(
    {"ctrl", "ctrl_l", "ctrl_r", "alt", "alt_l", "alt_r", "alt_gr", "shift", "shift_l", "shift_r",
     "cmd", "cmd_l", "cmd_r"}
)
_NAMED_KEYS: Final = frozenset(
    {"backspace", "caps_lock", "delete", "down", "end", "enter", "esc", "home", "left", "page_down",
     "page_up", "right", "space", "tab", "up", "insert", "menu", "num_lock", "pause", "print_screen",
     "scroll_lock", *(f"f{i}" for i in range(1, 21))}
)


class HotkeyError(UserError):
    """A hotkey setting cannot be used; the message names the setting and the combo."""


def parse_combo(combo: str) -> tuple[str, ...]:
    """Lower-cased parts of a combo, modifiers first. Raises ValueError saying what is wrong.

    Stricter than pynput's own parser on purpose: exactly one non-modifier key, and a
    <ctrl>/<alt>/<cmd> modifier unless it is an F-key, so plain typing never triggers one.
    """
    text = combo.strip().lower()
    parts = text.split("+")
    if text.endswith("++"):  # "<ctrl>++" binds the plus key itself
        parts = [*parts[:-2], "+"]
    if any(p == "" for p in parts):
        raise ValueError("empty part; write keys like <ctrl>+<alt>+s")
    mods: list[str] = []
    keys: list[str] = []
    for p in parts:
        if len(p) == 1:
            keys.append(p)
        elif len(p) > 2 and p[0] == "<" and p[-1] == ">" and p[1:-1] in _MODIFIERS:
            mods.append(p)
        elif len(p) > 2 and p[0] == "<" and p[-1] == ">" and p[1:-1] in _NAMED_KEYS:
            keys.append(p)
        else:
            raise ValueError(f"unknown key {p!r}")
    if len(set(parts)) != len(parts):
        raise ValueError("a key appears twice")
    if len(keys) != 1:
        raise ValueError("needs exactly one key besides the modifiers")
    is_f_key = keys[0].startswith("<f") and keys[0][2:-1].isdigit()
    # The agent types in the softphone: a letter with no modifier, or with only <shift>,
    # would fire on ordinary typing (the listener observes, it does not swallow keys).
    if not is_f_key and all(m.startswith("<shift") for m in mods):
        raise ValueError("needs <ctrl>, <alt> or <cmd> with it (only F-keys may go without)")
    return (*mods, *keys)


def check_hotkeys(bindings: Mapping[str, str], where: str = "hotkeys") -> dict[str, str]:
    """Validated, normalised bindings (action -> combo, "" = unbound); errors name the setting."""
    unknown = sorted(set(bindings) - set(ACTIONS))
    if unknown:
        raise HotkeyError(f"{where}: unknown action {unknown[0]!r} (known: {', '.join(ACTIONS)})")
    out: dict[str, str] = {}
    seen: dict[tuple[str, ...], str] = {}
    for action, combo in bindings.items():
        if not isinstance(combo, str):
            raise HotkeyError(f"{where}.{action}: expected a key combination text, got {combo!r}")
        if not combo.strip():
            out[action] = ""
            continue
        try:
            parts = parse_combo(combo)
        except ValueError as e:
            raise HotkeyError(f"{where}.{action}: {combo!r} is not a usable key combination: {e}") from None
        key = tuple(sorted(parts))
        if key in seen:
            raise HotkeyError(f"{where}.{action}: {combo!r} is already used by {where}.{seen[key]}")
        seen[key] = action
        out[action] = "+".join(parts)
    return out
