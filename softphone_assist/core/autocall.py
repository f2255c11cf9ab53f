"""Call start/end without softphone hooks: watch the caller stream for digital zero.

A softphone's output (and its PulseAudio monitor, or WASAPI loopback) carries exact digital zero
between calls and real samples, even if only line hiss, while a call is up. So: a call starts when
the caller stream carries sound after at least `start_after_zero_s` of digital zero (or after any
digital zero the stream opened with: the app was started just before the call), and a call that
started that way ends after `end_after_zero_s` of digital zero. Hold also plays digital zero, so the
end rule is suspended while the call is on hold. Pure: stream time from samples, no clock.

An outage of the caller device (`no_audio(t)` .. `audio_back(t)`, from the capture's NoAudio
marks) is zeros that are not digital zero: its frames (every frame that overlaps it) count for
nothing, neither as zero nor as sound, so a 10 s outage mid-call ends no call, and the zero run
before it goes on after it (a call that went quiet before the outage can still end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from softphone_assist.core.detect import FRAME_S, frame_len
from softphone_assist.core.detect.framing import frame_time

ZERO_LSB = 1.0  # |sample| <= 1 LSB counts as digital zero (some mixers leave a stray 1)
AutoEvent = Literal["call_start", "call_end"]


@dataclass(frozen=True, slots=True)
class AutoCallConfig:
    start_after_zero_s: float = 1.0
    end_after_zero_s: float = 8.0


class AutoCallDetector:
    def __init__(self, rate: int, config: AutoCallConfig | None = None) -> None:
        self.config = config or AutoCallConfig()
        self._flen = frame_len(rate)
        self._rest = np.zeros(0)
        self._frames = 0
        self._zero_run = 0  # consecutive digital-zero frames so far
        self._heard = False  # any sound yet on this stream
        self.in_call = False  # a call this detector started (hooks drive the others)
        self.on_hold = False
        self._rate = rate
        self._outages: list[tuple[int, int | None]] = []  # frames [first, stop) that are no audio

    def no_audio(self, t: float) -> None:
        """The caller device is gone from stream time `t` (before those samples are processed)."""
        if not self._outages or self._outages[-1][1] is not None:
            self._outages.append((round(t * self._rate) // self._flen, None))

    def audio_back(self, t: float) -> None:
        """Audio again from stream time `t`."""
        if self._outages and self._outages[-1][1] is None:
            first = self._outages[-1][0]
            self._outages[-1] = (first, max(first, -(-round(t * self._rate) // self._flen)))

    def _is_outage(self, k: int) -> bool:
        return any(a <= k and (b is None or k < b) for a, b in self._outages)

    def process(self, caller: np.ndarray) -> list[tuple[float, AutoEvent]]:
        """Feed caller samples (int16 scale); returns (stream time, event) for each start/end found."""
        x = np.concatenate((self._rest, np.asarray(caller, dtype=np.float64).reshape(-1)))
        n = x.size // self._flen
        self._rest = x[n * self._flen:]
        if n == 0:
            return []
        zero = np.max(np.abs(x[: n * self._flen].reshape(n, self._flen)), axis=1) <= ZERO_LSB
        start_frames = round(self.config.start_after_zero_s / FRAME_S)
        end_frames = round(self.config.end_after_zero_s / FRAME_S)
        out: list[tuple[float, AutoEvent]] = []
        for i, z in enumerate(zero.tolist()):
            k = self._frames + i  # this frame covers [k, k + 1) * 10 ms
            if self._outages and self._is_outage(k):
                continue
            if z:
                self._zero_run += 1
                if self.in_call and not self.on_hold and self._zero_run == end_frames:
                    self.in_call = False
                    out.append((frame_time(k + 1), "call_end"))
                continue
            # the stream opening on digital zero counts as a gap however short it was: the app
            # was started just before the call
            opened_quiet = not self._heard and self._zero_run > 0
            self._heard = True
            if not self.in_call and (self._zero_run >= start_frames or opened_quiet):
                self.in_call = True
                out.append((frame_time(k), "call_start"))  # the call began with this frame
            self._zero_run = 0
        self._frames += n
        self._outages = [(a, b) for a, b in self._outages if b is None or b > self._frames]
        return out

    def hook_took_over(self) -> None:
        """A softphone hook or a button drives this call now: it will say when the call ends."""
        self.in_call = False
