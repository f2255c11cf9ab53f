"""The app side: `IpcServer.poll()` from the main loop accepts, reads and answers, never blocking.

The server starts no thread: the app's main loop (a Qt QTimer or the headless loop) calls `poll()`
and gets the call commands that arrived since the last call. Junk (not JSON, unknown state, a line
over `MAX_LINE_BYTES`, a client that stalls) gets an error reply, is logged on logger
`softphone_assist.ipc`, and never raises out of `poll()`.

Idle or stuck connections never lock a hook out: each one is closed after `client_timeout_s`
without a complete line, and when `max_clients` are open a new connection closes the one that
has waited longest (it is answered "busy", which the client retries) instead of being refused.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from softphone_assist.ipc.endpoint import Transport, make_endpoint_dir, read_endpoint_file, resolve_endpoint
from softphone_assist.ipc.listener import bind_tcp, bind_unix
from softphone_assist.ipc.protocol import (
    BUSY,
    MAX_LINE_BYTES,
    BadRequest,
    CallCommand,
    log,
    parse_request,
    reply_line,
)

if TYPE_CHECKING:
    import selectors

_READ, _WRITE = 1, 2  # selectors.EVENT_READ / EVENT_WRITE, without importing selectors at import time


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
        max_clients: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = resolve_endpoint(path, transport)
        self._client_timeout_s, self._max_clients, self._clock = client_timeout_s, max_clients, clock
        self._clients: dict[socket.socket, _Client] = {}
        self._token: str | None = None  # tcp: what every request must carry
        self._inode: int | None = None  # unix: tells our socket file from a newer instance's
        import selectors  # server only: the hook client does not need it

        self._sel: selectors.BaseSelector = selectors.DefaultSelector()
        make_endpoint_dir(self.endpoint)
        if self.endpoint.transport == "unix":
            sock, self._inode = bind_unix(self.endpoint.path)
        else:
            sock, self._token = bind_tcp(self.endpoint.path)
        self._sock: socket.socket | None = sock
        sock.setblocking(False)
        self._sel.register(sock, _READ, None)

    # -- polling ------------------------------------------------------------------------------
    def fileno(self) -> int:
        """The listening socket, for an optional QSocketNotifier that calls poll() at once."""
        return self._sock.fileno() if self._sock is not None else -1

    @property
    def has_clients(self) -> bool:
        """A connection is open (a hook may be writing): a loop that cannot wait on every socket
        (the Qt app watches only the listening one) polls again soon."""
        return bool(self._clients)

    def wait(self, timeout: float) -> None:
        """Block until a hook connects or writes (or a reply can go out), at most `timeout` seconds.

        The headless loop sleeps here instead of in time.sleep: a hook is served, and its call
        event placed on the stream clock, at once however long the loop would otherwise sleep."""
        if self._sock is None or timeout <= 0:
            return
        with contextlib.suppress(InterruptedError):  # a signal (Ctrl-C) ends the wait early: fine
            self._sel.select(timeout=timeout)

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
                log().warning("cannot accept an IPC connection: %s", e)
                return
            sock.setblocking(False)
            peer = self._peer(sock, addr)
            if peer is None:
                log().warning("IPC connection from another user refused")
                sock.close()
                continue
            client = _Client(sock, peer, now)
            if len(self._clients) >= self._max_clients:
                self._make_room(peer)
            if len(self._clients) >= self._max_clients:  # max_clients 0: nobody can be served
                log().warning("IPC: too many clients (%d); refused %s", self._max_clients, peer)
                with contextlib.suppress(OSError):
                    sock.send(reply_line(False, BUSY))
                sock.close()
                continue
            self._clients[sock] = client
            self._sel.register(sock, _READ, client)
            # A hook sends its line right after connecting: read it now, not one poll later.
            self._read(client, now, commands)
            if sock in self._clients:
                self._flush(client)

    def _make_room(self, newcomer: str) -> None:
        """Close the connection that has waited longest: a new hook matters more than a stuck one."""
        if not self._clients:
            return
        # one that got all its replies goes first, quietly; else the one that has waited longest
        oldest = min(self._clients.values(), key=lambda c: (not (c.lines and not c.inbuf), c.since))
        if oldest.lines and not oldest.inbuf:
            self._drop(oldest)
            return
        log().warning("IPC: %d connections open; closed the longest-waiting one (%s) to serve %s",
                      len(self._clients), oldest.peer, newcomer)
        oldest.outbuf += reply_line(False, BUSY)
        oldest.inbuf.clear()
        oldest.closing = True
        self._flush(oldest)
        if oldest.sock in self._clients:  # its reply did not fit in the socket: it goes all the same
            self._drop(oldest)

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
            log().debug("IPC %s: read failed: %s", c.peer, e)
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
            command = parse_request(line, self._token)
        except BadRequest as e:
            self._refuse(c, str(e), line)
            return
        if command is not None:
            log().info("IPC %s: call %s %s", c.peer, command.state, command.number or "")
            commands.append(command)
        c.outbuf += reply_line(True)

    def _refuse(self, c: _Client, error: str, data: bytes, close: bool = False) -> None:
        log().warning("IPC %s: %s: %r", c.peer, error, data[:80])
        c.outbuf += reply_line(False, error)
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
                log().debug("IPC %s: write failed: %s", c.peer, e)
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
                ours = (info := read_endpoint_file(path)) is not None and info[1] == self._token
            if ours:  # a newer instance may have replaced it: leave that one alone
                os.unlink(path)

    def __enter__(self) -> IpcServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
