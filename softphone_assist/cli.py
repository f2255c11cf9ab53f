"""The `softphone-assist` command: the composition root that parses options and picks the mode."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from softphone_assist import __version__
from softphone_assist.errors import UserError

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


def _existing_file(text: str) -> Path:
    return Path(text)  # existence is checked by the reader, which names the file in its error


def build_parser() -> argparse.ArgumentParser:
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
    li.add_argument("--seconds", type=float, default=None, metavar="S", help="stop after S seconds of stream")
    li.add_argument("--locale", default=None, help="script language: zh-CN, zh-TW, en (default: settings)")
    li.add_argument("--speak", choices=("off", "on_request", "auto"), default=None,
                    help="TTS mode (default: settings)")
    li.add_argument("--speak-to", action="append", default=[], metavar="DEV",
                    help="play spoken prompts to DEV (a sink name on Linux); repeatable")
    li.add_argument("--no-ipc", action="store_true", help="do not listen for `softphone-assist call` commands")

    run = sub.add_parser("run", help="open the overlay on the configured devices (the default)")
    run.add_argument("--caller", default=None, metavar="DEV", help="override devices.caller")
    run.add_argument("--agent", default=None, metavar="DEV", help="override devices.agent")

    sub.add_parser("devices", help="list audio inputs/outputs (and PulseAudio monitor sources)")

    lg = sub.add_parser("log", help="print the call log (timelines of recent calls, no audio)")
    lg.add_argument("--last", type=int, default=10, metavar="N", help="the last N calls (default 10)")
    lg.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser("call", help="tell the running app: call start|answered|hold|resume|closing|end [--number N]",
                   add_help=False)
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


def check_locale(locale: str) -> None:
    """A shipped locale, or a call centre's own script file (FILE.toml), which is validated here."""
    from softphone_assist.script.loader import available_locales, load_script

    if locale.endswith(".toml"):
        load_script(locale)  # a broken file: ScriptError naming the file, line, key and problem
        return
    known = available_locales()
    if locale not in known:
        raise UserError(f"--locale: unknown locale {locale!r} (available: {', '.join(known)}, "
                        f"or a script file such as my-centre.toml)")


def _progress_printer(stream: TextIO) -> Callable[[float, float], None] | None:
    """Progress on stderr for long recordings, only when a person is watching the terminal."""
    if not stream.isatty():
        return None
    last = [-1]

    def show(done: float, total: float) -> None:
        if total < 120:
            return
        pct = int(100 * min(done, total) / total)
        if pct != last[0]:
            last[0] = pct
            stream.write(f"\rreplaying… {pct:3d}% ({done:.0f} of {total:.0f} s)")
            stream.flush()
            if pct == 100:
                stream.write("\r" + " " * 50 + "\r")

    return show


def run_replay(path: Path, *, channels: str | None, events: Path | None, locale: str,
               start_time: datetime | None, jsonl: bool, out: TextIO, err: TextIO) -> int:
    from softphone_assist.replay import ReplayRun
    from softphone_assist.timeline import to_jsonl, to_text

    check_locale(locale)
    run = ReplayRun(path=path, channels=channels, events_path=events, locale=locale,
                    start_time=start_time or datetime.now())
    fmt = to_jsonl if jsonl else to_text
    header_done = False
    for update in run.updates(progress=_progress_printer(err)):
        if not jsonl and not header_done and run.info is not None:
            i = run.info
            out.write(f"# {i.path.name}: {i.duration_s:.1f} s, {i.source_rate} Hz, {i.channels} ch "
                      f"({','.join(i.channel_map)}), locale {locale}, "
                      f"call start {run.start_time.isoformat(timespec='minutes')}\n")
            header_done = True
        line = fmt(update)
        if line is not None:
            out.write(line + "\n")
    for w in run.warnings:
        err.write(f"softphone-assist: warning: {w}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["call"]:  # a softphone hook: answer fast, import nothing heavy
        from softphone_assist.ipc import call_main

        return call_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv or ["run"])
    try:
        if args.command == "replay":
            return run_replay(args.file, channels=args.channels, events=args.events, locale=args.locale,
                              start_time=args.start_time, jsonl=args.jsonl, out=sys.stdout, err=sys.stderr)
        from softphone_assist import commands

        return commands.dispatch(args, parser)
    except UserError as e:
        sys.stderr.write(f"softphone-assist: error: {e}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # `softphone-assist replay x.wav | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
