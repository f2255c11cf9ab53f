"""A recorded call played as if it were live: samples are handed out as the clock advances.

`softphone-assist demo` runs the bundled call through the live path (LiveSession, overlay) with
this source instead of the sound card, so a newcomer sees what an agent would see, in real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from softphone_assist.audio.reader import open_call
from softphone_assist.core.events import Channel


class PacedFileSource:
    def __init__(self, path: Path, channels: str | None = None, *, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        with open_call(path, channels) as reader:
            self.info = reader.info
            parts = list(reader.blocks(1.0))
        self.rate = self.info.rate
        self._caller = np.concatenate([c for c, _ in parts]) if parts else np.zeros(0)
        agents = [a for _, a in parts if a is not None]
        self._agent = np.concatenate(agents) if agents else None
        self._speed, self._clock = speed, clock
        self._start: float | None = None
        self._done = 0

    @property
    def duration_s(self) -> float:
        return len(self._caller) / self.rate

    @property
    def finished(self) -> bool:
        return self._done >= len(self._caller)

    def read_available(self) -> list[tuple[Channel, np.ndarray]]:
        now = self._clock()
        if self._start is None:
            self._start = now
        upto = min(len(self._caller), int((now - self._start) * self._speed * self.rate))
        if upto <= self._done:
            return []
        lo, self._done = self._done, upto
        out: list[tuple[Channel, np.ndarray]] = [("caller", self._caller[lo:upto])]
        if self._agent is not None:
            out.append(("agent", self._agent[lo:upto]))
        return out

    def problems(self) -> list[str]:
        return []
