"""The caller tracker's learned second opinion on noisy (detect/noise_model.py).

Hop features are checked on a hand-made ring window with known levels; the shipped weights are
checked to load, to match their file, and to give the trained results on fixed synthetic lines
(tone-burst "syllables" as in test_detect_caller.py, over pink noise or digital silence).
Retraining the model (bench/train_caller_model.py) changes the recorded probabilities below:
update them with the new figures from the bench, never loosen them.
"""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest
from test_detect_caller import bursts, pink, silence

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import CallerLineTracker, frame_len
from softphone_assist.core.detect.layout import LEVEL, PADS, POWER, SPEECH, SPIKE, TILT
from softphone_assist.core.detect.noise_model import FEATURES, LONG, MODEL_FILE, NoiseModel, hop_features, shipped_model
from softphone_assist.core.events import ConditionChanged

RATES = [8000, 16000]


def window(levels: np.ndarray) -> np.ndarray:
    """A (rows, 1, LONG + 1) ring view whose LEVEL row is `levels` (oldest first), POWER to match."""
    view = np.tile(np.asarray(PADS, dtype=np.float64)[:, None, None], (1, 1, levels.size))
    view[LEVEL, 0] = levels
    view[POWER, 0] = 32768.0**2 * 10.0 ** (np.minimum(levels, 10.0) / 10.0)
    view[SPIKE, 0] = 0.0
    view[TILT, 0] = 0.0
    view[SPEECH, 0] = 0.0
    return view


def feature(feats: np.ndarray, name: str) -> float:
    return float(feats[0, FEATURES.index(name)])


def test_hop_features_of_a_known_window() -> None:
    # the last second: levels -60, -59, ..., -41 dBov five times over; ranks 10, 50, 90 of 100
    last_s = np.tile(np.arange(-60.0, -40.0), 5)
    levels = np.concatenate([np.full(LONG + 1 - last_s.size, -80.0), last_s])
    f = hop_features(window(levels), LONG + 1, np.array([-30.0]), np.array([-55.0]))
    assert f.shape == (1, len(FEATURES))
    assert feature(f, "p10") == -58.0
    assert feature(f, "p50") == -50.0
    assert feature(f, "p90") == -42.0
    assert feature(f, "range_90_10") == 16.0
    assert feature(f, "snr_db") == 25.0
    assert feature(f, "p10_over_n") == -3.0
    assert feature(f, "p5_long") == -80.0  # the 2 s window still holds the quiet second before
    assert feature(f, "spike_db") == -40.0  # no clicks: the floor of the feature
    assert feature(f, "speech_fraction") == 0.0


def test_frames_before_the_stream_read_as_a_silent_line() -> None:
    levels = np.concatenate([np.full(LONG + 1 - 20, math.inf), np.full(20, -30.0)])
    f = hop_features(window(levels), LONG + 1, np.array([-120.0]), np.array([-120.0]))
    assert feature(f, "p10") == -100.0
    assert feature(f, "p90") == -30.0
    assert feature(f, "n_db") == -100.0  # digital zero (-120) is clipped, like one lost packet


def test_shipped_weights_load_and_match_their_file() -> None:
    data = json.loads(resources.files("softphone_assist.core.detect").joinpath(MODEL_FILE).read_text("utf-8"))
    m = shipped_model()
    assert data["features"] == list(FEATURES)
    assert 0.5 <= m.threshold < 1.0
    x = np.linspace(-1.0, 1.0, len(FEATURES))[None, :] * m.scale + m.mean
    # the forward pass written out from the file's numbers
    z = (x[0] - np.array(data["mean"])) / np.array(data["scale"])
    h = np.tanh(z @ np.array(data["hidden_w"]) + np.array(data["hidden_b"]))
    expected = 1.0 / (1.0 + math.exp(-(float(h @ np.array(data["out_w"])) + data["out_b"])))
    assert m.probability(x)[0] == pytest.approx(expected, rel=1e-12)


def test_a_model_round_trips_through_json_and_refuses_other_features() -> None:
    m = shipped_model()
    again = NoiseModel.from_json(json.loads(json.dumps(m.to_json())))
    x = np.random.default_rng(0).normal(size=(5, len(FEATURES))) * m.scale + m.mean
    assert np.array_equal(again.probability(x), m.probability(x))
    other = dict(m.to_json(), features=[*FEATURES[:-1], "something_else"])
    with pytest.raises(ValueError, match="other features"):
        NoiseModel.from_json(other)


def run(x: np.ndarray, rate: int, noise_model: bool) -> tuple[list[ConditionChanged], CallerLineTracker]:
    n = x.size // frame_len(rate)
    frames = x[: n * frame_len(rate)].reshape(n, frame_len(rate))
    tracker = CallerLineTracker(rate, DetectorConfig(), noise_model=noise_model)
    tracker.feature_sink = []
    events: list[ConditionChanged] = []
    for s in range(0, n, 100):
        events += tracker.process(frames[s : s + 100], np.zeros(min(100, n - s), dtype=bool), s)
    return events, tracker


def masked_talker(rate: int) -> np.ndarray:
    """After 2.5 s of a silent line (the model needs 2 s of the line), a 5 s turn at -26 dBov under
    pink noise at -30 dBov (SNR 4 dB: noisy by the label rules)."""
    return np.concatenate([silence(250, rate), bursts(-26.0, 20, rate) + pink(-30.0, 500, rate, seed=3),
                           silence(100, rate)])


def clean_talker(rate: int) -> np.ndarray:
    return np.concatenate([silence(250, rate), bursts(-26.0, 20, rate), silence(100, rate)])


@pytest.mark.parametrize("rate", RATES)
def test_a_masked_talker_is_noisy_sooner_with_the_model(rate: int) -> None:
    rules_only, _ = run(masked_talker(rate), rate, noise_model=False)
    with_model, _ = run(masked_talker(rate), rate, noise_model=True)
    # the level rules first hear a talker over a quiet line until the noise floor has risen; the
    # model says noisy once the quiet tenth of the last second has risen over its -60 dBov gate
    assert [(e.t, e.condition) for e in rules_only] == [(3.0, "speech"), (3.55, "noisy"), (7.95, "speech"),
                                                       (8.15, "silent")]
    assert [(e.t, e.condition) for e in with_model] == [(3.0, "speech"), (3.5, "noisy"), (7.95, "speech"),
                                                       (8.15, "silent")]


@pytest.mark.parametrize("rate", RATES)
def test_a_clean_talker_stays_speech_with_the_model(rate: int) -> None:
    events, _ = run(clean_talker(rate), rate, noise_model=True)
    assert [(e.t, e.condition) for e in events] == [(3.0, "speech"), (8.25, "silent")]


# P(noisy) the shipped weights give at t = 3.4 s (hop 339) of the two 8 kHz lines above
TRAINED_P = {"masked": 0.9982175140693847, "clean": 0.01359981360868192}


@pytest.mark.parametrize("name", ["masked", "clean"])
def test_shipped_weights_give_the_trained_results(name: str) -> None:
    rate = 8000
    x = masked_talker(rate) if name == "masked" else clean_talker(rate)
    _, tracker = run(x, rate, noise_model=False)
    assert tracker.feature_sink is not None
    hops = np.concatenate([h for h, _, _ in tracker.feature_sink])
    feats = np.concatenate([f for _, f, _ in tracker.feature_sink])
    k = int(np.flatnonzero(hops == 339)[0])
    p = float(shipped_model().probability(feats[k : k + 1])[0])
    assert p == pytest.approx(TRAINED_P[name], rel=1e-9)
    assert shipped_model().is_noisy(feats[k : k + 1])[0] == (name == "masked")
