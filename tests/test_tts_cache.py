"""Render cache: keys, settings validation, trimming and atomic WAV files (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from softphone_assist.core.errors import UserError
from softphone_assist.speech.cache import RenderCache, RenderSpec, read_clip, trim_silence, write_clip_atomic

LINE = "请您稍等"


def test_same_spec_same_file_and_every_setting_changes_it(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, engine="pyttsx3|espeak")
    base = RenderSpec(LINE, "sit/cmn", 150)
    assert cache.path_for(base) == cache.path_for(RenderSpec(LINE, "sit/cmn", 150, 1.0))
    others = [RenderSpec(LINE, "sit/cmn", 160), RenderSpec(LINE, "sit/yue", 150),
              RenderSpec(LINE, "sit/cmn", 150, 0.5), RenderSpec(LINE + "。", "sit/cmn", 150)]
    paths = {cache.path_for(s) for s in [base, *others]}
    assert len(paths) == 5
    assert RenderCache(tmp_path, engine="pyttsx3|sapi5").path_for(base) != cache.path_for(base)
    assert cache.path_for(base).parent == tmp_path and cache.path_for(base).suffix == ".wav"


def test_lookup_needs_a_real_file(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path / "new" / "dir", engine="e")
    spec = RenderSpec(LINE, "v", 150)
    assert cache.lookup(spec) is None
    cache.path_for(spec).write_bytes(b"RIFF" + b"\0" * 40)  # header only: an interrupted write
    assert cache.lookup(spec) is None
    write_clip_atomic(cache.path_for(spec), np.full(100, 0.1, dtype=np.float32), 8000)
    assert cache.lookup(spec) == cache.path_for(spec)
    assert cache.clear() == 1 and cache.lookup(spec) is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text": "  "}, "tts: a line to speak is empty"),
    ({"voice_id": ""}, "tts.voice: no voice id given"),
    ({"rate": 40}, "tts.rate: 40 is outside 50..500 words per minute"),
    ({"rate": 150.0}, "tts.rate: expected whole words per minute, got 150.0"),
    ({"rate": True}, "tts.rate: expected whole words per minute, got True"),
    ({"volume": 0.0}, "tts.volume: 0.0 is outside 0..1 (0 excluded)"),
    ({"volume": 1.5}, "tts.volume: 1.5 is outside 0..1 (0 excluded)"),
])
def test_bad_settings_are_user_errors_naming_the_setting(kwargs: dict, message: str) -> None:
    args = {"text": LINE, "voice_id": "sit/cmn", "rate": 150, "volume": 1.0, **kwargs}
    with pytest.raises(UserError) as err:
        RenderSpec(**args)
    assert str(err.value) == message


def test_cache_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match=r"tts cache dir .*file/sub: cannot create it"):
        RenderCache(blocker / "sub", engine="e")


def test_trim_keeps_20_ms_around_the_sound() -> None:
    rate = 1000
    x = np.zeros(2000, dtype=np.float32)
    x[500:700] = 0.5
    x[300] = 10 ** (-51 / 20)  # below the -50 dBFS floor: trimmed
    y = trim_silence(x, rate)
    assert len(y) == 200 + 2 * 20
    assert y[20] == 0.5 and y[19] == 0.0 and y[-21] == 0.5 and y[-20] == 0.0
    assert trim_silence(np.zeros(100, dtype=np.float32), rate).size == 0
    # margin is clipped at the clip's edges
    assert len(trim_silence(np.full(50, 0.5, dtype=np.float32), rate)) == 50


def test_written_clip_reads_back_mono_16_bit(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    x = (0.25 * np.sin(np.arange(2205) / 10)).astype(np.float32)
    write_clip_atomic(path, x, 22050)
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (22050, 1, "PCM_16", 2205)
    y, rate = read_clip(path)
    assert rate == 22050 and y.dtype == np.float32
    assert np.max(np.abs(y - x)) < 1 / 32768 + 1e-7
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temporary left behind


def test_stereo_input_is_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "st.wav"
    sf.write(str(path), np.array([[0.5, 0.0], [0.0, 0.5]] * 10, dtype=np.float32), 8000, subtype="FLOAT")
    y, _ = read_clip(path)
    assert np.allclose(y, 0.25)


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav at all")
    with pytest.raises(UserError, match=r"tts: cannot read audio file .*bad.wav"):
        read_clip(bad)
