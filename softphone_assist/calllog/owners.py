"""Which process owns an open call: a lock file per writing process, held for its whole life.

Several instances may share one call log (a second `listen --no-ipc`, a test run beside the app).
At start-up an instance closes the calls that a dead process left open, never those of a live
one. "Dead" is what the OS says: each writer holds an exclusive lock on its own file in
`<log>.owners/` while it runs; the OS releases it when the process ends, even on `kill -9`, and
a reused pid does not fool it. A lock this process can take belongs to nobody alive.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from pathlib import Path


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def owners_dir(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + ".owners")


class OwnerLock:
    """This process's mark: `token` goes into the calls it starts; the lock lasts until `release()`."""

    def __init__(self, log_path: Path) -> None:
        folder = owners_dir(log_path)
        folder.mkdir(mode=0o700, exist_ok=True)
        self.token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.path = folder / f"{self.token}.lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(self._fd):  # a fresh random name: nobody else can hold it
            os.close(self._fd)
            raise OSError(f"{self.path}: cannot lock a new owner file")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None


def owner_alive(log_path: Path, token: str) -> bool:
    """Does the process that wrote `token` still run? Its lock file is removed once it is dead."""
    if "/" in token or "\\" in token or token.startswith("."):
        return False  # not a token we write
    path = owners_dir(log_path) / f"{token}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        if not _try_lock(fd):
            return True
        with contextlib.suppress(OSError):
            os.unlink(path)
        _unlock(fd)
        return False
    finally:
        os.close(fd)


def sweep_dead_owners(log_path: Path) -> None:
    """Remove the lock files of processes that ended (kill -9 between calls leaves one behind)."""
    folder = owners_dir(log_path)
    with contextlib.suppress(OSError):
        for entry in folder.glob("*.lock"):
            owner_alive(log_path, entry.stem)
