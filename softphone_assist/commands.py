"""The commands of `softphone-assist` that cli.py parsed: replay, run (the overlay), demo, listen, devices, log…"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from softphone_assist.core.errors import UserError
from softphone_assist.extras import require

if TYPE_CHECKING:
    from softphone_assist.settings.layers import Settings


def _settings_and_problems() -> tuple[Settings, list[str]]:
    """The layered settings; each problem (file, key, what was kept) is also printed on stderr."""
    from softphone_assist.settings.layers import load_settings

    settings, problems = load_settings()
    for p in problems:
        sys.stderr.write(f"softphone-assist: settings: {p}\n")
    return settings, problems


def _settings() -> Settings:
    return _settings_and_problems()[0]


def dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "replay":  # logs nothing: its start-up (a scorer pays it per file) skips logging
        return run_replay(args.file, channels=args.channels, events=args.events, locale=args.locale,
                          start_time=args.start_time, jsonl=args.jsonl, out=sys.stdout, err=sys.stderr)
    import logging

    logging.basicConfig(level=logging.WARNING, format="softphone-assist: %(message)s")
    if args.command == "devices":
        require("devices")
        from softphone_assist.audio.backends import list_devices
        from softphone_assist.audio.devices import format_devices

        sys.stdout.write(format_devices(list_devices()) + "\n")
        return 0
    if args.command == "log":
        from softphone_assist.calllog import print_log, purge_log

        if args.before is not None and not args.purge:
            raise UserError("--before: only with --purge (log --purge --before DATE)")
        if args.purge:
            return purge_log(args.before)
        return print_log(args.last, args.json)
    if args.command == "demo":
        return demo(args)
    if args.command == "listen":
        return listen(args)
    if args.command == "run":
        return run(args)
    if args.command == "audit":
        from softphone_assist.audit.command import audit_main

        return audit_main(args)
    if args.command == "check":
        from softphone_assist.audit.expect import check_main

        return check_main(args)
    if args.command == "config":
        from softphone_assist.settings.command import config_main

        return config_main(args)
    if args.command == "tts-render":
        require("tts-render", ("pyttsx3",))
        from softphone_assist.speech.render_check import render_line

        sys.stdout.write(render_line(args.text, args.locale, args.out, args.rate) + "\n")
        return 0
    parser.print_help()
    return 0


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
    from softphone_assist.core.script.locale_option import check_locale
    from softphone_assist.core.timeline import to_jsonl, to_text
    from softphone_assist.replay import ReplayRun

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


def demo(args: argparse.Namespace) -> int:
    from softphone_assist.live.compose import demo_paths, has_display

    wav, events = demo_paths()
    settings = _settings()
    locale = args.locale or settings.locale
    if args.jsonl or args.timeline or not has_display():
        if not (args.jsonl or args.timeline):
            sys.stderr.write("softphone-assist: no display here (DISPLAY is not set): printing the demo call's "
                             "timeline instead of showing the overlay\n")
        return run_replay(wav, channels=None, events=events, locale=locale, start_time=args.start_time,
                          jsonl=args.jsonl, out=sys.stdout, err=sys.stderr)
    require("demo")
    return _demo_overlay(args, settings, locale, wav, events)


def _demo_overlay(args: argparse.Namespace, settings: Settings, locale: str, wav: Path, events: Path) -> int:
    from softphone_assist.audio.paced import PacedFileSource
    from softphone_assist.core.callevents import load_call_events
    from softphone_assist.core.script.locale_option import check_locale
    from softphone_assist.live.compose import LiveOptions, build_session
    from softphone_assist.ui.app import run_app

    check_locale(locale)
    source = PacedFileSource(wav, speed=args.speed)
    with ExitStack() as stack:
        # the demo is a recording: its events file drives the call state; no hooks, no log, no TTS
        opts = LiveOptions(locale=locale, speak="off", ipc=False, autocall=False, log_calls=False,
                           started_at=args.start_time)
        session = build_session(settings, opts, stack, audio=source, rate=source.rate,
                                has_agent=source.info.has_agent)
        session.pipeline.schedule(load_call_events(events, source.duration_s).events)
        return run_app(session, settings, done=lambda: source.finished, screenshot=args.screenshot)


def listen(args: argparse.Namespace) -> int:
    from softphone_assist.core.script.locale_option import check_locale
    from softphone_assist.core.timeline import to_jsonl, to_text
    from softphone_assist.live.compose import LiveOptions, build_session, run_listen

    require("listen", ("sounddevice", "pyttsx3") if args.speak in ("on_request", "auto") else None)
    settings = _settings()
    if args.locale:
        check_locale(args.locale)
    if args.seconds is not None and args.seconds <= 0:
        raise UserError(f"--seconds: {args.seconds} must be positive")
    opts = LiveOptions(caller=args.caller, agent=args.agent, locale=args.locale, speak=args.speak,
                       speak_to=tuple(args.speak_to), ipc=not args.no_ipc)
    fmt = to_jsonl if args.jsonl else to_text

    def write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()  # a test or a pipe reads lines as they happen

    with ExitStack() as stack:
        session = build_session(settings, opts, stack)
        sys.stderr.write(f"softphone-assist: listening since {datetime.now().isoformat(timespec='seconds')}"
                         f"{'' if args.seconds is None else f' for {args.seconds:g} s'}\n")
        return run_listen(session, seconds=args.seconds, write=write, fmt=fmt)


def run(args: argparse.Namespace) -> int:
    if args.if_autostart:
        from softphone_assist.settings.layers import load_settings

        if not load_settings()[0].autostart:
            return 0  # the login entry runs this on every seat; IT turns it on with autostart = true
    require("run")  # before the imports below, which need PySide6
    from softphone_assist.live.compose import LiveOptions, build_session, has_display
    from softphone_assist.ui.app import run_app

    if not has_display():
        raise UserError("no display here (DISPLAY is not set): the overlay needs a desktop; "
                        "use `softphone-assist listen --caller DEV --jsonl` on a server, "
                        "or `softphone-assist demo` to see the timeline of the demo call")
    settings, problems = _settings_and_problems()
    with ExitStack() as stack:
        session = build_session(settings, LiveOptions(caller=args.caller, agent=args.agent), stack)
        return run_app(session, settings, notes=[f"settings: {p}" for p in problems])
