"""Which output an option names (PortAudio index, part of a name, PulseAudio sink), and the
errors that list what exists. The device list is faked; test_tts_pulse.py opens real sinks."""

from __future__ import annotations

from typing import Any

import pytest

from softphone_assist.audio import playback
from softphone_assist.audio.playback import OutputDeviceError, OutputTarget, resolve_output
from softphone_assist.errors import UserError

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
        monkeypatch.setattr(playback, "pulse_sinks", lambda timeout=2.0: sinks)
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
    import numpy as np

    with pytest.raises(OutputDeviceError, match="no output chosen"):
        playback.Playback(np.zeros(10, dtype=np.float32), 16000, [])
