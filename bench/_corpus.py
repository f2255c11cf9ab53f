"""Corpus access for the detector bench: calls, their frames, VAD decisions (cached) and truth.

webrtcvad decisions do not change between tuning runs, so they are cached outside the repo,
under /tmp/softphone-assist-vad-cache, keyed by file path, size, mtime and mode.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile as sf

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.detect import frame_len

# ../shared beside the checkout, as bench/make_holdout.py finds it (SOFTPHONE_ASSIST_SHARED overrides)
CORPUS_DIR = os.path.join(os.environ.get("SOFTPHONE_ASSIST_SHARED", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared")), "corpus")
# issue 9's target for the per-second caller condition, on every corpus and at both rates
TARGET_MACRO_F1, TARGET_RECALL = 0.95, 0.92
CACHE_DIR = "/tmp/softphone-assist-vad-cache"


def load_score_module() -> Any:
    """The corpus' own scorer, so the bench scores with exactly its rules."""
    if CORPUS_DIR not in sys.path:
        sys.path.insert(0, CORPUS_DIR)
    import score

    return score


@dataclass(frozen=True)
class Call:
    wav: str
    rate: int
    frames: np.ndarray  # (n, frame_len) float64, int16 scale
    vad: np.ndarray  # (n,) bool
    meta: dict[str, Any]


def read_frames(wav: str) -> tuple[np.ndarray, int]:
    x, rate = sf.read(wav, dtype="int16", always_2d=False)
    if x.ndim != 1:
        raise SystemExit(f"{wav}: expected a mono file")
    fl = frame_len(rate)
    n = x.size // fl
    return x[: n * fl].astype(np.float64).reshape(n, fl), int(rate)


def cached_vad(wav: str, frames: np.ndarray, rate: int, mode: int) -> np.ndarray:
    st = os.stat(wav)
    key = hashlib.sha1(f"{os.path.abspath(wav)}|{st.st_size}|{st.st_mtime_ns}|{mode}".encode()).hexdigest()
    path = os.path.join(CACHE_DIR, key + ".npy")
    if os.path.exists(path):
        return np.load(path)
    vad = WebRtcVad(rate, mode)(frames)
    os.makedirs(CACHE_DIR, exist_ok=True)
    np.save(path, vad)
    return vad


def iter_calls(folder: str, rate_khz: int, mode: int, limit: int = 0) -> Iterator[Call]:
    wavs = sorted(glob.glob(os.path.join(folder, f"*_{rate_khz}k.wav")))
    if limit:
        wavs = wavs[:limit]
    for wav in wavs:
        frames, rate = read_frames(wav)
        with open(wav[:-4] + ".json") as f:
            meta = json.load(f)
        yield Call(wav, rate, frames, cached_vad(wav, frames, rate, mode), meta)
