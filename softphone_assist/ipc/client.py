"""The hook side: `softphone-assist call STATE [NUMBER]` sends one line and exits.

MicroSIP waits for this process before it goes on (lib/MSIP.cpp `RunCmd`), so this path imports
nothing heavy: no logging, dataclasses or events (about 20 ms of start-up on this machine).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from softphone_assist.core import safejson
from softphone_assist.ipc.endpoint import (
    ENV_ENDPOINT,
    Transport,
    dir_problem,
    read_endpoint_file,
    resolve_endpoint,
)
from softphone_assist.ipc.protocol import BUSY, CALL_STATES


class IpcClientError(Exception):
    """`softphone-assist call` failed; the message is one line. Not a UserError: the exit code is 1."""


class NotRunningError(IpcClientError):
    """Nothing listens: the app is not running."""


def tcp_alive(port: int, token: str) -> bool:
    """Does our app answer on this port? (The port may have been reused by someone else.)"""
    try:
        reply = exchange(("127.0.0.1", port), {"cmd": "ping", "token": token}, 1.0, socket.AF_INET)
    except TimeoutError:
        return True  # something holds the port and does not answer: do not take over blindly
    except (OSError, ValueError):
        return False
    return reply.get("ok") is True


def exchange(address: Any, request: dict[str, Any], timeout_s: float, family: int) -> dict[str, Any]:
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
    body = safejson.loads(bytes(reply).split(b"\n", 1)[0].decode("utf-8"))
    if not isinstance(body, dict):
        raise ValueError("reply is not a JSON object")
    return body


_RETRY_S = 0.05  # the app polls every 20 ms: a busy server has room again a poll or two later


def _exchange_retrying(address: Any, request: dict[str, Any], timeout_s: float, family: int) -> dict[str, Any]:
    """`exchange`, again while the app says busy or its backlog is full, until `timeout_s` is used up."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            reply = exchange(address, request, remaining, family)
        except BlockingIOError:  # EAGAIN from connect(): the listen backlog is full right now
            reply = None
        if reply is not None and not (reply.get("ok") is False and reply.get("error") == BUSY):
            return reply
        if deadline - time.monotonic() <= _RETRY_S:
            if reply is not None:
                return reply  # no time left for another try: the caller reports "busy"
            raise TimeoutError
        time.sleep(_RETRY_S)


def send_request(
    request: dict[str, Any],
    *,
    path: str | os.PathLike[str] | None = None,
    transport: Transport | None = None,
    timeout_s: float = 2.0,
) -> dict[str, Any]:
    """Send one request to the running app and return its reply; IpcClientError on any failure."""
    ep = resolve_endpoint(path, transport)
    if sys.platform != "win32" and (problem := dir_problem(ep.path.parent, private=False)):
        if problem == "does not exist":
            raise NotRunningError(f"softphone-assist is not running (no socket at {ep.path})")
        raise IpcClientError(f"{ep.path.parent}: {problem}")
    where = f"socket at {ep.path}"
    if ep.transport == "unix":
        address: Any = os.fspath(ep.path)
        family = socket.AF_UNIX
    else:
        if (info := read_endpoint_file(ep.path)) is None:
            raise NotRunningError(f"softphone-assist is not running (no endpoint file at {ep.path})")
        address, family = ("127.0.0.1", info[0]), socket.AF_INET
        request = {**request, "token": info[1]}
        where = f"127.0.0.1:{info[0]} from {ep.path}"
    try:
        return _exchange_retrying(address, request, timeout_s, family)
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
