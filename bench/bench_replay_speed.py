#!/usr/bin/env python3
"""Replay speed: times real time for a 2-channel 16 kHz call, start-up included.

    python bench/bench_replay_speed.py [--minutes 1.5,10,60]

Builds calls of the asked lengths by repeating the bundled demo call (real recorded speech, stereo
16 kHz), then times `softphone-assist replay FILE --jsonl > /dev/null` as a subprocess (start-up
included: what a tester or a scorer pays per file) and the pipeline alone in-process.
Target (issue 2): >= 1000x real time on one core, start-up included.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "demo_call.wav"


def make_call(minutes: float, folder: Path) -> Path:
    x, rate = sf.read(DEMO, dtype="int16", always_2d=True)
    n = int(minutes * 60 * rate)
    reps = -(-n // len(x))
    path = folder / f"call_{minutes:g}min.wav"
    sf.write(path, np.tile(x, (reps, 1))[:n], rate, subtype="PCM_16")
    return path


def cli_seconds(path: Path, runs: int = 3) -> float:
    exe = Path(sys.executable).with_name("softphone-assist")
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "replay", str(path), "--jsonl"], stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def in_process_seconds(path: Path) -> float:
    from datetime import datetime

    from softphone_assist.replay import ReplayRun

    t0 = time.perf_counter()
    for _ in ReplayRun(path=path, start_time=datetime(2026, 11, 23, 14, 0)).updates():
        pass
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", default="1.5,10,60")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = cli_seconds(make_call(0.01, Path(tmp)))
        print(f"start-up (0.6 s call, CLI): {start * 1000:.0f} ms")
        print(f"{'call':>8} {'CLI s':>8} {'CLI x RT':>9} {'pipeline s':>11} {'pipeline x RT':>14}")
        for m in (float(v) for v in args.minutes.split(",")):
            path = make_call(m, Path(tmp))
            cli = cli_seconds(path)
            inproc = in_process_seconds(path)
            print(f"{m:>6.1f}m {cli:8.3f} {m * 60 / cli:9.0f} {inproc:11.3f} {m * 60 / inproc:14.0f}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this bench process (in-process replays): {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
