"""Which audio devices exist and which one the user meant: the device list as data, matching, `devices`
output (listing them needs a backend: backends.list_devices).

Three kinds of capture device end up in one list:
- ``portaudio``: what PortAudio lists (sounddevice on Linux/macOS, PyAudioWPatch on Windows).
- ``pulse_source``: a PulseAudio/PipeWire source from `pactl` (Linux). PortAudio lists only the
  ALSA `pulse` and `default` devices, not the sources behind them, and never the *monitor* of a
  sink, which is how the caller's audio is heard: record ``<sink the softphone plays to>.monitor``.
  Such a source is recorded through libpulse, pinned to it (libpulse.py), or where libpulse
  cannot be loaded through the ALSA `pulse` device with PULSE_SOURCE set (pulse.py).
- ``wasapi_loopback``: Windows only, what an output device plays (PyAudioWPatch's
  "<output name> [Loopback]" devices). The caller stream is the loopback of the softphone's
  output device; sounddevice's bundled PortAudio cannot open loopback.
macOS has no loopback in CoreAudio: a driver such as BlackHole is an ordinary input device.
Route the softphone's output to a Multi-Output Device (headset + BlackHole) so the agent still
hears the caller, and capture ``--caller BlackHole``.

A device is chosen by PortAudio index or by a case-insensitive substring of its name (or of a
Pulse source's description). An exact name beats a substring; then the kind the role prefers
(caller: loopback, then Pulse sources; agent: Pulse sources), then the default host API (on
Windows each device appears once per host API), then list order.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from softphone_assist.audio import pulse
from softphone_assist.core.errors import UserError

DeviceKind = Literal["portaudio", "pulse_source", "wasapi_loopback"]
DeviceSpec = str | int
Role = Literal["caller", "agent"]
T = TypeVar("T")


class DeviceError(UserError):
    """No device matches an option, or the matched device cannot be opened."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    name: str
    hostapi: str
    index: int | None  # PortAudio index; None for a Pulse source (chosen by name)
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    kind: DeviceKind = "portaudio"
    description: str = ""  # Pulse: the human-readable description
    monitor_of: str | None = None  # Pulse monitor: the sink it carries
    default_hostapi: bool = True  # on the host API PortAudio picks by default
    is_default_input: bool = False
    is_default_output: bool = False


# ----------------------------------------------------------------------------------------------
# Building the list from what the libraries report (pure: tested with plain dicts)
# ----------------------------------------------------------------------------------------------
def devices_from_sounddevice(
    hostapis: Sequence[Mapping[str, Any]], devices: Iterable[Mapping[str, Any]], default_hostapi: int,
) -> list[DeviceInfo]:
    """From `sd.query_hostapis()` and `sd.query_devices()` dicts."""
    out = []
    for d in devices:
        api = hostapis[int(d["hostapi"])]
        out.append(DeviceInfo(
            name=str(d["name"]), hostapi=str(api["name"]), index=int(d["index"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            default_hostapi=int(d["hostapi"]) == default_hostapi,
            # every host API has defaults; the ones that count are the default host API's
            is_default_input=int(d["hostapi"]) == default_hostapi
            and int(d["index"]) == api.get("default_input_device", -1),
            is_default_output=int(d["hostapi"]) == default_hostapi
            and int(d["index"]) == api.get("default_output_device", -1),
        ))
    return out


def devices_from_pyaudio(
    hostapis: Sequence[Mapping[str, Any]], devices: Iterable[Mapping[str, Any]], default_hostapi: int,
) -> list[DeviceInfo]:
    """From PyAudio(WPatch) `get_host_api_info_by_index` / `get_device_info_by_index` dicts."""
    out = []
    for d in devices:
        api = hostapis[int(d["hostApi"])]
        loop = bool(d.get("isLoopbackDevice", False))
        out.append(DeviceInfo(
            name=str(d["name"]), hostapi=str(api["name"]), index=int(d["index"]),
            max_input_channels=int(d["maxInputChannels"]),
            max_output_channels=int(d["maxOutputChannels"]),
            default_samplerate=float(d["defaultSampleRate"]),
            kind="wasapi_loopback" if loop else "portaudio",
            default_hostapi=int(d["hostApi"]) == default_hostapi,
            is_default_input=int(d["hostApi"]) == default_hostapi
            and int(d["index"]) == api.get("defaultInputDevice", -1),
            is_default_output=int(d["hostApi"]) == default_hostapi
            and int(d["index"]) == api.get("defaultOutputDevice", -1),
        ))
    return out


def _spec_number(spec: str, unit: str) -> int:
    """2 from "s16le 2ch 48000Hz" and unit "ch"; 0 when absent."""
    m = re.search(rf"\b(\d+){unit}\b", spec)
    return int(m.group(1)) if m else 0


def devices_from_pulse(sources: Iterable[pulse.PulseSource]) -> list[DeviceInfo]:
    return [
        DeviceInfo(
            name=s.name, hostapi="PulseAudio", index=None,
            max_input_channels=_spec_number(s.sample_spec, "ch") or 2, max_output_channels=0,
            default_samplerate=float(_spec_number(s.sample_spec, "Hz") or 48000),
            kind="pulse_source", description=s.description, monitor_of=s.monitor_of,
        )
        for s in sources
    ]


# ----------------------------------------------------------------------------------------------
# Matching an option to a device
# ----------------------------------------------------------------------------------------------
_KIND_ORDER: dict[Role, dict[DeviceKind, int]] = {
    "caller": {"wasapi_loopback": 0, "pulse_source": 1, "portaudio": 2},
    "agent": {"pulse_source": 0, "portaudio": 1, "wasapi_loopback": 2},
}


def _short_list(devs: Sequence[DeviceInfo]) -> str:
    items = [f"{d.index} {d.name!r}" if d.index is not None else repr(d.name) for d in devs]
    return "; ".join(items) if items else "(none)"


def match_name(wanted: str, candidates: Sequence[T], names: Callable[[T], Iterable[str]]) -> tuple[list[T], list[T]]:
    """How every device option matches a name (inputs here, outputs in playback.py): the candidates
    with a name equal to `wanted`, and those with a name containing it, case-insensitive, in list order."""
    key = wanted.strip().casefold()
    exact: list[T] = []
    partial: list[T] = []
    for c in candidates:
        folded = [n.casefold() for n in names(c) if n]
        if key in folded:
            exact.append(c)
        if any(key in n for n in folded):
            partial.append(c)
    return exact, partial


def find_input(spec: DeviceSpec, devs: Sequence[DeviceInfo], role: Role = "agent",
               option: str | None = None) -> DeviceInfo:
    """The capture device `spec` names, or DeviceError naming the option and listing the inputs."""
    option = option or f"--{role}"
    inputs = [d for d in devs if d.max_input_channels > 0]
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        for d in devs:
            if d.index == index:
                if d.max_input_channels > 0:
                    return d
                raise DeviceError(f"{option} {index}: device {index} {d.name!r} has no input channels; "
                                  f"input devices: {_short_list(inputs)}")
        raise DeviceError(f"{option} {index}: no device has index {index}; "
                          f"input devices: {_short_list(inputs)}")
    if not spec.strip():
        raise DeviceError(f"{option}: empty device name; input devices: {_short_list(inputs)}")
    exact, partial = match_name(spec, inputs, lambda d: (d.name, d.description))
    if not partial:
        raise DeviceError(f"{option} {spec!r}: no input device name contains it (case-insensitive); "
                          f"input devices: {_short_list(inputs)}; `softphone-assist devices` lists them all")
    # an exact name, then the kind the role prefers, then the default host API, then list order
    return min(partial, key=lambda d: (d not in exact, _KIND_ORDER[role][d.kind], not d.default_hostapi,
                                       inputs.index(d)))


# ----------------------------------------------------------------------------------------------
# `softphone-assist devices`
# ----------------------------------------------------------------------------------------------
def format_devices(devs: Sequence[DeviceInfo], platform: str = sys.platform) -> str:
    ported = [d for d in devs if d.kind == "portaudio"]
    loops = [d for d in devs if d.kind == "wasapi_loopback"]
    sources = [d for d in devs if d.kind == "pulse_source"]
    lines = ["Audio devices (choose with --caller / --agent: an index or part of the name):",
             f"  {'idx':>4} {'in':>3} {'out':>3} {'rate':>6}  {'host API':<18} name"]
    for d in ported:
        flags = [f for f, on in (("default input", d.is_default_input),
                                 ("default output", d.is_default_output)) if on]
        lines.append(f"  {d.index:>4} {d.max_input_channels:>3} {d.max_output_channels:>3} "
                     f"{d.default_samplerate:>6.0f}  {d.hostapi:<18} {d.name}"
                     + (f"  [{', '.join(flags)}]" if flags else ""))
    if not ported:
        lines.append("  (none: no sound card, or PortAudio found no device)")
    if loops:
        lines += ["", "WASAPI loopback (what an output device plays): the softphone's output is --caller:"]
        lines += [f"  {d.index:>4} {d.max_input_channels:>3} {'':>3} {d.default_samplerate:>6.0f}  "
                  f"{d.hostapi:<18} {d.name}" for d in loops]
    monitors = [d for d in sources if d.monitor_of is not None]
    mics = [d for d in sources if d.monitor_of is None]
    if sources:
        lines += ["", "PulseAudio/PipeWire sources (recorded through the ALSA 'pulse' device, "
                  "PULSE_SOURCE set per stream):"]
    if monitors:
        lines.append("  monitors (what a sink plays): the caller is the monitor of the sink the softphone "
                     "plays to")
        lines += [f"    {d.name:<40} {d.max_input_channels}ch {d.default_samplerate:.0f} Hz  {d.description}"
                  for d in monitors]
        lines.append(f"    e.g. --caller {monitors[0].name}")
    if mics:
        lines.append("  microphones:")
        lines += [f"    {d.name:<40} {d.max_input_channels}ch {d.default_samplerate:.0f} Hz  {d.description}"
                  for d in mics]
        lines.append(f"    e.g. --agent {mics[0].name}")
    if platform == "darwin":
        lines += ["", "macOS: to hear the caller, install a loopback driver such as BlackHole, send the "
                  "softphone's output to a Multi-Output Device (headset + BlackHole), "
                  "then use --caller BlackHole"]
    if platform == "win32" and not loops:
        lines += ["", "Windows: install PyAudioWPatch to record the softphone's output (WASAPI loopback)"]
    return "\n".join(lines)
