"""The coach (softphone_assist/core/detect/coach.py) on (seconds, features) scenarios at exact boundaries.

A scenario is the agent's per-frame features (speech frames at a level, clipped samples, a
syllable-like envelope) plus the updates the pipeline would pass (conditions, call state,
prompts), fed in blocks of several sizes: the hints must be the same whatever the cut.
Real speech through the whole pipeline: tests/test_coach_calls.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from softphone_assist.core.config import COACH_KINDS, CoachConfig, ConfigError
from softphone_assist.core.detect.coach import AgentFrames, Coach, target_syllables_per_minute
from softphone_assist.core.detect.syllables import LAG, count_syllables, text_syllables
from softphone_assist.core.events import (
    CallEvent,
    CoachHint,
    ConditionChanged,
    NoAudio,
    ProtocolEnded,
    ShowPrompt,
    Update,
)

FULL = 32768.0
PAUSE_S = 0.6
TEXTS = {k: f"hint {k}" for k in COACH_KINDS}
START = CallEvent(0.0, "call_start")


def power(dbov: float) -> float:
    return FULL * FULL * 10 ** (dbov / 10)


class Agent:
    """The agent's per-frame features over `seconds`, silent (digital zero) unless set."""

    def __init__(self, seconds: float) -> None:
        n = round(seconds * 100)
        self.power = np.zeros(n)
        self.speech = np.zeros(n, dtype=bool)
        self.clipped = np.zeros(n)

    def speaks(self, t0: float, t1: float, dbov: float = -26.0) -> Agent:
        a, b = round(t0 * 100), round(t1 * 100)
        self.power[a:b] = power(dbov)
        self.speech[a:b] = True
        return self

    def syllables(self, t0: float, t1: float, per_s: float, dbov: float = -26.0) -> Agent:
        """Speech whose level swings 20 dB `per_s` times a second: one nucleus per swing."""
        a, b = round(t0 * 100), round(t1 * 100)
        t = np.arange(b - a) / 100
        db = dbov - 10 + 10 * np.cos(2 * np.pi * per_s * t)
        self.power[a:b] = FULL * FULL * 10 ** (db / 10)
        self.speech[a:b] = True
        return self


def turn(channel: str, t0: float, t1: float | None = None, *, condition: str = "speech") -> list[Update]:
    """A turn as the tracker reports it: start known 3 frames late, end known pause_s late."""
    out: list[Update] = [ConditionChanged(round(t0 + 0.03, 2), channel, condition, t0)]  # type: ignore[arg-type]
    if t1 is not None:
        out.append(ConditionChanged(round(t1 + PAUSE_S, 2), channel, "silent", t1))  # type: ignore[arg-type]
    return out


def run(agent: Agent, updates: Sequence[Update], *, block: int = 100, config: CoachConfig | None = None,
        target_spm: float = 120.0) -> list[CoachHint]:
    coach = Coach(config or CoachConfig(), TEXTS, target_spm, PAUSE_S)
    ups = sorted(updates, key=lambda u: u.t)
    hints: list[CoachHint] = []
    n = agent.power.size
    for a in range(0, n, block):
        b = min(a + block, n)
        mine = [u for u in ups if a / 100 < u.t <= b / 100 or (a == 0 and u.t == 0)]
        frames = AgentFrames(a, agent.power[a:b], agent.speech[a:b], agent.clipped[a:b])
        hints += coach.process(frames, mine)
    return hints


def kinds(hints: Sequence[CoachHint]) -> list[tuple[float, str]]:
    return [(h.t, h.kind) for h in hints]


@pytest.fixture(params=[1, 37, 100, 1000], ids=lambda b: f"block{b}")
def block(request: pytest.FixtureRequest) -> int:
    return int(request.param)


# ---------------------------------------------------------------------------------------------
# overtalk
# ---------------------------------------------------------------------------------------------
def test_overtalk_fires_pause_s_after_the_turns_have_overlapped_1_5_s(block):
    agent = Agent(10).speaks(2.0, 6.0)
    ups = [START, *turn("caller", 1.0, 5.0), *turn("agent", 2.0, 6.0)]
    hints = run(agent, ups, block=block)
    assert kinds(hints) == [(4.1, "overtalk")]  # 2.0 + 1.5 + pause 0.6
    assert hints[0].detail == {"since": 2.0} and hints[0].text == "hint overtalk"
    assert hints[0].to_json() == {"t": 4.1, "event": "coach", "kind": "overtalk", "detail": {"since": 2.0}}


def test_overtalk_needs_the_turns_to_overlap_1_5_s_to_the_frame(block):
    # the caller's turn ends at 3.49 (known at 4.09): 2.0..3.49 is 10 ms short of 1.5 s
    agent = Agent(10).speaks(2.0, 6.0)
    ups = [START, *turn("caller", 1.0, 3.49), *turn("agent", 2.0, 6.0)]
    assert run(agent, ups, block=block) == []
    ups = [START, *turn("caller", 1.0, 3.5), *turn("agent", 2.0, 6.0)]  # exactly 1.5 s
    assert kinds(run(agent, ups, block=block)) == [(4.1, "overtalk")]


def test_a_tone_or_a_noisy_line_is_not_the_caller_talking():
    agent = Agent(10).speaks(2.0, 6.0)
    for condition in ("noisy", "tone"):
        ups = [START, *turn("caller", 1.0, condition=condition), *turn("agent", 2.0, 6.0)]
        assert run(agent, ups) == []
    ups = [START, *turn("caller", 1.0, condition="low_volume"), *turn("agent", 2.0, 6.0)]
    assert kinds(run(agent, ups)) == [(4.1, "overtalk")]


# ---------------------------------------------------------------------------------------------
# agent_quiet
# ---------------------------------------------------------------------------------------------
def test_quiet_agent_fires_after_10_s_of_speech_frames_below_minus_35(block):
    agent = Agent(30).speaks(1.0, 6.0, -36.0).speaks(8.0, 13.5, -36.0)  # 5 s + 5 s of speech at 13.0
    hints = run(agent, [START], block=block)
    assert kinds(hints) == [(13.0, "agent_quiet")]
    assert hints[0].detail == {"speech_dbov": -36.0, "threshold_dbov": -35.0}


def test_quiet_needs_the_whole_window_and_the_level_under_the_threshold():
    assert run(Agent(30).speaks(1.0, 10.99, -40.0), [START]) == []  # 9.99 s of speech
    assert run(Agent(30).speaks(1.0, 25.0, -34.9), [START]) == []
    # the window slides: 10 s at -20 then quiet speech: the mean crosses -35 dBov only when the loud
    # part has nearly left the window (mean power of 1 s at -20 and 9 s at -50 is -30.0: not yet)
    agent = Agent(40).speaks(1.0, 11.0, -20.0).speaks(11.0, 30.0, -50.0)
    hints = run(agent, [START])
    assert len(hints) == 1 and hints[0].kind == "agent_quiet" and 20.5 < hints[0].t < 21.0


# ---------------------------------------------------------------------------------------------
# agent_clipping
# ---------------------------------------------------------------------------------------------
def test_clipping_fires_at_the_tenth_clipped_sample_in_agent_speech(block):
    agent = Agent(10).speaks(1.0, 5.0, -10.0)
    agent.clipped[150] = 4
    agent.clipped[220] = 5
    assert run(agent, [START], block=block) == []  # 9 samples
    agent.clipped[300] = 1
    hints = run(agent, [START], block=block)
    assert kinds(hints) == [(3.01, "agent_clipping")]
    assert hints[0].detail == {"clipped": 10, "window_s": 5.0}


def test_clipping_outside_speech_or_spread_over_more_than_5_s_of_speech_fires_nothing():
    agent = Agent(20).speaks(1.0, 2.0)
    agent.clipped[500] = 50  # a click while the agent is not speaking
    assert run(agent, [START]) == []
    agent = Agent(20).speaks(1.0, 15.0)
    agent.clipped[100] = 9
    agent.clipped[600] = 1  # 5.01 s of speech after the first frame: out of the window
    assert run(agent, [START]) == []


# ---------------------------------------------------------------------------------------------
# speech_rate
# ---------------------------------------------------------------------------------------------
def test_speech_rate_fires_when_20_s_of_turn_time_run_30_percent_over_the_script(block):
    # 3 syllables/s = 180 a minute against 120 (limit 156); 20 s of turn time from 1.0 end at 21.0,
    # known rate_delay frames later
    agent = Agent(40).syllables(1.0, 30.0, 3.0)
    coach = Coach(CoachConfig(), TEXTS, 120.0, PAUSE_S)
    ups = [START, *turn("agent", 1.0, 30.0)]
    hints = run(agent, ups, block=block)
    assert kinds(hints) == [(round(21.0 + coach.rate_delay / 100, 2), "speech_rate")]
    assert hints[0].detail["limit_per_minute"] == 156.0
    assert 170 <= hints[0].detail["syllables_per_minute"] <= 190


def test_speech_rate_at_the_scripts_rate_or_in_short_turns_fires_nothing():
    agent = Agent(40).syllables(1.0, 30.0, 2.0)  # 120 a minute
    assert run(agent, [START, *turn("agent", 1.0, 30.0)]) == []
    agent = Agent(40).syllables(1.0, 19.0, 3.0)  # fast, but only 18 s of speech
    assert run(agent, [START, *turn("agent", 1.0, 19.0)]) == []


def test_pauses_between_turns_are_not_speaking_time():
    # 10 turns of 2.5 s at 3/s with 2 s between them: the rate of the turns, 180, not of the span
    agent = Agent(60)
    ups: list[Update] = [START]
    for k in range(10):
        t0 = 1.0 + 4.5 * k
        agent.syllables(t0, t0 + 2.5, 3.0)
        ups += turn("agent", t0, t0 + 2.5)
    hints = run(agent, ups)
    assert [h.kind for h in hints] == ["speech_rate"]


def test_the_script_rate_in_syllables():
    assert target_syllables_per_minute(120.0, ["您好，很高兴为您服务"]) == pytest.approx(120.0)
    # "Thank you for calling" = 5 syllables, 21 counted characters
    assert target_syllables_per_minute(760.0, ["Thank you for calling."]) == pytest.approx(760 * 5 / 21)
    assert text_syllables("Please enter your password followed by the pound key.") == 12


def test_syllable_counter_counts_one_nucleus_per_swing():
    agent = Agent(12).syllables(1.0, 11.0, 4.0)
    assert count_syllables(agent.power, agent.speech) in range(39, 42)  # 40 swings in 10 s
    assert LAG > 0


# ---------------------------------------------------------------------------------------------
# when the coach listens; rate limit; switches
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("block", [37, 1000])  # 300 s in 1-frame blocks is slow and adds nothing here
def test_each_kind_fires_at_most_once_per_two_minutes(block):
    agent = Agent(300).speaks(0.0, 300.0, -40.0)
    hints = run(agent, [START], block=block)
    assert kinds(hints) == [(10.0, "agent_quiet"), (130.0, "agent_quiet"), (250.0, "agent_quiet")]


def test_nothing_while_the_agent_follows_a_ladder_prompt():
    prompt = ShowPrompt(5.0, "caller_silent", 1, 3, "Hello?", "Caller silent")
    agent = Agent(40).speaks(1.0, 8.0, -40.0).speaks(10.0, 30.0, -40.0)
    ups = [START, prompt, *turn("agent", 1.0, 8.0), *turn("agent", 10.0, 30.0)]
    # speech frames 1.0..5.0 count (4 s); the prompted line 5.0..8.0 does not; it has been said when
    # its end is reported (8.6); 6 s more from 10.0: 16.0
    assert kinds(run(agent, ups)) == [(16.0, "agent_quiet")]
    # the ladder's end also ends the prompt: here before the line is said
    ups = [START, prompt, ProtocolEnded(6.0, "caller_silent", "caller_spoke"), *turn("agent", 1.0, 30.0)]
    agent = Agent(40).speaks(1.0, 30.0, -40.0)
    assert kinds(run(agent, ups)) == [(12.0, "agent_quiet")]  # 4 s before, 6 s from 6.0


def test_nothing_outside_a_call_on_hold_or_during_an_outage():
    agent = Agent(80).speaks(0.0, 80.0, -40.0)
    assert run(agent, []) == []  # no call
    ups = [START, CallEvent(5.0, "hold"), CallEvent(50.0, "resume")]
    assert kinds(run(agent, ups)) == [(55.0, "agent_quiet")]
    ups = [START, NoAudio(5.0, "caller", 5.0), NoAudio(50.0, "caller", 5.0, ended=True)]
    assert kinds(run(agent, ups)) == [(55.0, "agent_quiet")]


def test_a_kind_switched_off_never_fires():
    agent = Agent(30).speaks(0.0, 30.0, -40.0)
    agent.clipped[500] = 20
    both = run(agent, [START])
    assert sorted(h.kind for h in both) == ["agent_clipping", "agent_quiet"]
    only = run(agent, [START], config=CoachConfig(kinds=frozenset({"agent_clipping"})))
    assert [h.kind for h in only] == ["agent_clipping"]


def test_coach_thresholds_are_checked():
    with pytest.raises(ConfigError, match=r"coach.overtalk_s: 0.1 is outside 0.5..10 s"):
        CoachConfig(overtalk_s=0.1)
    with pytest.raises(ConfigError, match="coach: unknown kind 'mumble'"):
        CoachConfig(kinds=frozenset({"mumble"}))
    assert CoachConfig(quiet_dbov=-40.0).quiet_dbov == -40.0


def test_window_sums_match_a_plain_sum_whatever_the_pieces():
    from softphone_assist.core.detect.coach import _Window

    rng = np.random.default_rng(1)
    for size in (1, 5, 50, 1000):
        x = rng.random(3000)
        w = _Window(size)
        sums: list[float] = []
        counts: list[int] = []
        i = 0
        while i < x.size:
            k = int(rng.integers(0, 400))
            s, c = w.sums(x[i : i + k])
            sums += s.tolist()
            counts += c.tolist()
            i += k
        assert np.allclose(sums, [x[max(0, j + 1 - size) : j + 1].sum() for j in range(x.size)])
        assert counts == [min(j + 1, size) for j in range(x.size)]


# ---------------------------------------------------------------------------------------------
# the hint texts: the script files' [coach] section
# ---------------------------------------------------------------------------------------------
def test_every_script_has_a_hint_per_kind():
    from softphone_assist.core.script.loader import load_script

    for locale in ("zh-CN", "zh-TW", "en"):
        script = load_script(locale)
        assert set(script.coach) == set(COACH_KINDS) and all(script.coach.values())
    assert load_script("en").coach["overtalk"] == "Let the customer finish."


OVERTALK = 'overtalk = "Let the customer finish."'


@pytest.mark.parametrize(("change", "problem"), [
    (('speech_rate = "Slow down a little."\n', ""), r"coach\.speech_rate: missing"),
    ((OVERTALK, 'overtalk = ""'), r"coach\.overtalk: must not be empty"),
    ((OVERTALK, "overtalk_s = 2\n" + OVERTALK), r"coach\.overtalk_s: unknown key \(known here: agent_clipping"),
    ((OVERTALK, 'overtalk = "{title}, let the customer finish."'), r"coach\.overtalk: placeholder"),
])
def test_the_loader_refuses_a_bad_coach_section_naming_file_line_and_key(tmp_path, change, problem):
    from softphone_assist.core.errors import ScriptError
    from softphone_assist.core.script.loader import load_script, scripts_dir

    path = tmp_path / "en.toml"
    text = (scripts_dir() / "en.toml").read_text(encoding="utf-8")
    assert change[0] in text
    path.write_text(text.replace(*change), encoding="utf-8")
    with pytest.raises(ScriptError, match=rf"en\.toml:\d+: {problem}"):
        load_script(path)
