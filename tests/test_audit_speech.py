"""`audit_one` on stereo calls built from real recorded speech (tools/callkit.py): in each call the
agent breaks one rule once, and its compliant twin breaks none. Every violation's time is asserted
against the engine's own timeline (the `since` of the agent's speech, the prompt, the call end) to
the 10 ms frame, and that timeline against where the speech really is in the file.

Agent: the en Allison voice; caller: the it Carlo voice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from callkit import RATE, CallBuilder, have_speech, utterance

from softphone_assist.audit.one import AuditOptions, audit_one, timeline_records

pytestmark = [
    pytest.mark.speech,
    pytest.mark.skipif(not (have_speech() and have_speech("it_IT_m_Carlo")),
                       reason="needs asterisk-core-sounds-en-wav and -it-wav (./setup.sh test installs them)"),
]

GREETING = "en_US_f_Allison/conf-onlyperson"  # 3.2 s
LINE = "en_US_f_Allison/pls-hold-while-try"  # 2.4 s
CALLER = ("it_IT_m_Carlo/agent-pass", "it_IT_m_Carlo/auth-incorrect")
DETECTED_WITHIN_S = 0.25  # the agent detector's speech start/end vs the recording's first/last sample


def length(name: str) -> float:
    return len(utterance(name)) / RATE


def run(b: CallBuilder, tmp_path: Path, name: str = "call") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    wav = b.write(tmp_path / f"{name}.wav")
    opts = AuditOptions()
    if b.events:
        b.write_events(tmp_path / f"{name}.events.jsonl")
        opts = AuditOptions(events_dir=tmp_path)
    row = audit_one(wav, opts)
    assert "error" not in row, row
    return row, timeline_records(wav, opts)[0]


def found(row: dict[str, Any]) -> list[tuple[str, float]]:
    return [(v["rule"], v["t"]) for v in row["violations"]]


def agent_changes(recs: list[dict[str, Any]], condition: str) -> list[float]:
    return [r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "agent"
            and r["condition"] == condition]


def prompts(recs: list[dict[str, Any]], protocol: str) -> list[float]:
    return [r["t"] for r in recs if r["event"] == "prompt" and r["protocol"] == protocol]


def silent_line_call(first_gap: float, hang_up_after: float, *, extra_repeat: bool = False) -> CallBuilder:
    """A dead line (hiss): greeting, [a repeat `first_gap` s later], repeat, goodbye 5.7 s apart."""
    gaps = [first_gap, 5.7, 5.7] if extra_repeat else [first_gap, 5.7]
    names = [GREETING, *[GREETING] * (len(gaps) - 1), LINE]
    t, ends = 0.5, []
    for i, name in enumerate(names):
        ends.append(t + length(name))
        t = ends[-1] + (gaps[i] if i < len(gaps) else 0.0)
    b = CallBuilder(round(ends[-1] + hang_up_after, 2), caller_floor="hiss", agent_floor="hiss", seed=3)
    start = 0.5
    for i, name in enumerate(names):
        span = b.agent_says(start, name)
        start = span.end + (gaps[i] if i < len(gaps) else 0.0)
    return b


def test_hanging_up_a_silent_line_two_seconds_after_the_goodbye(tmp_path: Path) -> None:
    b = silent_line_call(5.7, 2.0)
    row, recs = run(b, tmp_path)
    ends = agent_changes(recs, "silent")
    assert len(ends) == 3 and abs(ends[2] - b.placements[2].span.end) <= DETECTED_WITHIN_S
    call_end = [r["t"] for r in recs if r["event"] == "call_state" and r["state"] == "call_end"]
    assert call_end == [b.duration]
    assert found(row) == [("silent_line_hangup_early", b.duration)]
    assert not [r for r in recs if r["event"] == "may_hang_up"]  # the engine agrees: not yet allowed


def test_twin_waits_for_the_may_hang_up(tmp_path: Path) -> None:
    b = silent_line_call(5.7, 5.5)
    row, recs = run(b, tmp_path)
    allowed = [r["t"] for r in recs if r["event"] == "may_hang_up"]
    assert allowed and allowed[0] <= b.duration
    assert found(row) == []
    assert row["prompts"] == {"greeting": 1, "silent_line": 2}


def test_repeating_the_greeting_two_seconds_after_it_ended(tmp_path: Path) -> None:
    b = silent_line_call(2.0, 5.5, extra_repeat=True)
    row, recs = run(b, tmp_path)
    starts = agent_changes(recs, "speech")
    assert len(starts) == 4 and abs(starts[1] - b.placements[1].span.start) <= DETECTED_WITHIN_S
    assert found(row) == [("repeat_too_soon", starts[1])]


def conversation(duration: float, agent_reply_after: float, greeting_at: float = 0.5) -> CallBuilder:
    b = CallBuilder(duration, caller_floor="hiss", agent_floor="hiss", seed=4)
    g = b.agent_says(greeting_at, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    b.agent_says(ans.end + agent_reply_after, LINE)
    return b


@pytest.mark.parametrize(("reply_after", "dead"), [(11.0, True), (2.0, False)])
def test_dead_air_before_the_agents_reply(reply_after: float, dead: bool, tmp_path: Path) -> None:
    g_end = 0.5 + length(GREETING)
    b = conversation(round(g_end + 0.8 + length(CALLER[0]) + reply_after + length(LINE) + 3.0, 2), reply_after)
    row, recs = run(b, tmp_path)
    if not dead:
        assert found(row) == []
        return
    caller_end = next(r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "caller"
                  and r["condition"] == "silent")
    reply = agent_changes(recs, "speech")[1]
    assert abs(reply - b.placements[2].span.start) <= DETECTED_WITHIN_S
    assert [(v["rule"], v["t"], v["duration"]) for v in row["violations"]] == [
        ("dead_air", caller_end, round(reply - caller_end, 3))]
    assert row["longest_dead_air_s"] == round(reply - caller_end, 2)


@pytest.mark.parametrize(("resume_at", "too_long"), [(135.0, True), (128.0, False)])
def test_hold_longer_than_two_minutes(resume_at: float, too_long: bool, tmp_path: Path) -> None:
    b = CallBuilder(resume_at + 6.0, caller_floor="zero", agent_floor="hiss", seed=5)
    b.call_event(0.0, "call_start")
    g = b.agent_says(0.5, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    b.call_event(10.0, "hold")
    b.call_event(resume_at, "resume")
    b.agent_says(resume_at + 0.5, LINE)
    assert ans.end < 10.0
    row, recs = run(b, tmp_path)
    assert [r["state"] for r in recs if r["event"] == "call_state"] == ["call_start", "hold", "resume", "call_end"]
    assert [(v["rule"], v["t"], v.get("duration")) for v in row["violations"]] == (
        [("hold_too_long", 10.0, resume_at - 10.0)] if too_long else [])


def answer_every_prompt(b: CallBuilder, tmp_path: Path, protocol: str) -> tuple[dict[str, Any], list[float]]:
    """The compliant twin: the agent says the line 1 s after each `protocol` prompt the engine shows
    (placing a line moves the next steps, so replay again until every prompt is answered)."""
    answered: set[float] = set()
    for attempt in range(6):
        row, recs = run(b, tmp_path, f"twin{attempt}")
        due = [t for t in prompts(recs, protocol) if t not in answered]
        if not due:
            return row, prompts(recs, protocol)
        for t in due:
            b.agent_says(t + 1.0, LINE)
            answered.add(t)
    raise AssertionError(f"{protocol} prompts keep coming: {prompts(recs, protocol)}")


def noisy_call() -> CallBuilder:
    b = CallBuilder(30.0, caller_floor="hiss", agent_floor="hiss", seed=6)
    g = b.agent_says(0.5, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    noise = b.caller_noise(ans.end + 2.0, ans.end + 12.0, "pink", -28.0)
    b.caller_says(noise.start + 0.5, CALLER[1])
    b.agent_says(noise.end + 3.0, LINE)  # the agent talks again once the line is clean
    return b


def quiet_call() -> CallBuilder:
    b = CallBuilder(24.0, caller_floor="comfort_noise", agent_floor="hiss", seed=7)
    g = b.agent_says(0.5, GREETING)
    turn = b.turn("caller", g.end + 1.0, CALLER, level_dbov=-48.0, gap_s=0.3)
    b.caller_says(turn[-1].end + 6.0, CALLER[0])  # louder, after the agent asked
    return b


@pytest.mark.parametrize(("make", "protocol"), [(noisy_call, "noisy_line"), (quiet_call, "low_volume")])
def test_a_ladder_prompt_the_agent_never_says(make: Any, protocol: str, tmp_path: Path) -> None:
    row, recs = run(make(), tmp_path)
    due = prompts(recs, protocol)
    assert len(due) == 1  # the engine waits for the agent's line before its next step
    assert found(row) == [(f"{protocol}_unanswered", due[0])]


@pytest.mark.parametrize(("make", "protocol"), [(noisy_call, "noisy_line"), (quiet_call, "low_volume")])
def test_twin_says_every_ladder_line(make: Any, protocol: str, tmp_path: Path) -> None:
    row, due = answer_every_prompt(make(), tmp_path, protocol)
    assert due and row["prompts"][protocol] == len(due)
    assert found(row) == []


@pytest.mark.parametrize(("greeting_at", "late"), [(3.5, True), (2.5, False)])
def test_late_greeting(greeting_at: float, late: bool, tmp_path: Path) -> None:
    b = conversation(round(greeting_at + length(GREETING) + 0.8 + length(CALLER[0]) + 1.0 + length(LINE) + 3.0, 2),
                     1.0, greeting_at)
    row, recs = run(b, tmp_path)
    first = agent_changes(recs, "speech")[0]
    assert abs(first - greeting_at) <= DETECTED_WITHIN_S
    assert found(row) == ([("late_greeting", first)] if late else [])


def test_mono_recording_reports_the_rules_it_could_not_check(tmp_path: Path) -> None:
    import soundfile as sf

    b = conversation(25.0, 11.0)
    sf.write(tmp_path / "mono.wav", b.caller_track().clip(-32768, 32767).round().astype("int16"), b.rate)
    row = audit_one(tmp_path / "mono.wav", AuditOptions())
    assert row["channels"] == "caller" and row["agent_talk_pct"] is None
    assert row["violations"] == []  # the dead air is there, but nobody can know the agent was silent
    assert "dead_air" in row["rules_not_checked"] and "hold_too_long" not in row["rules_not_checked"]


def caller_silent_call(extra: list[tuple[float, str]]) -> CallBuilder:
    """Greeting, the caller answers, the agent replies; then the caller goes silent. `extra`: agent
    lines at absolute times; the call ends 5 s after the last line (no dead air at the end)."""
    end = max([20.0, *(t + length(name) + 5.0 for t, name in extra)])
    b = CallBuilder(round(end, 2), caller_floor="hiss", agent_floor="hiss", seed=8)
    g = b.agent_says(0.5, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    b.agent_says(ans.end + 1.0, LINE)
    for t, name in extra:
        b.agent_says(t, name)
    return b


@pytest.mark.parametrize(("gap", "too_soon"), [(2.0, True), (5.7, False)])
def test_repeating_can_you_hear_me_too_soon_in_the_caller_silent_ladder(gap: float, too_soon: bool,
                                                                        tmp_path: Path) -> None:
    _, recs = run(caller_silent_call([]), tmp_path, "base")
    due = prompts(recs, "caller_silent")
    assert len(due) == 1  # the ladder's first step, 5 s after the agent's reply
    first = round(due[0] + 0.7, 2)
    again = round(first + length(LINE) + gap, 2)
    row, recs = run(caller_silent_call([(first, LINE), (again, LINE)]), tmp_path)
    assert prompts(recs, "caller_silent")[0] == due[0]  # the same moment: nothing before it changed
    starts = agent_changes(recs, "speech")
    assert len(starts) == 4 and abs(starts[3] - again) <= DETECTED_WITHIN_S
    assert found(row) == ([("repeat_too_soon", starts[3])] if too_soon else [])
