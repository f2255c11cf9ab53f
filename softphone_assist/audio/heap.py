"""Keep the replay's big blocks in the process's heap (glibc's malloc; elsewhere nothing changes).

A replay works on 30 s blocks, a few MiB of float64 per channel and per step. glibc serves
allocations that big with mmap and unmaps them on free, so each new block pays its pages' faults
again. With glibc's defaults that was ~0.3 s of system CPU per audio hour (of ~2.4); on a Dask
worker, whose nanny sets MALLOC_TRIM_THRESHOLD_=64 KiB and so pins the mmap threshold at 128 KiB,
the audit took twice the CPU of the same audit in a plain process (bench/bench_audit.py).
Raising the mmap threshold to glibc's largest (32 MiB on 64-bit) and the trim threshold above it
keeps freed blocks for the next one: the process holds at most ~64 MiB more freed memory.
"""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's ceiling for 64-bit (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 64 << 20

_done: bool | None = None


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):  # not a glibc system (Windows, macOS, musl)
        return False


def keep_big_blocks() -> bool:
    """Once per process; True when glibc took both settings (False elsewhere: musl, Windows, macOS)."""
    global _done
    if _done is None:
        _done = False
        if _glibc():
            try:
                libc = ctypes.CDLL(None)  # the running program's symbols, glibc's among them (ctypes.util: ~9 ms)
                _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                    libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
            except (OSError, AttributeError):
                _done = False
    return _done
