"""LiveCapture: callbacks that only copy and count, the main-loop reader, device loss and return.

The first part drives the capture through a fake backend and a fake clock (exact sample counts).
The second part runs it against a private PulseAudio daemon (two null sinks fed by paplay) to
check the facts the design rests on: PULSE_SOURCE per stream, and a sink module unloaded and
loaded again mid-capture. It is skipped where pulseaudio/pactl/paplay are not installed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from soundserver import SoundServer, why_not

from softphone_assist.audio.capture import LiveCapture, Outage, PyAudioWPatchBackend, _Sink, pyaudio_callback
from softphone_assist.audio.devices import DeviceError, DeviceInfo
from softphone_assist.core.errors import UserError

MIC = DeviceInfo("Jabra EVOLVE LINK Mono", "ALSA", 1, 1, 0, 16000.0)
SPEAKER_MON = DeviceInfo("caller_line.monitor", "PulseAudio", None, 2, 0, 48000.0, kind="pulse_source",
                         monitor_of="caller_line")
LOOPBACK = DeviceInfo("Speakers (Jabra) [Loopback]", "Windows WASAPI", 7, 2, 0, 48000.0,
                      kind="wasapi_loopback")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FakeStream:
    def __init__(self, dev: DeviceInfo, rate: int, channels: int, sink: Any) -> None:
        self.dev, self.rate, self.channels, self.sink = dev, rate, channels, sink
        self.started = self.closed = False
        self.alive = True

    def active(self) -> bool:
        return self.started and self.alive and not self.closed

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True

    def push(self, samples: list[int] | np.ndarray, overflow: bool = False) -> None:
        """What PortAudio's thread does: one block of interleaved int16 frames."""
        data = np.asarray(samples, dtype=np.int16)
        self.sink.on_block(data.tobytes(), len(data) // self.channels, overflow)


class FakeEvents:
    """pulse.SourceEvents without pactl: the test says when a source came or went."""

    def __init__(self) -> None:
        self.pending = False
        self.alive = True

    def changed(self) -> bool:
        was, self.pending = self.pending, False
        return was

    def close(self) -> None:
        self.alive = False


class FakeBackend:
    private_portaudio = False

    def __init__(self, devs: list[DeviceInfo], formats: dict[str, tuple[int, int]] | None = None) -> None:
        self.devs = devs
        self.formats = formats or {}
        self.opened: list[FakeStream] = []
        self.failing: set[str] = set()
        self.rescans = 0

    def devices(self) -> list[DeviceInfo]:
        return list(self.devs)

    def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: Any) -> FakeStream:
        if dev.name in self.failing:
            raise RuntimeError("Error opening RawInputStream: Device unavailable [PaErrorCode -9985]")
        r, ch = self.formats.get(dev.name, (rate, 1))
        s = FakeStream(dev, r, ch, sink)
        self.opened.append(s)
        return s

    def rescan(self) -> None:
        self.rescans += 1


def make(caller: str, agent: str | None = None, devs: list[DeviceInfo] | None = None,
         **kw: Any) -> tuple[LiveCapture, FakeBackend, Clock]:
    backend = kw.pop("backend", None) or FakeBackend(devs or [MIC, SPEAKER_MON, LOOPBACK])
    clock = Clock()
    kw.setdefault("source_indexes", lambda: {"caller_line.monitor": 4})
    kw.setdefault("source_events", FakeEvents)
    kw.setdefault("source_outputs", lambda: None)  # the server's source outputs unknown: no pin check
    cap = LiveCapture(caller, agent, backend=backend, devices=backend.devices, clock=clock, **kw)
    cap.start()
    return cap, backend, clock


def as_dict(got: Sequence[tuple[str, np.ndarray]]) -> dict[str, np.ndarray]:
    assert len({role for role, _ in got}) == len(got)  # one array per channel per read
    return dict(got)


# --------------------------------------------------------------------------------------------
# The callback side
# --------------------------------------------------------------------------------------------
def test_sink_bounds_the_queue_and_counts() -> None:
    sink = _Sink(max_frames=4)
    for i in range(4):
        sink.on_block(bytes([i]) * 4, 2, overflow=(i == 1))
    assert list(sink.queue) == [(0, b"\x00" * 4), (0, b"\x01" * 4)]
    assert (sink.overflows, sink.dropped) == (1, 4)
    sink.queue.clear()
    sink.popped_frames += 4  # what the main loop took
    sink.on_block(b"\x09" * 4, 2, False)
    assert list(sink.queue) == [(4, b"\x09" * 4)]  # the 4 frames lost before it, in place


def test_sink_bounds_frames_not_blocks() -> None:
    # libpulse hands a backlog over as many small pieces: 100 pieces of 1 frame fit a 100-frame bound
    sink = _Sink(max_frames=100)
    for _ in range(100):
        sink.on_block(b"\x01\x00", 1, overflow=False)
    assert len(sink.queue) == 100 and sink.dropped == 0
    sink.on_block(b"\x01\x00", 1, overflow=False)
    assert sink.dropped == 1


def test_sink_never_raises() -> None:
    sink = _Sink(max_frames=1)
    sink.on_block(b"", 1, False)
    sink.on_block(b"", None, False)  # type: ignore[arg-type]  # a full queue adds frames: TypeError inside
    assert sink.errors == 1


def test_pyaudio_callback_copies_and_always_continues() -> None:
    got: list[tuple[bytes, int, bool]] = []

    class Rec:
        def on_block(self, data: bytes, frames: int, overflow: bool) -> None:
            got.append((data, frames, overflow))

        def on_finished(self) -> None: ...

    class Boom(Rec):
        def on_block(self, data: bytes, frames: int, overflow: bool) -> None:
            raise RuntimeError("bug")

    cb = pyaudio_callback(Rec(), overflow_flag=2, go_on=0)
    assert cb(b"\x01\x00", 1, {}, 2) == (None, 0)
    assert cb(b"\x02\x00", 1, {}, 4) == (None, 0)
    assert got == [(b"\x01\x00", 1, True), (b"\x02\x00", 1, False)]
    assert pyaudio_callback(Boom(), 2, 0)(b"\x00\x00", 1, {}, 0) == (None, 0)


# --------------------------------------------------------------------------------------------
# The main-loop side
# --------------------------------------------------------------------------------------------
def test_blocks_come_out_float64_in_int16_scale() -> None:
    cap, be, clock = make("evolve")
    be.opened[0].push([0, 1, -32768, 32767])
    clock.t = 0.02
    (role, x), = cap.read_available()
    assert role == "caller" and x.dtype == np.float64
    assert x.tolist() == [0.0, 1.0, -32768.0, 32767.0]
    assert cap.stream_time("caller") == 4 / 16000
    assert cap.read_available() == []


def test_stereo_is_downmixed() -> None:
    cap, be, _clock = make("evolve", backend=FakeBackend([MIC], {MIC.name: (16000, 2)}))
    be.opened[0].push([100, 300, -2, 2, 5, 6])
    assert as_dict(cap.read_available())["caller"].tolist() == [200.0, 0.0, 5.5]


def test_device_rate_is_resampled_to_the_analysis_rate() -> None:
    cap, be, clock = make("evolve", backend=FakeBackend([MIC], {MIC.name: (48000, 1)}))
    assert cap.stats()[0].device_rate == 48000
    t = np.arange(48000) / 48000
    tone = np.round(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    out = []
    for i in range(0, 48000, 960):  # 20 ms blocks, read after each like a UI timer
        be.opened[0].push(tone[i:i + 960])
        clock.t += 0.02
        out += [x for _, x in cap.read_available()]
    y = np.concatenate(out)
    # streaming soxr (HQ) holds back its filter delay: 341 samples (21 ms) here, never more than 25 ms
    assert 16000 - 400 <= len(y) < 16000 and len(y) == cap.stats()[0].samples
    spectrum = np.abs(np.fft.rfft(y[2000:2000 + 8000]))
    assert np.argmax(spectrum) * 16000 / 8000 == 1000.0
    assert abs(np.sqrt(np.mean(y[2000:-2000] ** 2)) - 8000 / np.sqrt(2)) < 40


def test_frames_lost_on_a_full_queue_become_zeros_in_place() -> None:
    cap, be, clock = make("evolve", queue_s=0.04, block_s=0.02)  # room for 40 ms: 640 frames at 16 kHz
    s = be.opened[0]
    assert s.rate == 16000
    s.push([1] * 320)
    s.push([2] * 320)
    s.push([3] * 480)  # the main loop is late: dropped
    clock.t = 0.1
    assert as_dict(cap.read_available())["caller"].tolist() == [1] * 320 + [2] * 320
    s.push([4] * 320)
    assert as_dict(cap.read_available())["caller"].tolist() == [0] * 480 + [4] * 320
    st = cap.stats()[0]
    assert (st.dropped, st.overflows, st.samples) == (480, 0, 1440)


def test_many_small_pieces_within_the_queue_time_are_all_kept() -> None:
    # libpulse hands a backlog (an idle source that woke up) over as many small pieces
    cap, be, clock = make("evolve", queue_s=0.04, block_s=0.02)
    s = be.opened[0]
    for i in range(64):
        s.push([i + 1] * 10)  # 64 pieces of 10 frames: 640 frames, exactly the 40 ms of room
    clock.t = 0.1
    got = as_dict(cap.read_available())["caller"]
    assert got.tolist() == [i // 10 + 1 for i in range(640)] and cap.stats()[0].dropped == 0


def test_input_overflow_flags_are_counted() -> None:
    cap, be, _clock = make("evolve")
    be.opened[0].push([1], overflow=True)
    be.opened[0].push([2], overflow=True)
    assert as_dict(cap.read_available())["caller"].tolist() == [1, 2]
    assert cap.stats()[0].overflows == 2 and cap.problems() == []


def test_two_channels_come_out_separately() -> None:
    cap, be, _clock = make("caller_line", "evolve")
    caller, agent = be.opened
    caller.push([5, 6, 7])
    agent.push([-1])
    got = as_dict(cap.read_available())
    assert got["caller"].tolist() == [5, 6, 7] and got["agent"].tolist() == [-1]
    agent.push([-2, -3])
    assert [(r, x.tolist()) for r, x in cap.read_available()] == [("agent", [-2, -3])]


def test_a_stalled_device_is_reported_zero_filled_and_reopened() -> None:
    cap, be, clock = make("caller_line", "evolve")
    caller, agent = be.opened
    caller.push([1] * 320)
    agent.push([1] * 320)
    clock.t = 0.02
    cap.read_available()
    clock.t = 1.0  # exactly stall_s after the last block: still fine
    caller.push([1] * 320)
    assert cap.problems() == [] and as_dict(cap.read_available())["caller"].size == 320
    clock.t = 1.5  # 1.48 s without a block from the microphone
    caller.push([1] * 320)
    got = as_dict(cap.read_available())
    assert cap.problems() == [
        "agent microphone 'Jabra EVOLVE LINK Mono' stopped sending audio; retrying every 2 s"]
    assert agent.closed
    assert got["agent"].tolist() == [0.0] * round(1.48 * 16000)  # the lost time, from its last block
    assert cap.stats()[1].state == "down"
    clock.t = 2.5
    caller.push([1] * 320)
    assert as_dict(cap.read_available())["agent"].tolist() == [0.0] * 16000  # wall time goes on
    clock.t = 3.5  # retry_s after the loss: reopened, after the zeros up to now
    caller.push([1] * 320)
    assert as_dict(cap.read_available())["agent"].size == 16000
    assert cap.problems() == [] and len(be.opened) == 3
    assert cap.stream_time("agent") == 3.5
    be.opened[2].push([7, 7])
    clock.t = 3.52
    assert as_dict(cap.read_available())["agent"].tolist() == [7, 7]
    st = cap.stats()[1]
    assert (st.state, st.reopens, st.filled) == ("running", 1, 3.48 * 16000)
    assert st.samples == 320 + 3.48 * 16000 + 2


def test_a_failed_reopen_is_reported_not_raised() -> None:
    cap, be, clock = make("evolve")
    be.opened[0].alive = False  # PortAudio ended the stream (unplugged)
    clock.t = 0.5
    cap.read_available()
    assert cap.problems() == [
        "caller line 'Jabra EVOLVE LINK Mono' stopped (device error or unplugged); retrying every 2 s"]
    be.failing.add(MIC.name)
    clock.t = 2.5
    cap.read_available()
    assert cap.problems() == [
        "caller line 'Jabra EVOLVE LINK Mono' stopped (device error or unplugged); retrying every 2 s "
        "(last try: Error opening RawInputStream: Device unavailable [PaErrorCode -9985])"]
    be.devs = [SPEAKER_MON]  # the headset is gone from the list too
    clock.t = 4.5
    cap.read_available()
    assert "(last try: --caller 'evolve': no input device name contains it" in cap.problems()[0]
    assert be.rescans == 0  # sounddevice's PortAudio is shared with playback: no automatic rescan
    be.devs, be.failing = [MIC], set()
    clock.t = 6.5
    cap.read_available()
    assert cap.problems() == [] and cap.stats()[0].reopens == 1
    assert cap.stream_time("caller") == 6.5


def test_finished_callback_takes_the_channel_down_after_its_last_blocks() -> None:
    cap, be, clock = make("evolve")
    be.opened[0].push([3, 3])
    be.opened[0].sink.on_finished()
    clock.t = 0.01
    assert as_dict(cap.read_available())["caller"].tolist() == [3, 3]
    assert cap.problems()[0].startswith("caller line 'Jabra EVOLVE LINK Mono' stopped (device error")


def test_a_vanished_pulse_source_is_closed_at_once_and_its_return_reopened() -> None:
    answers: list[dict[str, int] | None] = [{"caller_line.monitor": 4}]
    cap, be, clock = make("caller_line.monitor", source_indexes=lambda: answers[-1])
    s = be.opened[0]
    s.push([9] * 160)
    clock.t = 0.01
    assert as_dict(cap.read_available())["caller"].size == 160
    answers.append({})  # sink unloaded: the server moved our stream to the default source
    s.push([1000] * 160)  # ...whose audio must not come out as the caller's
    clock.t = 1.01  # next poll (pulse_poll_s = 1)
    got = as_dict(cap.read_available())
    assert got["caller"].tolist() == [0.0] * 16000 and s.closed
    assert cap.problems() == ["caller line 'caller_line.monitor' disconnected; retrying every 2 s"]
    answers.append(None)  # pactl could not ask: unknown, try the open
    be.failing.add("caller_line.monitor")
    clock.t = 3.01
    cap.read_available()
    assert "(last try: Error opening" in cap.problems()[0]
    be.failing.clear()
    answers.append({"caller_line.monitor": 11})  # back, with a new index
    clock.t = 5.01
    cap.read_available()
    assert cap.problems() == [] and len(be.opened) == 2 and be.opened[1].dev is SPEAKER_MON
    answers.append({"caller_line.monitor": 12})  # replaced between two polls: reopen at once
    clock.t = 6.2
    cap.read_available()
    assert cap.problems() == [] and len(be.opened) == 3 and be.opened[1].closed
    assert cap.stats()[0].reopens == 2


def test_a_source_event_triggers_the_check_before_the_next_poll() -> None:
    answers = [{"caller_line.monitor": 4}]
    events: list[FakeEvents] = []

    def watch() -> FakeEvents:
        events.append(FakeEvents())
        return events[-1]

    cap, be, clock = make("caller_line.monitor", source_indexes=lambda: answers[-1], source_events=watch)
    clock.t = 0.01
    cap.read_available()  # first read: the watcher starts, the first poll runs
    assert len(events) == 1
    answers.append({})
    clock.t = 0.03
    assert cap.read_available() == [] and cap.problems() == []  # no event, no poll due: not seen yet
    be.opened[0].push([1000] * 160)  # the default source's audio: the server moved our stream there
    events[0].pending = True  # pactl subscribe: "Event 'remove' on source #4"
    clock.t = 0.05
    got = as_dict(cap.read_available())
    assert cap.problems() == ["caller line 'caller_line.monitor' disconnected; retrying every 2 s"]
    assert np.count_nonzero(got["caller"]) == 0  # what was queued is dropped, not delivered
    events[0].alive = False  # pactl died (server restart): started again once a channel runs
    answers.append({"caller_line.monitor": 5})
    clock.t = 2.05
    cap.read_available()
    clock.t = 2.07
    cap.read_available()
    assert cap.problems() == [] and len(events) == 2
    cap.close()
    assert not events[1].alive


def test_an_outage_is_marked_at_its_first_zero_and_at_the_first_real_sample_after_it() -> None:
    answers: list[dict[str, int]] = [{"caller_line.monitor": 4}]
    events: list[FakeEvents] = []

    def watch() -> FakeEvents:
        events.append(FakeEvents())
        return events[-1]

    cap, be, clock = make("caller_line.monitor", source_indexes=lambda: answers[-1], source_events=watch)
    step = 1 / 64  # 250 samples: exact binary fractions, so wall and sample counts agree exactly
    for i in range(64):  # 1 s of audio in 250-sample blocks
        be.opened[0].push([5] * 250)
        clock.t = (i + 1) * step
        cap.read_available()
    assert cap.take_outages() == []
    answers.append({})  # the sink is unloaded at 1.0 s
    events[0].pending = True
    clock.t = 1.0 + step
    got = as_dict(cap.read_available())
    assert got["caller"].tolist() == [0.0] * 250  # the time since the last block, as zeros
    assert cap.take_outages() == [Outage("caller", 16000, ended=False)]
    answers.append({"caller_line.monitor": 9})  # back; the 2 s retry reopens it at 3.015625
    clock.t = 3.0 + step
    cap.read_available()
    assert len(be.opened) == 2 and cap.take_outages() == []
    filled = cap.stats()[0].samples
    assert filled == round((3.0 + step) * 16000)
    be.opened[1].push([7] * 250)
    clock.t = 3.0 + 2 * step
    got = as_dict(cap.read_available())
    assert got["caller"].tolist() == [7.0] * 250
    assert cap.take_outages() == [Outage("caller", filled, ended=True)]
    assert cap.take_outages() == []


def test_a_stream_the_server_moved_to_another_source_is_reopened_on_its_own() -> None:
    # {source output: source}: caller_line.monitor is source 4, agent_mic source 7
    outputs: list[dict[int, int]] = [{}]
    devs = [SPEAKER_MON, DeviceInfo("agent_mic", "PulseAudio", None, 1, 0, 48000.0, kind="pulse_source")]

    class Backend(FakeBackend):
        def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: Any) -> FakeStream:
            s = super().open_input(dev, rate, block_s, sink)
            src = {"caller_line.monitor": 4, "agent_mic": 7}[dev.name]
            outputs.append({**outputs[-1], 20 + len(self.opened): src})  # the server adds our stream
            return s

    events: list[FakeEvents] = []

    def watch() -> FakeEvents:
        events.append(FakeEvents())
        return events[-1]

    indexes = {"caller_line.monitor": 4, "agent_mic": 7}
    cap, be, clock = make("caller_line.monitor", "agent_mic", backend=Backend(devs), source_events=watch,
                          source_indexes=lambda: indexes, source_outputs=lambda: outputs[-1])
    assert outputs[-1] == {21: 4, 22: 7}
    be.opened[0].push([1] * 160)
    be.opened[1].push([2] * 160)
    clock.t = 0.01
    cap.read_available()
    assert cap.problems() == []
    outputs.append({21: 4, 22: 4})  # the default source came back: the server moved the agent stream
    be.opened[1].push([1000] * 160)  # ...and it now carries the caller's audio
    events[0].pending = True  # "Event 'change' on source-output #22"
    clock.t = 0.02
    got = as_dict(cap.read_available())
    assert np.count_nonzero(got.get("agent", np.zeros(0))) == 0  # never analysed as the agent
    assert be.opened[1].closed and len(be.opened) == 3 and be.opened[2].dev.name == "agent_mic"
    assert outputs[-1] == {21: 4, 22: 4, 23: 7}
    assert cap.take_outages() == [Outage("agent", 160, ended=False)]
    assert cap.problems() == []  # reopened at once
    outputs.append({21: 4, 23: 7})  # the moved stream is gone: ours is the new one
    events[0].pending = True
    clock.t = 0.03
    cap.read_available()
    assert cap.problems() == [] and len(be.opened) == 3


def test_pulse_source_missing_at_start_is_a_user_error() -> None:
    with pytest.raises(DeviceError) as e:
        make("caller_line.monitor", source_indexes=lambda: {"other": 1})
    assert str(e.value) == ("--caller 'caller_line.monitor': cannot record from 'caller_line.monitor': "
                            "PulseAudio source 'caller_line.monitor' is not there")


def test_a_first_block_that_comes_late_is_preceded_by_zeros() -> None:
    cap, _be, clock = make("evolve")
    clock.t = 0.2
    assert cap.read_available() == [] and cap.stats()[0].state == "starting"
    clock.t = 1.0  # an idle Pulse null sink took 1.4-2 s for its first block
    assert as_dict(cap.read_available())["caller"].tolist() == [0.0] * 16000
    assert cap.problems() == []
    clock.t = 3.0
    cap.read_available()
    assert cap.problems() == []
    clock.t = 3.1
    cap.read_available()
    assert cap.problems() == [
        "caller line 'Jabra EVOLVE LINK Mono' sent no audio within 3 s; retrying every 2 s"]
    assert cap.stream_time("caller") == 3.1


def test_a_silent_wasapi_loopback_is_idle_not_broken() -> None:
    cap, be, clock = make("jabra) [loopback", backend=FakeBackend([LOOPBACK], {LOOPBACK.name: (48000, 2)}))
    clock.t = 0.2
    assert cap.read_available() == []
    clock.t = 0.5  # nothing plays: WASAPI sends nothing; time goes on as zeros
    assert as_dict(cap.read_available())["caller"].tolist() == [0.0] * 8000
    clock.t = 10.0
    assert as_dict(cap.read_available())["caller"].size == 9.5 * 16000
    assert cap.problems() == [] and cap.stats()[0].state == "idle"
    be.opened[0].push(np.full(1920, 300))  # the softphone plays: 2 x 20 ms at 48 kHz stereo
    be.opened[0].push(np.full(1920, 300))
    clock.t = 10.04
    y = as_dict(cap.read_available())["caller"]  # less soxr's delay (21 ms)
    assert cap.stats()[0].state == "running" and 0 < len(y) < 640


def test_no_matching_device_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"^--agent 'plantronics': no input device name contains it"):
        make("evolve", "plantronics")


def test_open_failure_at_start_closes_what_was_opened() -> None:
    be = FakeBackend([MIC, SPEAKER_MON])
    be.failing.add(MIC.name)
    with pytest.raises(DeviceError) as e:
        make("caller_line", "evolve", backend=be)
    assert str(e.value) == ("--agent 'evolve': cannot record from 'Jabra EVOLVE LINK Mono': "
                            "Error opening RawInputStream: Device unavailable [PaErrorCode -9985]")
    assert be.opened[0].closed


def test_private_portaudio_is_rescanned_for_a_replugged_device() -> None:
    be = FakeBackend([MIC, LOOPBACK])
    be.private_portaudio = True  # PyAudioWPatch: its PortAudio serves only the capture
    cap, _, clock = make("loopback", "evolve", backend=be)
    caller, agent = be.opened
    agent.alive = False
    clock.t = 0.1
    cap.read_available()
    assert be.rescans == 0 and len(cap.problems()) == 1
    be.devs = [LOOPBACK]  # unplugged: PortAudio still lists it until a rescan...
    caller.push([5] * 1920)  # 2 channels of 960 frames at 48 kHz: 320 samples at 16 kHz
    clock.t = 2.1
    got = as_dict(cap.read_available())
    assert be.rescans == 1  # ...so the retry rescans, which closes and reopens the caller too
    assert caller.closed and len(be.opened) == 3 and be.opened[2].dev is LOOPBACK
    clock.t = 4.1
    cap.read_available()
    assert be.rescans == 1  # at most one rescan per rescan_s (10 s)
    be.devs = [MIC, LOOPBACK]
    clock.t = 6.1
    cap.read_available()
    assert cap.problems() == [] and [s.reopens for s in cap.stats()] == [1, 1]
    assert "caller" in got or cap.stream_time("caller") > 0


def test_rescan_devices_hands_over_what_was_queued() -> None:
    cap, be, _clock = make("evolve")
    be.opened[0].push([4, 5])
    cap.rescan_devices()
    assert be.rescans == 1 and be.opened[0].closed and len(be.opened) == 2
    assert as_dict(cap.read_available())["caller"].tolist() == [4, 5]
    assert cap.problems() == []


def test_a_bug_in_a_step_takes_the_channel_down_not_the_app() -> None:
    cap, be, clock = make("evolve")
    be.opened[0].channels = 3  # 2 samples cannot be split into frames of 3: reshape fails
    be.opened[0].sink.on_block(np.array([1, 2], np.int16).tobytes(), 1, False)
    clock.t = 0.1
    cap.read_available()
    assert cap.problems()[0].startswith("caller line 'Jabra EVOLVE LINK Mono' failed (cannot reshape")


def test_callbacks_from_another_thread_lose_nothing() -> None:
    cap, be, _clock = make("evolve", queue_s=1000.0)
    s = be.opened[0]
    blocks = 5000

    def portaudio() -> None:
        for i in range(blocks):
            s.push(np.full(160, i % 100, np.int16))

    th = threading.Thread(target=portaudio)
    th.start()
    got = []
    while th.is_alive():
        got += [x for _, x in cap.read_available()]
    th.join()
    got += [x for _, x in cap.read_available()]
    y = np.concatenate(got)
    assert len(y) == blocks * 160
    assert np.array_equal(y, np.repeat(np.arange(blocks) % 100, 160).astype(np.float64))


def test_close_stops_everything() -> None:
    cap, be, _clock = make("caller_line", "evolve")
    cap.close()
    assert all(s.closed for s in be.opened) and cap.read_available() == []
    assert [s.state for s in cap.stats()] == ["closed", "closed"]


# --------------------------------------------------------------------------------------------
# PyAudioWPatch (Windows): a fake module with the calls the backend makes
# --------------------------------------------------------------------------------------------
class FakePyAudioModule:
    paInt16, paInputOverflow, paContinue = 8, 2, 0

    class PyAudio:
        def __init__(self) -> None:
            self.opened: list[dict[str, Any]] = []
            self.terminated = False

        def get_host_api_count(self) -> int:
            return 1

        def get_host_api_info_by_index(self, i: int) -> dict[str, Any]:
            return {"index": 0, "name": "Windows WASAPI", "defaultInputDevice": 0, "defaultOutputDevice": -1}

        def get_default_host_api_info(self) -> dict[str, Any]:
            return self.get_host_api_info_by_index(0)

        def get_device_count(self) -> int:
            return 2

        def get_device_info_by_index(self, i: int) -> dict[str, Any]:
            return [
                {"index": 0, "name": "Headset Microphone (Jabra)", "hostApi": 0, "maxInputChannels": 1,
                 "maxOutputChannels": 0, "defaultSampleRate": 48000.0, "isLoopbackDevice": False},
                {"index": 1, "name": "Headset Earphone (Jabra) [Loopback]", "hostApi": 0,
                 "maxInputChannels": 2, "maxOutputChannels": 0, "defaultSampleRate": 44100.0,
                 "isLoopbackDevice": True},
            ][i]

        def is_format_supported(self, rate: int, **kw: Any) -> bool:
            if rate != 48000 or kw["input_channels"] != 1:  # WASAPI shared mode: the mix format only
                raise ValueError("Invalid sample rate", -9997)
            return True

        def open(self, **kw: Any) -> Any:
            self.opened.append(kw)

            class Stream:
                def is_active(self) -> bool:
                    return True

                def start_stream(self) -> None: ...

                def close(self) -> None: ...

            return Stream()

        def terminate(self) -> None:
            self.terminated = True


def test_pyaudiowpatch_backend_opens_loopback_at_the_mix_format() -> None:
    be = PyAudioWPatchBackend(FakePyAudioModule)
    devs = be.devices()
    assert [d.kind for d in devs] == ["portaudio", "wasapi_loopback"]
    h = be.open_input(devs[1], 16000, 0.02, _Sink(4))
    assert (h.rate, h.channels) == (44100, 2)
    kw = be._pa.opened[0]
    assert {k: kw[k] for k in ("format", "channels", "rate", "input", "input_device_index",
                               "frames_per_buffer", "start")} == {
        "format": 8, "channels": 2, "rate": 44100, "input": True, "input_device_index": 1,
        "frames_per_buffer": 882, "start": False}
    assert kw["stream_callback"](b"\x01\x00\x02\x00", 1, {}, 0) == (None, 0)
    h2 = be.open_input(devs[0], 16000, 0.02, _Sink(4))  # 16 kHz refused: its own rate, mono
    assert (h2.rate, h2.channels) == (48000, 1)
    old = be._pa
    be.rescan()
    assert old.terminated and be._pa is not old


# --------------------------------------------------------------------------------------------
# Against a private PulseAudio daemon
# --------------------------------------------------------------------------------------------
needs_pulse = pytest.mark.skipif(why_not("pulseaudio") is not None, reason=str(why_not("pulseaudio")))
TONES = {"caller_line": 440, "agent_in": 1000}


@pytest.fixture(scope="module")
def private_pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    """PulseAudio with sinks caller_line (440 Hz) and agent_in (1000 Hz; its monitor is the default
    source, where the server moves streams of a source that vanishes)."""
    if (why := why_not("pulseaudio")) is not None:
        pytest.skip(why)
    lab = SoundServer("pulseaudio", tmp_path_factory.mktemp("pulse"), sinks={"caller_line": 2, "agent_in": 1})
    try:
        lab.start()
        lab.pactl("set-default-source", "agent_in.monitor", check=True)
        for sink, hz in TONES.items():
            lab.play_tone(sink, hz)
        # a stream the server moves onto agent_in's monitor gets the 1000 Hz at once
        lab.keep_running("agent_in")
        with lab.as_default():
            yield lab
    finally:
        lab.stop()


def _collect(cap: LiveCapture, seconds: float, until: Any = None) -> dict[str, list[np.ndarray]]:
    """Read like the UI timer (every 20 ms) for `seconds` of wall time, or until until(got)."""
    got: dict[str, list[np.ndarray]] = {"caller": [], "agent": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for role, x in cap.read_available():
            got[role].append(x)
        if until is not None and until(got):
            break
        time.sleep(0.02)
    return got


def _tone_s(chunks: list[np.ndarray]) -> float:
    return sum(int(np.count_nonzero(x)) for x in chunks) / 16000


def _peak_hz(chunks: list[np.ndarray]) -> float:
    """Strongest frequency of the last 0.5 s (the tone is there; filled zeros come before it)."""
    x = np.concatenate(chunks)[-8000:]
    assert np.count_nonzero(x) > 6400  # a 1000 Hz tone at 16 kHz is exactly 0 every 8th sample
    return float(np.argmax(np.abs(np.fft.rfft(x))) * 16000 / len(x))


def _level_at(x: np.ndarray, hz: float) -> float:
    """Amplitude of the `hz` component of x (a single-bin DFT)."""
    n = np.arange(len(x))
    return float(abs(np.dot(x, np.exp(-2j * np.pi * hz * n / 16000))) * 2 / max(len(x), 1))


# Pulse sources are recorded through libpulse by default (pinned streams); the ALSA `pulse` PCM
# through PortAudio is the fallback where libpulse cannot be loaded: both run against the server.
BACKENDS = ["libpulse", "alsa"]


def backend_for(kind: str) -> Any:
    from softphone_assist.audio.backends import SoundDeviceBackend
    from softphone_assist.audio.libpulse import PulseBackend

    return PulseBackend(SoundDeviceBackend()) if kind == "libpulse" else SoundDeviceBackend()


@needs_pulse
@pytest.mark.parametrize("kind", BACKENDS)
def test_pulse_two_streams_record_their_own_sources(private_pulse: SoundServer, kind: str) -> None:
    with LiveCapture("caller_line.monitor", "agent_in.monitor", backend=backend_for(kind)) as cap:
        got = _collect(cap, 10.0, until=lambda g: _tone_s(g["caller"]) > 1.2 and _tone_s(g["agent"]) > 1.2)
        outputs = private_pulse.pactl("list", "source-outputs") or ""
        assert cap.problems() == []
        assert [s.device_rate for s in cap.stats()] == [16000, 16000]  # the server resamples
    assert _tone_s(got["caller"]) > 1.2 and _tone_s(got["agent"]) > 1.2
    assert _peak_hz(got["caller"]) == 440.0
    assert _peak_hz(got["agent"]) == 1000.0
    caller = np.concatenate(got["caller"])[-8000:]
    assert abs(np.sqrt(np.mean(caller**2)) - 0.3 * 32767 / np.sqrt(2)) < 200
    assert outputs.count("Source Output #") >= 2


@needs_pulse
@pytest.mark.parametrize("kind", BACKENDS)
def test_pulse_sink_unloaded_and_loaded_again(private_pulse: SoundServer, kind: str) -> None:
    lab = private_pulse
    with LiveCapture("caller_line.monitor", backend=backend_for(kind)) as cap:
        got = _collect(cap, 10.0, until=lambda g: _tone_s(g["caller"]) > 0.5)
        assert _peak_hz(got["caller"]) == 440.0
        lab.pactl("unload-module", lab.module_of("caller_line"), check=True)
        lost = _collect(cap, 5.0, until=lambda g: bool(cap.problems()))
        assert cap.problems() == ["caller line 'caller_line.monitor' disconnected; retrying every 2 s"]
        # while it is gone: zeros, never the default source's 1000 Hz the server moved us to
        down = _collect(cap, 2.5)
        assert _tone_s(down["caller"]) == 0 and sum(len(x) for x in down["caller"]) > 1.5 * 16000
        assert "disconnected" in cap.problems()[0]
        lab.load_sink("caller_line", 2)
        lab.play_tone("caller_line", TONES["caller_line"])
        back = _collect(cap, 15.0, until=lambda g: not cap.problems() and _tone_s(g["caller"]) > 0.5)
        assert cap.problems() == []
        assert _peak_hz(back["caller"]) == 440.0
        st = cap.stats()[0]
        assert (st.reopens, st.state) == (1, "running") and st.filled > 2 * 16000
    # before the loss was seen: the caller's own 440 Hz (its last blocks), nothing at 1000 Hz
    heard = np.concatenate(lost["caller"])
    nz = np.flatnonzero(heard)
    if len(nz):
        span = heard[nz[0]:nz[-1] + 1]
        assert _level_at(span, 1000) < 0.1 * _level_at(span, 440)


@needs_pulse
def test_alsa_fallback_sees_the_server_move_the_agent_stream_and_reopens_it(
        private_pulse: SoundServer, caplog: pytest.LogCaptureFixture) -> None:
    """The unpinned ALSA path: with the caller monitor as the default source, unloading and loading
    the caller sink makes the server move the agent stream onto the new caller monitor. The capture
    sees it (source-output event) and re-opens that stream on its own source."""
    from softphone_assist.audio import pulse

    lab = private_pulse
    lab.pactl("set-default-source", "caller_line.monitor", check=True)
    try:
        with LiveCapture("caller_line.monitor", "agent_in.monitor", backend=backend_for("alsa")) as cap:
            _collect(cap, 10.0, until=lambda g: _tone_s(g["caller"]) > 0.5 and _tone_s(g["agent"]) > 0.5)
            lab.pactl("unload-module", lab.module_of("caller_line"), check=True)
            _collect(cap, 5.0, until=lambda g: bool(cap.problems()))
            lab.load_sink("caller_line", 2)
            lab.pactl("set-default-source", "caller_line.monitor", check=True)
            lab.play_tone("caller_line", TONES["caller_line"])
            _collect(cap, 15.0, until=lambda g: not cap.problems() and cap.stats()[0].state == "running")
            got = _collect(cap, 1.5)
            sources = pulse.parse_short_sources(lab.pactl("list", "short", "sources") or "")
            on = sorted(pulse.parse_source_outputs(lab.pactl("list", "source-outputs") or "", os.getpid()).values())
            assert cap.problems() == []
            agent_marks = [m for m in cap.take_outages() if m.channel == "agent"]
    finally:
        lab.pactl("set-default-source", "agent_in.monitor")
    assert "agent microphone 'agent_in.monitor' was moved to another source by the sound server" in caplog.text
    assert [m.ended for m in agent_marks] == [False, True]
    assert on == sorted([sources["caller_line.monitor"], sources["agent_in.monitor"]])
    assert _peak_hz(got["agent"]) == 1000.0
