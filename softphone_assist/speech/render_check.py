"""`softphone-assist tts-render` (hidden): render one line through the real worker process to a WAV.

A diagnostic for packagers and IT: it proves that the installed app can start its TTS worker
process (in a frozen bundle that child is the bundle's own executable), that the engine loads
(espeak-ng through libespeak-ng.so.1 on Linux, SAPI5 on Windows, NSSpeechSynthesizer on macOS)
and that it speaks the script's language. Nothing is played: no audio device is needed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from softphone_assist.speech.cache import RenderSpec
from softphone_assist.speech.render import LineRenderer

TIMEOUT_S = 60.0  # the first job includes spawning the worker and starting the engine


def worker_executable(pid: int | None) -> str | None:
    """The program the worker child runs (Linux /proc only): the bundle's executable when frozen."""
    if pid is None or not sys.platform.startswith("linux"):
        return None
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def render_line(text: str, locale: str, out: Path, rate: int) -> str:
    """Render `text` with the best voice for `locale` into `out`; returns the one-line report."""
    with tempfile.TemporaryDirectory(prefix="softphone-assist-tts-") as cache:
        renderer = LineRenderer(cache)
        renderer.start()
        try:
            catalog = renderer.list_voices(TIMEOUT_S)
            voice = renderer.pick_voice(locale, TIMEOUT_S)
            clip = renderer.render_blocking(RenderSpec(text, voice.id, rate), TIMEOUT_S)
            exe = worker_executable(renderer.worker.pid)  # the child that rendered it still runs
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clip.path, out)
        finally:
            renderer.close()
    worker = f", worker {exe}" if exe else ""
    return (f"{out}: {clip.seconds:.2f} s at {clip.sample_rate} Hz, voice {voice.id}, "
            f"engine {catalog.engine}{worker}")
