"""Settings: a machine-wide TOML file under the user's own, the user wins unless IT locked the key.

Layers, lowest first: built-in defaults < machine file < user file < $SOFTPHONE_ASSIST_CONFIG.
- Each key is checked on its own. A bad value is reported ("file: key: problem; keeping X") and
  the value from the layer below (or the default) stays; every other key still applies.
- An unknown key or table is reported and ignored. A file that is not valid TOML (nested too
  deeply included) is reported and ignored as a whole (one can not trust half a broken file). A
  missing file is not a problem, except the one $SOFTPHONE_ASSIST_CONFIG names.
- IT's policy: `[policy] locked = ["company", "tts.mode", "tts", ...]` in the machine file. A
  locked key takes the machine file's value (or the default) and every layer above is ignored
  for it, $SOFTPHONE_ASSIST_CONFIG included (that file is for testing, it cannot unlock); a name
  of a table locks all its keys. `[policy]` anywhere else is reported and ignored.
- `load_report` also says where each value came from (`Origin`), for `softphone-assist config`.
- `save_user_settings` validates first, then rewrites only the user file, atomically, and never
  writes a locked key. It cannot keep comments (tomllib has no round trip): the user file is the
  app's; IT edits the machine file (or writes it with `softphone-assist config --init-machine`).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from softphone_assist.core import toml_safe
from softphone_assist.core.config import COACH_KINDS, CoachConfig, ConfigError, DetectorConfig
from softphone_assist.core.errors import UserError
from softphone_assist.core.limits import LOCALES
from softphone_assist.settings import checks as check
from softphone_assist.settings.checks import Device, Invalid, show
from softphone_assist.settings.toml_writer import dump_toml, write_atomically

APP = "softphone-assist"
ENV_CONFIG = "SOFTPHONE_ASSIST_CONFIG"
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
    keep_days: int = 30  # calls older than this are deleted when the app starts; 0: keep them all
    hash_numbers: bool = False  # store only a salted hash of the caller's number


@dataclass(frozen=True, slots=True)
class CoachSettings:
    """Coaching hints about the agent's own speaking (detect/coach.py), each on or off."""

    overtalk: bool = True  # talking over the customer
    agent_quiet: bool = True  # the microphone too far away
    agent_clipping: bool = True  # the microphone too loud
    speech_rate: bool = True  # speaking too fast

    def config(self) -> CoachConfig:
        """The coach's thresholds (config.CoachConfig defaults) with the kinds that are on."""
        return CoachConfig(kinds=frozenset(k for k in COACH_KINDS if getattr(self, k)))


@dataclass(frozen=True, slots=True)
class Settings:
    company: str = ""  # "" keeps the script file's company name
    title: str = ""  # how to address the caller ("先生/女士"); "" keeps the script's
    locale: str = LOCALES[0]
    autostart: bool = False  # the login entries (XDG autostart, Run key, LaunchAgent) run `run --if-autostart`
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    timing: TimingSettings = field(default_factory=TimingSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    hotkeys: HotkeySettings = field(default_factory=HotkeySettings)
    overlay: OverlaySettings = field(default_factory=OverlaySettings)
    log: LogSettings = field(default_factory=LogSettings)
    coach: CoachSettings = field(default_factory=CoachSettings)
    sources: tuple[str, ...] = ()  # the files that were read, lowest layer first
    locked: frozenset[str] = frozenset()  # dotted keys IT locked in the machine file's [policy]


_TABLES: dict[str, type] = {
    "devices": DeviceSettings, "detector": DetectorConfig, "timing": TimingSettings, "tts": TtsSettings,
    "hotkeys": HotkeySettings, "overlay": OverlaySettings, "log": LogSettings, "coach": CoachSettings,
}

# Every known key and the check its value must pass (the checks themselves: settings_checks).
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "company": check.name,
    "title": check.name,
    "locale": check.choice(LOCALES, check.locale_key),
    "autostart": check.boolean,
    **{f"devices.{f.name}": check.device for f in fields(DeviceSettings)},
    **{f"detector.{f.name}": check.detector_key(f.name) for f in fields(DetectorConfig)},
    **{f"timing.{f.name}": check.ranged(f"timing.{f.name}") for f in fields(TimingSettings)},
    "tts.mode": check.choice(TTS_MODES),
    "tts.voice": check.optional_text,
    "tts.rate": check.ranged_integer("tts.rate"),
    "tts.outputs": check.outputs(TTS_OUTPUTS),
    **{f"hotkeys.{a}": check.hotkey for a in HOTKEY_ACTIONS},
    "overlay.click_through": check.boolean,
    "overlay.x": check.ranged_integer("overlay.x"),
    "overlay.y": check.ranged_integer("overlay.y"),
    "overlay.opacity": check.ranged("overlay.opacity"),
    "overlay.calm_hide_after_s": lambda v: None if v in (None, 0) else check.ranged("overlay.calm_hide_after_s")(v),
    "log.enabled": check.boolean,
    "log.record_audio": check.record_audio,
    "log.keep_days": check.integer(0, 36500),
    "log.hash_numbers": check.boolean,
    **{f"coach.{f.name}": check.boolean for f in fields(CoachSettings)},
}


KEYS: tuple[str, ...] = tuple(_CHECKS)  # every setting, dotted, in the order `config` prints them
POLICY = "policy"  # the machine file's [policy] table


def _unknown(key: str, known: Sequence[str] = KEYS) -> str:
    hint = difflib.get_close_matches(key, list(known), n=1)
    return f"{key}: unknown setting" + (f" (did you mean {hint[0]}?)" if hint else "")


def check_value(key: str, raw: Any) -> Any:
    """The value to use for `key` (a dotted key of KEYS), or Invalid(why) without the key."""
    return _CHECKS[key](raw)


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
def read_toml(path: Path) -> dict[str, Any]:
    """Raises OSError, or ValueError with the reason (tomllib's message names line and column)."""
    text = path.read_bytes().decode("utf-8-sig")  # a BOM from Windows Notepad is fine
    return toml_safe.loads(text)  # too deep a nesting: TOMLDecodeError, never RecursionError


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


# --------------------------------------------------------------------------------------------
# IT's policy: [policy] locked = [...] in the machine file
# --------------------------------------------------------------------------------------------
def expand_locks(names: Sequence[str]) -> tuple[frozenset[str], list[str]]:
    """Dotted keys locked by `names` (a table name locks all its keys), and a problem per bad name."""
    locked: set[str] = set()
    bad: list[str] = []
    for name in names:
        if name in _CHECKS:
            locked.add(name)
        elif name in _TABLES:
            locked.update(k for k in _CHECKS if k.startswith(name + "."))
        else:
            bad.append(_unknown(name, [*_TABLES, *_CHECKS]).replace("unknown setting", "no such setting to lock"))
    return frozenset(locked), bad


def _policy(value: Any, where: str, problems: list[str]) -> frozenset[str]:
    if not isinstance(value, dict):
        problems.append(f"{where}: {POLICY}: must be a table ([{POLICY}]), got {show(value)}; nothing is locked")
        return frozenset()
    for key in value:
        if key != "locked":
            problems.append(f"{where}: {_unknown(f'{POLICY}.{key}', [f'{POLICY}.locked'])}, ignored")
    names = value.get("locked", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.append(f"{where}: {POLICY}.locked: expected a list of setting names such as "
                        f'["company", "tts.mode"], got {show(names)}; nothing is locked')
        return frozenset()
    locked, bad = expand_locks([n.strip() for n in names])
    problems.extend(f"{where}: {POLICY}.locked: {b}; ignored" for b in bad)
    return locked


def machine_policy(path: Path | None = None) -> frozenset[str]:
    """The keys the machine file (default: the platform's) locks; nothing if it cannot be read."""
    try:
        data = read_toml(path or machine_config_path())
    except (OSError, ValueError, UnicodeDecodeError):
        return frozenset()
    return _policy(data[POLICY], "", []) if POLICY in data else frozenset()


# --------------------------------------------------------------------------------------------
# Loading, with where each value came from
# --------------------------------------------------------------------------------------------
MACHINE, USER, ENV, DEFAULT, LOCKED = "machine", "user", "env", "default", "locked"


@dataclass(frozen=True, slots=True)
class Origin:
    layer: str  # default | machine | user | env | locked
    path: str | None = None  # the file the value is from; None for a default


@dataclass(frozen=True, slots=True)
class LayerFile:
    layer: str  # machine | user | env
    path: str
    status: str  # read | not found | unreadable | invalid


@dataclass(frozen=True)
class SettingsReport:
    settings: Settings
    problems: tuple[str, ...]  # what the app prints on start-up (file: key: problem; what is used)
    origins: Mapping[str, Origin]  # every key of KEYS
    files: tuple[LayerFile, ...]  # lowest first
    ignored: tuple[str, ...] = ()  # values in the user/env files that a lock overrode


def _layer_of(index: int) -> str:
    return (MACHINE, USER)[index] if index < 2 else ENV


def load_report(paths: Sequence[str | os.PathLike[str]] | None = None) -> SettingsReport:
    """Read the layers (default: `default_paths()`) and say where each value came from.

    `paths` are positional like `default_paths()`: the machine file, the user file, then extra
    files. Only the first may hold [policy]. Never raises for bad content.
    """
    env_extra = os.environ.get(ENV_CONFIG) if paths is None else None
    layer_paths = default_paths() if paths is None else [Path(p) for p in paths]
    problems: list[str] = []
    ignored: list[str] = []
    values: dict[str, Any] = {}
    origin: dict[str, Origin] = {}
    files: list[LayerFile] = []
    locked: frozenset[str] = frozenset()
    machine_path = str(layer_paths[0]) if layer_paths else ""
    for index, path in enumerate(layer_paths):
        layer = _layer_of(index)
        try:
            data = read_toml(path)
        except FileNotFoundError:
            if env_extra and path == Path(env_extra):
                problems.append(f"{path}: file not found (named by {ENV_CONFIG}); ignored")
            files.append(LayerFile(layer, str(path), "not found"))
            continue
        except OSError as e:
            problems.append(f"{path}: cannot be read ({e.strerror or e}); ignored")
            files.append(LayerFile(layer, str(path), "unreadable"))
            continue
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"{path}: not valid TOML ({e}); the whole file is ignored")
            files.append(LayerFile(layer, str(path), "invalid"))
            continue
        files.append(LayerFile(layer, str(path), "read"))
        if POLICY in data:
            policy = data.pop(POLICY)
            if layer == MACHINE:
                locked = _policy(policy, str(path), problems)
            else:
                problems.append(f"{path}: [{POLICY}] is read only from the machine file ({machine_path}), "
                                f"agents cannot lock or unlock settings; ignored")
        for key, raw in _flatten(data, str(path), problems).items():
            if key in locked and layer != MACHINE:
                ignored.append(f"{path}: {key}: locked by your IT department ({machine_path}); ignored")
                continue
            try:
                values[key] = _CHECKS[key](raw)
                origin[key] = Origin(layer, str(path))
            except Invalid as e:
                kept = values.get(key, _default(key))
                problems.append(f"{path}: {key}: {e}; keeping {show(kept)}")
    _resolve_hotkey_clashes(values, origin, problems, locked)
    sources = tuple(f.path for f in files if f.status == "read")
    settings = _build(values, problems, sources, locked)
    origins = {}
    for key in KEYS:
        found = origin.get(key, Origin(DEFAULT))
        origins[key] = Origin(LOCKED, found.path) if key in locked else found
    return SettingsReport(settings, tuple(problems), origins, tuple(files), tuple(ignored))


def load_settings(paths: Sequence[str | os.PathLike[str]] | None = None) -> tuple[Settings, list[str]]:
    """Read the layers (default: `default_paths()`: machine, user, extra), lowest first. Never raises."""
    report = load_report(paths)
    return report.settings, list(report.problems)


def _resolve_hotkey_clashes(values: dict[str, Any], origin: Mapping[str, Origin], problems: list[str],
                            locked: Collection[str]) -> None:
    """Two actions on one key: the later one falls back to its default, or off if that is taken.

    Locked hotkeys come first, so that IT's choice is never the one that gives way."""
    taken: dict[str, str] = {}
    for action in sorted(HOTKEY_ACTIONS, key=lambda a: f"hotkeys.{a}" not in locked):
        key = f"hotkeys.{action}"
        seq = values.get(key, _default(key))
        if seq and seq in taken:
            default = _default(key)
            fallback = default if default not in taken and default != seq else ""
            where = origin[key].path if key in origin else "defaults"
            problems.append(
                f"{where}: {key}: {seq} is already used by hotkeys.{taken[seq]}; "
                f"using {show(fallback) if fallback else 'nothing (disabled)'}"
            )
            values[key] = seq = fallback
        if seq:
            taken[seq] = action


def _build(values: Mapping[str, Any], problems: list[str], sources: tuple[str, ...],
           locked: frozenset[str]) -> Settings:
    tables: dict[str, Any] = {}
    for name, cls in _TABLES.items():
        kwargs = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(name + ".")}
        try:
            tables[name] = cls(**kwargs)
        except ConfigError as e:  # a rule across keys (none today, but DetectorConfig may grow one)
            problems.append(f"{name}: {e}; using the defaults of [{name}]")
            tables[name] = cls()
    top = {k: v for k, v in values.items() if "." not in k}
    return Settings(**top, **tables, sources=sources, locked=locked)


# --------------------------------------------------------------------------------------------
# Saving the user layer
# --------------------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def save_user_settings(changes: Mapping[str, Any], path: str | os.PathLike[str] | None = None, *,
                       locked: Collection[str] | None = None) -> Path:
    """Merge `changes` into the user file and write it atomically; returns its path.

    `changes` is nested ({"tts": {"mode": "auto"}}) or dotted ({"tts.mode": "auto"}); None
    removes a key (the layer below or the default applies again). Nothing is written unless
    every change is valid: SettingsError names the first bad one. Changes of `locked` keys are
    dropped, never written (default: the machine file's policy when `path` is the platform's
    user file; nothing for an explicit path), and the user file's own lines for them are kept.
    """
    target = Path(path) if path is not None else user_config_path()
    if locked is None:
        locked = machine_policy() if path is None else frozenset()
    flat: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, Mapping) and key in _TABLES:
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    for key in flat:
        if key not in _CHECKS:
            raise SettingsError(_unknown(key))
    flat = {k: v for k, v in flat.items() if k not in locked}
    if not flat:
        return target  # nothing left to write (a locked overlay position, say)
    checked: dict[str, Any] = {}
    for key, value in flat.items():
        try:
            checked[key] = None if value is None else _CHECKS[key](_plain(value))
        except Invalid as e:
            raise SettingsError(f"{key}: {e}") from None
    try:
        data = read_toml(target)
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
