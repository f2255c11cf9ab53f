"""The overlay: a small always-on-top card that never takes focus from the softphone.

The agent is typing in the softphone while the overlay updates, so the window must never be
activated: it is a frameless Tool window with WindowDoesNotAcceptFocus (on X11 that sets
WM_HINTS input=False), is shown with WA_ShowWithoutActivating, and no child can take focus.
It does not use X11BypassWindowManagerHint: an override-redirect window is not stacked by the
window manager, so other windows raised later can cover it; WindowStaysOnTopHint asks the
window manager for _NET_WM_STATE_ABOVE instead, which keeps it above normal windows.

What it shows comes from `OverlayState.view(now)`; this module only lays it out. Button
presses and drags leave as Qt signals; the app turns them into engine events and settings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from softphone_assist.core.events import Update
from softphone_assist.ui import style
from softphone_assist.ui.countdown import CountdownRing
from softphone_assist.ui.meters import LevelMeter
from softphone_assist.ui.overlay_state import MeterView, OverlayState, OverlayView
from softphone_assist.ui.strings import DEFAULT_LOCALE, ui_strings
from softphone_assist.ui.widgets import fit_font, pill_button, text_label

CARD_WIDTH = 460
_RADIUS = 14.0
_MARGIN = 16
_RING = 46
_LINE_WIDTH = CARD_WIDTH - 2 * _MARGIN - _RING - 12  # the line's column beside the ring
_LINE_MAX_ROWS = 3  # longer lines step the font down rather than grow the card

WINDOW_FLAGS = (
    Qt.WindowType.Tool
    | Qt.WindowType.FramelessWindowHint
    | Qt.WindowType.WindowStaysOnTopHint
    | Qt.WindowType.WindowDoesNotAcceptFocus
)


_NO_METER = MeterView(None, 0.0, "")
_DIGIT = re.compile(r"\d")


def _layout_of(v: OverlayView) -> OverlayView:
    """The part of a view that decides the card's height: everything but the meters' readings and
    the countdown's progress (whether a countdown shows, and its caption, do count), and the
    figures of running counts ("silent 10.6 s"): digits are equally wide in the UI fonts, so a
    changed figure never wraps a line differently; a new digit does count."""
    ring = None if v.countdown is None else dataclasses.replace(
        v.countdown, remaining_s=None, fraction=0.0, seconds_text="", text=_DIGIT.sub("0", v.countdown.text))
    return dataclasses.replace(v, caller_meter=_NO_METER, agent_meter=_NO_METER, countdown=ring,
                               why=_DIGIT.sub("0", v.why))


class OverlayWindow(QWidget):
    speak_requested = Signal()
    skip_requested = Signal()
    snooze_requested = Signal()
    call_start_requested = Signal()
    hold_requested = Signal()
    end_requested = Signal()
    position_changed = Signal(int, int)  # top-left after a drag, for the app to save

    def __init__(
        self,
        locale: str = DEFAULT_LOCALE,
        calm_hide_after_s: float | None = None,
        line_point_size: float = 20.0,
        opacity: float = 0.9,
        on_position_changed: Callable[[int, int], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, WINDOW_FLAGS)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)  # the card paints its own corners
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWindowTitle(ui_strings(locale)["app_name"])
        self.setFixedWidth(CARD_WIDTH)
        self.state = OverlayState(locale, calm_hide_after_s)
        self.enabled = True  # False: the agent hid it from the tray; updates keep flowing
        self.view: OverlayView | None = None
        self._drag_offset: QPoint | None = None
        self._card = QColor(style.CARD)
        self.set_opacity(opacity)
        if on_position_changed is not None:
            self.position_changed.connect(on_position_changed)
        self._build(locale, line_point_size)
        self.enabled = False  # fill the labels without showing: the app's first refresh shows it
        self.refresh(0.0)
        self.enabled = True

    # ---------------------------------------------------------------- layout
    def _build(self, locale: str, line_pt: float) -> None:
        s = ui_strings(locale)
        muted, text = style.css(style.MUTED), style.css(style.TEXT)
        self.banner = text_label(text, 10, locale, bold=True)
        self.banner.setStyleSheet(
            f"color: {text}; background: {style.css(style.BANNER)}; border-radius: 8px; padding: 5px 10px;"
        )
        self.title = text_label(style.css(style.ACCENT), 11, locale, bold=True, wrap=False)
        self.countdown_text = text_label(muted, 9, locale, wrap=False)
        self.ring = CountdownRing(locale, _RING)
        self.line = text_label(text, line_pt, locale, bold=True)
        self.line_point_size = line_pt
        self.line.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.hint = text_label(muted, 9.5, locale)
        self.never_say = text_label(style.css(style.DANGER_TEXT), 9, locale)
        self.may_hang_up = text_label(text, 11, locale, bold=True)
        self.may_hang_up.setStyleSheet(
            f"color: {text}; background: {style.css(style.OK)}; border-radius: 8px; padding: 5px 10px;"
        )
        self.why = text_label(muted, 8.5, locale)
        self.coach = text_label(style.css(style.WARN), 9, locale)  # the agent's own speaking: small
        self.speak_button = pill_button(s["speak"], primary=True)
        self.skip_button = pill_button(s["skip"])
        self.snooze_button = pill_button(s["snooze"])
        self.status = text_label(muted, 9, locale, wrap=False)
        self.call_start_button = pill_button(s["call_start"], small=True)
        self.hold_button = pill_button(s["hold"], small=True)
        self.end_button = pill_button(s["end"], small=True)
        self.caller_meter = LevelMeter(s["caller"], style.ACCENT, locale)
        self.agent_meter = LevelMeter(s["agent"], style.AGENT, locale)
        for b in (self.speak_button, self.skip_button, self.snooze_button, self.call_start_button,
                  self.hold_button, self.end_button):
            b.setFont(style.ui_font(locale, 9.5 if b in (self.call_start_button, self.hold_button,
                                                          self.end_button) else 10.5))

        self.speak_button.clicked.connect(self.speak_requested)
        self.skip_button.clicked.connect(self.skip_requested)
        self.snooze_button.clicked.connect(self.snooze_requested)
        self.call_start_button.clicked.connect(self.call_start_requested)
        self.hold_button.clicked.connect(self.hold_requested)
        self.end_button.clicked.connect(self.end_requested)

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.countdown_text)
        body = QHBoxLayout()
        body.setSpacing(12)
        body.addWidget(self.line, 1)
        body.addWidget(self.ring, 0, Qt.AlignmentFlag.AlignTop)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        for b in (self.speak_button, self.skip_button, self.snooze_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.prompt_box = QWidget()
        prompt = QVBoxLayout(self.prompt_box)
        prompt.setContentsMargins(0, 0, 0, 4)
        prompt.setSpacing(6)
        prompt.addLayout(header)
        prompt.addLayout(body)
        for w in (self.hint, self.never_say, self.may_hang_up, self.why):
            prompt.addWidget(w)
        prompt.addSpacing(2)
        prompt.addLayout(buttons)
        rule = QFrame()
        rule.setFixedHeight(1)
        rule.setStyleSheet(f"background: {style.css(style.TRACK)}; border: none;")
        prompt.addSpacing(6)
        prompt.addWidget(rule)

        footer = QHBoxLayout()
        footer.setSpacing(6)
        footer.addWidget(self.status)
        footer.addStretch(1)
        for b in (self.call_start_button, self.hold_button, self.end_button):
            footer.addWidget(b)
        meters = QHBoxLayout()
        meters.setSpacing(16)
        meters.addWidget(self.caller_meter, 1)
        meters.addWidget(self.agent_meter, 1)

        root = self._root = QVBoxLayout(self)
        root.setContentsMargins(_MARGIN, 12, _MARGIN, 12)
        root.setSpacing(8)
        root.addWidget(self.banner)
        root.addWidget(self.prompt_box)
        root.addWidget(self.coach)  # below the prompt, never in its place
        root.addLayout(footer)
        root.addLayout(meters)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(style.CARD_BORDER)
        p.setBrush(self._card)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), _RADIUS, _RADIUS)
        p.end()

    # ---------------------------------------------------------------- updates
    def apply(self, update: Update) -> None:
        """Take one record in; call `refresh` to show the result (once per batch is enough)."""
        self.state.apply(update)

    def apply_all(self, updates: Iterable[Update], now: float | None = None,
                  device_problem: str | None = None) -> OverlayView:
        """Take a batch in and redraw once; `device_problem` (if given) replaces the banner's text."""
        for u in updates:
            self.state.apply(u)
        if device_problem is not None:
            self.state.set_device_problem(device_problem)
        return self.refresh(now)

    def show_device_problem(self, text: str) -> None:
        self.state.set_device_problem(text)
        self.refresh()

    def clear_device_problem(self) -> None:
        self.show_device_problem("")

    def refresh(self, now: float | None = None) -> OverlayView:
        """Redraw for stream time `now` (default: the latest update's); returns what is shown."""
        v = self.state.view(now)
        if v == self.view and self.isVisible() == (v.visible and self.enabled):
            return v  # nothing to redraw: most ticks of a calm call (bench/bench_live_cpu.py --app run)
        s = ui_strings(self.state.locale)
        self.banner.setText(v.device_problem)
        self.banner.setVisible(bool(v.device_problem))
        self.prompt_box.setVisible(v.mode != "calm")
        self.title.setText(v.title)
        if v.line != self.line.text():
            self.line.setFont(fit_font(self.line.font(), self.line_point_size, v.line, _LINE_WIDTH,
                                       _LINE_MAX_ROWS))
            self.line.setText(v.line)
        for lab, value in ((self.hint, v.hint), (self.never_say, v.never_say),
                           (self.may_hang_up, v.may_hang_up), (self.why, v.why)):
            lab.setText(value)
            lab.setVisible(bool(value))
        self.coach.setText(v.coach)
        self.coach.setVisible(bool(v.coach))
        self.ring.set_view(v.countdown)
        self.ring.setVisible(v.countdown is not None)
        self.countdown_text.setText(v.countdown.text if v.countdown else "")
        self.speak_button.setEnabled(v.can_speak)
        self.skip_button.setEnabled(v.mode != "calm")
        self.snooze_button.setEnabled(v.mode != "calm")
        self.call_start_button.setEnabled(v.call_state == "idle")
        self.hold_button.setEnabled(v.call_state != "idle")
        self.hold_button.setText(s["resume"] if v.call_state == "hold" else s["hold"])
        self.end_button.setEnabled(v.call_state != "idle")
        calm = f" · {s['all_well']}" if v.mode == "calm" and v.call_state == "call" else ""
        dot_color = {"call": style.OK, "hold": style.WARN}.get(v.call_state, style.MUTED)
        dot = style.css(dot_color)
        self.status.setText(f'<span style="color:{dot}">●</span>&nbsp; {v.call_state_text}{calm}')
        self.caller_meter.set_view(v.caller_meter)
        self.agent_meter.set_view(v.agent_meter)
        if self.view is None or _layout_of(v) != _layout_of(self.view):
            self._fit_height()  # the meters and the countdown ring change often, but never the height
        self.view = v
        if v.visible and self.enabled and not self.isVisible():
            self.show()
        elif not (v.visible and self.enabled) and self.isVisible():
            self.hide()
        return v

    def _fit_height(self) -> None:
        # adjustSize() ignores height-for-width, which clips wrapped CJK lines: ask the layout
        # how tall it needs to be at the card's fixed width. The top-left stays put.
        # Nested layouts cache height-for-width and miss label changes made while hidden.
        for child in self.findChildren(QLayout):
            child.invalidate()
        layout = self._root
        layout.invalidate()
        layout.activate()
        self.resize(CARD_WIDTH, layout.totalHeightForWidth(CARD_WIDTH))

    def set_enabled(self, enabled: bool) -> None:
        """The tray's show/hide: a hidden overlay keeps its state and comes back up to date."""
        self.enabled = enabled
        self.refresh()

    # ---------------------------------------------------------------- window behaviour
    def set_opacity(self, opacity: float) -> None:
        """settings.overlay.opacity: the card's background only; the text stays fully opaque."""
        self._card.setAlpha(round(255 * min(1.0, max(0.2, opacity))))
        self.update()

    def set_click_through(self, on: bool) -> None:
        """Mouse clicks pass to the window below (the overlay can then be moved only from settings)."""
        was_visible = self.isVisible()
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, on)
        self.setWindowFlag(Qt.WindowType.WindowTransparentForInput, on)
        if was_visible:  # changing window flags hides a top-level window
            self.show()

    @property
    def click_through(self) -> bool:
        return bool(self.windowFlags() & Qt.WindowType.WindowTransparentForInput)

    def restore_position(self, x: int, y: int) -> None:
        """Move to a saved top-left, pulled back onto a screen if that monitor is gone."""
        screen = QGuiApplication.screenAt(QPoint(x, y)) or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            x = min(max(x, area.left()), max(area.left(), area.right() - self.width()))
            y = min(max(y, area.top()), max(area.top(), area.bottom() - self.height()))
        self.move(x, y)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_offset = event.globalPosition().toPoint() - self.pos()
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_offset is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.move(event.globalPosition().toPoint() - self._drag_offset)
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_offset is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_offset = None
            self.position_changed.emit(self.x(), self.y())
            event.accept()
        else:
            super().mouseReleaseEvent(event)
