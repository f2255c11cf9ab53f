"""Rendered lines on disk, one WAV per (engine, voice, rate, volume, text).

A cached line plays at once: the speaker reads the file and opens the output, no engine involved.
Files are written under a temporary name and renamed into place, so a reader never sees half a
WAV, even if the worker dies mid-write. The cache dir is passed in (the app uses platformdirs'
user cache dir); nothing is ever deleted here except by `clear()`.

Clips are stored trimmed: espeak-ng ends every line with ~0.4 s of silence, and the end of
playback counts as the end of the agent's line, so that silence would delay every next step.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from softphone_assist.speech.errors import TtsError

CACHE_FORMAT = 2  # bump when the stored audio changes (trimming, sample format)
RATE_RANGE = (50, 500)  # words per minute, what pyttsx3 drivers accept sensibly
SILENCE_DBFS = -50.0  # samples below this at either end of a clip are trimmed
KEEP_EDGE_S = 0.02  # silence kept at each end so the first/last phoneme is not clipped


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """What to render: the exact text and the voice settings it is spoken with."""

    text: str
    voice_id: str
    rate: int = 150  # words per minute (pyttsx3 "rate")
    volume: float = 1.0  # pyttsx3 "volume", 0..1

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise TtsError("tts: a line to speak is empty")
        if not self.voice_id:
            raise TtsError("tts.voice: no voice id given")
        if isinstance(self.rate, bool) or not isinstance(self.rate, int):
            raise TtsError(f"tts.rate: expected whole words per minute, got {self.rate!r}")
        if not RATE_RANGE[0] <= self.rate <= RATE_RANGE[1]:
            lo, hi = RATE_RANGE
            raise TtsError(f"tts.rate: {self.rate} is outside {lo}..{hi} words per minute")
        if not 0.0 < self.volume <= 1.0:
            raise TtsError(f"tts.volume: {self.volume} is outside 0..1 (0 excluded)")

    def key(self, engine: str) -> str:
        blob = json.dumps(
            {"format": CACHE_FORMAT, "engine": engine, "voice": self.voice_id, "rate": self.rate,
             "volume": round(self.volume, 3), "text": self.text},
            ensure_ascii=False, sort_keys=True,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RenderedClip:
    """A rendered line in the cache: trimmed mono 16-bit WAV."""

    path: Path
    frames: int
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


class RenderCache:
    """Maps a RenderSpec to its WAV under `directory`. `engine` names the pyttsx3 driver in use."""

    def __init__(self, directory: Path | str, engine: str) -> None:
        self.directory = Path(directory)
        self.engine = engine
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TtsError(f"tts cache dir {self.directory}: cannot create it ({e.strerror})") from None

    def path_for(self, spec: RenderSpec) -> Path:
        return self.directory / f"{spec.key(self.engine)[:40]}.wav"

    def lookup(self, spec: RenderSpec) -> Path | None:
        path = self.path_for(spec)
        try:
            return path if path.stat().st_size > 44 else None  # 44 bytes: a WAV header with no audio
        except OSError:
            return None

    def clear(self) -> int:
        removed = 0
        for p in self.directory.glob("*.wav"):
            p.unlink(missing_ok=True)
            removed += 1
        return removed


# --------------------------------------------------------------------------------------------
# Clip format: mono float32 in memory, 16-bit PCM WAV on disk
# --------------------------------------------------------------------------------------------
def trim_silence(x: np.ndarray, rate: int, floor_dbfs: float = SILENCE_DBFS,
                 keep_s: float = KEEP_EDGE_S) -> np.ndarray:
    """Cut leading/trailing samples below `floor_dbfs`, keeping `keep_s` of margin at each end."""
    loud = np.flatnonzero(np.abs(x) >= 10.0 ** (floor_dbfs / 20.0))
    if loud.size == 0:
        return x[:0]
    keep = round(keep_s * rate)
    return x[max(0, int(loud[0]) - keep): min(len(x), int(loud[-1]) + 1 + keep)]


def read_clip(path: Path | str) -> tuple[np.ndarray, int]:
    """A WAV (or anything libsndfile reads, e.g. macOS's AIFF) as mono float32 and its rate."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise TtsError(f"tts: cannot read audio file {path}: {e}") from None
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)


def write_clip_atomic(path: Path, x: np.ndarray, rate: int) -> None:
    """Write 16-bit PCM under a temporary name in the same dir, then rename into place."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.wav")
    try:
        sf.write(str(tmp), np.clip(x, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
