"""Wall time of `softphone-assist call ...` as a softphone hook runs it: a fresh Python process.

MicroSIP waits for its hook process (up to 10 s) before it goes on, so this must stay far below
half a second. The app side is simulated here by an IpcServer polled every --poll-ms, the way a
QTimer or the headless loop polls it; the wait for the next poll is part of the figure.

    .venv/bin/python bench/bench_ipc_client.py [--runs 20] [--poll-ms 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from softphone_assist.ipc import IpcServer  # noqa: E402

FAST_PATH = "import sys; from softphone_assist.ipc import call_main; sys.exit(call_main(sys.argv[1:]))"


def run_client(
    argv: list[str], server: IpcServer | None, poll_s: float, env: dict[str, str]
) -> tuple[float, int]:
    """Start the client, poll the server like the app would until the client exits."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    next_poll = t0
    while proc.poll() is None:
        now = time.perf_counter()
        if server is not None and now >= next_poll:
            server.poll()
            next_poll = now + poll_s
        time.sleep(0.0005)
    return time.perf_counter() - t0, proc.returncode


def summary(name: str, times: list[float], codes: set[int]) -> None:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    print(
        f"{name:<44} median {statistics.median(ms):6.1f} ms  p90 {p90:6.1f} ms  max {ms[-1]:6.1f} ms"
        f"  exit codes {sorted(codes)}"
    )


def bench_mode(label: str, env: dict[str, str], sock: Path, runs: int, poll_s: float) -> None:
    py = sys.executable
    cases: list[tuple[str, list[str], bool]] = [
        ("python -c pass (interpreter start-up only)", [py, "-c", "pass"], False),
        ("ipc.call_main: call answered --number N", [py, "-c", FAST_PATH, "answered", "--number", "1"], True),
        ("ipc.call_main, app not running (exit 1)", [py, "-c", FAST_PATH, "hold"], False),
    ]
    if (ROOT / "softphone_assist" / "cli.py").exists():
        cases.append(
            (
                "python -m softphone_assist call hold (lead's CLI)",
                [py, "-m", "softphone_assist", "call", "hold"],
                True,
            )
        )
    print(f"-- {label}")
    for _, argv, _ in cases:  # warm-up: fills the bytecode cache when it is enabled
        run_client(argv, None, poll_s, env)
    for name, argv, with_server in cases:
        server = IpcServer(sock, transport="unix") if with_server else None
        try:
            results = [run_client(argv, server, poll_s, env) for _ in range(runs)]
        finally:
            if server is not None:
                server.close()
        summary(name, [t for t, _ in results], {c for _, c in results})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--poll-ms", type=float, default=20.0)
    args = ap.parse_args()
    poll_s = args.poll_ms / 1000
    print(f"{args.runs} runs each, server polled every {args.poll_ms:g} ms, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as d:
        sock = Path(d) / "ipc.sock"
        env = {**os.environ, "SOFTPHONE_ASSIST_IPC": str(sock), "PYTHONPATH": str(ROOT)}
        no_pyc = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        no_pyc.pop("PYTHONPYCACHEPREFIX", None)
        bench_mode(
            "project sources compiled on every run (PYTHONDONTWRITEBYTECODE=1)",
            no_pyc,
            sock,
            args.runs,
            poll_s,
        )
        cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = str(Path(d) / "pycache")  # keeps the work tree clean
        bench_mode("bytecode cached, as after pip install", cached, sock, args.runs, poll_s)
        with IpcServer(sock, transport="unix") as server:
            n = 100_000
            t0 = time.perf_counter()
            for _ in range(n):
                server.poll()
            print(f"idle IpcServer.poll(): {(time.perf_counter() - t0) / n * 1e6:.1f} µs per call")


if __name__ == "__main__":
    main()
