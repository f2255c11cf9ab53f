"""The one private sound-server rig for tests and benchmarks: PulseAudio, or PipeWire +
pipewire-pulse + WirePlumber (with a private D-Bus session bus), each in its own XDG_RUNTIME_DIR, so
nothing of the machine's own audio is touched.

    server = SoundServer("pipewire", tmp_dir); server.start(); ...; server.stop()
    with server.as_default(): ...  # this process's PortAudio/libpulse talk to it

start() loads null sinks (default: `caller_line`, 48 kHz stereo like a softphone's output, and
`agent_mic_in`, 48 kHz mono); their monitors are the sources a test records. `client_env` is the
whole environment a client process needs, `client_vars` just the PULSE_* part.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

KINDS = ("pulseaudio", "pipewire")
TOOLS = {"pulseaudio": ("pulseaudio", "pactl", "paplay", "parecord"),
         "pipewire": ("pipewire", "pipewire-pulse", "wireplumber", "dbus-daemon", "pactl", "paplay", "parecord")}
DEFAULT_SINKS = {"caller_line": 2, "agent_mic_in": 1}


def why_not(kind: str = "pulseaudio", *, alsa_pulse: bool = False) -> str | None:
    """None if the server `kind` can run here (and, with alsa_pulse, PortAudio can reach it through
    ALSA's `pulse` device); else why not, with the install command (for a skip reason)."""
    missing = [t for t in TOOLS[kind] if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (./setup.sh test installs them)"
    if alsa_pulse and not list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")):
        return "the ALSA pulse plugin is missing (apt-get install -y libasound2-plugins)"
    return None


def reinit_portaudio() -> None:
    """PortAudio lists ALSA's `pulse` device only if a server answered when it was initialised."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # parecord flushes and exits on SIGTERM
    for p in reversed(procs):
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    procs.clear()


class SoundServer:
    def __init__(self, kind: str, root: Path, sinks: Mapping[str, int] | None = None, rate: int = 48000) -> None:
        self.kind, self.root, self.rate = kind, root, rate
        self.sinks = dict(DEFAULT_SINKS if sinks is None else sinks)  # name -> channels
        self.procs: list[subprocess.Popen[bytes]] = []
        self.recorders: list[subprocess.Popen[bytes]] = []
        self.players: dict[str, subprocess.Popen[bytes]] = {}
        for d in ("xdg", "home", "state", "config"):
            (root / d).mkdir(parents=True, exist_ok=True, mode=0o700)
        (root / "client.conf").write_text("autospawn = no\n")
        # PulseAudio's socket is ours to place (short, and where a chroot test expects it: ROOT/native);
        # pipewire-pulse puts its own in the runtime dir
        self.sock = root / "native" if kind == "pulseaudio" else root / "xdg" / "pulse" / "native"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "PIPEWIRE_"))}
        base.pop("DISPLAY", None)
        self.env = {**base, "HOME": str(root / "home"), "XDG_RUNTIME_DIR": str(root / "xdg"),
                    "XDG_CONFIG_HOME": str(root / "config"), "XDG_STATE_HOME": str(root / "state"),
                    "PULSE_CLIENTCONFIG": str(root / "client.conf")}
        self.client_vars = {"PULSE_SERVER": f"unix:{self.sock}", "PULSE_CLIENTCONFIG": str(root / "client.conf")}
        self.client_env = {**self.env, **self.client_vars}

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(self.root / f"{Path(argv[0]).name}.log", "ab") as log:  # the child keeps its own copy
            # its own session: a Ctrl-C on the test run does not hit it before our teardown does
            p = subprocess.Popen(argv, env=env or self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True)
        self.procs.append(p)
        return p

    def start(self) -> None:
        """Start the server with its null sinks; RuntimeError (naming the logs) if it fails."""
        if self.kind == "pulseaudio":
            self.sock.unlink(missing_ok=True)  # left by an earlier run in a reused directory
            self.server = self._spawn([
                "pulseaudio", "--daemonize=no", "--system=false", "--exit-idle-time=-1", "-n",
                "--use-pid-file=no", "--realtime=no", "--high-priority=no", "--log-target=stderr",
                "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.sock}"])
        else:
            # WirePlumber needs a session bus: a private one, in the private runtime dir
            bus = self.root / "xdg" / "bus"
            self._spawn(["dbus-daemon", "--session", f"--address=unix:path={bus}", "--nofork", "--nopidfile"])
            self.env["DBUS_SESSION_BUS_ADDRESS"] = self.client_env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
            deadline = time.monotonic() + 10
            while not bus.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.server = self._spawn(["pipewire"])
            time.sleep(0.3)
            self._spawn(["wireplumber"])
            self._spawn(["pipewire-pulse"])
        deadline = time.monotonic() + 15
        while self.pactl("info") is None:
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise RuntimeError(f"{self.kind} did not come up; see {self.root}/*.log")
            time.sleep(0.1)
        for name, channels in self.sinks.items():
            self.load_sink(name, channels)
        while not all(f"{s}.monitor" in (self.pactl("list", "short", "sources") or "") for s in self.sinks):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind}: no null-sink monitors")
            time.sleep(0.1)

    def pactl(self, *args: str, check: bool = False) -> str | None:
        """stdout of `pactl ARGS`; None when it fails (with check: AssertionError with its stderr)."""
        r = subprocess.run(["pactl", *args], env={**self.client_env, "LC_ALL": "C"}, capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 0 or not check, r.stderr
        return r.stdout if r.returncode == 0 else None

    def load_sink(self, name: str, channels: int) -> None:
        self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={self.rate}",
                   f"channels={channels}", check=True)

    def module_of(self, sink: str) -> str:
        """The index of the module that made null sink `sink` (to unload it: the device is unplugged)."""
        for line in (self.pactl("list", "short", "modules") or "").splitlines():
            if f"sink_name={sink} " in line + " ":
                return line.split("\t")[0]
        raise AssertionError(f"no module for {sink}")

    @contextmanager
    def as_default(self) -> Iterator[None]:
        """This process's clients (libpulse, PortAudio's ALSA `pulse`) use this server, then as before."""
        saved = {k: os.environ.get(k) for k in ("PULSE_SERVER", "PULSE_CLIENTCONFIG", "PULSE_SOURCE", "PULSE_SINK")}
        os.environ.update(self.client_vars)
        os.environ.pop("PULSE_SOURCE", None)
        os.environ.pop("PULSE_SINK", None)
        reinit_portaudio()
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            reinit_portaudio()

    def play_tone(self, sink: str, hz: float, seconds: float = 120.0) -> subprocess.Popen[bytes]:
        """paplay a sine of `hz` (amplitude 0.3, 16 kHz) into `sink`, replacing what played there."""
        wav = self.root / f"{sink}-{hz:g}.wav"
        if not wav.exists():
            t = np.arange(int(16000 * seconds)) / 16000
            sf.write(wav, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16000, subtype="PCM_16")
        self.stop_playing(sink)
        p = subprocess.Popen(["paplay", f"--device={sink}", str(wav)], env=self.client_env,
                             stdin=subprocess.DEVNULL)
        self.players[sink] = p
        self.procs.append(p)
        return p

    def stop_playing(self, sink: str) -> None:
        old = self.players.pop(sink, None)
        if old is not None and old.poll() is None:
            old.kill()
            old.wait()

    def keep_running(self, *sinks: str, settle_s: float = 0.0) -> None:
        """A null sink nobody records from runs in ~2 s blocks, so playback into it stalls up to 2 s
        and a stream moved onto its monitor waits as long (softphone-lab pitfall 8). A 20 ms reader
        per monitor keeps it in real time, as the softphone reading the mic sink does in a call.
        Without arguments: every sink. The first block can still be ~2 s long: settle_s waits it out."""
        for sink in sinks or tuple(self.sinks):
            self.procs.append(subprocess.Popen(
                ["parecord", "--raw", f"--device={sink}.monitor", "--latency-msec=20", "--rate=8000",
                 "--channels=1", "--format=s16le", os.devnull], env=self.client_env, stdin=subprocess.DEVNULL))
        time.sleep(settle_s)

    def record(self, source: str, path: Path) -> subprocess.Popen[bytes]:
        """parecord SOURCE as raw s16le mono at the server's rate, 20 ms latency, until
        stop_recorders(); returns once the first 50 ms have been written."""
        argv = ["parecord", "--raw", f"--device={source}", "--latency-msec=20", f"--rate={self.rate}",
                "--channels=1", "--format=s16le", str(path)]
        path.unlink(missing_ok=True)
        p = subprocess.Popen(argv, env=self.client_env, stdin=subprocess.DEVNULL)
        self.recorders.append(p)
        # attached only once audio arrives: parecord can take a while to start on a loaded machine
        deadline = time.monotonic() + 10.0
        while not (path.exists() and path.stat().st_size >= self.rate // 10):  # 50 ms of s16 mono
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"parecord {source} delivered no audio (exit {p.poll()})")
            time.sleep(0.01)
        return p

    def stop_recorders(self) -> None:
        _stop_all(self.recorders)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def stop(self) -> None:
        self.stop_recorders()
        self.players.clear()
        _stop_all(self.procs)
        self.sock.unlink(missing_ok=True)
