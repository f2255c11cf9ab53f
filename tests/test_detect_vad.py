"""WebRtcVad: numpy frames in, one bool per frame out; the only place webrtcvad is imported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.detect import frame_len

ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")


def test_rejects_rates_and_modes_webrtcvad_cannot_use():
    with pytest.raises(ValueError, match="11025"):
        WebRtcVad(11025, 3)
    with pytest.raises(ValueError, match="mode"):
        WebRtcVad(8000, 4)


def test_rejects_frames_of_the_wrong_shape():
    vad = WebRtcVad(16000, 3)
    with pytest.raises(ValueError, match="160"):
        vad(np.zeros((3, 100)))
    with pytest.raises(ValueError):
        vad(np.zeros(160))


@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
def test_digital_silence_is_not_speech(rate):
    out = WebRtcVad(rate, 3)(np.zeros((20, frame_len(rate))))
    assert out.dtype == bool and out.shape == (20,)
    assert not out.any()


def test_accepts_20_and_30_ms_frames_too():
    vad = WebRtcVad(8000, 2)
    assert vad(np.zeros((4, 160))).shape == (4,)
    assert vad(np.zeros((4, 240))).shape == (4,)


def test_empty_block_gives_an_empty_answer():
    assert WebRtcVad(8000, 3)(np.zeros((0, 80))).shape == (0,)


@pytest.mark.speech
@pytest.mark.skipif(not ALLISON.is_dir(), reason="needs asterisk-core-sounds-en-wav")
def test_real_speech_is_mostly_speech_and_float_input_equals_int16_input():
    x, sr = sf.read(ALLISON / "vm-intro.wav", dtype="int16")
    n = x.size // 80
    frames16 = x[: n * 80].reshape(n, 80)
    vad_a, vad_b = WebRtcVad(sr, 3), WebRtcVad(sr, 3)
    as_int = vad_a(frames16)
    as_float = vad_b(frames16.astype(np.float64) + 0.2)  # rounds back to the same samples
    assert np.array_equal(as_int, as_float)
    loud = 10 * np.log10(np.mean(frames16.astype(np.float64) ** 2, axis=1) + 1e-9) > 10 * np.log10(32768**2) - 40
    assert as_int[loud].mean() > 0.8  # frames within 40 dB of full scale in a clean prompt


def test_float_samples_beyond_int16_are_clipped_not_wrapped():
    t = np.arange(200 * 80) / 8000
    overdriven = (3e5 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t))).reshape(200, 80)
    clipped = np.clip(np.rint(overdriven), -32768, 32767).astype(np.int16)
    wrapped = np.rint(overdriven).astype(np.int64).astype(np.int16)  # what a bare cast would do
    got = WebRtcVad(8000, 3)(overdriven)
    assert np.array_equal(got, WebRtcVad(8000, 3)(clipped))
    assert not np.array_equal(clipped, wrapped)
