"""Tray icon with a small menu: show/hide the overlay, click-through, settings, quit.

Optional: `make_tray` returns None where the desktop has no system tray (many Linux desktops,
and always under offscreen/Xvfb); the overlay's own buttons and the hotkeys cover everything.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from softphone_assist.ui import style
from softphone_assist.ui.strings import DEFAULT_LOCALE, ui_strings


def tray_pixmap(size: int = 64) -> QPixmap:
    """A blue speech-bubble dot drawn in code, so the package ships no image files for it."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(style.ACCENT)
    p.drawRoundedRect(QRectF(size * 0.08, size * 0.1, size * 0.84, size * 0.66), size * 0.2, size * 0.2)
    tail = QPolygonF([QPointF(size * x, size * y) for x, y in ((0.25, 0.7), (0.5, 0.7), (0.22, 0.92))])
    p.drawPolygon(tail)
    p.setBrush(style.TEXT)
    for i in range(3):
        r = size * 0.065
        p.drawEllipse(QRectF(size * (0.3 + 0.2 * i) - r, size * 0.43 - r, 2 * r, 2 * r))
    p.end()
    return pm


class AssistTray(QObject):
    show_overlay_toggled = Signal(bool)  # True: show
    click_through_toggled = Signal(bool)
    settings_requested = Signal()
    quit_requested = Signal()

    def __init__(self, locale: str = DEFAULT_LOCALE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        s = ui_strings(locale)
        self.icon = QSystemTrayIcon(QIcon(tray_pixmap()), self)
        self.icon.setToolTip(s["app_name"])
        self.menu = QMenu()
        self.show_action = QAction(s["tray_show"], self.menu, checkable=True, checked=True)
        self.click_through_action = QAction(s["tray_click_through"], self.menu, checkable=True)
        self.settings_action = QAction(s["tray_settings"], self.menu)
        self.quit_action = QAction(s["tray_quit"], self.menu)
        self.show_action.toggled.connect(self.show_overlay_toggled)
        self.click_through_action.toggled.connect(self.click_through_toggled)
        self.settings_action.triggered.connect(self.settings_requested)
        self.quit_action.triggered.connect(self.quit_requested)
        self.menu.addAction(self.show_action)
        self.menu.addAction(self.click_through_action)
        self.menu.addSeparator()
        self.menu.addAction(self.settings_action)
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)

    def show(self) -> None:
        self.icon.show()

    def notify(self, title: str, text: str) -> None:
        """A balloon, e.g. for a device problem while the overlay is hidden."""
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning)


def make_tray(locale: str = DEFAULT_LOCALE, parent: QObject | None = None) -> AssistTray | None:
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    tray = AssistTray(locale, parent)
    tray.show()
    return tray
