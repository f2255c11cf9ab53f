"""Speak scripted lines: render (cache or worker), then play to the chosen outputs.

The app decides *when* to speak (TtsMode: off, on_request = the agent presses "speak", auto =
ShowPrompt.speak); the Speaker does it without blocking the GUI thread:
  speak(text) -> request id      a cached line starts playing before this returns (~10 ms);
                                 otherwise it starts in the poll() after the worker rendered it
  skip()                         stop the current line (reported as cancelled, reason "skipped")
  poll() -> [events]             call from the GUI timer (every 20-50 ms): SpeechStarted,
                                 SpeechFinished, SpeechFailed, in order
One line at a time: a new speak() supersedes the current one (reason "superseded").

The end of playback is the end of the agent's line. SpeechFinished carries the frames played,
the clip's rate and `ended_at` (time.monotonic() when the last output finished) so the app can
place the end on its stream clock (LineSpoken(t)); a skipped line reports what was played.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

import numpy as np

from softphone_assist.audio.playback import OutputTarget, Playback, PlaybackResult
from softphone_assist.core.errors import UserError
from softphone_assist.speech.cache import RenderedClip, RenderSpec, read_clip
from softphone_assist.speech.errors import TtsError
from softphone_assist.speech.render import LineRenderer

FinishReason = Literal["done", "skipped", "superseded", "closed"]


class TtsMode(StrEnum):
    OFF = "off"  # never speak
    ON_REQUEST = "on_request"  # speak when the agent asks (button/hotkey)
    AUTO = "auto"  # speak prompts the script engine marks speak=True

    @classmethod
    def parse(cls, value: object, where: str = "tts.mode") -> TtsMode:
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            raise TtsError(f"{where}: {value!r} is not one of {', '.join(m.value for m in cls)}") from None


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    request_id: int
    text: str
    clip_seconds: float  # length of the whole line


@dataclass(frozen=True, slots=True)
class SpeechFinished:
    request_id: int
    text: str
    frames: int  # frames of the line played (all of them unless cancelled)
    sample_rate: int
    cancelled: bool
    reason: FinishReason
    ended_at: float | None  # time.monotonic() at the end of playback; None if nothing played
    error: str | None = None  # an output failed mid-line (the others still played)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@dataclass(frozen=True, slots=True)
class SpeechFailed:
    request_id: int
    text: str
    message: str


SpeechEvent = SpeechStarted | SpeechFinished | SpeechFailed


class Player(Protocol):
    def start(self) -> None: ...
    def cancel(self) -> None: ...
    def poll(self) -> PlaybackResult | None: ...


PlayerFactory = Callable[[np.ndarray, int, Sequence[OutputTarget]], Player]


@dataclass(slots=True)
class _Request:
    request_id: int
    text: str
    render: Future[RenderedClip]
    player: Player | None = None
    reason: FinishReason = "done"


class Speaker:
    def __init__(self, renderer: LineRenderer, outputs: Sequence[OutputTarget], voice_id: str, *,
                 rate: int = 150, volume: float = 1.0, player: PlayerFactory = Playback) -> None:
        if not outputs:
            raise TtsError("tts.outputs: choose at least one output (the headset and/or the softphone's mic)")
        RenderSpec("x", voice_id, rate, volume)  # validate the settings now, with their option names
        self.renderer = renderer
        self.outputs = tuple(outputs)
        self.voice_id, self.rate, self.volume = voice_id, rate, volume
        self._player = player
        self._current: _Request | None = None
        self._stopping: list[_Request] = []  # superseded lines still running out their last block
        self._events: list[SpeechEvent] = []
        self._next_id = 0

    @property
    def busy(self) -> bool:
        return self._current is not None

    def spec(self, text: str) -> RenderSpec:
        return RenderSpec(text, self.voice_id, self.rate, self.volume)

    def prerender(self, lines: Iterable[str]) -> list[Future[RenderedClip]]:
        """Warm the cache for these lines in the worker, behind any line asked to be spoken."""
        return self.renderer.prerender(lines, self.voice_id, self.rate, self.volume)

    def speak(self, text: str) -> int:
        spec = self.spec(text)
        self._supersede()
        self._next_id += 1
        req = _Request(self._next_id, text, self.renderer.render(spec, urgent=True))
        self._current = req
        if req.render.done():
            self._start(req)
        return req.request_id

    def skip(self) -> None:
        """Stop the current line; its SpeechFinished says cancelled=True, reason "skipped"."""
        self._end_current("skipped")

    def poll(self) -> list[SpeechEvent]:
        self.renderer.poll()
        req = self._current
        if req is not None and req.player is None and req.render.done():
            self._start(req)
        for r in [*self._stopping, *([self._current] if self._current else [])]:
            if r.player is not None and (result := r.player.poll()) is not None:
                self._finished(r, result)
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        """Stop whatever plays (reported as reason "closed" by a last poll()). The renderer is
        left running: its owner closes it (several speakers may share one)."""
        self._end_current("closed")
        for r in self._stopping:
            if r.player is not None:
                r.player.cancel()

    # -- internals -------------------------------------------------------------------------------
    def _supersede(self) -> None:
        self._end_current("superseded")

    def _end_current(self, reason: FinishReason) -> None:
        req, self._current = self._current, None
        if req is None:
            return
        req.reason = reason
        if req.player is None:  # still rendering: nothing was played (the render still fills the cache)
            self._events.append(SpeechFinished(req.request_id, req.text, 0, 0, True, reason, None))
            return
        req.player.cancel()
        self._stopping.append(req)

    def _start(self, req: _Request) -> None:
        try:
            clip = req.render.result()
            samples, rate = read_clip(clip.path)
            req.player = self._player(samples, rate, self.outputs)
            req.player.start()
        except UserError as e:  # TtsError from the render or the file, OutputDeviceError from the outputs
            self._fail(req, str(e))
            return
        except Exception as e:  # PortAudio errors at start, anything unexpected: report, never raise
            self._fail(req, f"tts: {type(e).__name__}: {e}")
            return
        self._events.append(SpeechStarted(req.request_id, req.text, len(samples) / rate))

    def _fail(self, req: _Request, message: str) -> None:
        if self._current is req:
            self._current = None
        self._events.append(SpeechFailed(req.request_id, req.text, message))

    def _finished(self, req: _Request, result: PlaybackResult) -> None:
        if self._current is req:
            self._current = None
        if req in self._stopping:
            self._stopping.remove(req)
        self._events.append(SpeechFinished(
            req.request_id, req.text, result.frames, result.sample_rate, result.cancelled,
            req.reason if result.cancelled else "done", result.ended_at, result.error,
        ))
