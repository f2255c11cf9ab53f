"""Play a clip to one or more chosen outputs at once, and report how much of it was played.

An output is a PortAudio device (the headset; VB-CABLE's "CABLE Input" on Windows, BlackHole on
macOS) or, on Linux, a PulseAudio sink such as `agent_mic_in`. PortAudio 19.6 (Debian 12) lists
no Pulse sinks; a sink is reached through the ALSA `pulse` device with PULSE_SINK set while the
stream is opened (libpulse reads it when the PCM's context is created, so each stream keeps its
own sink; checked on PulseAudio 16.1 with two null sinks at once).

Thread model: one PortAudio stream per output, each with a callback that only copies the next
block, counts frames and notes the time (it raises nothing but CallbackStop/CallbackAbort). The
owner polls `Playback.poll()` from its own thread; nothing here blocks except `wait()`.

A PulseAudio null sink that nobody records from runs in ~2 s blocks (shared/e2e README, pitfall 8):
playback into it stalls for up to 2 s at the start. During a call the softphone reads the sink's
monitor all the time, which keeps it in real time (measured: audio taken at real-time pace from
the first block; the test fixture keeps a 20 ms reader on each monitor for the same reason).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from softphone_assist.audio import pulse
from softphone_assist.audio.devices import match_name
from softphone_assist.core.errors import UserError

_CANCEL_GRACE_S = 0.5  # after this, a cancelled stream that has not stopped is aborted by force
# Output latency. The callback is Python (it needs the GIL), so the buffer must ride out a busy
# GUI thread and a loaded CPU. On PulseAudio 16.1 via ALSA-pulse, 2 cores: "low" (8.5 ms) gave
# audible gaps in 4 of 5 six-second lines under load 1.9; 40 ms still reported underflows in 7 of
# 12 streams; 100 ms in 0 of 12. A prompt's first sound does not wait for it (the buffer is
# filled before the stream starts): 22 ms median to the sink's monitor at 40 ms and at 100 ms.
DEFAULT_LATENCY_S = 0.1
# At the end, ALSA-pulse drops about one buffer that is still queued (100 ms lost at latency
# 100 ms): each clip gets that much silence appended, so the words themselves always play out.
_TAIL_PAD_S = 0.01
# An output whose callback has not run for this long is dead (unplugged, server gone): it is
# aborted and reported. An idle PulseAudio null sink legitimately pauses up to ~2 s.
STALL_S = 5.0
_FORMATS: dict[tuple[int | None, str | None, int], tuple[int, int]] = {}  # (device, sink, rate) -> format


class OutputDeviceError(UserError):
    """An output device or sink option names nothing that exists, or it cannot be opened."""


def load_sounddevice() -> Any:
    """sounddevice, imported on first use: without PortAudio the app still starts (no TTS)."""
    try:
        import sounddevice
    except (ImportError, OSError) as e:  # OSError: the PortAudio library itself is missing
        raise OutputDeviceError(f"audio output: sounddevice/PortAudio is not available ({e})") from None
    return sounddevice


# --------------------------------------------------------------------------------------------
# Choosing an output: an option value is a PortAudio index, part of a device name (an exact name
# wins; on Windows, where each device is listed once per host API, the default host API's entry
# wins), or on Linux a PulseAudio sink: `pulse:agent_mic_in`, or just `agent_mic_in` when no
# device name contains it. Errors name the option and list the outputs and sinks there are.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutputTarget:
    label: str  # what the user wrote, for messages and results
    device: int | None  # PortAudio index; None: the default output
    pulse_sink: str | None = None  # open `device` (ALSA "pulse") with PULSE_SINK set to this


def output_devices() -> list[dict[str, Any]]:
    """PortAudio devices with output channels, as sounddevice describes them, plus
    `default_hostapi`: on Windows every device is listed once per host API (MME, DirectSound,
    WASAPI, WDM-KS), and a name is resolved on the default one first."""
    sd = load_sounddevice()
    default_api = sd.default.hostapi
    return [{**d, "default_hostapi": d["hostapi"] == default_api}
            for d in sd.query_devices() if d["max_output_channels"] > 0]


def _describe(outputs: Sequence[dict[str, Any]], sinks: Sequence[str] | None) -> str:
    text = "; ".join(f"{d['index']} {d['name']!r}" for d in outputs) or "(none)"
    if sinks:
        text += "; PulseAudio sinks: " + ", ".join(sinks)
    return text


def resolve_output(spec: str | int, *, option: str = "tts.outputs") -> OutputTarget:
    """Turn an option value into an OutputTarget, or OutputDeviceError listing what exists."""
    outputs = output_devices()
    label = str(spec).strip()
    linux = sys.platform.startswith("linux")
    if label.isdigit():
        index = int(label)
        if any(d["index"] == index for d in outputs):
            return OutputTarget(label, index)
        raise OutputDeviceError(f"{option} {label}: no output device has index {index}; "
                                f"outputs: {_describe(outputs, pulse.sink_names() if linux else None)}")
    if not label:
        raise OutputDeviceError(f"{option}: empty output name; outputs: {_describe(outputs, None)}")
    if label.lower() == "default":
        return OutputTarget(label, None)
    sink = label[len("pulse:"):] if label.startswith("pulse:") else None
    if sink is None:
        exact, partial = match_name(label, outputs, lambda d: (d["name"],))
        for found in (exact, partial):
            on_default = [d for d in found if d.get("default_hostapi", True)]
            if len(found) == 1 or len(on_default) == 1:
                return OutputTarget(label, int((on_default or found)[0]["index"]))
        if len(partial) > 1:
            raise OutputDeviceError(f"{option} {label!r}: several outputs match: {_describe(partial, None)}; "
                                    "give the index or more of the name")
    sinks = pulse.sink_names() if linux else None
    if sink is None and not (sinks and label in sinks):
        raise OutputDeviceError(f"{option} {label!r}: no output device name contains it; "
                                f"outputs: {_describe(outputs, sinks)}")
    sink = sink or label
    if sinks is not None and sink not in sinks:
        raise OutputDeviceError(f"{option} {label!r}: PulseAudio has no sink {sink!r}; "
                                f"sinks: {', '.join(sinks)}")
    pulse_dev = [d for d in outputs if d["name"] == "pulse"]
    if not pulse_dev:
        raise OutputDeviceError(f"{option} {label!r}: PortAudio has no ALSA 'pulse' device to reach the sink "
                                "(install libasound2-plugins; is PulseAudio/PipeWire running?)")
    return OutputTarget(label, int(pulse_dev[0]["index"]), pulse_sink=sink)


@contextlib.contextmanager
def pulse_sink_env(sink: str | None) -> Iterator[None]:
    """PULSE_SINK=sink while a stream is opened (nothing when sink is None), then as it was; under
    the same lock as capture's PULSE_SOURCE, since both set the process-wide environment."""
    if sink is None:
        yield
        return
    with pulse.pulse_env("PULSE_SINK", sink):
        yield


# --------------------------------------------------------------------------------------------
# Playing
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutputResult:
    label: str
    frames: int  # clip frames this output was given (in the clip's own rate)
    error: str | None = None
    underflows: int = 0  # gaps PortAudio reported (the callback came too late)


@dataclass(frozen=True, slots=True)
class PlaybackResult:
    frames: int  # clip frames played: the most any output was given
    sample_rate: int  # the clip's rate
    cancelled: bool
    outputs: tuple[OutputResult, ...]
    started_at: float | None  # time.monotonic() of the first audio callback; None if none came
    ended_at: float  # time.monotonic() when the last output had played out (or was stopped)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def error(self) -> str | None:
        return next((o.error for o in self.outputs if o.error), None)


class _OutputStream:
    """One output: the clip converted to the device's rate/channels, and a copying callback."""

    def __init__(self, target: OutputTarget, clip: np.ndarray, rate: int, latency: str | float) -> None:
        sd = self._sd = load_sounddevice()
        self.target = target
        self.clip_frames = len(clip)
        self.finished = threading.Event()
        self.cancel = threading.Event()
        self.first_at: float | None = None
        self.last_at = time.monotonic()  # last callback (or creation): for the stall check
        self.ended_at = 0.0
        self.pos = 0
        self.underflows = 0  # callbacks that came too late: an audible gap in this output
        self.error: str | None = None
        key = (target.device, target.pulse_sink, rate)
        with pulse_sink_env(target.pulse_sink):
            if key not in _FORMATS:  # asking costs a device open (~4 ms on ALSA-pulse): ask once
                _FORMATS[key] = self._format(sd, target.device, rate)
            dev_rate, channels = _FORMATS[key]
            data = clip if dev_rate == rate else _resample(clip, rate, dev_rate)
            self.ratio = dev_rate / rate
            try:
                self.stream = sd.OutputStream(
                    device=target.device, samplerate=dev_rate, channels=channels, dtype="float32",
                    latency=latency, callback=self._callback, finished_callback=self._on_finished,
                )
            except Exception:
                _FORMATS.pop(key, None)  # the device may have changed: ask again next time
                raise
        self.latency_frames = round(float(self.stream.latency) * dev_rate)
        pad = np.zeros(self.latency_frames + round(_TAIL_PAD_S * dev_rate), dtype=np.float32)
        self.data = np.ascontiguousarray(np.repeat(np.concatenate([data, pad])[:, None], channels, axis=1))

    @staticmethod
    def _format(sd: Any, device: int | None, rate: int) -> tuple[int, int]:
        """The clip's rate in mono if the device takes it, else the device's default rate/channels."""
        for r, ch in ((rate, 1), (rate, 2)):
            try:
                sd.check_output_settings(device=device, samplerate=r, channels=ch, dtype="float32")
                return r, ch
            except Exception:  # PortAudioError or ValueError: try the next format
                continue
        info = sd.query_devices(device, "output")
        return int(info["default_samplerate"]), min(2, int(info["max_output_channels"]))

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self.last_at = time.monotonic()
        if self.first_at is None:
            self.first_at = self.last_at
        if status.output_underflow:
            self.underflows += 1
        if self.cancel.is_set():
            outdata.fill(0)
            raise self._sd.CallbackAbort
        chunk = self.data[self.pos:self.pos + frames]
        n = len(chunk)
        outdata[:n] = chunk
        outdata[n:] = 0
        self.pos += n
        if n < frames:
            raise self._sd.CallbackStop  # PortAudio plays out what it holds, then calls _on_finished

    def _on_finished(self) -> None:
        self.ended_at = time.monotonic()
        self.finished.set()

    def stop_now(self, error: str | None) -> None:
        """From the owner's thread: abort a stream that does not call back, and mark it finished."""
        with contextlib.suppress(Exception):
            self.stream.abort()
        self.error = self.error or error
        self.ended_at = self.ended_at or time.monotonic()
        self.finished.set()

    def check_end(self) -> None:
        """After the finish: a stream that ended before its data without a cancel lost its device."""
        if not self.cancel.is_set() and self.error is None and self.pos < self.clip_frames * self.ratio:
            self.error = (f"{self.target.label}: playback stopped after {self.played()} of "
                          f"{self.clip_frames} frames (device lost?)")

    def played(self) -> int:
        """Clip frames heard: on a cancel, what was handed over minus what was still buffered."""
        pos = self.pos - self.latency_frames if self.cancel.is_set() else self.pos
        return max(0, min(self.clip_frames, round(pos / self.ratio)))


def _resample(x: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    import soxr

    return np.asarray(soxr.resample(x, rate, to_rate, quality="HQ"), dtype=np.float32)


class Playback:
    """One clip on every target at the same time. Start, poll, cancel; `wait()` for CLI/tests."""

    def __init__(self, clip: np.ndarray, sample_rate: int, targets: Sequence[OutputTarget], *,
                 latency: str | float = DEFAULT_LATENCY_S) -> None:
        if not targets:
            raise OutputDeviceError("tts.outputs: no output chosen to play to")
        self.sample_rate = sample_rate
        self._streams: list[_OutputStream] = []
        self._cancelled_at: float | None = None
        self._result: PlaybackResult | None = None
        mono = np.asarray(clip, dtype=np.float32).reshape(-1)
        try:  # open every output before any starts: one bad device must not play half a prompt
            for t in targets:
                self._streams.append(_OutputStream(t, mono, sample_rate, latency))
        except OutputDeviceError:
            self._close_all()
            raise
        except Exception as e:  # PortAudioError and friends from sounddevice
            self._close_all()
            where = f"{t.label} (PulseAudio sink {t.pulse_sink})" if t.pulse_sink else t.label
            raise OutputDeviceError(f"tts.outputs {where}: cannot open for playback: {e}") from None

    def start(self) -> None:
        try:
            for s in self._streams:
                s.last_at = time.monotonic()
                s.stream.start()
        except Exception as e:  # PortAudioError: stop the ones already playing, report the device
            self._close_all()
            raise OutputDeviceError(f"tts.outputs {s.target.label}: cannot start playback: {e}") from None

    def cancel(self) -> None:
        """Stop at the next audio block; poll() then reports cancelled=True and the frames played."""
        if self._cancelled_at is None and self._result is None:
            self._cancelled_at = time.monotonic()
            for s in self._streams:
                s.cancel.set()

    @property
    def done(self) -> bool:
        return self._result is not None

    def poll(self) -> PlaybackResult | None:
        """The result once every output has finished; None while any still plays."""
        if self._result is not None:
            return self._result
        now = time.monotonic()
        for s in self._streams:  # a stalled device never calls back: stop it from here
            if s.finished.is_set():
                continue
            if self._cancelled_at is not None and now - self._cancelled_at > _CANCEL_GRACE_S:
                s.stop_now(None)
            elif now - s.last_at > STALL_S:
                s.stop_now(f"{s.target.label}: the output stopped taking audio for {STALL_S:.0f} s")
        if not all(s.finished.is_set() for s in self._streams):
            return None
        self._close_all()
        for s in self._streams:
            s.check_end()
        outputs = tuple(OutputResult(s.target.label, s.played(), s.error, s.underflows)
                        for s in self._streams)
        firsts = [s.first_at for s in self._streams if s.first_at is not None]
        self._result = PlaybackResult(
            frames=max(o.frames for o in outputs), sample_rate=self.sample_rate,
            cancelled=self._cancelled_at is not None, outputs=outputs,
            started_at=min(firsts) if firsts else None,
            ended_at=max(s.ended_at for s in self._streams),
        )
        return self._result

    def wait(self, timeout: float | None = None) -> PlaybackResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (result := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                self.cancel()
                deadline = None  # the cancel grace period ends it
            time.sleep(0.005)
        return result

    def _close_all(self) -> None:
        for s in self._streams:
            with contextlib.suppress(Exception):
                s.stream.close(ignore_errors=True)
