"""Hotkey texts without Qt: settings' key sequences -> the global backend's combos.

Settings (`softphone_assist.settings.layers.HotkeySettings`) hold Qt-style key sequence text,
"Ctrl+Alt+S", "Shift+F2", "F9", and validate it on load. The global backend (pynput) wants
"<ctrl>+<alt>+s". `to_pynput` translates and refuses what pynput cannot listen for (F21–F24),
so a key that the settings accept but the backend cannot bind is reported, not dropped.
Kept apart from `hotkeys.py` so it can be used and tested without Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Final

from softphone_assist.core.errors import UserError
from softphone_assist.settings.layers import HOTKEY_ACTIONS, HotkeySettings

ACTIONS: Final = HOTKEY_ACTIONS
DEFAULT_HOTKEYS: Final[Mapping[str, str]] = asdict(HotkeySettings())

_MODIFIERS: Final = {"ctrl": "<ctrl>", "control": "<ctrl>", "alt": "<alt>", "option": "<alt>",
                     "shift": "<shift>", "meta": "<cmd>", "win": "<cmd>", "super": "<cmd>", "cmd": "<cmd>"}
_NAMED: Final = {
    "space": "<space>", "enter": "<enter>", "return": "<enter>", "esc": "<esc>", "escape": "<esc>",
    "tab": "<tab>", "backspace": "<backspace>", "delete": "<delete>", "del": "<delete>",
    "insert": "<insert>", "ins": "<insert>", "home": "<home>", "end": "<end>", "pageup": "<page_up>",
    "pgup": "<page_up>", "pagedown": "<page_down>", "pgdown": "<page_down>", "pgdn": "<page_down>",
    "up": "<up>", "down": "<down>", "left": "<left>", "right": "<right>", "pause": "<pause>",
}
_PYNPUT_F_KEYS: Final = 20  # pynput knows F1..F20


class HotkeyError(UserError):
    """A hotkey setting cannot be used; the message names the setting and the key text."""


def to_pynput(sequence: str) -> str:
    """"Ctrl+Alt+S" -> "<ctrl>+<alt>+s". Raises ValueError saying what is wrong.

    Same rules as the settings loader: modifiers + one key; a key alone only if it is an
    F-key or Pause, because a global listener would otherwise fire on ordinary typing.
    """
    *mods, key = [p.strip() for p in sequence.split("+")]
    combo: list[str] = []
    for m in mods:
        if m.lower() not in _MODIFIERS:
            raise ValueError(f"{m!r} is not a modifier (Ctrl, Alt, Shift, Meta)")
        combo.append(_MODIFIERS[m.lower()])
    if len(set(combo)) != len(combo):
        raise ValueError("repeats a modifier")
    low = key.lower()
    if len(key) == 1 and key.isascii() and key.isalnum():
        combo.append(low)
    elif low[:1] == "f" and low[1:].isdigit() and 1 <= int(low[1:]) <= 24:
        if int(low[1:]) > _PYNPUT_F_KEYS:
            raise ValueError(f"{key.upper()} cannot be used as a global hotkey (F1..F20 can)")
        combo.append(f"<{low}>")
    elif low in _NAMED:
        combo.append(_NAMED[low])
    else:
        raise ValueError(f"{key!r} is not a key (a letter, a digit, F1..F20, Space, Enter, ...)")
    alone_ok = combo[-1] == "<pause>" or combo[-1].startswith("<f")
    if not mods and not alone_ok:
        raise ValueError("needs a modifier such as Ctrl+Alt (a bare key would fire on typing)")
    return "+".join(combo)


def check_hotkeys(bindings: Mapping[str, str], where: str = "hotkeys") -> dict[str, str]:
    """action -> pynput combo ("" = unbound), or HotkeyError naming the setting."""
    unknown = sorted(set(bindings) - set(ACTIONS))
    if unknown:
        raise HotkeyError(f"{where}: unknown action {unknown[0]!r} (known: {', '.join(ACTIONS)})")
    out: dict[str, str] = {}
    seen: dict[frozenset[str], str] = {}
    for action, text in bindings.items():
        if not isinstance(text, str):
            raise HotkeyError(f"{where}.{action}: expected key text such as 'Ctrl+Alt+S', got {text!r}")
        if not text.strip():
            out[action] = ""
            continue
        try:
            combo = to_pynput(text)
        except ValueError as e:
            raise HotkeyError(f"{where}.{action}: {text!r}: {e}") from None
        keys = frozenset(combo.split("+"))  # Alt+Ctrl+S and Ctrl+Alt+S are one key
        if keys in seen:
            raise HotkeyError(f"{where}.{action}: {text!r} is already used by {where}.{seen[keys]}")
        seen[keys] = action
        out[action] = combo
    return out
