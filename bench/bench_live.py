#!/usr/bin/env python3
"""Live-path figures (issue 3): prompt latency, CPU, memory over an hour of audio, start-up to overlay.

    python bench/bench_live.py [--hours 1.0]

* prompt latency: the demo call handed to LiveSession in 20 ms blocks (the capture block size), as
  the live app does (the session feeds the pipeline in chunks of >= 100 ms); for each pump that
  emits a prompt, the wall time from that pump's start to the prompt coming out, and to the overlay
  having painted it (offscreen Qt, repaint()). End to end add up to 100 ms of feed chunking, the
  capture block (20 ms) and the timer tick (up to 30 ms).
* CPU % of one core for two 16 kHz streams: process CPU time / stream time while feeding 20 ms
  blocks (the pipeline, engine and session; PortAudio's own threads are measured by bench_capture.py).
* RSS after start and after `--hours` of fed audio (VmRSS from /proc, not the peak).
* start-up to overlay visible: `softphone-assist demo` in a fresh process under Xvfb if present
  (else offscreen), from spawning it to the overlay's first show.
TTS first sound after a (cached) prompt: see bench_tts.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from softphone_assist.audio.reader import open_call  # noqa: E402
from softphone_assist.audio.vad import WebRtcVad  # noqa: E402
from softphone_assist.core.events import ShowPrompt  # noqa: E402
from softphone_assist.core.pipeline import Pipeline  # noqa: E402
from softphone_assist.core.script.loader import load_script  # noqa: E402
from softphone_assist.live.session import LiveSession  # noqa: E402

DEMO = ROOT / "resources" / "demo" / "demo_call.wav"
BLOCK = 320  # 20 ms at 16 kHz


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Blocks:
    """The demo call handed out 20 ms at a time, looping, like a capture that never ends."""

    def __init__(self) -> None:
        with open_call(DEMO) as r:
            parts = list(r.blocks(1.0))
        self.caller = np.concatenate([c for c, _ in parts])
        self.agent = np.concatenate([a for _, a in parts if a is not None])
        self.pos = 0

    def read_available(self) -> list:
        i = self.pos % (len(self.caller) - BLOCK)
        self.pos += BLOCK
        return [("caller", self.caller[i:i + BLOCK]), ("agent", self.agent[i:i + BLOCK])]

    def problems(self) -> list[str]:
        return []


def session() -> tuple[LiveSession, Blocks]:
    src = Blocks()
    pipe = Pipeline(16000, load_script("zh-CN"), WebRtcVad, has_agent=True,
                    call_started_at=datetime(2026, 11, 23, 14), meters=True)
    pipe.schedule([])
    pipe.call_event("call_start", "bench")
    return LiveSession(pipeline=pipe, audio=src), src


def latency_and_cpu(overlay_too: bool) -> None:
    s, src = session()
    window = None
    if overlay_too:
        from PySide6.QtWidgets import QApplication

        from softphone_assist.ui.overlay import OverlayWindow

        app = QApplication.instance() or QApplication([])
        window = OverlayWindow()
        window.show()
        app.processEvents()
    to_prompt, to_paint = [], []
    seconds = len(src.caller) / 16000 * 3  # three passes over the demo call
    c0 = time.process_time()
    while s.pipeline.t < seconds:
        t0 = time.perf_counter()
        ups = s.pump()
        t1 = time.perf_counter()
        if window is not None:
            window.apply_all(ups, now=s.pipeline.t)
            if any(isinstance(u, ShowPrompt) for u in ups):
                window.repaint()
                to_paint.append(time.perf_counter() - t0)
        if any(isinstance(u, ShowPrompt) for u in ups):
            to_prompt.append(t1 - t0)
    cpu = time.process_time() - c0
    print(f"prompts seen: {len(to_prompt)} in {seconds:.0f} s of stream")
    print(f"audio block in -> prompt event: median {np.median(to_prompt) * 1e3:.2f} ms, "
          f"max {max(to_prompt) * 1e3:.2f} ms (+ up to 100 ms feed chunk, 20 ms capture block, 30 ms tick)")
    if to_paint:
        print(f"audio block in -> overlay painted: median {np.median(to_paint) * 1e3:.2f} ms, "
              f"max {max(to_paint) * 1e3:.2f} ms")
    label = "with the overlay" if window is not None else "without a window"
    print(f"CPU for two 16 kHz streams in 20 ms blocks ({label}): {100 * cpu / seconds:.2f} % of one core")


def memory(hours: float) -> None:
    s, _ = session()
    before = rss_mb()
    end = hours * 3600
    while s.pipeline.t < end:
        s.pump()
    after = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS after start {before:.0f} MB, after {hours:g} h of fed audio {after:.0f} MB "
          f"(peak {peak:.0f} MB)")


def startup() -> None:
    xvfb = shutil.which("Xvfb")
    env = dict(os.environ)
    proc_x = None
    if xvfb:
        r, w = os.pipe()
        proc_x = subprocess.Popen([xvfb, "-displayfd", str(w), "-nolisten", "tcp"], pass_fds=(w,),
                                  stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as ready:
            env["DISPLAY"] = ":" + ready.readline().strip()
        env["QT_QPA_PLATFORM"] = "xcb"
    else:
        env["DISPLAY"] = ":0"  # has_display() says yes; Qt draws offscreen
    with tempfile.TemporaryDirectory() as tmp:
        env["SOFTPHONE_ASSIST_CONFIG"] = str(Path(tmp) / "c.toml")
        Path(env["SOFTPHONE_ASSIST_CONFIG"]).write_text("")
        env["SOFTPHONE_ASSIST_SHOWN_FILE"] = str(Path(tmp) / "shown")
        times = []
        for _ in range(3):
            shown = Path(env["SOFTPHONE_ASSIST_SHOWN_FILE"])
            shown.unlink(missing_ok=True)
            t0 = time.perf_counter()
            p = subprocess.Popen([sys.executable, "-m", "softphone_assist", "demo"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not shown.exists() and p.poll() is None:
                time.sleep(0.005)
            times.append(time.perf_counter() - t0)
            p.terminate()
            p.wait()
    if proc_x is not None:
        proc_x.terminate()
        proc_x.wait()
    where = "Xvfb" if xvfb else "offscreen"
    print(f"start-up to overlay visible ({where}): best {min(times) * 1e3:.0f} ms, "
          f"worst {max(times) * 1e3:.0f} ms of {len(times)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    latency_and_cpu(overlay_too=False)
    latency_and_cpu(overlay_too=True)
    memory(args.hours)
    startup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
