"""The `softphone-assist` command: parses the options; commands.py runs the command they name."""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from softphone_assist import __version__
from softphone_assist.core.errors import UserError
from softphone_assist.extras import MissingExtraError, from_import_error

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _iso_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 time such as 2026-02-17T09:30:00") from None


def _positive_seconds(text: str) -> float:
    """A finite number of seconds above 0: nan, inf, 0 and negatives are usage errors."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds above 0") from None
    return value


def _existing_file(text: str) -> Path:
    return Path(text)  # existence is checked by the reader, which names the file in its error


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; `only="replay"` builds the replay command alone, which parses a replay
    command line exactly as the whole parser does (its sub-parser is the same) without importing the
    `config` and `audit` option modules (settings, TOML…): replay's start-up counts in its speed."""
    p = _Parser(prog="softphone-assist",
                description="Real-time call assistant: hears the call and shows (or speaks) the service "
                            "standard's scripted line at the standard's timing. Without a command it opens "
                            "the overlay on the configured devices.",
                epilog="Start with `softphone-assist demo`. Exit codes: 0 ok, 1 `call` found no running app, "
                       "2 bad input or option.")
    p.add_argument("--version", action="version", version=f"softphone-assist {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("replay", help="replay a recorded call (WAV/FLAC) and print its timeline",
                       description="Replay a recorded call through the live pipeline, deterministically. "
                                   "Mono = the caller. Stereo defaults to --channels agent,caller "
                                   "(left = agent, right = caller).")
    r.add_argument("file", type=_existing_file, help="WAV or FLAC recording")
    _add_replay_options(r)
    if only == "replay":
        return p

    d = sub.add_parser("demo", help="play the bundled demo call (real recorded speech) through the overlay",
                       description="Play the bundled ~90 s demo call through the live path and the overlay: "
                                   "a silent opening, a quiet caller, a noisy stretch, a normal exchange "
                                   "and the closing. Without a display it prints the call's timeline.")
    d.add_argument("--timeline", action="store_true", help="print the timeline even when there is a display")
    d.add_argument("--jsonl", action="store_true", help="print JSONL instead of the readable timeline")
    d.add_argument("--speed", type=float, default=1.0, help="playback speed in the overlay (default 1.0)")
    d.add_argument("--screenshot", type=Path, default=None, help=argparse.SUPPRESS)
    d.add_argument("--locale", default=None, help="script language: zh-CN (default), zh-TW, en")
    d.add_argument("--start-time", type=_iso_time, default=None,
                   help="wall-clock time of the call start, for the greeting (default: now)")

    li = sub.add_parser("listen", help="run the live pipeline without a window and print the timeline",
                        description="Listen to live audio without a window; prints the same JSONL as replay "
                                    "(t in stream seconds) plus a call_state line for every call-state change.")
    li.add_argument("--caller", default=None, metavar="DEV",
                    help="caller stream: device name/index, or a PulseAudio source such as caller_line.monitor")
    li.add_argument("--agent", default=None, metavar="DEV", help="the agent's microphone (optional)")
    li.add_argument("--jsonl", action="store_true", help="print JSONL (default: readable timeline)")
    li.add_argument("--seconds", type=_positive_seconds, default=None, metavar="S",
                    help="stop after S seconds of stream")
    li.add_argument("--locale", default=None, help="script language: zh-CN, zh-TW, en (default: settings)")
    li.add_argument("--speak", choices=("off", "on_request", "auto"), default=None,
                    help="TTS mode (default: settings)")
    li.add_argument("--speak-to", action="append", default=[], metavar="DEV",
                    help="play spoken prompts to DEV (a sink name on Linux); repeatable")
    li.add_argument("--no-ipc", action="store_true", help="do not listen for `softphone-assist call` commands")

    run = sub.add_parser("run", help="open the overlay on the configured devices (the default)")
    run.add_argument("--caller", default=None, metavar="DEV", help="override devices.caller")
    run.add_argument("--agent", default=None, metavar="DEV", help="override devices.agent")
    run.add_argument("--if-autostart", action="store_true",
                     help="exit at once, silently, unless the settings say autostart = true (for login entries)")

    sub.add_parser("devices", help="list audio inputs/outputs (and PulseAudio monitor sources)")

    from softphone_assist.settings.command import add_parser as add_config_parser

    add_config_parser(sub)

    from softphone_assist.audit.args import add_parsers as add_audit_parsers

    add_audit_parsers(sub)  # audit (QA of many recorded calls) and check (a replay vs its expectation)

    lg = sub.add_parser("log", help="print the call log (timelines of recent calls, no audio)")
    lg.add_argument("--last", type=int, default=10, metavar="N", help="the last N calls (default 10)")
    lg.add_argument("--json", action="store_true", help="print JSON")
    lg.add_argument("--purge", action="store_true",
                    help="delete logged calls (all of them, or with --before those that started before DATE)")
    lg.add_argument("--before", type=_iso_time, default=None, metavar="DATE",
                    help="with --purge: only calls that started before DATE (2026-02-17 or 2026-02-17T09:30)")

    sub.add_parser("call", help="tell the running app: call start|answered|hold|resume|closing|end [--number N]",
                   add_help=False)

    # a diagnostic for packagers and IT, not in --help (no help= keeps it out of the command list)
    tr = sub.add_parser("tts-render", description="Render one line through the TTS worker process into a WAV "
                                                  "file (nothing is played); prints what was made.")
    tr.add_argument("text", help="the line to speak")
    tr.add_argument("--out", type=Path, required=True, metavar="FILE.wav", help="where to write the clip")
    tr.add_argument("--locale", default="zh-CN", help="picks the voice: zh-CN (default), zh-TW, en")
    tr.add_argument("--rate", type=int, default=150, help="words per minute (default 150)")
    return p


def _add_replay_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--channels", default=None, metavar="MAP",
                   help="caller | agent,caller | caller,agent (default: caller for mono, agent,caller for "
                        "stereo; caller on a stereo file mixes its channels into the caller)")
    r.add_argument("--events", type=Path, default=None, metavar="CALL_EVENTS.jsonl",
                   help='call-state events, one JSON object per line: {"t": 12.5, "event": "hold"} '
                        "(default: call_start at 0, call_end at the end of the file)")
    r.add_argument("--locale", default="zh-CN",
                   help="script language: zh-CN (default), zh-TW, en; or your own script file (FILE.toml)")
    r.add_argument("--start-time", type=_iso_time, default=None,
                   help="wall-clock time of the call start, used only for the greeting (default: now)")
    r.add_argument("--jsonl", action="store_true", help="print one JSON object per line (the JSONL contract)")


def _utf8_output() -> None:
    """Print UTF-8 on every OS: the JSONL and timelines carry Chinese lines, and a redirected stdout
    on Windows would otherwise use the ANSI code page (cp1252 cannot encode 上午好: a crash)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8")


# batch commands over recordings: no GUI, no live audio, their CPU per audio hour is a figure
_BATCH = ("replay", "audit", "check")


def _tune_batch_process() -> None:
    """A replay (an audit, a check) is a batch process whose work is on one thread per process;
    two process settings cut CPU it spends on nothing (the outputs are the same either way):

    * OpenBLAS's thread pool (one spinning thread per core, started when numpy is imported) only burns
      CPU: importing numpy took ~150 ms of CPU with it on 2 cores, ~85 ms without; the replay's matrix
      products give the same values on one thread. Never over the user's own OPENBLAS_NUM_THREADS,
      and only before numpy is loaded; an audit's local workers inherit it.
    * glibc's malloc keeps the freed multi-MiB block arrays for the next block instead of faulting
      fresh pages in for each (audio/heap.py; ~28,000 page faults in a 10-minute stereo call, ~11,000
      with it).
    """
    import os

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from softphone_assist.audio.heap import keep_big_blocks

    keep_big_blocks()


def main(argv: Sequence[str] | None = None) -> int:
    as_program = argv is None  # the process is this command (the console script, python -m)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["call"]:  # a softphone hook: answer fast, import nothing heavy
        from softphone_assist.ipc import call_main

        return call_main(argv[1:])
    _utf8_output()
    replay = argv[:1] == ["replay"]
    if replay and as_program:
        # no cyclic garbage collection in a replay process: the collections run during its
        # imports (~50, ~8 ms of CPU) and free nothing, and the replay itself makes no cycles
        # (gc.collect() after a 60-minute replay finds 0 objects; tests/test_replay_speed_paths.py);
        # the process ends at once after it (_end_replay_process), so nothing is left to collect
        import gc

        gc.disable()
    if as_program and argv[:1] and argv[0] in _BATCH:
        _tune_batch_process()
    parser = build_parser("replay" if replay else None)
    args = parser.parse_args(argv or ["run"])
    try:
        from softphone_assist import commands

        code = commands.dispatch(args, parser)
    except MissingExtraError as e:
        sys.stderr.write(e.line() + "\n")
        return EXIT_USAGE
    except UserError as e:
        sys.stderr.write(f"softphone-assist: error: {e}\n")
        return EXIT_USAGE
    except ModuleNotFoundError as e:  # an app-extra module that `extras.require` did not name first
        missing = from_import_error(args.command or "run", e)
        if missing is None:
            raise
        sys.stderr.write(missing.line() + "\n")
        return EXIT_USAGE
    except BrokenPipeError:  # `softphone-assist replay x.wav | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    if replay and as_program:
        _end_replay_process(code)
    return code


def _end_replay_process(code: int) -> None:
    """End a finished replay process at once, once its output is flushed: tearing the interpreter
    down (freeing every module, array and cached object one by one) costs ~15 ms of CPU and does
    nothing for the replay, which has no file open for writing, no atexit work and no children.
    If the flush fails (the reader left), the normal exit reports it as before."""
    import os

    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # pythonw has none
                stream.flush()
    except (OSError, ValueError):  # BrokenPipeError, a closed stream
        return
    os._exit(code)
