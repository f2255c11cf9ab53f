"""Hotkey combos: what the settings accept, normalise and reject (no Qt, no keyboard)."""

from __future__ import annotations

import pytest

from softphone_assist.ui.hotkey_combos import ACTIONS, DEFAULT_HOTKEYS, HotkeyError, check_hotkeys, parse_combo


@pytest.mark.parametrize(
    ("combo", "parts"),
    [
        ("<ctrl>+<alt>+s", ("<ctrl>", "<alt>", "s")),
        ("  <CTRL>+<Alt>+S ", ("<ctrl>", "<alt>", "s")),
        ("s+<ctrl>", ("<ctrl>", "s")),  # modifiers first
        ("<f9>", ("<f9>",)),
        ("<shift>+<f2>", ("<shift>", "<f2>")),
        ("<ctrl>++", ("<ctrl>", "+")),
        ("<cmd>+<space>", ("<cmd>", "<space>")),
    ],
)
def test_parse_combo_accepts(combo: str, parts: tuple[str, ...]) -> None:
    assert parse_combo(combo) == parts


@pytest.mark.parametrize(
    ("combo", "reason"),
    [
        ("s", "needs <ctrl>, <alt> or <cmd>"),
        ("<shift>+a", "needs <ctrl>, <alt> or <cmd>"),
        ("<ctrl>+<alt>", "exactly one key"),
        ("<ctrl>+a+b", "exactly one key"),
        ("<ctrl>+<ctrl>+a", "appears twice"),
        ("<ctrl>+<hyper>+a", "unknown key '<hyper>'"),
        ("ctrl+a", "unknown key 'ctrl'"),
        ("<ctrl>+", "empty part"),
        ("+a", "empty part"),
    ],
)
def test_parse_combo_rejects(combo: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("+", r"\+").replace("(", r"\(")):
        parse_combo(combo)


def test_defaults_are_valid_and_cover_every_action() -> None:
    assert set(DEFAULT_HOTKEYS) == set(ACTIONS)
    assert check_hotkeys(DEFAULT_HOTKEYS) == dict(DEFAULT_HOTKEYS)


def test_check_hotkeys_normalises_and_allows_unbinding() -> None:
    assert check_hotkeys({"speak": "<F9>", "skip": "  "}) == {"speak": "<f9>", "skip": ""}


def test_check_hotkeys_names_the_setting() -> None:
    with pytest.raises(HotkeyError, match=r"^hotkeys\.skip: 'x' is not a usable key combination: needs"):
        check_hotkeys({"speak": "<f9>", "skip": "x"})
    with pytest.raises(HotkeyError, match=r"^hotkeys\.skip: '<alt>\+<ctrl>\+s' is already used by hotkeys\.speak$"):
        check_hotkeys({"speak": "<ctrl>+<alt>+s", "skip": "<alt>+<ctrl>+s"})
    with pytest.raises(HotkeyError, match=r"^hotkeys: unknown action 'dial'"):
        check_hotkeys({"dial": "<f1>"})
    with pytest.raises(HotkeyError, match=r"^hotkeys\.speak: expected a key combination text, got 9$"):
        check_hotkeys({"speak": 9})  # type: ignore[dict-item]
