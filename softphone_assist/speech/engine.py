"""pyttsx3 behind a small interface. Runs ONLY inside the render worker process.

pyttsx3 must live in one thread of one process: shared across threads it hangs or speaks once
(pyttsx3 issues), and espeak-ng can be initialised only once per process. So the worker owns
the one engine, and a wedged engine is fixed by restarting the worker, not by re-initialising.

pyttsx3 2.99's espeak driver runs espeak-ng in AUDIO_OUTPUT_RETRIEVAL (asynchronous) mode and
its run loop is racy. Seen here (Debian 12, espeak-ng 1.51), 60-150 renders per case:
  * `runAndWait()` may return before the WAV is written (first call of a process), so we wait
    for "finished-utterance" ourselves;
  * a new rate was silently dropped in ~1/3 of renders after the first: `runAndWait` queues
    `endLoop`, whose `stop()` calls `espeak_Cancel()` while the rate change still sits in
    espeak's command FIFO (so `IsPlaying()` is true), which throws the change away; now and
    then the text itself was cancelled (0-frame WAV).
  Fix: a warm-up render at start (pyttsx3 then runs property changes at once instead of
  queueing them), wait until espeak is idle after setting properties and after each render,
  and check that the rate and voice really took. 300 renders alternating voices and rates:
  all right.
Other drivers (SAPI5, NSSpeechSynthesizer) take the generic path: wait for "finished-utterance"
or for the output file to stop growing.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from softphone_assist.speech.cache import RenderSpec
from softphone_assist.speech.errors import TtsEngineStuck, TtsError
from softphone_assist.speech.voices import VoiceInfo

UTTERANCE_TIMEOUT_S = 20.0  # one line renders in ~15 ms (espeak) to ~1 s (SAPI); this is a hang
_IDLE_TIMEOUT_S = 5.0
_POLL_S = 0.002
_EMPTY_RETRIES = 2  # renders of a line that came out empty before giving up (the race in the docstring)


class SpeechEngine(Protocol):
    """What the worker needs from an engine; tests substitute fakes for failure cases."""

    name: str  # driver name, part of the cache key
    version: str

    def voices(self) -> list[VoiceInfo]: ...

    def render(self, spec: RenderSpec, raw_path: Path) -> Path:
        """Render `spec` to a file at or next to `raw_path` (same stem); returns the file written."""
        ...


class Pyttsx3Engine:
    def __init__(self, driver: str | None = None) -> None:
        try:
            import pyttsx3
        except ImportError as e:
            raise TtsError(f"tts: pyttsx3 is not installed ({e}); pip install pyttsx3") from None
        try:
            self._tts: Any = pyttsx3.init(driver)
        except Exception as e:  # the driver's own exception types vary: OSError, RuntimeError, COMError...
            hint = " (Linux: apt-get install libespeak-ng1)" if (driver or "espeak") == "espeak" else ""
            raise TtsError(f"tts: pyttsx3 could not start its speech engine{hint}: {e}") from None
        self.name: str = getattr(self._tts, "driver_name", None) or (driver or "default")
        self.version = ""
        self._espeak: Any = None
        if self.name == "espeak":
            from pyttsx3.drivers import _espeak

            self._espeak = _espeak
            with contextlib.suppress(Exception):
                self.version = (_espeak.Info() or b"").decode("utf-8", "replace").split()[0]
        self._finished = threading.Event()  # set from espeak's synthesis thread
        self._errors: list[str] = []
        self._tts.connect("finished-utterance", self._on_finished)
        self._tts.connect("error", self._on_error)
        if self._espeak is not None:
            self._warm_up()

    # -- callbacks (may run on the engine's own thread) --------------------------------------
    def _on_finished(self, completed: bool = True, **_: object) -> None:
        if completed:
            self._finished.set()

    def _on_error(self, exception: BaseException | None = None, **_: object) -> None:
        self._errors.append(f"{type(exception).__name__}: {exception}" if exception else "unknown error")

    # -- interface -----------------------------------------------------------------------------
    def voices(self) -> list[VoiceInfo]:
        out = []
        for v in self._tts.getProperty("voices") or []:
            langs = tuple(
                lang.decode("utf-8", "replace") if isinstance(lang, bytes) else str(lang)
                for lang in (getattr(v, "languages", None) or [])
            )
            out.append(VoiceInfo(id=str(v.id), name=str(v.name or v.id), languages=langs,
                                 gender=getattr(v, "gender", None) or None))
        return out

    def render(self, spec: RenderSpec, raw_path: Path) -> Path:
        if self.name == "nsss":
            raw_path = raw_path.with_suffix(".aiff")  # NSSpeechSynthesizer writes AIFF whatever the name
        # espeak's endLoop race (above) can still cancel the text on a busy machine: a 0-frame WAV with
        # no error (seen in a test run while other jobs loaded both cores). The same line rendered
        # again comes out whole, so an empty result is retried before it is called a failure.
        attempts = _EMPTY_RETRIES + 1 if self._espeak is not None else 1
        for _ in range(attempts):
            self._render_once(spec, raw_path)
            if raw_path.exists() and raw_path.stat().st_size > 44:
                return raw_path
        raise TtsError(f"tts: voice {spec.voice_id!r} produced no audio for {spec.text[:40]!r}")

    def _render_once(self, spec: RenderSpec, raw_path: Path) -> None:
        self._errors.clear()
        self._finished.clear()
        with contextlib.redirect_stdout(io.StringIO()):  # the espeak driver prints "Audio saved to ..."
            self._tts.setProperty("voice", spec.voice_id)
            self._raise_errors(f"voice {spec.voice_id!r} cannot be selected")
            self._tts.setProperty("rate", spec.rate)
            self._tts.setProperty("volume", spec.volume)
            if self._espeak is not None:
                self._wait_idle()
                self._check_applied(spec)
            self._tts.save_to_file(spec.text, str(raw_path))
            self._tts.runAndWait()
            self._wait_finished(raw_path)
            if self._espeak is not None:
                self._wait_idle()
        self._raise_errors(f"rendering {spec.text[:40]!r}")

    # -- helpers ---------------------------------------------------------------------------------
    def _warm_up(self) -> None:
        """One throwaway render: until its loop has run once, pyttsx3 queues property changes."""
        import tempfile

        with tempfile.TemporaryDirectory() as d, contextlib.redirect_stdout(io.StringIO()):
            self._tts.save_to_file("a", str(Path(d) / "warmup.wav"))
            self._tts.runAndWait()
            self._finished.wait(UTTERANCE_TIMEOUT_S)
            self._wait_idle()
        self._finished.clear()
        self._errors.clear()

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + _IDLE_TIMEOUT_S
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise TtsEngineStuck(f"tts: espeak-ng stayed busy for {_IDLE_TIMEOUT_S:.0f} s")
            time.sleep(_POLL_S)

    def _check_applied(self, spec: RenderSpec) -> None:
        rate = self._tts.getProperty("rate")
        voice = str(self._tts.getProperty("voice") or "").lower()
        if rate != spec.rate:
            raise TtsEngineStuck(f"tts: espeak-ng did not apply rate {spec.rate} (it reports {rate})")
        wanted = spec.voice_id.lower()
        if voice != wanted and voice.rsplit("/", 1)[-1] != wanted.rsplit("/", 1)[-1]:
            raise TtsEngineStuck(f"tts: espeak-ng did not apply voice {spec.voice_id!r} "
                                 f"(it reports {voice!r})")

    def _wait_finished(self, path: Path) -> None:
        if self._finished.wait(UTTERANCE_TIMEOUT_S if self._espeak is not None else 0.0):
            return
        if self._espeak is not None:
            raise TtsEngineStuck(f"tts: espeak-ng did not finish a line within {UTTERANCE_TIMEOUT_S:.0f} s")
        # Generic drivers: SAPI's file render is synchronous and may not report; wait for the
        # file to exist and stop growing.
        deadline = time.monotonic() + UTTERANCE_TIMEOUT_S
        last = -1
        while time.monotonic() < deadline and not self._finished.is_set():
            size = path.stat().st_size if path.exists() else -1
            if size > 44 and size == last:
                return
            last = size
            time.sleep(0.2)
        if not self._finished.is_set():
            raise TtsEngineStuck(f"tts: {self.name} did not finish a line within {UTTERANCE_TIMEOUT_S:.0f} s")

    def _raise_errors(self, what: str) -> None:
        if self._errors:
            msg = "; ".join(self._errors)
            self._errors.clear()
            raise TtsError(f"tts: {what}: {msg}")
