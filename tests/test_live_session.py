"""LiveSession, the live app's heartbeat, with a real Pipeline and stand-ins for the devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pytest

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.autocall import AutoCallDetector
from softphone_assist.core.events import CallEvent, ShowPrompt
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.engine import EngineOptions
from softphone_assist.core.script.loader import load_script
from softphone_assist.live.session import LiveSession

RATE = 16000
BLOCK = 320  # 20 ms, the capture block


class Audio:
    """Hands out a prepared caller signal 20 ms per read, like a capture device."""

    def __init__(self, caller: np.ndarray) -> None:
        self.caller, self.pos = caller, 0

    def read_available(self) -> list:
        if self.pos >= len(self.caller):
            return []
        chunk = self.caller[self.pos:self.pos + BLOCK]
        self.pos += BLOCK
        return [("caller", chunk)]

    def problems(self) -> list[str]:
        return []


@dataclass
class Cmd:
    kind: str
    number: str | None = None


class Commands:
    def __init__(self) -> None:
        self.queue: list[Cmd] = []

    def poll(self) -> list[Cmd]:
        out, self.queue = self.queue, []
        return out


@dataclass
class Finished:
    text: str
    ended_at: float | None
    cancelled: bool = False


class Speaker:
    def __init__(self) -> None:
        self.spoken: list[str] = []
        self.events: list[Finished] = []

    def speak(self, text: str) -> int:
        self.spoken.append(text)
        return len(self.spoken)

    def skip(self) -> None:
        self.events.append(Finished("", 0.0, cancelled=True))

    def poll(self) -> list[Finished]:
        out, self.events = self.events, []
        return out


class Log:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.records: list[dict] = []
        self.ended: list[int] = []

    def start_call(self, started_at, number, *, stream_t=None) -> int:  # type: ignore[no-untyped-def]
        self.calls.append((number, stream_t))
        return len(self.calls)

    def add(self, call_id: int, record_json: dict) -> None:
        self.records.append(record_json)

    def end_call(self, call_id: int, ended_at, reason=None) -> None:  # type: ignore[no-untyped-def]
        self.ended.append(call_id)


def hiss(seconds: float) -> np.ndarray:
    return np.random.default_rng(1).normal(0, 10.0, round(seconds * RATE))


def make(caller: np.ndarray, *, tts: bool = False, **kw) -> LiveSession:  # type: ignore[no-untyped-def]
    pipe = Pipeline(RATE, load_script("zh-CN"), WebRtcVad, has_agent=False,
                    call_started_at=datetime(2026, 11, 23, 14), engine_options=EngineOptions(tts_speaks=tts))
    return LiveSession(pipeline=pipe, audio=Audio(caller), **kw)


def pump_until(s: LiveSession, t: float) -> list:
    out: list = []
    for _ in range(100_000):
        if s.pipeline.t >= t:
            break
        out += s.pump()
    return out


def test_audio_is_fed_in_chunks_of_at_least_500_ms_and_time_counts_samples():
    s = make(np.zeros(RATE * 2))
    assert s.min_feed_s == 0.5
    times, received = [], []
    for _ in range(51):
        s.pump()
        times.append(round(s.pipeline.t, 3))
        received.append(round(s.received_t, 3))
    assert times[:25] == [0.0] * 24 + [0.5]  # twenty-five 20 ms reads make the first 500 ms chunk
    assert times[-2:] == [1.0, 1.0]
    assert received[:3] == [0.02, 0.04, 0.06] and received[-1] == 1.02  # "now", for hooks and buttons


def test_audio_with_a_prompt_due_in_it_is_fed_at_once():
    s = make(np.zeros(RATE * 8))
    s.request("start", "button")  # no agent channel: the greeting counts as said at 0; repeat due at 5.0
    fed = []
    for _ in range(300):
        for u in s.pump():
            if isinstance(u, ShowPrompt):
                fed.append((round(u.t, 3), u.protocol, round(s.received_t, 3)))
    # 4.5 s was fed in 500 ms chunks; the read that brought 5.0 s of audio fed it at once
    assert fed == [(0.0, "greeting", 0.02), (5.0, "silent_line", 5.0)]


def test_sound_after_digital_zero_starts_the_call_by_itself():
    s = make(np.concatenate([np.zeros(RATE * 2), hiss(8.0)]), autocall=AutoCallDetector(RATE))
    ups = pump_until(s, 9.0)
    starts = [u for u in ups if isinstance(u, CallEvent)]
    assert [(u.t, u.kind, u.source) for u in starts] == [(2.0, "call_start", "auto")]
    prompts = [(round(u.t, 3), u.protocol) for u in ups if isinstance(u, ShowPrompt)]
    assert prompts == [(2.0, "greeting"), (7.0, "silent_line")]  # mono: greeting said at call start


def test_hook_commands_become_call_state_events_and_are_logged_with_the_number():
    cmds, log = Commands(), Log()
    s = make(hiss(5.0), commands=cmds, calllog=log)
    pump_until(s, 0.5)
    assert s.received_t == 0.5  # 25 reads of 20 ms, all fed (one 500 ms chunk)
    cmds.queue.append(Cmd("call_start", "10086"))
    ups = pump_until(s, 1.5)
    cmds.queue.append(Cmd("call_end"))
    ups += pump_until(s, 2.0)
    assert [(u.kind, u.source) for u in ups if isinstance(u, CallEvent)] == [("call_start", "ipc"),
                                                                           ("call_end", "ipc")]
    assert log.calls == [("10086", 0.5)] and log.ended == [1]
    assert [r["event"] for r in log.records][:2] == ["call_state", "prompt"]


def test_an_illegal_hook_event_is_ignored_not_fatal():
    cmds = Commands()
    s = make(hiss(2.0), commands=cmds)
    cmds.queue.append(Cmd("resume"))  # no call, no hold
    ups = pump_until(s, 1.0)
    assert not [u for u in ups if isinstance(u, CallEvent)]


def test_auto_tts_speaks_prompts_and_the_end_of_playback_ends_the_line():
    now = [100.0]
    speaker = Speaker()
    s = make(np.zeros(RATE * 12), tts=True, speaker=speaker, speak_auto=True, clock=lambda: now[0])
    s.request("start", "button")
    pump_until(s, 1.0)
    assert speaker.spoken == ["下午好,XX公司很高兴为您服务"]
    # the button fed the first 20 ms at once, then 500 ms chunks: the stream is at 1.02 s; playback
    # ended 0.3 s ago (monotonic): the line ended at 0.72 s
    speaker.events.append(Finished(speaker.spoken[0], ended_at=now[0] - 0.3))
    speaker.events.append(Finished("skipped", ended_at=now[0], cancelled=True))  # not a line's end
    ups = pump_until(s, 6.0)
    assert [(round(u.t, 3), u.protocol, u.step) for u in ups if isinstance(u, ShowPrompt)] == [
        (5.72, "silent_line", 2)]
    assert speaker.spoken[-1] == "下午好,XX公司很高兴为您服务"


def test_speak_button_speaks_the_current_line_and_skip_stops_it():
    speaker = Speaker()
    s = make(np.zeros(RATE * 3), speaker=speaker)
    s.request("start", "button")
    pump_until(s, 0.2)
    s.request("speak")
    assert speaker.spoken == ["下午好,XX公司很高兴为您服务"]
    s.request("skip")
    assert s.pump() is not None and speaker.events == []  # the skip's cancelled finish was consumed


def test_a_voice_that_cannot_be_found_turns_tts_off_with_a_notice_not_a_crash(tmp_path, monkeypatch):
    from contextlib import ExitStack

    import pytest

    from softphone_assist.core.errors import UserError
    from softphone_assist.live.compose import LiveOptions, build_session
    from softphone_assist.settings.layers import Settings, TtsSettings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = Settings(tts=TtsSettings(mode="on_request", voice="no-such-voice"))
    opts = LiveOptions(ipc=False, log_calls=False, autocall=False)
    with ExitStack() as stack:
        s = build_session(settings, opts, stack, audio=Audio(np.zeros(RATE)), has_agent=False)
        assert s.speaker is None and any("TTS is off" in n and "no-such-voice" in n for n in s.notes)
    with ExitStack() as stack, pytest.raises(UserError, match="no-such-voice"):
        # asked for on the command line (listen --speak auto): stop and say why
        build_session(settings, LiveOptions(ipc=False, log_calls=False, speak="auto"), stack,
                      audio=Audio(np.zeros(RATE)), has_agent=False)


class WaitingCommands(Commands):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float) -> None:
        self.waits.append(round(timeout, 3))


def test_idle_waits_on_the_command_source_and_wakes_for_the_next_deadline():
    cmds, slept = WaitingCommands(), []
    s = make(np.zeros(RATE * 8), commands=cmds)
    s.idle(0.2, sleep=slept.append)
    assert cmds.waits == [0.2] and slept == []  # no deadline: the whole wait, woken by a hook
    s.request("start", "button")  # no agent channel: the greeting counts as said at 0; repeat due at 5.0
    while s.received_t < 4.9:
        s.pump()
    assert s.pipeline.engine.next_deadline() == 5.0
    s.idle(0.2, sleep=slept.append)
    assert cmds.waits[-1] == round(5.0 - s.received_t, 3) < 0.2  # wakes when the prompt is due
    while s.received_t < 5.0:
        s.pump()  # the read that brings 5.0 s feeds it at once: the prompt is out, the next due at 10 s
    s.idle(0.2, sleep=slept.append)
    assert cmds.waits[-1] == 0.2 and slept == []


def test_a_button_or_hook_feeds_what_came_at_once_instead_of_waiting_for_a_whole_chunk():
    cmds = Commands()
    s = make(hiss(3.0), commands=cmds)
    for _ in range(5):
        s.pump()
    assert s.pipeline.t == 0.0 and s.received_t == pytest.approx(0.1)  # waiting for a 500 ms chunk
    cmds.queue.append(Cmd("call_start"))
    ups = s.pump()
    assert s.pipeline.t == pytest.approx(0.12)  # the hook's pump fed all that came
    # placed at the stream time it was served (before this pump read its 20 ms)
    assert [(round(u.t, 3), u.kind) for u in ups if isinstance(u, CallEvent)] == [(0.1, "call_start")]
    s.pump()
    assert s.pipeline.t == pytest.approx(0.12)  # then back to whole chunks


def test_idle_sleeps_when_the_command_source_cannot_wait():
    slept: list[float] = []
    s = make(np.zeros(RATE * 2))  # no IPC (--no-ipc)
    s.idle(0.2, sleep=slept.append)
    assert slept == [0.2]
