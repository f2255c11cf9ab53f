"""Helpers for the TTS tests and bench/bench_tts.py (no tests in here).

* Fake engines for the render worker: they run in the worker child, which imports this module
  by name (spawn passes the parent's sys.path, and pytest puts tests/ on it).
* PrivatePulse: our own PulseAudio daemon with null sinks, in its own runtime dir, so nothing
  clashes with other labs or a desktop server (the pattern of shared/e2e/softphone-lab `up`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from softphone_assist.speech.cache import RenderSpec
from softphone_assist.speech.errors import TtsEngineStuck
from softphone_assist.speech.voices import VoiceInfo

ZH_LINE = "非常抱歉,我这边听不清楚,请您大声一点,好吗?"
FAKE_RATE = 16000


# --------------------------------------------------------------------------------------------
# Fake engines (constructed in the worker child as factory(driver))
# --------------------------------------------------------------------------------------------
class ToneEngine:
    """0.5 s of 440 Hz per line. Texts that misbehave: CRASH exits the process, HANG sleeps for an
    hour, FAIL raises, STUCK reports a stuck engine, SILENT renders only silence."""

    name = "fake"
    version = "0"

    def __init__(self, driver: str | None = None) -> None:
        self.driver = driver

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("fake/zh", "Fake Mandarin", ("cmn",)),
                VoiceInfo("fake/en", "Fake English", ("en",))]

    def render(self, spec: RenderSpec, raw_path: Path) -> Path:
        import soundfile as sf

        if spec.text == "CRASH":
            os._exit(3)
        if spec.text == "HANG":
            time.sleep(3600)
        if spec.text == "FAIL":
            raise RuntimeError("engine refused the line")
        if spec.text == "STUCK":
            raise TtsEngineStuck("tts: fake engine stayed busy")
        if spec.text == "SILENT":
            sf.write(str(raw_path), np.zeros(FAKE_RATE, dtype=np.float32), FAKE_RATE)
            return raw_path
        t = np.arange(FAKE_RATE // 2) / FAKE_RATE
        sf.write(str(raw_path), 0.3 * np.sin(2 * np.pi * 440 * t), FAKE_RATE, subtype="PCM_16")
        return raw_path


class BrokenEngine:
    """Fails at start-up, like pyttsx3 without libespeak-ng."""

    def __init__(self, driver: str | None = None) -> None:
        raise OSError("libespeak-ng.so.1: cannot open shared object file")


# --------------------------------------------------------------------------------------------
# A private PulseAudio daemon
# --------------------------------------------------------------------------------------------
def pulseaudio_available() -> str | None:
    """None if pulseaudio, pactl and parecord exist; else why not (for a skip reason)."""
    missing = [t for t in ("pulseaudio", "pactl", "parecord") if shutil.which(t) is None]
    if missing:
        return (f"{', '.join(missing)} not installed "
                "(apt-get install -y pulseaudio pulseaudio-utils libasound2-plugins)")
    if not Path("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so").exists() and not list(
            Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")):
        return "the ALSA pulse plugin is missing (apt-get install -y libasound2-plugins)"
    return None


class PrivatePulse:
    """`pulseaudio` with null sinks under `root`, which it owns and removes on stop() (keep the
    path short: it holds a unix socket)."""

    def __init__(self, root: Path, sinks: dict[str, int], rate: int = 48000) -> None:
        self.root = root
        self.sinks = sinks  # name -> channels
        self.rate = rate
        self.socket = root / "native"
        self.proc: subprocess.Popen[bytes] | None = None
        self.recorders: list[subprocess.Popen[bytes]] = []
        self.keepalive: list[subprocess.Popen[bytes]] = []

    def client_env(self) -> dict[str, str]:
        return {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_CLIENTCONFIG": str(self.root / "client.conf")}

    def start(self, timeout: float = 10.0) -> None:
        for d in ("run", "state", "home", "xdg", "config"):
            (self.root / d).mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / "client.conf").write_text("autospawn = no\n")
        self.socket.unlink(missing_ok=True)
        dropped = ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        r = self.root
        env.update(HOME=str(r / "home"), XDG_RUNTIME_DIR=str(r / "xdg"), XDG_CONFIG_HOME=str(r / "config"),
                   PULSE_RUNTIME_PATH=str(r / "run"), PULSE_STATE_PATH=str(r / "state"),
                   PULSE_CLIENTCONFIG=str(r / "client.conf"))
        argv = ["pulseaudio", "--daemonize=no", "--system=false", "--exit-idle-time=-1", "-n",
                "--use-pid-file=no", "--realtime=no", "--high-priority=no", "--log-target=stderr",
                "--log-level=error",
                "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}"]
        for name, ch in self.sinks.items():
            argv += ["-L", f"module-null-sink sink_name={name} rate={self.rate} channels={ch}"]
        with open(r / "pulseaudio.log", "ab") as log:
            # its own session: a Ctrl-C on the test run does not hit it before our teardown does
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {(r / 'pulseaudio.log').read_text()[-2000:]}")
            if self.socket.exists() and all(s in self.pactl("list", "short", "sinks") for s in self.sinks):
                self._keep_sinks_running()
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pulseaudio did not come up within {timeout} s")

    def _keep_sinks_running(self) -> None:
        """A null sink nobody records from runs in ~2 s blocks, so playback into it stalls up to 2 s
        (softphone-lab pitfall 8). A 20 ms reader per monitor keeps it in real time, as the
        softphone reading the mic sink does in a call. The first block can still be ~2 s long."""
        for sink in self.sinks:
            self.keepalive.append(subprocess.Popen(
                ["parecord", "--raw", f"--device={sink}.monitor", "--latency-msec=20", "--rate=8000",
                 "--channels=1", "--format=s16le", os.devnull],
                env={**os.environ, **self.client_env()}, stdin=subprocess.DEVNULL))
        time.sleep(2.5)

    def pactl(self, *args: str) -> str:
        r = subprocess.run(["pactl", *args], env={**os.environ, **self.client_env(), "LC_ALL": "C"},
                           capture_output=True, text=True, timeout=5)
        return r.stdout

    def record(self, source: str, path: Path) -> subprocess.Popen[bytes]:
        """parecord SOURCE as raw s16le mono at the daemon's rate, 20 ms latency, until stop_recorders;
        returns once the first 50 ms have been written."""
        argv = ["parecord", "--raw", f"--device={source}", "--latency-msec=20", f"--rate={self.rate}",
                "--channels=1", "--format=s16le", str(path)]
        path.unlink(missing_ok=True)
        p = subprocess.Popen(argv, env={**os.environ, **self.client_env()}, stdin=subprocess.DEVNULL)
        self.recorders.append(p)
        # attached only once audio arrives: parecord can take a while to start on a loaded machine
        deadline = time.monotonic() + 10.0
        while not (path.exists() and path.stat().st_size >= self.rate // 10):  # 50 ms of s16 mono
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"parecord {source} delivered no audio (exit {p.poll()})")
            time.sleep(0.01)
        return p

    def stop_recorders(self) -> None:
        for p in self.recorders:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # parecord flushes and exits on SIGTERM
        for p in self.recorders:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.recorders.clear()

    def stop(self) -> None:
        self.stop_recorders()
        self.recorders, self.keepalive = self.keepalive, []
        self.stop_recorders()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)  # the daemon's dirs, socket and log


def reinit_portaudio() -> None:
    """PortAudio lists ALSA's `pulse` device only if a server answered when it was initialised."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def read_raw(path: Path) -> np.ndarray:
    return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0


def speech_span(x: np.ndarray, rate: int, floor_dbfs: float = -40.0,
                win_s: float = 0.02) -> tuple[float, float]:
    """(start, end) seconds of the part whose 20 ms RMS is above floor_dbfs; (0, 0) if none."""
    n = int(win_s * rate)
    frames = x[: len(x) // n * n].reshape(-1, n)
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(db > floor_dbfs)
    if loud.size == 0:
        return (0.0, 0.0)
    return (loud[0] * win_s, (loud[-1] + 1) * win_s)


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))
