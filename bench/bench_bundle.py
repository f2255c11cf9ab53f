#!/usr/bin/env python3
"""Frozen bundle figures (issue 6): size, start-up frozen vs. from source, RSS of the frozen overlay.

    python bench/bench_bundle.py [--bundle DIR] [--runs 5]

* bundle size: the sum of the files' sizes (MiB, not disk blocks) and the number of files, with the
  biggest parts; DIR defaults to what packaging/build-bundle prints (it reuses its cached build).
* start-up, frozen (`DIR/softphone-assist`) vs. from source (the dev venv's `softphone-assist` console
  script), each run in a fresh process, wall time from spawn to exit:
  - `--version`: interpreter start-up and argparse, no app imports;
  - `replay` of the demo call (~90 s of audio) with `--jsonl`: the whole replay, output to /dev/null;
  - overlay visible: `demo` under Xvfb (QT_QPA_PLATFORM=xcb; offscreen if Xvfb is missing), from spawn
    to the overlay's first show (the app touches SOFTPHONE_ASSIST_SHOWN_FILE once the window is
    visible, in the event loop's first pass); the process is then stopped.
  Runs are warm: the files are in the page cache after the first run (the page cache is not
  dropped, that would disturb the machine). "first" is the first run of each, best/median over all.
* RSS of the frozen overlay: VmRSS from /proc of the process and all its descendants, 2 s after the
  overlay first showed (demo overlay, no TTS worker: the demo does not speak).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_CLI = Path(sys.executable).parent / "softphone-assist"
START = "2026-02-17T09:30:00"
MIB = 1024 * 1024


def bundle_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    res = subprocess.run([str(ROOT / "packaging" / "build-bundle")], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"packaging/build-bundle failed:\n{res.stderr[-2000:]}")
    sys.stderr.write(res.stderr)
    return Path(res.stdout.splitlines()[-1])


def print_size(bundle: Path) -> None:
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    print(f"bundle size: {total / MIB:.1f} MiB in {len(files)} files ({bundle})")
    internal = bundle / "_internal"
    parts: dict[str, int] = {}
    for p in files:
        rel = p.relative_to(bundle)
        key = rel.parts[1] if rel.parts[0] == "_internal" and len(rel.parts) > 2 else str(rel)
        parts[key] = parts.get(key, 0) + p.stat().st_size
    top = sorted(parts.items(), key=lambda kv: kv[1], reverse=True)[:8]
    print("  biggest: " + ", ".join(f"{k} {v / MIB:.1f}" for k, v in top) + " (MiB)")
    if not internal.is_dir():
        print("  (no _internal/: not a PyInstaller 6 one-folder bundle?)")


@contextmanager
def display() -> Iterator[dict[str, str]]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen", "_WHERE": "offscreen"}
        return
    r, w = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as ready:
        disp = ":" + ready.readline().strip()
    try:
        yield {"DISPLAY": disp, "QT_QPA_PLATFORM": "xcb", "_WHERE": "Xvfb, xcb"}
    finally:
        proc.terminate()
        proc.wait()


def tree_rss_kib(pid: int) -> int:
    """VmRSS of `pid` and every descendant (children found through /proc/*/task/*/children)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total


def timed_run(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def overlay_run(cmd: list[str], env: dict[str, str], cwd: Path, shown: Path, rss: list[int]) -> float:
    shown.unlink(missing_ok=True)
    t0 = time.perf_counter()
    p = subprocess.Popen([*cmd, "demo"], env={**env, "SOFTPHONE_ASSIST_SHOWN_FILE": str(shown)}, cwd=cwd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not shown.exists():
            if p.poll() is not None:
                raise SystemExit(f"{cmd[0]} demo exited ({p.returncode}) before the overlay showed")
            time.sleep(0.002)
        elapsed = time.perf_counter() - t0
        time.sleep(2.0)
        rss.append(tree_rss_kib(p.pid))
        return elapsed
    finally:
        p.terminate()
        p.wait(timeout=30)


def report(label: str, times: list[float]) -> str:
    return (f"{label}: first {times[0] * 1e3:.0f} ms, best {min(times) * 1e3:.0f} ms, "
            f"median {statistics.median(times) * 1e3:.0f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=None, help="a bundle folder (default: build or reuse with build-bundle)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bundle = bundle_dir(args.bundle)
    print_size(bundle)
    frozen = [str(bundle / "softphone-assist")]
    source = [str(SOURCE_CLI)]
    demo_wav = bundle / "_internal" / "resources" / "demo" / "demo_call.wav"
    with tempfile.TemporaryDirectory() as tmp, display() as gui:
        home = Path(tmp)
        base = {"HOME": tmp, "LANG": "C.UTF-8", "XDG_CONFIG_HOME": f"{tmp}/.config",
                "XDG_DATA_HOME": f"{tmp}/.local/share", "XDG_RUNTIME_DIR": tmp}
        envs = {"frozen": {**base, "PATH": "/usr/bin:/bin"}, "source": {**os.environ, **base}}
        where = gui.pop("_WHERE")
        cases: list[tuple[str, Callable[[list[str], dict[str, str]], float]]] = [
            ("--version", lambda cmd, env: timed_run([*cmd, "--version"], env, home)),
            ("replay demo --jsonl", lambda cmd, env: timed_run(
                [*cmd, "replay", str(demo_wav), "--jsonl", "--start-time", START], env, home)),
        ]
        rss: dict[str, list[int]] = {"frozen": [], "source": []}
        for label, fn in cases:
            for kind, cmd in (("frozen", frozen), ("source", source)):
                print(report(f"{label} ({kind})", [fn(cmd, envs[kind]) for _ in range(args.runs)]))
        for kind, cmd in (("frozen", frozen), ("source", source)):
            times = [overlay_run(cmd, {**envs[kind], **gui}, home, home / "shown", rss[kind])
                     for _ in range(args.runs)]
            print(report(f"overlay visible ({where}) ({kind})", times))
        for kind in ("frozen", "source"):
            print(f"RSS of the {kind} overlay 2 s after it showed (process tree): "
                  f"median {statistics.median(rss[kind]) / 1024:.0f} MiB, max {max(rss[kind]) / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
