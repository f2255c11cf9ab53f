"""A small horizontal level meter: label, bar, figure. It paints; the view model does the maths."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from softphone_assist.ui import style
from softphone_assist.ui.overlay_state import MeterView


class _Bar(QWidget):
    def __init__(self, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = color
        self.fraction = 0.0
        self.setFixedHeight(6)
        self.setMinimumWidth(60)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def sizeHint(self) -> QSize:
        return QSize(110, 6)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        r = QRectF(self.rect())
        radius = r.height() / 2
        p.setBrush(style.TRACK)
        p.drawRoundedRect(r, radius, radius)
        if self.fraction > 0:
            p.setBrush(self.color)
            p.drawRoundedRect(QRectF(r.x(), r.y(), r.width() * self.fraction, r.height()), radius, radius)
        p.end()


class LevelMeter(QWidget):
    """`来电 ▬▬▬▬── -23 dB`: one channel's short-term level."""

    def __init__(self, label: str, color: QColor, locale: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.name = QLabel(label)
        self.bar = _Bar(color)
        self.value = QLabel("—")
        self.value.setMinimumWidth(46)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for w in (self.name, self.value):
            w.setFont(style.ui_font(locale, 8.5))
            w.setStyleSheet(f"color: {style.css(style.MUTED)};")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.name)
        row.addWidget(self.bar, 1)
        row.addWidget(self.value)

    @property
    def fraction(self) -> float:
        return self.bar.fraction

    def set_view(self, view: MeterView) -> None:
        if view.fraction != self.bar.fraction:
            self.bar.fraction = view.fraction
            self.bar.update()
        self.value.setText(view.text)

    def set_label(self, label: str) -> None:
        self.name.setText(label)
