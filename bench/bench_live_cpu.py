#!/usr/bin/env python3
"""CPU of the whole `listen` (or `run`: the overlay app) process tree, two 16 kHz streams (issue 7 §2).

    python bench/bench_live_cpu.py [--server pulseaudio|pipewire|both] [--seconds 60]
                                   [--phase idle|call|both] [--app listen|run|both] [-- extra options]

A private sound server (tests/soundserver.py: PulseAudio, or PipeWire + pipewire-pulse +
WirePlumber with a private D-Bus session bus, each in its own XDG_RUNTIME_DIR) gets two null
sinks, `caller_line` (48 kHz stereo, like a softphone's output) and `agent_mic_in` (48 kHz mono).
`listen --caller caller_line.monitor --agent agent_mic_in.monitor --jsonl --speak off` (its IPC socket
in the private runtime dir, as on a desk)
runs against it. After a warm-up the bench reads /proc at the start
and the end of each phase:

* idle: nothing plays (both monitors carry digital zero; no call).
* call: line hiss with a recorded voice plays into both sinks (paplay, looping), so a call runs.
* outage (`--phase outage` or `all`): as call, and 5 s in the caller sink is unloaded for 10 s,
  then loaded again and played into again; the listen records about it are printed afterwards
  (`no_audio` start/end, call state, prompts: no call_end, no prompt inside the outage).

The figure is the tree's CPU time over the phase's wall time, in % of one core: for every process
of the tree still alive, utime + stime of all its threads (the process line of /proc/PID/stat, which
keeps the time of threads that have ended) plus cutime + cstime (children that ended and were
waited for), so `pactl` runs and other children are included. The server's own CPU (pulseaudio,
pipewire…) is printed beside it, not in it. Per-thread lines (/proc/PID/task/*/stat, by thread
name) show where the time goes.

    python bench/bench_live_cpu.py --open-idle [--server ...]

opens the two idle monitors (nothing plays into the sinks) in this process, once through libpulse
and once through PortAudio + the ALSA `pulse` PCM, and prints each thread's CPU time over the first
`--seconds` (default here 3 s) and when both streams had their first block: the ALSA path's
PortAudio threads spin until then.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from soundserver import SoundServer as Server  # noqa: E402  (the tests' private-server rig)

TCK = os.sysconf("SC_CLK_TCK")
VOICE = Path("/usr/share/asterisk/sounds/en_US_f_Allison/conf-onlyperson.wav")


# ---------------------------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------------------------
def _stat(path: str) -> tuple[str, list[str]] | None:
    try:
        with open(path) as f:
            data = f.read()
    except OSError:
        return None
    name = data[data.index("(") + 1:data.rindex(")")]
    return name, data[data.rindex(")") + 2:].split()  # fields from 3 (state) on


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit() and (st := _stat(f"/proc/{d}/stat")) is not None:
            kids[int(st[1][1])].append(int(d))  # field 4: ppid
    return kids


def tree(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def tree_ticks(pid: int) -> tuple[int, dict[str, int]]:
    """(total ticks of the tree, ticks per 'process/thread' name)."""
    total, per = 0, {}
    for p in tree(pid):
        st = _stat(f"/proc/{p}/stat")
        if st is None:
            continue
        name, f = st
        total += sum(int(f[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime (fields 14-17)
        if int(f[13]) + int(f[14]):
            per[f"{name}/(ended children)"] = int(f[13]) + int(f[14])
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            ts = _stat(f"/proc/{p}/task/{t}/stat")
            if ts is not None:
                key = f"{name}/{ts[0]}"
                per[key] = per.get(key, 0) + int(ts[1][11]) + int(ts[1][12])
    return total, per


def proc_ticks(pid: int) -> int:
    st = _stat(f"/proc/{pid}/stat")
    return 0 if st is None else sum(int(st[1][i]) for i in (11, 12, 13, 14))


# ---------------------------------------------------------------------------------------------
# private sound servers
# ---------------------------------------------------------------------------------------------
def call_audio(path: Path) -> None:
    """60 s: -70 dBov line hiss with the voice every 6 s (so both sides carry speech and pauses)."""
    rate = 16000
    rng = np.random.default_rng(7)
    x = rng.normal(0, 10.0, 60 * rate)
    voice, vr = sf.read(VOICE, dtype="float64") if VOICE.exists() else (np.zeros(rate), rate)
    voice = np.interp(np.arange(0, len(voice), vr / rate), np.arange(len(voice)), voice) * 32767 * 0.5
    for t in range(1, 59, 6):
        seg = voice[: min(len(voice), len(x) - t * rate)]
        x[t * rate:t * rate + len(seg)] += seg
    sf.write(path, np.clip(x, -32768, 32767).astype(np.int16), rate, subtype="PCM_16")


# ---------------------------------------------------------------------------------------------
def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """A private X display for the overlay app (no window manager: none is needed to paint)."""
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as ready:
        return xvfb, ":" + ready.readline().strip()


def measure(server: Server, seconds: float, phases: list[str], extra: list[str], app_kind: str = "listen",
            display: str | None = None) -> None:
    wav = server.root / "call.wav"
    call_audio(wav)
    env = {**server.client_env, "XDG_CONFIG_HOME": str(server.root / "config"),
           "XDG_DATA_HOME": str(server.root / "data"), "SOFTPHONE_ASSIST_CONFIG": str(server.root / "sa.toml")}
    devices = ["--caller", "caller_line.monitor", "--agent", "agent_mic_in.monitor"]
    if app_kind == "run":
        # the overlay app as an agent runs it: settings say TTS off (like --speak off for listen)
        (server.root / "sa.toml").write_text('[tts]\nmode = "off"\n')
        env.update(DISPLAY=display or "", QT_QPA_PLATFORM="xcb")
        argv = [sys.executable, "-m", "softphone_assist", "run", *devices, *extra]
    else:
        (server.root / "sa.toml").write_text("# defaults\n")
        argv = [sys.executable, "-m", "softphone_assist", "listen", *devices, "--jsonl", "--speak", "off", *extra]
    out_path = server.root / "listen.jsonl"
    with open(out_path, "w") as out:
        app = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True)
    assert app.stderr is not None
    if app_kind == "listen":
        line = app.stderr.readline()
        if "listening" not in line:
            raise SystemExit(f"listen did not start: {line}{app.stderr.read()}")
    players: list[subprocess.Popen[bytes]] = []
    print(f"\n{server.kind}: {app_kind} pid {app.pid}, {' '.join(argv[2:])}")
    try:
        time.sleep(5.0 if app_kind == "listen" else 8.0)  # start-up (imports, first blocks) is not the steady state
        if app.poll() is not None:
            raise SystemExit(f"{app_kind} ended at start: {app.stderr.read()}")
        def play(sink: str) -> None:
            players.append(subprocess.Popen(
                ["sh", "-c", f"while :; do paplay --device={sink} '{wav}' || exit; done"],
                env=server.client_env, stdin=subprocess.DEVNULL))

        for phase in phases:
            if phase in ("call", "outage") and not players:
                play("caller_line")
                play("agent_mic_in")
                time.sleep(3.0)
            w0, (c0, per0), s0 = time.monotonic(), tree_ticks(app.pid), sum(map(proc_ticks, server.pids()))
            if phase == "outage":
                time.sleep(5.0)
                module = next(ln.split("\t")[0] for ln in (server.pactl("list", "short", "modules") or "").splitlines()
                              if "sink_name=caller_line" in ln)
                server.pactl("unload-module", module)
                lost_at = time.monotonic() - w0
                time.sleep(10.0)
                server.pactl("load-module", "module-null-sink", "sink_name=caller_line", "rate=48000", "channels=2")
                play("caller_line")
                print(f"  outage: caller_line unloaded {lost_at:.1f} s into the phase, loaded again 10 s later")
                time.sleep(max(0.0, seconds - (time.monotonic() - w0)))
            else:
                time.sleep(seconds)
            w1, (c1, per1), s1 = time.monotonic(), tree_ticks(app.pid), sum(map(proc_ticks, server.pids()))
            wall = w1 - w0
            pct = (c1 - c0) / TCK / wall * 100
            print(f"  {phase:<5} {wall:5.1f} s: {app_kind} process tree {pct:.2f} % of one core "
                  f"(server {(s1 - s0) / TCK / wall * 100:.2f} %, not included)")
            for key in sorted(per1, key=lambda k: per0.get(k, 0) - per1[k]):
                d = per1[key] - per0.get(key, 0)
                if d > 0:
                    print(f"      {key:<40} {d / TCK / wall * 100:6.2f} %")
    finally:
        for p in players:
            p.kill()
            p.wait()
        app.send_signal(signal.SIGINT)
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
    if "outage" in phases:
        print("  listen's records (no_audio, call_state, prompt):")
        for line in out_path.read_text().splitlines():
            rec = json.loads(line)
            if rec["event"] in ("no_audio", "call_state", "prompt"):
                keep = {k: rec[k] for k in ("t", "event", "channel", "state", "since", "lost_s", "protocol", "step")
                        if k in rec}
                print(f"      {json.dumps(keep)}")


def open_idle(server: Server, seconds: float) -> None:
    os.environ.update({k: server.client_env[k] for k in ("PULSE_SERVER", "PULSE_CLIENTCONFIG")})
    os.environ.pop("PULSE_SOURCE", None)
    sys.path.insert(0, str(ROOT))
    import sounddevice as sd

    from softphone_assist.audio.backends import SoundDeviceBackend
    from softphone_assist.audio.capture import LiveCapture
    from softphone_assist.audio.libpulse import PulseBackend

    sd._terminate()  # PortAudio lists the ALSA 'pulse' device only if a server answered at init
    sd._initialize()

    def threads() -> dict[str, tuple[str, int]]:
        out = {}
        for t in os.listdir("/proc/self/task"):
            st = _stat(f"/proc/self/task/{t}/stat")
            if st is not None:
                out[t] = (st[0], int(st[1][11]) + int(st[1][12]))
        return out

    print(f"\n{server.kind}: opening caller_line.monitor + agent_mic_in.monitor, nothing playing")
    for name, backend in (("libpulse", PulseBackend(SoundDeviceBackend())), ("ALSA pulse PCM", SoundDeviceBackend())):
        t0, w0 = threads(), time.monotonic()
        cap = LiveCapture("caller_line.monitor", "agent_mic_in.monitor", backend=backend)
        cap.start()
        first = None
        while time.monotonic() - w0 < seconds:
            cap.read_available()
            if first is None and all(st.state == "running" for st in cap.stats()):
                first = time.monotonic() - w0
            time.sleep(0.1)
        t1, wall = threads(), time.monotonic() - w0
        cap.close()
        when = "not within the run" if first is None else f"after {first:.2f} s"
        print(f"  {name}: first block of both {when}; CPU per thread over {wall:.1f} s:")
        for tid, (tname, ticks) in sorted(t1.items()):
            d = ticks - t0.get(tid, (tname, 0))[1]
            if d:
                print(f"      {tid} {tname:<16} {d / TCK:5.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", choices=("pulseaudio", "pipewire", "both"), default="both")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--phase", choices=("idle", "call", "outage", "both", "all"), default="both")
    ap.add_argument("--open-idle", action="store_true", help="CPU while idle monitors are opened (see doc)")
    ap.add_argument("--app", choices=("listen", "run", "both"), default="listen",
                    help="listen (headless), run (the overlay app, on a private Xvfb display), or both")
    ap.add_argument("extra", nargs="*", help="more `listen` options (after --)")
    args = ap.parse_args()
    kinds = ["pulseaudio", "pipewire"] if args.server == "both" else [args.server]
    phases = {"both": ["idle", "call"], "all": ["idle", "call", "outage"]}.get(args.phase, [args.phase])
    print(f"CPU of the whole listen process tree, {os.cpu_count()} cores, CLK_TCK {TCK}")
    for kind in kinds:
        if shutil.which(kind) is None:
            print(f"\n{kind}: not installed, skipped")
            continue
        root = Path(tempfile.mkdtemp(prefix=f"bench-cpu-{kind}-"))
        server = Server(kind, root)
        try:
            server.start()
            if args.open_idle:
                open_idle(server, 3.0 if args.seconds == 60.0 else args.seconds)
            else:
                for app_kind in ("listen", "run") if args.app == "both" else (args.app,):
                    if app_kind == "run":
                        xvfb, display = start_xvfb()
                        try:
                            measure(server, args.seconds, phases, args.extra, "run", display)
                        finally:
                            xvfb.terminate()
                            xvfb.wait(timeout=10)
                    else:
                        measure(server, args.seconds, phases, args.extra)
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
