"""UI strings of the overlay, tray and settings dialog: zh-CN (default), zh-TW and en.

Prompt lines themselves come from the script files; these are only the words around them.
Pure: no Qt, so the view model can format its texts in tests without a display.
"""

from __future__ import annotations

from types import MappingProxyType

from softphone_assist.core.limits import DEFAULT_LOCALE, LOCALES  # the one list of shipped languages

__all__ = ["DEFAULT_LOCALE", "LOCALES", "ui_strings"]

_ZH_CN: dict[str, str] = {
    "app_name": "通话助手",
    "all_well": "一切正常",
    "speak": "朗读",
    "skip": "跳过",
    "snooze": "本通不再提示",
    "call_start": "接听",
    "hold": "保持",
    "resume": "恢复",
    "end": "结束",
    "caller": "来电",
    "agent": "坐席",
    "may_hang_up": "可以挂机了",
    "never_say": "忌：",
    "waiting_for_line": "等你说完这句",
    "next_step_in": "{s} 秒后下一步",
    "next_step_now": "该说下一句了",
    "seconds": "{s:.1f} 秒",
    "cond_speech": "来电方在说话",
    "cond_silent": "来电方无声 {s}",
    "cond_low_volume": "来电方声音小 {s}",
    "cond_noisy": "来电杂音大 {s}",
    "cond_tone": "线路提示音 {s}",
    "both_silent": "双方无声 {s}",
    "on_hold_for": "保持中 {s}",
    "stat_speech": "语音 {v} dBov",
    "stat_level": "电平 {v} dBov",
    "stat_noise": "噪声 {v} dBov",
    "stat_snr": "信噪比 {v} dB",
    "stat_clipped": "削波 {n}",
    "digital_silence": "数字静音",
    "state_idle": "空闲",
    "state_call": "通话中",
    "state_hold": "保持中",
    "state_closing": "结束语",
    "tray_show": "显示提示窗",
    "tray_hide": "隐藏提示窗",
    "tray_click_through": "鼠标穿透",
    "tray_settings": "设置…",
    "tray_quit": "退出",
}

_ZH_TW: dict[str, str] = {
    **_ZH_CN,
    "app_name": "通話助手",
    "all_well": "一切正常",
    "speak": "朗讀",
    "skip": "跳過",
    "snooze": "本通不再提示",
    "call_start": "接聽",
    "hold": "保留",
    "resume": "恢復",
    "end": "結束",
    "caller": "來電",
    "agent": "客服",
    "may_hang_up": "可以掛機了",
    "waiting_for_line": "等你說完這句",
    "next_step_in": "{s} 秒後下一步",
    "next_step_now": "該說下一句了",
    "seconds": "{s:.1f} 秒",
    "cond_speech": "來電方在說話",
    "cond_silent": "來電方無聲 {s}",
    "cond_low_volume": "來電方聲音小 {s}",
    "cond_noisy": "來電雜音大 {s}",
    "cond_tone": "線路提示音 {s}",
    "both_silent": "雙方無聲 {s}",
    "on_hold_for": "保留中 {s}",
    "stat_speech": "語音 {v} dBov",
    "stat_level": "電平 {v} dBov",
    "stat_noise": "噪音 {v} dBov",
    "stat_snr": "信噪比 {v} dB",
    "stat_clipped": "削波 {n}",
    "digital_silence": "數位靜音",
    "state_idle": "空閒",
    "state_call": "通話中",
    "state_hold": "保留中",
    "state_closing": "結束語",
    "tray_show": "顯示提示窗",
    "tray_hide": "隱藏提示窗",
    "tray_click_through": "滑鼠穿透",
    "tray_settings": "設定…",
    "tray_quit": "結束程式",
}

_EN: dict[str, str] = {
    "app_name": "Call Assist",
    "all_well": "All well",
    "speak": "Speak it",
    "skip": "Skip",
    "snooze": "Snooze for this call",
    "call_start": "Answer",
    "hold": "Hold",
    "resume": "Resume",
    "end": "End",
    "caller": "Caller",
    "agent": "Agent",
    "may_hang_up": "You may hang up now",
    "never_say": "Never say: ",
    "waiting_for_line": "Waiting for you to say the line",
    "next_step_in": "Next step in {s} s",
    "next_step_now": "Say the next line now",
    "seconds": "{s:.1f} s",
    "cond_speech": "Caller is speaking",
    "cond_silent": "Caller silent {s}",
    "cond_low_volume": "Caller quiet {s}",
    "cond_noisy": "Noisy line {s}",
    "cond_tone": "Line tone {s}",
    "both_silent": "Dead air {s}",
    "on_hold_for": "On hold {s}",
    "stat_speech": "speech {v} dBov",
    "stat_level": "level {v} dBov",
    "stat_noise": "noise {v} dBov",
    "stat_snr": "SNR {v} dB",
    "stat_clipped": "clipped {n}",
    "digital_silence": "digital silence",
    "state_idle": "Idle",
    "state_call": "In call",
    "state_hold": "On hold",
    "state_closing": "Closing",
    "tray_show": "Show overlay",
    "tray_hide": "Hide overlay",
    "tray_click_through": "Click-through",
    "tray_settings": "Settings…",
    "tray_quit": "Quit",
}

_TABLES = {"zh-CN": _ZH_CN, "zh-TW": _ZH_TW, "en": _EN}


def ui_strings(locale: str) -> MappingProxyType[str, str]:
    """The string table of `locale`; an unknown locale falls back to zh-CN (the product default)."""
    return MappingProxyType(_TABLES.get(locale, _ZH_CN))
