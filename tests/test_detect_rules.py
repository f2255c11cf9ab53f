"""The corpus label rules (CORPUS.md §2) as the detectors apply them, thresholds from the config."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect.rules import CODES, rule_codes, rule_label

CFG = DetectorConfig()


@pytest.mark.parametrize(
    ("s", "n", "label"),
    [
        (None, None, "silent"),  # digital zero
        (None, -70.0, "silent"),  # hiss
        (None, -60.0, "silent"),  # comfort noise
        (None, -45.01, "silent"),
        (None, -45.0, "noisy"),  # noise alone at the threshold
        (-26.0, -45.0, "speech"),  # SNR 19 >= 15
        (-31.0, -45.0, "noisy"),  # SNR 14 < 15: loud noise wins over a masked talker
        (-30.0, -45.0, "speech"),  # SNR exactly 15 is not < 15
        (-37.0, None, "speech"),
        (-37.01, None, "low_volume"),
        (-50.0, -60.0, "low_volume"),  # quiet speech over comfort noise is never noisy
        (-50.0, -46.0, "low_volume"),  # faint noise never makes the line noisy, whatever the SNR
        (-20.0, -30.0, "noisy"),
    ],
)
def test_rule_label(s, n, label):
    assert rule_label(s, n, CFG) == label


def test_thresholds_come_from_the_config():
    cfg = DetectorConfig(speech_level_dbov=-45.0, noise_level_dbov=-50.0, noisy_snr_db=10.0)
    assert rule_label(-40.0, None, cfg) == "speech"
    assert rule_label(None, -48.0, cfg) == "noisy"
    assert rule_label(-35.0, -48.0, cfg) == "speech"  # SNR 13 >= 10


def test_vectorised_rules_agree_with_the_scalar_rules():
    speech = [None, -60.0, -37.5, -37.0, -36.5, -30.0, -20.0]
    noise = [None, -80.0, -46.0, -45.0, -44.0, -30.0, -10.0]
    pairs = list(itertools.product(speech, noise))
    s = np.array([-120.0 if a is None else a for a, _ in pairs])
    n = np.array([-120.0 if b is None else b for _, b in pairs])
    present = np.array([a is not None for a, _ in pairs])
    known = np.array([b is not None for _, b in pairs])
    got = [CODES[c] for c in rule_codes(s, present, n, known, CFG)]
    assert got == [rule_label(a, b, CFG) for a, b in pairs]
