"""CallerLineTracker on synthetic lines with exact levels, and on real recorded speech.

Synthetic "speech" is a train of 200 Hz tone bursts (150 ms on, 100 ms off): two whole periods
per 10 ms frame, so every burst frame has exactly the burst's level and the active speech level
S is known to the hundredth of a dB. The caller tracker decides on levels, not on webrtcvad, so
the vad argument is all False here (and the result must not depend on it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from callkit import at_level  # the shared rig: P.56 active speech level

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import CallerLineTracker, frame_len
from softphone_assist.core.events import ConditionChanged

RATES = [8000, 16000]
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def tone(level_dbov: float, frames: int, rate: int) -> np.ndarray:
    t = np.arange(frames * frame_len(rate)) / rate
    return 32768 * 10 ** (level_dbov / 20) * np.sqrt(2) * np.sin(2 * np.pi * 200.0 * t)


def white(level_dbov: float, frames: int, rate: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(frames * frame_len(rate))
    return x / np.sqrt(np.mean(x * x)) * 32768 * 10 ** (level_dbov / 20)


def pink(level_dbov: float, frames: int, rate: int, seed: int = 0) -> np.ndarray:
    n = frames * frame_len(rate)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / rate)
    spec *= np.maximum(f, 20.0) ** -0.5
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x / np.sqrt(np.mean(x * x)) * 32768 * 10 ** (level_dbov / 20)


def silence(frames: int, rate: int) -> np.ndarray:
    return np.zeros(frames * frame_len(rate))


def bursts(level_dbov: float, count: int, rate: int, on: int = 15, off: int = 10) -> np.ndarray:
    """A talker turn of `count` syllables; `off` frames of digital silence between them."""
    syllable = np.concatenate([tone(level_dbov, on, rate), silence(off, rate)])
    return np.tile(syllable, count)


def run(x: np.ndarray, rate: int, config: DetectorConfig | None = None, block: int = 100,
        vad: bool = False) -> tuple[list[ConditionChanged], CallerLineTracker]:
    n = x.size // frame_len(rate)
    frames = x[: n * frame_len(rate)].reshape(n, frame_len(rate))
    tracker = CallerLineTracker(rate, config or DetectorConfig())
    events: list[ConditionChanged] = []
    for s in range(0, n, block):
        chunk = frames[s : s + block]
        events += tracker.process(chunk, np.full(len(chunk), vad), s)
    return events, tracker


def conditions(events: list[ConditionChanged]) -> list[str]:
    return [e.condition for e in events]


# ------------------------------------------------------------------------------------------
# silent lines: digital zero, hiss, comfort noise
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    "line",
    [lambda r: silence(600, r), lambda r: white(-70.0, 600, r), lambda r: pink(-60.0, 600, r),
     lambda r: np.concatenate([silence(100, r), white(-70.0, 500, r)])],
    ids=["digital-zero", "hiss-70", "comfort-noise-60", "hiss-after-zero"],
)
def test_dead_lines_stay_silent(line, rate):
    events, tracker = run(line(rate), rate)
    assert events == []
    assert tracker.condition == "silent"


@pytest.mark.parametrize("rate", RATES)
def test_stats_of_a_hiss_line(rate):
    _, tracker = run(white(-70.0, 300, rate), rate)
    st = tracker.stats()
    assert st.level_dbov == pytest.approx(-70.0, abs=0.5)
    assert st.noise_dbov == pytest.approx(-70.0, abs=1.0)
    assert st.speech_dbov is None and st.snr_db is None and st.clipped == 0


# ------------------------------------------------------------------------------------------
# noise
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
def test_loud_white_noise_is_noisy_about_half_a_second_after_it_starts(rate):
    events, tracker = run(np.concatenate([silence(100, rate), white(-30.0, 400, rate)]), rate)
    assert conditions(events) == ["noisy"]
    assert 1.3 <= events[0].t <= 1.7  # stationary noise: the fast floor needs ~0.5 s of it
    assert 1.0 <= events[0].since <= events[0].t
    assert events[0].stats.noise_dbov == pytest.approx(-30.0, abs=1.0)
    assert tracker.stats().noise_dbov == pytest.approx(-30.0, abs=1.0)


@pytest.mark.parametrize("rate", RATES)
def test_noise_under_the_noise_threshold_is_not_noisy(rate):
    # -50 dBov pink noise is 5 dB under the -45 dBov rule threshold: a silent line
    events, _ = run(pink(-50.0, 500, rate), rate)
    assert events == []


@pytest.mark.parametrize("rate", RATES)
def test_impulsive_noise_counts_its_clicks_in_N(rate):
    # 3 clicks per second over -70 dBov hiss; the clicks carry the power: N ~ -30 dBov RMS
    n = 500
    x = white(-70.0, n, rate)
    fl = frame_len(rate)
    click = np.r_[np.full(fl // 10, 30000.0), np.full(fl // 10, -30000.0)]
    for k in range(20, n, 33):
        x[k * fl : k * fl + click.size] += click
    events, tracker = run(x, rate)
    assert conditions(events) == ["noisy"]
    assert tracker.stats().noise_dbov == pytest.approx(10 * np.log10(np.mean(x * x) / 32768**2), abs=2.0)


@pytest.mark.parametrize("rate", RATES)
def test_a_talker_masked_by_loud_noise_is_noisy(rate):
    noise = white(-30.0, 600, rate, seed=3)
    talk = np.concatenate([silence(50, rate), bursts(-25.0, 20, rate), silence(50, rate)])  # SNR 5 dB
    events, _ = run(noise + talk, rate)
    assert conditions(events) == ["noisy"]


@pytest.mark.parametrize("rate", RATES)
def test_a_talker_over_mild_noise_is_speech(rate):
    noise = white(-50.0, 600, rate, seed=4)  # N >= -45 would need 5 dB more; SNR 25 dB anyway
    talk = np.concatenate([silence(100, rate), bursts(-25.0, 18, rate), silence(50, rate)])
    events, _ = run(noise + talk, rate)
    assert conditions(events)[0] == "speech"
    assert "noisy" not in conditions(events)


# ------------------------------------------------------------------------------------------
# speech level: exact boundary at -37 dBov
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("level", "expected"), [(-36.5, "speech"), (-37.5, "low_volume"), (-50.0, "low_volume")]
)
@pytest.mark.parametrize("floor", ["zero", "hiss"])
def test_speech_level_decides_speech_or_low_volume(rate, level, expected, floor):
    x = np.concatenate([silence(100, rate), bursts(level, 12, rate), silence(200, rate)])
    if floor == "hiss":
        x = x + white(-70.0, x.size // frame_len(rate), rate)
    events, _ = run(x, rate)
    assert conditions(events) == [expected, "silent"]
    onset = events[0]
    assert onset.since == 1.0  # the first frame of the first burst
    assert onset.stats.speech_dbov == pytest.approx(level, abs=0.05)
    # the last burst ends at frame 100 + 11 * 25 + 15 = 390
    assert events[1].since == 3.9
    assert events[1].stats.speech_dbov == pytest.approx(level, abs=0.05)


@pytest.mark.parametrize("rate", RATES)
def test_the_speech_threshold_comes_from_the_config(rate):
    x = np.concatenate([silence(100, rate), bursts(-40.0, 10, rate), silence(100, rate)])
    assert conditions(run(x, rate)[0])[0] == "low_volume"
    assert conditions(run(x, rate, DetectorConfig(speech_level_dbov=-42.0))[0])[0] == "speech"


@pytest.mark.parametrize("rate", RATES)
def test_quiet_speech_over_comfort_noise_is_low_volume_not_noisy(rate):
    floor = pink(-60.0, 700, rate, seed=5)
    talk = np.concatenate([silence(200, rate), bursts(-50.0, 16, rate), silence(100, rate)])
    events, _ = run(floor + talk, rate)
    assert conditions(events) == ["low_volume", "silent"]


# ------------------------------------------------------------------------------------------
# turns and pauses
# ------------------------------------------------------------------------------------------
def turn_with_pause(pause_frames: int, rate: int) -> np.ndarray:
    """Two groups of 6 syllables; the pause between them counts the last burst's 10 quiet frames."""
    talk = np.concatenate([silence(100, rate), bursts(-26.0, 6, rate), silence(pause_frames - 10, rate),
                           bursts(-26.0, 6, rate), silence(200, rate)])
    return talk + white(-70.0, talk.size // frame_len(rate), rate, seed=6)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("pause_s", [0.3, 0.6])
def test_pauses_inside_a_turn_are_not_silence(rate, pause_s):
    events, _ = run(turn_with_pause(round(pause_s * 100), rate), rate)
    assert conditions(events) == ["speech", "silent"]


@pytest.mark.parametrize("rate", RATES)
def test_a_pause_longer_than_the_allowance_ends_the_turn(rate):
    # the allowance is pause_s + 0.15 s of quiet frames: the corpus measures pauses on P.56
    # activity, whose 200 ms hangover hides the first part of every pause
    events, _ = run(turn_with_pause(100, rate), rate)
    assert conditions(events) == ["speech", "silent", "speech", "silent"]
    first_end = (100 + 5 * 25 + 15) / 100  # last frame of the sixth burst
    assert events[1].since == first_end
    assert 0.75 <= events[1].t - first_end <= 0.80
    # the talker resumes within a second of the end: back to speech without the 0.45 s hold
    assert events[2].since == first_end + 1.0
    assert events[2].t - events[2].since <= 0.15


@pytest.mark.parametrize("rate", RATES)
def test_pause_allowance_follows_the_config(rate):
    x = turn_with_pause(100, rate)
    assert conditions(run(x, rate, DetectorConfig(pause_s=1.0))[0]) == ["speech", "silent"]


# ------------------------------------------------------------------------------------------
# stream mechanics
# ------------------------------------------------------------------------------------------
def mixed_line(rate: int) -> np.ndarray:
    """Silence, speech, a lost packet, loud noise, clicks, quiet speech, clipping: everything."""
    fl = frame_len(rate)
    parts = [
        silence(80, rate),
        bursts(-24.0, 10, rate) + white(-65.0, 250, rate, 1),
        white(-25.0, 300, rate, 2),
        bursts(-48.0, 8, rate) + pink(-60.0, 200, rate, 3),
        silence(120, rate),
        np.clip(tone(0.0, 60, rate), -32768, 32767),
    ]
    x = np.concatenate(parts)
    x[(100) * fl : (102) * fl] = 0.0  # a lost 20 ms packet inside speech
    x[600 * fl : 600 * fl + 8] = 30000.0  # a click in the noise
    return x


@pytest.mark.parametrize("rate", RATES)
def test_result_does_not_depend_on_the_block_size(rate):
    x = mixed_line(rate)
    reference, tracker = run(x, rate, block=x.size)
    assert len(reference) >= 4
    for block in (1, 3, 100, 997):
        events, t2 = run(x, rate, block=block)
        assert events == reference, f"block {block}"
        assert t2.stats() == tracker.stats()


@pytest.mark.parametrize("rate", RATES)
def test_vad_decisions_do_not_change_the_caller_condition(rate):
    x = mixed_line(rate)
    assert run(x, rate, vad=True)[0] == run(x, rate, vad=False)[0]


@pytest.mark.parametrize("rate", RATES)
def test_clipped_samples_are_counted(rate):
    x = np.clip(tone(0.0, 10, rate), -32768, 32767)  # a sine of peak 46341 clipped at full scale
    _, tracker = run(x, rate)
    assert tracker.stats().clipped == int(np.count_nonzero(np.abs(x) >= 32768 * 10 ** (-0.1 / 20)))
    assert tracker.stats().clipped > 0
    _, quiet = run(tone(-6.0, 10, rate), rate)  # peak -3 dBov: nothing clipped
    assert quiet.stats().clipped == 0


def test_initial_condition_is_silent_and_not_reported():
    tracker = CallerLineTracker(8000, DetectorConfig())
    assert tracker.condition == "silent"
    assert tracker.process(np.zeros((0, 80)), np.zeros(0, bool), 0) == []
    assert tracker.stats().level_dbov is None


def test_bad_blocks_are_refused():
    tracker = CallerLineTracker(16000, DetectorConfig())
    with pytest.raises(ValueError, match="160"):
        tracker.process(np.zeros((4, 80)), np.zeros(4, bool), 0)
    with pytest.raises(ValueError, match="vad"):
        tracker.process(np.zeros((4, 160)), np.zeros(3, bool), 0)
    tracker.process(np.zeros((4, 160)), np.zeros(4, bool), 0)
    with pytest.raises(ValueError, match="contiguous"):
        tracker.process(np.zeros((4, 160)), np.zeros(4, bool), 5)
    with pytest.raises(ValueError, match="11025"):
        CallerLineTracker(11025, DetectorConfig())


# ------------------------------------------------------------------------------------------
# real recorded speech
# ------------------------------------------------------------------------------------------
UTTERANCES = ["auth-thankyou", "vm-goodbye", "pls-hold-while-try", "vm-password", "vm-theperson", "vm-nobox"]


def trimmed(x: np.ndarray, sr: int) -> np.ndarray:
    """The utterance from its first to its last frame within 40 dB of its loudest (as the corpus trims)."""
    n = x.size // (sr // 100)
    p = np.mean(x[: n * (sr // 100)].reshape(n, -1) ** 2, axis=1)
    loud = np.nonzero(p >= p.max() * 1e-4)[0]
    return x[loud[0] * (sr // 100) : (loud[-1] + 1) * (sr // 100)]


def allison_turn(rate: int, names: list[str] = UTTERANCES) -> np.ndarray:
    """Utterances joined by 0.3 s pauses, at `rate`, unscaled."""
    parts = []
    for name in names:
        x, sr = sf.read(ALLISON / f"{name}.wav", dtype="float64")
        assert sr == 8000
        x = trimmed(x, sr)
        if rate != sr:
            x = np.repeat(x, rate // sr)  # the recordings are 8 kHz telephone speech
        parts += [x * 32768, np.zeros(int(0.3 * rate))]
    turn = np.concatenate(parts)
    return np.pad(turn, (0, -turn.size % frame_len(rate)))  # whole frames


@pytest.mark.speech
@pytest.mark.skipif(not ALLISON.is_dir(), reason="needs asterisk-core-sounds-en-wav")
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("level", "expected"), [(-26.0, "speech"), (-48.0, "low_volume")])
def test_real_speech_level(rate, level, expected):
    turn = at_level(allison_turn(rate), level, rate)
    x = np.concatenate([silence(100, rate), turn, silence(150, rate)])
    x = x + white(-70.0, x.size // frame_len(rate), rate)
    events, _ = run(x, rate)
    assert conditions(events) == [expected, "silent"]
    assert events[0].since == pytest.approx(1.0, abs=0.05)
    assert events[0].stats.speech_dbov == pytest.approx(level, abs=3.0)
    assert events[1].since == pytest.approx(1.0 + turn.size / rate - 0.3, abs=0.4)


@pytest.mark.speech
@pytest.mark.skipif(not ALLISON.is_dir(), reason="needs asterisk-core-sounds-en-wav")
@pytest.mark.parametrize("rate", RATES)
def test_real_speech_under_loud_white_noise_is_noisy(rate):
    turn = at_level(allison_turn(rate), -26.0, rate)
    x = np.concatenate([silence(100, rate), turn, silence(100, rate)])
    x = x + white(-25.0, x.size // frame_len(rate), rate, seed=9)
    events, _ = run(x, rate)
    assert conditions(events) == ["noisy"]


@pytest.mark.speech
@pytest.mark.skipif(not ALLISON.is_dir(), reason="needs asterisk-core-sounds-en-wav")
@pytest.mark.parametrize("rate", RATES)
def test_long_sustained_speech_without_a_pause_stays_speech(rate):
    # over 1 s without a dip to the line floor (sustained vowels): the caller's slow floor looks
    # back 1.2 s (floor.CALLER_SLOW_FRAMES), so the turn is not read as its own noise floor
    turn = at_level(allison_turn(rate, ["hello-world"]), -26.0, rate)
    x = np.concatenate([silence(100, rate), turn, silence(150, rate)])
    x = x + white(-70.0, x.size // frame_len(rate), rate)
    assert conditions(run(x, rate)[0]) == ["speech", "silent"]


# ------------------------------------------------------------------------------------------
# DC offset: inaudible, so it is not a level
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("offset", [0.3 * 32768, -2000.0, 50.0])
def test_a_line_that_is_only_a_dc_offset_is_silent(rate, offset):
    events, tracker = run(np.full(600 * frame_len(rate), offset), rate)
    assert events == [] and tracker.condition == "silent"  # it read "noisy" at -10.5 dBov
    assert tracker.stats().level_dbov is None


@pytest.mark.parametrize("rate", RATES)
def test_a_dc_offset_does_not_change_the_figures_of_what_rides_on_it(rate):
    x = np.concatenate([white(-60.0, 200, rate), bursts(-25.0, 12, rate) + white(-60.0, 300, rate, seed=1)])
    plain_events, plain = run(x, rate)
    shifted_events, shifted = run(x + 0.2 * 32768, rate)
    assert conditions(plain_events) == ["speech"]
    assert [(e.t, e.condition, e.since) for e in shifted_events] == [
        (e.t, e.condition, e.since) for e in plain_events]
    assert shifted.stats().speech_dbov == pytest.approx(plain.stats().speech_dbov, abs=0.05)
    assert shifted.stats().level_dbov == pytest.approx(plain.stats().level_dbov, abs=0.05)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("hum_hz", [50.0, 60.0])
def test_mains_hum_keeps_its_level(rate, hum_hz):
    t = np.arange(300 * frame_len(rate)) / rate
    hum = 32768 * 10 ** (-30 / 20) * np.sqrt(2) * np.sin(2 * np.pi * hum_hz * t)
    events, tracker = run(hum, rate)
    assert conditions(events) == ["noisy"]
    assert tracker.stats().level_dbov == pytest.approx(-30.0, abs=0.3)


@pytest.mark.parametrize("rate", RATES)
def test_the_dc_estimate_does_not_depend_on_how_the_stream_is_cut(rate):
    x = np.concatenate([np.full(100 * frame_len(rate), 3000.0), white(-40.0, 300, rate) + 3000.0])
    whole, a = run(x, rate, block=400)
    cut, b = run(x, rate, block=7)
    assert whole == cut and a.stats() == b.stats()
