"""webrtcvad behind a numpy interface: frames in, one speech decision per frame out.

This is the only module that imports webrtcvad. The detectors never call it: the pipeline
computes the decisions with this adapter and hands them to the trackers as a bool array, so
the pure core stays free of native audio libraries and unit tests can inject decisions.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

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
        self._vad = webrtcvad.Vad(mode)
        self._frame_lens = {rate * ms // 1000 for ms in VAD_FRAME_MS}

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
        is_speech = self._vad.is_speech
        rate = self.rate
        return np.fromiter(
            (is_speech(row.tobytes(), rate) for row in pcm), dtype=bool, count=pcm.shape[0]
        )
