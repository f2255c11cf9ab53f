"""Real pyttsx3 + espeak-ng in the worker process: the zh-CN line becomes plausible speech, cached."""

from __future__ import annotations

import ctypes.util
from pathlib import Path

import numpy as np
import pytest
from test_tts_support import ZH_LINE, rms_dbfs, speech_span

from softphone_assist.speech.cache import RenderSpec, read_clip
from softphone_assist.speech.errors import TtsError
from softphone_assist.speech.render import LineRenderer

pytestmark = pytest.mark.skipif(
    ctypes.util.find_library("espeak-ng") is None and ctypes.util.find_library("espeak") is None,
    reason="libespeak-ng is not installed (apt-get install -y espeak-ng libespeak-ng1)",
)


def test_espeak_lists_mandarin_and_picks_it(renderer: LineRenderer, zh_voice: str) -> None:
    cat = renderer.list_voices(60)
    assert cat.engine == "espeak"
    ids = {v.id for v in cat.voices}
    assert {"sit/cmn", "sit/cmn-latn-pinyin", "gmw/en"} <= ids
    assert zh_voice in ("sit/cmn", "sit/cmn-latn-pinyin")  # the variant depends on the espeak-ng version
    assert renderer.pick_voice("en").id == "gmw/en"


def test_zh_line_renders_as_speech(renderer: LineRenderer, zh_voice: str) -> None:
    clip = renderer.render_blocking(RenderSpec(ZH_LINE, zh_voice, 150), 60)
    x, rate = read_clip(clip.path)
    assert rate == clip.sample_rate == 22050 and len(x) == clip.frames
    # 22 characters (19 syllables, 4 commas/question marks) at 150 wpm: about 6 s; a tone-digit
    # misreading ("fei one") or a dropped text would land far outside this.
    assert 4.0 < clip.seconds < 9.0
    start, end = speech_span(x, rate)
    assert start < 0.05 and end > clip.seconds - 0.05  # trimmed: speech from edge to edge
    level = rms_dbfs(x)
    assert -30.0 < level < -10.0, level  # espeak-ng speaks at about -18 dBFS
    # speech has pauses: 20 ms windows spread over a wide range, unlike a tone or noise
    n = int(0.02 * rate)
    win = 10 * np.log10(np.mean(x[: len(x) // n * n].reshape(-1, n) ** 2, axis=1) + 1e-12)
    assert np.percentile(win, 90) - np.percentile(win, 10) > 15.0


def test_cache_hit_and_rate(renderer: LineRenderer, zh_voice: str) -> None:
    line = "您的问题我正在核实,请您稍等"
    before = renderer.renders
    slow = renderer.render_blocking(RenderSpec(line, zh_voice, 120), 60)
    again = renderer.render(RenderSpec(line, zh_voice, 120))
    assert again.done() and again.result().path == slow.path
    assert renderer.renders == before + 1  # the second ask did not render
    fast = renderer.render_blocking(RenderSpec(line, zh_voice, 240), 60)
    assert fast.path != slow.path and renderer.renders == before + 2
    # the rate really took: 240 wpm is much shorter than 120 wpm (espeak-ng: about 0.55x)
    assert 0.4 < fast.seconds / slow.seconds < 0.75


def test_rates_alternating_in_one_worker_stay_right(renderer: LineRenderer, zh_voice: str) -> None:
    """pyttsx3 2.99 + espeak-ng dropped rate changes ~1 time in 3 (engine.py): check 12 in a row."""
    durations: dict[int, set[int]] = {150: set(), 200: set()}
    for i in range(12):
        rate = (150, 200)[i % 2]
        clip = renderer.render_blocking(RenderSpec(f"请您稍等{i}", zh_voice, rate), 60)
        durations[rate].add(round(clip.seconds * 10))
    assert max(durations[200]) < min(durations[150])


def test_prerender_warms_every_line(renderer: LineRenderer, zh_voice: str, tmp_path: Path) -> None:
    lines = ["感谢您的来电,再见!", "请问还有什么可以帮您?", "正在查询中,请您稍等。"]
    futures = renderer.prerender(lines, zh_voice, 150)
    clips = [renderer.worker.wait(f, 60) for f in futures]
    assert all(c.path.exists() and c.seconds > 1.0 for c in clips)
    hits = renderer.cache_hits
    assert all(renderer.render(RenderSpec(t, zh_voice, 150)).done() for t in lines)
    assert renderer.cache_hits == hits + 3


def test_unknown_voice_fails_that_line_only(renderer: LineRenderer, zh_voice: str) -> None:
    with pytest.raises(TtsError, match=r"voice 'nope/none' cannot be selected"):
        renderer.render_blocking(RenderSpec("你好", "nope/none", 150), 60)
    ok = renderer.render_blocking(RenderSpec("你好", zh_voice, 150), 60)
    assert ok.seconds > 0.3 and renderer.worker.restarts == 0


def test_english_line(renderer: LineRenderer) -> None:
    clip = renderer.render_blocking(RenderSpec("Thank you for your patience.", "gmw/en", 160), 60)
    assert 1.0 < clip.seconds < 3.5
