"""AgentSpeechTracker: the agent's own microphone, speech | silent, `since` exact on the 10 ms grid.

The vad argument is constructed here (webrtcvad runs outside the core), so the frames where the
agent speaks are known exactly; the level gate is exercised with tones over the mic's floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import AgentSpeechTracker, frame_len
from softphone_assist.core.events import ConditionChanged

RATES = [8000, 16000]


def line(rate: int, frames: int, floor_dbov: float | None = None, seed: int = 0) -> np.ndarray:
    n = frames * frame_len(rate)
    if floor_dbov is None:
        return np.zeros(n)
    x = np.random.default_rng(seed).standard_normal(n)
    return x / np.sqrt(np.mean(x * x)) * 32768 * 10 ** (floor_dbov / 20)


def speak(x: np.ndarray, vad: np.ndarray, rate: int, first: int, stop: int, level_dbov: float = -20.0) -> None:
    """The agent talks from frame `first` to frame `stop` (exclusive): a tone, and vad says so."""
    fl = frame_len(rate)
    t = np.arange((stop - first) * fl) / rate
    x[first * fl : stop * fl] += 32768 * 10 ** (level_dbov / 20) * np.sqrt(2) * np.sin(2 * np.pi * 200 * t)
    vad[first:stop] = True


def run(x: np.ndarray, vad: np.ndarray, rate: int, block: int = 100,
        config: DetectorConfig | None = None) -> tuple[list[ConditionChanged], AgentSpeechTracker]:
    fl = frame_len(rate)
    frames = x.reshape(-1, fl)
    tracker = AgentSpeechTracker(rate, config or DetectorConfig())
    events: list[ConditionChanged] = []
    for s in range(0, frames.shape[0], block):
        events += tracker.process(frames[s : s + block], vad[s : s + block], s)
    return events, tracker


def times(events: list[ConditionChanged]) -> list[tuple[str, float, float]]:
    return [(e.condition, e.t, e.since) for e in events]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("floor", [None, -60.0])
def test_a_speech_burst_has_exact_start_and_end(rate, floor):
    x, vad = line(rate, 300, floor), np.zeros(300, bool)
    speak(x, vad, rate, 100, 150)
    events, tracker = run(x, vad, rate)
    # speech is confirmed at the third frame (t = 1.03) and dates from the first (1.00); the end is
    # the end of frame 149 (1.50), decided once the pause exceeds 0.6 s (at 2.11)
    assert times(events) == [("speech", 1.03, 1.0), ("silent", 2.11, 1.5)]
    assert all(e.channel == "agent" for e in events)
    assert tracker.condition == "silent"


@pytest.mark.parametrize("rate", RATES)
def test_a_half_second_pause_is_inside_the_turn(rate):
    x, vad = line(rate, 400, -65.0), np.zeros(400, bool)
    speak(x, vad, rate, 50, 150)
    speak(x, vad, rate, 200, 250)  # 0.5 s pause
    assert times(run(x, vad, rate)[0]) == [("speech", 0.53, 0.5), ("silent", 3.11, 2.5)]


@pytest.mark.parametrize("rate", RATES)
def test_a_pause_of_exactly_the_allowance_is_not_silence_and_one_frame_more_is(rate):
    for pause, expected in ((60, 2), (61, 4)):
        x, vad = line(rate, 400), np.zeros(400, bool)
        speak(x, vad, rate, 50, 150)
        speak(x, vad, rate, 150 + pause, 250)
        assert len(run(x, vad, rate)[0]) == expected, f"pause {pause} frames"


@pytest.mark.parametrize("rate", RATES)
def test_an_eight_tenths_pause_ends_the_turn(rate):
    x, vad = line(rate, 400, -65.0), np.zeros(400, bool)
    speak(x, vad, rate, 50, 150)
    speak(x, vad, rate, 230, 280)  # 0.8 s pause
    assert times(run(x, vad, rate)[0]) == [
        ("speech", 0.53, 0.5), ("silent", 2.11, 1.5), ("speech", 2.33, 2.3), ("silent", 3.41, 2.8),
    ]


@pytest.mark.parametrize("rate", RATES)
def test_pause_allowance_follows_the_config(rate):
    x, vad = line(rate, 400), np.zeros(400, bool)
    speak(x, vad, rate, 50, 150)
    speak(x, vad, rate, 230, 280)
    events, _ = run(x, vad, rate, config=DetectorConfig(pause_s=1.0))
    assert times(events) == [("speech", 0.53, 0.5), ("silent", 3.81, 2.8)]


@pytest.mark.parametrize("rate", RATES)
def test_clicks_shorter_than_three_frames_are_not_a_turn(rate):
    x, vad = line(rate, 300, -65.0), np.zeros(300, bool)
    for start in (50, 100, 150):
        speak(x, vad, rate, start, start + 2)
    assert run(x, vad, rate)[0] == []


@pytest.mark.parametrize("rate", RATES)
def test_webrtcvad_on_background_noise_is_not_agent_speech(rate):
    # office babble at the mic's floor: webrtcvad fires, but nothing rises 6 dB over the floor
    x = line(rate, 400, -40.0)
    vad = np.ones(400, bool)
    assert run(x, vad, rate)[0] == []


@pytest.mark.parametrize("rate", RATES)
def test_loud_sound_that_webrtcvad_rejects_is_not_agent_speech(rate):
    x, vad = line(rate, 300, -65.0), np.zeros(300, bool)
    speak(x, vad, rate, 100, 200)
    vad[:] = False
    assert run(x, vad, rate)[0] == []


@pytest.mark.parametrize("rate", RATES)
def test_result_does_not_depend_on_the_block_size(rate):
    rng = np.random.default_rng(7)
    x, vad = line(rate, 1200, -62.0), np.zeros(1200, bool)
    start = 20
    while start < 1100:  # turns and pauses of random lengths
        stop = start + int(rng.integers(3, 120))
        speak(x, vad, rate, start, min(stop, 1200), level_dbov=float(rng.uniform(-35, -15)))
        start = stop + int(rng.integers(1, 110))
    reference, tracker = run(x, vad, rate, block=1200)
    assert len(reference) >= 6
    for block in (1, 2, 7, 100, 333):
        events, t2 = run(x, vad, rate, block=block)
        assert events == reference, f"block {block}"
        assert t2.stats() == tracker.stats()


@pytest.mark.parametrize("rate", RATES)
def test_stats_report_levels_of_the_agent_channel(rate):
    x, vad = line(rate, 200, -60.0), np.zeros(200, bool)
    speak(x, vad, rate, 100, 200, level_dbov=-20.0)
    _, tracker = run(x, vad, rate)
    st = tracker.stats()
    assert st.level_dbov == pytest.approx(-20.0, abs=0.1)
    assert st.speech_dbov == pytest.approx(-20.0, abs=0.1)
    assert st.noise_dbov == pytest.approx(-60.0, abs=2.0)
    assert st.clipped == 0


def test_bad_blocks_are_refused():
    tracker = AgentSpeechTracker(8000, DetectorConfig())
    with pytest.raises(ValueError, match="80"):
        tracker.process(np.zeros((2, 160)), np.zeros(2, bool), 0)
    with pytest.raises(ValueError, match="contiguous"):
        tracker.process(np.zeros((2, 80)), np.zeros(2, bool), 3)
    assert tracker.stats().level_dbov is None


# ---------------------------------------------------------------------------------------------
# The soft end of a line: what webrtcvad no longer calls speech but is still the agent's voice
# ---------------------------------------------------------------------------------------------
FLOOR_DBOV = -65.0  # the mic's hiss; the tail gate is 6 dB over it, an anchor ("release") 12 dB
SOFT_DBOV = -56.0  # 9 dB over the floor: a soft ending, not a release
RELEASE_DBOV = -40.0


def tail(x: np.ndarray, rate: int, first: int, stop: int, level_dbov: float = SOFT_DBOV) -> None:
    """Sound from frame `first` to `stop` that webrtcvad does not call speech (vad stays False)."""
    speak(x, np.zeros(stop, bool), rate, first, stop, level_dbov)


def ending(rate: int, *parts: tuple[int, int, float]) -> list[tuple[str, float, float]]:
    """The agent speaks frames 100..150 (vad True), then the given (first, stop, level) tails."""
    x, vad = line(rate, 400, FLOOR_DBOV), np.zeros(400, bool)
    speak(x, vad, rate, 100, 150)
    for first, stop, level in parts:
        tail(x, rate, first, stop, level)
    return times(run(x, vad, rate)[0])


@pytest.mark.parametrize("rate", RATES)
def test_the_end_is_where_a_soft_ending_fades_into_the_floor_not_where_webrtcvad_stops(rate):
    # decided as before, 0.61 s after the last speech frame; dated at the end of the soft ending
    assert ending(rate, (150, 162, SOFT_DBOV)) == [("speech", 1.03, 1.0), ("silent", 2.11, 1.62)]


@pytest.mark.parametrize("rate", RATES)
def test_a_dip_of_three_frames_stays_inside_the_soft_ending_and_four_break_it(rate):
    assert ending(rate, (150, 156, SOFT_DBOV), (159, 165, SOFT_DBOV))[-1] == ("silent", 2.11, 1.65)
    assert ending(rate, (150, 156, SOFT_DBOV), (160, 166, SOFT_DBOV))[-1] == ("silent", 2.11, 1.56)


@pytest.mark.parametrize("rate", RATES)
def test_a_final_stop_released_after_its_closure_ends_the_line_with_its_release(rate):
    # closure of 120 ms, release, its soft decay
    assert ending(rate, (150, 152, SOFT_DBOV), (164, 168, RELEASE_DBOV), (168, 172, SOFT_DBOV))[-1] \
        == ("silent", 2.11, 1.72)
    # 160 ms of closure is more than a stop's: the release is something else
    assert ending(rate, (150, 152, SOFT_DBOV), (168, 174, RELEASE_DBOV))[-1] == ("silent", 2.11, 1.52)


@pytest.mark.parametrize("rate", RATES)
def test_a_faint_sound_after_a_gap_is_not_the_line(rate):
    # 80 ms after the line, 9 dB over the floor: the floor's own peaks, a breath; not a release
    assert ending(rate, (158, 162, SOFT_DBOV))[-1] == ("silent", 2.11, 1.5)


@pytest.mark.parametrize("rate", RATES)
def test_a_soft_ending_must_stand_over_the_noise_heard_in_the_pause(rate):
    # babble at the mic: bursts 20 dB over the hiss during the pause; a soft ending 9 dB over the
    # hiss is no louder than that noise, so it does not move the end
    bursts = [(first, first + 2, -45.0) for first in range(185, 211, 6)]
    assert ending(rate, (150, 162, SOFT_DBOV), *bursts)[-1] == ("silent", 2.11, 1.5)
    assert ending(rate, (150, 162, SOFT_DBOV), (150 + 70, 150 + 72, -45.0))[-1] == ("silent", 2.11, 1.62)


@pytest.mark.parametrize("rate", RATES)
def test_sound_that_goes_on_past_300_ms_is_noise_and_the_end_stays_where_speech_ended(rate):
    assert ending(rate, (150, 260, SOFT_DBOV))[-1] == ("silent", 2.11, 1.5)
    assert ending(rate, (150, 180, SOFT_DBOV))[-1] == ("silent", 2.11, 1.8)  # 300 ms: still a tail


@pytest.mark.parametrize("rate", RATES)
def test_the_soft_ending_never_outlasts_a_short_pause_allowance(rate):
    # pause_s 0.2: the end is decided 210 ms after the last speech frame; a tail may take half
    # of that (100 ms), the rest is the noise it must stand over
    for stop, end in ((158, 1.58), (160, 1.6), (165, 1.5)):
        x, vad = line(rate, 400, FLOOR_DBOV), np.zeros(400, bool)
        speak(x, vad, rate, 100, 150)
        tail(x, rate, 150, stop)
        events, _ = run(x, vad, rate, config=DetectorConfig(pause_s=0.2))
        assert times(events) == [("speech", 1.03, 1.0), ("silent", 1.71, end)]


@pytest.mark.parametrize("rate", RATES)
def test_digital_zero_is_not_speech_even_while_webrtcvad_still_says_so(rate):
    # a digitally silent mic: the level of a short zero run reads as the last real level (packet
    # loss repair) and webrtcvad keeps flagging a few frames; neither is the agent speaking
    x, vad = line(rate, 300), np.zeros(300, bool)
    speak(x, vad, rate, 100, 150)
    vad[150:157] = True
    assert times(run(x, vad, rate)[0]) == [("speech", 1.03, 1.0), ("silent", 2.11, 1.5)]


@pytest.mark.parametrize("rate", RATES)
def test_soft_endings_do_not_depend_on_the_block_size(rate):
    rng = np.random.default_rng(11)
    x, vad = line(rate, 1500, FLOOR_DBOV), np.zeros(1500, bool)
    start, vad_ends = 20, []
    while start < 1300:
        stop = start + int(rng.integers(3, 120))
        speak(x, vad, rate, start, stop, level_dbov=float(rng.uniform(-35, -15)))
        vad_ends.append(stop / 100)
        t = stop
        for _ in range(int(rng.integers(0, 3))):  # soft endings, dips, closures and releases
            t += int(rng.integers(0, 12))
            n = int(rng.integers(1, 8))
            tail(x, rate, t, t + n, float(rng.choice([SOFT_DBOV, RELEASE_DBOV])))
            t += n
        start = t + int(rng.integers(1, 110))
    reference, tracker = run(x, vad, rate, block=1500)
    ends = [e.since for e in reference if e.condition == "silent"]
    assert len(ends) >= 4 and any(end not in vad_ends for end in ends)  # soft endings were found
    for block in (1, 2, 7, 100, 333):
        events, t2 = run(x, vad, rate, block=block)
        assert events == reference, f"block {block}"
        assert t2.stats() == tracker.stats()
