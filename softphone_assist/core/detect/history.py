"""Per-frame values indexed by absolute frame number, with the recent past kept for windows.

Every detector statistic at frame i is a function of frames in a bounded window before i.
Keeping those windows in a `FrameRing`, and computing each value once when its inputs are
final, makes the trackers give identical results whatever the block size (1 frame live,
~100 frames in replay): a block only appends, it never recomputes the past differently.

All series of a tracker live as rows of one preallocated buffer, so one strided view serves
every window of a block: with 100-frame blocks the cost of a tracker is numpy call overhead,
not arithmetic, and this keeps the number of calls per block small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class FrameRing:
    """Rows of per-frame values; column c holds frame `origin + c`.

    The first `keep` columns start out as the rows' pads: frames before the stream began
    read as "nothing there" (a digitally silent line, no speech). When the buffer is full the
    last `keep` columns move to the front.
    """

    def __init__(self, pads: Sequence[float], keep: int, capacity: int = 4096) -> None:
        self.keep = keep
        self.capacity = max(capacity, 4 * keep)
        self.buf = np.empty((len(pads), self.capacity))
        self.buf[:, :keep] = np.asarray(pads, dtype=np.float64)[:, None]
        self.origin = -keep  # frame number of column 0
        self.end = 0  # frames [.., end) have columns

    def reserve(self, n: int) -> None:
        """Make room for `n` more frames (n <= capacity - keep)."""
        used = self.end - self.origin
        if used + n <= self.capacity:
            return
        if self.keep + n > self.capacity:
            raise ValueError(f"block of {n} frames exceeds the buffer ({self.capacity - self.keep})")
        self.buf[:, : self.keep] = self.buf[:, used - self.keep : used]
        self.origin = self.end - self.keep

    def col(self, frame: int) -> int:
        return frame - self.origin

    def row(self, r: int, first: int, stop: int) -> np.ndarray:
        """View of row `r` for frames [first, stop)."""
        return self.buf[r, first - self.origin : stop - self.origin]

    def windows(self, first_end: int, count: int, step: int, width: int) -> np.ndarray:
        """Read-only (rows, count, width) view: `width` frames ending at first_end + k * step."""
        start = first_end - width + 1 - self.origin
        if start < 0 or first_end + (count - 1) * step - self.origin >= self.capacity:
            raise IndexError(f"windows ending at {first_end} (+{count} x {step}) are not held")
        item = self.buf.itemsize
        view = np.ndarray(
            (self.buf.shape[0], count, width), dtype=self.buf.dtype, buffer=self.buf,
            offset=start * item, strides=(self.buf.strides[0], step * item, item),
        )
        view.flags.writeable = False
        return view
