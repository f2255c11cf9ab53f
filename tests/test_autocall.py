"""Automatic call start/end from digital zero on the caller stream (no softphone hooks)."""

from __future__ import annotations

import numpy as np
import pytest

from softphone_assist.core.autocall import AutoCallConfig, AutoCallDetector

RATE = 16000


def zeros(s: float) -> np.ndarray:
    return np.zeros(round(s * RATE))


def hiss(s: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 10.0, round(s * RATE))  # ~ -70 dBov line hiss


def run(det: AutoCallDetector, *parts: np.ndarray, block: int = 320) -> list[tuple[float, str]]:
    x = np.concatenate(parts)
    out = []
    for i in range(0, len(x), block):
        out += det.process(x[i:i + block])
    return [(round(t, 3), k) for t, k in out]


def test_sound_after_digital_zero_starts_a_call_at_its_first_frame():
    assert run(AutoCallDetector(RATE), zeros(1.5), hiss(2.0)) == [(1.5, "call_start")]


def test_sound_from_the_very_start_is_not_a_call_start():
    # the app started in the middle of a call: nobody knows when it began
    assert run(AutoCallDetector(RATE), hiss(3.0)) == []


def test_too_short_a_gap_is_not_a_new_call():
    det = AutoCallDetector(RATE)
    assert run(det, zeros(1.0), hiss(1.0)) == [(1.0, "call_start")]
    det.hook_took_over()  # a hook drives this call; a dropout inside it is no new call
    assert run(det, zeros(0.5), hiss(1.0)) == []


def test_a_stream_that_opens_on_digital_zero_starts_a_call_at_the_first_sound():
    assert run(AutoCallDetector(RATE), zeros(0.3), hiss(1.0)) == [(0.3, "call_start")]


def test_a_stray_lsb_still_counts_as_digital_zero():
    assert run(AutoCallDetector(RATE), np.ones(RATE * 2), hiss(1.0)) == [(2.0, "call_start")]


def test_an_auto_started_call_ends_after_eight_seconds_of_zero():
    det = AutoCallDetector(RATE, AutoCallConfig(start_after_zero_s=1.0, end_after_zero_s=8.0))
    assert run(det, zeros(1.0), hiss(5.0), zeros(9.0)) == [(1.0, "call_start"), (14.0, "call_end")]


def test_hold_suspends_the_end_rule():
    det = AutoCallDetector(RATE)
    assert run(det, zeros(1.0), hiss(1.0)) == [(1.0, "call_start")]
    det.on_hold = True
    assert run(det, zeros(20.0)) == []


def test_a_hook_driven_call_is_never_ended_automatically():
    det = AutoCallDetector(RATE)
    run(det, zeros(1.0), hiss(1.0))
    det.hook_took_over()
    assert run(det, zeros(20.0)) == []


@pytest.mark.parametrize("block", [1, 160, 4000])
def test_block_size_does_not_change_the_result(block: int):
    assert run(AutoCallDetector(RATE), zeros(1.237), hiss(1.0), block=block) == [(1.23, "call_start")]
