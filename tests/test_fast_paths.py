"""The fast paths give exactly what the plain ones gave: int16 reads, framing in place, the DC loop.

Each fast path (audio/reader.py's int16 read, core/pipeline.py's framing without a copy,
core/detect/levels.py's DC estimate) is compared here with the straightforward computation it
replaced, value for value.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from softphone_assist.audio.reader import open_call
from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.detect.levels import DC_FOLLOW, DcOffset
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script.loader import load_script

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "demo_call.wav"  # real recorded speech, stereo 16 kHz


def _speech(seconds: float) -> np.ndarray:
    x, rate = sf.read(DEMO, dtype="int16", always_2d=True)
    assert rate == 16000
    return x[: int(seconds * rate)]


@pytest.mark.parametrize(("fmt", "subtype", "rate"), [
    ("WAV", "PCM_16", 16000), ("WAV", "PCM_16", 8000), ("WAV", "ULAW", 8000), ("WAV", "ALAW", 8000),
    ("WAV", "PCM_U8", 16000), ("FLAC", "PCM_16", 16000), ("FLAC", "PCM_S8", 8000),
])
@pytest.mark.parametrize("channels", [None, "caller,agent", "caller"])
def test_int16_reads_give_the_float_read_times_32768(tmp_path: Path, fmt: str, subtype: str, rate: int,
                                                      channels: str | None) -> None:
    x = _speech(7.3)
    if rate == 8000:
        x = x[::2]
    path = tmp_path / f"call.{fmt.lower()}"
    sf.write(path, x, rate, format=fmt, subtype=subtype)
    ref = sf.read(path, dtype="float64", always_2d=True)[0] * 32768.0
    with open_call(path, channels) as reader:
        blocks = list(reader.blocks(0.37 if rate == 16000 else 0.375))  # not a divisor of the 1 s reads
        warnings = list(reader.warnings)
    caller = np.concatenate([c for c, _ in blocks])
    if channels == "caller":  # both channels mixed
        assert caller.tolist() == ref.mean(axis=1).tolist()
        assert all(a is None for _, a in blocks)
    else:
        agent = np.concatenate([a for _, a in blocks if a is not None])
        cols = (1, 0) if channels is None else (0, 1)  # default map: agent,caller
        assert caller.tolist() == ref[:, cols[0]].tolist()
        assert agent.tolist() == ref[:, cols[1]].tolist()
    assert warnings == []
    assert all(c.flags.c_contiguous and c.dtype == np.float64 for c, _ in blocks)


def test_a_block_is_the_consumers_own_array(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    sf.write(path, _speech(3.0), 16000, subtype="PCM_16")
    with open_call(path) as reader:
        blocks = list(reader.blocks(1.0))
    first = blocks[0][0].copy()
    blocks[1][0][:] = 0.0  # a consumer that writes into a block touches no other block
    assert blocks[0][0].tolist() == first.tolist()
    assert not np.shares_memory(blocks[0][0], blocks[0][1])


def _pipeline() -> Pipeline:
    return Pipeline(16000, load_script("zh-CN"), WebRtcVad, has_agent=True,
                    call_started_at=datetime(2026, 11, 23, 14, 0))


def test_a_caller_may_reuse_its_buffer_after_feed() -> None:
    """The pipeline frames a block in place: what it keeps of it must be its own copy."""
    x = _speech(40.0).astype(np.float64)
    step = 1234  # not a whole number of 160-sample frames: every feed leaves a remainder
    fresh, reused = _pipeline(), _pipeline()
    out_fresh, out_reused = [], []
    buf_c, buf_a = np.empty(step), np.empty(step)
    for s in range(0, len(x), step):
        agent, caller = x[s : s + step, 0], x[s : s + step, 1]
        out_fresh += fresh.feed(caller.copy(), agent.copy())
        n = len(caller)
        buf_c[:n], buf_a[:n] = caller, agent
        out_reused += reused.feed(buf_c[:n], buf_a[:n])
        buf_c[:] = 12345.0  # the live capture overwrites its buffer with the next block
        buf_a[:] = -12345.0
    assert [repr(u) for u in out_reused] == [repr(u) for u in out_fresh]
    assert any(getattr(u, "channel", None) == "agent" for u in out_fresh)  # the call did say something


def test_a_short_feed_keeps_its_samples_too() -> None:
    """A feed too short for a frame on one channel frames nothing: the samples wait, as copies."""
    x = _speech(4.0).astype(np.float64)
    a, b = _pipeline(), _pipeline()
    out_a = a.feed(x[:, 1].copy(), x[:, 0].copy())
    buf_c, buf_a = x[:1000, 1].copy(), x[:100, 0].copy()  # the agent's part is under one frame
    out_b = b.feed(buf_c, buf_a)
    buf_c[:] = 0.0
    buf_a[:] = 0.0
    out_b += b.feed(x[1000:, 1].copy(), x[100:, 0].copy())
    assert [repr(u) for u in out_b] == [repr(u) for u in out_a]


def test_dc_estimate_is_the_per_frame_recurrence_whatever_the_blocks() -> None:
    rng = np.random.default_rng(7)
    frames = rng.normal(300.0, 900.0, (2000, 160)).round()
    frames[500:900] = 0.0  # digital silence: its power stays exactly 0
    power = np.einsum("ij,ij->i", frames, frames) / 160
    # the reference: one frame at a time, the first frame's mean taken as it is
    means = frames.mean(axis=1)
    dc, y = [], None
    for m in means.tolist():
        y = m if y is None else y + DC_FOLLOW * (m - y)
        dc.append(y)
    d = np.array(dc)
    expected = np.where(power > 0.0, np.maximum(power - 2.0 * d * means + d * d, 0.0), 0.0)
    for cuts in ([2000], [1, 999, 1000], [0, 7, 1993], [160] * 12 + [80]):
        est, got, a = DcOffset(), [], 0
        for n in cuts:
            got.append(est.remove(frames[a : a + n], power[a : a + n]))
            a += n
        assert np.concatenate(got).tolist() == expected.tolist()
        assert est.value == dc[-1]


def test_the_noise_model_is_asked_only_where_its_gate_lets_it_answer() -> None:
    """The caller tracker skips the features of evaluations whose quiet tenth (of the last
    GATE_FRAMES) is under the model's gate (NoiseModel.is_noisy says no there): its conditions
    are those of asking everywhere."""
    from dataclasses import replace as dc_replace

    from softphone_assist.core.config import DetectorConfig
    from softphone_assist.core.detect import CallerLineTracker
    from softphone_assist.core.detect.noise_model import FEATURES, GATE_FEATURE, NOISE_GATE_DBOV, shipped_model

    x = _speech(60.0)[:, 1].astype(np.float64)  # the demo's caller: real speech over a quiet line
    half = len(x) - len(x) // 2
    noise = np.random.default_rng(3).standard_normal(half)  # and over line noise in its second half
    x[len(x) // 2 :] += noise / np.sqrt(np.mean(noise * noise)) * 32768 * 10 ** (-50.0 / 20)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    m = shipped_model()
    # a model that is always sure: only its gate decides, so a skipped row that mattered would show
    sure = dc_replace(m, out_w=np.zeros_like(m.out_w), out_b=50.0)

    def conditions(sink: bool) -> tuple[list[tuple[float, str, float]], np.ndarray | None]:
        tracker = CallerLineTracker(16000, DetectorConfig(), noise_model=sure)
        if sink:
            tracker.feature_sink = []  # the features of every voiced evaluation: nothing skipped
        events = []
        for s in range(0, len(frames), 700):
            events += tracker.process(frames[s : s + 700], np.zeros(len(frames[s : s + 700]), bool), s)
        feats = np.concatenate([f for _, f, _ in tracker.feature_sink]) if sink and tracker.feature_sink else None
        return [(e.t, e.condition, e.since) for e in events], feats

    fast, _ = conditions(sink=False)
    every, feats = conditions(sink=True)
    assert fast == every
    assert feats is not None
    quiet = feats[:, FEATURES.index(GATE_FEATURE)]
    assert (quiet < NOISE_GATE_DBOV).any() and (quiet >= NOISE_GATE_DBOV).any()  # both kinds were there
    assert "noisy" in [c for _, c, _ in fast]  # and the model did turn evaluations into noisy


@pytest.mark.parametrize("rate", [16000, 8000])
def test_the_voicing_computed_when_asked_is_that_of_every_hop_window(rate: int) -> None:
    """The caller tracker computes a hop window's voicing (levels.voicing) only when the noise
    model asks about a second that holds it, from the block or the tail it keeps of the blocks
    before: the voicing features are those of all hop windows computed from the whole signal,
    whatever the block cuts (1, 7, 700 frames)."""
    from softphone_assist.core.config import DetectorConfig
    from softphone_assist.core.detect import CallerLineTracker
    from softphone_assist.core.detect.floor import HOP
    from softphone_assist.core.detect.levels import VOICE_RATE, voicing
    from softphone_assist.core.detect.noise_model import FEATURES, VOICE_WINDOWS, voicing_features

    x = _speech(20.0)[:, 1].astype(np.float64)  # the demo's caller, over line noise from 4 s on
    noise = np.random.default_rng(4).standard_normal(x.size - 4 * 16000)
    x[4 * 16000 :] += noise / np.sqrt(np.mean(noise * noise)) * 32768 * 10 ** (-55.0 / 20)
    if rate == 8000:
        x = x[::2]  # no anti-alias filter needed: the tracker sees what it sees
    fl = rate // 100
    frames = x[: x.size // fl * fl].reshape(-1, fl)
    k = rate // VOICE_RATE
    low = frames.reshape(frames.shape[0], -1, k).sum(axis=2)  # the tracker's 4 kHz samples
    names = ("voiced_frac", "voice_peak", "pitch_steady", "pitch_held", "voice_flips")
    cols = [FEATURES.index(f) for f in names]
    got = []
    for cuts in ([1] * 700 + [7] * 100, [700]):
        tracker = CallerLineTracker(rate, DetectorConfig(), noise_model=False)
        tracker.feature_sink = []
        a = 0
        while a < frames.shape[0]:
            for n in cuts:
                tracker.process(frames[a : a + n], np.zeros(frames[a : a + n].shape[0], bool), a)
                a += n
                if a >= frames.shape[0]:
                    break
            cuts = [700]
        hops = np.concatenate([h for h, _, _ in tracker.feature_sink])
        got.append((hops, np.concatenate([f for _, f, _ in tracker.feature_sink])[:, cols]))
    hops, feats = got[0]
    assert hops.size > 100 and np.array_equal(hops, got[1][0])
    assert np.array_equal(feats, got[1][1])
    ends = hops[:, None] - HOP * np.arange(VOICE_WINDOWS - 1, -1, -1)
    peak, lag = voicing(np.concatenate([low[ends.ravel() - 1], low[ends.ravel()]], axis=1))
    want = voicing_features(peak.reshape(ends.shape), lag.reshape(ends.shape))
    assert np.allclose(feats, np.stack([want[f] for f in names], axis=1), rtol=0.0, atol=1e-12)
    assert 0.2 < feats[:, 0].mean() < 0.9  # real speech: voiced and unvoiced windows


def test_the_callers_slow_floor_is_the_order_statistic_of_its_whole_window() -> None:
    """NoiseFloor finds the caller's slow floor (the 4th-lowest frame of 1.2 s) from the lowest
    frames of the window's older part and of its last 0.5 s: the same value as one partition of
    the whole window, at every hop and whatever the block cuts."""
    from softphone_assist.core.detect.floor import CALLER_SLOW_FRAMES, CALLER_SLOW_RANK, HOP, NoiseFloor
    from softphone_assist.core.detect.history import FrameRing
    from softphone_assist.core.detect.layout import FLOOR, LEVEL, PADS

    rng = np.random.default_rng(5)
    n = 1700
    # levels spread over 60 dB: never steady, so the floor in force is the slow one
    power = 32768.0**2 * 10.0 ** (rng.uniform(-80.0, -20.0, n) / 10.0)
    runs = []
    for cuts in ([n], [1, 4, 5, 290, 700, 700], [333] * 5 + [35]):
        ring = FrameRing(PADS, keep=CALLER_SLOW_FRAMES + HOP)
        floor = NoiseFloor(slow_frames=CALLER_SLOW_FRAMES, slow_rank=CALLER_SLOW_RANK)
        got, seen, a = [], [], 0
        for m in cuts:
            ring.reserve(m)
            floor.process(ring, a, power[a : a + m], power[a : a + m] * 0.5)
            ring.end = a + m
            got.append(ring.row(FLOOR, a, a + m).copy())
            seen.append(ring.row(LEVEL, a, a + m).copy())
            a += m
        runs.append(np.concatenate(got))
        levels = np.concatenate(seen)
    assert all(r.tolist() == runs[0].tolist() for r in runs)
    padded = np.concatenate([np.full(CALLER_SLOW_FRAMES, np.inf), levels])
    for hop in range(HOP - 1 + CALLER_SLOW_FRAMES, n, HOP):
        window = padded[hop + 1 : hop + 1 + CALLER_SLOW_FRAMES]
        assert runs[0][hop] == np.partition(window, CALLER_SLOW_RANK)[CALLER_SLOW_RANK]
