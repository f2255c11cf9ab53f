"""Opening the listening socket: one instance per endpoint, stale leftovers replaced, user-only.

A stale socket or endpoint file left by a crashed app is replaced; one that a live app answers on
raises AlreadyRunningError; anything else in the way (a regular file, a path too long for AF_UNIX)
raises IpcSetupError and is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
from pathlib import Path

from softphone_assist.core.errors import UserError
from softphone_assist.ipc.client import tcp_alive
from softphone_assist.ipc.endpoint import ENV_ENDPOINT, IpcSetupError, read_endpoint_file, write_private_file
from softphone_assist.ipc.protocol import log

# a burst of hooks waits in the kernel between two polls (20 ms) instead of finding the door shut;
# the kernel caps it at net.core.somaxconn (4096 on current Linux)
BACKLOG = 512
_MAX_UNIX_PATH = 107 if sys.platform.startswith("linux") else 103  # sun_path minus the NUL


class AlreadyRunningError(UserError):
    """Another softphone-assist already listens on the endpoint."""


def bind_unix(path: Path) -> tuple[socket.socket, int]:
    """A listening AF_UNIX socket at `path` (mode 0600) and the inode that marks it as ours."""
    if len(os.fsencode(path)) > _MAX_UNIX_PATH:
        raise IpcSetupError(
            f"{path}: socket path is too long for AF_UNIX; set {ENV_ENDPOINT} to a shorter path"
        )
    replace_stale_unix(path)
    # Bind under a temporary name, chmod, then rename: the socket is never reachable with the
    # umask's mode, and a stale file is replaced atomically.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(tmp))
        os.chmod(tmp, 0o600)
        sock.listen(BACKLOG)
        os.replace(tmp, path)
    except BaseException as e:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise IpcSetupError(f"{path}: cannot listen: {e.strerror or e}") from None
        raise
    return sock, os.lstat(path).st_ino


def replace_stale_unix(path: Path) -> None:
    """Remove a socket nobody listens on; AlreadyRunningError if someone does."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise IpcSetupError(f"{path}: exists and is not a socket; remove it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except (ConnectionRefusedError, FileNotFoundError):
        log().info("replacing stale socket %s (no process listens on it)", path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    except TimeoutError:
        pass  # connected to a listener whose backlog is full: it is alive
    except OSError as e:
        raise IpcSetupError(f"{path}: cannot check the existing socket: {e.strerror or e}") from None
    finally:
        probe.close()
    raise AlreadyRunningError(f"softphone-assist is already running (it listens on {path})")


def bind_tcp(path: Path) -> tuple[socket.socket, str]:
    """A listening socket on 127.0.0.1 and the token every request must carry, both noted in `path`."""
    import secrets

    if (info := read_endpoint_file(path)) is not None and tcp_alive(*info):
        raise AlreadyRunningError(f"softphone-assist is already running (port {info[0]}, see {path})")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: nobody may bind the same port over us
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(BACKLOG)
        token = secrets.token_hex(16)
        port = sock.getsockname()[1]
        write_private_file(path, json.dumps({"port": port, "token": token, "pid": os.getpid()}))
    except BaseException as e:
        sock.close()
        if isinstance(e, OSError):
            raise IpcSetupError(f"{path}: cannot listen: {e.strerror or e}") from None
        raise
    return sock, token
