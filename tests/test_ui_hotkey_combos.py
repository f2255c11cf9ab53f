"""Hotkey text from the settings ("Ctrl+Alt+S") -> pynput combos; what is refused and why."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from softphone_assist.settings.layers import HotkeySettings
from softphone_assist.ui.hotkey_combos import (
    ACTIONS,
    DEFAULT_HOTKEYS,
    HotkeyError,
    check_hotkeys,
    to_pynput,
)


@pytest.mark.parametrize(
    ("text", "combo"),
    [
        ("Ctrl+Alt+S", "<ctrl>+<alt>+s"),
        ("ctrl + alt + s", "<ctrl>+<alt>+s"),
        ("Ctrl+Shift+F5", "<ctrl>+<shift>+<f5>"),
        ("Alt+Meta+PageDown", "<alt>+<cmd>+<page_down>"),
        ("Win+pgdn", "<cmd>+<page_down>"),
        ("F9", "<f9>"),
        ("Pause", "<pause>"),
        ("Ctrl+Alt+Esc", "<ctrl>+<alt>+<esc>"),
        ("Ctrl+Alt+1", "<ctrl>+<alt>+1"),
        ("Shift+F20", "<shift>+<f20>"),
    ],
)
def test_to_pynput(text: str, combo: str) -> None:
    assert to_pynput(text) == combo


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("S", "needs a modifier such as Ctrl+Alt"),
        ("Space", "needs a modifier such as Ctrl+Alt"),
        ("Hyper+S", "'Hyper' is not a modifier (Ctrl, Alt, Shift, Meta)"),
        ("Ctrl+Alt+Banana", "'Banana' is not a key"),
        ("Ctrl+ctrl+H", "repeats a modifier"),
        ("Ctrl+", "'' is not a key"),
        ("F22", "F22 cannot be used as a global hotkey (F1..F20 can)"),
    ],
)
def test_to_pynput_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as e:
        to_pynput(text)
    assert reason in str(e.value)


def test_defaults_are_the_settings_defaults_and_all_bindable() -> None:
    assert asdict(HotkeySettings()) == DEFAULT_HOTKEYS
    assert set(DEFAULT_HOTKEYS) == set(ACTIONS)
    assert check_hotkeys(DEFAULT_HOTKEYS) == {
        "speak": "<ctrl>+<alt>+s", "skip": "<ctrl>+<alt>+n", "snooze": "<ctrl>+<alt>+z",
        "call_start": "<ctrl>+<alt>+c", "hold": "<ctrl>+<alt>+h", "end": "<ctrl>+<alt>+e",
    }


def test_check_hotkeys_allows_unbinding() -> None:
    assert check_hotkeys({"speak": "F9", "skip": "  "}) == {"speak": "<f9>", "skip": ""}


def test_check_hotkeys_names_the_setting() -> None:
    with pytest.raises(HotkeyError, match=r"^hotkeys\.skip: 'x': needs a modifier"):
        check_hotkeys({"speak": "F9", "skip": "x"})
    taken = r"^hotkeys\.skip: 'Alt\+Ctrl\+S' is already used by hotkeys\.speak$"
    with pytest.raises(HotkeyError, match=taken):
        check_hotkeys({"speak": "Ctrl+Alt+S", "skip": "Alt+Ctrl+S"})
    with pytest.raises(HotkeyError, match=r"^hotkeys: unknown action 'dial'"):
        check_hotkeys({"dial": "F1"})
    not_text = r"^hotkeys\.speak: expected key text such as 'Ctrl\+Alt\+S', got 9$"
    with pytest.raises(HotkeyError, match=not_text):
        check_hotkeys({"speak": 9})  # type: ignore[dict-item]
