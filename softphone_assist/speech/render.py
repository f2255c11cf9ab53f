"""Render lines through the cache: a hit answers at once, a miss goes to the worker process.

Non-blocking: `render()` and `prerender()` return Futures; `poll()` (the GUI timer, or the
Speaker's poll) moves the worker along and resolves them on the polling thread. `render_blocking`
and `list_voices` are the blocking helpers for the CLI and tests.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path

import soundfile as sf

from softphone_assist.speech.cache import RenderCache, RenderedClip, RenderSpec
from softphone_assist.speech.voices import VoiceCatalog, VoiceInfo, pick_voice
from softphone_assist.speech.worker import DEFAULT_ENGINE, JOB_TIMEOUT_S, RenderWorker


class LineRenderer:
    def __init__(self, cache_dir: Path | str, *, engine_factory: str = DEFAULT_ENGINE,
                 driver: str | None = None, job_timeout_s: float = JOB_TIMEOUT_S) -> None:
        self.worker = RenderWorker(engine_factory, driver, job_timeout_s=job_timeout_s)
        # The factory and driver are part of the key: a SAPI render is not an espeak render.
        self.cache = RenderCache(cache_dir, engine=f"{engine_factory}|{self.worker.driver}")
        self.renders = 0  # lines the worker rendered (cache misses that succeeded)
        self.cache_hits = 0
        self._pending: dict[Path, Future[RenderedClip]] = {}
        self._catalog: Future[VoiceCatalog] | None = None

    def start(self) -> None:
        """Start the worker process now, so the engine is up before the first prompt."""
        self.worker.start()

    def poll(self) -> None:
        self.worker.pump()

    def close(self) -> None:
        self.worker.close()

    # -- rendering -------------------------------------------------------------------------------
    def render(self, spec: RenderSpec, *, urgent: bool = True) -> Future[RenderedClip]:
        """The line's WAV: a done Future on a cache hit, else a Future the worker resolves."""
        hit = self.cache.lookup(spec)
        if hit is not None:
            try:
                info = sf.info(str(hit))
            except (sf.LibsndfileError, RuntimeError, OSError):
                hit.unlink(missing_ok=True)  # damaged (disk full, edited by hand): render it again
            else:
                self.cache_hits += 1
                done: Future[RenderedClip] = Future()
                done.set_result(RenderedClip(path=hit, frames=int(info.frames), sample_rate=int(info.samplerate)))
                return done
        path = self.cache.path_for(spec)
        pending = self._pending.get(path)
        if pending is not None and not pending.done():
            if urgent:
                self.worker.promote(pending)
            return pending
        future = self.worker.submit_render(spec, path, urgent=urgent)
        self._pending[path] = future
        future.add_done_callback(functools.partial(self._finished, path))
        return future

    def prerender(self, texts: Iterable[str], voice_id: str, rate: int, volume: float = 1.0
                  ) -> list[Future[RenderedClip]]:
        """Warm the cache for every line (e.g. a whole script at start-up), behind urgent lines."""
        specs = [RenderSpec(t, voice_id, rate, volume) for t in dict.fromkeys(texts)]
        return [self.render(spec, urgent=False) for spec in specs]

    def render_blocking(self, spec: RenderSpec, timeout: float | None = None) -> RenderedClip:
        return self.worker.wait(self.render(spec), timeout)

    def _finished(self, path: Path, future: Future[RenderedClip]) -> None:
        if self._pending.get(path) is future:
            del self._pending[path]
        if not future.cancelled() and future.exception() is None:
            self.renders += 1

    # -- voices ----------------------------------------------------------------------------------
    def voices(self) -> Future[VoiceCatalog]:
        """The engine's voices (asked once; a failed answer is asked again next time)."""
        if self._catalog is None or (self._catalog.done() and self._catalog.exception() is not None):
            self._catalog = self.worker.submit_voices()
        return self._catalog

    def list_voices(self, timeout: float | None = None) -> VoiceCatalog:
        return self.worker.wait(self.voices(), timeout)

    def pick_voice(self, locale: str, timeout: float | None = None) -> VoiceInfo:
        """Blocking: the best voice for a script locale, or VoiceNotFoundError listing the voices."""
        return pick_voice(locale, self.list_voices(timeout))
