"""Syllable nuclei from the speech envelope, without recognition: the agent's speaking rate.

Each syllable has one vowel, and a vowel is a local maximum of the speech energy. So: the per-frame
log energy (10 ms frames, the tracker's DC-free power) is band-passed to the syllable rhythm (a
difference of two Hann smoothers: ~15 Hz low-pass minus ~1.5 Hz trend, linear phase so that peaks
stay where they are), and a frame is a nucleus when it is a speech frame, the band-passed envelope
is the highest within +-MIN_DIST frames, the frame's energy is within LOUD_DB of the loudest
frame nearby (weak consonants and breaths are not nuclei), and it stands PROMINENCE_DB above the
lowest point within +-DIP_FRAMES on BOTH sides (a syllable boundary is a dip; a bump with a dip on
one side only is a vowel's shoulder, not a new syllable). Parameters were tuned on every other
asterisk-core-sounds prompt whose text is known and measured on all (bench/bench_speech_rate.py).

Streaming: frame i is decided from frames i - CONTEXT .. i + CONTEXT only, so `SyllableCounter`
gives the same nuclei whatever the block cut, LAG frames after the frame itself.
"""

from __future__ import annotations

import re

import numpy as np

SHORT_FRAMES = 5  # Hann smoother: keeps the rhythm of fast speech (7 syllables/s)
LONG_FRAMES = 61  # trend smoother ~ 1.5 Hz
MIN_DIST = 5  # frames: nuclei at least 50 ms apart
DIP_FRAMES = 10  # frames each side searched for the dip that separates two syllables
PROMINENCE_DB = 2.0
LOUD_FRAMES = 45  # a nucleus is within LOUD_DB of the loudest frame within +-LOUD_FRAMES:
LOUD_DB = 15.0  # weak consonants and breath between words are not syllables
HALF_LONG = LONG_FRAMES // 2
CONTEXT = max(HALF_LONG + max(MIN_DIST, DIP_FRAMES), LOUD_FRAMES)  # raw frames each side that decide one
LAG = CONTEXT  # a frame's nucleus flag is final this many frames after it
_EPS_POWER = 1.0  # int16 units^2: -90 dBov, below any microphone's floor


def _hann(n: int) -> np.ndarray:
    w = np.hanning(n + 2)[1:-1]
    return w / w.sum()


_BAND = np.zeros(LONG_FRAMES)
_BAND[HALF_LONG - SHORT_FRAMES // 2 : HALF_LONG + SHORT_FRAMES // 2 + 1] = _hann(SHORT_FRAMES)
_BAND -= _hann(LONG_FRAMES)


def _sliding(x: np.ndarray, width: int, op: np.ufunc) -> np.ndarray:
    """op (np.maximum / np.minimum) over each window x[i : i + width], in O(n log width): windows
    of 1, 2, 4 ... by doubling, then two overlapping power-of-two windows cover each one."""
    m = np.asarray(x, dtype=np.float64)
    span = 1
    while span * 2 <= width:
        m = op(m[:-span], m[span:])
        span *= 2
    n = x.size - width + 1
    return op(m[:n], m[width - span : width - span + n])


def log_energy(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.asarray(power, dtype=np.float64) + _EPS_POWER)


def nuclei(energy_db: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Nucleus flags for the frames [CONTEXT, len - CONTEXT) of a stretch of envelope."""
    e = np.asarray(energy_db, dtype=np.float64)
    n = e.size - 2 * CONTEXT
    if n <= 0:
        return np.zeros(0, dtype=bool)
    band = np.convolve(e, _BAND[::-1], mode="valid")  # band[k] is centred on frame k + HALF_LONG
    # frames [CONTEXT, CONTEXT + n) are band indices [CONTEXT - HALF_LONG, ...)
    off = CONTEXT - HALF_LONG
    centre = band[off : off + n]
    near = _sliding(band[off - MIN_DIST : off + n + MIN_DIST], 2 * MIN_DIST + 1, np.maximum)
    low = _sliding(band[off - DIP_FRAMES : off + n + DIP_FRAMES], DIP_FRAMES + 1, np.minimum)
    left, right = low[:n], low[DIP_FRAMES:]
    prominence = centre - np.maximum(left, right)
    sp = np.asarray(speech, dtype=bool)[CONTEXT : CONTEXT + n]
    loud = _sliding(e[CONTEXT - LOUD_FRAMES : CONTEXT + n + LOUD_FRAMES], 2 * LOUD_FRAMES + 1, np.maximum)
    sp = sp & (e[CONTEXT : CONTEXT + n] >= loud - LOUD_DB)
    # ties on a plateau: only the first frame of the plateau counts
    first = np.concatenate(([True], centre[1:] != centre[:-1]))
    return sp & (centre >= near) & first & (prominence >= PROMINENCE_DB)


def count_syllables(power: np.ndarray, speech: np.ndarray) -> int:
    """Nuclei of a whole recording (frames before and after read as silence)."""
    e = log_energy(np.concatenate([np.zeros(CONTEXT), power, np.zeros(CONTEXT)]))
    sp = np.concatenate([np.zeros(CONTEXT, bool), np.asarray(speech, bool), np.zeros(CONTEXT, bool)])
    return int(nuclei(e, sp).sum())


class SyllableCounter:
    """Nucleus flags of a stream, LAG frames late, identical for any block cut."""

    def __init__(self) -> None:
        self._e = np.full(2 * CONTEXT, log_energy(np.zeros(1))[0])  # silence before the stream
        self._sp = np.zeros(2 * CONTEXT, dtype=bool)
        self.decided = -CONTEXT  # nucleus flags are known for frames < decided (after the first push)

    def push(self, power: np.ndarray, speech: np.ndarray) -> tuple[int, np.ndarray]:
        """Append frames; returns (first frame, flags) for the frames newly decided."""
        self._e = np.concatenate([self._e, log_energy(power)])
        self._sp = np.concatenate([self._sp, np.asarray(speech, dtype=bool)])
        flags = nuclei(self._e, self._sp)
        first = self.decided
        self.decided += flags.size
        self._e = self._e[flags.size :]
        self._sp = self._sp[flags.size :]
        if first < 0:  # the padding frames before the stream are not frames
            flags = flags[-first:]
            first = 0
        return first, flags


# --------------------------------------------------------------------------------------------
# Syllables of a text: the reference the envelope count is measured against, and the script's
# target rate in syllables (its chars_per_minute counts letters for English)
# --------------------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SILENT_END = re.compile(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$")
_VOWELS = re.compile(r"[aeiouy]{1,2}")


def word_syllables(word: str) -> int:
    """English syllables by vowel groups (a silent final e, -es, -ed dropped): exact for most
    words, +-1 for the rest; good enough for a rate, which averages over many words."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    w = _SILENT_END.sub("", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(_VOWELS.findall(w)))


def text_syllables(text: str) -> int:
    """Syllables of a line: one per Chinese character (and per digit), vowel groups per Latin word."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    digits = sum(1 for ch in text if ch.isdigit())
    return cjk + digits + sum(word_syllables(w) for w in _WORD.findall(text))
