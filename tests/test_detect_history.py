"""FrameRing: absolute frame indexing, pre-stream pads, compaction, strided windows."""

from __future__ import annotations

import numpy as np
import pytest

from softphone_assist.core.detect.history import FrameRing


def fill(ring: FrameRing, first: int, n: int) -> None:
    ring.reserve(n)
    c = ring.col(first)
    ring.buf[0, c : c + n] = np.arange(first, first + n)
    ring.buf[1, c : c + n] = -np.arange(first, first + n)
    ring.end = first + n


def test_frames_before_the_stream_read_as_the_pads():
    ring = FrameRing([7.0, -1.0], keep=4, capacity=16)
    fill(ring, 0, 3)
    assert ring.row(0, -2, 3).tolist() == [7.0, 7.0, 0.0, 1.0, 2.0]
    assert ring.row(1, -1, 1).tolist() == [-1.0, 0.0]


def test_windows_are_views_ending_at_evenly_spaced_frames():
    ring = FrameRing([0.0, 0.0], keep=4, capacity=64)
    fill(ring, 0, 20)
    w = ring.windows(4, 3, 5, 3)
    assert w.shape == (2, 3, 3)
    assert w[0].tolist() == [[2, 3, 4], [7, 8, 9], [12, 13, 14]]
    assert not w.flags.writeable


def test_compaction_keeps_the_last_frames_at_their_frame_numbers():
    ring = FrameRing([0.0, 0.0], keep=5, capacity=20)
    first = 0
    for n in (7, 6, 9, 3, 8):  # crosses the end of the buffer twice
        fill(ring, first, n)
        first += n
    assert ring.end == 33
    assert ring.row(0, 28, 33).tolist() == [28, 29, 30, 31, 32]
    assert ring.windows(32, 1, 1, 5)[1, 0].tolist() == [-28, -29, -30, -31, -32]


def test_a_block_larger_than_the_buffer_is_refused_and_old_frames_are_not_held():
    ring = FrameRing([0.0, 0.0], keep=5, capacity=20)
    with pytest.raises(ValueError, match="exceeds"):
        ring.reserve(16)
    fill(ring, 0, 15)
    fill(ring, 15, 10)
    with pytest.raises(IndexError):
        ring.windows(15, 1, 1, 10)
