"""Pulse sources through libpulse (audio/libpulse.py) on a private PulseAudio and a private PipeWire.

Each test runs against both servers (tests/soundserver.py): the streams record their own sources,
stay pinned to them when the server's default source comes back (an unpinned stream was moved
onto it), end when their source goes (so the capture needs no `pactl` child), and a missing
source is a clear DeviceError.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from soundserver import KINDS, SoundServer, why_not

from softphone_assist.audio import libpulse
from softphone_assist.audio.capture import LiveCapture, Outage
from softphone_assist.audio.devices import DeviceError, DeviceInfo
from softphone_assist.audio.libpulse import PulseBackend

RATE = 16000


class NoPortAudio:
    """The inner backend: these tests open Pulse sources only."""

    private_portaudio = False

    def devices(self) -> list[DeviceInfo]:
        return []

    def open_input(self, *a: object) -> None:
        raise AssertionError("not a Pulse source")

    def rescan(self) -> None: ...


def source(name: str) -> DeviceInfo:
    return DeviceInfo(name, "PulseAudio", None, 2, 0, 48000.0, kind="pulse_source")


SOURCES = [source("caller_line.monitor"), source("agent_mic_in.monitor")]


TONES = {"caller_line": 440, "agent_mic_in": 1000}


@pytest.fixture(scope="module", params=KINDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    kind = request.param
    why = why_not(kind) or (None if libpulse.available() else "libpulse0 is not installed (./setup.sh test)")
    if why:
        pytest.skip(why)
    srv = SoundServer(kind, Path(tmp_path_factory.mktemp(kind)))
    try:
        srv.start()
        for sink, hz in TONES.items():
            srv.play_tone(sink, hz)
        with srv.as_default():
            yield srv
    finally:
        srv.stop()


def capture(*names: str) -> LiveCapture:
    devs = {d.name: d for d in SOURCES}
    cap = LiveCapture(names[0], names[1] if len(names) > 1 else None, backend=PulseBackend(NoPortAudio()),
                      devices=lambda: [devs[n] for n in names],
                      source_indexes=_no_pactl, source_events=None, source_outputs=_no_pactl)
    cap.start()
    return cap


def _no_pactl() -> None:
    raise AssertionError("a pinned capture asks the server nothing through pactl")


def read(cap: LiveCapture, seconds: float, until: Callable[[dict[str, list[np.ndarray]]], bool] | None = None
         ) -> dict[str, list[np.ndarray]]:
    got: dict[str, list[np.ndarray]] = {"caller": [], "agent": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until is not None and until(got)):
        for role, x in cap.read_available():
            got[role].append(x)
        time.sleep(0.05)
    return got


def recorded_source(cap: LiveCapture, i: int) -> str | None:
    """The source the server records channel i's stream from (libpulse's own answer)."""
    name: str | None = getattr(cap._channels[i].handle, "device_name")()  # noqa: B009
    return name


def heard(chunks: list[np.ndarray]) -> float:
    return sum(int(np.count_nonzero(x)) for x in chunks) / RATE


def peak_hz(chunks: list[np.ndarray]) -> float:
    x = np.concatenate(chunks)[-8000:]
    return float(np.argmax(np.abs(np.fft.rfft(x))) * RATE / len(x))


def children() -> list[str]:
    """Names of this process's child processes (a pactl poller would be one)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == os.getpid():
                out.append(stat[stat.index("(") + 1:stat.rindex(")")])
    return out


def test_two_pinned_streams_record_their_own_sources(server: SoundServer) -> None:
    before = children()
    cap = capture("caller_line.monitor", "agent_mic_in.monitor")
    try:
        got = read(cap, 10.0, until=lambda g: heard(g["caller"]) > 1.0 and heard(g["agent"]) > 1.0)
        assert cap.problems() == []
        assert [s.device_rate for s in cap.stats()] == [RATE, RATE]  # the server resamples
        assert [recorded_source(cap, i) for i in (0, 1)] == ["caller_line.monitor", "agent_mic_in.monitor"]
        assert children() == before  # no pactl or other helper process
    finally:
        cap.close()
    assert peak_hz(got["caller"]) == 440.0 and peak_hz(got["agent"]) == 1000.0


def test_a_pinned_stream_stays_on_its_source_when_the_default_source_comes_back(server: SoundServer) -> None:
    # the default source is the caller monitor (the softphone lab's set-up): when it comes back,
    # the server moves streams that follow the default onto it; ours are pinned
    assert server.pactl("set-default-source", "caller_line.monitor") is not None
    cap = capture("caller_line.monitor", "agent_mic_in.monitor")
    try:
        read(cap, 10.0, until=lambda g: heard(g["caller"]) > 0.5 and heard(g["agent"]) > 0.5)
        module = next(line.split("\t")[0] for line in (server.pactl("list", "short", "modules") or "").splitlines()
                      if "sink_name=caller_line" in line)
        assert server.pactl("unload-module", module) is not None
        server.stop_playing("caller_line")  # the server moved that player to another sink
        read(cap, 5.0, until=lambda g: bool(cap.problems()))
        assert cap.problems() == ["caller line 'caller_line.monitor' disconnected; retrying every 2 s"]
        assert server.pactl("load-module", "module-null-sink", "sink_name=caller_line", "rate=48000",
                            "channels=2") is not None
        assert server.pactl("set-default-source", "caller_line.monitor") is not None
        server.play_tone("caller_line", TONES["caller_line"])
        got = read(cap, 15.0, until=lambda g: not cap.problems() and cap.stats()[0].state == "running")
        assert cap.problems() == [] and cap.stats()[0].reopens == 1
        got = read(cap, 1.0)
        assert recorded_source(cap, 1) == "agent_mic_in.monitor"
        assert cap.stats()[1].reopens == 0 and peak_hz(got["agent"]) == 1000.0  # still its own tone
        marks = cap.take_outages()
        assert [(m.channel, m.ended) for m in marks] == [("caller", False), ("caller", True)]
        assert marks[0].sample < marks[1].sample and isinstance(marks[0], Outage)
    finally:
        cap.close()


def test_a_missing_source_is_a_device_error(server: SoundServer) -> None:
    backend = PulseBackend(NoPortAudio())
    try:
        with pytest.raises(DeviceError, match=r"^PulseAudio source 'no_such_sink.monitor' is not there"):
            backend.open_input(source("no_such_sink.monitor"), RATE, 0.1, object())
    finally:
        backend.close()
