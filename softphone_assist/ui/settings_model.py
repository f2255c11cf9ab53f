"""What the settings dialog edits, as data; and the pure helpers around it (no Qt).

The dialog edits the *user layer* of the settings: a nested dict such as
`{"company": "星河通信", "detector": {"speech_level_dbov": -37.0}, "hotkeys": {"speak": "<f9>"}}`.
It returns only the leaves the agent changed, in the same nesting, for the settings module's
`save_user_settings(changes)`. Ranges of the detector fields mirror `DetectorConfig`, which
still has the last word: `check_settings` builds one from the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from softphone_assist.config import DetectorConfig
from softphone_assist.ui.hotkey_combos import ACTIONS, DEFAULT_HOTKEYS, check_hotkeys

Kind = Literal["text", "choice", "device", "voice", "float", "int", "bool", "hotkey", "outputs"]
Section = Literal["general", "devices", "detector", "timings", "tts", "hotkeys", "overlay"]
SECTIONS: tuple[Section, ...] = ("general", "devices", "detector", "timings", "tts", "hotkeys", "overlay")
OUTPUTS = ("caller", "agent")  # where TTS plays: into the call, into the agent's headset


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: tuple[str, ...]
    labels: tuple[str, str, str]  # zh-CN, zh-TW, en
    kind: Kind
    default: Any = None
    choices: tuple[tuple[str, tuple[str, str, str]], ...] = ()  # value, labels
    minimum: float = 0.0
    maximum: float = 0.0
    step: float = 1.0
    suffix: str = ""

    @property
    def key(self) -> str:
        return ".".join(self.path)

    @property
    def section(self) -> Section:
        return self.path[0] if len(self.path) > 1 else "general"  # type: ignore[return-value]

    def label(self, locale: str) -> str:
        return self.labels[{"zh-CN": 0, "zh-TW": 1, "en": 2}.get(locale, 0)]


def _f(path: str, zh: str, tw: str, en: str, kind: Kind, default: Any = None, **kw: Any) -> FieldSpec:
    return FieldSpec(tuple(path.split(".")), (zh, tw, en), kind, default, **kw)


_LOCALE_CHOICES = (("zh-CN", ("简体中文", "簡體中文", "Chinese (Simplified)")),
                   ("zh-TW", ("繁體中文", "繁體中文", "Chinese (Traditional)")),
                   ("en", ("English", "English", "English")))
_TTS_MODES = (("off", ("关闭", "關閉", "Off")),
              ("manual", ("按“朗读”时播放", "按「朗讀」時播放", "When I press Speak")),
              ("auto", ("自动播放提示", "自動播放提示", "Speak prompts automatically")))
_D = DetectorConfig()

FIELDS: tuple[FieldSpec, ...] = (
    _f("company", "公司名称", "公司名稱", "Company name", "text", ""),
    _f("agent_title", "坐席称谓", "客服稱謂", "Agent title", "text", ""),
    _f("locale", "语言", "語言", "Language", "choice", "zh-CN", choices=_LOCALE_CHOICES),
    _f("devices.caller", "来电声音来源", "來電聲音來源", "Caller audio source", "device", ""),
    _f("devices.agent", "坐席麦克风", "客服麥克風", "Agent microphone", "device", ""),
    _f("devices.speak_to", "朗读输出到", "朗讀輸出到", "Speak into", "device", ""),
    _f("detector.speech_level_dbov", "语音电平下限", "語音電平下限", "Speech level floor", "float",
       _D.speech_level_dbov, minimum=-90, maximum=0, step=1, suffix=" dBov"),
    _f("detector.noise_level_dbov", "噪声电平门限", "噪音電平門檻", "Noise level threshold", "float",
       _D.noise_level_dbov, minimum=-90, maximum=0, step=1, suffix=" dBov"),
    _f("detector.noisy_snr_db", "杂音判定信噪比", "雜音判定信噪比", "Noisy below SNR", "float",
       _D.noisy_snr_db, minimum=0, maximum=60, step=1, suffix=" dB"),
    _f("detector.pause_s", "句内停顿上限", "句內停頓上限", "Pause within a turn", "float",
       _D.pause_s, minimum=0.05, maximum=5, step=0.05, suffix=" s"),
    _f("detector.vad_mode", "语音检测灵敏度 (0–3)", "語音偵測靈敏度 (0–3)", "VAD aggressiveness (0–3)", "int",
       _D.vad_mode, minimum=0, maximum=3),
    _f("tts.voice", "朗读声音", "朗讀聲音", "Voice", "voice", ""),
    _f("tts.rate", "语速", "語速", "Rate", "int", 200,
       minimum=60, maximum=400, step=10),
    _f("tts.mode", "朗读方式", "朗讀方式", "Speaking", "choice", "manual", choices=_TTS_MODES),
    _f("tts.outputs", "播放到", "播放到", "Play to", "outputs", ["caller"]),
    *(_f(f"hotkeys.{a}", zh, tw, en, "hotkey", DEFAULT_HOTKEYS[a]) for a, zh, tw, en in (
        ("speak", "朗读", "朗讀", "Speak it"), ("skip", "跳过", "跳過", "Skip"),
        ("snooze", "本通不再提示", "本通不再提示", "Snooze for this call"),
        ("call_start", "接听", "接聽", "Call start"), ("hold", "保持/恢复", "保留/恢復", "Hold/resume"),
        ("end", "结束通话", "結束通話", "End call"))),
    _f("overlay.calm_hide_after_s", "无提示时隐藏（0 = 不隐藏）", "無提示時隱藏（0 = 不隱藏）",
       "Hide when calm after (0 = never)", "float", 0.0, minimum=0, maximum=3600, step=5, suffix=" s"),
    _f("overlay.click_through", "鼠标穿透提示窗", "滑鼠穿透提示窗", "Click-through overlay", "bool", False),
    _f("overlay.line_point_size", "提示字号", "提示字號", "Line font size", "float", 20.0,
       minimum=10, maximum=48, step=1, suffix=" pt"),
)

# Script timings live in the script files; the user layer may override the ones listed in
# `current["timings"]`. Known keys get a label, others show their key.
TIMING_LABELS: dict[str, tuple[str, str, str]] = {
    "repeat_wait_s": ("重复前等待", "重複前等待", "Wait before repeating"),
    "hold_thank_after_s": ("保持多久后致谢", "保留多久後致謝", "Thank after holding for"),
    "closing_hang_up_wait_s": ("结束语后挂机等待", "結束語後掛機等待", "Hang up after closing line"),
    "dead_air_s": ("冷场多久提示", "冷場多久提示", "Dead air before a prompt"),
}


def timing_fields(current: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    timings = current.get("timings") or {}
    return tuple(
        FieldSpec(("timings", k), TIMING_LABELS.get(k, (k, k, k)), "float", float(v),
                  minimum=0, maximum=3600, step=0.5, suffix=" s")
        for k, v in sorted(timings.items())
    )


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


def diff_settings(before: Mapping[str, Any], after: Mapping[str, Any], specs: tuple[FieldSpec, ...]) -> dict:
    """The leaves of `after` that differ from `before` (defaults filled in), nested like them."""
    out: dict[str, Any] = {}
    for spec in specs:
        old = get_path(before, spec.path, spec.default)
        new = get_path(after, spec.path, spec.default)
        if isinstance(old, float | int) and isinstance(new, float | int) and not isinstance(old, bool):
            changed = abs(float(old) - float(new)) > 1e-9  # 5 from a file equals 5.0 from a spin box
        else:
            changed = old != new
        if changed:
            set_path(out, spec.path, new)
    return out


def check_settings(values: Mapping[str, Any]) -> None:
    """Raise the UserError a setting would cause at load time, naming it (detector, hotkeys)."""
    detector = values.get("detector") or {}
    known = {f.name for f in fields(DetectorConfig)}
    DetectorConfig.from_mapping({k: v for k, v in detector.items() if k in known})
    hotkeys = values.get("hotkeys") or {}
    check_hotkeys({a: hotkeys.get(a, "") for a in ACTIONS})
