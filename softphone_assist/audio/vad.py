"""webrtcvad behind a numpy interface: frames in, one speech decision per frame out.

This is the only module that imports webrtcvad. The detectors never call it: the pipeline
computes the decisions with this adapter and hands them to the trackers as a bool array, so
the pure core stays free of native audio libraries and unit tests can inject decisions.
"""

from __future__ import annotations

import numpy as np

VAD_RATES = (8000, 16000, 32000, 48000)
VAD_FRAME_MS = (10, 20, 30)


class WebRtcVad:
    """One webrtcvad instance for one channel (it keeps state between frames)."""

    def __init__(self, rate: int, mode: int) -> None:
        if rate not in VAD_RATES:
            raise ValueError(f"webrtcvad needs a sample rate of {VAD_RATES}, got {rate}")
        if mode not in (0, 1, 2, 3):
            raise ValueError(f"webrtcvad mode must be 0..3, got {mode}")
        self.rate = rate
        self.mode = mode
        import webrtcvad  # here, not at the top: a mono replay never needs it (18 ms of start-up)

        self._vad = webrtcvad.Vad(mode)
        self._frame_lens = {rate * ms // 1000 for ms in VAD_FRAME_MS}
        # webrtcvad.Vad.is_speech is a thin Python wrapper around _webrtcvad.process; calling the
        # C function on slices of one buffer halves the per-frame overhead (~1.5 of ~3.5 us per
        # 10 ms frame). Fall back to the public method if a future release moves it.
        native = getattr(webrtcvad, "_webrtcvad", None)
        handle = getattr(self._vad, "_vad", None)
        self._process = native.process if native is not None and handle is not None else None
        self._handle = handle

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """frames: (n, frame_len) int16, or float in int16 scale (rounded and clipped)."""
        frames = np.asarray(frames)
        if frames.ndim != 2 or frames.shape[1] not in self._frame_lens:
            raise ValueError(
                f"frames must be (n, {sorted(self._frame_lens)}) at {self.rate} Hz, got {frames.shape}"
            )
        if frames.dtype != np.int16:
            frames = np.clip(np.rint(frames), -32768, 32767).astype(np.int16)
        pcm = np.ascontiguousarray(frames, dtype="<i2")
        n, width = pcm.shape
        rate = self.rate
        if self._process is None:
            is_speech = self._vad.is_speech
            return np.fromiter((is_speech(row.tobytes(), rate) for row in pcm), dtype=bool, count=n)
        process, handle, step = self._process, self._handle, 2 * width
        buf = memoryview(pcm.tobytes())
        return np.fromiter(
            (process(handle, rate, buf[k * step : (k + 1) * step], width) for k in range(n)), dtype=bool, count=n
        )
