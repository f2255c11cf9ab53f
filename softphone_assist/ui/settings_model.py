"""What the settings dialog edits, as data, and the pure helpers around it (no Qt).

The keys are those of `softphone_assist.settings.layers` (the user layer that `save_user_settings`
writes): `company`, `devices.caller`, `timing.dead_air_after_s`, `hotkeys.speak`, ...
The dialog starts from the effective `Settings` and hands back only the leaves the agent
changed, nested like the TOML (`{"tts": {"mode": "auto"}}`); None means "back to the layer
below" (a timing override cleared, a device set back to the system default).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Literal

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.limits import LOCALES, RANGES
from softphone_assist.settings.layers import TTS_MODES, TTS_OUTPUTS, Settings, SettingsError
from softphone_assist.ui.hotkey_combos import ACTIONS, check_hotkeys

Kind = Literal["text", "choice", "device", "voice", "float", "int", "bool", "hotkey", "outputs"]
Section = Literal["general", "devices", "detector", "timing", "tts", "hotkeys", "overlay"]
SECTIONS: tuple[Section, ...] = ("general", "devices", "detector", "timing", "tts", "hotkeys", "overlay")
Labels = tuple[str, str, str]  # in the order of limits.LOCALES: zh-CN, zh-TW, en
_LOCALE_INDEX = {locale: i for i, locale in enumerate(LOCALES)}


def pick(labels: Labels, locale: str) -> str:
    return labels[_LOCALE_INDEX.get(locale, 0)]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: tuple[str, ...]
    labels: Labels
    kind: Kind
    choices: tuple[tuple[str, Labels], ...] = ()  # value, labels (choice and outputs)
    minimum: float = 0.0
    maximum: float = 0.0
    step: float = 1.0
    suffix: str = ""
    optional: bool = False  # None allowed: the spin box's lowest step reads "default"
    tab: Section | None = None  # the dialog tab, when it is not the key's table (coach: overlay)

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def section(self) -> Section:
        if self.tab is not None:
            return self.tab
        return self.path[0] if len(self.path) > 1 else "general"  # type: ignore[return-value]

    def label(self, locale: str) -> str:
        return pick(self.labels, locale)


def _f(path: str, zh: str, tw: str, en: str, kind: Kind, **kw: Any) -> FieldSpec:
    return FieldSpec(tuple(path.split(".")), (zh, tw, en), kind, **kw)


def _limits(key: str) -> dict[str, float]:
    """A spin box's range: the settings' own (softphone_assist.core.limits), so the dialog offers no
    value that saving or the script would refuse."""
    r = RANGES[key]
    return {"minimum": r.low, "maximum": r.high}


_LOCALE_LABELS: dict[str, Labels] = {
    "zh-CN": ("简体中文", "簡體中文", "Chinese (Simplified)"),
    "zh-TW": ("繁体中文", "繁體中文", "Chinese (Traditional)"),
    "en": ("English", "English", "English"),
}
_MODE_LABELS: dict[str, Labels] = {
    "off": ("关闭", "關閉", "Off"),
    "on_request": ("按“朗读”或热键时播放", "按「朗讀」或熱鍵時播放", "When I press Speak"),
    "auto": ("自动播放提示", "自動播放提示", "Speak prompts automatically"),
}
_OUTPUT_LABELS: dict[str, Labels] = {
    "headset": ("我的耳机", "我的耳機", "My headset"),
    "speak_to": ("送入通话（朗读输出设备）", "送入通話（朗讀輸出裝置）", "Into the call (speak-to device)"),
}

FIELDS: tuple[FieldSpec, ...] = (
    _f("company", "公司名称", "公司名稱", "Company name", "text"),
    _f("title", "客户称呼（先生/女士）", "客戶稱呼（先生/女士）", "Caller's title (Mr/Ms)", "text"),
    _f("locale", "语言", "語言", "Language", "choice",
       choices=tuple((loc, _LOCALE_LABELS[loc]) for loc in LOCALES)),
    _f("autostart", "登录时自动启动", "登入時自動啟動", "Start when I log in", "bool"),
    _f("devices.caller", "来电声音来源", "來電聲音來源", "Caller audio from", "device"),
    _f("devices.agent", "坐席麦克风", "客服麥克風", "Agent microphone", "device"),
    _f("devices.speak_to", "朗读送入通话的设备", "朗讀送入通話的裝置", "Speak into the call via", "device"),
    _f("devices.headset", "我的耳机", "我的耳機", "My headset", "device"),
    _f("detector.speech_level_dbov", "语音电平下限", "語音電平下限", "Speech level floor", "float",
       minimum=-90, maximum=0, suffix=" dBov"),
    _f("detector.noise_level_dbov", "噪声电平门限", "噪音電平門檻", "Noise level threshold", "float",
       minimum=-90, maximum=0, suffix=" dBov"),
    _f("detector.noisy_snr_db", "低于此信噪比算杂音", "低於此信噪比算雜音", "Noisy below SNR", "float",
       minimum=0, maximum=60, suffix=" dB"),
    _f("detector.pause_s", "句内停顿上限", "句內停頓上限", "Longest pause within a turn", "float",
       minimum=0.05, maximum=5, step=0.05, suffix=" s"),
    _f("detector.vad_mode", "语音检测严格度 (0–3)", "語音偵測嚴格度 (0–3)", "VAD aggressiveness (0–3)",
       "int", minimum=0, maximum=3),
    _f("detector.clip_dbov", "削波电平", "削波電平", "Clipping level", "float",
       minimum=-20, maximum=0, step=0.1, suffix=" dBov"),
    _f("timing.condition_persist_s", "状况持续多久才提示", "狀況持續多久才提示", "Condition must last",
       "float", **_limits("timing.condition_persist_s"), step=0.1, suffix=" s", optional=True),
    _f("timing.caller_silent_after_s", "来电方无声多久提示", "來電方無聲多久提示", "Caller silent for",
       "float", **_limits("timing.caller_silent_after_s"), step=0.5, suffix=" s", optional=True),
    _f("timing.dead_air_after_s", "冷场多久提示", "冷場多久提示", "Dead air for", "float",
       **_limits("timing.dead_air_after_s"), step=1, suffix=" s", optional=True),
    _f("timing.chars_per_minute", "语速（字/分钟）", "語速（字/分鐘）", "Speech rate (chars/min)", "float",
       **_limits("timing.chars_per_minute"), step=10, optional=True),
    _f("tts.mode", "朗读方式", "朗讀方式", "Speaking", "choice",
       choices=tuple((m, _MODE_LABELS[m]) for m in TTS_MODES)),
    _f("tts.voice", "朗读声音", "朗讀聲音", "Voice", "voice"),
    _f("tts.rate", "朗读语速", "朗讀語速", "Speaking rate", "int", **_limits("tts.rate"), step=10,
       optional=True),
    _f("tts.outputs", "播放到", "播放到", "Play to", "outputs",
       choices=tuple((o, _OUTPUT_LABELS[o]) for o in TTS_OUTPUTS)),
    *(_f(f"hotkeys.{a}", zh, tw, en, "hotkey") for a, zh, tw, en in (
        ("speak", "朗读", "朗讀", "Speak it"), ("skip", "跳过", "跳過", "Skip"),
        ("snooze", "本通不再提示", "本通不再提示", "Snooze for this call"),
        ("call_start", "通话开始", "通話開始", "Call start"),
        ("hold", "保持/恢复", "保留/恢復", "Hold/resume"),
        ("end", "通话结束", "通話結束", "Call end"))),
    _f("overlay.click_through", "鼠标穿透提示窗", "滑鼠穿透提示窗", "Click-through overlay", "bool"),
    _f("overlay.opacity", "提示窗不透明度", "提示窗不透明度", "Overlay opacity", "float",
       **_limits("overlay.opacity"), step=0.05),
)

# Shown only once `softphone_assist.settings.layers` has the key (the dialog must not offer a change
# that `save_user_settings` would refuse as unknown).
OPTIONAL_FIELDS: tuple[FieldSpec, ...] = (
    _f("overlay.calm_hide_after_s", "无提示时多久后隐藏", "無提示時多久後隱藏", "Hide when calm after",
       "float", minimum=5, maximum=3600, step=5, suffix=" s", optional=True),
    # coaching hints about the agent's own speaking appear on the overlay: their switches are there
    *(_f(f"coach.{k}", zh, tw, en, "bool", tab="overlay") for k, zh, tw, en in (
        ("overtalk", "提示：抢话（请让客户说完）", "提示：搶話（請讓客戶說完）", "Hint: talking over the customer"),
        ("agent_quiet", "提示：我的声音太小", "提示：我的聲音太小", "Hint: my voice is too quiet"),
        ("agent_clipping", "提示：麦克风过载", "提示：麥克風過載", "Hint: my microphone clips"),
        ("speech_rate", "提示：语速太快", "提示：語速太快", "Hint: I speak too fast"))),
)


def known_to_settings(path: tuple[str, ...]) -> bool:
    node: Any = Settings()
    for part in path:
        if not is_dataclass(node) or part not in {f.name for f in fields(node)}:
            return False
        node = getattr(node, part)
    return True


def dialog_fields() -> tuple[FieldSpec, ...]:
    return (*FIELDS, *(f for f in OPTIONAL_FIELDS if known_to_settings(f.path)))


def settings_values(settings: Settings | Mapping[str, Any]) -> dict[str, Any]:
    """The effective settings as a nested dict (tuples become lists)."""
    if isinstance(settings, Mapping):
        return dict(settings)

    def plain(v: Any) -> Any:
        if is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in fields(v)}
        return list(v) if isinstance(v, tuple) else v

    out: dict[str, Any] = plain(settings)
    out.pop("sources", None)
    out.pop("locked", None)
    return out


def locked_keys(settings: Settings | Mapping[str, Any]) -> frozenset[str]:
    """The dotted keys IT locked (the machine file's [policy]); a plain mapping has none."""
    return settings.locked if isinstance(settings, Settings) else frozenset()


def get_path(data: Mapping[str, Any], path: tuple[str, ...], default: Any = None) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return abs(float(old) - float(new)) < 1e-9  # 5 from a file equals 5.0 from a spin box
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return list(old) == list(new)
    return bool(old == new)


def diff_settings(before: Mapping[str, Any], after: Mapping[str, Any], specs: tuple[FieldSpec, ...],
                  locked: Collection[str] = ()) -> dict:
    """The leaves of `after` that differ from `before`, nested like them; never a `locked` key."""
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.key in locked:
            continue
        new = get_path(after, spec.path)
        if not _same(get_path(before, spec.path), new):
            set_path(out, spec.path, new)
    return out


def check_settings(values: Mapping[str, Any]) -> None:
    """Raise the UserError the loader would report for these values, naming the setting.

    A first line of defence that needs no file; `save_user_settings` checks again on save.
    """
    detector = values.get("detector") or {}
    known = {f.name for f in fields(DetectorConfig)}
    DetectorConfig.from_mapping({k: v for k, v in detector.items() if k in known})
    hotkeys = values.get("hotkeys") or {}
    check_hotkeys({a: hotkeys.get(a) or "" for a in ACTIONS})
    tts = values.get("tts") or {}
    if "outputs" in tts and not tts["outputs"]:
        raise SettingsError("tts.outputs: choose at least one place to play (or set tts.mode to off)")
