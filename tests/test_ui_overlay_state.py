"""The overlay's view model, without Qt: update records + stream time in, display texts out."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
from softphone_assist.ui.overlay_state import OverlayState, meter_view

LINE = "上午好，星河通信很高兴为您服务"
NEVER = "喂，说话呀！再不说话我就挂机了！"


def prompt(t: float, step: int = 1, protocol: str = "silent_line", **kw: object) -> ShowPrompt:
    return ShowPrompt(t, protocol, step, 3, kw.pop("text", LINE), kw.pop("title", "无声电话"),  # type: ignore[arg-type]
                      never_say=NEVER, **kw)  # type: ignore[arg-type]


def state(*updates: object, **kw: object) -> OverlayState:
    s = OverlayState(**kw)  # type: ignore[arg-type]
    for u in updates:
        s.apply(u)  # type: ignore[arg-type]
    return s


def test_view_model_imports_no_qt() -> None:
    code = ("import sys, softphone_assist.ui.overlay_state;"
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_calm_before_anything() -> None:
    v = OverlayState().view(0.0)
    assert (v.mode, v.visible, v.call_state, v.call_state_text) == ("calm", True, "idle", "空闲")
    assert (v.title, v.line, v.never_say, v.why, v.may_hang_up) == ("", "", "", "", "")
    assert v.countdown is None and not v.can_speak


def test_prompt_shows_title_step_line_never_say_and_hint() -> None:
    v = state(CallEvent(0.0, "call_start"), prompt(7.5, step=2, hint="先检查耳机音量")).view(7.5)
    assert v.mode == "prompt"
    assert v.title == "无声电话 2/3"
    assert v.line == LINE
    assert v.never_say == "忌：" + NEVER
    assert v.hint == "先检查耳机音量"
    assert v.can_speak and v.call_state_text == "通话中"


def test_one_step_protocol_shows_no_step_count() -> None:
    greeting = ShowPrompt(0.0, "greeting", 1, 1, LINE, "问候语")
    assert state(greeting).view(0.0).title == "问候语"


def test_a_deadline_of_another_protocol_is_not_this_prompts_countdown() -> None:
    v = state(prompt(7.5), Deadline(8.0, "noisy_line", 13.0)).view(9.0)
    assert v.countdown is not None and v.countdown.waiting_for_line


def test_prompt_without_deadline_waits_for_the_line() -> None:
    v = state(prompt(7.5)).view(9.0)
    assert v.countdown is not None
    assert v.countdown.waiting_for_line and v.countdown.remaining_s is None
    assert (v.countdown.seconds_text, v.countdown.text) == ("…", "等你说完这句")
    v = state(prompt(7.5), Deadline(7.5, "silent_line", None)).view(9.0)
    assert v.countdown is not None and v.countdown.waiting_for_line


@pytest.mark.parametrize(
    ("now", "remaining", "fraction", "figure", "text"),
    [
        (10.0, 5.0, 1.0, "5", "5 秒后下一步"),
        (11.0, 4.0, 0.8, "4", "4 秒后下一步"),
        (11.2, 3.8, 0.76, "4", "4 秒后下一步"),  # whole seconds round up: "4" until 4 s are gone
        (14.0, 1.0, 0.2, "1", "1 秒后下一步"),
        (15.0, 0.0, 0.0, "0", "该说下一句了"),
        (17.0, 0.0, 0.0, "0", "该说下一句了"),  # overdue: never negative
    ],
)
def test_countdown_follows_now(now: float, remaining: float, fraction: float, figure: str, text: str) -> None:
    v = state(prompt(7.5), Deadline(10.0, "silent_line", 15.0)).view(now)
    c = v.countdown
    assert c is not None and not c.waiting_for_line
    assert c.remaining_s == pytest.approx(remaining)
    assert c.fraction == pytest.approx(fraction)
    assert (c.seconds_text, c.text) == (figure, text)


def test_float_noise_does_not_add_a_second() -> None:
    # 3 * 0.1 style float noise: 5.000000000000001 s left must read "5", not "6".
    v = state(prompt(0.0), Deadline(0.1 + 0.2, "silent_line", 5.3 + 1e-15)).view(0.3)
    assert v.countdown is not None and v.countdown.seconds_text == "5"


def test_next_prompt_drops_the_stale_deadline() -> None:
    s = state(prompt(7.5, step=1), Deadline(10.0, "silent_line", 15.0), prompt(15.0, step=2))
    assert s.deadline is None
    v = s.view(15.5)
    assert v.title == "无声电话 2/3" and v.countdown is not None and v.countdown.waiting_for_line
    # a deadline issued in the same feed as the prompt belongs to it
    s = state(prompt(7.5), Deadline(7.5, "silent_line", 12.5), prompt(7.5, step=1))
    assert s.deadline == Deadline(7.5, "silent_line", 12.5)


def test_may_hang_up_keeps_the_last_line_and_stops_the_countdown() -> None:
    s = state(prompt(20.0, step=3), Deadline(22.0, "silent_line", 27.0),
              MayHangUp(27.0, "silent_line", "客户同意后"))
    v = s.view(27.0)
    assert v.mode == "may_hang_up"
    assert v.may_hang_up == "可以挂机了 — 客户同意后"
    assert v.line == LINE and v.countdown is None
    assert state(MayHangUp(1.0, "noisy_line")).view(1.0).may_hang_up == "可以挂机了"


def test_prompt_of_another_protocol_replaces_may_hang_up() -> None:
    s = state(prompt(20.0, step=3), MayHangUp(27.0, "silent_line"),
              prompt(28.0, protocol="noisy_line", title="杂音太大", text="非常抱歉，您的电话杂音太大"))
    v = s.view(28.0)
    assert (v.mode, v.title, v.may_hang_up) == ("prompt", "杂音太大 1/3", "")


def test_protocol_end_returns_to_calm_and_ignores_other_protocols() -> None:
    s = state(prompt(7.5), Deadline(10.0, "silent_line", 15.0))
    s.apply(ProtocolEnded(11.0, "noisy_line", "superseded"))
    assert s.view(11.0).mode == "prompt"
    s.apply(ProtocolEnded(12.0, "silent_line", "caller_spoke"))
    v = s.view(12.0)
    assert (v.mode, v.line, v.countdown, v.why) == ("calm", "", None, "")
    assert s.calm_since == 12.0


def test_calm_hides_after_the_setting_and_a_prompt_brings_it_back() -> None:
    s = state(prompt(2.0), ProtocolEnded(4.0, "silent_line", "caller_spoke"), calm_hide_after_s=10.0)
    assert s.view(13.9).visible
    assert not s.view(14.0).visible  # exactly 10 s of calm
    s.apply(prompt(20.0))
    assert s.view(20.0).visible
    assert state(calm_hide_after_s=None).view(1e6).visible  # None: never hide


def test_device_problem_banner_shows_even_when_calm_and_hidden() -> None:
    s = state(calm_hide_after_s=5.0)
    s.set_device_problem("耳机已拔出")
    v = s.view(100.0)
    assert (v.device_problem, v.visible) == ("耳机已拔出", True)
    s.set_device_problem("")
    assert (s.view(100.0).device_problem, s.view(100.0).visible) == ("", False)


def test_why_names_condition_duration_and_figures() -> None:
    stats = LineStats(level_dbov=-63.4, noise_dbov=-66.0)
    s = state(ConditionChanged(5.4, "caller", "silent", 0.4, stats), prompt(5.4))
    assert s.view(7.5).why == "来电方无声 7.1 秒 · 电平 -63 dBov · 噪声 -66 dBov"
    assert s.view(9.0).why == "来电方无声 8.6 秒 · 电平 -63 dBov · 噪声 -66 dBov"


def test_why_for_noisy_and_low_volume_and_digital_silence() -> None:
    noisy = LineStats(level_dbov=-30.2, speech_dbov=-28.0, noise_dbov=-40.4, snr_db=12.4, clipped=3)
    s = state(ConditionChanged(9.0, "caller", "noisy", 6.0, noisy), prompt(9.0, protocol="noisy_line"))
    assert s.view(10.0).why == (
        "来电杂音大 4.0 秒 · 语音 -28 dBov · 电平 -30 dBov · 噪声 -40 dBov · 信噪比 12 dB · 削波 3")
    low = LineStats(speech_dbov=-44.6, level_dbov=-47.0, noise_dbov=-70.2, snr_db=25.6)
    s = state(ConditionChanged(9.0, "caller", "low_volume", 8.0, low), prompt(9.0, protocol="low_volume"))
    assert s.view(9.0).why == (
        "来电方声音小 1.0 秒 · 语音 -45 dBov · 电平 -47 dBov · 噪声 -70 dBov · 信噪比 26 dB")
    s = state(ConditionChanged(5.0, "caller", "silent", 0.0, LineStats()), prompt(5.0))
    assert s.view(5.0).why == "来电方无声 5.0 秒 · 数字静音"


def test_why_for_dead_air_and_hold() -> None:
    s = state(
        ConditionChanged(3.0, "caller", "silent", 1.0, LineStats(level_dbov=-60.0)),
        ConditionChanged(4.0, "agent", "silent", 2.5, LineStats(level_dbov=-58.0)),
        prompt(12.5, protocol="dead_air", title="冷场", text="正在查询中，请您稍等。"),
    )
    assert s.view(12.5).why.startswith("双方无声 10.0 秒 · ")  # from the later of the two silences
    s = state(CallEvent(0.0, "call_start"), CallEvent(10.0, "hold"),
              prompt(130.0, protocol="hold", title="保持", text="先生，感谢您的耐心等候。"))
    v = s.view(131.0)
    assert (v.why, v.call_state_text) == ("保持中 121.0 秒", "保持中")


def test_meters_and_their_scale() -> None:
    v = state(Meter(1.0, -30.0, None)).view(1.0)
    assert (v.caller_meter.fraction, v.caller_meter.text) == (0.5, "-30 dB")
    assert (v.agent_meter.dbov, v.agent_meter.fraction, v.agent_meter.text) == (None, 0.0, "—")
    assert meter_view(-75.0).fraction == 0.0 and meter_view(3.0).fraction == 1.0
    assert meter_view(-0.4).text == "0 dB"  # never "-0 dB"


def test_call_events_move_the_call_state_and_reset_prompts() -> None:
    s = state(CallEvent(0.0, "call_start"), prompt(5.0), CallEvent(6.0, "hold"))
    assert s.view(6.0).call_state == "hold"
    s.apply(CallEvent(8.0, "resume"))
    assert s.view(8.0).call_state == "call"
    s.apply(CallEvent(9.0, "closing"))
    assert s.view(9.0).call_state_text == "结束语"
    s.apply(CallEvent(12.0, "call_end"))
    v = s.view(12.0)
    assert (v.call_state, v.mode, s.calm_since, s.conditions) == ("idle", "calm", 12.0, {})


def test_now_defaults_to_the_latest_update() -> None:
    s = state(prompt(7.5), Deadline(10.0, "silent_line", 15.0), Meter(12.0, -40.0, -40.0))
    v = s.view()
    assert v.countdown is not None and v.countdown.remaining_s == pytest.approx(3.0)


def test_english_strings() -> None:
    s = state(prompt(1.0), MayHangUp(2.0, "silent_line"), locale="en")
    v = s.view(2.0)
    assert (v.may_hang_up, v.never_say) == ("You may hang up now", "Never say: " + NEVER)
    assert state(prompt(1.0), locale="en").view(1.0).countdown.text == "Waiting for you to say the line"  # type: ignore[union-attr]


@pytest.mark.parametrize("locale", ["zh-CN", "zh-TW", "en"])
def test_every_caller_condition_has_words_in_every_locale(locale: str) -> None:
    # the overlay looks up cond_<condition>: a condition without words (a new one, such as tone)
    # would raise KeyError the first time a prompt shows while it is heard
    from softphone_assist.core.events import CALLER_CONDITIONS
    from softphone_assist.ui.strings import ui_strings

    words = ui_strings(locale)
    for condition in CALLER_CONDITIONS:
        assert words[f"cond_{condition}"].strip()
