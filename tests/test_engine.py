"""Script-engine scenarios: (seconds, event) in, exact actions out.

Shorthand inputs:  ("call", kind) | ("caller", condition, since) | ("agent", condition, since)
                   | ("tts_done",) | ("skip",) | ("snooze",)
                   | ("lost", channel) | ("back", channel, since)  (outages, used by test_outages.py)
Shorthand outputs: (t, "prompt", protocol, step) | (t, "hang_up", protocol) | (t, "end", protocol, reason)
"""

from __future__ import annotations

from datetime import datetime

import pytest

from softphone_assist.core.events import (
    CallEvent,
    ConditionChanged,
    LineSpoken,
    MayHangUp,
    NoAudio,
    ProtocolEnded,
    ShowPrompt,
    UserCommand,
)
from softphone_assist.core.script.engine import EngineOptions, IllegalEvent, ScriptEngine
from softphone_assist.core.script.loader import load_script

AFTERNOON = datetime(2026, 11, 23, 14, 0, 0)
SCRIPT = load_script("zh-CN")
OPENING = SCRIPT.ladders["silent_line"].steps[0].text


def speak(protocol: str, step: int, when: datetime = AFTERNOON) -> float:
    """Speaking time of a step's line at the script's rate (the wait starts after it)."""
    text = SCRIPT.fill(SCRIPT.ladders[protocol].steps[step - 1].text, when)
    return SCRIPT.speaking_time_s(text)


def _input(t: float, spec: tuple):
    kind = spec[0]
    if kind == "call":
        return CallEvent(t=t, kind=spec[1])
    if kind in ("caller", "agent"):
        return ConditionChanged(t=t, channel=kind, condition=spec[1], since=spec[2] if len(spec) > 2 else t)
    if kind == "lost":
        return NoAudio(t=t, channel=spec[1], since=t)
    if kind == "back":
        return NoAudio(t=t, channel=spec[1], since=spec[2], ended=True)
    if kind == "tts_done":
        return LineSpoken(t=t)
    return UserCommand(t=t, command=kind)


def _short(a) -> tuple | None:
    if isinstance(a, ShowPrompt):
        return (round(a.t, 3), "prompt", a.protocol, a.step)
    if isinstance(a, MayHangUp):
        return (round(a.t, 3), "hang_up", a.protocol)
    if isinstance(a, ProtocolEnded):
        return (round(a.t, 3), "end", a.protocol, a.reason)
    return None


def run(events: list[tuple], until: float, *, agent: bool = False, tts: bool = False,
        engine: ScriptEngine | None = None) -> list[tuple]:
    eng = engine or ScriptEngine(SCRIPT, AFTERNOON, EngineOptions(has_agent_channel=agent, tts_speaks=tts))
    out = []
    for t, *spec in events:
        out += eng.advance(t - 1e-9)
        out += eng.handle(_input(t, tuple(spec)))
    out += eng.advance(until)
    return [s for s in map(_short, out) if s is not None]


def r(x: float) -> float:
    return round(x, 3)


# ---------------------------------------------------------------------------------------------
# silent line (P1)
# ---------------------------------------------------------------------------------------------
def test_silent_line_without_agent_channel_counts_greeting_as_said_at_call_start():
    s3 = 5.0 + speak("silent_line", 2) + 5.0
    hang = s3 + speak("silent_line", 3) + 5.0
    assert run([(0.0, "call", "call_start")], 60.0) == [
        (0.0, "prompt", "greeting", 1),
        (5.0, "prompt", "silent_line", 2),
        (r(s3), "prompt", "silent_line", 3),
        (r(hang), "hang_up", "silent_line"),
    ]


def test_silent_line_with_agent_channel_waits_five_seconds_after_each_agent_line():
    events = [
        (0.0, "call", "call_start"),
        (0.6, "agent", "speech", 0.5), (4.1, "agent", "silent", 3.5),  # greeting said 0.5-3.5
        (9.3, "agent", "speech", 9.2), (12.6, "agent", "silent", 12.0),  # repeat
        (17.6, "agent", "speech", 17.5), (21.6, "agent", "silent", 21.0),  # goodbye
    ]
    assert run(events, 40.0, agent=True) == [
        (0.0, "prompt", "greeting", 1),
        (8.5, "prompt", "silent_line", 2),
        (17.0, "prompt", "silent_line", 3),
        (26.0, "hang_up", "silent_line"),
    ]


def test_agent_channel_ladder_waits_for_the_agent_to_say_the_line():
    events = [(0.0, "call", "call_start"), (0.6, "agent", "speech", 0.5), (4.1, "agent", "silent", 3.5)]
    # the agent never says the repeat: step 3 never comes, however long we wait
    assert run(events, 120.0, agent=True) == [(0.0, "prompt", "greeting", 1), (8.5, "prompt", "silent_line", 2)]


def test_agent_speaking_again_restarts_the_wait():
    events = [
        (0.0, "call", "call_start"),
        (0.6, "agent", "speech", 0.5), (4.1, "agent", "silent", 3.5),
        (7.1, "agent", "speech", 7.0), (9.6, "agent", "silent", 9.0),  # says more before 8.5
    ]
    assert run(events, 14.5, agent=True) == [(0.0, "prompt", "greeting", 1), (14.0, "prompt", "silent_line", 2)]


def test_caller_answering_the_greeting_ends_it():
    assert run([(0.0, "call", "call_start"), (2.0, "caller", "speech", 1.8)], 30.0) == [
        (0.0, "prompt", "greeting", 1),
        (2.0, "end", "greeting", "caller_spoke"),
    ]


def test_caller_answering_after_the_repeat_ends_the_silent_line():
    assert run([(0.0, "call", "call_start"), (7.5, "caller", "speech", 7.3)], 40.0) == [
        (0.0, "prompt", "greeting", 1),
        (5.0, "prompt", "silent_line", 2),
        (7.5, "end", "silent_line", "caller_spoke"),
    ]


def test_caller_speech_exactly_at_the_deadline_wins():
    assert run([(0.0, "call", "call_start"), (5.0, "caller", "speech", 4.9)], 20.0) == [
        (0.0, "prompt", "greeting", 1),
        (5.0, "end", "greeting", "caller_spoke"),
    ]


def test_tts_mode_counts_from_the_end_of_playback():
    events = [(0.0, "call", "call_start"), (3.2, "tts_done")]
    assert run(events, 10.0, tts=True) == [(0.0, "prompt", "greeting", 1), (8.2, "prompt", "silent_line", 2)]


def test_greeting_text_follows_time_of_day_and_holidays():
    def greeting(when: datetime) -> str:
        eng = ScriptEngine(SCRIPT, when)
        return next(a for a in eng.handle(CallEvent(t=0.0, kind="call_start")) if isinstance(a, ShowPrompt)).text

    assert greeting(datetime(2026, 11, 23, 9, 0)).startswith("上午好")
    assert greeting(datetime(2026, 11, 23, 14, 0)).startswith("下午好")
    assert greeting(datetime(2026, 11, 23, 23, 0)).startswith("您好")
    assert greeting(datetime(2026, 2, 17, 10, 0)).startswith("新年好")  # 春节 2026
    # the greeting is taken at the call's start time plus the stream time of the prompt
    eng = ScriptEngine(SCRIPT, datetime(2026, 11, 23, 11, 59, 58))
    eng.handle(CallEvent(t=0.0, kind="call_start"))
    step2 = next(a for a in eng.advance(10.0) if isinstance(a, ShowPrompt))
    assert step2.text.startswith("下午好")


# ---------------------------------------------------------------------------------------------
# mid-call silence and dead air
# ---------------------------------------------------------------------------------------------
def _answered(agent: bool = True) -> list[tuple]:
    return [(0.0, "call", "call_start"), (1.1, "caller", "speech", 1.0), (3.6, "caller", "silent", 3.0)]


def test_caller_silent_after_the_agent_spoke_last():
    events = [*_answered(), (4.1, "agent", "speech", 4.0), (6.6, "agent", "silent", 6.0)]
    out = run(events, 11.5, agent=True)
    assert out == [(0.0, "prompt", "greeting", 1), (1.1, "end", "greeting", "caller_spoke"),
                   (11.0, "prompt", "caller_silent", 1)]


def test_caller_silent_ladder_runs_to_may_hang_up_and_ends_when_the_caller_speaks():
    events = [*_answered(),
        (4.1, "agent", "speech", 4.0), (6.6, "agent", "silent", 6.0),
        (11.6, "agent", "speech", 11.5), (14.6, "agent", "silent", 14.0),  # says step 1
        (19.6, "agent", "speech", 19.5), (22.6, "agent", "silent", 22.0),  # says step 2
        (28.0, "caller", "speech", 27.9),
    ]
    assert run(events, 40.0, agent=True)[2:] == [
        (11.0, "prompt", "caller_silent", 1),
        (19.0, "prompt", "caller_silent", 2),
        (27.0, "prompt", "caller_silent", 3),
        (28.0, "end", "caller_silent", "caller_spoke"),
    ]


def test_dead_air_when_the_caller_spoke_last_and_both_are_silent():
    out = run(_answered(), 14.0, agent=True)
    assert out[2:] == [(13.0, "prompt", "dead_air", 1)]


def test_dead_air_needs_an_agent_channel():
    assert run(_answered(), 60.0, agent=False)[2:] == []


def test_dead_air_stays_until_the_caller_speaks_and_steps_after_each_agent_line():
    events = [*_answered(),
        (13.6, "agent", "speech", 13.5), (15.6, "agent", "silent", 15.0),  # says "please wait"
        (40.0, "caller", "speech", 39.9),
    ]
    assert run(events, 45.0, agent=True)[2:] == [
        (13.0, "prompt", "dead_air", 1),
        (25.0, "prompt", "dead_air", 2),
        (40.0, "end", "dead_air", "caller_spoke"),
    ]


# ---------------------------------------------------------------------------------------------
# low volume and noise
# ---------------------------------------------------------------------------------------------
def test_low_volume_needs_two_seconds_then_ladders_and_resolves_on_normal_speech():
    events = [(0.0, "call", "call_start"), (3.0, "caller", "low_volume", 2.8), (9.0, "caller", "speech", 8.9)]
    assert run(events, 30.0) == [
        (0.0, "prompt", "greeting", 1),
        (3.0, "end", "greeting", "caller_spoke"),
        (5.0, "prompt", "low_volume", 1),
        (9.0, "end", "low_volume", "resolved"),
    ]


def test_low_volume_shorter_than_two_seconds_is_ignored():
    events = [(0.0, "call", "call_start"), (3.0, "caller", "low_volume", 2.8), (4.99, "caller", "speech", 4.9)]
    assert run(events, 30.0)[2:] == []


def test_low_volume_ladder_has_four_steps_then_may_hang_up_with_a_note():
    eng = ScriptEngine(SCRIPT, AFTERNOON)
    t1 = 5.0
    t2 = t1 + speak("low_volume", 1) + 5.0
    t3 = t2 + speak("low_volume", 2) + 5.0
    t4 = t3 + speak("low_volume", 3) + 5.0
    th = t4 + speak("low_volume", 4) + 5.0
    out = run([(0.0, "call", "call_start"), (3.0, "caller", "low_volume", 2.8)], 200.0, engine=eng)
    assert out[2:] == [(t1, "prompt", "low_volume", 1), (r(t2), "prompt", "low_volume", 2),
                       (r(t3), "prompt", "low_volume", 3), (r(t4), "prompt", "low_volume", 4),
                       (r(th), "hang_up", "low_volume")]


def test_low_volume_fires_once_per_episode_even_across_pauses():
    events = [(0.0, "call", "call_start"), (3.0, "caller", "low_volume", 2.8), (5.5, "skip",),
              (6.0, "caller", "silent", 5.3), (7.0, "caller", "low_volume", 6.9)]
    assert run(events, 20.0)[2:] == [(5.0, "prompt", "low_volume", 1), (5.5, "end", "low_volume", "skipped")]


def test_noisy_line_two_steps_then_hang_up_and_noise_gone_resolves():
    t2 = 12.0 + speak("noisy_line", 1) + 5.0
    hang = t2 + speak("noisy_line", 2) + 5.0
    events = [(0.0, "call", "call_start"), (1.0, "caller", "speech", 0.9), (3.0, "caller", "silent", 2.5),
              (10.0, "caller", "noisy", 9.9), (70.0, "caller", "silent", 69.9)]
    assert run(events, 80.0)[2:] == [
        (12.0, "prompt", "noisy_line", 1), (r(t2), "prompt", "noisy_line", 2), (r(hang), "hang_up", "noisy_line"),
        (72.0, "end", "noisy_line", "resolved"),
    ]


def test_noisy_line_supersedes_the_silent_line_ladder():
    events = [(0.0, "call", "call_start"), (6.0, "caller", "noisy", 5.9)]
    assert run(events, 8.5) == [
        (0.0, "prompt", "greeting", 1), (5.0, "prompt", "silent_line", 2),
        (8.0, "end", "silent_line", "superseded"), (8.0, "prompt", "noisy_line", 1),
    ]


def test_no_ladder_stacks_on_another():
    # the caller is quiet (ladder running); a noisy stretch does not start a second ladder
    events = [(0.0, "call", "call_start"), (1.0, "caller", "low_volume", 0.9), (4.0, "caller", "noisy", 3.9)]
    out = run(events, 8.0)
    assert [o for o in out if o[1] == "prompt"] == [(0.0, "prompt", "greeting", 1), (3.0, "prompt", "low_volume", 1)]


# ---------------------------------------------------------------------------------------------
# hold, closing, end, user commands, illegal events
# ---------------------------------------------------------------------------------------------
def test_hold_reminds_every_two_minutes_and_nothing_else_prompts_on_hold():
    events = [(0.0, "call", "call_start"), (1.0, "caller", "speech", 0.9), (3.0, "caller", "silent", 2.5),
              (10.0, "call", "hold"), (20.0, "caller", "noisy", 19.9), (25.0, "caller", "silent", 24.9),
              (300.0, "call", "resume")]
    back_end = 300.0 + speak("hold", 2)
    assert run(events, 320.0)[2:] == [
        (130.0, "prompt", "hold", 1), (250.0, "prompt", "hold", 1),
        (300.0, "prompt", "hold", 2), (r(back_end), "end", "hold", "resolved"),
    ]


def test_hold_ends_the_running_ladder():
    events = [(0.0, "call", "call_start"), (2.0, "call", "hold")]
    assert run(events, 10.0) == [(0.0, "prompt", "greeting", 1), (2.0, "end", "greeting", "hold")]


def test_closing_prompts_steps_two_and_three_then_may_hang_up():
    t3 = 55.0 + speak("closing", 2) + 5.0
    hang = t3 + speak("closing", 3) + 5.0
    events = [(0.0, "call", "call_start"), (1.0, "caller", "speech", 0.9), (3.0, "caller", "silent", 2.5),
              (50.0, "call", "closing")]
    assert run(events, 100.0)[2:] == [(55.0, "prompt", "closing", 2), (r(t3), "prompt", "closing", 3),
                                      (r(hang), "hang_up", "closing")]


def test_closing_with_agent_channel_counts_from_the_end_of_the_closing_line():
    events = [(0.0, "call", "call_start"), (1.0, "caller", "speech", 0.9), (3.0, "caller", "silent", 2.5),
              (49.0, "agent", "speech", 48.9), (50.0, "call", "closing"), (52.6, "agent", "silent", 52.0)]
    assert run(events, 57.5, agent=True)[2:] == [
        (12.5, "prompt", "dead_air", 1),  # the caller spoke last, then 10 s of silence on both sides
        (50.0, "end", "dead_air", "closing"),
        (57.0, "prompt", "closing", 2),
    ]


def test_caller_speaking_after_closing_ends_it():
    events = [(0.0, "call", "call_start"), (1.0, "caller", "speech", 0.9), (3.0, "caller", "silent", 2.5),
              (50.0, "call", "closing"), (56.0, "caller", "speech", 55.9)]
    assert run(events, 60.0)[2:] == [(55.0, "prompt", "closing", 2), (56.0, "end", "closing", "caller_spoke")]


def test_call_end_ends_everything_and_later_deadlines_never_fire():
    events = [(0.0, "call", "call_start"), (3.0, "call", "call_end")]
    assert run(events, 60.0) == [(0.0, "prompt", "greeting", 1), (3.0, "end", "greeting", "call_end")]


def test_snooze_silences_that_ladder_for_the_rest_of_the_call():
    events = [(0.0, "call", "call_start"), (1.0, "caller", "low_volume", 0.9), (3.5, "snooze",),
              (4.0, "caller", "speech", 3.9), (5.0, "caller", "low_volume", 4.9)]
    assert run(events, 30.0)[2:] == [(3.0, "prompt", "low_volume", 1), (3.5, "end", "low_volume", "snoozed")]


@pytest.mark.parametrize("first,bad", [("call_start", "resume"), ("call_start", "call_start"),
                                       (None, "hold"), (None, "closing"), ("call_end", "hold")])
def test_illegal_call_events_raise_and_change_nothing(first, bad):
    eng = ScriptEngine(SCRIPT, AFTERNOON)
    if first == "call_end":
        eng.handle(CallEvent(t=0.0, kind="call_start"))
    if first:
        eng.handle(CallEvent(t=0.0, kind=first))
    before = (eng.call_state, eng.active_protocol, eng.next_deadline())
    with pytest.raises(IllegalEvent):
        eng.handle(CallEvent(t=1.0, kind=bad))
    assert (eng.call_state, eng.active_protocol, eng.next_deadline()) == before


def test_a_new_call_after_call_end_starts_fresh():
    events = [(0.0, "call", "call_start"), (1.0, "caller", "low_volume", 0.9), (3.5, "snooze",),
              (10.0, "call", "call_end"), (20.0, "call", "call_start"), (21.0, "caller", "low_volume", 20.9)]
    out = run(events, 24.0)
    assert (23.0, "prompt", "low_volume", 1) in out


def test_closing_sent_just_after_the_line_counts_from_the_line_end_detected_later():
    # the agent's closing line ends at 50.0; the hook fires at 50.2, before the detector (which needs
    # the pause to outlast 0.6 s) reports the end at 50.6 with since=50.0
    events = [(0.0, "call", "call_start"), (1.0, "caller", "speech", 0.9), (3.0, "caller", "silent", 2.5),
              (4.1, "agent", "speech", 4.0), (6.6, "agent", "silent", 6.0), (7.0, "caller", "speech", 6.9),
              (9.0, "caller", "silent", 8.5), (48.1, "agent", "speech", 48.0), (50.2, "call", "closing"),
              (50.6, "agent", "silent", 50.0)]
    assert run(events, 56.0, agent=True)[2:] == [
        (18.5, "prompt", "dead_air", 1), (50.2, "end", "dead_air", "closing"), (55.0, "prompt", "closing", 2)]
