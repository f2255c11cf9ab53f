"""PulseAudio / PipeWire sources through `pactl`: the monitors that PortAudio does not list.

Recording uses libpulse (libpulse.py) when it can be loaded; what follows is the ALSA fallback
and the listing (`softphone-assist devices`), which still asks `pactl` once at start.

Debian's PortAudio 19.6 has no PulseAudio host API. It reaches the sound server through the ALSA
`pulse` PCM of libasound2-plugins, which records the server's default source unless
`PULSE_SOURCE` names another one. libpulse reads that variable when the PCM is opened (each
snd_pcm_open makes a new context), so every stream can record its own source: set the variable,
open, put it back (`pulse_source_env`). Checked on PulseAudio 16.1: two streams opened this way
from two null-sink monitors, fed 440 Hz and 1000 Hz by paplay, each carried its own tone.

Two more facts seen on PulseAudio 16.1 shape the capture's health checks:
- when a source goes away (its sink module unloaded, a headset unplugged) the server moves the
  recording streams to the default source: PortAudio reports no error and keeps delivering audio
  from *another* device. Only the source list tells; a source that comes back has a new index.
- opening with PULSE_SOURCE naming a missing source fails (ALSA error -5, "No such entity").
- a stream opened this way is not pinned to its source: it follows the server's default. With the
  softphone lab's default source `caller_line.monitor`, unloading that sink and loading it again
  moved our *agent* stream (recording `agent_mic`) onto the new caller monitor. The ALSA plugin
  offers no PA_STREAM_DONT_MOVE, so the capture verifies instead: it learns which source output is
  each stream's (`own_source_outputs`, ours = this process's, new after the open) and checks, on
  every source or source-output event, that it still records the source it was opened for.

`pactl` is run with LC_ALL=C because its long listing is translated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PulseSource:
    index: int
    name: str
    description: str = ""
    monitor_of: str | None = None  # the sink whose output this source carries; None: a microphone
    sample_spec: str = ""  # e.g. "s16le 2ch 48000Hz"

    @property
    def is_monitor(self) -> bool:
        return self.monitor_of is not None


def _pactl(args: list[str], timeout: float) -> str | None:
    """stdout of `pactl ARGS`, or None when pactl is missing, fails or no server answers."""
    exe = shutil.which("pactl")
    if exe is None:
        return None
    try:
        r = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "LC_ALL": "C"}, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def sink_names(timeout: float = 2.0) -> list[str] | None:
    """Sink names of the running PulseAudio/PipeWire server; None without pactl or server."""
    text = _pactl(["list", "short", "sinks"], timeout)
    if text is None:
        return None
    return [p[1] for p in (ln.split("\t") for ln in text.splitlines()) if len(p) >= 2]


def parse_short_sources(text: str) -> dict[str, int]:
    """`pactl list short sources` (index TAB name TAB driver TAB spec TAB state) -> {name: index}."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip().isdigit():
            out[parts[1].strip()] = int(parts[0])
    return out


def parse_sources(text: str) -> list[PulseSource]:
    """`LC_ALL=C pactl list sources` -> sources in server order (unknown fields are skipped)."""
    found: list[PulseSource] = []
    cur: dict[str, str] | None = None

    def flush() -> None:
        if cur is not None and "name" in cur:
            monitor = cur.get("monitor", "n/a")
            found.append(PulseSource(
                index=int(cur["index"]), name=cur["name"], description=cur.get("description", ""),
                monitor_of=None if monitor in ("", "n/a") else monitor, sample_spec=cur.get("spec", ""),
            ))

    fields = {"Name": "name", "Description": "description", "Monitor of Sink": "monitor",
              "Sample Specification": "spec"}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Source #"):
            flush()
            cur = {"index": line[len("Source #"):].strip()}
        elif cur is not None and raw.startswith("\t") and not raw.startswith("\t\t") and ":" in line:
            key, _, value = line.partition(":")
            if key in fields:
                cur[fields[key]] = value.strip()
    flush()
    return found


def list_sources(timeout: float = 2.0) -> list[PulseSource]:
    """All sources of the running server; [] without pactl or server (not an error: no Pulse)."""
    text = _pactl(["list", "sources"], timeout)
    return [] if text is None else parse_sources(text)


def source_indexes(timeout: float = 0.5) -> dict[str, int] | None:
    """{source name: index} now, or None when the server could not be asked (unknown, not empty).

    The capture calls this about once a second from the main loop (about 6 ms per call here).
    """
    text = _pactl(["list", "short", "sources"], timeout)
    return None if text is None else parse_short_sources(text)


def parse_source_outputs(text: str, pid: int) -> dict[int, int]:
    """`LC_ALL=C pactl list source-outputs` -> {source output index: source index} of process `pid`."""
    out: dict[int, int] = {}
    index: int | None = None
    source: int | None = None
    owner: int | None = None

    def flush() -> None:
        if index is not None and source is not None and owner == pid:
            out[index] = source

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Source Output #"):
            flush()
            index, source, owner = int(line[len("Source Output #"):]), None, None
        elif line.startswith("Source:") and raw.startswith("\t") and not raw.startswith("\t\t"):
            value = line[len("Source:"):].strip()
            source = int(value) if value.isdigit() else None
        elif line.startswith("application.process.id = "):
            value = line.partition("=")[2].strip().strip('"')
            owner = int(value) if value.isdigit() else None
    flush()
    return out


def own_source_outputs(timeout: float = 0.5) -> dict[int, int] | None:
    """{source output index: source index} of this process's recording streams, or None when the
    server could not be asked."""
    text = _pactl(["list", "source-outputs"], timeout)
    return None if text is None else parse_source_outputs(text, os.getpid())


# os.environ is process-wide and glibc's getenv is not safe against a concurrent setenv: every
# module that sets PULSE_* around an open (capture here, playback from the TTS thread) should
# hold this lock for the whole set-open-restore.
ENV_LOCK = threading.Lock()


@contextmanager
def pulse_env(variable: str, value: str) -> Iterator[None]:
    """`variable` (PULSE_SOURCE or PULSE_SINK) = value while a stream on the ALSA `pulse` PCM is
    opened, then as it was. Keep the block to the open call: libpulse reads the variable only when
    a context is created, so the running stream keeps its source or sink afterwards.
    """
    with ENV_LOCK:
        old = os.environ.get(variable)
        os.environ[variable] = value
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = old


def pulse_source_env(source: str) -> AbstractContextManager[None]:
    return pulse_env("PULSE_SOURCE", source)


class SourceEvents:
    """`pactl subscribe` as a child process, read without blocking from the main loop.

    A vanished source must be noticed within a timer tick, not a poll period: the server moves
    the stream to the default source at once, and until we notice, that other device's audio is
    taken for the caller's (seen: about 0.5 s of it with a 1 s poll). No thread: the pipe is
    non-blocking and `changed()` drains it.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail = b""
        exe = shutil.which("pactl")
        if exe is None:
            return
        try:
            self._proc = subprocess.Popen(
                [exe, "subscribe"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C"},
            )
        except OSError:
            return
        assert self._proc.stdout is not None
        os.set_blocking(self._proc.stdout.fileno(), False)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def changed(self) -> bool:
        """True when a source appeared or vanished, or a recording stream changed (moved…)."""
        if self._proc is None or self._proc.stdout is None:
            return False
        chunks = []
        while True:
            try:
                data = os.read(self._proc.stdout.fileno(), 65536)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                break
            chunks.append(data)
        text = self._tail + b"".join(chunks)
        lines = text.split(b"\n")
        self._tail = lines.pop()
        return any((b" on source #" in ln and (b"'new'" in ln or b"'remove'" in ln))
                   or b" on source-output #" in ln for ln in lines)

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
