"""Where the app listens, and keeping that place user-only.

POSIX: an AF_UNIX socket (0600) in a directory we own (0700); a directory owned by anyone else is
refused, by the server and by the client. Windows has no AF_UNIX in CPython: the server listens on
127.0.0.1 (ephemeral port) and writes port + a random token to a user-only file under %LOCALAPPDATA%.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Literal, NamedTuple

from softphone_assist.core import safejson
from softphone_assist.core.errors import UserError
from softphone_assist.ipc.protocol import log

Transport = Literal["unix", "tcp"]
ENV_ENDPOINT = "SOFTPHONE_ASSIST_IPC"  # overrides the socket / endpoint-file path (tests, 2 instances)
_APP_DIR = "softphone-assist"


class IpcSetupError(UserError):
    """The channel cannot be set up safely (foreign directory, path too long, not a socket)."""


class Endpoint(NamedTuple):
    """Where the app listens: an AF_UNIX socket file, or (tcp) a user-only file with port and token."""

    path: Path
    transport: Transport
    default: bool = False  # the per-user default location (its directory is ours to create/tighten)


def default_transport() -> Transport:
    return "unix" if hasattr(socket, "AF_UNIX") and sys.platform != "win32" else "tcp"


def default_endpoint(transport: Transport | None = None) -> Endpoint:
    transport = transport or default_transport()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / _APP_DIR
    elif (xdg := os.environ.get("XDG_RUNTIME_DIR")) and os.path.isabs(xdg):
        base = Path(xdg) / _APP_DIR
    else:  # no runtime dir (root, cron, macOS): a per-user directory under the temp dir
        base = Path(os.environ.get("TMPDIR") or "/tmp") / f"{_APP_DIR}-{os.getuid()}"
    return Endpoint(base / ("ipc.sock" if transport == "unix" else "ipc.json"), transport, default=True)


def resolve_endpoint(
    path: str | os.PathLike[str] | None = None, transport: Transport | None = None
) -> Endpoint:
    """An explicit path, else $SOFTPHONE_ASSIST_IPC, else the per-user default."""
    transport = transport or default_transport()
    if path is None and (env := os.environ.get(ENV_ENDPOINT)):
        path = env
    return Endpoint(Path(path), transport) if path is not None else default_endpoint(transport)


def dir_problem(path: Path, private: bool) -> str | None:
    """Why we must not use `path` for the endpoint, or None. `private`: nobody else may even enter."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "does not exist"
    if not stat.S_ISDIR(st.st_mode):
        return "exists and is not a directory (a symlink is refused too)"
    if hasattr(os, "getuid"):
        if st.st_uid != os.getuid():
            return f"is owned by uid {st.st_uid}, not by you (uid {os.getuid()}); refusing to use it"
        mode = stat.S_IMODE(st.st_mode)
        if mode & (0o077 if private else 0o022):
            return f"has mode {mode:o}; others can {'enter' if private else 'write'} it"
    return None


def make_endpoint_dir(ep: Endpoint) -> None:
    """Create the default directory 0700 (or tighten ours); check an explicitly chosen one."""
    path = ep.path.parent
    if sys.platform == "win32":  # %LOCALAPPDATA% is per-user by its ACL; mode bits mean nothing there
        path.mkdir(parents=True, exist_ok=True)
        return
    if ep.default:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    problem = dir_problem(path, private=ep.default)
    if problem and problem.startswith("has mode") and ep.default:
        os.chmod(path, 0o700)  # ours but too open (an old umask): tighten instead of failing
        log().warning("%s %s; changed to 700", path, problem)
    elif problem:
        raise IpcSetupError(f"{path}: {problem}")


def write_private_file(path: Path, text: str) -> None:
    """Write a 0600 file under a temporary name, then rename: never readable with the umask's mode."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def read_endpoint_file(path: Path) -> tuple[int, str] | None:
    """(port, token) from a tcp endpoint file, or None if it is missing or unusable."""
    try:
        data = safejson.loads(path.read_text(encoding="utf-8"))
        port, token = data["port"], data["token"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(port, int) and 0 < port < 65536 and isinstance(token, str) and token:
        return port, token
    return None
