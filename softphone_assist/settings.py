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

import contextlib
import difflib
import math
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from softphone_assist.config import ConfigError, DetectorConfig
from softphone_assist.errors import UserError

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
Device = str | int | None  # a device name (substring match is the audio layer's job) or an index


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


# --------------------------------------------------------------------------------------------
# Checking one value: each checker returns the value to use or raises _Invalid(why)
# --------------------------------------------------------------------------------------------
class _Invalid(Exception):
    pass


def _text(v: Any, limit: int = 200) -> str:
    if not isinstance(v, str):
        raise _Invalid(f"expected a string, got {_show(v)}")
    v = v.strip()
    if len(v) > limit or any(ord(c) < 32 for c in v):
        raise _Invalid(f"expected one line of at most {limit} characters")
    return v


def _optional_text(v: Any) -> str | None:
    return _text(v) or None


def _choice(options: tuple[str, ...], canon: Callable[[str], str] = str.lower) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        by_canon = {canon(o): o for o in options}
        if isinstance(v, str) and canon(v.strip()) in by_canon:
            return by_canon[canon(v.strip())]
        raise _Invalid(f"{_show(v)} is not one of {', '.join(options)}")

    return check


def _locale_key(s: str) -> str:
    return s.lower().replace("_", "-")


def _device(v: Any) -> Device:
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise _Invalid(f"device index {v} is negative")
        return v
    return _text(v) or None


def _number(lo: float, hi: float, unit: str = "") -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _Invalid(f"expected a number, got {_show(v)}")
        if not lo <= v <= hi:
            raise _Invalid(f"{v:g} is outside {lo:g}..{hi:g}{unit}")
        return float(v)

    return check


def _integer(lo: int, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Invalid(f"expected a whole number, got {_show(v)}")
        if v < lo or (hi is not None and v > hi):
            raise _Invalid(f"{v} is outside {lo}..{hi}" if hi is not None else f"{v} is below {lo}")
        return v

    return check


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Invalid(f"expected true or false, got {_show(v)}")
    return v


def _record_audio(v: Any) -> bool:
    if _boolean(v):
        raise _Invalid("softphone-assist never records audio; only false is allowed")
    return False


def _outputs(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not v:
        raise _Invalid(f"expected a non-empty list of {', '.join(TTS_OUTPUTS)} (use mode = \"off\" for none)")
    out = tuple(_choice(TTS_OUTPUTS)(x) for x in v)
    if len(set(out)) != len(out):
        raise _Invalid("lists a device twice")
    return out


_MODIFIERS = {"ctrl": "Ctrl", "control": "Ctrl", "alt": "Alt", "option": "Alt", "shift": "Shift",
              "meta": "Meta", "win": "Meta", "super": "Meta", "cmd": "Meta"}
_NAMED_KEYS = {k.lower(): k for k in (
    "Space", "Enter", "Esc", "Tab", "Backspace", "Delete", "Insert", "Home", "End", "PageUp",
    "PageDown", "Up", "Down", "Left", "Right", "Pause",
)} | {"return": "Enter", "escape": "Esc", "del": "Delete", "ins": "Insert", "pgup": "PageUp",
      "pgdown": "PageDown", "pgdn": "PageDown"}
_ALONE_OK = {f"F{i}" for i in range(1, 25)} | {"Pause"}  # keys that do not steal typing on their own


def _hotkey(v: Any) -> str:
    """'ctrl + alt + s' -> 'Ctrl+Alt+S' (Qt's QKeySequence text); '' disables the action."""
    text = _text(v, limit=40)
    if not text:
        return ""
    parts = [p.strip() for p in text.split("+")]
    *mods, key = parts
    canon_mods = []
    for m in mods:
        if m.lower() not in _MODIFIERS:
            raise _Invalid(f"{text!r}: {m!r} is not a modifier (Ctrl, Alt, Shift, Meta)")
        canon_mods.append(_MODIFIERS[m.lower()])
    if len(set(canon_mods)) != len(canon_mods):
        raise _Invalid(f"{text!r} repeats a modifier")
    if len(key) == 1 and key.isascii() and key.isalnum():
        key = key.upper()
    elif key.upper() in _ALONE_OK:
        key = key.upper() if key.upper() != "PAUSE" else "Pause"
    elif key.lower() in _NAMED_KEYS:
        key = _NAMED_KEYS[key.lower()]
    else:
        raise _Invalid(f"{text!r}: {key!r} is not a key (a letter, a digit, F1..F24, Space, Enter, ...)")
    if not canon_mods and key not in _ALONE_OK:
        raise _Invalid(f"{text!r} needs a modifier such as Ctrl+Alt (a bare key would steal typing)")
    order = ["Ctrl", "Alt", "Shift", "Meta"]
    return "+".join([*sorted(canon_mods, key=order.index), key])


def _detector_key(name: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        try:
            return getattr(DetectorConfig.from_mapping({name: v}), name)
        except ConfigError as e:
            raise _Invalid(str(e).split(": ", 1)[-1]) from None

    return check


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "company": _text,
    "title": lambda v: _text(v, limit=40),
    "locale": _choice(LOCALES, _locale_key),
    **{f"devices.{f.name}": _device for f in fields(DeviceSettings)},
    **{f"detector.{f.name}": _detector_key(f.name) for f in fields(DetectorConfig)},
    "timing.condition_persist_s": _number(0.1, 30.0, " s"),
    "timing.caller_silent_after_s": _number(1.0, 60.0, " s"),
    "timing.dead_air_after_s": _number(1.0, 300.0, " s"),
    "timing.chars_per_minute": _number(30.0, 600.0, " characters per minute"),
    "tts.mode": _choice(TTS_MODES),
    "tts.voice": _optional_text,
    "tts.rate": _integer(50, 400),
    "tts.outputs": _outputs,
    **{f"hotkeys.{a}": _hotkey for a in HOTKEY_ACTIONS},
    "overlay.click_through": _boolean,
    "overlay.x": _integer(-100_000, 100_000),
    "overlay.y": _integer(-100_000, 100_000),
    "overlay.opacity": _number(0.2, 1.0),
    "log.enabled": _boolean,
    "log.record_audio": _record_audio,
}


def _show(v: Any) -> str:
    """A value as the user wrote it in TOML, for messages."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return "nothing" if v is None else str(v)


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
                problems.append(f"{where}: {key}: must be a table ([{key}]), got {_show(value)}; ignored")
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
            except _Invalid as e:
                kept = values.get(key, _default(key))
                problems.append(f"{path}: {key}: {e}; keeping {_show(kept)}")
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
                f"using {_show(fallback) if fallback else 'nothing (disabled)'}"
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
        except _Invalid as e:
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
    _write_atomically(target, dump_toml(data))
    return target


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one (temp file + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------
# A tiny TOML writer: tables of scalars and of lists of scalars, all that settings hold
# --------------------------------------------------------------------------------------------
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(s: str) -> str:
    out = [_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in s]
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_string(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return ("-inf" if v < 0 else "inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dump_toml(data: Mapping[str, Any]) -> str:
    """TOML text that tomllib reads back to `data` (no arrays of tables, no dates)."""
    lines: list[str] = []

    def table(t: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        scalars = [(k, v) for k, v in t.items() if not isinstance(v, Mapping)]
        subtables = [(k, v) for k, v in t.items() if isinstance(v, Mapping)]
        if prefix and (scalars or not subtables):
            lines.extend(["", "[" + ".".join(_toml_key(p) for p in prefix) + "]"])
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars)
        for k, v in subtables:
            table(v, (*prefix, k))

    table(data, ())
    return "\n".join(lines).lstrip("\n") + "\n"
