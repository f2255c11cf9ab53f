"""Live capture of the caller stream and the agent microphone, polled from the main loop.

The PortAudio bindings (sounddevice; PyAudioWPatch on Windows) are in backends.py; on Linux a
PulseAudio/PipeWire source is recorded through libpulse itself (libpulse.py: pinned to its source,
one thread, no polling), the ALSA `pulse` PCM being the fallback where libpulse cannot be loaded.

Threads: PortAudio calls `_Sink.on_block` on its own thread (libpulse's buffer is emptied into it
from the main loop instead: libpulse.py). It only copies the bytes into a bounded deque and counts:
the input-overflow flag, and frames dropped because the queue is full. It never blocks, logs or
raises. Everything else (int16 -> float64, mono, soxr streaming
resampling to the analysis rate, health checks, re-opening) runs in `read_available()`, which the
main loop calls (Qt bridge timer or headless loop, every 20-100 ms). No thread of ours. Only
with the ALSA fallback for a Pulse source: one `pactl subscribe` child whose pipe is read without
blocking, and a `pactl` poll every `pulse_poll_s`.

Stream time of a channel = samples delivered / rate. The pipeline advances only as far as both
channels have samples, so a channel that stops must not stop the call: time the device did not
deliver becomes digital zeros, counted in `stats().filled`:
- while a channel is down (unplugged, error, stalled) zeros follow the wall clock from the last
  block that arrived, so both channels stay within about one read period of wall time;
- a stream that has not delivered its first block, and a WASAPI loopback while nothing plays
  (it delivers no data then), are filled the same way after `idle_s` (not a problem);
- frames dropped on a full queue are replaced by as many zeros, in place.
The zeros of a channel that went down are an outage, not silence: `take_outages()` hands out an
`Outage` mark at the first zero (the channel went down) and another at the first sample of real
audio after it (re-opened and delivering), as sample positions of that channel, so the session
can place NoAudio records at exact stream times. A late first block and an idle loopback are not
outages (nothing was lost), nor are a few frames dropped on a full queue.

Health, checked on every read: a stream that ended (device error, server gone, a pinned Pulse
source that vanished), no block for `stall_s` (or none within `start_grace_s` of opening); with
the ALSA fallback also a Pulse source that vanished or was re-created (the server silently moves
that stream to the default source; pulse.py; seen at once through `pactl subscribe`, and polled
every `pulse_poll_s` as a safety net) and a stream the server moved onto another source (pinned
by verification: pulse.py) -> the channel
is closed, reported by `problems()` ("agent microphone 'Jabra' stopped sending audio; retrying
every 2 s") and re-opened every `retry_s` once the device answers again. PortAudio lists devices
once, at initialisation; a device plugged in later is found only after a rescan (`rescan_devices`),
which closes every stream of that PortAudio. It is automatic only where our PortAudio is ours
alone (PyAudioWPatch on Windows): sounddevice's is shared with playback/TTS in this process.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

import numpy as np
import soxr

from softphone_assist.audio import pulse
from softphone_assist.audio.backends import (
    AudioBackend,
    BlockSink,
    InputHandle,
    PyAudioWPatchBackend,
    SoundDeviceBackend,
    default_backend,
    list_devices,
    pyaudio_callback,
)
from softphone_assist.audio.devices import DeviceError, DeviceInfo, DeviceSpec, find_input
from softphone_assist.core.events import Channel

# The backends' names are re-exported: tests import them from here.
__all__ = [
    "LABELS", "AudioBackend", "BlockSink", "ChannelStats", "InputHandle", "LiveCapture", "Outage",
    "PyAudioWPatchBackend",
    "SoundDeviceBackend", "SourceWatch", "State", "default_backend", "pyaudio_callback",
]

LABELS: dict[Channel, str] = {"caller": "caller line", "agent": "agent microphone"}
log = logging.getLogger("softphone_assist.capture")


class SourceWatch(Protocol):
    """Tells at once that a Pulse source appeared or vanished (pulse.SourceEvents)."""

    @property
    def alive(self) -> bool: ...
    def changed(self) -> bool: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Outage:
    """Channel `channel` has no audio from its sample `sample` on (`ended`: audio again from it)."""

    channel: Channel
    sample: int
    ended: bool


_MAX_DEVICE_RATE = 192_000  # a bound until the device says its rate (a block may come before it does)


class _Sink:
    """The only code PortAudio's thread runs. Single writer (that thread, or the main loop for
    libpulse); the main loop pops."""

    def __init__(self, max_frames: int) -> None:
        self.queue: deque[tuple[int, bytes]] = deque()  # (frames dropped just before, data)
        # bounded in frames, not blocks: libpulse hands over pieces of any size (a backlog after an
        # idle source comes as many small ones), and a count of blocks dropped real audio there
        self.max_frames = max_frames
        self.pushed_frames = 0  # written by the callback thread only
        self.popped_frames = 0  # written by the main loop only: no counter has two writers
        self.overflows = 0
        self.dropped = 0
        self.errors = 0
        self.finished = False
        self._pending = 0

    def on_block(self, data: bytes, frames: int, overflow: bool) -> None:
        try:
            if overflow:
                self.overflows += 1
            if self.pushed_frames - self.popped_frames + frames > self.max_frames:
                self._pending += frames
                self.dropped += frames
            else:
                self.pushed_frames += frames
                self.queue.append((self._pending, data))
                self._pending = 0
        except Exception:
            self.errors += 1

    def on_finished(self) -> None:
        self.finished = True


State = Literal["starting", "running", "idle", "down", "closed"]


@dataclass(frozen=True, slots=True)
class ChannelStats:
    channel: Channel
    device: str
    state: State  # starting: no block yet; idle: a loopback with nothing playing (zero-filled)
    samples: int  # delivered at the analysis rate, zeros included
    device_rate: int  # rate the stream runs at (0 while down)
    overflows: int  # PortAudio input-overflow flags: audio lost in the driver
    dropped: int  # device frames lost on a full queue (replaced by zeros)
    filled: int  # zeros inserted for time the device did not deliver
    reopens: int


class _Channel:
    def __init__(self, role: Channel, spec: DeviceSpec) -> None:
        self.role, self.spec = role, spec
        self.device: DeviceInfo | None = None
        self.handle: InputHandle | None = None
        self.sink: _Sink | None = None
        self.resampler: Any = None
        self.delivered = 0
        self.opened_at = 0.0
        self.last_data_at: float | None = None
        self.anchor = (0.0, 0)  # (time, delivered): zeros for a gap are counted from here
        self.down: str | None = None  # why it is down; None while running
        self.last_error = ""
        self.next_retry = 0.0
        self.pulse_index: int | None = None
        self.pulse_output: int | None = None  # our stream's source output (None: unknown)
        self.in_outage = False  # went down; the outage ends with the next real block
        self.carry: list[np.ndarray] = []  # drained by a rescan, handed out by the next read
        self.overflows = self.dropped = self.filled = self.reopens = 0


class LiveCapture:
    """The caller stream and (optionally) the agent microphone; see the module doc."""

    def __init__(
        self, caller: DeviceSpec, agent: DeviceSpec | None = None, *, rate: int = 16000,
        block_s: float = 0.1, queue_s: float = 5.0, stall_s: float = 1.0, start_grace_s: float = 3.0,
        retry_s: float = 2.0, pulse_poll_s: float = 1.0, idle_s: float = 0.25,
        rescan: bool | None = None, rescan_s: float = 10.0, backend: AudioBackend | None = None,
        devices: Callable[[], list[DeviceInfo]] | None = None,
        source_indexes: Callable[[], dict[str, int] | None] = pulse.source_indexes,
        source_events: Callable[[], SourceWatch] | None = pulse.SourceEvents,
        source_outputs: Callable[[], dict[int, int] | None] = pulse.own_source_outputs,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.block_s = rate, block_s
        self.stall_s, self.start_grace_s, self.retry_s = stall_s, start_grace_s, retry_s
        self.pulse_poll_s, self.idle_s, self.rescan_s = pulse_poll_s, idle_s, rescan_s
        self.queue_s = queue_s
        self._backend = backend if backend is not None else default_backend()
        self._auto_rescan = self._backend.private_portaudio if rescan is None else rescan
        self._pinned = bool(getattr(self._backend, "pins_streams", False))  # libpulse: no pactl watch
        self._devices = devices if devices is not None else lambda: list_devices(self._backend)
        self._source_indexes, self._clock = source_indexes, clock
        self._source_events = source_events
        self._source_outputs = source_outputs
        self._outages: list[Outage] = []
        self._events: SourceWatch | None = None
        self._next_events_start = 0.0
        self._channels = [_Channel("caller", caller)]
        if agent is not None:
            self._channels.append(_Channel("agent", agent))
        self._next_pulse_poll = 0.0
        self._last_rescan = float("-inf")
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Find and open both devices; DeviceError (a UserError) names the option if one fails."""
        if self._started:
            return
        devs = self._devices()
        for ch in self._channels:
            ch.device = find_input(ch.spec, devs, ch.role)
        now = self._clock()
        for ch in self._channels:
            try:
                self._open(ch, now)
            except Exception as e:
                self.close()
                raise DeviceError(f"--{ch.role} {ch.spec!r}: cannot record from {_name(ch)!r}: "
                                  f"{_one_line(e)}") from None
        self._started = True

    def close(self) -> None:
        for ch in self._channels:
            self._close_stream(ch)
        with suppress(Exception):
            getattr(self._backend, "close", lambda: None)()
        if self._events is not None:
            with suppress(Exception):
                self._events.close()
            self._events = None
        self._started = False

    def __enter__(self) -> LiveCapture:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the main-loop API -------------------------------------------------------------------
    def read_available(self) -> list[tuple[Channel, np.ndarray]]:
        """New samples per channel (float64, int16 scale, analysis rate); never raises for audio."""
        if not self._started:
            return []
        now = self._clock()
        parts: dict[Channel, list[np.ndarray]] = {ch.role: [] for ch in self._channels}
        self._safely(None, now, self._poll_pulse, now)
        for ch in self._channels:
            parts[ch.role] += ch.carry
            ch.carry = []
            if ch.down is None:
                parts[ch.role].append(self._safely(ch, now, self._drain, ch, now))
                self._safely(ch, now, self._check, ch, now)
        for ch in self._channels:  # zeros up to now first: a reopen restarts the count
            parts[ch.role].append(self._safely(ch, now, self._fill, ch, now))
        for ch in self._channels:
            if ch.down is not None and now >= ch.next_retry:
                self._safely(ch, now, self._reopen, ch, now)
        out: list[tuple[Channel, np.ndarray]] = []
        for role, arrays in parts.items():
            x = np.concatenate(arrays) if arrays else np.zeros(0)
            if len(x):
                out.append((role, x))
        return out

    def take_outages(self) -> list[Outage]:
        """Outage marks since the last call, in order (module doc); call after `read_available`."""
        out, self._outages = self._outages, []
        return out

    def problems(self) -> list[str]:
        out = []
        for ch in self._channels:
            if ch.down is not None:
                tail = f" (last try: {ch.last_error})" if ch.last_error else ""
                out.append(f"{LABELS[ch.role]} {_name(ch)!r} {ch.down}; "
                           f"retrying every {self.retry_s:g} s{tail}")
        return out

    def stream_time(self, channel: Channel) -> float:
        return next((ch.delivered / self.rate for ch in self._channels if ch.role == channel), 0.0)

    def stats(self) -> list[ChannelStats]:
        out = []
        for ch in self._channels:
            s, h = ch.sink, ch.handle
            loopback = ch.device is not None and ch.device.kind == "wasapi_loopback"
            state: State = (
                "closed" if not self._started else "down" if ch.down is not None
                else "idle" if loopback and self._quiet(ch, self._clock())
                else "starting" if ch.last_data_at is None else "running")
            out.append(ChannelStats(
                channel=ch.role, device=_name(ch), state=state, samples=ch.delivered,
                device_rate=h.rate if h is not None else 0,
                overflows=ch.overflows + (s.overflows if s else 0),
                dropped=ch.dropped + (s.dropped if s else 0),
                filled=ch.filled, reopens=ch.reopens,
            ))
        return out

    def rescan_devices(self) -> None:
        """Re-initialise PortAudio so devices plugged in since start are seen, then reopen ours.

        This closes every stream of that PortAudio: with sounddevice, call it only when no
        playback runs in this process. Never raises; failures show in `problems()`.
        """
        now = self._clock()
        self._last_rescan = now
        for ch in self._channels:
            if ch.down is None:
                ch.carry.append(self._safely(ch, now, self._drain, ch, now))  # out with the next read
                self._go_down(ch, "is re-opened after a device rescan", now)
        try:
            self._backend.rescan()
        except Exception as e:
            for ch in self._channels:
                ch.last_error = f"device rescan failed: {_one_line(e)}"
            return
        for ch in self._channels:
            self._reopen(ch, now, allow_rescan=False)

    # -- internals ---------------------------------------------------------------------------
    def _safely(self, ch: _Channel | None, now: float, step: Callable[..., Any], *args: Any) -> np.ndarray:
        """Run one step; a surprise (a bug, a library error) takes that channel down, not the app.
        Returns the step's samples (none for steps that return none, or on failure)."""
        try:
            out = step(*args)
        except Exception as e:
            if ch is not None and ch.down is None:
                self._go_down(ch, f"failed ({_one_line(e)})", now)
            elif ch is not None:
                ch.last_error = _one_line(e)
            out = None
        return out if isinstance(out, np.ndarray) else np.zeros(0)

    def _open(self, ch: _Channel, now: float) -> None:
        assert ch.device is not None
        if ch.device.kind == "pulse_source" and not self._pinned:
            indexes = self._source_indexes()
            if indexes is not None and ch.device.name not in indexes:
                raise DeviceError(f"PulseAudio source {ch.device.name!r} is not there")
            ch.pulse_index = None if indexes is None else indexes[ch.device.name]
        # sized for the fastest device first; set to queue_s of this one's rate once it is open
        sink = _Sink(round(_MAX_DEVICE_RATE * self.queue_s))
        handle = self._backend.open_input(ch.device, self.rate, self.block_s, sink)
        device_rate = int(getattr(handle, "rate", 0) or _MAX_DEVICE_RATE)
        sink.max_frames = max(2 * round(device_rate * self.block_s), round(device_rate * self.queue_s))
        try:
            handle.start()
        except Exception:
            handle.close()
            raise
        ch.handle, ch.sink = handle, sink
        if ch.device.kind == "pulse_source" and not self._pinned:
            ch.pulse_output = self._new_source_output(ch)
        ch.resampler = None if handle.rate == self.rate else soxr.ResampleStream(
            handle.rate, self.rate, 1, dtype="float64")
        ch.opened_at, ch.last_data_at, ch.anchor = now, None, (now, ch.delivered)
        ch.down, ch.last_error = None, ""

    def _new_source_output(self, ch: _Channel) -> int | None:
        """The source output the stream just opened is (this process's, not another channel's)."""
        outputs = self._source_outputs()
        if outputs is None:
            return None
        known = {c.pulse_output for c in self._channels if c is not ch}
        new = [i for i in outputs if i not in known]
        return new[0] if len(new) == 1 else None  # ambiguous: cannot verify, rather than guess

    def _close_stream(self, ch: _Channel) -> None:
        if ch.sink is not None:  # keep the counts of the stream that ends
            ch.overflows += ch.sink.overflows
            ch.dropped += ch.sink.dropped
        h, ch.handle, ch.sink = ch.handle, None, None
        if h is not None:
            with suppress(Exception):  # a vanished device may refuse even this
                h.close()

    def _go_down(self, ch: _Channel, reason: str, now: float, retry_now: bool = False) -> None:
        self._close_stream(ch)
        ch.pulse_output = None
        if not ch.in_outage:
            ch.in_outage = True
            self._outages.append(Outage(ch.role, ch.delivered, ended=False))
        ch.down = reason
        ch.next_retry = now if retry_now else now + self.retry_s
        if retry_now:  # re-opened within this read: problems() will never show it, so say it here
            log.warning("%s %r %s; re-opening it", LABELS[ch.role], _name(ch), reason)

    def _reopen(self, ch: _Channel, now: float, allow_rescan: bool = True) -> None:
        ch.next_retry = now + self.retry_s
        try:
            if ch.device is None or ch.device.kind != "pulse_source":  # a Pulse source keeps its name
                ch.device = find_input(ch.spec, self._devices(), ch.role)
            self._open(ch, now)
            ch.reopens += 1
            return
        except Exception as e:
            ch.last_error = _one_line(e)
        # a replugged device is missing from PortAudio's list, or a stale entry, until a rescan
        pulse_source = ch.device is not None and ch.device.kind == "pulse_source"
        due = self._auto_rescan and now - self._last_rescan >= self.rescan_s
        if allow_rescan and due and not pulse_source:
            self.rescan_devices()

    def _drain(self, ch: _Channel, now: float) -> np.ndarray:
        sink, h = ch.sink, ch.handle
        poll = getattr(h, "poll", None)  # libpulse: its buffer is emptied into the sink from here
        if poll is not None:
            poll()
        if sink is None or h is None or not sink.queue:
            return np.zeros(0)
        pieces: list[np.ndarray] = []
        for _ in range(len(sink.queue)):
            dropped, data = sink.queue.popleft()
            sink.popped_frames += len(data) // (2 * h.channels)
            if dropped:
                pieces.append(np.zeros(dropped))
            x = np.frombuffer(data, dtype=np.int16).astype(np.float64)
            pieces.append(x.reshape(-1, h.channels).mean(axis=1) if h.channels > 1 else x)
        y = np.concatenate(pieces)
        if ch.resampler is not None:
            y = ch.resampler.resample_chunk(y)
        if ch.in_outage and len(y):
            ch.in_outage = False
            self._outages.append(Outage(ch.role, ch.delivered, ended=True))
        ch.delivered += len(y)
        ch.last_data_at, ch.anchor = now, (now, ch.delivered)
        return y

    def _check(self, ch: _Channel, now: float) -> None:
        sink, h, dev = ch.sink, ch.handle, ch.device
        if sink is None or h is None or dev is None:
            return
        try:
            alive = not sink.finished and h.active()
        except Exception:
            alive = False
        if not alive:
            pulse_gone = dev.kind == "pulse_source" and self._pinned  # a pinned stream ends with its source
            self._go_down(ch, "disconnected" if pulse_gone else "stopped (device error or unplugged)", now)
        elif dev.kind == "wasapi_loopback":
            return  # silence there means no data: only an error ends it
        elif ch.last_data_at is None and now - ch.opened_at > self.start_grace_s:
            self._go_down(ch, f"sent no audio within {self.start_grace_s:g} s", now)
        elif ch.last_data_at is not None and now - ch.last_data_at > self.stall_s:
            self._go_down(ch, "stopped sending audio", now)

    def _poll_pulse(self, now: float) -> None:
        if self._pinned:
            return  # the server ends a pinned stream whose source goes: _check sees it
        watched = [ch for ch in self._channels
                   if ch.down is None and ch.device is not None and ch.device.kind == "pulse_source"]
        if not watched:
            return
        if (self._events is None or not self._events.alive) and self._source_events is not None \
                and now >= self._next_events_start:
            self._next_events_start = now + self.retry_s  # pactl missing or no server: not every tick
            if self._events is not None:
                self._events.close()
            self._events = self._source_events()
        changed = self._events is not None and self._events.changed()
        if not changed and now < self._next_pulse_poll:
            return  # the poll stays as a safety net (events lost while pactl restarts)
        self._next_pulse_poll = now + self.pulse_poll_s
        indexes = self._source_indexes()
        if indexes is None:
            return  # server not answering: if it is gone, the stream ends and _check sees it
        outputs = self._source_outputs() if any(ch.pulse_output is not None for ch in watched) else None
        for ch in watched:
            assert ch.device is not None
            index = indexes.get(ch.device.name)
            on = None if outputs is None or ch.pulse_output is None else outputs.get(ch.pulse_output, -1)
            if index is None:
                self._go_down(ch, "disconnected", now)  # its stream now records another source
            elif index != ch.pulse_index:
                self._go_down(ch, "disconnected and came back", now, retry_now=True)
            elif on is not None and on != index:
                # the server moved it (it follows the default source): what it records is not ours
                self._go_down(ch, "was moved to another source by the sound server", now, retry_now=True)

    def _quiet(self, ch: _Channel, now: float) -> bool:
        """Open but silent for idle_s: before its first block (an idle Pulse null sink took 1.4-2 s
        here), or a WASAPI loopback with nothing playing."""
        if ch.down is not None or ch.handle is None or ch.device is None:
            return False
        if ch.last_data_at is None:
            return now - ch.opened_at >= self.idle_s
        return ch.device.kind == "wasapi_loopback" and now - ch.last_data_at >= self.idle_s

    def _fill(self, ch: _Channel, now: float) -> np.ndarray:
        if ch.down is None and not self._quiet(ch, now):
            return np.zeros(0)
        t0, n0 = ch.anchor
        due = n0 + int((now - t0) * self.rate) - ch.delivered
        if due <= 0:
            return np.zeros(0)
        ch.delivered += due
        ch.filled += due
        return np.zeros(due)


def _name(ch: _Channel) -> str:
    return ch.device.name if ch.device is not None else str(ch.spec)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."
