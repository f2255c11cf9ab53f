"""The tray icon is optional; where it exists its menu emits the app's signals."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from softphone_assist.ui.tray import AssistTray, make_tray, tray_pixmap


def test_no_tray_no_icon(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    assert make_tray() is None


def test_tray_when_available(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    tray = make_tray("en")
    assert isinstance(tray, AssistTray)
    assert [a.text() for a in tray.menu.actions() if not a.isSeparator()] == [
        "Show overlay", "Click-through", "Settings…", "Quit"]


def test_menu_actions_emit_signals(qtbot: QtBot) -> None:
    tray = AssistTray()
    with qtbot.waitSignal(tray.show_overlay_toggled, timeout=1000) as shown:
        tray.show_action.trigger()  # starts checked: unchecking hides the overlay
    assert shown.args == [False]
    with qtbot.waitSignal(tray.click_through_toggled, timeout=1000) as through:
        tray.click_through_action.trigger()
    assert through.args == [True]
    with qtbot.waitSignal(tray.settings_requested, timeout=1000):
        tray.settings_action.trigger()
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        tray.quit_action.trigger()
    assert tray.settings_action.text() == "设置…"


def test_icon_is_drawn(qtbot: QtBot) -> None:
    image = tray_pixmap(64).toImage()
    assert image.pixelColor(0, 0).alpha() == 0  # transparent outside the bubble
    centre = image.pixelColor(32, 20)
    assert (centre.red(), centre.green(), centre.blue()) == (74, 158, 255)  # the accent blue
