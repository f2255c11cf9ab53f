"""Composition of the live modes (overlay app, headless `listen`, live demo) from settings + options."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.autocall import AutoCallDetector
from softphone_assist.core.errors import UserError
from softphone_assist.core.events import Update
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.engine import EngineOptions
from softphone_assist.core.script.loader import load_script
from softphone_assist.core.script.model import Script
from softphone_assist.live.session import AudioSource, CommandSource, LiveSession
from softphone_assist.settings.layers import Settings

if TYPE_CHECKING:
    from softphone_assist.speech import Speaker

log = logging.getLogger("softphone_assist.live.compose")
LIVE_RATE = 16000


@dataclass(frozen=True)
class LiveOptions:
    caller: str | int | None = None
    agent: str | int | None = None
    locale: str | None = None
    speak: str | None = None  # off | on_request | auto; None: settings
    speak_to: Sequence[str] = ()  # output devices; empty: the settings' outputs
    ipc: bool = True
    autocall: bool = True
    log_calls: bool = True
    started_at: datetime | None = None  # wall clock of stream t=0 (greeting); None: now


def script_for(settings: Settings, locale: str | None = None) -> Script:
    """The locale's script with the installation's company, form of address and timing overrides."""
    timing = {k: v for k, v in asdict(settings.timing).items() if v is not None}
    return load_script(locale or settings.locale).with_overrides(
        company=settings.company or None, title=settings.title or None, timing=timing or None)


def _speaker(settings: Settings, script: Script, outputs: Sequence[str], stack: ExitStack) -> Speaker:
    import platformdirs

    from softphone_assist.audio.playback import resolve_output
    from softphone_assist.speech import LineRenderer, Speaker

    targets = [resolve_output(o, option="--speak-to" if o in outputs else "tts.outputs") for o in outputs]
    renderer = LineRenderer(platformdirs.user_cache_path("softphone-assist") / "tts")
    renderer.start()
    stack.callback(renderer.close)
    voice = renderer.pick_voice(script.locale) if settings.tts.voice is None else \
        next((v for v in renderer.list_voices().voices if settings.tts.voice in (v.id, v.name)), None)
    if voice is None:
        raise UserError(f"tts.voice {settings.tts.voice!r}: no such voice")
    speaker = Speaker(renderer, targets, voice.id, rate=settings.tts.rate or 150)
    stack.callback(speaker.close)
    now = datetime.now()
    speaker.prerender(script.fill(step.text, now) for ladder in script.ladders.values() for step in ladder.steps)
    return speaker


def _tts_outputs(settings: Settings, opts: LiveOptions) -> list[str]:
    if opts.speak_to:
        return list(opts.speak_to)
    out: list[str] = []
    for role in settings.tts.outputs:
        dev = getattr(settings.devices, role)
        if dev is not None:
            out.append(str(dev))
    return out or ["default"]


def build_session(settings: Settings, opts: LiveOptions, stack: ExitStack,
                  audio: AudioSource | None = None, *, rate: int = LIVE_RATE,
                  has_agent: bool | None = None) -> LiveSession:
    """Everything a live session needs; resources are closed by `stack`. Raises UserError."""
    script = script_for(settings, opts.locale)
    if audio is None:
        from softphone_assist.audio.capture import LiveCapture

        caller = opts.caller if opts.caller is not None else settings.devices.caller
        agent = opts.agent if opts.agent is not None else settings.devices.agent
        if caller is None:
            raise UserError("no caller device: pass --caller DEVICE or set devices.caller in the config "
                            "(softphone-assist devices lists them)")
        capture = LiveCapture(caller, agent, rate=rate)
        capture.start()
        stack.callback(capture.close)
        audio, has_agent = capture, agent is not None
    mode = opts.speak or settings.tts.mode
    speaker, notes = None, []
    if mode != "off":
        try:
            speaker = _speaker(settings, script, _tts_outputs(settings, opts), stack)
        except UserError as e:
            if opts.speak:  # asked for on the command line: say why and stop
                raise
            # from the settings: the overlay still helps without a voice; say why it is silent
            notes.append(f"TTS is off: {e}")
            log.warning("TTS is off: %s", e)
            mode = "off"
    pipeline = Pipeline(rate, script, WebRtcVad, has_agent=bool(has_agent),
                        call_started_at=opts.started_at or datetime.now(), detector=settings.detector,
                        engine_options=EngineOptions(tts_speaks=mode == "auto"), meters=True,
                        coach=settings.coach.config())
    commands: CommandSource | None = None
    if opts.ipc:
        from softphone_assist.ipc import IpcServer

        server = IpcServer()
        stack.callback(server.close)
        commands = server
    calllog = None
    if opts.log_calls and settings.log.enabled:
        from softphone_assist.calllog import CallLog, LiveCallLog, NumberFromHooks

        # never raises: a locked or damaged log is reported and retried, assistance goes on; at
        # start it closes the calls that dead instances left open and drops calls past keep_days
        hashed = settings.log.hash_numbers
        calllog = LiveCallLog(lambda: CallLog(hash_numbers=hashed, busy_timeout_ms=100),
                              keep_days=settings.log.keep_days or None)
        stack.callback(calllog.close)
        if commands is not None:
            commands = NumberFromHooks(commands, calllog)
    return LiveSession(pipeline=pipeline, audio=audio, commands=commands, speaker=speaker,
                       speak_auto=mode == "auto", calllog=calllog,
                       autocall=AutoCallDetector(rate) if opts.autocall else None, notes=notes)


def has_display() -> bool:
    import os
    import sys

    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run_listen(session: LiveSession, *, seconds: float | None, write: Callable[[str], None],
               fmt: Callable[[Update], str | None], sleep_s: float = 0.2) -> int:
    """Pump the session without a window until `seconds` of stream time, Ctrl-C or SIGTERM.

    One pump per `sleep_s` at most (`LiveSession.idle`: sooner for a prompt's deadline or a hook).
    Wake-ups are most of what the loop costs: 0.1 s -> 0.2 s took the whole process tree from
    0.97-1.0 % to 0.63-0.70 % of a core (bench/bench_live_cpu.py, 0.6 s chunks)."""
    import signal

    stop: list[int] = []  # a signal only sets this: the loop ends between two pumps, cleanly

    def on_signal(signum: int, _frame: object) -> None:
        stop.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    last_problems: list[str] = []
    try:
        while not stop and (seconds is None or session.pipeline.t < seconds):
            for u in session.pump():
                if seconds is not None and u.t > seconds:
                    continue
                line = fmt(u)
                if line is not None:
                    write(line)
            if session.problems != last_problems:
                for p in session.problems:
                    log.warning("%s", p)
                last_problems = list(session.problems)
            session.idle(sleep_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def demo_paths() -> tuple[Path, Path]:
    from softphone_assist.core.resources import resources_dir

    res = resources_dir()
    return res / "demo" / "demo_call.wav", res / "demo" / "demo_call.events.jsonl"
