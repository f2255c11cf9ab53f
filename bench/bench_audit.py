#!/usr/bin/env python3
"""Audit throughput: hours of stereo audio audited per minute, with 1 and 2 local workers and
through a 2-worker Dask cluster on 127.0.0.1; peak RSS per worker process.

    python bench/bench_audit.py [--calls 100] [--minutes 5] [--cache DIR] [--runs 1,2,dask]

The calls are made once into a cache folder (default /var/cache/softphone-assist-bench/audit):
each is the bundled demo call (real recorded speech, stereo 16 kHz) repeated to the length, started
at a different offset and padded with k x 10 ms of zeros, so every call has its own sha256 (the
audit's resume would skip copies). Every run audits all calls into a fresh --out folder through the
real command (`softphone-assist audit`, a subprocess).

Figures printed per run:
* wall: the whole command (start-up, hashing every file for resume, the audit, calls.csv and
  report.html with one PNG per call);
* audit: the command's own "audited N calls in X s" (the fan-out only: no hashing, no report);
* h/min: hours of audio per wall minute, and per audit minute;
* CPU s per audio hour: one core's CPU seconds for the whole audit per hour of audio: user+sys of
  the command and of every process it waited for (its pool workers and their resource tracker:
  resource.getrusage(RUSAGE_CHILDREN) of this bench around the command); for Dask, plus the CPU the
  two worker processes spent meanwhile (psutil; the scheduler runs in this bench's process and is not
  counted). Start-up, hashing, the pictures and the report are included;
* audit_one alone: CPU seconds of this process per audio hour for `audit_one` on 10 of the calls,
  in-process, after one warm-up call and with the heap set up as every audit worker does
  (audio/heap.py) (the pipeline, the rules and the sha256; no start-up, no picture, no report);
* peak RSS: the largest resident size seen for each process of the run (polled every 50 ms): the
  command and its pool workers (and the pool's resource tracker); for Dask, the two workers.
Target (issue 8): an hour of stereo calls audited in under 3 s of one core.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "demo_call.wav"
EXE = Path(sys.executable).with_name("softphone-assist")


def make_calls(cache: Path, calls: int, minutes: float) -> list[Path]:
    folder = cache / f"{calls}x{minutes:g}min"
    done = folder / ".complete"
    if done.is_file():
        return sorted(folder.glob("*.wav"))
    folder.mkdir(parents=True, exist_ok=True)
    x, rate = sf.read(DEMO, dtype="int16", always_2d=True)
    n = int(minutes * 60 * rate)
    reps = -(-n // len(x)) + 1
    tiled = np.tile(x, (reps, 1))
    for k in range(calls):
        offset = (k * 7919 * rate // 100) % len(x)  # a different start in the demo for each call
        call = np.concatenate([tiled[offset:offset + n], np.zeros((k * rate // 100, x.shape[1]), np.int16)])
        sf.write(folder / f"call{k:04d}.wav", call, rate, subtype="PCM_16")
    done.write_text("ok\n")
    return sorted(folder.glob("*.wav"))


def run(folder: Path, args: list[str], watch: tuple[psutil.Process, ...] = ()) -> dict[str, float | list[int]]:
    """One audit through the command; `watch`: more processes to poll for peak RSS (Dask workers)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(EXE), "audit", str(folder), "--out", str(Path(tmp) / "out"), *args]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        peak: dict[int, int] = {}
        while proc.poll() is None:
            try:
                for p in [proc, *proc.children(recursive=True), *watch]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        peak[p.pid] = max(peak.get(p.pid, 0), p.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.05)
        wall = time.monotonic() - t0
        err = proc.stderr.read() if proc.stderr else ""
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    m = re.search(r"audited (\d+) calls in ([\d.]+) s", err)
    assert m, err
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "audit": float(m.group(2)), "cpu": cpu,
            "rss": sorted(peak.values(), reverse=True), "watched_rss": [peak.get(w.pid, 0) for w in watch]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--cache", type=Path, default=Path("/var/cache/softphone-assist-bench/audit"))
    ap.add_argument("--runs", default="1,2,dask", help="which audits to run: 1 and 2 local workers, dask")
    a = ap.parse_args()
    runs = set(a.runs.split(","))
    t0 = time.monotonic()
    files = make_calls(a.cache, a.calls, a.minutes)
    hours = sum(sf.info(str(f)).duration for f in files) / 3600
    print(f"{len(files)} calls, {hours:.2f} h of stereo 16 kHz audio in {files[0].parent} "
          f"(ready in {time.monotonic() - t0:.1f} s)")

    from softphone_assist.audio.heap import keep_big_blocks
    from softphone_assist.audit.one import AuditOptions, audit_one

    keep_big_blocks()
    first = audit_one(files[0], AuditOptions())  # imports and the script file, once
    if "error" in first:
        raise SystemExit(f"the audit cannot read the calls: {first['error']}")
    sample = files[1:11]
    cpu0 = time.process_time()
    rows = [audit_one(f, AuditOptions()) for f in sample]
    assert not [r for r in rows if "error" in r], rows
    per_hour = (time.process_time() - cpu0) / (sum(sf.info(str(f)).duration for f in sample) / 3600)
    print(f"audit_one alone, in-process: {per_hour:.2f} CPU s per audio hour (target: under 3)", flush=True)

    from distributed import LocalCluster

    def show(name: str, r: dict[str, float | list[int]]) -> None:
        wall, audit, cpu = float(r["wall"]), float(r["audit"]), float(r["cpu"])  # type: ignore[arg-type]
        rss = ", ".join(f"{x / 2**20:.0f}" for x in r["rss"])  # type: ignore[union-attr]
        print(f"{name}:\n  wall {wall:.1f} s = {hours / (wall / 60):.2f} h of audio per minute; "
              f"audit alone {audit:.1f} s = {hours / (audit / 60):.2f} h/min\n"
              f"  CPU {cpu:.1f} s = {cpu / hours:.2f} CPU s of one core per audio hour (the whole audit: "
              f"command + every worker process, start-up, hashing and report included; target: under 3)\n"
              f"  peak RSS per process, MiB: {rss}", flush=True)

    for key, name, args in (("1", "1 local worker (in-process, --jobs 1)", ["--jobs", "1"]),
                            ("2", "2 local workers (--jobs 2)", ["--jobs", "2"])):
        if key in runs:
            show(name, run(files[0].parent, args))
    if "dask" not in runs:
        return
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        workers = [psutil.Process(w.process.pid) for w in cluster.workers.values()
                   if getattr(w, "process", None) is not None and w.process.pid]
        cpu0 = sum(sum(w.cpu_times()[:2]) for w in workers)
        r = run(files[0].parent, ["--scheduler", cluster.scheduler_address], tuple(workers))
        r["cpu"] = float(r["cpu"]) + sum(sum(w.cpu_times()[:2]) for w in workers) - cpu0  # type: ignore[arg-type]
        r["rss"] = r["watched_rss"]  # the two Dask workers (the command itself is the client only)
    show("2-worker Dask cluster (--scheduler, 127.0.0.1)", r)


if __name__ == "__main__":
    main()
