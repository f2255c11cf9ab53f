"""PulseAudio / PipeWire sources recorded through libpulse itself (ctypes), not PortAudio + ALSA.

Why not the ALSA `pulse` PCM (pulse.py) for a Pulse source:
- its streams are not pinned: they follow the server's default source, so on a sink reload the
  server moved our *agent* stream onto the new caller monitor. libpulse's PA_STREAM_DONT_MOVE
  pins a stream to the source it was opened for; when that source goes, the server kills the
  stream (state FAILED) instead of moving it, which is also how a vanished source is seen at once,
  with no `pactl` child or polling.
- cost: PortAudio's ALSA thread plus the plugin's own mainloop per stream woke 50 times a second,
  and while a null-sink monitor had not yet delivered its first block (1.5-2 s on PulseAudio when
  nothing plays into the sink) one PortAudio thread ran at ~100 % of a core (bench_live_cpu.py
  --open-idle: 1.9 s of CPU in 3 s). Likely PortAudio's ALSA wait loop returning at once on the
  plugin's poll descriptor while no frames are there; not traced further, as this path avoids
  both. Here one libpulse thread serves every stream, the server delivers a fragment per
  `block_s` (fragsize), and before the first fragment nothing of ours runs.

Thread model: one pa_threaded_mainloop thread for all streams of the capture. It runs no Python
for the audio: libpulse keeps what arrives in the stream's own bounded buffer (maxlength =
`queue_s`), and the main loop takes it out (`poll()`, under the mainloop lock) each time the
capture reads, handing it to capture._Sink like a PortAudio callback would. A Python callback on
that thread for every fragment cost more than the rest of the capture (a GIL hand-over and three
ctypes calls each, 20 times a second: ~0.35 % of a core here). Only rare events call back: a
stream that ended (state) and an overflow (the main loop was too late: the server dropped audio).
Streams are S16LE mono at the analysis rate: the server resamples and downmixes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from contextlib import suppress
from typing import Any

from softphone_assist.audio.devices import DeviceError, DeviceInfo

PA_SAMPLE_S16LE = 3
PA_CONTEXT_NOAUTOSPAWN = 1
PA_STREAM_DONT_MOVE = 0x0200
PA_STREAM_ADJUST_LATENCY = 0x2000
CONTEXT_READY, CONTEXT_FAILED, CONTEXT_TERMINATED = 4, 5, 6
STREAM_CREATING, STREAM_READY, STREAM_FAILED, STREAM_TERMINATED = 1, 2, 3, 4
NO_VALUE = 0xFFFFFFFF  # (uint32_t) -1: "server's choice" in pa_buffer_attr


class SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class BufferAttr(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]


STATE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


def _load() -> Any:
    name = ctypes.util.find_library("pulse") or "libpulse.so.0"
    lib = ctypes.CDLL(name)
    p, i, u, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_char_p
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "pa_threaded_mainloop_new": (p, []),
        "pa_threaded_mainloop_start": (i, [p]),
        "pa_threaded_mainloop_stop": (None, [p]),
        "pa_threaded_mainloop_free": (None, [p]),
        "pa_threaded_mainloop_lock": (None, [p]),
        "pa_threaded_mainloop_unlock": (None, [p]),
        "pa_threaded_mainloop_get_api": (p, [p]),
        "pa_context_new": (p, [p, s]),
        "pa_context_connect": (i, [p, s, i, p]),
        "pa_context_get_state": (i, [p]),
        "pa_context_errno": (i, [p]),
        "pa_context_disconnect": (None, [p]),
        "pa_context_unref": (None, [p]),
        "pa_strerror": (s, [i]),
        "pa_stream_new": (p, [p, s, ctypes.POINTER(SampleSpec), p]),
        "pa_stream_set_state_callback": (None, [p, STATE_CB, p]),
        "pa_stream_set_overflow_callback": (None, [p, STATE_CB, p]),
        "pa_stream_connect_record": (i, [p, s, ctypes.POINTER(BufferAttr), i]),
        "pa_stream_get_state": (i, [p]),
        "pa_stream_peek": (i, [p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]),
        "pa_stream_drop": (i, [p]),
        "pa_stream_disconnect": (i, [p]),
        "pa_stream_unref": (None, [p]),
        "pa_stream_get_device_name": (s, [p]),
        "pa_stream_get_index": (u, [p]),
    }
    for fn, (res, args) in sigs.items():
        f = getattr(lib, fn)
        f.restype, f.argtypes = res, args
    return lib


_LIB: Any = None


def lib() -> Any:
    """libpulse, loaded once; OSError when it is not installed."""
    global _LIB
    if _LIB is None:
        _LIB = _load()
    return _LIB


def available() -> bool:
    try:
        lib()
    except (OSError, AttributeError):
        return False
    return True


class _Stream:
    """One pinned recording stream (an InputHandle for capture.py)."""

    channels = 1

    def __init__(self, owner: PulseConnection, source: str, rate: int, block_s: float, sink: Any,
                 queue_s: float = 5.0) -> None:
        self._owner, self._lib, self.rate, self.source = owner, owner.lib, rate, source
        self._sink = sink
        self._ended = False
        self._overflows = 0  # counted on libpulse's thread, handed to the sink by poll()
        self._ptr: int | None = None
        # the callbacks must outlive the stream: libpulse keeps only the C pointers
        self._state_cb = STATE_CB(self._on_state)
        self._overflow_cb = STATE_CB(self._on_overflow)
        spec = SampleSpec(PA_SAMPLE_S16LE, rate, 1)
        frag = max(2, round(rate * block_s)) * 2
        attr = BufferAttr(max(frag, round(rate * queue_s) * 2), NO_VALUE, NO_VALUE, NO_VALUE, frag)
        L = self._lib
        ctx = owner.context()
        with owner.locked():
            ptr = L.pa_stream_new(ctx, b"softphone-assist " + source.encode(), ctypes.byref(spec), None)
            if not ptr:
                raise DeviceError(f"cannot create a PulseAudio stream: {owner.error()}")
            self._ptr = ptr
            L.pa_stream_set_state_callback(ptr, self._state_cb, None)
            L.pa_stream_set_overflow_callback(ptr, self._overflow_cb, None)
            flags = PA_STREAM_DONT_MOVE | PA_STREAM_ADJUST_LATENCY
            if L.pa_stream_connect_record(ptr, source.encode(), ctypes.byref(attr), flags) < 0:
                err = owner.error()
                self._release()
                raise DeviceError(f"PulseAudio source {source!r}: {err}")
        state = owner.wait_for(lambda: L.pa_stream_get_state(ptr), (STREAM_CREATING,), 5.0)
        if state != STREAM_READY:
            err = owner.error()
            with owner.locked():
                self._release()
            if state == STREAM_CREATING:
                raise DeviceError(f"PulseAudio source {source!r}: no answer from the server")
            raise DeviceError(f"PulseAudio source {source!r} is not there ({err})")

    # -- libpulse's thread (rare events only) ------------------------------------------------------
    def _on_overflow(self, stream: int, userdata: Any) -> None:
        self._overflows += 1

    def _on_state(self, stream: int, userdata: Any) -> None:
        with suppress(Exception):
            if self._lib.pa_stream_get_state(stream) in (STREAM_FAILED, STREAM_TERMINATED) and not self._ended:
                self._ended = True
                self._sink.on_finished()

    # -- the main loop -------------------------------------------------------------------------
    def start(self) -> None:
        """Connected and running since the constructor (the server starts sending at once)."""

    def poll(self) -> None:
        """Hand what libpulse has buffered to the sink (main loop, before the capture drains it)."""
        if self._ptr is None:
            return
        L, ptr = self._lib, self._ptr
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        with self._owner.locked():
            overflows, self._overflows = self._overflows, 0
            while L.pa_stream_peek(ptr, ctypes.byref(data), ctypes.byref(size)) == 0 and size.value:
                n = size.value
                # data NULL: a hole in the stream (audio lost): as many frames of zeros
                self._sink.on_block(ctypes.string_at(data.value, n) if data.value else bytes(n), n // 2,
                                    overflows > 0 or not data.value)
                overflows = 0
                L.pa_stream_drop(ptr)
        if overflows:
            self._sink.overflows += overflows  # counted; nothing to deliver (we run on the main loop)

    def active(self) -> bool:
        # READY since the constructor; the state callback flags the end: no lock needed per read
        return not self._ended and self._ptr is not None

    def device_name(self) -> str | None:
        """The source the server records this stream from (checked by tests: pinned)."""
        if self._ptr is None:
            return None
        with self._owner.locked():
            name = self._lib.pa_stream_get_device_name(self._ptr)
        return name.decode() if name else None

    def close(self) -> None:
        with self._owner.locked():
            self._release()

    def _release(self) -> None:
        if self._ptr is not None:
            ptr, self._ptr = self._ptr, None
            self._ended = True
            self._lib.pa_stream_set_state_callback(ptr, STATE_CB(), None)
            self._lib.pa_stream_set_overflow_callback(ptr, STATE_CB(), None)
            self._lib.pa_stream_disconnect(ptr)
            self._lib.pa_stream_unref(ptr)


class PulseConnection:
    """One threaded mainloop and one context; reconnects when the server went away."""

    def __init__(self, name: str = "softphone-assist") -> None:
        self.lib = lib()
        self._name = name.encode()
        self._ml = self.lib.pa_threaded_mainloop_new()
        if not self._ml or self.lib.pa_threaded_mainloop_start(self._ml) < 0:
            raise DeviceError("cannot start libpulse's mainloop")
        self._ctx: int | None = None

    def locked(self) -> _Locked:
        return _Locked(self.lib, self._ml)

    def error(self) -> str:
        if self._ctx is None:
            return "no connection to the sound server"
        msg = self.lib.pa_strerror(self.lib.pa_context_errno(self._ctx))
        return msg.decode() if msg else "unknown error"

    def context(self) -> int:
        """The connected context (call without the lock); connects first if needed."""
        L = self.lib
        with self.locked():
            if self._ctx is not None and L.pa_context_get_state(self._ctx) in (CONTEXT_FAILED, CONTEXT_TERMINATED):
                L.pa_context_unref(self._ctx)
                self._ctx = None
            if self._ctx is None:
                ctx = L.pa_context_new(L.pa_threaded_mainloop_get_api(self._ml), self._name)
                if not ctx:
                    raise DeviceError("cannot create a PulseAudio context")
                if L.pa_context_connect(ctx, None, PA_CONTEXT_NOAUTOSPAWN, None) < 0:
                    L.pa_context_unref(ctx)
                    raise DeviceError("cannot connect to the PulseAudio/PipeWire server")
                self._ctx = ctx
            ctx = self._ctx
        state = self.wait_for(lambda: L.pa_context_get_state(ctx), (0, 1, 2, 3), 5.0)
        if state != CONTEXT_READY:
            with self.locked():
                err = self.error()
                if self._ctx == ctx:
                    L.pa_context_disconnect(ctx)
                    L.pa_context_unref(ctx)
                    self._ctx = None
            raise DeviceError(f"no PulseAudio/PipeWire server answers ({err})")
        return ctx

    def wait_for(self, get: Any, pending: tuple[int, ...], timeout: float) -> int:
        """Poll `get()` (under the lock) until it leaves `pending` or `timeout` s pass."""
        end = time.monotonic() + timeout
        while True:
            with self.locked():
                state = int(get())
            if state not in pending or time.monotonic() > end:
                return state
            time.sleep(0.005)

    def open(self, source: str, rate: int, block_s: float, sink: Any) -> _Stream:
        return _Stream(self, source, rate, block_s, sink)

    def close(self) -> None:
        L = self.lib
        if self._ml is None:
            return
        with self.locked():
            if self._ctx is not None:
                L.pa_context_disconnect(self._ctx)
                L.pa_context_unref(self._ctx)
                self._ctx = None
        L.pa_threaded_mainloop_stop(self._ml)
        L.pa_threaded_mainloop_free(self._ml)
        self._ml = None


class _Locked:
    def __init__(self, lib: Any, ml: Any) -> None:
        self._lib, self._ml = lib, ml

    def __enter__(self) -> None:
        self._lib.pa_threaded_mainloop_lock(self._ml)

    def __exit__(self, *exc: object) -> None:
        self._lib.pa_threaded_mainloop_unlock(self._ml)


class PulseBackend:
    """Pulse sources through libpulse (pinned, one thread); every other device through `inner`."""

    pins_streams = True  # a Pulse source's stream never moves; it ends when the source goes

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.private_portaudio = inner.private_portaudio
        self._conn: PulseConnection | None = None

    def devices(self) -> list[DeviceInfo]:
        return list(self._inner.devices())

    def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: Any) -> Any:
        if dev.kind != "pulse_source":
            return self._inner.open_input(dev, rate, block_s, sink)
        if self._conn is None:
            self._conn = PulseConnection()
        return self._conn.open(dev.name, rate, block_s, sink)

    def rescan(self) -> None:
        self._inner.rescan()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
