"""The overlay app serves a softphone hook when it comes, not at its next timer tick.

`run_app` with a real IpcServer and a timer tick of a minute: only the socket notifier on the
listening socket can get the hook answered within the client's 2 s timeout."""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from softphone_assist import ipc
from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.loader import load_script
from softphone_assist.ipc import IpcServer
from softphone_assist.live.session import LiveSession
from softphone_assist.settings.layers import Settings

RATE = 16000


class Hiss:
    """20 ms of line hiss per read, as a capture delivers it."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)

    def read_available(self) -> list[tuple[str, np.ndarray]]:
        return [("caller", self.rng.normal(0.0, 30.0, RATE // 50))]

    def problems(self) -> list[str]:
        return []


def test_a_hook_is_served_at_once_though_the_timer_ticks_once_a_minute(tmp_path: Path, qapp: object) -> None:
    from softphone_assist.ui.app import run_app

    server = IpcServer(tmp_path / "ep.sock", transport="unix")
    pipe = Pipeline(RATE, load_script("en"), WebRtcVad, has_agent=False, call_started_at=datetime(2026, 12, 3, 10))
    session = LiveSession(pipeline=pipe, audio=Hiss(), commands=server)
    replies: list[object] = []
    hooks: list[threading.Thread] = []

    def hook() -> None:
        try:
            replies.append(ipc.send_call_command("start", "10086", path=server.endpoint.path, transport="unix"))
        except ipc.IpcClientError as e:  # not answered within the client's timeout
            replies.append(e)

    def on_tick(_: LiveSession) -> None:
        if not hooks:  # the app's loop runs: the softphone calls its hook
            hooks.append(threading.Thread(target=hook, daemon=True))
            hooks[0].start()

    try:
        run_app(session, Settings(), done=lambda: session.pipeline.engine.call_state == "active", linger_s=0.0,
                on_tick=on_tick, tick_ms=60_000)
    finally:
        server.close()
    hooks[0].join(timeout=10)
    assert replies == [None]  # answered "ok" at once (the reply of the poll that took the command)
    assert session.pipeline.engine.call_state == "active"
