"""The audit's rules as pure functions of a timeline: `(seconds, event)` records in, violations out,
each rule at its boundary (default tolerance 1 s, the zh-CN script's timings: 5 s waits, 10 s dead
air, 120 s hold reminder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from softphone_assist.audit.calltimeline import read_timeline
from softphone_assist.audit.figures import call_figures
from softphone_assist.audit.rules import RULES, Thresholds, check_rules
from softphone_assist.core.events import CALLER_CONDITIONS
from softphone_assist.core.script.loader import load_script, scripts_dir

TH = Thresholds.from_script(load_script("zh-CN"))
Rec = dict[str, Any]


def says(start: float, end: float, channel: str = "agent", condition: str = "speech") -> list[Rec]:
    """A line on a channel, as the engine reports it: the change, then `silent` 0.6 s after its end."""
    return [{"t": start + 0.03, "event": "condition", "channel": channel, "condition": condition, "since": start},
            {"t": end + 0.6, "event": "condition", "channel": channel, "condition": "silent", "since": end}]


def state(t: float, s: str) -> Rec:
    return {"t": t, "event": "call_state", "state": s, "source": "file"}


def prompt(t: float, protocol: str, step: int = 1) -> Rec:
    return {"t": t, "event": "prompt", "protocol": protocol, "step": step, "steps": 3, "text": "x"}


def ended(t: float, protocol: str, reason: str) -> Rec:
    return {"t": t, "event": "protocol_end", "protocol": protocol, "reason": reason}


def audit(recs: list[Rec], duration: float, has_agent: bool = True, th: Thresholds = TH) -> list[tuple[str, float]]:
    found, _ = check_rules(read_timeline(recs, duration, has_agent=has_agent), th)
    return [(v.rule, v.t) for v in found]


def silent_call(gaps: tuple[float, float], hang_up_after: float) -> tuple[list[Rec], float]:
    """Greeting 0.5-3.5, repeat and goodbye (3 s each) `gaps` after the line before; then the end."""
    recs = says(0.5, 3.5)
    t = 3.5
    for gap in gaps:
        recs += says(t + gap, t + gap + 3.0)
        t += gap + 3.0
    end = t + hang_up_after
    return [state(0.0, "call_start"), *recs, state(end, "call_end")], end


# ---- silent_line_hangup_early ----------------------------------------------------------------
def test_hanging_up_a_silent_line_exactly_at_the_tolerance_is_allowed() -> None:
    recs, end = silent_call((5.0, 5.0), 4.0)  # 5 s after the goodbye minus the 1 s tolerance
    assert audit(recs, end) == []


def test_hanging_up_a_silent_line_ten_ms_before_the_tolerance_is_early() -> None:
    recs, end = silent_call((5.0, 5.0), 3.99)
    assert audit(recs, end) == [("silent_line_hangup_early", end)]


def test_hanging_up_after_two_of_three_lines_is_early_whatever_the_wait() -> None:
    recs, end = silent_call((5.0,), 30.0)
    found, _ = check_rules(read_timeline(recs, end, has_agent=True), TH)
    assert [(v.rule, v.t) for v in found] == [("dead_air", 11.5), ("silent_line_hangup_early", end)]
    assert "after 2 of the standard's 3 lines" in found[1].detail


def test_a_caller_who_spoke_lets_the_agent_hang_up_at_any_time() -> None:
    recs = [state(0, "call_start"), *says(0.5, 3.5), *says(4.0, 5.0, "caller"), state(6.0, "call_end")]
    assert audit(recs, 6.0) == []


def test_a_noisy_line_is_not_a_silent_line() -> None:
    recs = [state(0, "call_start"), *says(0.5, 3.5), *says(4.0, 5.0, "caller", "noisy"), state(6.0, "call_end")]
    assert audit(recs, 6.0) == []


def test_a_tone_on_a_silent_line_is_still_a_silent_line() -> None:
    # a busy or hang-up tone is the softphone, not the customer: hanging up early stays early
    recs, end = silent_call((5.0,), 30.0)
    recs.insert(-1, {"t": 9.0, "event": "condition", "channel": "caller", "condition": "tone", "since": 9.0})
    recs.insert(-1, {"t": 9.5, "event": "condition", "channel": "caller", "condition": "silent", "since": 9.4})
    assert ("silent_line_hangup_early", end) in audit(recs, end)


# ---- repeat_too_soon -------------------------------------------------------------------------
def test_a_repeat_exactly_four_seconds_after_the_greeting_is_in_time() -> None:
    recs, end = silent_call((4.0, 5.0), 5.0)
    assert audit(recs, end) == []


def test_a_repeat_three_point_nine_nine_seconds_after_the_greeting_is_too_soon_and_not_a_step() -> None:
    recs, end = silent_call((3.99, 5.0), 5.0)
    # the early repeat does not count, so the goodbye is only the second step: hung up early too
    assert audit(recs, end) == [("repeat_too_soon", 7.49), ("silent_line_hangup_early", end)]


def test_too_soon_lines_in_a_caller_silent_ladder() -> None:
    recs = [state(0, "call_start"), *says(0.5, 3.5), *says(4.0, 6.0, "caller"), *says(7.0, 9.0),
            prompt(14.0, "caller_silent", 1), *says(14.5, 16.0), *says(19.0, 20.0), *says(25.0, 26.0),
            ended(27.0, "caller_silent", "caller_spoke"), *says(27.0, 28.0, "caller"), *says(28.5, 29.0),
            state(30.0, "call_end")]
    # 3.0 s after the ladder's first line: too soon; 5 s after the line before: fine; after the
    # caller spoke, the agent's reply 0.5 s later is conversation, not a repeat
    assert audit(recs, 30.0) == [("repeat_too_soon", 19.0)]


def test_lines_of_a_normal_conversation_are_never_repeats() -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller"), *says(4.5, 6.0), *says(6.7, 8.0),
            state(9.0, "call_end")]
    assert audit(recs, 9.0) == []


# ---- dead_air --------------------------------------------------------------------------------
@pytest.mark.parametrize(("gap", "fires"), [(9.99, False), (10.0, True)])
def test_dead_air_at_ten_seconds(gap: float, fires: bool) -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller"), *says(4.0 + gap, 20.0),
            state(21.0, "call_end")]
    found, _ = check_rules(read_timeline(recs, 21.0, has_agent=True), TH)
    assert [(v.rule, v.t, v.duration) for v in found] == ([("dead_air", 4.0, pytest.approx(gap))] if fires else [])


def test_dead_air_is_not_counted_on_hold_nor_on_a_noisy_line() -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller"), state(5.0, "hold"),
            state(60.0, "resume"), *says(60.5, 62.0), *says(63.0, 80.0, "caller", "noisy"), *says(81.0, 82.0),
            state(83.0, "call_end")]
    assert audit(recs, 83.0) == []


def test_each_dead_air_is_one_violation_with_its_duration() -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(14.0, 15.0, "caller"), *says(30.0, 31.0),
            state(32.0, "call_end")]
    found, _ = check_rules(read_timeline(recs, 32.0, has_agent=True), TH)
    assert [(v.rule, v.t, v.duration) for v in found] == [("dead_air", 2.0, 12.0), ("dead_air", 15.0, 15.0)]


# ---- hold_too_long ---------------------------------------------------------------------------
@pytest.mark.parametrize(("held", "fires"), [(120.0, False), (120.01, True)])
def test_hold_longer_than_two_minutes(held: float, fires: bool) -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller"), state(5.0, "hold"),
            state(5.0 + held, "resume"), *says(5.5 + held, 7.0 + held), state(8.0 + held, "call_end")]
    assert audit(recs, 8.0 + held) == ([("hold_too_long", 5.0)] if fires else [])


def test_coming_back_on_hold_restarts_the_two_minutes_but_not_on_a_mono_recording() -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller"), state(5.0, "hold"),
            *says(124.0, 126.0), state(240.0, "resume"), *says(240.5, 242.0), state(243.0, "call_end")]
    assert audit(recs, 243.0) == []
    assert audit([r for r in recs if r.get("channel") != "agent"], 243.0, has_agent=False) == [
        ("hold_too_long", 5.0)]


# ---- noisy_line_unanswered / low_volume_unanswered --------------------------------------------
@pytest.mark.parametrize("protocol", ["noisy_line", "low_volume"])
@pytest.mark.parametrize(("delay", "fires"), [(6.0, False), (6.01, True)])
def test_a_ladder_prompt_must_be_said_within_five_seconds_plus_tolerance(protocol: str, delay: float,
                                                                         fires: bool) -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller", "noisy"), prompt(6.0, protocol),
            *says(6.0 + delay, 9.0 + delay), state(20.0, "call_end")]
    assert audit(recs, 20.0) == ([(f"{protocol}_unanswered", 6.0)] if fires else [])


def test_an_agent_already_talking_when_the_prompt_shows_answers_it() -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0), *says(2.5, 4.0, "caller", "noisy"), *says(5.0, 12.0),
            prompt(6.0, "noisy_line"), state(13.0, "call_end")]
    assert audit(recs, 13.0) == []


# ---- late_greeting ---------------------------------------------------------------------------
@pytest.mark.parametrize(("first", "fires"), [(3.0, False), (3.01, True)])
def test_the_greeting_within_three_seconds_of_the_answer(first: float, fires: bool) -> None:
    recs = [state(0, "call_start"), state(1.0, "answered"), *says(1.0 + first, 5.0 + first),
            *says(6.0 + first, 7.0 + first, "caller"), state(9.0 + first, "call_end")]
    assert audit(recs, 9.0 + first) == ([("late_greeting", 1.0 + first)] if fires else [])


def test_an_agent_who_never_speaks_greets_late() -> None:
    recs = [state(0, "call_start"), *says(0.5, 2.0, "caller"), state(4.0, "call_end")]
    found, _ = check_rules(read_timeline(recs, 4.0, has_agent=True), TH)
    assert [(v.rule, v.t, v.detail) for v in found] == [("late_greeting", 0.0, "the agent never spoke")]


# ---- the script's timings, mono, figures -----------------------------------------------------
def test_a_centre_script_with_longer_waits_changes_the_audit() -> None:
    recs, end = silent_call((5.0, 5.0), 5.0)
    assert audit(recs, end) == []
    slow = Thresholds(silent_line_waits=(8.0, 8.0, 8.0), caller_silent_waits=(8.0,) * 3, dead_air_s=10, hold_s=120)
    assert audit(recs, end, th=slow) == [("repeat_too_soon", 8.5), ("repeat_too_soon", 16.5),
                                         ("silent_line_hangup_early", end)]


def test_mono_checks_only_the_rules_that_need_no_agent_channel() -> None:
    recs = [state(0, "call_start"), *says(30.0, 32.0, "caller"), state(40.0, "call_end")]
    found, skipped = check_rules(read_timeline(recs, 40.0, has_agent=False), TH)
    assert found == []
    assert skipped == [name for name, (_, needs_agent) in RULES.items() if needs_agent]
    assert "hold_too_long" not in skipped


def test_figures_of_a_call() -> None:
    caller = [{"t": t + 0.5, "event": "condition", "channel": "caller", "condition": c, "since": t}
              for t, c in ((3.0, "speech"), (6.0, "noisy"), (8.0, "silent"))]
    recs = [state(0, "call_start"), *says(0.0, 4.0), *caller, prompt(0.0, "greeting"), *says(20.0, 21.0),
            state(25.0, "call_end")]
    fig = call_figures(read_timeline(recs, 25.0, has_agent=True))
    assert fig == {
        "agent_talk_pct": 20.0,  # 5 of 25 s
        "caller_talk_pct": 12.0,
        "silence_pct": 64.0,  # 8-20 and 21-25: 16 of 25 s
        "longest_dead_air_s": 12.0,
        "overtalk_s": 1.0,
        "caller_condition_s": {**dict.fromkeys(CALLER_CONDITIONS, 0.0), "speech": 3.0, "silent": 20.0, "noisy": 2.0},
        "prompts": {"greeting": 1},
    }


def test_thresholds_come_from_a_centres_script_file(tmp_path: Path) -> None:
    text = (scripts_dir() / "zh-CN.toml").read_text(encoding="utf-8")
    assert text.count("wait_s = 5.0") >= 3 and "dead_air_after_s = 10.0" in text
    own = tmp_path / "my-centre.toml"  # silent_line's three waits come first in the file
    own.write_text(text.replace("wait_s = 5.0", "wait_s = 8.0", 3).replace("dead_air_after_s = 10.0",
                                                                          "dead_air_after_s = 20.0"), encoding="utf-8")
    th = Thresholds.from_script(load_script(own), tolerance_s=0.5)
    assert (th.silent_line_waits, th.dead_air_s, th.tolerance_s) == ((8.0, 8.0, 8.0), 20.0, 0.5)
    assert TH.silent_line_waits == (5.0, 5.0, 5.0) and TH.dead_air_s == 10.0 and TH.hold_s == 120.0
    recs, end = silent_call((7.0, 7.5), 7.5)
    assert audit(recs, end) == []
    assert audit(recs, end, th=th) == [("repeat_too_soon", 10.5), ("silent_line_hangup_early", end)]
