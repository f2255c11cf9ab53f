"""The `audit` and `check` command lines (argparse only: imported whenever the CLI starts)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


def _seconds(text: str) -> float:
    """A finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds, 0 or more")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def add_parsers(sub: Any) -> None:
    """Add `audit` and `check` to the CLI's subparsers."""
    a = sub.add_parser(
        "audit", help="QA audit of recorded calls: which calls broke which rule of the service standard",
        description="Replay many recorded calls (WAV/FLAC) through the same pipeline as `replay`, check the "
                    "service standard's rules on each call's timeline and the agent's speech, and write "
                    "calls.jsonl, calls.csv and report.html. Stereo = agent,caller; mono = the caller only "
                    "(rules that need the agent are then not checked). A second run into the same --out "
                    "skips calls already audited.",
        epilog="Exit codes: 0 every file audited (violations are findings), 1 some files could not be read "
               "(their rows say why), 2 bad options.")
    a.add_argument("paths", nargs="+", metavar="PATH", help="files, folders (searched recursively) or globs")
    a.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where results go (default ./audit-<timestamp>/; an existing one is resumed)")
    a.add_argument("--events-dir", type=Path, default=None, metavar="DIR",
                   help="folder of <call>.events.jsonl files (hold, resume, closing, call_end), matched by name")
    a.add_argument("--jobs", type=_jobs, default=None, metavar="N", help="parallel calls here (default: all cores)")
    a.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on this Dask cluster, e.g. tcp://HOST:8786 (default: $DASK_SCHEDULER_ADDRESS, "
                        "else the local cores); workers read the files by path")
    a.add_argument("--locale", default="zh-CN",
                   help="script whose timings the rules use: zh-CN (default), zh-TW, en, or FILE.toml")
    a.add_argument("--channels", default=None, metavar="MAP", help="as in replay (default agent,caller for stereo)")
    a.add_argument("--tolerance", type=_seconds, default=1.0, metavar="S",
                   help="seconds given to the agent on the standard's waits (default 1)")
    a.add_argument("--jsonl", action="store_true", help="also print each call's row on stdout as it finishes")

    c = sub.add_parser(
        "check", help="compare a replay of CALL.wav with a kept expectation (for tests of recorded fixtures)",
        description="Replay CALL.wav and compare its prompts, protocol ends and may-hang-up moments with "
                    "CALL.expect.json; exit 1 with a readable diff when they differ. --write-expect creates "
                    "(or replaces) the expectation from today's replay.",
        epilog="Exit codes: 0 as expected (or written), 1 different, 2 bad input.")
    c.add_argument("file", type=Path, metavar="CALL.wav")
    c.add_argument("--expect", type=Path, default=None, metavar="FILE",
                   help="the expectation (default: CALL.expect.json beside the call)")
    c.add_argument("--tol", type=_seconds, default=0.05, metavar="S", help="time tolerance in seconds (default 0.05)")
    c.add_argument("--write-expect", action="store_true", help="write the expectation from this replay")
    c.add_argument("--events", type=Path, default=None, metavar="CALL_EVENTS.jsonl",
                   help="call-state events, as in replay (default: CALL.events.jsonl beside the call if present)")
    c.add_argument("--channels", default=None, metavar="MAP", help="as in replay")
    c.add_argument("--locale", default="zh-CN", help="as in replay (default zh-CN)")
