"""The coaching hint line of the overlay (offscreen Qt, pytest-qt) and of its view model."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported; no display needed

from pathlib import Path

from pytestqt.qtbot import QtBot

from softphone_assist.core.events import CallEvent, CoachHint, ProtocolEnded, ShowPrompt
from softphone_assist.core.timeline import to_jsonl, to_text
from softphone_assist.ui.overlay import OverlayWindow
from softphone_assist.ui.overlay_state import COACH_SHOW_S, OverlayState

LINE = "上午好，星河通信很高兴为您服务"
HINT = CoachHint(20.0, "overtalk", "请让客户说完。", {"since": 17.9})


def prompt(t: float) -> ShowPrompt:
    return ShowPrompt(t, "caller_silent", 1, 3, LINE, "来电方无声")


def test_view_model_shows_the_hint_for_ten_seconds_and_call_start_or_end_clears_it() -> None:
    s = OverlayState()
    s.apply(CallEvent(0.0, "call_start"))
    s.apply(HINT)
    assert s.view(20.0).coach == "请让客户说完。" and s.view(20.0).mode == "calm"
    assert s.view(20.0 + COACH_SHOW_S - 0.01).coach == "请让客户说完。"
    assert s.view(20.0 + COACH_SHOW_S).coach == ""
    s.apply(HINT)
    s.apply(CallEvent(25.0, "call_end"))
    assert s.view(25.0).coach == ""


def test_the_hint_is_a_line_of_its_own_under_the_prompt(qtbot: QtBot, tmp_path: Path) -> None:
    w = OverlayWindow()
    qtbot.addWidget(w)
    w.apply_all([CallEvent(0.0, "call_start"), prompt(15.0)], now=15.0)
    height = w.height()
    assert not w.coach.isVisibleTo(w)
    w.apply_all([HINT], now=20.0)
    assert w.coach.isVisibleTo(w) and w.coach.text() == "请让客户说完。"
    assert w.line.text() == LINE  # the prompt stays what it was
    assert w.coach.geometry().top() >= w.prompt_box.geometry().bottom()
    assert w.height() > height  # the card grew by the line instead of clipping it
    assert w.grab().toImage().save(str(tmp_path / "overlay_coach.png"))
    w.refresh(20.0 + COACH_SHOW_S)
    assert not w.coach.isVisibleTo(w)


def test_a_hint_shows_a_calm_hidden_overlay_for_as_long_as_it_lasts(qtbot: QtBot) -> None:
    w = OverlayWindow(calm_hide_after_s=5.0)
    qtbot.addWidget(w)
    w.apply_all([CallEvent(0.0, "call_start"), prompt(1.0), ProtocolEnded(2.0, "caller_silent", "caller_spoke")],
                now=2.0)
    w.refresh(10.0)
    assert not w.isVisible()
    w.apply_all([HINT], now=20.0)
    assert w.isVisible() and not w.prompt_box.isVisibleTo(w) and w.coach.isVisibleTo(w)
    w.refresh(30.0)
    assert not w.isVisible()


def test_jsonl_and_timeline_lines() -> None:
    assert to_jsonl(HINT) == '{"t": 20.0, "event": "coach", "kind": "overtalk", "detail": {"since": 17.9}}'
    assert to_text(HINT) == "   20.00  coach [overtalk]  请让客户说完。"


def test_the_settings_dialog_switches_a_hint_off_on_the_overlay_tab(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QCheckBox

    from softphone_assist.settings.layers import Settings, load_settings, save_user_settings
    from softphone_assist.ui.settings_dialog import SettingsDialog

    d = SettingsDialog(Settings())
    qtbot.addWidget(d)
    box = d.editors["coach.speech_rate"]
    assert isinstance(box, QCheckBox) and box.isChecked()
    overlay_tab = next(d.tabs.widget(i) for i in range(d.tabs.count()) if d.tabs.tabText(i) == "提示窗")
    assert overlay_tab.isAncestorOf(box)
    box.setChecked(False)
    with qtbot.waitSignal(d.changes_accepted, timeout=1000) as sig:
        d.accept()
    assert sig.args == [{"coach": {"speech_rate": False}}]
    path = tmp_path / "user.toml"
    save_user_settings(sig.args[0], path)
    settings, problems = load_settings([path])
    assert problems == [] and "speech_rate" not in settings.coach.config().kinds
