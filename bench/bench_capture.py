"""What live capture costs: the PortAudio-thread callback, and the main-loop read per timer tick.

    python bench/bench_capture.py                     # synthetic: no sound card needed
    python bench/bench_capture.py --live caller_line.monitor agent_mic --seconds 20

The synthetic part feeds a fake backend (caller 48 kHz stereo -> soxr -> 16 kHz, agent 16 kHz
mono, 20 ms blocks) and times `read_available()` once per block, as a 20 ms UI timer would.
The live part records real devices for a while and prints process CPU time and the counters.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from softphone_assist.audio.capture import LiveCapture, _Sink
from softphone_assist.audio.devices import DeviceInfo


class _Stream:
    def __init__(self, rate: int, channels: int, sink: Any) -> None:
        self.rate, self.channels, self.sink = rate, channels, sink

    def active(self) -> bool:
        return True

    def start(self) -> None: ...

    def close(self) -> None: ...


class _Backend:
    private_portaudio = False

    def __init__(self) -> None:
        self.devs = [DeviceInfo("speaker monitor", "ALSA", 0, 2, 0, 48000.0),
                     DeviceInfo("headset mic", "ALSA", 1, 1, 0, 16000.0)]
        self.streams: list[_Stream] = []

    def devices(self) -> list[DeviceInfo]:
        return self.devs

    def open_input(self, dev: DeviceInfo, rate: int, block_s: float, sink: Any) -> _Stream:
        s = _Stream(48000, 2, sink) if dev.index == 0 else _Stream(16000, 1, sink)
        self.streams.append(s)
        return s

    def rescan(self) -> None: ...


def bench_callback(n: int = 200_000) -> None:
    sink = _Sink(max_blocks=n + 1)
    block = np.zeros(320, np.int16)
    view = memoryview(block.tobytes())  # what sounddevice hands the callback (a cffi buffer)
    t = time.perf_counter()
    for _ in range(n):
        sink.on_block(bytes(view), 320, False)
    dt = (time.perf_counter() - t) / n
    print(f"callback (copy 640 bytes + queue + count): {dt * 1e6:.2f} us per block")


def bench_reader(seconds: int = 60) -> None:
    backend = _Backend()
    clock = [0.0]
    cap = LiveCapture("speaker monitor", "headset mic", backend=backend, devices=backend.devices,
                      source_events=None, clock=lambda: clock[0])
    cap.start()
    caller, agent = backend.streams
    rng = np.random.default_rng(1)
    cblock = rng.integers(-3000, 3000, 960 * 2, dtype=np.int16).tobytes()
    ablock = rng.integers(-3000, 3000, 320, dtype=np.int16).tobytes()
    ticks = seconds * 50
    spent = 0.0
    worst = 0.0
    for _ in range(ticks):
        caller.sink.on_block(cblock, 960, False)
        agent.sink.on_block(ablock, 320, False)
        clock[0] += 0.02
        t = time.perf_counter()
        cap.read_available()
        dt = time.perf_counter() - t
        spent += dt
        worst = max(worst, dt)
    print(f"read_available, 2 channels (48 kHz stereo resampled + 16 kHz mono), 20 ms ticks: "
          f"{spent / ticks * 1e6:.0f} us per tick on average, worst {worst * 1e6:.0f} us, "
          f"{spent / seconds * 100:.2f} % of one core")
    print(f"  samples out: caller {cap.stats()[0].samples}, agent {cap.stats()[1].samples} "
          f"(for {seconds * 16000} in)")


def live(caller: str, agent: str | None, seconds: float) -> None:
    cap = LiveCapture(caller, agent)
    cap.start()
    cpu0, t0 = time.process_time(), time.monotonic()
    reads = 0
    while time.monotonic() - t0 < seconds:
        cap.read_available()
        reads += 1
        time.sleep(0.02)
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - t0
    print(f"live: {wall:.1f} s, {reads} reads, process CPU {cpu:.2f} s "
          f"({cpu / wall * 100:.1f} % of one core, "
          f"PortAudio threads included)")
    for st in cap.stats():
        print(f"  {st}")
    print(f"  problems: {cap.problems()}")
    cap.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--live", nargs="+", metavar="DEVICE", help="caller [agent] devices to record")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    if args.live:
        live(args.live[0], args.live[1] if len(args.live) > 1 else None, args.seconds)
    else:
        bench_callback()
        bench_reader()


if __name__ == "__main__":
    main()
