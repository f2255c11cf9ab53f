"""The render worker's child process: it owns the engine and runs one job at a time.

Messages are pickled over a multiprocessing Pipe: RenderJob / VoicesJob in, Done / Failed out,
`None` to stop. See worker.py for the parent side and the process model.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from softphone_assist.speech.cache import RenderedClip, RenderSpec, read_clip, trim_silence, write_clip_atomic
from softphone_assist.speech.errors import TtsEngineStuck, TtsError
from softphone_assist.speech.voices import VoiceCatalog

MIN_SPEECH_S = 0.05  # a render with less than this above the silence floor is a failure


# --------------------------------------------------------------------------------------------
# Messages (pickled over the pipe)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RenderJob:
    job_id: int
    spec: RenderSpec
    out_path: str


@dataclass(frozen=True, slots=True)
class VoicesJob:
    job_id: int


@dataclass(frozen=True, slots=True)
class Done:
    job_id: int
    result: Any


@dataclass(frozen=True, slots=True)
class Failed:
    job_id: int
    message: str
    restart: bool = False  # the engine is stuck: the parent replaces this process


Job = RenderJob | VoicesJob


def _load_factory(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def _exit_when_parent_dies() -> None:
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel fires, i.e. the parent is gone
        os._exit(0)

    threading.Thread(target=watch, name="tts-parent-watch", daemon=True).start()


def _render(engine: Any, job: RenderJob) -> RenderedClip:
    out = Path(job.out_path)
    raw = out.with_name(f".{out.stem}.{os.getpid()}.raw.wav")
    produced = raw
    try:
        produced = Path(engine.render(job.spec, raw))
        x, rate = read_clip(produced)
    finally:
        for leftover in {raw, produced}:
            leftover.unlink(missing_ok=True)
    clip = trim_silence(x, rate)
    if clip.size < MIN_SPEECH_S * rate:
        raise TtsError(f"tts: voice {job.spec.voice_id!r} produced only silence for {job.spec.text[:40]!r}")
    write_clip_atomic(out, clip, rate)
    return RenderedClip(path=out, frames=int(clip.size), sample_rate=rate)


def worker_main(conn: Connection, engine_factory: str, driver: str | None) -> None:
    """Entry point of the child process."""
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_when_parent_dies()
    engine: Any = None
    init_error = ""
    try:
        engine = _load_factory(engine_factory)(driver)
    except Exception as e:  # reported with every job, so the app shows why nothing renders
        init_error = (str(e) if isinstance(e, TtsError)
                      else f"tts: engine start-up failed: {type(e).__name__}: {e}")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            if engine is None:
                raise TtsError(init_error)
            if isinstance(job, VoicesJob):
                result: Any = VoiceCatalog(engine.name, engine.version, tuple(engine.voices()))
            else:
                result = _render(engine, job)
            reply: Done | Failed = Done(job.job_id, result)
        except Exception as e:
            reply = Failed(job.job_id, str(e) if isinstance(e, TtsError) else f"{type(e).__name__}: {e}",
                            restart=isinstance(e, TtsEngineStuck))
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
        if isinstance(reply, Failed) and reply.restart:
            return  # the parent saw the flag and will join us
