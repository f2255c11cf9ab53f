"""IPC: call-state messages from softphone hooks to the running app, and what junk does."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from softphone_assist import ipc
from softphone_assist.core.events import CALL_EVENT_KINDS, CallEvent
from softphone_assist.ipc import (
    AlreadyRunningError,
    CallCommand,
    IpcClientError,
    IpcServer,
    IpcSetupError,
    NotRunningError,
)

TRANSPORTS = ["unix", "tcp"]
LOGGER = "softphone_assist.ipc"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path, transport: str) -> Iterator[IpcServer]:
    srv = IpcServer(tmp_path / f"ep.{transport}", transport=transport)  # type: ignore[arg-type]
    yield srv
    srv.close()


def poll_until(srv: IpcServer, done: Callable[[], bool], limit: int = 2000) -> list[CallCommand]:
    """Poll like the app's main loop until `done()`; the sleep only yields to the peer thread."""
    got: list[CallCommand] = []
    for _ in range(limit):
        got += srv.poll()
        if done():
            got += srv.poll()
            return got
        time.sleep(0.001)
    raise AssertionError("peer did not finish")


def in_thread(srv: IpcServer, fn: Callable[[], Any]) -> tuple[list[CallCommand], Any]:
    """Run a blocking client call while the server polls; returns (commands, result or exception)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except Exception as e:
            box["result"] = e

    t = threading.Thread(target=run)
    t.start()
    got = poll_until(srv, lambda: not t.is_alive())
    t.join()
    return got, box["result"]


def raw_connect(srv: IpcServer) -> socket.socket:
    ep = srv.endpoint
    if ep.transport == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2.0)  # a full backlog fails the test instead of hanging it
        s.connect(str(ep.path))
    else:
        port = json.loads(ep.path.read_text())["port"]
        s = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    s.settimeout(5.0)
    return s


def token_of(srv: IpcServer) -> dict[str, str]:
    if srv.endpoint.transport == "tcp":
        return {"token": json.loads(srv.endpoint.path.read_text())["token"]}
    return {}


def raw_exchange(srv: IpcServer, payload: bytes, replies: int = 1) -> tuple[list[CallCommand], list[Any]]:
    """Send raw bytes, poll until `replies` reply lines came back; returns (commands, replies)."""
    s = raw_connect(srv)
    s.sendall(payload)
    buf = bytearray()
    got: list[CallCommand] = []
    s.setblocking(False)

    def have_replies() -> bool:
        with contextlib.suppress(BlockingIOError):
            buf.extend(s.recv(65536))
        return buf.count(b"\n") >= replies

    got = poll_until(srv, have_replies)
    s.close()
    return got, [json.loads(line) for line in bytes(buf).splitlines()]


def line(srv: IpcServer, **msg: Any) -> bytes:
    return json.dumps({**msg, **token_of(srv)}).encode() + b"\n"


# --------------------------------------------------------------------------------------------
# The happy path
# --------------------------------------------------------------------------------------------
def test_call_command_reaches_the_server(server: IpcServer) -> None:
    got, result = in_thread(
        server,
        lambda: ipc.send_call_command(
            "hold", "10086", path=server.endpoint.path, transport=server.endpoint.transport
        ),
    )
    assert result is None
    assert got == [CallCommand(state="hold", number="10086")]
    assert got[0].to_event(3.5) == CallEvent(t=3.5, kind="hold", source="ipc")


def test_a_loop_that_waits_on_the_server_is_woken_by_each_hook(server: IpcServer) -> None:
    # the headless loop sleeps in server.wait() between pumps: a hook must wake it, or it would be
    # served (and its call event placed on the stream clock) only when the wait runs out (an hour here)
    got: list[CallCommand] = []

    def main_loop() -> None:
        while len(got) < 2:  # the poll that reads a command also sends its reply
            server.wait(3600.0)
            got.extend(server.poll())

    loop = threading.Thread(target=main_loop, daemon=True)
    loop.start()
    for state in ("start", "hold"):
        ipc.send_call_command(state, path=server.endpoint.path, transport=server.endpoint.transport)
    loop.join(timeout=30)
    assert not loop.is_alive()
    assert [c.state for c in got] == ["start", "hold"]


def test_every_cli_state_maps_to_the_engine_event_kind_in_order() -> None:
    assert [CallCommand(s).kind for s in ipc.CALL_STATES] == list(CALL_EVENT_KINDS)


def test_several_lines_on_one_connection_are_answered_in_order(server: IpcServer) -> None:
    payload = line(server, cmd="call", state="start") + line(
        server, cmd="call", state="answered", number=" 95 "
    )
    got, replies = raw_exchange(server, payload, replies=2)
    assert got == [CallCommand("start"), CallCommand("answered", "95")]
    assert replies == [{"ok": True}, {"ok": True}]


def test_crlf_and_a_last_line_without_newline_are_accepted(server: IpcServer) -> None:
    s = raw_connect(server)
    s.sendall(
        line(server, cmd="call", state="resume")[:-1] + b"\r\n" + line(server, cmd="call", state="end")[:-1]
    )
    s.shutdown(socket.SHUT_WR)
    buf = bytearray()
    s.setblocking(False)

    def closed() -> bool:
        try:
            chunk = s.recv(4096)
        except BlockingIOError:
            return False
        buf.extend(chunk)
        return not chunk

    got = poll_until(server, closed)
    assert got == [CallCommand("resume"), CallCommand("end")]
    assert bytes(buf) == b'{"ok": true}\n{"ok": true}\n'


def test_ping_is_answered_and_yields_no_command(server: IpcServer) -> None:
    got, replies = raw_exchange(server, line(server, cmd="ping"))
    assert got == [] and replies == [{"ok": True}]


def test_unknown_keys_in_a_request_are_ignored(server: IpcServer) -> None:
    got, replies = raw_exchange(server, line(server, cmd="call", state="closing", source="microsip", v=2))
    assert got == [CallCommand("closing")] and replies == [{"ok": True}]


# --------------------------------------------------------------------------------------------
# Junk: answered with an error, logged, never fatal
# --------------------------------------------------------------------------------------------
JUNK = [
    (b"not json\n", "request is not JSON"),
    (b"\xff\xfe\n", "request is not UTF-8"),
    (b"[1, 2]\n", "request must be a JSON object"),
    (b"\n", "request is not JSON"),
]


@pytest.mark.parametrize(("payload", "error"), JUNK)
def test_junk_is_answered_with_an_error_and_logged(
    server: IpcServer, payload: bytes, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    got, replies = raw_exchange(server, payload)
    assert got == [] and replies == [{"ok": False, "error": error}]
    assert any(error in r.getMessage() for r in caplog.records if r.name == LOGGER)
    # and the server goes on serving
    got, replies = raw_exchange(server, line(server, cmd="call", state="hold"))
    assert got == [CallCommand("hold")]


@pytest.mark.parametrize(
    ("msg", "error"),
    [
        (
            {"cmd": "call", "state": "holdd"},
            "unknown state 'holdd' (expected one of start, answered, hold, resume, closing, end)",
        ),
        ({"cmd": "call"}, "unknown state None (expected one of start, answered, hold, resume, closing, end)"),
        ({"cmd": "dial", "state": "hold"}, "unknown cmd 'dial' (expected 'call' or 'ping')"),
        ({"cmd": "call", "state": "hold", "number": 10086}, "number must be a string, got int"),
        ({"cmd": "call", "state": "hold", "number": "1\n2"}, "number contains control characters"),
        ({"cmd": "call", "state": "hold", "number": "1" * 129}, "number is longer than 128 characters"),
    ],
)
def test_bad_requests_get_exact_errors(server: IpcServer, msg: dict[str, Any], error: str) -> None:
    got, replies = raw_exchange(server, line(server, **msg))
    assert got == [] and replies == [{"ok": False, "error": error}]


@pytest.mark.parametrize("payload", [b"[" * 3000 + b"\n", b"[" * 2000 + b"]" * 2000 + b"\n"])
def test_deeply_nested_json_is_refused_and_the_server_survives(server: IpcServer, payload: bytes) -> None:
    # json.loads raises RecursionError (not ValueError) on this: it used to escape poll() and kill `listen`
    got, replies = raw_exchange(server, payload)
    depth = payload.count(b"[")
    assert got == [] and replies == [
        {"ok": False, "error": f"request refused: JSON nested {depth} levels deep (at most 32)"}]
    got, replies = raw_exchange(server, line(server, cmd="call", state="hold"))
    assert got == [CallCommand("hold")] and replies == [{"ok": True}]


def test_a_deeply_nested_endpoint_file_or_reply_is_not_a_crash(tmp_path: Path) -> None:
    from softphone_assist.ipc.endpoint import read_endpoint_file

    path = tmp_path / "ipc.json"
    path.write_text("[" * 3000)
    assert read_endpoint_file(path) is None
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "ipc.sock"))
    listener.listen(1)

    def answer_deep() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"[" * 3000 + b"\n")

    t = threading.Thread(target=answer_deep)
    t.start()
    with pytest.raises(IpcClientError, match=r"bad exchange .*JSON nested 3000 levels deep"):
        ipc.send_call_command("hold", path=tmp_path / "ipc.sock")
    t.join()
    listener.close()


def test_a_line_of_exactly_4096_bytes_is_taken_and_4097_is_refused(server: IpcServer) -> None:
    body = line(server, cmd="call", state="hold")[:-1]
    exact = body[:-1] + b" " * (ipc.MAX_LINE_BYTES - len(body)) + b"}"
    assert len(exact) == ipc.MAX_LINE_BYTES
    got, replies = raw_exchange(server, exact + b"\n")
    assert got == [CallCommand("hold")] and replies == [{"ok": True}]
    got, replies = raw_exchange(server, exact[:-1] + b" }\n")
    assert got == [] and replies == [{"ok": False, "error": "line longer than 4096 bytes"}]


def test_a_huge_line_without_newline_is_refused_and_the_server_survives(
    server: IpcServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    s = raw_connect(server)
    s.setblocking(False)
    sent = 0
    for _ in range(2000):  # push a megabyte while the server reads and refuses it
        try:
            sent += s.send(b"x" * 65536)
        except BlockingIOError:
            pass
        except OSError:  # the server closed on us, as it should
            break
        server.poll()
        if sent >= 1 << 20:
            break
    for _ in range(20):
        server.poll()
    s.close()
    assert any("line longer than 4096 bytes" in r.getMessage() for r in caplog.records)
    got, replies = raw_exchange(server, line(server, cmd="call", state="end"))
    assert got == [CallCommand("end")] and replies == [{"ok": True}]


def test_a_slow_client_is_answered_with_an_error_after_the_timeout(
    tmp_path: Path, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    clock = FakeClock()
    srv = IpcServer(tmp_path / "ep", transport=transport, clock=clock)  # type: ignore[arg-type]
    try:
        s = raw_connect(srv)
        s.sendall(b'{"cmd": "call", ')
        for _ in range(50):
            srv.poll()
        clock.now += 2.0  # exactly the limit: still waiting
        assert srv.poll() == []
        s.setblocking(False)
        with pytest.raises(BlockingIOError):
            s.recv(4096)
        clock.now += 0.001
        buf = bytearray()

        def closed() -> bool:
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                return False
            buf.extend(chunk)
            return not chunk

        poll_until(srv, closed)
        assert json.loads(bytes(buf)) == {"ok": False, "error": "timed out: no complete line within 2 s"}
        assert any("timed out" in r.getMessage() for r in caplog.records)
    finally:
        srv.close()


def test_a_probe_that_connects_and_leaves_is_not_logged_as_junk(
    server: IpcServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    raw_connect(server).close()
    for _ in range(50):
        assert server.poll() == []
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_wrong_or_missing_token_is_refused_on_tcp(tmp_path: Path) -> None:
    srv = IpcServer(tmp_path / "ep.json", transport="tcp")
    try:
        got, replies = raw_exchange(srv, b'{"cmd": "call", "state": "hold", "token": "nope"}\n')
        assert got == [] and replies == [{"ok": False, "error": "missing or wrong token"}]
        got, replies = raw_exchange(srv, b'{"cmd": "call", "state": "hold"}\n')
        assert got == [] and replies == [{"ok": False, "error": "missing or wrong token"}]
    finally:
        srv.close()


def test_when_full_the_longest_waiting_client_makes_room(tmp_path: Path, transport: str) -> None:
    srv = IpcServer(tmp_path / "ep", transport=transport, max_clients=1)  # type: ignore[arg-type]
    try:
        first = raw_connect(srv)  # connected, never says anything
        poll_until(srv, lambda: True)
        got, replies = raw_exchange(srv, line(srv, cmd="call", state="hold"))
        assert got == [CallCommand("hold")] and replies == [{"ok": True}]  # it was "busy" once
        assert json.loads(first.recv(4096)) == {"ok": False, "error": ipc.BUSY}
        assert first.recv(4096) == b""  # and closed
        first.close()
    finally:
        srv.close()


@pytest.mark.parametrize("idle", [20, 70])
def test_idle_connections_never_lock_a_hook_out(tmp_path: Path, transport: str, idle: int) -> None:
    srv = IpcServer(tmp_path / "ep", transport=transport)  # type: ignore[arg-type]
    stuck = []
    try:
        for _ in range(idle):  # stuck clients (or a burst), all connected before the app polls once
            stuck.append(raw_connect(srv))
        poll_until(srv, lambda: True)
        got, result = in_thread(srv, lambda: ipc.send_call_command(
            "hold", path=srv.endpoint.path, transport=srv.endpoint.transport))
        assert result is None and got == [CallCommand("hold")]
    finally:
        for s in stuck:
            s.close()
        srv.close()


def test_a_burst_of_hooks_is_served_in_full(tmp_path: Path) -> None:
    srv = IpcServer(tmp_path / "ep.sock", transport="unix", max_clients=4)
    results: list[Any] = []

    def hook(i: int) -> None:
        try:
            ipc.send_call_command("hold" if i % 2 else "resume", str(i), path=srv.endpoint.path, timeout_s=5.0)
            results.append(None)
        except Exception as e:
            results.append(e)

    threads = [threading.Thread(target=hook, args=(i,)) for i in range(40)]
    try:
        for t in threads:
            t.start()
        got = poll_until(srv, lambda: not any(t.is_alive() for t in threads), limit=20_000)
    finally:
        for t in threads:
            t.join()
        srv.close()
    assert results == [None] * 40
    assert sorted(int(c.number or -1) for c in got) == list(range(40))


def test_the_client_retries_a_busy_reply_within_its_timeout(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "ipc.sock"))
    listener.listen(4)
    seen: list[bytes] = []

    def busy_then_ok() -> None:
        for reply in (ipc.BUSY, ipc.BUSY, None):
            conn, _ = listener.accept()
            with conn:
                seen.append(conn.recv(4096))
                body = {"ok": True} if reply is None else {"ok": False, "error": reply}
                conn.sendall(json.dumps(body).encode() + b"\n")

    t = threading.Thread(target=busy_then_ok)
    t.start()
    ipc.send_call_command("hold", "10086", path=tmp_path / "ipc.sock")
    t.join()
    listener.close()
    assert len(seen) == 3 and all(json.loads(s) == {"cmd": "call", "state": "hold", "number": "10086"} for s in seen)


def test_a_client_told_busy_until_its_timeout_says_so(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "ipc.sock"))
    listener.listen(64)
    stop = threading.Event()

    def always_busy() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(json.dumps({"ok": False, "error": ipc.BUSY}).encode() + b"\n")

    t = threading.Thread(target=always_busy)
    t.start()
    try:
        with pytest.raises(IpcClientError, match="refused the command: busy: too many connections; try again"):
            ipc.send_call_command("hold", path=tmp_path / "ipc.sock", timeout_s=0.3)
    finally:
        stop.set()
        t.join()
        listener.close()


# --------------------------------------------------------------------------------------------
# One instance, stale files, user-only places
# --------------------------------------------------------------------------------------------
def test_a_second_instance_is_detected(server: IpcServer) -> None:
    with pytest.raises(AlreadyRunningError, match=r"^softphone-assist is already running"):
        IpcServer(server.endpoint.path, transport=server.endpoint.transport)


def test_a_stale_socket_from_a_crashed_app_is_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    path = tmp_path / "ipc.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: what a crash leaves
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    with IpcServer(path, transport="unix") as srv:
        got, _ = raw_exchange(srv, line(srv, cmd="call", state="start"))
        assert got == [CallCommand("start")]
    assert any("replacing stale socket" in r.getMessage() for r in caplog.records)


def test_a_stale_tcp_endpoint_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ipc.json"
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    path.write_text(json.dumps({"port": port, "token": "old", "pid": 1}))
    with IpcServer(path, transport="tcp") as srv:
        assert json.loads(path.read_text())["token"] != "old"
        got, _ = raw_exchange(srv, line(srv, cmd="call", state="start"))
        assert got == [CallCommand("start")]


def test_a_regular_file_in_the_way_is_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / "ipc.sock"
    path.write_text("precious")
    with pytest.raises(IpcSetupError, match="exists and is not a socket; remove it"):
        IpcServer(path, transport="unix")
    assert path.read_text() == "precious"


def test_default_location_is_user_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ipc.ENV_ENDPOINT, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with IpcServer(transport="unix") as srv:
        assert srv.endpoint.path == tmp_path / "softphone-assist" / "ipc.sock"
        assert stat.S_IMODE(os.lstat(tmp_path / "softphone-assist").st_mode) == 0o700
        assert stat.S_IMODE(os.lstat(srv.endpoint.path).st_mode) == 0o600
    assert not (tmp_path / "softphone-assist" / "ipc.sock").exists()


def test_without_runtime_dir_a_per_user_tmp_dir_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ipc.ENV_ENDPOINT, raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert ipc.default_endpoint("unix").path == tmp_path / f"softphone-assist-{os.getuid()}" / "ipc.sock"


def test_an_own_default_dir_that_is_too_open_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ipc.ENV_ENDPOINT, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "softphone-assist").mkdir(mode=0o755)
    os.chmod(tmp_path / "softphone-assist", 0o755)
    with IpcServer(transport="unix"):
        assert stat.S_IMODE(os.lstat(tmp_path / "softphone-assist").st_mode) == 0o700
    assert any("has mode 755" in r.getMessage() for r in caplog.records)


def test_a_dir_owned_by_someone_else_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ipc.ENV_ENDPOINT, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "softphone-assist").mkdir(mode=0o700)
    other = os.getuid() + 1
    monkeypatch.setattr(os, "getuid", lambda: other)  # the directory now belongs to "someone else"
    with pytest.raises(IpcSetupError, match=f"owned by uid {other - 1}, not by you"):
        IpcServer(transport="unix")
    with pytest.raises(IpcClientError, match=f"owned by uid {other - 1}, not by you"):
        ipc.send_call_command("hold")


def test_a_symlinked_dir_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ipc.ENV_ENDPOINT, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "softphone-assist").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(IpcSetupError, match="is not a directory"):
        IpcServer(transport="unix")


def test_a_socket_path_too_long_for_af_unix_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    with pytest.raises(IpcSetupError, match="too long for AF_UNIX; set SOFTPHONE_ASSIST_IPC"):
        IpcServer(deep / "ipc.sock", transport="unix")


def test_close_leaves_a_newer_instances_socket_alone(tmp_path: Path) -> None:
    path = tmp_path / "ipc.sock"
    old = IpcServer(path, transport="unix")
    os.unlink(path)  # e.g. someone cleaned up; a new instance starts
    new = IpcServer(path, transport="unix")
    old.close()
    assert path.exists()
    new.close()
    assert not path.exists()
    old.close()  # twice is fine


# --------------------------------------------------------------------------------------------
# Client errors and the `call` command line
# --------------------------------------------------------------------------------------------
def test_client_says_not_running_when_there_is_no_socket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ipc.sock"
    with pytest.raises(NotRunningError) as e:
        ipc.send_call_command("hold", path=path)
    assert str(e.value) == f"softphone-assist is not running (no socket at {path})"
    assert ipc.run_call("hold", path=path) == 1
    assert capsys.readouterr().err == f"softphone-assist is not running (no socket at {path})\n"


def test_client_says_not_running_for_a_stale_socket_and_a_missing_endpoint_file(tmp_path: Path) -> None:
    path = tmp_path / "ipc.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    with pytest.raises(NotRunningError, match=r"not running \(nothing listens on the socket at "):
        ipc.send_call_command("end", path=path)
    with pytest.raises(NotRunningError, match=r"not running \(no endpoint file at "):
        ipc.send_call_command("end", path=tmp_path / "ipc.json", transport="tcp")


def test_client_reports_a_server_that_does_not_answer(tmp_path: Path) -> None:
    srv = IpcServer(tmp_path / "ipc.sock", transport="unix")  # never polled
    try:
        with pytest.raises(IpcClientError, match=r"did not answer within 0.2 s"):
            ipc.send_call_command("hold", path=srv.endpoint.path, timeout_s=0.2)
    finally:
        srv.close()


def test_client_rejects_an_unknown_state_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(IpcClientError, match="unknown call state 'park'"):
        ipc.send_call_command("park", path=tmp_path / "nothing")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["answered", "--number", "13800138000"], CallCommand("answered", "13800138000")),
        (["answered", "13800138000"], CallCommand("answered", "13800138000")),  # MicroSIP appends it
        (["end", "--number"], CallCommand("end")),  # anonymous caller: MicroSIP appended nothing
        (["start"], CallCommand("start")),
    ],
)
def test_call_main_accepts_the_ways_hooks_pass_the_number(
    tmp_path: Path, argv: list[str], expected: CallCommand
) -> None:
    with IpcServer(tmp_path / "ipc.sock", transport="unix") as srv:
        got, code = in_thread(srv, lambda: ipc.call_main([*argv, "--socket", str(srv.endpoint.path)]))
    assert code == 0 and got == [expected]


def test_call_main_rejects_two_numbers_and_unknown_states(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        ipc.call_main(["hold", "1", "--number", "2"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        ipc.call_main(["park"])
    assert "invalid choice: 'park'" in capsys.readouterr().err


def test_the_client_path_imports_nothing_heavy() -> None:
    heavy = [
        "numpy",
        "PySide6",
        "sounddevice",
        "webrtcvad",
        "pyttsx3",
        "soundfile",
        "soxr",
        "platformdirs",
        "sqlite3",
        "tomllib",
        "logging",
        "dataclasses",
    ]
    code = (
        "import sys, softphone_assist.ipc; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# The baresip bridge printed in docs/softphone-hooks.md, against baresip 1.0.0's frames
# --------------------------------------------------------------------------------------------
def _doc_bridge_source() -> str:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "softphone-hooks.md").read_text(encoding="utf-8")
    block = doc.split("<!-- bridge:begin -->", 1)[1].split("<!-- bridge:end -->", 1)[0]
    return block.split("```python\n", 1)[1].rsplit("```", 1)[0]


def _netstring(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return str(len(body)).encode() + b":" + body + b","


def _baresip_frames() -> bytes:
    """An auto-answered call with a hold, then a manually answered one (shared/e2e/README, section 10)."""
    common = {
        "accountaor": "sip:agent@127.0.0.1:5170",
        "direction": "incoming",
        "peeruri": "sip:customer@127.0.0.1:5160",
        "id": "feb31fe56465acea",
    }

    def ev(kind: str, cls: str, param: str, **extra: Any) -> dict[str, Any]:
        return {"event": True, "type": kind, "class": cls, **common, "param": param, **extra}

    frames = [
        ev("CALL_REMOTE_SDP", "other", "offer"),
        ev("CALL_LOCAL_SDP", "other", "answer"),
        ev("CALL_RTCP", "call", "audio", rtcp_stats={"tx": {"sent": 0}, "rtt": 0}),
        ev("CALL_ESTABLISHED", "call", "sip:customer@127.0.0.1:5160"),
        ev("CALL_RTPESTAB", "other", "audio"),
        {"response": True, "ok": True, "data": "", "token": "t1"},  # the reply to a hold
        ev("CALL_RTCP", "call", "audio"),
        ev("CALL_REMOTE_SDP", "other", "answer"),
        ev("CALL_CLOSED", "call", "Connection reset by peer"),
    ]
    common.update(id="0a1b2c", peeruri="sip:13800138000@127.0.0.1:5160")
    frames += [
        ev("CALL_INCOMING", "call", "sip:13800138000@127.0.0.1:5160"),
        ev("CALL_REMOTE_SDP", "other", "offer"),
        ev("CALL_ESTABLISHED", "call", "sip:13800138000@127.0.0.1:5160"),
        ev("CALL_CLOSED", "call", "Connection reset by user"),
    ]
    return b"".join(_netstring(f) for f in frames)


def test_the_documented_baresip_bridge_turns_events_into_call_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace: dict[str, Any] = {"__name__": "baresip_bridge"}
    exec(compile(_doc_bridge_source(), "softphone-hooks.md", "exec"), namespace)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    data = _baresip_frames()

    def fake_baresip() -> None:
        conn, _ = listener.accept()
        with conn:
            for i in range(0, len(data), 97):  # frames split across reads, as TCP may deliver them
                conn.sendall(data[i : i + 97])
                time.sleep(0.001)

    monkeypatch.setenv(ipc.ENV_ENDPOINT, str(tmp_path / "ipc.sock"))
    feeder = threading.Thread(target=fake_baresip)
    feeder.start()
    with IpcServer(transport="unix") as srv:
        got, result = in_thread(srv, lambda: namespace["bridge"]("127.0.0.1", port))
    feeder.join()
    listener.close()
    assert result is None
    assert got == [
        CallCommand("start", "customer"),
        CallCommand("answered", "customer"),
        CallCommand("end", "customer"),
        CallCommand("start", "13800138000"),
        CallCommand("answered", "13800138000"),
        CallCommand("end", "13800138000"),
    ]
