"""Helpers for the TTS tests and bench/bench_tts.py (no tests in here).

* Fake engines for the render worker: they run in the worker child, which imports this module
  by name (spawn passes the parent's sys.path, and pytest puts tests/ on it).
* Reading what was recorded from a sink's monitor (the sound server is tests/soundserver.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from soundserver import why_not

from softphone_assist.speech.cache import RenderSpec
from softphone_assist.speech.errors import TtsEngineStuck
from softphone_assist.speech.voices import VoiceInfo

ZH_LINE = "非常抱歉,我这边听不清楚,请您大声一点,好吗?"
FAKE_RATE = 16000


# --------------------------------------------------------------------------------------------
# Fake engines (constructed in the worker child as factory(driver))
# --------------------------------------------------------------------------------------------
class ToneEngine:
    """0.5 s of 440 Hz per line. Texts that misbehave: CRASH exits the process, HANG sleeps for an
    hour, FAIL raises, STUCK reports a stuck engine, SILENT renders only silence."""

    name = "fake"
    version = "0"

    def __init__(self, driver: str | None = None) -> None:
        self.driver = driver

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("fake/zh", "Fake Mandarin", ("cmn",)),
                VoiceInfo("fake/en", "Fake English", ("en",))]

    def render(self, spec: RenderSpec, raw_path: Path) -> Path:
        import soundfile as sf

        if spec.text == "CRASH":
            os._exit(3)
        if spec.text == "HANG":
            time.sleep(3600)
        if spec.text == "FAIL":
            raise RuntimeError("engine refused the line")
        if spec.text == "STUCK":
            raise TtsEngineStuck("tts: fake engine stayed busy")
        if spec.text == "SILENT":
            sf.write(str(raw_path), np.zeros(FAKE_RATE, dtype=np.float32), FAKE_RATE)
            return raw_path
        t = np.arange(FAKE_RATE // 2) / FAKE_RATE
        sf.write(str(raw_path), 0.3 * np.sin(2 * np.pi * 440 * t), FAKE_RATE, subtype="PCM_16")
        return raw_path


class BrokenEngine:
    """Fails at start-up, like pyttsx3 without libespeak-ng."""

    def __init__(self, driver: str | None = None) -> None:
        raise OSError("libespeak-ng.so.1: cannot open shared object file")


# --------------------------------------------------------------------------------------------
# The sound server is tests/soundserver.py. These two names stay for tests/test_deb.py, which
# imports them from here: a PulseAudio SoundServer whose sinks are kept running.
# --------------------------------------------------------------------------------------------
def pulseaudio_available() -> str | None:
    """None if a private PulseAudio can run and PortAudio can reach it; else why not."""
    return why_not("pulseaudio", alsa_pulse=True)


def read_raw(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0


def speech_span(x: np.ndarray, rate: int, floor_dbfs: float = -40.0,
                win_s: float = 0.02) -> tuple[float, float]:
    """(start, end) seconds of the part whose 20 ms RMS is above floor_dbfs; (0, 0) if none."""
    n = int(win_s * rate)
    frames = x[: len(x) // n * n].reshape(-1, n)
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(db > floor_dbfs)
    if loud.size == 0:
        return (0.0, 0.0)
    return (loud[0] * win_s, (loud[-1] + 1) * win_s)


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))
