"""The overlay window under pytest-qt (offscreen): what it shows, how it behaves as a window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported; no display needed

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QFontDatabase, QFontMetrics, QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from softphone_assist.core.events import (
    CallEvent,
    ConditionChanged,
    Deadline,
    LineStats,
    MayHangUp,
    Meter,
    ProtocolEnded,
    ShowPrompt,
)
from softphone_assist.ui.overlay import OverlayWindow

LINE = "上午好，星河通信很高兴为您服务"
NEVER = "喂，说话呀！再不说话我就挂机了！"
SILENT = ConditionChanged(5.4, "caller", "silent", 0.4, LineStats(level_dbov=-63.0, noise_dbov=-66.0))


def prompt(t: float, step: int = 2) -> ShowPrompt:
    return ShowPrompt(t, "silent_line", step, 3, LINE, "无声电话", never_say=NEVER)


@pytest.fixture
def overlay(qtbot: QtBot) -> OverlayWindow:
    w = OverlayWindow()
    qtbot.addWidget(w)
    return w


def in_call_with_prompt(w: OverlayWindow, now: float = 11.0) -> None:
    w.apply_all([CallEvent(0.0, "call_start"), SILENT, prompt(7.5), Deadline(10.0, "silent_line", 15.0),
                 Meter(10.9, -30.0, -45.0)], now=now)


def test_window_flags_keep_it_on_top_and_out_of_focus(overlay: OverlayWindow) -> None:
    flags = overlay.windowFlags()
    for flag in (Qt.WindowType.WindowStaysOnTopHint, Qt.WindowType.FramelessWindowHint,
                 Qt.WindowType.WindowDoesNotAcceptFocus):
        assert flags & flag == flag
    assert flags & Qt.WindowType.WindowType_Mask == Qt.WindowType.Tool
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    assert not flags & Qt.WindowType.X11BypassWindowManagerHint
    focusable = [w for w in overlay.findChildren(QWidget) if w.focusPolicy() != Qt.FocusPolicy.NoFocus]
    assert focusable == []
    assert overlay.focusPolicy() == Qt.FocusPolicy.NoFocus


def test_construction_does_not_show_and_first_refresh_does(overlay: OverlayWindow) -> None:
    assert not overlay.isVisible()
    overlay.refresh(0.0)
    assert overlay.isVisible()


def test_prompt_title_step_line_never_say_and_why(overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay)
    assert overlay.prompt_box.isVisibleTo(overlay)
    assert overlay.title.text() == "无声电话 2/3"
    assert overlay.line.text() == LINE
    assert overlay.never_say.text() == "忌：" + NEVER
    assert overlay.why.text() == "来电方无声 10.6 秒 · 电平 -63 dBov · 噪声 -66 dBov"
    assert not overlay.hint.isVisibleTo(overlay)  # this prompt has no hint
    assert not overlay.may_hang_up.isVisibleTo(overlay)
    assert overlay.speak_button.isEnabled() and overlay.skip_button.isEnabled()


def test_line_is_not_clipped_when_it_wraps(overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay)
    label = overlay.line
    assert label.height() >= label.heightForWidth(label.width())
    assert overlay.height() >= overlay.layout().totalHeightForWidth(overlay.width())  # type: ignore[union-attr]


def test_long_lines_step_the_font_down_instead_of_growing_the_card(overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay)
    assert overlay.line.font().pointSizeF() == 20.0
    long = "对不起！您的电话声音太小，我这边听不清楚，请您换一部电话再打过来，好吗？" * 2
    overlay.apply_all([ShowPrompt(12.0, "low_volume", 4, 4, long, "客户声音小")], now=12.0)
    size = overlay.line.font().pointSizeF()
    assert size < 20.0 and size >= 20.0 * 0.62
    overlay.apply_all([prompt(13.0)], now=13.0)
    assert overlay.line.font().pointSizeF() == 20.0


def test_countdown_follows_now(overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay, now=11.0)
    assert overlay.ring.isVisibleTo(overlay)
    assert (overlay.ring.text, overlay.countdown_text.text()) == ("4", "4 秒后下一步")
    overlay.refresh(14.5)
    assert (overlay.ring.text, overlay.countdown_text.text()) == ("1", "1 秒后下一步")
    assert overlay.ring.view is not None and overlay.ring.view.fraction == pytest.approx(0.1)
    overlay.refresh(15.0)
    assert (overlay.ring.text, overlay.countdown_text.text()) == ("0", "该说下一句了")


def test_countdown_waits_for_the_line(overlay: OverlayWindow) -> None:
    overlay.apply_all([prompt(7.5), Deadline(7.5, "silent_line", None)], now=8.0)
    assert (overlay.ring.text, overlay.countdown_text.text()) == ("…", "等你说完这句")


def test_may_hang_up_state(overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay)
    overlay.apply_all([MayHangUp(20.0, "silent_line", "客户同意后")], now=20.0)
    assert overlay.may_hang_up.isVisibleTo(overlay)
    assert overlay.may_hang_up.text() == "可以挂机了 — 客户同意后"
    assert overlay.line.text() == LINE
    assert not overlay.ring.isVisibleTo(overlay)
    assert overlay.countdown_text.text() == ""


def test_meters_show_levels(overlay: OverlayWindow) -> None:
    overlay.apply_all([Meter(1.0, -30.0, None)])
    assert overlay.caller_meter.fraction == 0.5 and overlay.caller_meter.value.text() == "-30 dB"
    assert overlay.agent_meter.fraction == 0.0 and overlay.agent_meter.value.text() == "—"


def test_calm_is_compact_and_hides_after_the_setting(qtbot: QtBot) -> None:
    w = OverlayWindow(calm_hide_after_s=10.0)
    qtbot.addWidget(w)
    in_call_with_prompt(w)
    prompt_height = w.height()
    w.apply_all([ProtocolEnded(12.0, "silent_line", "caller_spoke")], now=12.0)
    assert not w.prompt_box.isVisibleTo(w)
    assert w.height() < prompt_height / 2
    assert "一切正常" in w.status.text() and "通话中" in w.status.text()
    assert w.isVisible() and w.caller_meter.isVisibleTo(w)
    w.refresh(21.9)
    assert w.isVisible()
    w.refresh(22.0)
    assert not w.isVisible()
    w.apply_all([prompt(30.0)], now=30.0)
    assert w.isVisible()


def test_device_problem_banner(overlay: OverlayWindow) -> None:
    overlay.refresh(0.0)
    assert not overlay.banner.isVisibleTo(overlay)
    overlay.show_device_problem("耳机已拔出：请检查 USB 耳机")
    assert overlay.banner.isVisibleTo(overlay)
    assert overlay.banner.text() == "耳机已拔出：请检查 USB 耳机"
    overlay.clear_device_problem()
    assert not overlay.banner.isVisibleTo(overlay)


def test_tray_hide_keeps_it_hidden_through_updates(overlay: OverlayWindow) -> None:
    overlay.refresh(0.0)
    overlay.set_enabled(False)
    in_call_with_prompt(overlay)
    assert not overlay.isVisible()
    overlay.set_enabled(True)
    assert overlay.isVisible() and overlay.line.text() == LINE


@pytest.mark.parametrize(
    ("button", "signal"),
    [("speak_button", "speak_requested"), ("skip_button", "skip_requested"),
     ("snooze_button", "snooze_requested"), ("hold_button", "hold_requested"),
     ("end_button", "end_requested")],
)
def test_buttons_emit_signals(qtbot: QtBot, overlay: OverlayWindow, button: str, signal: str) -> None:
    in_call_with_prompt(overlay)
    with qtbot.waitSignal(getattr(overlay, signal), timeout=1000):
        qtbot.mouseClick(getattr(overlay, button), Qt.MouseButton.LeftButton)


def test_call_start_button_when_idle_and_no_other_signal(qtbot: QtBot, overlay: OverlayWindow) -> None:
    overlay.refresh(0.0)
    fired: list[str] = []
    for name in ("speak_requested", "skip_requested", "snooze_requested", "hold_requested", "end_requested"):
        getattr(overlay, name).connect(lambda name=name: fired.append(name))
    with qtbot.waitSignal(overlay.call_start_requested, timeout=1000):
        qtbot.mouseClick(overlay.call_start_button, Qt.MouseButton.LeftButton)
    # idle: no prompt, no call, so these are disabled and clicking them does nothing
    for b in (overlay.speak_button, overlay.skip_button, overlay.hold_button, overlay.end_button):
        assert not b.isEnabled()
    qtbot.mouseClick(overlay.end_button, Qt.MouseButton.LeftButton)
    assert fired == []


def test_hold_button_reads_resume_on_hold(overlay: OverlayWindow) -> None:
    overlay.apply_all([CallEvent(0.0, "call_start"), CallEvent(3.0, "hold")])
    assert overlay.hold_button.text() == "恢复"
    overlay.apply_all([CallEvent(9.0, "resume")])
    assert overlay.hold_button.text() == "保持"


def _mouse(w: QWidget, kind: QMouseEvent.Type, global_pos: QPoint, buttons: Qt.MouseButton) -> None:
    """A mouse event at a fixed screen point, wherever the window has moved to meanwhile."""
    button = Qt.MouseButton.LeftButton if kind != QMouseEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(w.mapFromGlobal(global_pos)), QPointF(global_pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, event)


def test_drag_moves_and_reports_the_position(qtbot: QtBot) -> None:
    saved: list[tuple[int, int]] = []
    w = OverlayWindow(on_position_changed=lambda x, y: saved.append((x, y)))
    qtbot.addWidget(w)
    w.refresh(0.0)
    w.move(100, 100)
    qtbot.waitUntil(lambda: w.pos() == QPoint(100, 100))
    left = Qt.MouseButton.LeftButton
    # grab the card on its status line (a label: presses pass through to the window)
    grab = w.status.mapToGlobal(QPoint(5, 5))
    _mouse(w, QMouseEvent.Type.MouseButtonPress, grab, left)
    _mouse(w, QMouseEvent.Type.MouseMove, grab + QPoint(30, 20), left)
    assert w.pos() == QPoint(130, 120)
    _mouse(w, QMouseEvent.Type.MouseMove, grab + QPoint(60, 45), left)
    assert saved == []  # reported once, on release
    with qtbot.waitSignal(w.position_changed, timeout=1000) as sig:
        _mouse(w, QMouseEvent.Type.MouseButtonRelease, grab + QPoint(60, 45), Qt.MouseButton.NoButton)
    assert w.pos() == QPoint(160, 145)
    assert sig.args == [160, 145] and saved == [(160, 145)]
    _mouse(w, QMouseEvent.Type.MouseMove, grab + QPoint(90, 90), Qt.MouseButton.NoButton)
    assert w.pos() == QPoint(160, 145)  # no button held: hovering does not drag


def test_pressing_a_button_does_not_start_a_drag(qtbot: QtBot, overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay)
    overlay.move(100, 100)
    qtbot.waitUntil(lambda: overlay.pos() == QPoint(100, 100))
    qtbot.mousePress(overlay.skip_button, Qt.MouseButton.LeftButton)
    qtbot.mouseMove(overlay.skip_button, QPoint(40, 30))
    qtbot.mouseRelease(overlay.skip_button, Qt.MouseButton.LeftButton, pos=QPoint(40, 30))
    assert overlay.pos() == QPoint(100, 100)


def test_restore_position_pulls_a_lost_position_onto_the_screen(overlay: OverlayWindow) -> None:
    overlay.refresh(0.0)
    overlay.restore_position(40, 60)
    assert overlay.pos() == QPoint(40, 60)
    overlay.restore_position(99_999, -500)  # the monitor it was on is gone
    area = QApplication.primaryScreen().availableGeometry()
    assert area.contains(overlay.frameGeometry().topLeft())
    assert overlay.x() + overlay.width() <= area.right() + 1


def test_click_through_toggles_input_transparency(overlay: OverlayWindow) -> None:
    overlay.refresh(0.0)
    overlay.set_click_through(True)
    assert overlay.click_through and overlay.isVisible()
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    assert overlay.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus  # other flags survive
    overlay.set_click_through(False)
    assert not overlay.click_through and overlay.isVisible()
    assert not overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)


def test_english_overlay(qtbot: QtBot) -> None:
    w = OverlayWindow(locale="en")
    qtbot.addWidget(w)
    w.apply_all([CallEvent(0.0, "call_start"), prompt(1.0)], now=1.0)
    assert (w.speak_button.text(), w.snooze_button.text()) == ("Speak it", "Snooze for this call")
    assert w.countdown_text.text() == "Waiting for you to say the line"


def test_screenshot_is_a_dark_card_with_cjk_glyphs(overlay: OverlayWindow, tmp_path: Path) -> None:
    cjk = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    if not cjk:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk or fonts-wqy-microhei)")
    in_call_with_prompt(overlay)
    metrics = QFontMetrics(overlay.line.font())
    assert all(metrics.inFontUcs4(ord(c)) for c in "星河通信很高兴为您服务"), "no CJK font in the fallback"
    image = overlay.grab().toImage()
    assert image.save(str(tmp_path / "overlay.png"))
    assert image.pixelColor(0, 0).alpha() == 0  # rounded corner: transparent
    card = image.pixelColor(6, image.height() // 2)
    assert card.alpha() > 200 and max(card.red(), card.green(), card.blue()) < 60  # dark card


def test_meter_readings_redraw_the_meters_but_never_relayout_the_card(
        overlay: OverlayWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    in_call_with_prompt(overlay)
    fits: list[int] = []
    real_fit = overlay._fit_height
    monkeypatch.setattr(overlay, "_fit_height", lambda: (fits.append(1), real_fit())[-1])
    height = overlay.height()
    for i in range(16):  # four seconds of pumps: meters move, the countdown to 15.0 s runs down
        overlay.apply_all([Meter(11.0 + i * 0.25, -30.0 - i, -45.0 + i)], now=11.0 + i * 0.25)
    assert fits == [] and overlay.height() == height
    assert overlay.caller_meter.value.text() == "-45 dB" and overlay.countdown_text.text() == "1 秒后下一步"
    overlay.apply_all([prompt(16.0, step=3)], now=16.0)  # a new line may need another height
    assert fits == [1]


def test_a_pump_with_nothing_new_changes_no_widget(overlay: OverlayWindow) -> None:
    in_call_with_prompt(overlay, now=11.0)
    before = overlay.view
    overlay.line.setText("tampered")  # a redraw would put the prompt's line back
    assert overlay.apply_all([], now=11.0, device_problem="") == before
    assert overlay.line.text() == "tampered"
    overlay.apply_all([], now=11.0, device_problem="耳机已拔出")  # the banner is news: redrawn
    assert overlay.banner.text() == "耳机已拔出" and overlay.line.text() == LINE
