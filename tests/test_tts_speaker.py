"""Speaker: speak / skip / supersede / fail, as events from poll(); the player is a fake here
(test_tts_pulse.py plays for real), the worker is real with the fake tone engine."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from softphone_assist.audio.playback import OutputDeviceError, OutputResult, OutputTarget, PlaybackResult
from softphone_assist.core.errors import UserError
from softphone_assist.speech.render import LineRenderer
from softphone_assist.speech.speaker import (
    Speaker,
    SpeechEvent,
    SpeechFailed,
    SpeechFinished,
    SpeechStarted,
    TtsMode,
)

OUTS = (OutputTarget("agent_mic_in", 0, "agent_mic_in"), OutputTarget("Headset", 3))


class FakePlayer:
    def __init__(self, clip: np.ndarray, rate: int, targets: Sequence[OutputTarget]) -> None:
        self.clip, self.rate, self.targets = clip, rate, tuple(targets)
        self.started = self.cancelled = False
        self.played = 0
        self.result: PlaybackResult | None = None

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def poll(self) -> PlaybackResult | None:
        if self.result is None and (self.cancelled or self.played >= len(self.clip)):
            frames = min(self.played, len(self.clip))
            self.result = PlaybackResult(frames, self.rate, self.cancelled,
                                         tuple(OutputResult(t.label, frames) for t in self.targets), 1.0, 2.0)
        return self.result


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.renderer = LineRenderer(tmp_path, engine_factory="test_tts_support:ToneEngine")
        self.players: list[FakePlayer] = []
        self.speaker = Speaker(self.renderer, OUTS, "fake/zh", rate=150, player=self.make)

    def make(self, clip: np.ndarray, rate: int, targets: Sequence[OutputTarget]) -> FakePlayer:
        p = FakePlayer(clip, rate, targets)
        self.players.append(p)
        return p

    def poll_until(self, kind: type, timeout: float = 30.0) -> list[SpeechEvent]:
        events: list[SpeechEvent] = []
        deadline = time.monotonic() + timeout
        while not any(isinstance(e, kind) for e in events):
            assert time.monotonic() < deadline, f"no {kind.__name__} in {events}"
            events += self.speaker.poll()
            time.sleep(0.01)
        return events

    def warm(self, text: str) -> None:
        self.renderer.render_blocking(self.speaker.spec(text), 30)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.speaker.close()
    harness.renderer.close()


def test_uncached_line_starts_after_render_and_reports_the_end(h: Harness) -> None:
    rid = h.speaker.speak("一")
    assert h.players == [] and h.speaker.busy  # nothing plays until the worker has rendered it
    events = h.poll_until(SpeechStarted)
    assert events == [SpeechStarted(rid, "一", 0.5)]
    p = h.players[0]
    assert p.started and p.targets == OUTS and p.rate == 16000 and len(p.clip) == 8000
    assert h.speaker.poll() == []
    p.played = 8000
    assert h.speaker.poll() == [SpeechFinished(rid, "一", 8000, 16000, False, "done", 2.0)]
    assert not h.speaker.busy
    assert h.speaker.poll() == []


def test_cached_line_starts_inside_speak(h: Harness) -> None:
    h.warm("二")
    rid = h.speaker.speak("二")
    assert len(h.players) == 1 and h.players[0].started  # before any poll
    assert h.speaker.poll() == [SpeechStarted(rid, "二", 0.5)]
    h.players[0].played = 8000
    (finished,) = h.speaker.poll()
    assert finished == SpeechFinished(rid, "二", 8000, 16000, False, "done", 2.0)
    assert finished.seconds == 0.5


def test_skip_reports_cancelled_with_what_was_played(h: Harness) -> None:
    h.warm("三")
    rid = h.speaker.speak("三")
    h.players[0].played = 3200
    h.speaker.skip()
    assert h.players[0].cancelled
    assert h.speaker.poll() == [SpeechStarted(rid, "三", 0.5),
                                SpeechFinished(rid, "三", 3200, 16000, True, "skipped", 2.0)]


def test_skip_before_the_render_is_done(h: Harness) -> None:
    rid = h.speaker.speak("四")
    h.speaker.skip()
    assert h.speaker.poll() == [SpeechFinished(rid, "四", 0, 0, True, "skipped", None)]
    assert not h.speaker.busy
    h.renderer.worker.wait(h.renderer.render(h.speaker.spec("四")), 30)
    assert h.players == []  # the render finished later but nothing played
    assert h.renderer.cache.lookup(h.speaker.spec("四")) is not None  # yet the cache is warm


def test_a_new_line_supersedes_the_current_one(h: Harness) -> None:
    h.warm("五")
    h.warm("六")
    first = h.speaker.speak("五")
    h.players[0].played = 1600
    second = h.speaker.speak("六")
    assert h.players[0].cancelled and h.players[1].started
    assert h.speaker.poll() == [
        SpeechStarted(first, "五", 0.5), SpeechStarted(second, "六", 0.5),
        SpeechFinished(first, "五", 1600, 16000, True, "superseded", 2.0),
    ]
    h.players[1].played = 8000
    assert h.speaker.poll() == [SpeechFinished(second, "六", 8000, 16000, False, "done", 2.0)]


def test_close_stops_the_line(h: Harness) -> None:
    h.warm("十")
    rid = h.speaker.speak("十")
    h.players[0].played = 800
    h.speaker.close()
    assert h.players[0].cancelled and not h.speaker.busy
    assert h.speaker.poll() == [SpeechStarted(rid, "十", 0.5),
                                SpeechFinished(rid, "十", 800, 16000, True, "closed", 2.0)]


def test_render_failure_is_an_event_not_an_exception(h: Harness) -> None:
    rid = h.speaker.speak("FAIL")
    events = h.poll_until(SpeechFailed)
    assert events == [SpeechFailed(rid, "FAIL", "RuntimeError: engine refused the line")]
    assert not h.speaker.busy and h.players == []


def test_output_failure_is_an_event(h: Harness) -> None:
    def broken(clip: np.ndarray, rate: int, targets: Sequence[OutputTarget]) -> FakePlayer:
        raise OutputDeviceError("tts.outputs agent_mic_in: cannot open for playback: boom")

    h.warm("七")
    h.speaker._player = broken
    rid = h.speaker.speak("七")
    message = "tts.outputs agent_mic_in: cannot open for playback: boom"
    assert h.speaker.poll() == [SpeechFailed(rid, "七", message)]


def test_prerender_uses_the_speakers_voice_and_rate(h: Harness) -> None:
    futures = h.speaker.prerender(["八", "九"])
    for f in futures:
        h.renderer.worker.wait(f, 30)
    assert all(h.renderer.cache.lookup(h.speaker.spec(t)) for t in ("八", "九"))


def test_settings_are_checked_at_construction(tmp_path: Path) -> None:
    r = LineRenderer(tmp_path, engine_factory="test_tts_support:ToneEngine")
    with pytest.raises(UserError, match=r"tts\.rate: 20 is outside"):
        Speaker(r, OUTS, "fake/zh", rate=20)
    with pytest.raises(UserError, match=r"tts\.outputs: choose at least one output"):
        Speaker(r, [], "fake/zh")
    r.close()


@pytest.mark.parametrize(("text", "mode"), [("off", TtsMode.OFF), ("on_request", TtsMode.ON_REQUEST),
                                            ("On-Request", TtsMode.ON_REQUEST), (" AUTO ", TtsMode.AUTO)])
def test_mode_parse(text: str, mode: TtsMode) -> None:
    assert TtsMode.parse(text) is mode


def test_mode_parse_error_names_the_setting() -> None:
    with pytest.raises(UserError, match=r"^tts.mode: 'always' is not one of off, on_request, auto$"):
        TtsMode.parse("always")
