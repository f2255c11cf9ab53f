"""Local control channel: softphone hooks tell the running app about the call state.

Rules of this module:
- stdlib only and nothing heavy at import: `softphone-assist call hold` starts Python, sends one
  line and exits, and MicroSIP waits for that process before it goes on (lib/MSIP.cpp `RunCmd`).
- The server never blocks and starts no thread: the app's main loop (a Qt QTimer or the headless
  loop) calls `IpcServer.poll()` and gets the commands that arrived since the last call.
- Wire format: one JSON object per line (UTF-8, "\\n"), at most `MAX_LINE_BYTES` per line.
    request  {"cmd": "call", "state": "hold", "number": "10086"}   ("number" optional)
             {"cmd": "ping"}
    reply    {"ok": true}  or  {"ok": false, "error": "..."}
  Unknown keys in a request are ignored, so an older app accepts a newer client's requests.
- User-only: POSIX uses an AF_UNIX socket (0600) in a directory we own (0700); a directory owned by
  anyone else is refused, by the server and by the client. Windows has no AF_UNIX in CPython: the
  server listens on 127.0.0.1 (ephemeral port) and writes port + a random token to a file under
  %LOCALAPPDATA%; every request must carry that token.
- Junk (not JSON, unknown state, a line over 4 KiB, a client that stalls) gets an error reply, is
  logged on logger `softphone_assist.ipc`, and never raises out of `poll()`.
- The client path imports no logging, dataclasses or events (about 20 ms of start-up
  on this machine): those are imported where the server or the engine needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TextIO

from softphone_assist.errors import UserError

if TYPE_CHECKING:
    import logging
    import selectors

    from softphone_assist.events import CallEvent, CallEventKind


def _log() -> logging.Logger:
    import logging

    return logging.getLogger("softphone_assist.ipc")


Transport = Literal["unix", "tcp"]
CALL_STATES: tuple[str, ...] = ("start", "answered", "hold", "resume", "closing", "end")
_EVENT_KIND: dict[str, CallEventKind] = {
    "start": "call_start", "answered": "answered", "hold": "hold",
    "resume": "resume", "closing": "closing", "end": "call_end",
}
MAX_LINE_BYTES = 4096  # a request line longer than this (without its "\n") is refused
MAX_NUMBER_CHARS = 128
ENV_ENDPOINT = "SOFTPHONE_ASSIST_IPC"  # overrides the socket / endpoint-file path (tests, 2 instances)
_APP_DIR = "softphone-assist"
_MAX_UNIX_PATH = 107 if sys.platform.startswith("linux") else 103  # sun_path minus the NUL
_READ, _WRITE = 1, 2  # selectors.EVENT_READ / EVENT_WRITE, without importing selectors here


class IpcSetupError(UserError):
    """The channel cannot be set up safely (foreign directory, path too long, not a socket)."""


class AlreadyRunningError(UserError):
    """Another softphone-assist already listens on the endpoint."""


class IpcClientError(Exception):
    """`softphone-assist call` failed; the message is one line. Not a UserError: the exit code is 1."""


class NotRunningError(IpcClientError):
    """Nothing listens: the app is not running."""


class Endpoint(NamedTuple):
    """Where the app listens: an AF_UNIX socket file, or (tcp) a user-only file with port and token."""

    path: Path
    transport: Transport
    default: bool = False  # the per-user default location (its directory is ours to create/tighten)


class CallCommand(NamedTuple):
    """One call-state message from a softphone hook: `state` is a word of CALL_STATES.

    A NamedTuple rather than a dataclass: immutable all the same, and it keeps dataclasses
    (and inspect) out of the hook client's start-up.
    """

    state: str
    number: str | None = None

    @property
    def kind(self) -> CallEventKind:
        return _EVENT_KIND[self.state]

    def to_event(self, t: float) -> CallEvent:
        """The engine's input, stamped with the stream time at which the app received it."""
        from softphone_assist.events import CallEvent

        return CallEvent(t=t, kind=self.kind, source="ipc")


# --------------------------------------------------------------------------------------------
# Endpoint location and the private directory
# --------------------------------------------------------------------------------------------
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


def _dir_problem(path: Path, private: bool) -> str | None:
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


def _make_endpoint_dir(ep: Endpoint) -> None:
    """Create the default directory 0700 (or tighten ours); check an explicitly chosen one."""
    path = ep.path.parent
    if sys.platform == "win32":  # %LOCALAPPDATA% is per-user by its ACL; mode bits mean nothing there
        path.mkdir(parents=True, exist_ok=True)
        return
    if ep.default:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    problem = _dir_problem(path, private=ep.default)
    if problem and problem.startswith("has mode") and ep.default:
        os.chmod(path, 0o700)  # ours but too open (an old umask): tighten instead of failing
        _log().warning("%s %s; changed to 700", path, problem)
    elif problem:
        raise IpcSetupError(f"{path}: {problem}")


def _write_private_file(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _read_endpoint_file(path: Path) -> tuple[int, str] | None:
    """(port, token) from a tcp endpoint file, or None if it is missing or unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        port, token = data["port"], data["token"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(port, int) and 0 < port < 65536 and isinstance(token, str) and token:
        return port, token
    return None


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------
class _BadRequest(Exception):
    pass


def _clean_number(number: Any) -> str | None:
    if number is None:
        return None
    if not isinstance(number, str):
        raise _BadRequest(f"number must be a string, got {type(number).__name__}")
    number = number.strip()
    if len(number) > MAX_NUMBER_CHARS:
        raise _BadRequest(f"number is longer than {MAX_NUMBER_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in number):
        raise _BadRequest("number contains control characters")
    return number or None


def _parse_request(line: bytes, token: str | None) -> CallCommand | None:
    """A call command, or None for a ping; raises _BadRequest with the reply's error text."""
    try:
        msg = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise _BadRequest("request is not UTF-8") from None
    except ValueError:
        raise _BadRequest("request is not JSON") from None
    if not isinstance(msg, dict):
        raise _BadRequest("request must be a JSON object")
    if token is not None:
        import hmac  # only the tcp transport has tokens

        given = msg.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
            raise _BadRequest("missing or wrong token")
    cmd = msg.get("cmd")
    if cmd == "ping":
        return None
    if cmd != "call":
        raise _BadRequest(f"unknown cmd {cmd!r} (expected 'call' or 'ping')")
    state = msg.get("state")
    if state not in CALL_STATES:
        raise _BadRequest(f"unknown state {state!r} (expected one of {', '.join(CALL_STATES)})")
    return CallCommand(state=state, number=_clean_number(msg.get("number")))


def _reply(ok: bool, error: str | None = None) -> bytes:
    body: dict[str, Any] = {"ok": True} if ok else {"ok": False, "error": error}
    return json.dumps(body, ensure_ascii=False).encode() + b"\n"


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------
class _Client:
    __slots__ = ("closing", "inbuf", "lines", "outbuf", "peer", "since", "sock")

    def __init__(self, sock: socket.socket, peer: str, now: float) -> None:
        self.sock, self.peer, self.since = sock, peer, now
        self.inbuf, self.outbuf = bytearray(), bytearray()
        self.lines = 0  # complete lines handled: a quiet idle client is not "slow junk"
        self.closing = False  # close once outbuf is flushed


class IpcServer:
    """Listens on the endpoint; `poll()` from the main loop returns the call commands received.

    Binding happens in the constructor: AlreadyRunningError if another instance answers on the
    endpoint, IpcSetupError if the endpoint cannot be made user-only. A stale socket or endpoint
    file left by a crashed app is replaced.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        transport: Transport | None = None,
        client_timeout_s: float = 2.0,
        max_clients: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = resolve_endpoint(path, transport)
        self._client_timeout_s, self._max_clients, self._clock = client_timeout_s, max_clients, clock
        self._clients: dict[socket.socket, _Client] = {}
        self._token: str | None = None
        self._inode: int | None = None
        import selectors  # server only: the hook client does not need it

        self._sel: selectors.BaseSelector = selectors.DefaultSelector()
        _make_endpoint_dir(self.endpoint)
        self._sock: socket.socket | None = (
            self._bind_unix() if self.endpoint.transport == "unix" else self._bind_tcp()
        )
        self._sock.setblocking(False)
        self._sel.register(self._sock, _READ, None)

    # -- binding ------------------------------------------------------------------------------
    def _bind_unix(self) -> socket.socket:
        path = self.endpoint.path
        if len(os.fsencode(path)) > _MAX_UNIX_PATH:
            raise IpcSetupError(
                f"{path}: socket path is too long for AF_UNIX; set {ENV_ENDPOINT} to a shorter path"
            )
        self._replace_stale_unix(path)
        # Bind under a temporary name, chmod, then rename: the socket is never reachable with the
        # umask's mode, and a stale file is replaced atomically.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.fspath(tmp))
            os.chmod(tmp, 0o600)
            sock.listen(16)
            os.replace(tmp, path)
        except BaseException as e:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(e, OSError):
                raise IpcSetupError(f"{path}: cannot listen: {e.strerror or e}") from None
            raise
        self._inode = os.lstat(path).st_ino
        return sock

    @staticmethod
    def _replace_stale_unix(path: Path) -> None:
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
            _log().info("replacing stale socket %s (no process listens on it)", path)
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

    def _bind_tcp(self) -> socket.socket:
        import secrets

        path = self.endpoint.path
        if (info := _read_endpoint_file(path)) is not None and _tcp_alive(*info):
            raise AlreadyRunningError(f"softphone-assist is already running (port {info[0]}, see {path})")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: nobody may bind the same port over us
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(16)
            self._token = secrets.token_hex(16)
            port = sock.getsockname()[1]
            _write_private_file(path, json.dumps({"port": port, "token": self._token, "pid": os.getpid()}))
        except BaseException as e:
            sock.close()
            if isinstance(e, OSError):
                raise IpcSetupError(f"{path}: cannot listen: {e.strerror or e}") from None
            raise
        return sock

    # -- polling ------------------------------------------------------------------------------
    def fileno(self) -> int:
        """The listening socket, for an optional QSocketNotifier that calls poll() at once."""
        return self._sock.fileno() if self._sock is not None else -1

    def poll(self) -> list[CallCommand]:
        """Accept, read and answer whatever is ready, without blocking; return the call commands."""
        if self._sock is None:
            return []
        commands: list[CallCommand] = []
        now = self._clock()
        for key, events in self._sel.select(timeout=0):
            if key.data is None:
                self._accept(now, commands)
                continue
            client: _Client = key.data
            if events & _READ and not client.closing:
                self._read(client, now, commands)
            if client.sock in self._clients:
                self._flush(client)
        self._expire(now)
        return commands

    def _accept(self, now: float, commands: list[CallCommand]) -> None:
        assert self._sock is not None
        for _ in range(64):  # bounded: a connect flood must not starve the main loop
            try:
                sock, addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and friends: log and go on, never crash the app
                _log().warning("cannot accept an IPC connection: %s", e)
                return
            sock.setblocking(False)
            peer = self._peer(sock, addr)
            if peer is None:
                _log().warning("IPC connection from another user refused")
                sock.close()
                continue
            client = _Client(sock, peer, now)
            if len(self._clients) >= self._max_clients:
                _log().warning("IPC: too many clients (%d); refused %s", self._max_clients, peer)
                client.outbuf += _reply(False, "busy: too many connections")
                client.closing = True
                with contextlib.suppress(OSError):
                    sock.send(client.outbuf)
                sock.close()
                continue
            self._clients[sock] = client
            self._sel.register(sock, _READ, client)
            # A hook sends its line right after connecting: read it now, not one poll later.
            self._read(client, now, commands)
            if sock in self._clients:
                self._flush(client)

    def _peer(self, sock: socket.socket, addr: Any) -> str | None:
        """A label for logs, or None if the peer is another (non-root) user."""
        if self.endpoint.transport == "tcp":
            return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else "tcp client"
        if hasattr(socket, "SO_PEERCRED"):  # Linux: the kernel tells who connected
            import struct

            pid, uid, _gid = struct.unpack("iII", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            if uid not in (os.getuid(), 0):
                return None
            return f"pid {pid}"
        return "local client"

    def _read(self, c: _Client, now: float, commands: list[CallCommand]) -> None:
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            _log().debug("IPC %s: read failed: %s", c.peer, e)
            self._drop(c)
            return
        if not data:  # EOF: a last line without "\n" still counts
            if c.inbuf.strip() and len(c.inbuf) <= MAX_LINE_BYTES:
                self._handle(c, bytes(c.inbuf), now, commands)
            c.inbuf.clear()
            c.closing = True
            return
        c.inbuf += data
        while (i := c.inbuf.find(b"\n")) >= 0 and not c.closing:
            line = bytes(c.inbuf[:i])
            del c.inbuf[: i + 1]
            if len(line.rstrip(b"\r")) > MAX_LINE_BYTES:
                self._refuse(c, f"line longer than {MAX_LINE_BYTES} bytes", line, close=True)
            else:
                self._handle(c, line, now, commands)
        if len(c.inbuf) > MAX_LINE_BYTES and not c.closing:
            self._refuse(c, f"line longer than {MAX_LINE_BYTES} bytes", bytes(c.inbuf), close=True)

    def _handle(self, c: _Client, line: bytes, now: float, commands: list[CallCommand]) -> None:
        c.lines += 1
        c.since = now  # the stall timer restarts after every complete line
        line = line.rstrip(b"\r")
        try:
            command = _parse_request(line, self._token)
        except _BadRequest as e:
            self._refuse(c, str(e), line)
            return
        if command is not None:
            _log().info("IPC %s: call %s %s", c.peer, command.state, command.number or "")
            commands.append(command)
        c.outbuf += _reply(True)

    def _refuse(self, c: _Client, error: str, data: bytes, close: bool = False) -> None:
        _log().warning("IPC %s: %s: %r", c.peer, error, data[:80])
        c.outbuf += _reply(False, error)
        if close:
            c.inbuf.clear()
            c.closing = True

    def _flush(self, c: _Client) -> None:
        if c.outbuf:
            try:
                sent = c.sock.send(c.outbuf)
                del c.outbuf[:sent]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:  # the client went away before reading its reply
                _log().debug("IPC %s: write failed: %s", c.peer, e)
                self._drop(c)
                return
        if c.closing and not c.outbuf:
            self._drop(c)
            return
        want = _READ | (_WRITE if c.outbuf else 0)
        if self._sel.get_key(c.sock).events != want:
            self._sel.modify(c.sock, want, c)

    def _expire(self, now: float) -> None:
        for c in list(self._clients.values()):
            if now - c.since <= self._client_timeout_s:
                continue
            if c.closing or (c.lines and not c.inbuf):  # a quiet keep-alive or an unread reply
                self._drop(c)
                continue
            limit = f"{self._client_timeout_s:g}"
            self._refuse(c, f"timed out: no complete line within {limit} s", bytes(c.inbuf), close=True)
            self._flush(c)
            if c.sock in self._clients:  # reply not taken: drop on the next expiry round
                c.since = now

    def _drop(self, c: _Client) -> None:
        if self._clients.pop(c.sock, None) is not None:
            self._sel.unregister(c.sock)
        c.sock.close()

    # -- shutdown -------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop listening and remove the endpoint if it is still ours. Safe to call twice."""
        if self._sock is None:
            return
        for c in list(self._clients.values()):
            self._drop(c)
        self._sel.unregister(self._sock)
        self._sel.close()
        self._sock.close()
        self._sock = None
        path = self.endpoint.path
        with contextlib.suppress(OSError):
            if self._inode is not None:
                ours = os.lstat(path).st_ino == self._inode
            else:
                ours = (info := _read_endpoint_file(path)) is not None and info[1] == self._token
            if ours:  # a newer instance may have replaced it: leave that one alone
                os.unlink(path)

    def __enter__(self) -> IpcServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------
def _tcp_alive(port: int, token: str) -> bool:
    """Does our app answer on this port? (The port may have been reused by someone else.)"""
    try:
        reply = _exchange(("127.0.0.1", port), {"cmd": "ping", "token": token}, 1.0, socket.AF_INET)
    except TimeoutError:
        return True  # something holds the port and does not answer: do not take over blindly
    except (OSError, ValueError):
        return False
    return reply.get("ok") is True


def _exchange(address: Any, request: dict[str, Any], timeout_s: float, family: int) -> dict[str, Any]:
    """Send one request line and read one reply line; raises OSError/TimeoutError/ValueError."""
    line = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    deadline = time.monotonic() + timeout_s
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(address)
        sock.sendall(line)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)  # tells the server this was the whole request
        reply = bytearray()
        while b"\n" not in reply:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    body = json.loads(bytes(reply).split(b"\n", 1)[0].decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError("reply is not a JSON object")
    return body


def send_request(
    request: dict[str, Any],
    *,
    path: str | os.PathLike[str] | None = None,
    transport: Transport | None = None,
    timeout_s: float = 2.0,
) -> dict[str, Any]:
    """Send one request to the running app and return its reply; IpcClientError on any failure."""
    ep = resolve_endpoint(path, transport)
    if sys.platform != "win32" and (problem := _dir_problem(ep.path.parent, private=False)):
        if problem == "does not exist":
            raise NotRunningError(f"softphone-assist is not running (no socket at {ep.path})")
        raise IpcClientError(f"{ep.path.parent}: {problem}")
    where = f"socket at {ep.path}"
    if ep.transport == "unix":
        address: Any = os.fspath(ep.path)
        family = socket.AF_UNIX
    else:
        if (info := _read_endpoint_file(ep.path)) is None:
            raise NotRunningError(f"softphone-assist is not running (no endpoint file at {ep.path})")
        address, family = ("127.0.0.1", info[0]), socket.AF_INET
        request = {**request, "token": info[1]}
        where = f"127.0.0.1:{info[0]} from {ep.path}"
    try:
        return _exchange(address, request, timeout_s, family)
    except FileNotFoundError:
        raise NotRunningError(f"softphone-assist is not running (no socket at {ep.path})") from None
    except ConnectionRefusedError:
        raise NotRunningError(f"softphone-assist is not running (nothing listens on the {where})") from None
    except TimeoutError:
        raise IpcClientError(f"softphone-assist did not answer within {timeout_s:g} s ({where})") from None
    except PermissionError:
        raise IpcClientError(f"cannot connect to the {where}: permission denied") from None
    except (OSError, ValueError) as e:
        raise IpcClientError(f"bad exchange with softphone-assist ({where}): {e}") from None


def send_call_command(
    state: str,
    number: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    transport: Transport | None = None,
    timeout_s: float = 2.0,
) -> None:
    """Tell the running app the call state; IpcClientError (one-line message) if it did not take it."""
    if state not in CALL_STATES:
        raise IpcClientError(f"unknown call state {state!r} (expected one of {', '.join(CALL_STATES)})")
    request: dict[str, Any] = {"cmd": "call", "state": state}
    if number is not None and number.strip():
        request["number"] = number.strip()
    reply = send_request(request, path=path, transport=transport, timeout_s=timeout_s)
    if reply.get("ok") is not True:
        raise IpcClientError(f"softphone-assist refused the command: {reply.get('error', reply)}")


def run_call(
    state: str,
    number: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    stderr: TextIO | None = None,
) -> int:
    """For the CLI: 0 when the app took the command, else one line on stderr and 1."""
    try:
        send_call_command(state, number, path=path)
    except IpcClientError as e:
        text = str(e)  # "softphone-assist is not running (...)" already says who speaks
        line = text if text.startswith("softphone-assist ") else f"softphone-assist: {text}"
        print(line, file=stderr or sys.stderr)
        return 1
    return 0


def call_main(argv: Sequence[str] | None = None) -> int:
    """`softphone-assist call STATE [NUMBER] [--number [N]]`, with no heavy import (a hook's fast path).

    The number may come as `--number N`, a bare trailing argument, or not at all: MicroSIP appends
    the caller's number after the configured arguments, and appends nothing useful for an
    anonymous caller, so `--number` without a value is accepted.
    """
    parser = argparse.ArgumentParser(
        prog="softphone-assist call", description="Tell the running app the call state."
    )
    parser.add_argument("state", choices=CALL_STATES)
    parser.add_argument("number_arg", nargs="?", metavar="NUMBER", help="caller number (as hooks append it)")
    parser.add_argument("--number", nargs="?", const=None, default=None, help="caller number")
    parser.add_argument("--socket", help=f"endpoint path (default: per user; env {ENV_ENDPOINT})")
    args = parser.parse_args(argv)
    if args.number is not None and args.number_arg is not None:
        parser.error("give the number once: either --number N or a trailing NUMBER")
    return run_call(args.state, args.number or args.number_arg, path=args.socket)
