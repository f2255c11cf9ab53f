"""Real sound server: a private PulseAudio with null sinks; lines played into them are recorded
from the sinks' monitors with parecord and compared with the rendered WAV.

Skipped (with the reason) only when pulseaudio/parecord or the ALSA pulse plugin are missing;
espeak-ng renders the line, so it is needed too.
"""

from __future__ import annotations

import ctypes.util
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soxr
from soundserver import SoundServer, why_not
from test_tts_support import ZH_LINE, read_raw, rms_dbfs, speech_span

from softphone_assist.audio.playback import OutputDeviceError, Playback, resolve_output
from softphone_assist.speech.cache import RenderSpec, read_clip
from softphone_assist.speech.render import LineRenderer
from softphone_assist.speech.speaker import Speaker, SpeechEvent, SpeechFinished, SpeechStarted

_why_not = why_not("pulseaudio", alsa_pulse=True) or (
    "libespeak-ng is not installed (apt-get install -y espeak-ng libespeak-ng1)"
    if ctypes.util.find_library("espeak-ng") is None else None)
pytestmark = pytest.mark.skipif(_why_not is not None, reason=f"needs a private PulseAudio: {_why_not}")

RATE = 48000
SINKS = {"agent_mic_in": 1, "headset": 2}


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    server = SoundServer("pulseaudio", tmp_path_factory.mktemp("pulse"), SINKS, rate=RATE)
    try:
        server.start()
        server.keep_running(settle_s=2.5)
        with server.as_default():
            yield server
    finally:
        server.stop()


def poll_until_finished(speaker: Speaker, timeout: float = 30.0) -> list[SpeechEvent]:
    events: list[SpeechEvent] = []
    deadline = time.monotonic() + timeout
    while not any(isinstance(e, SpeechFinished) for e in events):
        assert time.monotonic() < deadline, events
        events += speaker.poll()
        time.sleep(0.01)
    return events


def best_correlation(recorded: np.ndarray, clip48: np.ndarray) -> float:
    """Peak normalised cross-correlation of the clip against the recording (1.0: identical)."""
    n = 1 << int(np.ceil(np.log2(len(recorded) + len(clip48))))
    xc = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(clip48, n)), n)
    lag = int(np.argmax(xc))
    if lag > n - len(clip48):  # negative lag: the recording starts inside the clip
        lag -= n
    seg = recorded[max(lag, 0):max(lag, 0) + len(clip48)]
    ref = clip48[max(-lag, 0):max(-lag, 0) + len(seg)]
    seg = seg[: len(ref)]
    return float(np.dot(seg, ref) / (np.linalg.norm(seg) * np.linalg.norm(ref) + 1e-12))


def test_line_plays_into_two_sinks_at_once(pulse: SoundServer, renderer: LineRenderer, zh_voice: str,
                                           tmp_path: Path) -> None:
    spec = RenderSpec(ZH_LINE, zh_voice, 150)
    clip = renderer.render_blocking(spec, 60)
    x, rate = read_clip(clip.path)
    outputs = [resolve_output("agent_mic_in"), resolve_output("pulse:headset")]
    assert [o.pulse_sink for o in outputs] == ["agent_mic_in", "headset"]
    speaker = Speaker(renderer, outputs, zh_voice, rate=150)
    recs = {s: tmp_path / f"{s}.raw" for s in SINKS}
    for sink, path in recs.items():
        pulse.record(f"{sink}.monitor", path)
    rid = speaker.speak(ZH_LINE)
    events = poll_until_finished(speaker)
    time.sleep(0.3)  # the last 20 ms blocks reach the files
    pulse.stop_recorders()

    started, finished = events
    assert started == SpeechStarted(rid, ZH_LINE, clip.seconds)
    assert isinstance(finished, SpeechFinished)
    assert finished == SpeechFinished(rid, ZH_LINE, clip.frames, rate, False, "done", finished.ended_at)
    clip48 = soxr.resample(x, rate, RATE).astype(np.float32)
    c0, c1 = speech_span(clip48, RATE)
    clip_level = rms_dbfs(clip48[int(c0 * RATE):int(c1 * RATE)])
    for sink, path in recs.items():
        y = read_raw(path)
        s0, s1 = speech_span(y, RATE)
        assert abs((s1 - s0) - (c1 - c0)) <= 0.06, (sink, s1 - s0, c1 - c0)
        level = rms_dbfs(y[int(s0 * RATE):int(s1 * RATE)])
        assert abs(level - clip_level) < 1.5, (sink, level, clip_level)  # well above the -90 dB floor
        assert best_correlation(y, clip48) > 0.95, sink  # the same speech, not just some sound


def test_skip_stops_the_sound_where_it_says(pulse: SoundServer, renderer: LineRenderer, zh_voice: str,
                                           tmp_path: Path) -> None:
    renderer.render_blocking(RenderSpec(ZH_LINE, zh_voice, 150), 60)
    speaker = Speaker(renderer, [resolve_output("agent_mic_in")], zh_voice, rate=150)
    rec = tmp_path / "skip.raw"
    pulse.record("agent_mic_in.monitor", rec)
    rid = speaker.speak(ZH_LINE)
    time.sleep(1.5)
    speaker.skip()
    events = poll_until_finished(speaker)
    time.sleep(0.3)
    pulse.stop_recorders()
    done = events[-1]
    assert isinstance(done, SpeechFinished) and done.request_id == rid
    assert done.cancelled and done.reason == "skipped"
    assert 0.5 < done.seconds < 5.0  # some, not all, of the ~6 s line
    s0, s1 = speech_span(read_raw(rec), RATE)
    # what arrived matches what the speaker says it played (plus at most a block or two)
    assert done.seconds - 0.25 <= s1 - s0 <= done.seconds + 0.1, (s1 - s0, done.seconds)


def test_playback_alone_reports_every_frame(pulse: SoundServer, tmp_path: Path) -> None:
    tone = (0.2 * np.sin(2 * np.pi * 500 * np.arange(8000) / 16000)).astype(np.float32)
    rec = tmp_path / "tone.raw"
    pulse.record("headset.monitor", rec)
    pb = Playback(tone, 16000, [resolve_output("headset")])
    pb.start()
    result = pb.wait(10)
    time.sleep(0.3)
    pulse.stop_recorders()
    assert (result.frames, result.sample_rate, result.cancelled, result.error) == (8000, 16000, False, None)
    assert [o.frames for o in result.outputs] == [8000]
    assert result.started_at is not None and result.ended_at >= result.started_at
    s0, s1 = speech_span(read_raw(rec), RATE)
    assert abs((s1 - s0) - 0.5) <= 0.04


def test_unknown_sink_names_the_sinks_there_are(pulse: SoundServer) -> None:
    with pytest.raises(OutputDeviceError) as err:
        resolve_output("pulse:softphone_mic")
    assert str(err.value) == ("tts.outputs 'pulse:softphone_mic': PulseAudio has no sink 'softphone_mic'; "
                              "sinks: agent_mic_in, headset")
    with pytest.raises(OutputDeviceError, match=r"no output device name contains it; outputs: .*'pulse'.*"
                                                r"PulseAudio sinks: agent_mic_in, headset"):
        resolve_output("CABLE Input")
