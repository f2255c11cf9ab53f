"""Telephone tones on the caller's line: steady single or dual frequencies, and what they are.

A softphone plays its own tones into the stream the product hears (ringback, busy, congestion,
special-information and hang-up tones, DTMF echoes, fax/modem CNG and CED). They are loud and
steady, so the level rules would read them as a customer talking; they are not.

Every HOP frames (50 ms) the last 128 ms of audio (at 8 kHz: 1024 samples, 7.8 Hz bins; a Hann
window resolves the 40 Hz of 440 + 480 Hz) is judged, in two stages:

* a gate from figures the caller tracker has already computed: the loud frames (within 10 dB of
  the window's loudest, which is at least -50 dBov; at least 40 ms of them) keep a steady
  spectral tilt (within 2 dB). A tone's tilt is fixed by its frequencies; speech moves it by
  10-30 dB from syllable to syllable. Most windows stop here, which keeps the cost low.
* a spectrum: at least 90 % of the window's energy (DC removed) lies within +-31 Hz of one peak,
  or of two peaks between 340 and 3500 Hz, the second no more than 10 dB under the first and not
  a harmonic of it (2x, 3x: a voice's). Frequencies come from the log-parabola through each peak.

A window is a tone only when the window before it had the same peaks (within 3 Hz: a voice's
pitch moves more in 50 ms): a steady frequency over >= 178 ms of audio. Then the loud frames of
both windows are tone frames. No second window is needed for a DTMF pair (Q.23 frequencies
+-2 %: it names itself, and a 70 ms digit may fill only one window) nor for the next burst, within
5 s, of the tone heard last. Frames next to tone frames (3 before, 5 after) are marked as not the
caller either: the speech-candidate run a tone makes takes in a noise frame just over the floor
before it, and the line's DC estimate carries a residue of the tone for ~40 ms after it.

Marks are made up to ~180 ms after the frame. A reader at hop h sees only the marks made by hop
h (`windows`), so that the caller's condition does not depend on how the stream is cut into
blocks; `flags` gives every mark made so far (tests, bench).

The kind comes from the frequencies where they say it (DTMF pairs, CNG 1100 Hz, CED 2100 Hz,
special-information 950/1400/1800 Hz, US 440+480 ringback and 480+620 busy) and otherwise from
the cadence of the bursts of a 380-500 Hz tone (ITU-T E.180): a burst lasting 0.8-3 s is
ringback (CN 450 Hz 1 s on, EU 425 Hz 1 s on); shorter bursts repeating after a short gap are
busy (>= 0.3 s on: CN 0.35, EU 0.5) or congestion (< 0.3 s on).

Pure numpy: no clock, no threads; times are frame indices. Results do not depend on how the
stream is cut into blocks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from softphone_assist.core.detect.floor import HOP, hop_frames
from softphone_assist.core.detect.framing import frame_len
from softphone_assist.core.detect.history import FrameRing

ToneKind = Literal["ringback", "busy", "congestion", "dtmf", "cng", "ced", "sit", "unknown"]
TONE_KINDS: tuple[ToneKind, ...] = ("ringback", "busy", "congestion", "dtmf", "cng", "ced", "sit", "unknown")

ANALYSIS_RATE = 8000
WINDOW = 1024  # samples at 8 kHz: 128 ms
WINDOW_FRAMES = 13  # 10 ms frames that hold the window
BIN_HZ = ANALYSIS_RATE / WINDOW
MIN_LEVEL_DBOV = -50.0
LOUD_WITHIN_DB = 10.0
MIN_LOUD_FRAMES = 4
TILT_SPREAD_DB = 2.0
PEAK_HALF_BINS = 4  # +-31 Hz around a peak
CONCENTRATION = 0.90
SECOND_PEAK_MIN = 0.1  # -10 dB re the first
BAND_HZ = (340.0, 3500.0)  # E.180 call-progress tones start at 340 Hz; voices crowd below
HARMONIC_TOL = 0.03
HARMONIC_MAX = 10.0 ** (-25.0 / 10.0)  # energy at half or twice a single tone's frequency, re it
SAME_HZ, SAME_REL = 8.0, 0.015
STEADY_HZ = 3.0  # a confirmed tone moves less than this between windows 50 ms apart; a voice more
REPEAT_WITHIN_FRAMES = 500  # the next burst of a tone within 5 s (ringback pauses 4 s)
EDGE_BEFORE, EDGE_AFTER = 3, 5
BURST_GAP_FRAMES = 3  # tone frames closer than this belong to one burst (beats, DTMF twist)

DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
SIT_BANDS = ((900.0, 1000.0), (1350.0, 1450.0), (1750.0, 1850.0))
CADENCE_BAND = (380.0, 500.0)  # single-frequency ringback / busy / congestion (E.180: 400-480 Hz)
RINGBACK_ON_S = (0.8, 3.0)
BUSY_ON_S = 0.3
BUSY_GAP_MAX_S = 1.0
FRAME_S = 0.01

# ring rows
_TONE = 0  # 1.0: a tone frame
_MASK = 1  # not the caller: a tone frame or next to one (see _hop); the hop that marked it + 1, else inf
_PADS = (0.0, np.inf)


@dataclass(frozen=True, slots=True)
class ToneInfo:
    """The tone heard last: frequencies (Hz, ascending) and kind; `start` is its burst's first frame."""

    hz: tuple[int, ...]
    kind: ToneKind
    start: int


def near(a: float, b: float) -> bool:
    return abs(a - b) <= max(SAME_HZ, SAME_REL * max(a, b))


def same_tone(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(near(x, y) for x, y in zip(a, b, strict=True))


def same_info(a: ToneInfo | None, b: ToneInfo | None) -> bool:
    """The same tone for a listener: kind and frequencies (+-8 Hz), whatever the burst."""
    if a is None or b is None:
        return a is b
    return a.kind == b.kind and same_tone(a.hz, b.hz)


def steady(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= STEADY_HZ for x, y in zip(a, b, strict=True))


def _within(f: float, ref: float, rel: float) -> bool:
    return abs(f - ref) <= rel * ref


def dtmf_key(hz: Sequence[float]) -> str | None:
    """The DTMF key of a frequency pair (Q.23, +-2 %), or None."""
    if len(hz) != 2:
        return None
    lo = [i for i, f in enumerate(DTMF_LOW) if _within(hz[0], f, 0.02)]
    hi = [i for i, f in enumerate(DTMF_HIGH) if _within(hz[1], f, 0.02)]
    return DTMF_KEYS[lo[0]][hi[0]] if lo and hi else None


def kind_of(hz: Sequence[float], on_s: float, ongoing: bool, last_on_s: float | None,
            gap_s: float | None) -> ToneKind:
    """What a tone is, from its frequencies and cadence.

    `on_s`: length of the current burst so far (`ongoing`) or of the burst just ended;
    `last_on_s` / `gap_s`: the burst before it of the same tone and the gap between them.
    """
    if dtmf_key(hz) is not None:
        return "dtmf"
    if len(hz) == 1:
        f = hz[0]
        if _within(f, 1100.0, 0.02):
            return "cng"
        if _within(f, 2100.0, 0.015):
            return "ced"
        if any(lo <= f <= hi for lo, hi in SIT_BANDS):
            return "sit"
    pair = tuple(hz)
    if same_tone(pair, (440.0, 480.0)) or same_tone(pair, (400.0, 450.0)):
        return "ringback"  # US / UK ringback: the pair alone says it
    us_busy = same_tone(pair, (480.0, 620.0))
    if not (us_busy or (len(pair) == 1 and CADENCE_BAND[0] <= pair[0] <= CADENCE_BAND[1])):
        return "unknown"
    ring_lo, ring_hi = RINGBACK_ON_S
    if on_s > ring_hi:
        return "unknown"  # continuous: a dial tone, not a call progress tone
    if not us_busy and (ring_lo <= on_s or (last_on_s is not None and ring_lo <= last_on_s <= ring_hi)):
        return "ringback"
    # the short burst to judge: the one just ended, else (a burst under way) the one before it
    short = on_s if not ongoing else last_on_s
    repeated = last_on_s is not None and gap_s is not None and gap_s <= BUSY_GAP_MAX_S
    if short is not None and short < ring_lo and repeated:
        return "busy" if short >= BUSY_ON_S else "congestion"
    return "busy" if us_busy else "unknown"


def _centred_sums(band: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(n, bins) power, one bin k per row -> the power within +-PEAK_HALF_BINS of it (inside the band),
    as the difference of two running sums of the zero-padded row."""
    h = PEAK_HALF_BINS
    n, bins = band.shape
    padded = np.zeros((n, bins + 2 * h + 1))
    padded[:, h + 1 : h + 1 + bins] = band
    c = np.cumsum(padded, axis=1)
    rows = np.arange(n)
    return c[rows, k + 2 * h + 1] - c[rows, k]


def _spectrum_peaks(windows: np.ndarray) -> list[tuple[float, ...] | None]:
    """For each (WINDOW,) row: the 1 or 2 frequencies holding >= 90 % of its energy, else None.

    The energy tests run on all rows at once; only the few rows that pass are looked at one by
    one (frequencies, harmonics)."""
    x = windows - windows.mean(axis=1, keepdims=True)
    p = np.abs(np.fft.rfft(x * _HANN, axis=1)) ** 2
    total = p.sum(axis=1)
    lo, hi = int(BAND_HZ[0] / BIN_HZ), int(BAND_HZ[1] / BIN_HZ)
    band = p[:, lo:hi]
    k1 = np.argmax(band, axis=1)
    e1 = _centred_sums(band, k1)
    single = e1 >= CONCENTRATION * total
    rest = band.copy()
    bins = np.arange(band.shape[1])
    rest[np.abs(bins[None, :] - k1[:, None]) <= PEAK_HALF_BINS] = 0.0
    k2 = np.argmax(rest, axis=1)
    e2 = _centred_sums(rest, k2)
    dual = ~single & (e1 + e2 >= CONCENTRATION * total) & (e2 >= SECOND_PEAK_MIN * e1)
    out: list[tuple[float, ...] | None] = [None] * p.shape[0]
    for k in np.flatnonzero((single | dual) & (total > 0.0)).tolist():
        row = p[k]
        kk = int(k1[k]) + lo
        if single[k]:
            # a voice whose energy sits in one harmonic still has its neighbours 10-25 dB down;
            # a tone's half and double frequency hold only line noise
            if max(_energy(row, kk // 2), _energy(row, 2 * kk)) < HARMONIC_MAX * e1[k]:
                out[k] = (_interp(row, kk),)
            continue
        f1, f2 = sorted((_interp(row, kk), _interp(row, int(k2[k]) + lo)))
        if not any(abs(f2 / f1 - m) <= HARMONIC_TOL * m for m in (2.0, 3.0)):
            out[k] = (f1, f2)  # else a fundamental and its harmonic: a voice, not a tone pair
    return out


def _energy(row: np.ndarray, k: int) -> float:
    return float(row[max(k - PEAK_HALF_BINS, 0) : k + PEAK_HALF_BINS + 1].sum())


def _interp(row: np.ndarray, k: int) -> float:
    """Peak frequency from the parabola through the log power of bins k-1, k, k+1."""
    a, b, c = (float(np.log(max(v, 1e-30))) for v in row[k - 1 : k + 2])
    den = a - 2.0 * b + c
    d = 0.5 * (a - c) / den if den < 0.0 else 0.0
    return (k + max(-0.5, min(0.5, d))) * BIN_HZ


_HANN = np.hanning(WINDOW)
_WINDOW_ROWS = np.arange(WINDOW_FRAMES)


class ToneTracker:
    """Fed the caller's frames with their level and tilt; marks tone frames and names the tone.

    Decisions are made at hop frames (i with (i + 1) % HOP == 0, as the caller tracker's) and
    are final once made; a hop can mark frames up to 2 windows (~180 ms) back.
    """

    def __init__(self, rate: int, keep: int) -> None:
        n = frame_len(rate)
        self.rate = rate
        self._down = max(1, rate // ANALYSIS_RATE)  # 16 kHz -> 8 kHz: means of sample pairs
        self._fl = n // self._down  # samples per frame at 8 kHz
        self._ring = FrameRing(_PADS, keep=max(keep, 2 * WINDOW_FRAMES + HOP))
        hist = WINDOW_FRAMES + HOP
        self._samples = np.zeros((hist, self._fl))  # the last frames at 8 kHz
        self._levels = np.full(hist, -np.inf)
        self._tilts = np.zeros(hist)
        self._next = 0
        self._last_marked = -(10**9)  # the last hop that marked frames
        self._prev_hop: tuple[float, ...] | None = None  # the last hop's peaks (unconfirmed)
        self._prev_loud: np.ndarray | None = None  # absolute frames loud in that window
        self._current: tuple[float, ...] | None = None  # frequencies of the burst heard last
        self._burst_start = 0
        self._burst_end = 0  # frame after its last tone frame
        self._last_on: float | None = None  # the burst before, of the same tone
        self._gap: float | None = None
        self._hz_sum = np.zeros(2)
        self._hz_n = 0
        self._info_key: tuple[object, ...] | None = None
        self._info_value: ToneInfo | None = None
        self.hop_info: list[ToneInfo | None] = []  # per hop of the last block: the tone heard last
        self.hop_end: list[int] = []  # per hop: frame after the last tone frame

    def windows(self, first_end: int, count: int, step: int, width: int) -> np.ndarray | None:
        """(count, width) bool: frames that are not the caller (tones and their edges) in windows
        like FrameRing.windows', as known at each window's last frame (marks made by later hops
        are not seen); None when no frame of these windows is marked (the usual case)."""
        if self._last_marked < first_end - width + 1:
            return None
        marks = self._ring.windows(first_end, count, step, width)[_MASK]
        return marks <= (first_end + step * np.arange(count) + 1)[:, None]

    def flags(self, first: int, stop: int) -> np.ndarray:
        """Tone frames in [first, stop), with every mark made so far."""
        return self._ring.row(_TONE, first, stop) > 0

    def process(self, frames: np.ndarray, level: np.ndarray, tilt: np.ndarray) -> None:
        """Frames [next, next + n) with their level (dBov) and 30 ms tilt (dB)."""
        a = self._next
        b = a + frames.shape[0]
        ring = self._ring
        ring.reserve(b - a)
        c = ring.col(a)
        ring.buf[_TONE, c : c + b - a] = 0.0
        ring.buf[_MASK, c : c + b - a] = np.inf
        ring.end = b
        hist = self._samples.shape[0]
        if self._down > 1:  # means of neighbouring samples: a cheap low-pass before the decimation
            # written straight after the kept history, summed in the same order as one at a time
            samples = np.empty((hist + frames.shape[0], self._fl))
            samples[:hist] = self._samples
            x = samples[hist:]
            np.add(frames[:, 0 :: self._down], frames[:, 1 :: self._down], out=x)
            for k in range(2, self._down):
                x += frames[:, k :: self._down]
            x *= 1.0 / self._down
        else:
            samples = np.concatenate((self._samples, frames))
        levels = np.concatenate((self._levels, level))
        tilts = np.concatenate((self._tilts, tilt))
        self._next = b
        self.hop_info, self.hop_end = [], []
        first, count = hop_frames(a, b)
        if count:
            self._hops(first, count, a - hist, samples, levels, tilts)
        self._samples, self._levels, self._tilts = samples[-hist:], levels[-hist:], tilts[-hist:]

    def _hops(self, first: int, count: int, base: int, samples: np.ndarray, levels: np.ndarray,
              tilts: np.ndarray) -> None:
        """Hops ending at first + HOP * k; `base` is the absolute frame of row 0 of the arrays."""
        ends = first + HOP * np.arange(count) - base  # row of each hop's last frame
        rows = ends - WINDOW_FRAMES + 1  # each hop's window: a row of a sliding view (no index array)
        lv = sliding_window_view(levels, WINDOW_FRAMES)[rows]
        tl = sliding_window_view(tilts, WINDOW_FRAMES)[rows]
        top = lv.max(axis=1)
        loud = lv >= (top - LOUD_WITHIN_DB)[:, None]
        tl_loud_hi = np.where(loud, tl, -np.inf).max(axis=1)
        tl_loud_lo = np.where(loud, tl, np.inf).min(axis=1)
        gate = (top >= MIN_LEVEL_DBOV) & (loud.sum(axis=1) >= MIN_LOUD_FRAMES) \
            & (tl_loud_hi - tl_loud_lo <= TILT_SPREAD_DB)
        peaks: list[tuple[float, ...] | None] = [None] * count
        gated = np.flatnonzero(gate)
        if gated.size:
            flat = samples.reshape(-1)
            starts = (ends[gated] + 1) * self._fl - WINDOW
            win = sliding_window_view(flat, WINDOW)[starts]
            for k, pk in zip(gated.tolist(), _spectrum_peaks(win), strict=True):
                peaks[k] = pk
        if self._prev_hop is None and self._current is None and all(pk is None for pk in peaks):
            # no tone yet, and none in these windows: the usual case (each hop would change nothing)
            self.hop_info, self.hop_end = [None] * count, [self._burst_end] * count
            return
        with_peaks = [k for k, pk in enumerate(peaks) if pk is not None] + [count]
        k = 0
        while k < count:
            if peaks[k] is None and self._prev_hop is None:  # up to the next peaks nothing changes
                nxt = with_peaks[bisect_left(with_peaks, k)]
                self._quiet_hops(int(first + HOP * k), nxt - k)
                k = nxt
            else:
                self._hop(int(first + HOP * k), peaks[k], base + (rows[k] + _WINDOW_ROWS)[loud[k]])
                k += 1

    def _quiet_hops(self, i: int, m: int) -> None:
        """`m` hops from hop frame `i` on, none with peaks, after a hop without them: the state stays
        as it is, and each hop's info is what `_info` gives (its tone ongoing for the first hops
        within HOP frames of the burst's end, then not): the same objects, one call per change."""
        infos: list[ToneInfo | None]
        if self._current is None:
            infos = [None] * m
        else:
            ongoing = max(0, min(m, (self._burst_end + HOP - 1 - i) // HOP + 1))  # i + 1 - end <= HOP
            infos = [self._info(i)] * ongoing if ongoing else []
            if ongoing < m:
                infos += [self._info(i + HOP * ongoing)] * (m - ongoing)
        self.hop_info += infos
        self.hop_end += [self._burst_end] * m

    def _hop(self, i: int, peaks: tuple[float, ...] | None, loud_frames: np.ndarray) -> None:
        prev, prev_loud = self._prev_hop, self._prev_loud
        self._prev_hop, self._prev_loud = peaks, loud_frames if peaks is not None else None
        confirmed = prev is not None and prev_loud is not None and steady(peaks or (), prev)
        # a DTMF pair names itself (a 70 ms digit may fill one window); the next burst of the
        # tone heard last needs no second window either
        known = peaks is not None and (dtmf_key(peaks) is not None or (
            self._current is not None and steady(peaks, self._current)
            and i - self._burst_end <= REPEAT_WITHIN_FRAMES))
        if peaks is not None and (confirmed or known):
            marked = np.union1d(prev_loud, loud_frames) if confirmed and prev_loud is not None else loud_frames
            # and the edges of a burst: the speech-candidate run that a tone makes also takes in
            # a noise frame or two just over the floor before it, and the frames after it, where the
            # line's DC estimate (levels.DcOffset) carries a residue of the tone for ~40 ms
            edge = np.setdiff1d((marked[:, None] + np.arange(-EDGE_BEFORE, EDGE_AFTER + 1)).ravel(), marked)
            buf, origin = self._ring.buf, self._ring.origin
            tone_cols = marked[marked >= origin] - origin
            buf[_TONE, tone_cols] = 1.0
            both = np.concatenate((marked, edge))
            cols = both[(both >= origin) & (both <= i)] - origin
            # the hop that marked a frame (+1): a tracker reading hop h sees the marks made by then
            # only, so that its results do not depend on how the stream is cut into blocks
            buf[_MASK, cols] = np.minimum(buf[_MASK, cols], i + 1)
            self._last_marked = max(self._last_marked, i)
            self._extend_burst(peaks, int(marked[0]), int(marked[-1]) + 1)
        self.hop_info.append(self._info(i))
        self.hop_end.append(self._burst_end)

    def _extend_burst(self, peaks: tuple[float, ...], start: int, end: int) -> None:
        cur = self._current
        if cur is not None and same_tone(peaks, cur) and start <= self._burst_end + BURST_GAP_FRAMES:
            self._burst_start = min(self._burst_start, start)
            self._burst_end = max(self._burst_end, end)
        else:
            if cur is not None and same_tone(peaks, cur):
                self._last_on = (self._burst_end - self._burst_start) * FRAME_S
                self._gap = (start - self._burst_end) * FRAME_S
            else:
                self._last_on = self._gap = None
                self._hz_sum[:] = 0.0
                self._hz_n = 0
            self._burst_start, self._burst_end = start, end
        self._hz_sum[: len(peaks)] += peaks
        self._hz_n += 1
        mean = self._hz_sum[: len(peaks)] / self._hz_n
        self._current = tuple(float(f) for f in mean)

    def _info(self, i: int) -> ToneInfo | None:
        if self._current is None:
            return None
        ongoing = i + 1 - self._burst_end <= HOP  # the last hop still heard it
        key = (self._current, self._burst_start, self._burst_end, ongoing)
        if key == self._info_key:
            return self._info_value
        self._info_key = key
        self._info_value = self._make_info(ongoing)
        return self._info_value

    def _make_info(self, ongoing: bool) -> ToneInfo:
        assert self._current is not None
        on_s = (self._burst_end - self._burst_start) * FRAME_S
        kind = kind_of(self._current, on_s, ongoing, self._last_on, self._gap)
        return ToneInfo(tuple(round(f) for f in self._current), kind, self._burst_start)


def detect_tones(x: np.ndarray, rate: int) -> tuple[np.ndarray, list[ToneInfo | None]]:
    """A whole signal (int16 scale) at once: per-frame tone flags and per-hop tone info (tests, bench)."""
    from softphone_assist.core.detect.floor import SMOOTH_FRAMES
    from softphone_assist.core.detect.levels import dbov, frame_power_and_tilt, tilt_db

    n = frame_len(rate)
    frames = np.asarray(x, dtype=np.float64)[: len(x) // n * n].reshape(-1, n)
    power, diff = frame_power_and_tilt(frames)
    kernel = np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES
    sp = np.convolve(np.concatenate((np.zeros(SMOOTH_FRAMES - 1), power)), kernel, "valid")
    sd = np.convolve(np.concatenate((np.zeros(SMOOTH_FRAMES - 1), diff)), kernel, "valid")
    tracker = ToneTracker(rate, keep=0)
    tracker._ring = FrameRing(_PADS, keep=tracker._ring.keep, capacity=frames.shape[0] + 64)  # all of it
    tracker.process(frames, dbov(power), tilt_db(sp, sd))
    return tracker.flags(0, frames.shape[0]), tracker.hop_info
