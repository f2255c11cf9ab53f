"""`softphone-assist config`: what a seat really uses and why, and writing IT's machine file.

`config` prints every setting with the layer it came from (default / machine / user / env /
locked), the files of each layer and every problem, so IT can debug a seat over the phone;
`--json` for scripts. `config --init-machine` writes (or updates) the machine file from options,
checked by the same code that reads it: the MSI's custom action and config management call it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from softphone_assist import __version__
from softphone_assist.core.errors import UserError
from softphone_assist.settings import layers as st
from softphone_assist.settings.checks import Invalid
from softphone_assist.settings.toml_writer import dump_toml, toml_value, write_atomically

MACHINE_FILE_MODE = 0o644  # readable by every agent's app, writable by root only
_HEADER = ("# softphone-assist machine settings, written by `softphone-assist config --init-machine`.\n"
           "# Reference: docs/it-rollout.md. Keys listed in [policy] locked cannot be changed by agents.\n")
# --init-machine options that set a key: option -> dotted key
INIT_OPTIONS: dict[str, str] = {"--company": "company", "--locale": "locale", "--tts-mode": "tts.mode"}
_ON = {"on", "true", "yes", "1"}
_OFF = {"off", "false", "no", "0"}


def add_parser(sub: Any) -> None:
    """The `config` sub-command's options (cli.py calls this)."""
    c = sub.add_parser(
        "config", help="print the effective settings and where each comes from; write the machine file",
        description="Print every setting, the layer it came from (default, machine, user, env, locked) "
                    "and the files and problems found. With --init-machine, write the machine-wide "
                    "settings file instead (an empty value, as an unset MSI property gives, leaves a "
                    "key as it is).")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument("--machine-file", type=Path, default=None, metavar="P",
                   help="read P as the machine file (to try a file before rolling it out)")
    c.add_argument("--check", action="store_true",
                   help="only check the machine file: print its problems on stderr, exit 2 if there are any")
    c.add_argument("--init-machine", action="store_true",
                   help="write (or update) the machine settings file from the options below")
    c.add_argument("--company", default=None, metavar="NAME", help="company name filled into the lines")
    c.add_argument("--locale", default=None, metavar="L", help=f"script language: {', '.join(st.LOCALES)}")
    c.add_argument("--tts-mode", default=None, metavar="M", help=f"speaking: {', '.join(st.TTS_MODES)}")
    c.add_argument("--autostart", default=None, metavar="on|off", help="start the overlay at login")
    c.add_argument("--lock", action="append", default=[], metavar="KEY",
                   help="lock KEY (company, tts.mode, or a table such as tts) for agents; repeatable, "
                        "or comma-separated")
    c.add_argument("--path", type=Path, default=None, metavar="P",
                   help=f"the file to write (default: {st.machine_config_path()})")


def config_main(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    init_only = [o for o in (*INIT_OPTIONS, "--autostart", "--path")
                 if getattr(args, o[2:].replace("-", "_")) is not None] + (["--lock"] if args.lock else [])
    if args.init_machine:
        path = init_machine(company=args.company, locale=args.locale, tts_mode=args.tts_mode,
                            autostart=args.autostart, lock=args.lock, path=args.path, err=err)
        out.write(f"{path}\n")
        return 0
    if init_only:
        raise UserError(f"{init_only[0]}: only used with --init-machine")
    machine = args.machine_file if args.machine_file is not None else st.machine_config_path()
    if args.check:
        problems = st.load_report([machine]).problems
        for p in problems:
            err.write(f"softphone-assist: settings: {p}\n")
        return 2 if problems else 0
    report = st.load_report([machine, *st.default_paths()[1:]])
    if args.json:
        out.write(json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(format_report(report))
    return 0


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------
def _file_rows(report: st.SettingsReport) -> list[tuple[str, str, str]]:
    rows = [(f.layer, f.path, f.status) for f in report.files]
    if not any(f.layer == st.ENV for f in report.files):
        rows.append((st.ENV, f"(${st.ENV_CONFIG} is not set)", ""))
    return rows


# What "not set" means for a key, said the way IT asks about it.
_UNSET = {"devices": "(system default)", "timing": "(the script's value)", "tts.voice": "(system default)",
          "tts.rate": "(engine default)", "overlay.x": "(app places it)", "overlay.y": "(app places it)",
          "overlay.calm_hide_after_s": "(never hides)"}


def _value_text(key: str, v: Any) -> str:
    if v is None:
        return _UNSET.get(key) or _UNSET.get(key.split(".")[0], "(not set)")
    return toml_value(list(v) if isinstance(v, tuple) else v)


def _layer_text(origin: st.Origin) -> str:
    if origin.layer == st.LOCKED and origin.path is None:
        return "locked (default)"  # locked, but the machine file does not set it
    return origin.layer


def effective_values(settings: st.Settings) -> dict[str, Any]:
    """Dotted key -> effective value, for every key of `st.KEYS`."""
    out: dict[str, Any] = {}
    for key in st.KEYS:
        section, _, name = key.rpartition(".")
        out[key] = getattr(getattr(settings, section) if section else settings, name)
    return out


def _columns(text: str) -> int:
    """Terminal columns: a CJK character takes two (so the table stays aligned over the phone)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _columns(text))


def format_report(report: st.SettingsReport) -> str:
    lines = [f"softphone-assist {__version__}: effective settings", "", "files, lowest layer first:"]
    lines += [f"  {layer:<8} {path}" + (f"  ({status})" if status else "") for layer, path, status in
              _file_rows(report)]
    locked = sorted(report.settings.locked)
    lines += ["", f"locked by IT ([policy] of the machine file): {', '.join(locked) if locked else 'nothing'}", ""]
    values = effective_values(report.settings)
    width = max(len(k) for k in values)
    value_width = min(32, max(_columns(_value_text(k, v)) for k, v in values.items()))
    lines.append(f"  {'key':<{width}}  {'value':<{value_width}}  layer")
    for key, value in values.items():
        shown = _pad(_value_text(key, value), value_width)
        lines.append(f"  {key:<{width}}  {shown}  {_layer_text(report.origins[key])}")
    lines += ["", "problems:" if report.problems else "problems: none"]
    lines += [f"  {p}" for p in report.problems]
    if report.ignored:
        lines += ["", "ignored because IT locked them:"]
        lines += [f"  {p}" for p in report.ignored]
    return "\n".join(lines) + "\n"


def report_json(report: st.SettingsReport) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return {
        "version": __version__,
        "files": [{"layer": f.layer, "path": f.path, "status": f.status} for f in report.files],
        "env": os.environ.get(st.ENV_CONFIG),
        "locked": sorted(report.settings.locked),
        "settings": {key: {"value": plain(value), "layer": report.origins[key].layer,
                           "path": report.origins[key].path}
                     for key, value in effective_values(report.settings).items()},
        "problems": list(report.problems),
        "ignored": list(report.ignored),
    }


# --------------------------------------------------------------------------------------------
# Writing the machine file
# --------------------------------------------------------------------------------------------
def _given(value: str | None) -> str | None:
    """An option's value, or None when absent or empty (an MSI property that was not set)."""
    return value.strip() if value is not None and value.strip() else None


def _on_off(value: str) -> bool:
    word = value.strip().lower()
    if word in _ON | _OFF:
        return word in _ON
    raise UserError(f"--autostart: {value!r} is not one of on, off")


def _locks(options: Sequence[str]) -> list[str]:
    names = [n.strip() for opt in options for n in opt.split(",") if n.strip()]
    _, bad = st.expand_locks(names)
    if bad:
        raise UserError(f"--lock: {bad[0]}")
    return names


def init_machine(*, company: str | None = None, locale: str | None = None, tts_mode: str | None = None,
                 autostart: str | None = None, lock: Sequence[str] = (), path: Path | None = None,
                 err: TextIO = sys.stderr) -> Path:
    """Write the machine file: the given keys set, the file's other keys kept; returns its path.

    Every option is checked with the settings' own checks before anything is written; a bad one is
    a UserError naming the option. Problems already in the file are warned about on `err`.
    """
    target = path if path is not None else st.machine_config_path()
    changes: dict[str, Any] = {}
    for option, key, value in (("--company", "company", company), ("--locale", "locale", locale),
                               ("--tts-mode", "tts.mode", tts_mode)):
        if (given := _given(value)) is not None:
            try:
                changes[key] = st.check_value(key, given)
            except Invalid as e:
                raise UserError(f"{option}: {e}") from None
    if (given := _given(autostart)) is not None:
        changes["autostart"] = _on_off(given)
    new_locks = _locks(lock)

    try:
        data = st.read_toml(target)
    except FileNotFoundError:
        data = {}
    except OSError as e:
        raise UserError(f"{target}: cannot be read ({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{target}: cannot update it ({e}); fix or delete the file first") from None
    for key, value in changes.items():
        section, _, name = key.rpartition(".")
        table = data.setdefault(section, {}) if section else data
        if not isinstance(table, dict):
            table = data[section] = {}
        table[name] = value
    if new_locks:
        policy = data.get(st.POLICY)
        policy = data[st.POLICY] = policy if isinstance(policy, dict) else {}
        old = policy.get("locked")
        old_names = [n for n in old if isinstance(n, str)] if isinstance(old, list) else []
        policy["locked"] = [*old_names, *(n for n in new_locks if n not in old_names)]
    text = _HEADER + "\n" + dump_toml(data)
    for problem in _problems_of(text, target):
        err.write(f"softphone-assist: warning: {problem}\n")
    try:
        write_atomically(target, text, mode=MACHINE_FILE_MODE)
    except OSError as e:
        raise UserError(f"cannot write {target}: {e.strerror or e} (the machine file needs administrator "
                        f"rights, or pass --path)") from None
    return target


def _problems_of(text: str, target: Path) -> list[str]:
    """What `load_report` will say about `text` as the machine file (read back by the same code)."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "config.toml"
        probe.write_text(text, encoding="utf-8")
        report = st.load_report([probe])
    return [p.replace(str(probe), str(target)) for p in report.problems]
