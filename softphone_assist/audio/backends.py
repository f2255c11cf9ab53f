"""The two PortAudio bindings behind one small interface: sounddevice, and PyAudioWPatch on Windows.

`open_input` opens an int16 input stream whose callback, on PortAudio's own thread, hands each
block to a `BlockSink` (capture._Sink) and lets no exception escape into that thread. The stream
runs at the analysis rate mono when the device takes it, else at the device's own rate (mono, then
stereo; a WASAPI loopback only at its mix format); capture.py downmixes and resamples.
`private_portaudio` tells whether a `rescan` (re-initialising PortAudio to see devices plugged in
since) can close streams other than ours.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any, Protocol

from softphone_assist.audio import pulse
from softphone_assist.audio.devices import (
    DeviceError,
    DeviceInfo,
    devices_from_pulse,
    devices_from_pyaudio,
    devices_from_sounddevice,
)


class BlockSink(Protocol):
    def on_block(self, data: bytes, frames: int, overflow: bool) -> None: ...
    def on_finished(self) -> None: ...


class InputHandle(Protocol):
    rate: int
    channels: int

    def active(self) -> bool: ...
    def start(self) -> None: ...
    def close(self) -> None: ...


class AudioBackend(Protocol):
    private_portaudio: bool  # True: a rescan closes no stream but ours

    def devices(self) -> list[DeviceInfo]: ...
    def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: BlockSink) -> InputHandle: ...
    def rescan(self) -> None: ...


def _formats(dev: DeviceInfo, rate: int) -> list[tuple[int, int]]:
    """(rate, channels) to try: the analysis rate mono (PortAudio/ALSA-pulse resample), else the
    device's own rate, mono, then stereo (we downmix and resample with soxr)."""
    own = int(dev.default_samplerate) or rate
    return [(rate, 1), (own, 1), (own, max(1, min(2, dev.max_input_channels)))]


class _Handle:
    def __init__(self, stream: Any, rate: int, channels: int, active: Callable[[], bool],
                 start: Callable[[], None]) -> None:
        self.stream, self.rate, self.channels = stream, rate, channels
        self._active, self._start = active, start

    def active(self) -> bool:
        return bool(self._active())

    def start(self) -> None:
        self._start()

    def close(self) -> None:
        self.stream.close()


class SoundDeviceBackend:
    """python-sounddevice: Linux (ALSA, incl. the `pulse` PCM for Pulse sources) and macOS."""

    private_portaudio = False  # shared with playback and TTS streams of this process

    def __init__(self) -> None:
        import sounddevice  # late: PortAudio lists devices at import (PULSE_SERVER must be set)

        self._sd: Any = sounddevice

    def devices(self) -> list[DeviceInfo]:
        sd = self._sd
        hostapis, devices = list(sd.query_hostapis()), list(sd.query_devices())
        return devices_from_sounddevice(hostapis, devices, sd.default.hostapi)

    def _pulse_pcm(self) -> int:
        for d in self.devices():
            if d.name == "pulse" and d.index is not None:
                return d.index
        raise DeviceError("PortAudio has no ALSA 'pulse' device, needed to record a PulseAudio source: "
                          "install libasound2-plugins and start the sound server before softphone-assist")

    def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: BlockSink) -> InputHandle:
        sd = self._sd
        is_pulse = dev.kind == "pulse_source"
        target = self._pulse_pcm() if is_pulse else dev.index

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            with suppress(Exception):  # nothing may escape into PortAudio's thread
                sink.on_block(bytes(indata), frames, bool(status.input_overflow))

        env: AbstractContextManager[None] = pulse.pulse_source_env(dev.name) if is_pulse else nullcontext()
        with env:  # the ALSA pulse PCM reads PULSE_SOURCE when opened: checks and open both
            tries = _formats(dev, rate)
            for r, ch in tries:
                try:
                    sd.check_input_settings(device=target, channels=ch, dtype="int16", samplerate=r)
                    break
                except Exception:
                    continue
            else:
                r, ch = tries[0]  # none passed the check: let the open raise PortAudio's reason
            stream = sd.RawInputStream(device=target, samplerate=r, channels=ch, dtype="int16",
                                       blocksize=max(1, round(r * block_s)), callback=callback,
                                       finished_callback=sink.on_finished)
        return _Handle(stream, r, ch, lambda: stream.active, stream.start)

    def rescan(self) -> None:
        self._sd._terminate()
        self._sd._initialize()


def pyaudio_callback(sink: BlockSink, overflow_flag: int, go_on: int) -> Callable[..., tuple[None, int]]:
    """A PyAudio stream callback: PyAudio prints and aborts on an exception, so none escapes."""

    def callback(in_data: bytes | None, frame_count: int, time_info: Any, status: int) -> tuple[None, int]:
        with suppress(Exception):
            sink.on_block(bytes(in_data or b""), frame_count, bool(status & overflow_flag))
        return None, go_on

    return callback


class PyAudioWPatchBackend:
    """PyAudioWPatch on Windows: WASAPI loopback (the softphone's output) plus ordinary inputs.

    WASAPI loopback in shared mode runs at the output's mix format only (its default rate and
    channels) and delivers no data while nothing plays (capture.py's module doc: idle filling).
    PyAudio has no finished callback: `active()` (Pa_IsStreamActive) tells a dead stream. Not run
    here (no Windows): written from PyAudioWPatch's docs and examples, tested with a fake module.
    """

    private_portaudio = True  # its own PortAudio build, separate from sounddevice's

    def __init__(self, module: Any | None = None) -> None:
        self._pa_mod: Any = module if module is not None else importlib.import_module("pyaudiowpatch")
        self._pa: Any = self._pa_mod.PyAudio()

    def devices(self) -> list[DeviceInfo]:
        p = self._pa
        apis = [p.get_host_api_info_by_index(i) for i in range(p.get_host_api_count())]
        devs = [p.get_device_info_by_index(i) for i in range(p.get_device_count())]
        return devices_from_pyaudio(apis, devs, int(p.get_default_host_api_info()["index"]))

    def _format(self, dev: DeviceInfo, rate: int) -> tuple[int, int]:
        if dev.kind == "wasapi_loopback":
            return int(dev.default_samplerate), max(1, dev.max_input_channels)
        tries = _formats(dev, rate)
        for r, ch in tries:
            try:
                if self._pa.is_format_supported(r, input_device=dev.index, input_channels=ch,
                                                input_format=self._pa_mod.paInt16):
                    return r, ch
            except ValueError:  # PyAudio's way of saying "not supported"
                continue
        return tries[0]

    def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: BlockSink) -> InputHandle:
        pa = self._pa_mod
        r, ch = self._format(dev, rate)
        stream = self._pa.open(
            format=pa.paInt16, channels=ch, rate=r, input=True, input_device_index=dev.index,
            frames_per_buffer=max(1, round(r * block_s)), start=False,
            stream_callback=pyaudio_callback(sink, pa.paInputOverflow, pa.paContinue),
        )
        return _Handle(stream, r, ch, stream.is_active, stream.start_stream)

    def rescan(self) -> None:
        self._pa.terminate()
        self._pa = self._pa_mod.PyAudio()


def default_backend() -> AudioBackend:
    """PyAudioWPatch on Windows when installed (loopback), else sounddevice; on Linux with Pulse
    sources recorded through libpulse when it can be loaded (libpulse.py: pinned, cheaper)."""
    import sys

    if sys.platform == "win32":
        try:
            return PyAudioWPatchBackend()
        except ImportError:
            pass
    inner = SoundDeviceBackend()
    if sys.platform.startswith("linux"):
        from softphone_assist.audio import libpulse

        if libpulse.available():
            return libpulse.PulseBackend(inner)
    return inner


def list_devices(backend: AudioBackend | None = None, *, with_pulse: bool | None = None) -> list[DeviceInfo]:
    """PortAudio devices of `backend` (default: the platform's), plus Pulse sources on Linux.
    Here, not in devices.py: listing needs a backend, and devices.py stays plain data + matching."""
    if backend is None:
        backend = default_backend()
    devs: list[DeviceInfo] = list(backend.devices())
    if with_pulse if with_pulse is not None else sys.platform.startswith("linux"):
        devs += devices_from_pulse(pulse.list_sources())
    return devs
