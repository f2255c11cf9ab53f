"""Small widget helpers of the overlay: pill buttons, plain labels, a font that fits its box."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QPushButton

from softphone_assist.ui import style

FONT_SCALES = (1.0, 0.85, 0.72, 0.62)


def pill_button(text: str, primary: bool = False, small: bool = False) -> QPushButton:
    b = QPushButton(text)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a click must not pull focus off the softphone
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    bg = style.css(style.ACCENT) if primary else "rgba(255, 255, 255, 22)"
    hover = "rgba(110, 178, 255, 255)" if primary else "rgba(255, 255, 255, 45)"
    pad = "3px 9px" if small else "6px 14px"
    b.setStyleSheet(
        f"QPushButton {{ background: {bg}; color: {style.css(style.TEXT)}; border: none;"
        f" border-radius: {10 if small else 13}px; padding: {pad}; }}"
        f"QPushButton:hover {{ background: {hover}; }}"
        "QPushButton:disabled { color: rgba(255, 255, 255, 70); background: rgba(255, 255, 255, 10); }"
    )
    return b


def text_label(color: str, size: float, locale: str, bold: bool = False, wrap: bool = True) -> QLabel:
    lab = QLabel()
    lab.setFont(style.ui_font(locale, size, bold))
    lab.setStyleSheet(f"color: {color}; background: transparent;")
    lab.setWordWrap(wrap)
    lab.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return lab


def fit_font(base: QFont, point_size: float, text: str, width: int, max_rows: int) -> QFont:
    """The largest step of `point_size` at which `text` wraps to at most `max_rows` in `width`."""
    font = QFont(base)
    for scale in FONT_SCALES:
        font.setPointSizeF(point_size * scale)
        metrics = QFontMetrics(font)
        box = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, text)
        if box.height() <= max_rows * metrics.lineSpacing():
            break
    return font
