"""The render worker: the parent-side handle to one child process that owns pyttsx3.

Thread/process model:
  * The child (worker_child.py) runs jobs one at a time: render a line to the cache, list voices.
  * The parent (`RenderWorker`) never blocks: `submit_*` queue a job and return a Future;
    `pump()` (called from the GUI timer, or by `wait()` for CLI/tests) sends the next job,
    collects replies and resolves Futures on the caller's thread. No parent-side thread.
  * One job is in flight at a time, so a hang or crash is pinned to one job: that job fails with
    TtsWorkerError, the child is killed and reaped (no zombies), and the next job starts a new one.
  * The child exits by itself when the parent goes away (pipe EOF, or a watchdog on the parent's
    sentinel while a render is running), so a killed app leaves no orphan behind.
  * An engine that reports itself stuck (TtsEngineStuck) is replaced the same way after its
    error is delivered; an engine that cannot start at all answers every job with the reason
    (no restart loop).
The "spawn" start method is used everywhere: forking a process that runs Qt and PortAudio
threads is unsafe, and spawn behaves the same on Linux, Windows and macOS. Spawn re-imports the
main module in the child, so a script that starts the worker needs `if __name__ == "__main__":`
(python -m softphone_assist and console-script entry points are fine); a frozen Windows build
needs multiprocessing.freeze_support() first thing in main().
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_any
from pathlib import Path
from typing import Any, TypeVar

from softphone_assist.speech.cache import RenderedClip, RenderSpec
from softphone_assist.speech.errors import TtsError, TtsWorkerError
from softphone_assist.speech.voices import VoiceCatalog
from softphone_assist.speech.worker_child import Done, Failed, Job, RenderJob, VoicesJob, worker_main

T = TypeVar("T")

DEFAULT_ENGINE = "softphone_assist.speech.engine:Pyttsx3Engine"
JOB_TIMEOUT_S = 30.0  # a line takes ~15 ms with espeak-ng, ~1 s with SAPI; this means "hung"
START_TIMEOUT_S = 30.0  # extra allowance for the first job: spawn, imports, engine start-up


def default_driver() -> str:
    """pyttsx3's default driver for this OS, known without importing pyttsx3 in the GUI process."""
    return {"win32": "sapi5", "darwin": "nsss"}.get(sys.platform, "espeak")


@dataclass(slots=True)
class _InFlight:
    job: Job
    future: Future[Any]
    deadline: float


class RenderWorker:
    """Parent-side handle: queue jobs, pump replies, restart the child when it fails."""

    def __init__(self, engine_factory: str = DEFAULT_ENGINE, driver: str | None = None, *,
                 job_timeout_s: float = JOB_TIMEOUT_S, start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.engine_factory = engine_factory
        self.driver = driver or default_driver()
        self.job_timeout_s = job_timeout_s
        self.start_timeout_s = start_timeout_s
        self.restarts = 0  # children killed or found dead and replaced
        self.jobs_done = 0
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._fresh = False  # the running child has not answered a job yet
        self._queue: deque[tuple[Job, Future[Any]]] = deque()
        self._inflight: _InFlight | None = None
        self._next_id = 0
        self._closed = False

    # -- public ----------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def idle(self) -> bool:
        return self._inflight is None and not self._queue

    def start(self) -> None:
        """Start the child now (it also starts on the first job): engine start-up off the clock."""
        if self._proc is None and not self._closed:
            self._spawn()

    def submit_render(self, spec: RenderSpec, out_path: Path, *,
                      urgent: bool = False) -> Future[RenderedClip]:
        return self._submit(lambda jid: RenderJob(jid, spec, str(out_path)), urgent)

    def submit_voices(self) -> Future[VoiceCatalog]:
        return self._submit(VoicesJob, urgent=True)

    def promote(self, future: Future[Any]) -> None:
        """Move a queued job to the front (a prompt needs a line the pre-render has not reached)."""
        for item in self._queue:
            if item[1] is future:
                self._queue.remove(item)
                self._queue.appendleft(item)
                return

    def pump(self) -> None:
        """Collect replies, enforce the deadline, send the next job. Never blocks."""
        if self._inflight is not None:
            self._collect()
        if self._inflight is None:
            self._send_next()

    def wait(self, future: Future[T], timeout: float | None = None) -> T:
        """Blocking helper for the CLI and tests: pump until `future` is done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not future.done():
            self.pump()
            if future.done():
                break
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                raise TtsWorkerError(f"tts: no answer from the render worker within {timeout} s")
            handles: list[Any] = [h for h in (self._conn, self._proc and self._proc.sentinel) if h]
            if handles:
                wait_any(handles, left)
            else:
                time.sleep(left)
        return future.result()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the child (politely, then by force), reap it, fail whatever was still queued."""
        self._closed = True
        pending = [f for _, f in self._queue] + ([self._inflight.future] if self._inflight else [])
        self._queue.clear()
        self._inflight = None
        if self._proc is not None:
            with contextlib.suppress(OSError, ValueError):
                if self._conn is not None:
                    self._conn.send(None)
            self._stop_child(grace=timeout)
        for f in pending:
            if not f.done():
                f.set_exception(TtsWorkerError("tts: the render worker was closed before this line was done"))

    # -- internals -------------------------------------------------------------------------------
    def _submit(self, make: Any, urgent: bool) -> Future[Any]:
        if self._closed:
            raise TtsWorkerError("tts: the render worker is closed")
        self._next_id += 1
        future: Future[Any] = Future()
        item = (make(self._next_id), future)
        if urgent:
            self._queue.appendleft(item)
        else:
            self._queue.append(item)
        self.pump()
        return future

    def _spawn(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=worker_main, args=(child_conn, self.engine_factory, self.driver),
                                 name="softphone-assist-tts", daemon=True)
        proc.start()
        child_conn.close()  # only the child holds its end: its death gives us EOF
        self._proc, self._conn, self._fresh = proc, parent_conn, True

    def _stop_child(self, grace: float = 0.0) -> None:
        """End the child (after `grace` seconds to exit by itself) and reap it."""
        proc, self._proc = self._proc, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if proc is None:
            return
        if grace:
            proc.join(grace)
        if proc.is_alive():
            proc.terminate()
            proc.join(1.0)
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
        if not proc.is_alive():
            proc.close()

    def _send_next(self) -> None:
        while self._queue and not self._closed:
            job, future = self._queue.popleft()
            if future.cancelled():
                continue
            if self._proc is None:
                self._spawn()
            assert self._conn is not None
            allowance = self.job_timeout_s + (self.start_timeout_s if self._fresh else 0.0)
            self._inflight = _InFlight(job, future, time.monotonic() + allowance)
            try:
                self._conn.send(job)
            except (BrokenPipeError, OSError):
                self._fail_and_restart("died before it took the job")
            return

    def _collect(self) -> None:
        assert self._inflight is not None and self._conn is not None
        try:
            ready = self._conn.poll(0)
            reply = self._conn.recv() if ready else None
        except (EOFError, OSError):
            if self._proc is not None:
                self._proc.join(1.0)
            code = self._proc.exitcode if self._proc is not None else None
            self._fail_and_restart(f"exited (code {code})")
            return
        if reply is not None:
            flight, self._inflight = self._inflight, None
            self._fresh = False
            self.jobs_done += 1
            if isinstance(reply, Failed) and reply.restart:
                self._stop_child(grace=1.0)  # it exits by itself right after this reply
                self.restarts += 1
            if flight.future.cancelled():
                return
            if isinstance(reply, Done):
                flight.future.set_result(reply.result)
            else:
                flight.future.set_exception(TtsError(reply.message))
            return
        if time.monotonic() > self._inflight.deadline:
            self._fail_and_restart("did not answer in time (hung); killed it")
        elif self._proc is not None and not self._proc.is_alive():
            self._fail_and_restart(f"exited (code {self._proc.exitcode})")

    def _fail_and_restart(self, what: str) -> None:
        flight, self._inflight = self._inflight, None
        self._stop_child()
        self.restarts += 1
        if flight is not None and not flight.future.done():
            subject = (f"rendering {flight.job.spec.text[:40]!r}" if isinstance(flight.job, RenderJob)
                       else "listing voices")
            flight.future.set_exception(TtsWorkerError(
                f"tts: the render worker {what} while {subject}; it restarts for the next line"))
