"""Colours and fonts of the overlay: a dark translucent card that reads over any softphone."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont

CARD = QColor(22, 25, 31, 232)  # near-black, a little see-through
CARD_BORDER = QColor(255, 255, 255, 28)
TEXT = QColor(242, 244, 247)
MUTED = QColor(150, 157, 168)
ACCENT = QColor(74, 158, 255)  # the ring and the caller meter
AGENT = QColor(120, 200, 160)
WARN = QColor(255, 176, 64)  # ring when the next step is close
DANGER_TEXT = QColor(255, 120, 110)  # never-say
OK = QColor(64, 196, 120)  # may hang up
BANNER = QColor(200, 60, 50)
TRACK = QColor(255, 255, 255, 30)

# CJK fallback: the first installed family wins. Noto/Source Han on Linux, YaHei/JhengHei on
# Windows, PingFang on macOS, WenQuanYi as the small Debian package.
_CJK_SC = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
           "WenQuanYi Micro Hei"]
_CJK_TC = ["Noto Sans CJK TC", "Source Han Sans TC", "Microsoft JhengHei", "PingFang TC",
           "WenQuanYi Micro Hei"]
_LATIN = ["Inter", "Segoe UI", "Helvetica Neue", "DejaVu Sans"]


def ui_font(locale: str, point_size: float, bold: bool = False) -> QFont:
    families = _CJK_TC if locale == "zh-TW" else _CJK_SC
    # Latin families first for English: CJK fonts' Latin glyphs are wide and look foreign.
    font = QFont()
    font.setFamilies([*_LATIN, *families] if locale == "en" else [*families, *_LATIN])
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def css(color: QColor) -> str:
    """`rgba(...)` for style sheets."""
    return f"rgba({color.red()}, {color.green()}, {color.blue()}, {color.alpha()})"
