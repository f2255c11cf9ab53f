"""Per-frame measurements computed once per block with numpy: power, spectral tilt, clipping.

Also the packet-loss repair for level statistics: a lost packet arrives as a few frames of
digital zero in the middle of speech or noise, and a floor tracker must not read them as the
line falling silent. Zero runs shorter than `ZERO_RUN_FRAMES` keep the last real level; longer
runs are a digitally silent line and read as the -120 dBov floor.
"""

from __future__ import annotations

import math

import numpy as np

from softphone_assist.core.detect.framing import FULL_SCALE, LEVEL_FLOOR_DBOV, power_to_dbov

LEVEL_FRAMES = 10  # LineStats.level_dbov: the last 100 ms
SILENT_LINE_DBOV = -90.0  # below this a level is reported as None (digital silence)
ZERO_RUN_FRAMES = 8  # lost packets come in bursts of 1-3 x 20 ms; 80 ms of zeros is a silent line
ZERO_LEVEL_DBOV = LEVEL_FLOOR_DBOV + 1e-6


DC_FOLLOW = 0.05  # per frame: the DC estimate follows frame means with a 0.2 s time constant


class DcOffset:
    """The line's DC offset, estimated from frame means and carried across blocks.

    A DC offset is inaudible (a telephone line does not carry it), but it adds to a frame's mean
    square: a constant of 0.3 full scale read as "noisy" at -10.5 dBov. Levels are measured on the
    frames minus this estimate. It starts at the first frame's mean (a constant goes at once) and
    then moves slowly, so the frame means of 50/60 Hz hum, which alternate in sign, average out
    and the hum keeps its level. Per frame, in order: the result does not depend on block cuts.
    """

    def __init__(self) -> None:
        self.value: float | None = None

    def remove(self, frames: np.ndarray, power: np.ndarray) -> np.ndarray:
        """The frames' mean square about the DC estimate; digital-zero frames stay exactly 0."""
        means = frames.mean(axis=1)
        ms = means.tolist()
        if not ms:
            return np.where(power > 0.0, power, 0.0)
        y = ms[0] if self.value is None else self.value
        # ~100 steps per second of audio, one by one in this order: a vectorised filter would round
        # differently (the first step leaves y = the first mean exactly, as a start should)
        follow = DC_FOLLOW
        steps = [y := y + follow * (m - y) for m in ms]
        self.value = y
        dc = np.array(steps)
        # mean((x - d)^2) = mean(x^2) - 2 d mean(x) + d^2
        ac = np.maximum(power - 2.0 * dc * means + dc * dc, 0.0)
        return np.where(power > 0.0, ac, 0.0)


def frame_power_and_tilt(frames: np.ndarray, dc: DcOffset | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean square of each frame (about the DC offset, with `dc`) and of its first difference (a
    high-pass: the spectral tilt, which a DC offset does not touch)."""
    f = np.asarray(frames, dtype=np.float64)
    n = f.shape[1]
    power = np.einsum("ij,ij->i", f, f) / n
    lag1 = np.einsum("ij,ij->i", f[:, 1:], f[:, :-1]) / n
    # mean((x[k]-x[k-1])^2) ~ 2 (r0 - r1); exact enough for a tilt that is only compared with itself
    diff_power = np.maximum(2.0 * (power - lag1), 0.0)
    return (dc.remove(f, power) if dc is not None else power), diff_power


def clipped_per_frame(frames: np.ndarray, clip_dbov: float) -> np.ndarray | None:
    """Samples at or above the clip level in each frame (0 dBov peak = 32768); None if none at all."""
    limit = FULL_SCALE * 10.0 ** (clip_dbov / 20.0)
    if frames.max(initial=0.0) < limit and -frames.min(initial=0.0) < limit:
        return None  # the usual case, without a temporary array
    return np.count_nonzero(np.abs(frames) >= limit, axis=1)


def count_clipped(buf: np.ndarray, row: int, c: int, frames: np.ndarray, clip_dbov: float) -> None:
    """Fills buf[row, c : c + n] with the running count of clipped samples (continuing column c - 1)."""
    per_frame = clipped_per_frame(frames, clip_dbov)
    n = frames.shape[0]
    if per_frame is None:
        buf[row, c : c + n] = buf[row, c - 1]
    else:
        buf[row, c : c + n] = buf[row, c - 1] + np.cumsum(per_frame)


def tilt_db(power: np.ndarray, diff_power: np.ndarray) -> np.ndarray:
    """High-pass to full-band power ratio in dB; +3 dB for white noise, -20 dB for a vowel."""
    return 10.0 * np.log10((diff_power + 1e-3) / (power + 1e-3))


class ZeroRunRepair:
    """Replaces short runs of digital-zero frames (lost packets) by the last real level."""

    def __init__(self) -> None:
        self.run = ZERO_RUN_FRAMES  # as if the stream began after a long silence
        self.last_level = LEVEL_FLOOR_DBOV

    def __call__(self, level_dbov: np.ndarray) -> np.ndarray:
        n = level_dbov.size
        if n == 0:
            return level_dbov
        zero = level_dbov <= ZERO_LEVEL_DBOV
        if not zero.any():
            self.run = 0
            self.last_level = float(level_dbov[-1])
            return level_dbov
        idx = np.arange(n)
        # index of the last non-zero frame at or before each frame (-1 - run: before this block)
        last_real = np.maximum.accumulate(np.where(zero, -1 - self.run, idx))
        run = idx - last_real
        value = np.where(last_real >= 0, level_dbov[np.maximum(last_real, 0)], self.last_level)
        out = np.where(zero & (run < ZERO_RUN_FRAMES), value, level_dbov)
        self.run = int(min(run[-1], ZERO_RUN_FRAMES))
        self.last_level = float(value[-1])
        return out


# Voicing (noise_model.py's voicing features): a talker's voiced sounds repeat with a pitch period
# of 2.5-12 ms (83-400 Hz), most noises do not. Read on 20 ms windows at 4 kHz (the caller tracker
# sums 2 samples in a row at 8 kHz, 4 at 16 kHz: a low-pass enough for a pitch search, and a
# window costs ~2 us, a third of one at 8 kHz), as the normalised autocorrelation's peak over those
# lags. An FFT of VOICE_NFFT >= window + longest lag gives the linear (not circular)
# autocorrelation.
VOICE_RATE = 4000
VOICE_WINDOW = 80  # 20 ms at 4 kHz: two 10 ms frames
VOICE_LAG_MIN, VOICE_LAG_MAX = 10, 48  # 2.5-12 ms at 4 kHz
VOICE_NFFT = 128
assert VOICE_NFFT >= VOICE_WINDOW + VOICE_LAG_MAX


def voicing(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised autocorrelation peak over the pitch lags and its lag (ms) of (m, VOICE_WINDOW)
    windows at 4 kHz: r(k) / r(0), times W / (W - k) for the fewer products a longer lag has, so
    a periodic sound reads ~1 at its period whatever its level or the lag, noise ~0.3-0.5, and
    digital silence 0. In float64: numpy's float32 transforms measured 2-4x slower. The lag is
    refined by a parabola through the peak and its neighbours (one lag step is 5 % of a 200 Hz
    period; held notes are told by lag steps of under 1 %)."""
    x = windows - windows.mean(axis=1, keepdims=True)  # a DC offset would correlate at every lag
    spec = np.fft.rfft(x, VOICE_NFFT, axis=1)
    spec *= spec.conj()  # the power spectrum (imaginary parts exactly 0)
    lo, hi = VOICE_LAG_MIN - 1, VOICE_LAG_MAX + 2  # one lag either side for the parabola
    r = np.fft.irfft(spec, VOICE_NFFT, axis=1)
    ncc = r[:, lo:hi] * (_UNBIAS / (r[:, :1] + 1.0))  # +1 (int16 units^2): digital silence reads 0
    j = np.argmax(ncc[:, 1:-1], axis=1) + 1
    rows = np.arange(ncc.shape[0])
    y0, y1, y2 = ncc[rows, j - 1], ncc[rows, j], ncc[rows, j + 1]
    curve = y0 - 2.0 * y1 + y2
    shift = np.where(curve < 0.0, 0.5 * (y0 - y2) / np.where(curve < 0.0, curve, -1.0), 0.0)
    lag = (lo + j) + np.clip(shift, -0.5, 0.5)
    return np.clip(y1, 0.0, 1.0), lag * (1000.0 / VOICE_RATE)


_UNBIAS = VOICE_WINDOW / (VOICE_WINDOW - np.arange(VOICE_LAG_MIN - 1, VOICE_LAG_MAX + 2))


def dbov(power: np.ndarray) -> np.ndarray:
    return power_to_dbov(power)


def reported(level_dbov: float) -> float | None:
    """A level as LineStats reports it: digital silence (and no estimate yet) read None."""
    return None if level_dbov <= SILENT_LINE_DBOV or not math.isfinite(level_dbov) else level_dbov
