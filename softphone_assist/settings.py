"""Settings: a machine-wide TOML file under the user's own, the user wins; bad values never crash.

Layers, lowest first: built-in defaults < machine file < user file < $SOFTPHONE_ASSIST_CONFIG.
- Each key is checked on its own. A bad value is reported ("file: key: problem; keeping X") and
  the value from the layer below (or the default) stays; every other key still applies.
- An unknown key or table is reported and ignored. A file that is not valid TOML is reported
  and ignored as a whole (one can not trust half a broken file). A missing file is not a problem,
  except the one $SOFTPHONE_ASSIST_CONFIG names.
- `save_user_settings` validates first, then rewrites only the user file, atomically. It cannot
  keep comments (tomllib has no round trip): the user file is the app's; IT edits the machine file.
"""

from __future__ import annotations

import difflib
import os
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from softphone_assist import settings_checks as check
from softphone_assist.config import ConfigError, DetectorConfig
from softphone_assist.errors import UserError
from softphone_assist.settings_checks import Device, Invalid, show
from softphone_assist.toml_writer import dump_toml, write_atomically

APP = "softphone-assist"
ENV_CONFIG = "SOFTPHONE_ASSIST_CONFIG"
LOCALES = ("zh-CN", "zh-TW", "en")
TTS_MODES = ("off", "on_request", "auto")
TTS_OUTPUTS = ("headset", "speak_to")  # device roles of [devices] that TTS may play into
HOTKEY_ACTIONS = ("speak", "skip", "snooze", "call_start", "hold", "end")


class SettingsError(UserError):
    """A setting cannot be saved; the message names the key (and file) and the problem."""


# --------------------------------------------------------------------------------------------
# The settings
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeviceSettings:
    caller: Device = None  # where the caller's voice comes from (None: ask / system default)
    agent: Device = None  # the agent's microphone
    speak_to: Device = None  # the device that feeds TTS into the call (a virtual cable)
    headset: Device = None  # the agent's ears, for prompts spoken to the agent only


@dataclass(frozen=True, slots=True)
class TimingSettings:
    """Overrides of the script file's timings; None keeps the script's value."""

    condition_persist_s: float | None = None
    caller_silent_after_s: float | None = None
    dead_air_after_s: float | None = None
    chars_per_minute: float | None = None


@dataclass(frozen=True, slots=True)
class TtsSettings:
    mode: str = "on_request"  # off | on_request (the speak hotkey) | auto
    voice: str | None = None  # a pyttsx3 voice id or name; None: the system default
    rate: int | None = None  # words per minute as pyttsx3 counts them; None: the engine default
    outputs: tuple[str, ...] = ("headset",)  # never into the call unless IT says so


@dataclass(frozen=True, slots=True)
class HotkeySettings:
    """Qt-style key sequences; "" disables one."""

    speak: str = "Ctrl+Alt+S"
    skip: str = "Ctrl+Alt+N"
    snooze: str = "Ctrl+Alt+Z"
    call_start: str = "Ctrl+Alt+C"
    hold: str = "Ctrl+Alt+H"
    end: str = "Ctrl+Alt+E"


@dataclass(frozen=True, slots=True)
class OverlaySettings:
    click_through: bool = False
    x: int | None = None  # None: the app places the overlay
    y: int | None = None
    opacity: float = 0.9
    calm_hide_after_s: float | None = None  # hide when nothing needs the agent this long; 0/None: never


@dataclass(frozen=True, slots=True)
class LogSettings:
    enabled: bool = True
    record_audio: bool = False  # present so that IT can see it is off; it cannot be turned on


@dataclass(frozen=True, slots=True)
class Settings:
    company: str = ""  # "" keeps the script file's company name
    title: str = ""  # how to address the caller ("先生/女士"); "" keeps the script's
    locale: str = "zh-CN"
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    timing: TimingSettings = field(default_factory=TimingSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    hotkeys: HotkeySettings = field(default_factory=HotkeySettings)
    overlay: OverlaySettings = field(default_factory=OverlaySettings)
    log: LogSettings = field(default_factory=LogSettings)
    sources: tuple[str, ...] = ()  # the files that were read, lowest layer first


_TABLES: dict[str, type] = {
    "devices": DeviceSettings, "detector": DetectorConfig, "timing": TimingSettings, "tts": TtsSettings,
    "hotkeys": HotkeySettings, "overlay": OverlaySettings, "log": LogSettings,
}

# Every known key and the check its value must pass (the checks themselves: settings_checks).
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "company": check.text,
    "title": lambda v: check.text(v, limit=40),
    "locale": check.choice(LOCALES, check.locale_key),
    **{f"devices.{f.name}": check.device for f in fields(DeviceSettings)},
    **{f"detector.{f.name}": check.detector_key(f.name) for f in fields(DetectorConfig)},
    "timing.condition_persist_s": check.number(0.1, 30.0, " s"),
    "timing.caller_silent_after_s": check.number(1.0, 60.0, " s"),
    "timing.dead_air_after_s": check.number(1.0, 300.0, " s"),
    "timing.chars_per_minute": check.number(30.0, 600.0, " characters per minute"),
    "tts.mode": check.choice(TTS_MODES),
    "tts.voice": check.optional_text,
    "tts.rate": check.integer(50, 400),
    "tts.outputs": check.outputs(TTS_OUTPUTS),
    **{f"hotkeys.{a}": check.hotkey for a in HOTKEY_ACTIONS},
    "overlay.click_through": check.boolean,
    "overlay.x": check.integer(-100_000, 100_000),
    "overlay.y": check.integer(-100_000, 100_000),
    "overlay.opacity": check.number(0.2, 1.0),
    "overlay.calm_hide_after_s": lambda v: None if v in (None, 0) else check.number(1.0, 3600.0, " s")(v),
    "log.enabled": check.boolean,
    "log.record_audio": check.record_audio,
}


def _unknown(key: str) -> str:
    hint = difflib.get_close_matches(key, list(_CHECKS), n=1)
    return f"{key}: unknown setting" + (f" (did you mean {hint[0]}?)" if hint else "")


def _default(key: str) -> Any:
    section, _, name = key.rpartition(".")
    obj: Any = getattr(Settings(), section) if section else Settings()
    return getattr(obj, name)


# --------------------------------------------------------------------------------------------
# Where the files are
# --------------------------------------------------------------------------------------------
def machine_config_path() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA") or r"C:\ProgramData") / APP / "config.toml"
    if sys.platform == "darwin":
        return Path("/Library/Application Support") / APP / "config.toml"
    return Path("/etc") / APP / "config.toml"


def user_config_path() -> Path:
    import platformdirs  # the app extra; only needed when no explicit path is given

    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "config.toml"


def default_paths() -> list[Path]:
    """The layers to read, lowest first: machine, user, and $SOFTPHONE_ASSIST_CONFIG if set."""
    paths = [machine_config_path(), user_config_path()]
    if extra := os.environ.get(ENV_CONFIG):
        paths.append(Path(extra))
    return paths


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
def _read_toml(path: Path) -> dict[str, Any]:
    """Raises OSError, or ValueError with the reason (tomllib's message names line and column)."""
    text = path.read_bytes().decode("utf-8-sig")  # a BOM from Windows Notepad is fine
    return tomllib.loads(text)


def _flatten(data: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """{'tts': {'mode': x}} -> {'tts.mode': x}; unknown keys and tables become problems."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TABLES:
            if not isinstance(value, dict):
                problems.append(f"{where}: {key}: must be a table ([{key}]), got {show(value)}; ignored")
                continue
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[key] = value
    for key in [k for k in flat if k not in _CHECKS]:
        problems.append(f"{where}: {_unknown(key)}, ignored")
        del flat[key]
    return flat


def load_settings(paths: Sequence[str | os.PathLike[str]] | None = None) -> tuple[Settings, list[str]]:
    """Read the layers (default: `default_paths()`), lowest first. Never raises for bad content."""
    env_extra = os.environ.get(ENV_CONFIG) if paths is None else None
    layer_paths = default_paths() if paths is None else [Path(p) for p in paths]
    problems: list[str] = []
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    sources: list[str] = []
    for path in layer_paths:
        try:
            data = _read_toml(path)
        except FileNotFoundError:
            if env_extra and path == Path(env_extra):
                problems.append(f"{path}: file not found (named by {ENV_CONFIG}); ignored")
            continue
        except OSError as e:
            problems.append(f"{path}: cannot be read ({e.strerror or e}); ignored")
            continue
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"{path}: not valid TOML ({e}); the whole file is ignored")
            continue
        sources.append(str(path))
        for key, raw in _flatten(data, str(path), problems).items():
            try:
                values[key] = _CHECKS[key](raw)
                origin[key] = str(path)
            except Invalid as e:
                kept = values.get(key, _default(key))
                problems.append(f"{path}: {key}: {e}; keeping {show(kept)}")
    _resolve_hotkey_clashes(values, origin, problems)
    return _build(values, problems, tuple(sources)), problems


def _resolve_hotkey_clashes(values: dict[str, Any], origin: dict[str, str], problems: list[str]) -> None:
    """Two actions on one key: the later one falls back to its default, or off if that is taken."""
    taken: dict[str, str] = {}
    for action in HOTKEY_ACTIONS:
        key = f"hotkeys.{action}"
        seq = values.get(key, _default(key))
        if seq and seq in taken:
            default = _default(key)
            fallback = default if default not in taken and default != seq else ""
            problems.append(
                f"{origin.get(key, 'defaults')}: {key}: {seq} is already used by hotkeys.{taken[seq]}; "
                f"using {show(fallback) if fallback else 'nothing (disabled)'}"
            )
            values[key] = seq = fallback
        if seq:
            taken[seq] = action


def _build(values: Mapping[str, Any], problems: list[str], sources: tuple[str, ...]) -> Settings:
    tables: dict[str, Any] = {}
    for name, cls in _TABLES.items():
        kwargs = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(name + ".")}
        try:
            tables[name] = cls(**kwargs)
        except ConfigError as e:  # a rule across keys (none today, but DetectorConfig may grow one)
            problems.append(f"{name}: {e}; using the defaults of [{name}]")
            tables[name] = cls()
    top = {k: v for k, v in values.items() if "." not in k}
    return Settings(**top, **tables, sources=sources)


# --------------------------------------------------------------------------------------------
# Saving the user layer
# --------------------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def save_user_settings(changes: Mapping[str, Any], path: str | os.PathLike[str] | None = None) -> Path:
    """Merge `changes` into the user file and write it atomically; returns its path.

    `changes` is nested ({"tts": {"mode": "auto"}}) or dotted ({"tts.mode": "auto"}); None
    removes a key (the layer below or the default applies again). Nothing is written unless
    every change is valid: SettingsError names the first bad one.
    """
    target = Path(path) if path is not None else user_config_path()
    flat: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, Mapping) and key in _TABLES:
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    for key in flat:
        if key not in _CHECKS:
            raise SettingsError(_unknown(key))
    checked: dict[str, Any] = {}
    for key, value in flat.items():
        try:
            checked[key] = None if value is None else _CHECKS[key](_plain(value))
        except Invalid as e:
            raise SettingsError(f"{key}: {e}") from None
    try:
        data = _read_toml(target)
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise SettingsError(f"{target}: cannot update it ({e}); fix or delete the file first") from None
    for key, value in checked.items():
        section, _, name = key.rpartition(".")
        table = data.setdefault(section, {}) if section else data
        if not isinstance(table, dict):
            table = data[section] = {}  # a broken [section] (e.g. `tts = 3`) is replaced
        if value is None:
            table.pop(name, None)
        else:
            table[name] = _plain(value)
    data = {k: v for k, v in data.items() if not (isinstance(v, dict) and not v and k in _TABLES)}
    write_atomically(target, dump_toml(data))
    return target
