"""tools/callkit.py: levels, floors, grid, files and determinism of the real-speech call builder."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from callkit import (
    RATE,
    CallBuilder,
    Span,
    SpeechUnavailable,
    at_level,
    dbov_rms,
    have_speech,
    p56_active_level,
    p56_level,
    utterance,
)

from softphone_assist.core.errors import InputError

needs_speech = pytest.mark.skipif(not have_speech(), reason="asterisk-core-sounds-en-wav is not installed")
HELLO = "en_US_f_Allison/hello-world"
GOODBYE = "en_US_f_Allison/vm-goodbye"
DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def _segment(x: np.ndarray, span: Span, rate: int = RATE) -> np.ndarray:
    return x[round(span.start * rate) : round(span.end * rate)]


# --- P.56 -------------------------------------------------------------------------------------
# Reference figures computed with the corpus' scipy implementation, /work/shared/corpus/common.py
# p56_active_level (scipy 1.17.1), on exactly these signals.
def _sine_burst() -> np.ndarray:
    t = np.arange(RATE) / RATE
    return np.concatenate([np.zeros(RATE // 2), 3000 * np.sin(2 * np.pi * 440 * t), np.zeros(3 * RATE)])


def _noise_bursts() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.concatenate([np.zeros(4000), 1000 * rng.standard_normal(12000), np.zeros(8000),
                           200 * rng.standard_normal(6000)])


def test_p56_equals_the_corpus_reference_on_a_sine_burst() -> None:
    level, activity, mask = p56_active_level(_sine_burst(), RATE)
    assert level == pytest.approx(-24.84249812247772, abs=1e-9)
    assert activity == pytest.approx(0.28402777777777777, abs=1e-12)
    assert int(mask.sum()) == 20450


def test_p56_equals_the_corpus_reference_on_noise_bursts_at_16_and_8_khz() -> None:
    x = _noise_bursts()
    level, activity, mask = p56_active_level(x, RATE)
    assert (level, activity, int(mask.sum())) == (pytest.approx(-32.70584341976677, abs=1e-9), 0.7025, 21075)
    assert p56_level(x[::2], 8000) == pytest.approx(-32.693777021974995, abs=1e-9)


def test_p56_of_digital_zero_is_minus_infinity_and_cannot_be_scaled() -> None:
    assert p56_level(np.zeros(1600), RATE) == float("-inf")
    with pytest.raises(ValueError, match="digital silence"):
        at_level(np.zeros(1600), -26.0)


def test_at_level_hits_the_level_and_only_scales() -> None:
    x = _sine_burst()
    y = at_level(x, -40.0)
    assert p56_level(y, RATE) == pytest.approx(-40.0, abs=0.01)
    sound = x != 0
    ratio = y[sound] / x[sound]
    assert np.allclose(ratio, ratio[0]) and not y[~sound].any()


# --- recorded speech --------------------------------------------------------------------------
@needs_speech
@pytest.mark.parametrize("rate", [8000, 16000])
def test_utterance_is_trimmed_to_whole_frames_of_speech(rate: int) -> None:
    x = utterance(HELLO, rate)
    frame = rate // 100
    assert x.dtype == np.float64 and len(x) % frame == 0
    raw, file_rate = sf.read("/usr/share/asterisk/sounds/en_US_f_Allison/hello-world.wav")
    assert len(x) / rate < len(raw) / file_rate  # the file's leading/trailing silence is gone
    frames_db = [dbov_rms(f) for f in x.reshape(-1, frame)]
    assert frames_db[0] >= -60.0 and frames_db[-1] >= -60.0
    assert utterance("en/hello-world", rate).tolist() == x.tolist()  # the Debian alias directory


@needs_speech
def test_utterance_is_resampled_without_images() -> None:
    x = utterance(HELLO, 16000)  # from an 8 kHz file: nothing may appear above 4 kHz
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    assert power[freqs > 4200].sum() / power.sum() < 1e-4


@needs_speech
def test_utterance_returns_a_private_copy() -> None:
    x = utterance(GOODBYE)
    x[:] = 0
    assert np.any(utterance(GOODBYE) != 0)


def test_missing_prompt_and_missing_package_name_the_file_and_the_fix() -> None:
    fix = r"xx_XX_nobody/hello\.wav does not exist \(install the Debian package asterisk-core-sounds-xx-wav\)"
    with pytest.raises(SpeechUnavailable, match=fix):
        utterance("xx_XX_nobody/hello")
    assert issubclass(SpeechUnavailable, InputError) and issubclass(SpeechUnavailable, FileNotFoundError)
    assert not have_speech("xx_XX_nobody")


def test_a_missing_language_alias_names_the_base_package() -> None:
    # /usr/share/asterisk/sounds/xx is the alias folder that asterisk-core-sounds-xx creates
    fix = r"xx/hello\.wav does not exist \(install the Debian package asterisk-core-sounds-xx\)"
    with pytest.raises(SpeechUnavailable, match=fix):
        utterance("xx/hello")


@needs_speech
def test_missing_prompt_in_an_installed_voice() -> None:
    with pytest.raises(SpeechUnavailable, match="no such prompt"):
        utterance("en_US_f_Allison/no-such-prompt")


# --- the builder ------------------------------------------------------------------------------
@needs_speech
@pytest.mark.parametrize(("floor", "level"), [("zero", -26.0), ("zero", -48.0), ("hiss", -20.0),
                                              ("hiss", -48.0), ("comfort_noise", -26.0)])
def test_placed_speech_has_the_level_asked(floor: str, level: float) -> None:
    call = CallBuilder(4.0, caller_floor=floor, agent_floor=floor, seed=3)
    caller = call.caller_says(0.5, HELLO, level)
    agent = call.agent_says(2.0, GOODBYE, level)
    assert p56_level(_segment(call.caller_track(), caller), RATE) == pytest.approx(level, abs=0.5)
    assert p56_level(_segment(call.agent_track(), agent), RATE) == pytest.approx(level, abs=0.5)
    speech_only = _segment(call.track("caller", ["speech"]), caller)
    assert p56_level(speech_only, RATE) == pytest.approx(level, abs=0.01)


@pytest.mark.parametrize(("floor", "level"), [("hiss", -70.0), ("comfort_noise", -60.0)])
def test_floors_are_at_their_rms_everywhere(floor: str, level: float) -> None:
    call = CallBuilder(10.0, caller_floor=floor, agent_floor=floor, seed=5)
    for track in (call.caller_track(), call.agent_track()):
        assert dbov_rms(track) == pytest.approx(level, abs=0.01)
        for second in track.reshape(10, RATE):
            assert dbov_rms(second) == pytest.approx(level, abs=0.5)
    assert not np.array_equal(call.caller_track(), call.agent_track())  # independent noise per channel


def test_hiss_is_white_and_comfort_noise_is_pink() -> None:
    freqs = np.fft.rfftfreq(4 * RATE, 1 / RATE)
    share = {}
    for floor in ("hiss", "comfort_noise"):
        power = np.abs(np.fft.rfft(CallBuilder(4.0, caller_floor=floor, seed=2).caller_track())) ** 2
        share[floor] = power[freqs < 300].sum() / power.sum()
    assert share["hiss"] == pytest.approx(300 / 8000, abs=0.01)
    assert 0.2 < share["comfort_noise"] < 0.8


def test_zero_floor_is_digital_silence() -> None:
    call = CallBuilder(1.0)
    assert not call.caller_track().any() and not call.agent_track().any()
    assert len(call.caller_track()) == RATE


@needs_speech
def test_spans_are_snapped_to_the_10_ms_grid_and_exact() -> None:
    call = CallBuilder(5.0)
    span = call.agent_says(1.236, HELLO)  # nearest frame boundary: 1.24
    assert span.start == 1.24
    assert span.end == pytest.approx(1.24 + len(utterance(HELLO)) / RATE, abs=1e-12)
    assert round(span.end * 100) == pytest.approx(span.end * 100, abs=1e-9)
    track = call.agent_track()
    assert not track[: 1240 * 16].any() and not track[round(span.end * RATE) :].any()
    assert track[1240 * 16 : round(span.end * RATE)].any()
    assert call.caller_says(0.29, GOODBYE).start == 0.29  # 0.29 * 100 is 28.999999999999996
    spans = call.turn("caller", 0.0, [HELLO, GOODBYE], -30.0, gap_s=0.3)
    assert spans[1].start == pytest.approx(spans[0].end + 0.3, abs=1e-12)


@needs_speech
def test_speech_past_the_end_of_the_call_is_refused() -> None:
    call = CallBuilder(1.0)
    with pytest.raises(ValueError, match=r"caller says .*after the end of the call"):
        call.caller_says(0.5, HELLO)
    with pytest.raises(ValueError, match="outside the call"):
        call.agent_says(-0.5, HELLO)


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_added_noise_has_its_rms_ramps_and_span(kind: str) -> None:
    call = CallBuilder(3.0, seed=2)
    span = call.caller_noise(0.5, 2.5, kind, -30.0)
    noise = call.track("caller", ["noise"])
    inside = noise[8000:40000]
    assert span == Span(0.5, 2.5)
    assert dbov_rms(inside) == pytest.approx(-30.0, abs=1e-9)
    assert not noise[:8000].any() and not noise[40000:].any()
    ramp = 320  # 20 ms
    assert dbov_rms(inside[:32]) < dbov_rms(inside[ramp:]) - 20  # fades in
    assert dbov_rms(inside[-32:]) < dbov_rms(inside[:-ramp]) - 20  # fades out
    assert not call.agent_track().any()


def test_noise_colours_have_their_spectral_tilt() -> None:
    low_share = {}
    for kind in ("white", "pink", "brown"):
        call = CallBuilder(4.0, seed=1)
        call.caller_noise(0.0, 4.0, kind, -30.0)
        power = np.abs(np.fft.rfft(call.caller_track())) ** 2
        freqs = np.fft.rfftfreq(4 * RATE, 1 / RATE)
        low_share[kind] = power[freqs < 300].sum() / power.sum()
    assert low_share["white"] == pytest.approx(300 / 8000, abs=0.01)
    assert low_share["white"] < 0.2 < low_share["pink"] < 0.8 < low_share["brown"]


@needs_speech
def test_babble_is_many_recorded_talkers_at_the_level_asked() -> None:
    call = CallBuilder(3.0, seed=4)
    call.caller_noise(0.0, 3.0, "babble", -28.0)
    x = call.caller_track()
    assert dbov_rms(x) == pytest.approx(-28.0, abs=1e-9)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    assert power[freqs > 5500].sum() / power.sum() < 0.01  # narrow-band telephone prompts, not white noise
    assert min(dbov_rms(s) for s in x.reshape(30, -1)) > -40  # 6-10 overlapping talkers: no gaps


def test_bad_arguments_name_the_problem() -> None:
    with pytest.raises(ValueError, match="floor 'loud'"):
        CallBuilder(1.0, caller_floor="loud")
    with pytest.raises(ValueError, match="noise kind 'hum'"):
        CallBuilder(1.0).caller_noise(0.0, 1.0, "hum", -30.0)
    with pytest.raises(ValueError, match="rate 44101"):
        CallBuilder(1.0, rate=44101)
    with pytest.raises(ValueError, match="channels 'left'"):
        CallBuilder(1.0).write("/nonexistent/x.wav", channels="left")
    with pytest.raises(ValueError, match="call event 'ringing'"):
        CallBuilder(1.0).call_event(0.0, "ringing")
    with pytest.raises(ValueError, match="channel 'Caller'"):
        CallBuilder(1.0).add_noise("Caller", 0.0, 1.0, "white", -30.0)  # type: ignore[arg-type]


@needs_speech
def test_write_read_round_trip(tmp_path: Path) -> None:
    call = CallBuilder(3.0, caller_floor="hiss", agent_floor="zero", seed=9)
    call.agent_says(0.2, HELLO, -22.0)
    call.caller_says(1.0, GOODBYE, -30.0)
    path = call.write(tmp_path / "call.wav")
    info = sf.info(path)
    assert (info.channels, info.samplerate, info.subtype, info.frames) == (2, RATE, "PCM_16", 3 * RATE)
    data, _ = sf.read(path, dtype="int16")
    assert np.array_equal(data[:, 0], np.rint(call.agent_track()).astype(np.int16))  # left = agent
    assert np.array_equal(data[:, 1], np.rint(call.caller_track()).astype(np.int16))
    mono, _ = sf.read(call.write(tmp_path / "caller.wav", channels="caller"), dtype="int16")
    assert mono.ndim == 1 and np.array_equal(mono, data[:, 1])
    floats, _ = sf.read(call.write(tmp_path / "f.wav", channels="caller,agent", subtype="FLOAT"))
    assert np.allclose(floats * 32768, np.column_stack([call.caller_track(), call.agent_track()]), atol=0.01)


def test_write_clips_to_int16(tmp_path: Path) -> None:
    call = CallBuilder(1.0, seed=1)
    call.caller_noise(0.0, 1.0, "white", 0.0)  # RMS = full scale: Gaussian peaks are far beyond it
    data, _ = sf.read(call.write(tmp_path / "loud.wav", channels="caller"), dtype="int16")
    assert data.max() == 32767 and data.min() == -32768


def test_events_file(tmp_path: Path) -> None:
    call = CallBuilder(10.0)
    call.call_event(10.0, "call_end")
    call.call_event(0.0, "call_start")
    call.call_event(4.2345, "closing")
    lines = call.write_events(tmp_path / "e.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"t": 0.0, "event": "call_start"}, {"t": 4.234, "event": "closing"}, {"t": 10.0, "event": "call_end"}]


@needs_speech
def test_same_seed_same_call_and_noise_streams_are_independent() -> None:
    def make(seed: int, with_noise: bool) -> CallBuilder:
        call = CallBuilder(3.0, caller_floor="comfort_noise", agent_floor="hiss", seed=seed)
        call.agent_says(0.1, HELLO)
        if with_noise:
            call.caller_noise(1.0, 2.0, "babble", -30.0)
        call.caller_noise(2.0, 3.0, "pink", -35.0)
        return call

    a, b, other = make(7, True), make(7, True), make(8, True)
    assert np.array_equal(a.caller_track(), b.caller_track())
    assert np.array_equal(a.agent_track(), b.agent_track())
    assert not np.array_equal(a.caller_track(), other.caller_track())
    without = make(7, False)  # one noise fewer: the floors do not move
    assert np.array_equal(a.track("caller", ["floor"]), without.track("caller", ["floor"]))


# --- the bundled demo call --------------------------------------------------------------------
@pytest.mark.skipif(not (have_speech() and have_speech("it_IT_m_Carlo")),
                    reason="needs asterisk-core-sounds-en-wav and -it-wav")
def test_bundled_demo_call_is_what_make_demo_builds() -> None:
    spec = importlib.util.spec_from_file_location("make_demo", DEMO / "make_demo.py")
    assert spec is not None and spec.loader is not None
    make_demo = importlib.util.module_from_spec(spec)
    sys.modules["make_demo"] = make_demo  # dataclasses look their module up while it executes
    spec.loader.exec_module(make_demo)
    demo = make_demo.build()
    info = sf.info(DEMO / "demo_call.wav")
    assert (info.channels, info.samplerate, info.subtype) == (2, 16000, "PCM_16")
    assert (DEMO / "demo_call.wav").stat().st_size < 6_000_000
    data, _ = sf.read(DEMO / "demo_call.wav", dtype="int16")
    assert np.array_equal(data[:, 0], np.rint(demo.call.agent_track()).astype(np.int16))
    assert np.array_equal(data[:, 1], np.rint(demo.call.caller_track()).astype(np.int16))
    events = [json.loads(line) for line in (DEMO / "demo_call.events.jsonl").read_text().splitlines()]
    assert events[0] == {"t": 0.0, "event": "call_start"}
    assert [e["event"] for e in events] == ["call_start", "closing", "call_end"]
    assert events[-1]["t"] == pytest.approx(len(data) / 16000, abs=1e-9)
    readme = (DEMO / "README.md").read_text()
    for prompt in demo.prompts:
        assert f"| {prompt.t:.2f} | {prompt.protocol} | {prompt.step} |" in readme
