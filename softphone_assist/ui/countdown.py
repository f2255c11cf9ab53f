"""The countdown ring: how much of the wait before the next step is left.

A full ring drains clockwise from 12 o'clock; it turns amber in the last quarter so the agent
sees the next line coming. While the engine waits for the agent to say the line there is no
countdown yet: the ring is a quiet full track with "…".
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from softphone_assist.ui import style
from softphone_assist.ui.overlay_state import CountdownView

_WARN_FRACTION = 0.25


class CountdownRing(QWidget):
    def __init__(self, locale: str, diameter: int = 46, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedSize(diameter, diameter)
        self._font = style.ui_font(locale, diameter / 4.2, bold=True)
        self.view: CountdownView | None = None

    def sizeHint(self) -> QSize:
        return self.size()

    @property
    def text(self) -> str:
        """The figure in the middle of the ring (tests read it; it is painted, not a label)."""
        return self.view.seconds_text if self.view else ""

    def set_view(self, view: CountdownView | None) -> None:
        if view != self.view:
            self.view = view
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.view is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = max(3.0, self.width() / 11)
        r = QRectF(self.rect()).adjusted(width / 2 + 1, width / 2 + 1, -width / 2 - 1, -width / 2 - 1)
        pen = QPen(style.TRACK, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.drawEllipse(r)
        v = self.view
        if not v.waiting_for_line and v.fraction > 0:
            pen.setColor(style.WARN if v.fraction <= _WARN_FRACTION else style.ACCENT)
            p.setPen(pen)
            # Qt angles: 1/16 degree, counter-clockwise from 3 o'clock; negative span = clockwise.
            p.drawArc(r, 90 * 16, -round(360 * 16 * v.fraction))
        p.setPen(style.MUTED if v.waiting_for_line else style.TEXT)
        p.setFont(self._font)
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, v.seconds_text)
        p.end()
