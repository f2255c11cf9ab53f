"""audio/heap.keep_big_blocks: a replay's multi-MiB blocks stop costing page faults each time,
even under a Dask nanny's MALLOC_TRIM_THRESHOLD_=64 KiB (which doubled the audit's CPU there)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SNIPPET = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from softphone_assist.audio.heap import keep_big_blocks
    assert keep_big_blocks() and keep_big_blocks()  # once per process, and says it took
np.ones(1 << 19).sum()  # warm up
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    np.ones(1 << 19).sum()  # 4 MiB, freed at once: one replay block's worth
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what a Dask nanny sets
    done = subprocess.run([sys.executable, "-c", SNIPPET, mode], capture_output=True, text=True, env=env, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not hasattr(os, "confstr") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only")
def test_big_blocks_are_kept_in_the_heap_instead_of_faulted_in_each_time() -> None:
    plain, kept = _faults("plain"), _faults("keep")
    assert plain > 50 * 200  # each block's pages faulted in again (~500 faults per 4 MiB measured here)
    assert kept < 1000  # once, not per block
