"""Run `audit_one` over many calls: in this process, a local process pool, or a Dask cluster.

A thin layer: each call is one task `audit_one(path, options)` whose result is a small row; rows
come back as calls finish (any order). The workers read the files by path (on a Dask cluster:
shared storage) and send back only the rows; nothing here schedules work itself. Pictures are
drawn by the command from the rows (audit/pictures.py), so workers never import matplotlib.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from softphone_assist.audio.heap import keep_big_blocks
from softphone_assist.audit.one import AuditOptions, audit_one
from softphone_assist.core.errors import UserError


def _audit_hashed(path: str, sha256: str | None, options: AuditOptions) -> dict[str, Any]:
    keep_big_blocks()  # once per Dask worker process: its nanny's malloc settings doubled the CPU
    return audit_one(path, options, sha256)  # client.map maps over the positional arguments


def run_here(paths: Sequence[Path], options: AuditOptions, known: Mapping[Path, str]) -> Iterator[dict[str, Any]]:
    keep_big_blocks()
    for p in paths:
        yield audit_one(p, options, known.get(p))


def _start_worker() -> None:
    # Ctrl-C reaches the whole terminal group: the parent decides (stop, keep the rows written),
    # the workers just finish the call they are on
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_big_blocks()


def local_pool(jobs: int) -> cf.ProcessPoolExecutor:
    # spawn, not fork: the parent has a progress-bar thread, and workers start the same way on
    # every platform (and in a frozen bundle)
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_start_worker)


def run_pool(paths: Sequence[Path], options: AuditOptions, jobs: int,
             known: Mapping[Path, str]) -> Iterator[dict[str, Any]]:
    """At most 2 x `jobs` calls handed out at a time, so a Ctrl-C or a crash loses only those."""
    pool = local_pool(jobs)
    todo = iter(paths)
    running: set[cf.Future[dict[str, Any]]] = set()
    try:
        while True:
            for p in itertools.islice(todo, 2 * jobs - len(running)):
                running.add(pool.submit(audit_one, p, options, known.get(p)))
            if not running:
                return
            done, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        # on an interrupt, do not wait for the calls in flight: their rows are not written anyway
        pool.shutdown(wait=not running, cancel_futures=True)


def run_dask(paths: Sequence[Path], options: AuditOptions, address: str,
             known: Mapping[Path, str]) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client, as_completed
    except ModuleNotFoundError:
        raise UserError("--scheduler: the Dask client is not installed "
                        "(pip install 'softphone-assist[audit]')") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise UserError(f"--scheduler {address}: cannot reach the Dask scheduler ({e})") from None
    try:
        # the command passes absolute paths: a worker's working folder is its own
        futures = client.map(_audit_hashed, [str(p) for p in paths], [known.get(p) for p in paths],
                             options=options, pure=False)
        for _fut, row in as_completed(futures, with_results=True):
            yield row
    finally:
        client.close()


def run_calls(paths: Sequence[Path], options: AuditOptions, *, jobs: int, scheduler: str | None,
              known: Mapping[Path, str] | None = None) -> Iterator[dict[str, Any]]:
    """`known`: sha256 already computed per path (handed to the workers: no file is hashed twice)."""
    known = known or {}
    if not paths:
        return iter(())
    if scheduler:
        return run_dask(paths, options, scheduler, known)
    if jobs <= 1 or len(paths) == 1:
        return run_here(paths, options, known)
    return run_pool(paths, options, min(jobs, len(paths)), known)
