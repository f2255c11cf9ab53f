"""Which output an option names (PortAudio index, part of a name, PulseAudio sink) and the errors
that list what exists; Playback driven by hand through a fake sounddevice. test_tts_pulse.py
plays into real sinks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from softphone_assist.audio import playback
from softphone_assist.audio.playback import OutputDeviceError, OutputTarget, resolve_output
from softphone_assist.core.errors import UserError

LINUX = [
    {"index": 0, "name": "HDA Intel PCH: ALC257 Analog (hw:0,0)", "max_output_channels": 2},
    {"index": 1, "name": "Jabra EVOLVE 20 MS: USB Audio (hw:1,0)", "max_output_channels": 2},
    {"index": 2, "name": "pulse", "max_output_channels": 32},
    {"index": 3, "name": "default", "max_output_channels": 32},
]
WINDOWS = [
    {"index": 5, "name": "Speakers (Realtek(R) Audio)", "max_output_channels": 2},
    {"index": 6, "name": "CABLE Input (VB-Audio Virtual Cable)", "max_output_channels": 8},
    {"index": 7, "name": "Headset Earphone (Jabra EVOLVE 20)", "max_output_channels": 2},
    {"index": 8, "name": "Headset Earphone (Jabra EVOLVE 20 SE)", "max_output_channels": 2},
]


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(devs: list[dict[str, Any]], sinks: list[str] | None, platform: str = "linux") -> None:
        monkeypatch.setattr(playback, "output_devices", lambda: devs)
        monkeypatch.setattr(playback.pulse, "sink_names", lambda timeout=2.0: sinks)
        monkeypatch.setattr(playback.sys, "platform", platform)
    return use


def test_pulse_sink_by_prefix_or_bare_name(devices: Any) -> None:
    devices(LINUX, ["alsa_output.pci.analog-stereo", "agent_mic_in"])
    assert resolve_output("pulse:agent_mic_in") == OutputTarget("pulse:agent_mic_in", 2, "agent_mic_in")
    assert resolve_output("agent_mic_in") == OutputTarget("agent_mic_in", 2, "agent_mic_in")


def test_portaudio_devices_by_index_name_or_default(devices: Any) -> None:
    devices(LINUX, ["agent_mic_in"])
    assert resolve_output(1) == OutputTarget("1", 1)
    assert resolve_output("jabra") == OutputTarget("jabra", 1)
    assert resolve_output("default") == OutputTarget("default", None)
    assert resolve_output("pulse") == OutputTarget("pulse", 2)  # the PCM itself, the server's default sink


def test_windows_virtual_cable_and_exact_name_beats_substring(devices: Any) -> None:
    devices(WINDOWS, None, "win32")
    assert resolve_output("CABLE Input") == OutputTarget("CABLE Input", 6)
    assert resolve_output("headset earphone (jabra evolve 20)") == OutputTarget(
        "headset earphone (jabra evolve 20)", 7)


def test_same_device_on_several_host_apis_takes_the_default_one(devices: Any) -> None:
    devices([{"index": 1, "name": "CABLE Input (VB-Audio Virtual C", "max_output_channels": 8,
              "default_hostapi": True},
             {"index": 9, "name": "CABLE Input (VB-Audio Virtual Cable)", "max_output_channels": 8,
              "default_hostapi": False},
             {"index": 14, "name": "CABLE Input (VB-Audio Virtual Cable)", "max_output_channels": 2,
              "default_hostapi": False}], None, "win32")
    assert resolve_output("CABLE Input").device == 1  # MME (default) truncates names to 31 characters
    with pytest.raises(OutputDeviceError, match=r"several outputs match: 9 .*; 14 "):
        resolve_output("CABLE Input (VB-Audio Virtual Cable)")


def test_ambiguous_name(devices: Any) -> None:
    devices(WINDOWS, None, "win32")
    with pytest.raises(OutputDeviceError) as err:
        resolve_output("Headset")
    assert str(err.value) == (
        "tts.outputs 'Headset': several outputs match: 7 'Headset Earphone (Jabra EVOLVE 20)'; "
        "8 'Headset Earphone (Jabra EVOLVE 20 SE)'; give the index or more of the name")


def test_unknown_name_lists_devices_and_sinks(devices: Any) -> None:
    devices(LINUX, ["agent_mic_in"])
    with pytest.raises(UserError) as err:
        resolve_output("BlackHole", option="--tts-output")
    assert str(err.value) == (
        "--tts-output 'BlackHole': no output device name contains it; outputs: "
        "0 'HDA Intel PCH: ALC257 Analog (hw:0,0)'; 1 'Jabra EVOLVE 20 MS: USB Audio (hw:1,0)'; "
        "2 'pulse'; 3 'default'; PulseAudio sinks: agent_mic_in")


def test_unknown_index(devices: Any) -> None:
    devices(WINDOWS, None, "win32")
    with pytest.raises(OutputDeviceError, match=r"^tts.outputs 9: no output device has index 9; outputs: 5 "):
        resolve_output("9")


def test_sink_without_alsa_pulse_device(devices: Any) -> None:
    devices(LINUX[:2], ["agent_mic_in"])
    with pytest.raises(OutputDeviceError, match=r"PortAudio has no ALSA 'pulse' device .*libasound2-plugins"):
        resolve_output("pulse:agent_mic_in")


def test_sink_prefix_without_a_server_to_ask(devices: Any) -> None:
    devices(LINUX, None)  # pactl missing or no server: trust the name, PULSE_SINK decides at open
    assert resolve_output("pulse:agent_mic_in").pulse_sink == "agent_mic_in"
    with pytest.raises(OutputDeviceError, match="no output device name contains it"):
        resolve_output("agent_mic_in")  # a bare name needs the sink list


def test_pulse_sink_env_is_restored() -> None:
    import os

    before = os.environ.get("PULSE_SINK")
    with playback.pulse_sink_env("agent_mic_in"):
        assert os.environ["PULSE_SINK"] == "agent_mic_in"
    assert os.environ.get("PULSE_SINK") == before
    with playback.pulse_sink_env(None):
        assert os.environ.get("PULSE_SINK") == before


def test_no_outputs_is_a_user_error() -> None:
    with pytest.raises(OutputDeviceError, match="no output chosen"):
        playback.Playback(np.zeros(10, dtype=np.float32), 16000, [])


# --------------------------------------------------------------------------------------------
# Playback against a fake sounddevice: callbacks driven by hand
# --------------------------------------------------------------------------------------------
class _Status:
    def __init__(self, underflow: bool = False) -> None:
        self.output_underflow = underflow


class FakeSD:
    """Just enough of sounddevice: a device that takes only 48 kHz stereo, streams we drive."""

    class CallbackStop(Exception):  # sounddevice's names
        pass

    class CallbackAbort(Exception):
        pass

    def __init__(self, fail_start: bool = False) -> None:
        self.streams: list[FakeSD.Stream] = []
        self.fail_start = fail_start

    def check_output_settings(self, device: Any, samplerate: int, channels: int, dtype: str) -> None:
        if samplerate != 48000 or channels != 2:
            raise ValueError("Invalid sample rate")

    def query_devices(self, device: Any, kind: str) -> dict[str, Any]:
        return {"default_samplerate": 48000.0, "max_output_channels": 2, "name": "hw"}

    def OutputStream(self, **kw: Any) -> FakeSD.Stream:
        s = FakeSD.Stream(self, **kw)
        self.streams.append(s)
        return s

    class Stream:
        def __init__(self, sd: FakeSD, **kw: Any) -> None:
            self.sd, self.kw = sd, kw
            self.latency = 0.1
            self.started = self.closed = self.aborted = False
            self.done = False

        def start(self) -> None:
            if self.sd.fail_start and self is self.sd.streams[-1]:
                raise RuntimeError("Error starting stream: Device unavailable")
            self.started = True

        def pump(self, frames: int, underflow: bool = False) -> np.ndarray:
            out = np.full((frames, self.kw["channels"]), 9.0, dtype=np.float32)
            try:
                self.kw["callback"](out, frames, None, _Status(underflow))
            except (FakeSD.CallbackStop, FakeSD.CallbackAbort):
                self.done = True
                self.kw["finished_callback"]()
            return out

        def abort(self) -> None:
            self.aborted = True

        def close(self, ignore_errors: bool = True) -> None:
            self.closed = True


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> FakeSD:
    sd = FakeSD()
    monkeypatch.setattr(playback, "load_sounddevice", lambda: sd)
    monkeypatch.setattr(playback, "_FORMATS", {})
    return sd


CLIP = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)  # 100 ms at 16 kHz
HEADSET = OutputTarget("Headset", 1)
CABLE = OutputTarget("CABLE Input", 2)


def test_two_outputs_get_the_clip_resampled_in_stereo_then_report_every_frame(fake_sd: FakeSD) -> None:
    pb = playback.Playback(CLIP, 16000, [HEADSET, CABLE])
    pb.start()
    a, b = fake_sd.streams
    assert a.kw["samplerate"] == 48000 and a.kw["channels"] == 2 and a.kw["device"] == 1
    first = a.pump(480)
    assert np.allclose(first[:, 0], first[:, 1])
    assert pb.poll() is None
    while not a.done:
        a.pump(480)
    assert pb.poll() is None  # the other output is still playing
    while not b.done:
        b.pump(480, underflow=True)
    result = pb.poll()
    assert result is not None and not result.cancelled and result.error is None
    assert (result.frames, result.seconds) == (1600, 0.1)
    assert [(o.label, o.frames) for o in result.outputs] == [("Headset", 1600), ("CABLE Input", 1600)]
    # every callback flagged: 4800 + 4800 (latency pad) + 480 (tail pad) = 21 blocks, + the empty one
    assert result.outputs[1].underflows == 22
    assert a.closed and b.closed
    # the 100 ms of padding and the 10 ms tail pad were silence
    assert np.all(first[:, 0] != 9.0)


def test_cancel_reports_what_was_heard_not_what_was_buffered(fake_sd: FakeSD) -> None:
    pb = playback.Playback(np.zeros(16000, dtype=np.float32), 16000, [HEADSET])
    pb.start()
    (s,) = fake_sd.streams
    for _ in range(30):
        s.pump(480)  # 14400 device frames handed over = 300 ms of the clip
    pb.cancel()
    s.pump(480)
    result = pb.poll()
    assert result is not None and result.cancelled
    assert result.frames == 3200  # 300 ms handed over, minus the 100 ms still in the buffer


def test_a_dead_output_is_aborted_and_reported(fake_sd: FakeSD, monkeypatch: pytest.MonkeyPatch) -> None:
    pb = playback.Playback(CLIP, 16000, [HEADSET])
    pb.start()
    (s,) = fake_sd.streams
    s.pump(480)
    assert pb.poll() is None
    later = pb._streams[0].last_at + playback.STALL_S + 1
    monkeypatch.setattr(playback.time, "monotonic", lambda: later)
    result = pb.poll()
    assert result is not None and s.aborted and not result.cancelled
    assert result.error == "Headset: the output stopped taking audio for 5 s"


def test_a_stream_that_ends_early_is_reported(fake_sd: FakeSD) -> None:
    pb = playback.Playback(CLIP, 16000, [HEADSET])
    pb.start()
    (s,) = fake_sd.streams
    s.pump(480)
    s.kw["finished_callback"]()  # PortAudio ended the stream on its own (device gone)
    result = pb.poll()
    assert result is not None
    assert result.error == "Headset: playback stopped after 160 of 1600 frames (device lost?)"


def test_start_failure_closes_what_was_opened(fake_sd: FakeSD) -> None:
    fake_sd.fail_start = True
    pb = playback.Playback(CLIP, 16000, [HEADSET, CABLE])
    with pytest.raises(OutputDeviceError,
                       match=r"tts.outputs CABLE Input: cannot start playback: .*unavailable"):
        pb.start()
    assert all(s.closed for s in fake_sd.streams)
