#!/usr/bin/env python3
"""Replay speed: times real time for a 2-channel 16 kHz call, by wall clock and by CPU time.

    python bench/bench_replay_speed.py [--minutes 1.5,10,60] [--runs 3]

Builds calls of the asked lengths by repeating the bundled demo call (real recorded speech, stereo
16 kHz), then measures, best of `--runs`:

* CLI: `softphone-assist replay FILE --jsonl > /dev/null` as a subprocess, start-up included (what a
  tester or a scorer pays per file): interpreter, imports, reading, the pipeline, the JSON and the
  process's exit. Wall seconds, and CPU seconds of the subprocess tree (utime + stime of the
  waited-for children, resource.getrusage(RUSAGE_CHILDREN)).
* pipeline: `ReplayRun(...).updates()` in this process (reading, the pipeline with the caller noise
  model, the engine, the coach; no start-up, no JSON), numpy's BLAS on one thread as in the CLI.
  Wall seconds, and CPU seconds of this process (utime + stime, resource.getrusage(RUSAGE_SELF),
  children included but there are none).

x RT is call seconds / measured seconds. CPU figures hold on a loaded machine (another process on
the same cores lengthens wall time, not CPU time); wall figures do not.
Targets: issue 2, >= 1000x real time on one core, start-up included; issue 9, >= 1,500x real time
on a 2-channel 16 kHz call.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "demo_call.wav"
ISSUE_9_X_RT = 1500


def make_call(minutes: float, folder: Path) -> Path:
    import numpy as np  # after main() has set the BLAS threads
    import soundfile as sf

    x, rate = sf.read(DEMO, dtype="int16", always_2d=True)
    n = int(minutes * 60 * rate)
    reps = -(-n // len(x))
    path = folder / f"call_{minutes:g}min.wav"
    sf.write(path, np.tile(x, (reps, 1))[:n], rate, subtype="PCM_16")
    return path


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


_CLI_ENV = dict(os.environ)  # the environment as it was: the CLI tunes its own process


def cli_seconds(path: Path, runs: int) -> tuple[float, float]:
    """(best wall s, best CPU s of the subprocess tree) of `softphone-assist replay FILE --jsonl`."""
    exe = Path(sys.executable).with_name("softphone-assist")
    wall = cpu = float("inf")
    for _ in range(runs):
        c0 = _cpu(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([str(exe), "replay", str(path), "--jsonl"], stdout=subprocess.DEVNULL, check=True,
                       env=_CLI_ENV)
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, _cpu(resource.RUSAGE_CHILDREN) - c0)
    return wall, cpu


def in_process_seconds(path: Path, runs: int) -> tuple[float, float]:
    """(best wall s, best CPU s of this process) of one in-process replay."""
    from datetime import datetime

    from softphone_assist.replay import ReplayRun

    wall = cpu = float("inf")
    for _ in range(runs):
        c0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        for _ in ReplayRun(path=path, start_time=datetime(2026, 11, 23, 14, 0)).updates():
            pass
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - c0)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", default="1.5,10,60")
    ap.add_argument("--runs", type=int, default=3, help="best of this many runs per figure (default 3)")
    args = ap.parse_args()
    # the in-process figure on the CLI's footing: a replay process runs numpy's BLAS on one thread
    # (cli._tune_batch_process); before numpy is imported, never over the caller's own setting
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        in_process_seconds(make_call(0.5, Path(tmp)), 1)  # imports and the script file, once
        start_wall, start_cpu = cli_seconds(make_call(0.01, Path(tmp)), args.runs)
        print(f"start-up (0.6 s call, CLI): {start_wall * 1000:.0f} ms wall, {start_cpu * 1000:.0f} ms CPU")
        print(f"{'call':>7} | {'CLI wall s':>10} {'x RT':>6} {'CLI CPU s':>10} {'x RT':>6} | "
              f"{'pipeline wall s':>15} {'x RT':>6} {'pipeline CPU s':>14} {'x RT':>6}")
        short: list[str] = []
        for m in (float(v) for v in args.minutes.split(",")):
            path = make_call(m, Path(tmp))
            s = m * 60
            cw, cc = cli_seconds(path, args.runs)
            pw, pc = in_process_seconds(path, args.runs)
            print(f"{m:>6.1f}m | {cw:10.3f} {s / cw:6.0f} {cc:10.3f} {s / cc:6.0f} | "
                  f"{pw:15.3f} {s / pw:6.0f} {pc:14.3f} {s / pc:6.0f}", flush=True)
            if s / cc < ISSUE_9_X_RT:
                short.append(f"{m:g} min: CLI {s / cc:.0f}x")
        print(f"issue 9 (CLI >= {ISSUE_9_X_RT:,}x real time, CPU): "
              f"{'met for every call' if not short else 'not met for ' + ', '.join(short)}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this bench process (in-process replays): {rss:.0f} MB")
    print("CLI: the replay subprocess, start-up included; CPU = utime+stime of the process tree "
          "(RUSAGE_CHILDREN). pipeline: ReplayRun in this process; CPU = utime+stime (RUSAGE_SELF + "
          "RUSAGE_CHILDREN). Best of", args.runs, "runs each.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
