"""Frame grid and levels: exact dBov values of known signals, lost-packet repair, clipping."""

from __future__ import annotations

import numpy as np
import pytest

from softphone_assist.core.detect import FRAME_S, frame_dbov, frame_len
from softphone_assist.core.detect.framing import frame_time
from softphone_assist.core.detect.levels import (
    ZERO_RUN_FRAMES,
    ZeroRunRepair,
    clipped_per_frame,
    frame_power_and_tilt,
)


def sine_frames(amplitude: float, rate: int, n: int, hz: float = 200.0) -> np.ndarray:
    t = np.arange(n * frame_len(rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).reshape(n, frame_len(rate))


@pytest.mark.parametrize(("rate", "n"), [(8000, 80), (16000, 160), (32000, 320), (48000, 480)])
def test_frame_len_is_10_ms(rate, n):
    assert frame_len(rate) == n
    assert FRAME_S == 0.01


def test_frame_len_rejects_other_rates():
    with pytest.raises(ValueError, match="11025"):
        frame_len(11025)


def test_frame_time_is_exact_on_the_grid():
    assert frame_time(138) == 1.38
    assert frame_time(3) == 0.03


def test_full_scale_square_wave_is_0_dbov():
    sq = np.tile(np.r_[np.full(40, 32768.0), np.full(40, -32768.0)], 3).reshape(3, 80)
    assert frame_dbov(sq) == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("amplitude", [32767.0, 1000.0, 10.0])
def test_sine_is_3_01_db_under_its_peak(rate, amplitude):
    # 200 Hz: two whole periods per 10 ms frame, so each frame's mean square is exactly A^2 / 2
    expected = 20 * np.log10(amplitude / 32768) - 10 * np.log10(2)
    assert frame_dbov(sine_frames(amplitude, rate, 4)) == pytest.approx([expected] * 4, abs=1e-9)


def test_digital_zero_reads_the_floor_not_minus_infinity():
    assert frame_dbov(np.zeros((2, 160))).tolist() == [-120.0, -120.0]


def test_tilt_power_is_high_for_a_fast_signal_and_low_for_a_slow_one():
    alternating = np.tile([1000.0, -1000.0], 80).reshape(1, 160)
    slow = sine_frames(1000.0, 16000, 1, hz=100.0)
    p_fast, d_fast = frame_power_and_tilt(alternating)
    p_slow, d_slow = frame_power_and_tilt(slow)
    assert d_fast[0] / p_fast[0] == pytest.approx(4.0, rel=0.02)  # x[k] - x[k-1] = 2 x[k]
    assert d_slow[0] / p_slow[0] < 0.01


def test_short_zero_runs_keep_the_last_level_and_long_ones_read_silent():
    repair = ZeroRunRepair()
    level = np.array([-30.0, -120.0, -120.0, -31.0] + [-120.0] * (ZERO_RUN_FRAMES + 2))
    out = repair(level)
    assert out[:4].tolist() == [-30.0, -30.0, -30.0, -31.0]
    # a lost packet repeats the last level; from the 8th zero frame on, the line is silent
    assert out[4 : 4 + ZERO_RUN_FRAMES - 1].tolist() == [-31.0] * (ZERO_RUN_FRAMES - 1)
    assert out[4 + ZERO_RUN_FRAMES - 1 :].tolist() == [-120.0] * 3


def test_zero_run_repair_is_the_same_across_block_boundaries():
    level = np.array([-30.0, -120.0, -120.0, -120.0, -25.0, -120.0] + [-120.0] * 9 + [-40.0])
    whole = ZeroRunRepair()(level)
    split = ZeroRunRepair()
    parts = np.concatenate([split(level[:2]), split(level[2:3]), split(level[3:9]), split(level[9:])])
    assert parts.tolist() == whole.tolist()


def test_clipped_samples_are_counted_per_frame_at_or_over_the_clip_level():
    x = np.zeros((2, 80))
    x[0, :3] = 32767.0
    x[1, 5] = -32768.0
    x[1, 6] = 32000.0  # -0.2 dBov: under the -0.1 dBov clip level
    assert clipped_per_frame(x, -0.1).tolist() == [3, 1]
    assert clipped_per_frame(x, -1.0).tolist() == [3, 2]
    assert clipped_per_frame(np.zeros((1, 80)), -0.1) is None
