"""The whole replay path on real recorded speech: stereo agent/caller WAVs built here, replayed through
`softphone-assist replay --jsonl`, prompt times asserted to the 10 ms frame.

Agent: the en Allison voice; caller: the it Carlo voice (male), so the two sides differ.
Every wait is counted from the agent's speech end as the agent detector reports it (`since` of the
agent's `silent` event), and that end is checked against where the line really ends in the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from callkit import CallBuilder, Span, have_speech

from softphone_assist.cli import main

pytestmark = [
    pytest.mark.speech,
    pytest.mark.skipif(not (have_speech() and have_speech("it_IT_m_Carlo")),
                       reason="needs asterisk-core-sounds-en-wav and -it-wav (./setup.sh test installs them)"),
]

GREETING = "en_US_f_Allison/conf-onlyperson"  # 3.2 s
LINE = "en_US_f_Allison/pls-hold-while-try"  # 2.4 s
SHORT = "en_US_f_Allison/vm-leavemsg"  # 2.1 s
CALLER = ("it_IT_m_Carlo/agent-pass", "it_IT_m_Carlo/auth-incorrect", "it_IT_m_Carlo/agent-incorrect")
END_TOLERANCE_S = 0.05  # the detected end of a line vs the recording's last frame of sound (issue 9 §2)
START = "2026-11-23T14:00:00"


def replay(b: CallBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str], *, events: bool = False,
           mono: bool = False) -> list[dict]:
    wav = tmp_path / "call.wav"
    if mono:
        import soundfile as sf

        sf.write(wav, b.caller_track().clip(-32768, 32767).round().astype("int16"), b.rate)
    else:
        b.write(wav)
    args = ["replay", str(wav), "--jsonl", "--start-time", START]
    if events:
        args += ["--events", str(b.write_events(tmp_path / "call.events.jsonl"))]
    assert main(args) == 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]


def prompts(recs: list[dict]) -> list[tuple[float, str, int]]:
    return [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]


def of(recs: list[dict], event: str, **match: object) -> list[dict]:
    return [r for r in recs if r["event"] == event and all(r.get(k) == v for k, v in match.items())]


def agent_ends(recs: list[dict]) -> list[float]:
    return [r["since"] for r in of(recs, "condition", channel="agent", condition="silent")]


def close_to(detected: float, span: Span) -> bool:
    return abs(detected - span.end) <= END_TOLERANCE_S


def at(t: float) -> float:
    return round(t, 3)


@pytest.mark.parametrize("floor", ["zero", "hiss", "comfort_noise"])
def test_silent_line_runs_the_whole_ladder_five_seconds_after_each_agent_line(floor, tmp_path, capsys):
    b = CallBuilder(32.0, caller_floor=floor, agent_floor="hiss", seed=1)
    g = b.agent_says(0.5, GREETING)
    rep = b.agent_says(g.end + 5.7, GREETING)  # the agent repeats it 0.7 s after the prompt
    bye = b.agent_says(rep.end + 5.7, LINE)
    recs = replay(b, tmp_path, capsys)

    ends = agent_ends(recs)
    assert len(ends) == 3 and all(close_to(e, s) for e, s in zip(ends, (g, rep, bye), strict=True))
    assert prompts(recs) == [(0.0, "greeting", 1), (at(ends[0] + 5), "silent_line", 2),
                             (at(ends[1] + 5), "silent_line", 3)]
    assert [(r["t"], r["protocol"]) for r in of(recs, "may_hang_up")] == [(at(ends[2] + 5), "silent_line")]
    assert of(recs, "condition", channel="caller") == []  # a dead line is silent, whatever its floor
    assert of(recs, "protocol_end") == [{"t": b.duration, "event": "protocol_end", "protocol": "silent_line",
                                         "reason": "call_end"}]


def test_mono_silent_line_counts_the_greeting_as_said_at_call_start(tmp_path, capsys):
    b = CallBuilder(9.0, caller_floor="comfort_noise")
    recs = replay(b, tmp_path, capsys, mono=True)
    assert prompts(recs)[:2] == [(0.0, "greeting", 1), (5.0, "silent_line", 2)]


def test_caller_who_answers_after_the_repeat_ends_the_silent_line(tmp_path, capsys):
    b = CallBuilder(26.0, caller_floor="hiss")
    g = b.agent_says(0.5, GREETING)
    rep = b.agent_says(g.end + 5.7, GREETING)
    ans = b.caller_says(rep.end + 2.0, CALLER[0])
    recs = replay(b, tmp_path, capsys)
    ends = agent_ends(recs)
    assert prompts(recs) == [(0.0, "greeting", 1), (at(ends[0] + 5), "silent_line", 2)]
    first = of(recs, "condition", channel="caller")[0]
    assert first["condition"] == "speech" and ans.start <= first["t"] <= ans.start + 0.5
    assert of(recs, "protocol_end")[0] == {"t": first["t"], "event": "protocol_end",
                                           "protocol": "silent_line", "reason": "caller_spoke"}


def test_quiet_caller_gets_the_low_volume_ladder_two_seconds_after_it_is_detected(tmp_path, capsys):
    b = CallBuilder(20.0, caller_floor="comfort_noise")
    g = b.agent_says(0.5, GREETING)
    b.turn("caller", g.end + 1.0, CALLER[:2], level_dbov=-48.0, gap_s=0.3)
    recs = replay(b, tmp_path, capsys)
    caller = of(recs, "condition", channel="caller")
    assert caller[0]["condition"] == "low_volume"
    assert caller[0]["speech_dbov"] < -37.0
    assert of(recs, "protocol_end")[0]["reason"] == "caller_spoke"
    assert prompts(recs)[1] == (at(caller[0]["t"] + 2.0), "low_volume", 1)


def test_noisy_line_gets_the_noisy_ladder_and_resolves_when_the_noise_stops(tmp_path, capsys):
    b = CallBuilder(30.0, caller_floor="hiss")
    g = b.agent_says(0.5, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    noise = b.caller_noise(ans.end + 2.0, ans.end + 12.0, "pink", -28.0)
    b.caller_says(noise.start + 0.5, CALLER[1])  # the caller talks inside the noise
    recs = replay(b, tmp_path, capsys)
    noisy = of(recs, "condition", channel="caller", condition="noisy")
    assert noisy and noise.start <= noisy[0]["t"] <= noise.start + 1.0
    assert noisy[0]["noise_dbov"] > -45.0
    assert (at(noisy[0]["t"] + 2.0), "noisy_line", 1) in prompts(recs)
    quiet = [r for r in of(recs, "condition", channel="caller") if r["t"] > noise.end]
    assert quiet[0]["condition"] == "silent" and quiet[0]["t"] <= noise.end + 1.0
    assert {"t": at(quiet[0]["t"] + 2.0), "event": "protocol_end", "protocol": "noisy_line",
            "reason": "resolved"} in recs


def test_normal_conversation_gets_no_prompt_at_all(tmp_path, capsys):
    b = CallBuilder(36.0, caller_floor="comfort_noise", agent_floor="hiss")
    t = b.agent_says(0.5, GREETING).end
    for i in range(2):
        t = b.caller_says(t + 0.8, CALLER[i]).end
        t = b.agent_says(t + 1.2, (LINE, SHORT)[i]).end
    t = b.caller_says(t + 2.5, CALLER[2]).end  # the caller speaks last; the file ends < 10 s later
    assert b.duration - t < 10.0
    recs = replay(b, tmp_path, capsys)
    assert prompts(recs) == [(0.0, "greeting", 1)]
    assert [r["reason"] for r in of(recs, "protocol_end")] == ["caller_spoke"]
    assert {r["condition"] for r in of(recs, "condition", channel="caller")} == {"speech", "silent"}


def test_dead_air_after_ten_seconds_of_silence_on_both_sides(tmp_path, capsys):
    b = CallBuilder(24.0, caller_floor="hiss")
    g = b.agent_says(0.5, GREETING)
    b.caller_says(g.end + 0.8, CALLER[0])
    recs = replay(b, tmp_path, capsys)
    caller_end = of(recs, "condition", channel="caller", condition="silent")[0]["since"]
    assert prompts(recs) == [(0.0, "greeting", 1), (at(caller_end + 10.0), "dead_air", 1)]


def test_caller_silent_mid_call_after_the_agent_spoke_last(tmp_path, capsys):
    b = CallBuilder(20.0, caller_floor="hiss")
    g = b.agent_says(0.5, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    b.agent_says(ans.end + 1.0, LINE)
    recs = replay(b, tmp_path, capsys)
    ends = agent_ends(recs)
    assert prompts(recs) == [(0.0, "greeting", 1), (at(ends[1] + 5.0), "caller_silent", 1)]


def test_hold_reminder_after_two_minutes_and_the_back_from_hold_line(tmp_path, capsys):
    b = CallBuilder(140.0, caller_floor="zero")
    b.call_event(0.0, "call_start")
    g = b.agent_says(0.5, GREETING)
    b.caller_says(g.end + 0.8, CALLER[0])
    b.call_event(10.0, "hold")
    b.call_event(135.0, "resume")
    b.call_event(140.0, "call_end")
    recs = replay(b, tmp_path, capsys, events=True)
    assert prompts(recs) == [(0.0, "greeting", 1), (130.0, "hold", 1), (135.0, "hold", 2)]
    assert [r["state"] for r in of(recs, "call_state")] == ["call_start", "hold", "resume", "call_end"]


def test_closing_asks_anything_else_five_seconds_after_the_closing_line(tmp_path, capsys):
    b = CallBuilder(24.0, caller_floor="hiss")
    g = b.agent_says(0.5, GREETING)
    ans = b.caller_says(g.end + 0.8, CALLER[0])
    close = b.agent_says(ans.end + 0.8, SHORT)
    b.call_event(0.0, "call_start")
    b.call_event(close.end + 0.1, "closing")
    recs = replay(b, tmp_path, capsys, events=True)
    ends = agent_ends(recs)
    assert close_to(ends[1], close)
    assert prompts(recs) == [(0.0, "greeting", 1), (at(ends[1] + 5.0), "closing", 2)]
