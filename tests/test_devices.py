"""Device listing, matching and the `devices` output, from fake library answers (no sound card)."""

from __future__ import annotations

from typing import Any

import pytest

from softphone_assist.audio import pulse
from softphone_assist.audio.devices import (
    DeviceError,
    DeviceInfo,
    devices_from_pulse,
    devices_from_pyaudio,
    devices_from_sounddevice,
    find_input,
    format_devices,
)
from softphone_assist.core.errors import UserError

# `LC_ALL=C pactl list sources` as PulseAudio 16.1 printed it (private server, two null sinks and
# a remapped source), trimmed to two sources
PACTL_LIST_SOURCES = """Source #0
\tState: IDLE
\tName: caller_line.monitor
\tDescription: Monitor of softphone_speaker_caller_line
\tDriver: module-null-sink.c
\tSample Specification: s16le 2ch 48000Hz
\tChannel Map: front-left,front-right
\tOwner Module: 1
\tMute: no
\tVolume: front-left: 65536 / 100% / 0.00 dB,   front-right: 65536 / 100% / 0.00 dB
\t        balance 0.00
\tMonitor of Sink: caller_line
\tLatency: 0 usec, configured 2000000 usec
\tFlags: DECIBEL_VOLUME LATENCY 
\tProperties:
\t\tdevice.description = "Monitor of Null Output"
\t\tdevice.class = "monitor"
\tFormats:
\t\tpcm

Source #3
\tState: IDLE
\tName: agent_mic
\tDescription: agent_microphone
\tDriver: module-remap-source.c
\tSample Specification: s16le 1ch 16000Hz
\tChannel Map: mono
\tMonitor of Sink: n/a
\tProperties:
\t\tdevice.master_device = "sink_b.monitor"
\t\tdevice.description = "agent_microphone"
\tFormats:
\t\tpcm
"""  # noqa: W291 (pactl's trailing blank after the flags is part of the sample)

PACTL_SHORT_SOURCES = (
    "0\tcaller_line.monitor\tmodule-null-sink.c\ts16le 2ch 48000Hz\tIDLE\n"
    "3\tagent_mic\tmodule-remap-source.c\ts16le 1ch 16000Hz\tRUNNING\n"
)


def test_parse_pactl_sources() -> None:
    assert pulse.parse_sources(PACTL_LIST_SOURCES) == [
        pulse.PulseSource(0, "caller_line.monitor", "Monitor of softphone_speaker_caller_line",
                          "caller_line", "s16le 2ch 48000Hz"),
        pulse.PulseSource(3, "agent_mic", "agent_microphone", None, "s16le 1ch 16000Hz"),
    ]
    assert pulse.parse_short_sources(PACTL_SHORT_SOURCES) == {"caller_line.monitor": 0, "agent_mic": 3}
    assert pulse.parse_short_sources("") == {}


def test_pulse_source_env_sets_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("PULSE_SOURCE", "before")
    with pulse.pulse_source_env("caller_line.monitor"):
        assert os.environ["PULSE_SOURCE"] == "caller_line.monitor"
    assert os.environ["PULSE_SOURCE"] == "before"
    monkeypatch.delenv("PULSE_SOURCE")
    with pytest.raises(RuntimeError), pulse.pulse_source_env("x"):
        raise RuntimeError
    assert "PULSE_SOURCE" not in os.environ


def test_pactl_missing_means_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulse.shutil, "which", lambda name: None)
    assert pulse.source_indexes() is None
    assert pulse.list_sources() == []


# --------------------------------------------------------------------------------------------
SD_HOSTAPIS = [
    {"name": "MME", "devices": [0, 1, 2], "default_input_device": 1, "default_output_device": 2},
    {"name": "Windows WASAPI", "devices": [3, 4], "default_input_device": 3, "default_output_device": 4},
]


def _sd(index: int, name: str, api: int, ins: int, outs: int, rate: float = 44100.0) -> dict[str, Any]:
    return {"name": name, "index": index, "hostapi": api, "max_input_channels": ins,
            "max_output_channels": outs, "default_samplerate": rate}


SD_DEVICES = [
    _sd(0, "Microsoft Sound Mapper - Input", 0, 2, 0),
    _sd(1, "Headset Microphone (Jabra EVOL", 0, 1, 0),
    _sd(2, "Speakers (Realtek(R) Audio)", 0, 0, 2),
    _sd(3, "Headset Microphone (Jabra EVOLVE LINK)", 1, 1, 0, 16000.0),
    _sd(4, "Speakers (Realtek(R) Audio)", 1, 0, 2, 48000.0),
]


def test_devices_from_sounddevice_marks_defaults_of_the_default_hostapi_only() -> None:
    devs = devices_from_sounddevice(SD_HOSTAPIS, SD_DEVICES, default_hostapi=0)
    assert devs[1] == DeviceInfo(
        name="Headset Microphone (Jabra EVOL", hostapi="MME", index=1, max_input_channels=1,
        max_output_channels=0, default_samplerate=44100.0, is_default_input=True)
    assert [d.is_default_input for d in devs] == [False, True, False, False, False]
    assert [d.is_default_output for d in devs] == [False, False, True, False, False]
    assert [d.default_hostapi for d in devs] == [True, True, True, False, False]


def _pa(
    index: int, name: str, api: int, ins: int, outs: int, rate: float, loop: bool = False,
) -> dict[str, Any]:
    return {"index": index, "structVersion": 2, "name": name, "hostApi": api, "maxInputChannels": ins,
            "maxOutputChannels": outs, "defaultLowInputLatency": 0.01, "defaultLowOutputLatency": 0.01,
            "defaultHighInputLatency": 0.1, "defaultHighOutputLatency": 0.1,
            "defaultSampleRate": rate, "isLoopbackDevice": loop}


# what PyAudioWPatch reports on a Windows PC with a Jabra headset (shape from its docs/examples)
PA_HOSTAPIS = [
    {"index": 0, "structVersion": 1, "type": 2, "name": "MME", "deviceCount": 3,
     "defaultInputDevice": 0, "defaultOutputDevice": 1},
    {"index": 1, "structVersion": 1, "type": 13, "name": "Windows WASAPI", "deviceCount": 4,
     "defaultInputDevice": 3, "defaultOutputDevice": 4},
]
PA_DEVICES = [
    _pa(0, "Headset Microphone (Jabra EVOL", 0, 1, 0, 44100.0),
    _pa(1, "Headset Earphone (Jabra EVOLV", 0, 0, 2, 44100.0),
    _pa(2, "Speakers (Realtek(R) Audio)", 0, 0, 2, 44100.0),
    _pa(3, "Headset Microphone (Jabra EVOLVE LINK)", 1, 1, 0, 16000.0),
    _pa(4, "Headset Earphone (Jabra EVOLVE LINK)", 1, 0, 2, 48000.0),
    _pa(5, "Headset Earphone (Jabra EVOLVE LINK) [Loopback]", 1, 2, 0, 48000.0, loop=True),
    _pa(6, "Speakers (Realtek(R) Audio) [Loopback]", 1, 2, 0, 48000.0, loop=True),
]


def test_devices_from_pyaudio_flags_wasapi_loopback() -> None:
    devs = devices_from_pyaudio(PA_HOSTAPIS, PA_DEVICES, default_hostapi=0)
    assert [d.kind for d in devs] == ["portaudio"] * 5 + ["wasapi_loopback"] * 2
    assert devs[5].hostapi == "Windows WASAPI"
    assert (devs[5].max_input_channels, devs[5].default_samplerate) == (2, 48000.0)
    assert devs[0].is_default_input and not devs[3].is_default_input


def test_caller_prefers_the_loopback_of_the_named_output() -> None:
    devs = devices_from_pyaudio(PA_HOSTAPIS, PA_DEVICES, default_hostapi=0)
    assert find_input("jabra", devs, "caller").index == 5
    assert find_input("Speakers (Realtek", devs, "caller").index == 6
    # the agent microphone: not a loopback, and the default host API's entry (MME) first
    assert find_input("jabra", devs, "agent").index == 0
    assert find_input("Headset Microphone (Jabra EVOLVE LINK)", devs, "agent").index == 3  # exact name wins


# --------------------------------------------------------------------------------------------
LINUX = [
    DeviceInfo("HDA Intel PCH: ALC3246 Analog (hw:0,0)", "ALSA", 0, 2, 2, 44100.0),
    DeviceInfo("Jabra EVOLVE LINK: USB Audio (hw:2,0)", "ALSA", 1, 1, 2, 16000.0),
    DeviceInfo("pulse", "ALSA", 2, 32, 32, 44100.0),
    DeviceInfo("default", "ALSA", 3, 32, 32, 44100.0, is_default_input=True, is_default_output=True),
    *devices_from_pulse([
        pulse.PulseSource(0, "caller_line.monitor", "Monitor of softphone_speaker_caller_line",
                          "caller_line", "s16le 2ch 48000Hz"),
        pulse.PulseSource(5, "alsa_input.usb-GN_Netcom_A_S_Jabra_EVOLVE_LINK-00.mono-fallback",
                          "Jabra EVOLVE LINK Mono", None, "s16le 1ch 16000Hz"),
    ]),
]


def test_pulse_sources_become_devices() -> None:
    mon = LINUX[4]
    assert (mon.kind, mon.index, mon.hostapi) == ("pulse_source", None, "PulseAudio")
    assert mon.monitor_of == "caller_line"
    assert (mon.max_input_channels, mon.default_samplerate) == (2, 48000.0)
    assert (LINUX[5].max_input_channels, LINUX[5].default_samplerate) == (1, 16000.0)


def test_find_by_index_and_by_name() -> None:
    assert find_input(1, LINUX).name.startswith("Jabra EVOLVE LINK: USB")
    assert find_input(" 3 ", LINUX).name == "default"
    assert find_input("caller_line.monitor", LINUX, "caller") is LINUX[4]
    assert find_input("CALLER_LINE", LINUX, "caller") is LINUX[4]  # substring, any case
    assert find_input("softphone_speaker", LINUX, "caller") is LINUX[4]  # a Pulse description counts
    assert find_input("pulse", LINUX).name == "pulse"  # exact beats the Pulse sources' substrings
    # a headset reached through the sound server beats the busy raw ALSA device
    assert find_input("jabra", LINUX, "agent") is LINUX[5]


def test_no_match_names_the_option_and_lists_the_inputs() -> None:
    with pytest.raises(DeviceError) as e:
        find_input("Plantronics", LINUX, "agent")
    assert str(e.value) == (
        "--agent 'Plantronics': no input device name contains it (case-insensitive); input devices: "
        "0 'HDA Intel PCH: ALC3246 Analog (hw:0,0)'; 1 'Jabra EVOLVE LINK: USB Audio (hw:2,0)'; "
        "2 'pulse'; 3 'default'; 'caller_line.monitor'; "
        "'alsa_input.usb-GN_Netcom_A_S_Jabra_EVOLVE_LINK-00.mono-fallback'; "
        "`softphone-assist devices` lists them all")
    assert isinstance(e.value, UserError)


def test_bad_index_and_output_only_device() -> None:
    outs = [*LINUX, DeviceInfo("HDMI 0", "ALSA", 9, 0, 8, 48000.0)]
    no_input = r"^--caller 9: device 9 'HDMI 0' has no input channels; input devices: 0 'HDA"
    with pytest.raises(DeviceError, match=no_input):
        find_input(9, outs, "caller")
    with pytest.raises(DeviceError, match=r"^--agent 42: no device has index 42; "):
        find_input("42", LINUX)
    with pytest.raises(DeviceError, match=r"^--mic: empty device name"):
        find_input("  ", LINUX, option="--mic")


def test_format_devices_lists_everything_with_usage() -> None:
    text = format_devices(LINUX, platform="linux")
    assert text.splitlines()[:6] == [
        "Audio devices (choose with --caller / --agent: an index or part of the name):",
        "   idx  in out   rate  host API           name",
        "     0   2   2  44100  ALSA               HDA Intel PCH: ALC3246 Analog (hw:0,0)",
        "     1   1   2  16000  ALSA               Jabra EVOLVE LINK: USB Audio (hw:2,0)",
        "     2  32  32  44100  ALSA               pulse",
        "     3  32  32  44100  ALSA               default  [default input, default output]",
    ]
    assert f"    {'caller_line.monitor':<40} 2ch 48000 Hz  Monitor of softphone_speaker_caller_line" in text
    assert "    e.g. --caller caller_line.monitor" in text
    assert "    e.g. --agent alsa_input.usb-GN_Netcom_A_S_Jabra_EVOLVE_LINK-00.mono-fallback" in text
    assert "BlackHole" not in text and "WASAPI" not in text


def test_format_devices_windows_loopback_and_macos_hint() -> None:
    win = format_devices(devices_from_pyaudio(PA_HOSTAPIS, PA_DEVICES, 0), platform="win32")
    assert "WASAPI loopback (what an output device plays): the softphone's output is --caller:" in win
    assert "     5   2      48000  Windows WASAPI     Headset Earphone (Jabra EVOLVE LINK) [Loopback]" in win
    assert "install PyAudioWPatch" not in win
    assert "install PyAudioWPatch" in format_devices(LINUX[:4], platform="win32")
    mac = format_devices([DeviceInfo("BlackHole 2ch", "Core Audio", 0, 2, 2, 48000.0)], platform="darwin")
    assert "BlackHole 2ch" in mac and "Multi-Output Device" in mac
    assert "(none: no sound card" in format_devices([], platform="linux")
