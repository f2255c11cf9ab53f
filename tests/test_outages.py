"""Outages are not silence: a device that is gone for a while (NoAudio) starts no ladder, ends no
call, freezes every countdown, and its end is reported.

Engine and automatic-call scenarios are (seconds, event) lists with exact times; the session tests
run the real Pipeline (and real recorded speech) with an audio source that hands out outage marks
the way LiveCapture does (tests/test_capture.py checks the capture's own marks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pytest
from callkit import CallBuilder, have_speech
from test_engine import _input  # the engine scenarios' one input shorthand

from softphone_assist.audio.capture import Outage
from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.autocall import AutoCallDetector
from softphone_assist.core.events import (
    Channel,
    ConditionChanged,
    Deadline,
    MayHangUp,
    NoAudio,
    ProtocolEnded,
    ShowPrompt,
    Update,
)
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.engine import EngineOptions, ScriptEngine
from softphone_assist.core.script.loader import load_script
from softphone_assist.core.timeline import to_jsonl
from softphone_assist.live.session import LiveSession

RATE = 16000
AFTERNOON = datetime(2026, 11, 23, 14, 0, 0)
SCRIPT = load_script("zh-CN")
TIMING = SCRIPT.timing


def speak(protocol: str, step: int) -> float:
    return SCRIPT.speaking_time_s(SCRIPT.fill(SCRIPT.ladders[protocol].steps[step - 1].text, AFTERNOON))


# ---------------------------------------------------------------------------------------------
# the engine: (seconds, event) in, exact actions out
# ---------------------------------------------------------------------------------------------
def _short(a: Update) -> tuple | None:
    if isinstance(a, ShowPrompt):
        return (round(a.t, 3), "prompt", a.protocol, a.step)
    if isinstance(a, MayHangUp):
        return (round(a.t, 3), "hang_up", a.protocol)
    if isinstance(a, ProtocolEnded):
        return (round(a.t, 3), "end", a.protocol, a.reason)
    if isinstance(a, Deadline):
        return (round(a.t, 3), "due", a.protocol, None if a.due is None else round(a.due, 3))
    return None


def run(events: list[tuple], until: float, *, agent: bool = False, deadlines: bool = False) -> list[tuple]:
    eng = ScriptEngine(SCRIPT, AFTERNOON, EngineOptions(has_agent_channel=agent))
    out: list = []
    for t, *spec in events:
        out += eng.advance(t - 1e-9)
        out += eng.handle(_input(t, tuple(spec)))
    out += eng.advance(until)
    return [s for s in map(_short, out) if s is not None and (deadlines or s[1] != "due")]


def r(x: float) -> float:
    return round(x, 3)


def test_an_outage_freezes_the_silent_line_countdown() -> None:
    # no agent channel: the greeting counts as said at 0, the repeat is due at 5.0; the caller
    # device is gone 3.0-13.0, so the repeat comes 10 s later, and the step after it as usual
    step3 = 15.0 + speak("silent_line", 2) + 5.0
    assert run([(0.0, "call", "call_start"), (3.0, "lost", "caller"), (13.0, "back", "caller", 3.0)],
               step3 + 0.1) == [
        (0.0, "prompt", "greeting", 1),
        (15.0, "prompt", "silent_line", 2),
        (r(step3), "prompt", "silent_line", 3),
    ]


def test_the_countdown_ring_stops_during_an_outage_and_shows_what_is_left_after_it() -> None:
    got = run([(0.0, "call", "call_start"), (3.0, "lost", "caller"), (13.0, "back", "caller", 3.0)],
              13.5, deadlines=True)
    assert got == [(0.0, "prompt", "greeting", 1), (0.0, "due", "greeting", 5.0),
                   (3.0, "due", "greeting", None), (13.0, "due", "greeting", 15.0)]


def test_nothing_fires_during_an_outage_however_long_and_its_conditions_are_ignored() -> None:
    # 60 s without the caller device: no repeat, no goodbye; what the zeros looked like ("speech"
    # here, as a stand-in for any tracker output) neither ends the greeting nor starts a ladder
    assert run([(0.0, "call", "call_start"), (1.0, "lost", "caller"), (20.0, "caller", "speech"),
                (30.0, "caller", "silent"), (50.0, "caller", "noisy")], 61.0) == [
        (0.0, "prompt", "greeting", 1)]


def test_a_dead_air_countdown_resumes_where_it_stopped() -> None:
    # agent channel: the greeting ends at 2.0, the caller answers 3.0-5.0; both silent from 5.0:
    # dead air is due at 5.0 + dead_air_after_s. The caller device is gone 6.0-16.0 (10 s).
    due = 5.0 + TIMING.dead_air_after_s
    assert due > 6.0  # the outage starts before dead air is due
    events = [(0.0, "call", "call_start"), (0.2, "agent", "speech"), (2.6, "agent", "silent", 2.0),
              (3.3, "caller", "speech", 3.0), (5.6, "caller", "silent", 5.0),
              (6.0, "lost", "caller"), (16.0, "back", "caller", 6.0)]
    assert run(events, due + 10.0 + 0.1, agent=True) == [
        (0.0, "prompt", "greeting", 1), (3.3, "end", "greeting", "caller_spoke"),
        (r(due + 10.0), "prompt", "dead_air", 1)]


def test_an_agent_line_that_ends_during_a_caller_outage_counts_from_the_outages_end() -> None:
    # after the caller's answer the agent asks something, ending at 9.0 while the caller device is
    # gone (7.0-17.0): "can you still hear me?" is due caller_silent_after_s after 17.0, not after 9.0
    events = [(0.0, "call", "call_start"), (0.2, "agent", "speech"), (2.6, "agent", "silent", 2.0),
              (3.3, "caller", "speech", 3.0), (5.6, "caller", "silent", 5.0),
              (5.8, "agent", "speech", 5.7), (7.0, "lost", "caller"), (9.6, "agent", "silent", 9.0),
              (17.0, "back", "caller", 7.0)]
    due = 17.0 + TIMING.caller_silent_after_s
    assert run(events, due + 0.1, agent=True) == [
        (0.0, "prompt", "greeting", 1), (3.3, "end", "greeting", "caller_spoke"),
        (r(due), "prompt", "caller_silent", 1)]


def test_overlapping_outages_of_both_channels_freeze_from_the_first_loss_to_the_last_return() -> None:
    # caller gone 3-8, agent gone 6-12: frozen 3-12, the repeat due at 5.0 comes at 14.0
    events = [(0.0, "call", "call_start"), (3.0, "lost", "caller"), (6.0, "lost", "agent"),
              (8.0, "back", "caller", 3.0), (12.0, "back", "agent", 6.0)]
    assert run(events, 14.1)[:2] == [(0.0, "prompt", "greeting", 1), (14.0, "prompt", "silent_line", 2)]


def test_call_state_events_still_apply_during_an_outage() -> None:
    events = [(0.0, "call", "call_start"), (2.0, "lost", "caller"), (4.0, "call", "call_end"),
              (9.0, "back", "caller", 2.0), (9.0, "back", "caller", 2.0)]  # a second end: ignored
    assert run(events, 30.0) == [(0.0, "prompt", "greeting", 1), (4.0, "end", "greeting", "call_end")]


def test_a_hold_reminder_counts_only_time_with_audio() -> None:
    every = SCRIPT.ladders["hold"].steps[0].wait_s
    events = [(0.0, "call", "call_start"), (1.0, "call", "hold"), (2.0, "lost", "caller"),
              (12.0, "back", "caller", 2.0)]
    assert run(events, 1.0 + every + 10.0 + 0.1)[-1] == (r(1.0 + every + 10.0), "prompt", "hold", 1)


# ---------------------------------------------------------------------------------------------
# automatic call start/end
# ---------------------------------------------------------------------------------------------
def zeros(s: float) -> np.ndarray:
    return np.zeros(round(s * RATE))


def hiss(s: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 10.0, round(s * RATE))


def auto(det: AutoCallDetector, parts: list[tuple[str, np.ndarray]], block: int = 320) -> list[tuple[float, str]]:
    """Feed parts; ("outage", zeros) parts are announced like the session does (before their samples)."""
    out, pos = [], 0
    for kind, x in parts:
        if kind == "outage":
            det.no_audio(pos / RATE)
            det.audio_back((pos + len(x)) / RATE)
        for i in range(0, len(x), block):
            out += det.process(x[i:i + block])
        pos += len(x)
    return [(round(t, 3), k) for t, k in out]


def test_a_ten_second_outage_mid_call_ends_no_call() -> None:
    # before outages were their own state, this was (12.0, "call_end"): 8 s into the gap's zeros
    assert auto(AutoCallDetector(RATE), [("audio", zeros(1.0)), ("audio", hiss(3.0)),
                                         ("outage", zeros(10.0)), ("audio", hiss(2.0))]) == [(1.0, "call_start")]


def test_the_digital_zero_before_an_outage_still_counts_after_it() -> None:
    # the call went quiet 5 s before the outage and 3 s after it: 8 s of real digital zero
    assert auto(AutoCallDetector(RATE), [("audio", zeros(1.0)), ("audio", hiss(2.0)), ("audio", zeros(5.0)),
                                         ("outage", zeros(10.0)), ("audio", zeros(3.5))]) == [
        (1.0, "call_start"), (21.0, "call_end")]


def test_sound_after_an_outage_is_no_new_call() -> None:
    # the stream had sound, then the device was gone 3 s: its zeros are no gap between calls
    assert auto(AutoCallDetector(RATE), [("audio", hiss(2.0)), ("outage", zeros(3.0)), ("audio", hiss(2.0))]) == []


@pytest.mark.parametrize("block", [1, 160, 4000])
def test_an_outage_off_the_frame_grid_excludes_every_frame_it_touches(block: int) -> None:
    # zeros 1.0 s, hiss, then an outage from 3.2345 s (inside frame 323) to 4.0005 s (inside frame
    # 400): frames 323-400 are no audio; the real zeros 4.01-12.01 end the call at exactly 12.01
    parts = [("audio", zeros(1.0)), ("audio", hiss(2.2345)), ("outage", zeros(0.766)), ("audio", hiss(0.0095)),
             ("audio", zeros(8.5))]
    assert auto(AutoCallDetector(RATE), parts, block=block) == [(1.0, "call_start"), (12.01, "call_end")]


# ---------------------------------------------------------------------------------------------
# the live session: pipeline + automatic calls + outage marks
# ---------------------------------------------------------------------------------------------
@dataclass
class MarkedAudio:
    """A prepared signal handed out 20 ms per read, with outage marks at given samples (LiveCapture's
    marks come the same way: with the read that delivers the first sample they concern)."""

    caller: np.ndarray
    agent: np.ndarray | None = None
    outages: tuple[tuple[Channel, int, int], ...] = ()  # (channel, first missing sample, first one back)
    pos: int = 0
    block: int = 320

    def read_available(self) -> list:
        if self.pos >= len(self.caller):
            return []
        lo, self.pos = self.pos, self.pos + self.block
        out = [("caller", self.caller[lo:self.pos])]
        if self.agent is not None:
            out.append(("agent", self.agent[lo:self.pos]))
        self._due = [Outage(c, a, False) for c, a, _ in self.outages if lo <= a < self.pos] + \
            [Outage(c, b, True) for c, _, b in self.outages if lo <= b < self.pos]
        return out

    def take_outages(self) -> list[Outage]:
        out, self._due = getattr(self, "_due", []), []
        return out

    def problems(self) -> list[str]:
        return []


def session(audio: MarkedAudio, *, agent: bool = False) -> LiveSession:
    pipe = Pipeline(RATE, SCRIPT, WebRtcVad, has_agent=agent, call_started_at=AFTERNOON)
    return LiveSession(pipeline=pipe, audio=audio, autocall=AutoCallDetector(RATE))


def pump_all(s: LiveSession, t: float) -> list[Update]:
    out: list[Update] = []
    while s.pipeline.t < t:
        out += s.pump()
    return out


def test_a_ten_second_caller_outage_mid_call_is_no_audio_then_back_with_no_call_end() -> None:
    # digital zero 1 s, line hiss (the call), the caller device gone 4.0-14.0 (its zeros), hiss again
    x = np.concatenate([zeros(1.0), hiss(3.0), zeros(10.0), hiss(6.0)])
    s = session(MarkedAudio(x, outages=(("caller", 4 * RATE, 14 * RATE),)))
    recs = [json.loads(line) for line in map(to_jsonl, pump_all(s, 19.9)) if line is not None]
    assert [rec for rec in recs if rec["event"] == "no_audio"] == [
        {"t": 4.0, "event": "no_audio", "channel": "caller", "state": "start", "since": 4.0},
        {"t": 14.0, "event": "no_audio", "channel": "caller", "state": "end", "since": 4.0, "lost_s": 10.0},
    ]
    # the repeat was due at 6.0 (5 s after the greeting): 2 s of it were left at the loss
    assert [(rec["t"], rec["event"], rec.get("state") or rec.get("protocol")) for rec in recs] == [
        (1.0, "call_state", "call_start"), (1.0, "prompt", "greeting"), (4.0, "no_audio", "start"),
        (14.0, "no_audio", "end"), (16.0, "prompt", "silent_line")]


def test_outage_marks_off_the_sample_grid_of_a_block_give_exact_stream_times() -> None:
    x = np.concatenate([zeros(1.0), hiss(20.0)])
    s = session(MarkedAudio(x, outages=(("caller", 65_537, 227_841),)))  # 4.0960625 s .. 14.2400625 s
    got = [u for u in pump_all(s, 15.0) if isinstance(u, NoAudio)]
    assert got == [NoAudio(t=65_537 / RATE, channel="caller", since=65_537 / RATE),
                   NoAudio(t=227_841 / RATE, channel="caller", since=65_537 / RATE, ended=True)]


needs_speech = pytest.mark.skipif(not have_speech(), reason="needs asterisk-core-sounds-en (./setup.sh test)")


@needs_speech
def test_what_the_trackers_make_of_an_outage_is_held_back_and_reported_at_its_end() -> None:
    # the caller speaks at 3.0 and the device goes in mid-word at 3.5: the tracker sees the speech
    # end in the zeros; that is not the caller falling silent at 3.5, and is reported (as silent,
    # since the outage's end) only when audio is back at 13.5. Dead air counts from there.
    b = CallBuilder(30.0, caller_floor="hiss", seed=4)
    b.agent_says(0.3, "en_US_f_Allison/conf-onlyperson")
    said = b.caller_says(3.0, "en_US_f_Allison/pls-hold-while-try")
    assert said.end > 3.6
    caller, agent = b.caller_track(), b.agent_track()
    caller[round(3.5 * RATE):round(13.5 * RATE)] = 0.0
    audio = MarkedAudio(caller, agent, outages=(("caller", round(3.5 * RATE), round(13.5 * RATE)),))
    s = session(audio, agent=True)
    s.request("start", "ipc")
    ups = pump_all(s, 13.5 + TIMING.dead_air_after_s + 1.0)
    caller_cond = [(round(u.t, 3), u.condition, round(u.since, 3)) for u in ups
                   if isinstance(u, ConditionChanged) and u.channel == "caller"]
    before = [c for c in caller_cond if c[0] <= 3.5]
    assert before and before[-1][1] != "silent"  # the caller was heard (speech, or read as noise at first)
    assert caller_cond[len(before):] == [(13.5, "silent", 13.5)]  # nothing from the zeros, then the end
    gaps = [(round(u.t, 3), u.ended) for u in ups if isinstance(u, NoAudio)]
    assert gaps == [(3.5, False), (13.5, True)]
    prompts = [(round(u.t, 3), u.protocol) for u in ups if isinstance(u, ShowPrompt)]
    agent_end = next(round(u.since, 3) for u in ups if isinstance(u, ConditionChanged) and u.channel == "agent"
                     and u.condition == "silent")
    if before[-1][1] == "speech":  # the caller answered: dead air, counted from the outage's end
        assert prompts == [(0.0, "greeting"), (r(13.5 + TIMING.dead_air_after_s), "dead_air")]
    else:  # the greeting still waits for an answer: its repeat, 5 s after the line, plus the outage
        assert prompts == [(0.0, "greeting"), (r(agent_end + 5.0 + 10.0), "silent_line")]
