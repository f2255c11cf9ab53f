"""audio/heap.keep_big_blocks: a replay's multi-MiB blocks stay in the heap for the next block
instead of being mmapped and handed back each time, even under a Dask nanny's
MALLOC_TRIM_THRESHOLD_=64 KiB (which doubled the audit's CPU there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# glibc's own account (mallinfo2): bytes in mmapped chunks while a 4 MiB block is alive, bytes
# kept free in the heap once it is freed, and the page faults of 50 such blocks
SNIPPET = """
import ctypes, json, resource, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                       "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    from softphone_assist.audio.heap import keep_big_blocks
    assert keep_big_blocks() and keep_big_blocks()  # once per process, and says it took
np.ones(1 << 19).sum()  # warm up
mmapped_before = libc.mallinfo2().hblkhd
block = np.ones(1 << 19)  # 4 MiB: one replay block's worth
mmapped = libc.mallinfo2().hblkhd - mmapped_before
del block
kept_free = libc.mallinfo2().fordblks
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    np.ones(1 << 19).sum()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"mmapped": mmapped, "kept_free": kept_free, "faults": faults}))
"""


def _heap(mode: str) -> dict[str, int]:
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what a Dask nanny sets
    done = subprocess.run([sys.executable, "-c", SNIPPET, mode], capture_output=True, text=True, env=env, check=True)
    return dict(json.loads(done.stdout))


@pytest.mark.skipif(not hasattr(os, "confstr") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only")
def test_big_blocks_are_kept_in_the_heap_instead_of_mmapped_each_time() -> None:
    plain, kept = _heap("plain"), _heap("keep")
    # without it every block is a fresh mmap, unmapped when freed (how many page faults that costs
    # depends on the kernel's transparent huge pages, so it is not asserted)
    assert plain["mmapped"] >= 4 << 20
    # with it the block comes from the heap, stays there when freed, and is reused: no new pages
    assert kept["mmapped"] == 0
    assert kept["kept_free"] >= 4 << 20
    assert kept["faults"] < 1000
