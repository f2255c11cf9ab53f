"""The replay's speed paths give exactly what the plain ones gave (issue 9: replay speed, start-up included).

* audio/reader.py's `_PcmWav`: a plain 16-bit PCM WAV read without libsndfile — the same info, frame
  count and samples as libsndfile, and every other file still goes to libsndfile;
* core/detect/agent.py's `percentile`: numpy's default percentile, value for value;
* audio/vad.py: webrtcvad's own decisions, frame for frame;
* cli.py: the replay-only parser parses a replay command line as the whole one does, and a replay
  imports nothing it does not use (settings, audit, logging, soundfile for a plain WAV);
* the int16 path: the reader's int16 blocks hold its float blocks' values, the pipeline gives the same
  updates for either, and the VAD adapter takes them as they are;
* a replay makes no cyclic garbage (the replay process runs without the cyclic collector).
"""

from __future__ import annotations

import argparse
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from softphone_assist.audio.reader import CallReader, _PcmWav, _read_wav_data_chunk, open_call
from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.detect.agent import percentile
from softphone_assist.core.errors import InputError
from softphone_assist.core.events import Update

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo" / "demo_call.wav"  # real recorded speech, stereo 16 kHz, PCM_16


def _speech(seconds: float, rate: int = 16000) -> np.ndarray:
    x, r = sf.read(DEMO, dtype="int16", always_2d=True)
    assert r == 16000
    x = x[: int(seconds * r)]
    return x[::2] if rate == 8000 else x


def _riff(chunks: list[tuple[bytes, bytes]], tail: bytes = b"") -> bytes:
    """A RIFF WAVE file of these (id, body) chunks, each padded to an even size."""
    body = b"WAVE" + b"".join(cid + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
                              for cid, data in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body + tail


def _fmt(channels: int, rate: int, extra: bytes = b"") -> bytes:
    return struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16) + extra


def _snd_and_wav(path: Path) -> tuple[sf.SoundFile, _PcmWav]:
    wav = _PcmWav.open(path, _read_wav_data_chunk(path))
    assert wav is not None, path
    return sf.SoundFile(str(path)), wav


def _plain_wavs(tmp_path: Path) -> list[Path]:
    """Plain PCM_16 WAVs as libsndfile writes them and as recorders leave them (truncated, a
    trailing chunk, an extra chunk before the audio, a data size that is not whole frames)."""
    out: list[Path] = []
    for rate, channels in ((16000, 2), (8000, 1), (44100, 2), (16000, 3)):
        x = _speech(2.3, 8000 if rate == 8000 else 16000)
        x = np.tile(x[:, :1], (1, channels)) if channels != 2 else x
        path = tmp_path / f"w{rate}_{channels}.wav"
        sf.write(path, x, rate, subtype="PCM_16")
        out.append(path)
    data = _speech(1.7).tobytes()
    made = {
        "list_before.wav": _riff([(b"fmt ", _fmt(2, 16000)), (b"LIST", b"INFOISFT\4\0\0\0abc\0"), (b"data", data)]),
        "fmt18.wav": _riff([(b"fmt ", _fmt(2, 16000, b"\0\0")), (b"data", data)]),
        "list_after.wav": _riff([(b"fmt ", _fmt(2, 16000)), (b"data", data), (b"LIST", b"INFOabcd")]),
        "half_frame.wav": _riff([(b"fmt ", _fmt(2, 16000)), (b"data", data + b"\1\2\3")]),
    }
    for name, content in made.items():
        (tmp_path / name).write_bytes(content)
        out.append(tmp_path / name)
    whole = out[0].read_bytes()
    for cut in (44 + 1, 44 + 3, 44 + 4000 * 4 + 1, 44 + 4000 * 4 + 2, 44 + 4000 * 4 + 3, len(whole) - 1):
        path = tmp_path / f"cut{cut}.wav"
        path.write_bytes(whole[:cut])  # a truncated recording: the header claims more than is there
        out.append(path)
    return out


def test_a_plain_pcm_wav_reads_as_libsndfile_reads_it(tmp_path: Path) -> None:
    for path in _plain_wavs(tmp_path):
        snd, wav = _snd_and_wav(path)
        with snd, wav._f:
            assert (wav.samplerate, wav.channels, wav.frames, wav.subtype) == \
                (snd.samplerate, snd.channels, snd.frames, snd.subtype), path
            for frames in (1, 777, 16000, 10**9):  # reads of any size, up to and past the end
                ours, theirs = wav.read(frames), snd.read(frames, dtype="int16", always_2d=True)
                assert ours.dtype == theirs.dtype and ours.tolist() == theirs.tolist(), (path, frames)
                assert wav.tell() == snd.tell()
            assert len(wav.read(10)) == 0
            wav.seek(0)
            snd.seek(0)
            assert wav.read(50).tolist() == snd.read(50, dtype="int16", always_2d=True).tolist()


@pytest.mark.parametrize("channels", [None, "caller", "caller,agent", "caller,-"])
def test_a_replay_of_a_plain_wav_is_the_same_without_libsndfile(tmp_path: Path, channels: str | None) -> None:
    for path in _plain_wavs(tmp_path):
        chunk = _read_wav_data_chunk(path)
        runs: list[object] = []
        for source in _snd_and_wav(path):
            try:
                reader = CallReader(path, source, chunk, channels)
            except InputError as e:  # a map that does not fit, a file cut inside its first frame
                source.close()
                runs.append(str(e))
                continue
            with reader:
                blocks = list(reader.blocks(0.37 if reader.info.rate == 16000 else 0.375))
                runs.append((reader.info, [(c.tolist(), None if a is None else a.tolist()) for c, a in blocks],
                             list(reader.warnings), dict(reader.clipped)))
        assert runs[0] == runs[1], path


def test_files_only_libsndfile_may_read_go_to_libsndfile(tmp_path: Path) -> None:
    x = _speech(1.0)
    data = x.tobytes()
    for name, subtype, fmt in (("f24.wav", "PCM_24", "WAV"), ("float.wav", "FLOAT", "WAV"), ("ulaw.wav", "ULAW", "WAV"),
                               ("ext.wav", "PCM_16", "WAVEX"), ("rf64.wav", "PCM_16", "RF64"),
                               ("call.flac", "PCM_16", "FLAC")):
        sf.write(tmp_path / name, x, 16000, subtype=subtype, format=fmt)
    sf.write(tmp_path / "rifx.wav", x, 16000, subtype="PCM_16", format="WAV", endian="BIG")
    made = {
        "odd_chunk.wav": _riff([(b"fmt ", _fmt(2, 16000)), (b"junk", b"abc"), (b"data", data)]),
        "two_fmt.wav": _riff([(b"fmt ", _fmt(1, 8000)), (b"fmt ", _fmt(2, 16000)), (b"data", data)]),
        "bad_align.wav": _riff([(b"fmt ", struct.pack("<HHIIHH", 1, 2, 16000, 64000, 2, 16)), (b"data", data)]),
        "bad_rate.wav": _riff([(b"fmt ", struct.pack("<HHIIHH", 1, 2, 16000, 1000, 4, 16)), (b"data", data)]),
        "slow.wav": _riff([(b"fmt ", _fmt(2, 6000)), (b"data", data)]),
        "unfinished.wav": _riff([(b"fmt ", _fmt(2, 16000)), (b"data", b"")], tail=data),
    }
    for name, content in made.items():
        (tmp_path / name).write_bytes(content)
    for path in sorted(tmp_path.iterdir()):
        assert _PcmWav.open(path, _read_wav_data_chunk(path)) is None, path.name
    with open_call(tmp_path / "f24.wav") as reader:  # and they are still read
        assert reader.info.subtype == "PCM_24" and not isinstance(reader._snd, _PcmWav)


def test_percentile_is_numpys_value_for_value() -> None:
    rng = np.random.default_rng(11)
    specials = np.array([-120.0, -100.0, -70.5, -3.0, 0.0, -0.0, np.inf, -np.inf])
    for case, n in enumerate(list(range(1, 70)) * 12):
        kind = case % 4
        if kind == 0:
            x = rng.normal(-60.0, 15.0, n)
        elif kind == 1:
            x = np.round(rng.normal(-60.0, 15.0, n), 1)  # ties
        elif kind == 2:
            x = rng.choice(specials, n)
        else:
            x = rng.uniform(-200.0, 10.0, n)
            x[rng.integers(0, n)] = np.nan
        for q in (90.0, 0.0, 5.0, 33.3, 50.0, 99.0, 100.0):
            with np.errstate(invalid="ignore"):
                want = float(np.percentile(x, q))
            got = percentile(x, q)
            same = (math.isnan(want) and math.isnan(got)) or (got == want and math.copysign(1, got) ==
                                                              math.copysign(1, want))  # -0.0 is not 0.0 here
            assert same, (x.tolist(), q, want, got)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("mode", [0, 3])
def test_the_vad_adapter_says_what_webrtcvad_says(rate: int, mode: int) -> None:
    import webrtcvad

    x = _speech(12.0, rate)[:, 0]
    for ms in (10, 20, 30):
        n = rate * ms // 1000
        frames = x[: len(x) // n * n].reshape(-1, n)
        vad = webrtcvad.Vad(mode)
        want = [vad.is_speech(row.tobytes(), rate) for row in frames]
        got = WebRtcVad(rate, mode)(frames.astype(np.float64))
        assert got.tolist() == want
        assert any(want) and not all(want)


def test_the_vad_adapter_takes_int16_frames_and_blocks_of_any_size() -> None:
    """One adapter over a stream cut into blocks of changing sizes and frame lengths (its slices are
    kept from block to block) says what one webrtcvad instance says frame by frame."""
    import webrtcvad

    x = _speech(30.0)[:, 0]
    vad, ours = webrtcvad.Vad(3), WebRtcVad(16000, 3)
    want: list[bool] = []
    got: list[bool] = []
    pos = 0
    for frames, ms in ((5, 10), (300, 10), (7, 20), (0, 10), (2, 10), (400, 30), (1, 10), (900, 10), (3, 20)):
        n = 16 * ms
        block = x[pos : pos + frames * n].reshape(frames, n)
        pos += frames * n
        want += [vad.is_speech(row.tobytes(), 16000) for row in block]
        out = ours(block)  # int16, as the pipeline hands them over from a replay
        assert out.dtype == bool and out.shape == (frames,)
        got += out.tolist()
    assert got == want and any(want) and not all(want)


def test_int16_blocks_hold_the_float_blocks_values(tmp_path: Path) -> None:
    """`blocks(int16=True)`: int16 where the samples are stored as int16 at the analysis rate and not
    mixed, float64 elsewhere; the same values, block for block, and the same warnings."""
    x = _speech(3.3)
    sf.write(tmp_path / "plain.wav", x, 16000, subtype="PCM_16")
    sf.write(tmp_path / "call.flac", x, 16000, subtype="PCM_16")
    sf.write(tmp_path / "pcm24.wav", x, 16000, subtype="PCM_24")
    sf.write(tmp_path / "s48k.wav", np.repeat(x, 3, axis=0), 48000, subtype="PCM_16")  # resampled
    sf.write(tmp_path / "s8k.wav", x[::2], 8000, subtype="PCM_16")
    whole = (tmp_path / "plain.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) - 1001])
    cases = [("plain.wav", None, np.int16), ("call.flac", None, np.int16), ("s8k.wav", None, np.int16),
             ("cut.wav", None, np.int16), ("plain.wav", "caller,-", np.int16),
             ("plain.wav", "caller", np.float64), ("pcm24.wav", None, np.float64), ("s48k.wav", None, np.float64)]
    for name, channels, dtype in cases:
        runs = []
        for int16 in (False, True):
            with open_call(tmp_path / name, channels) as reader:
                blocks = list(reader.blocks(0.25, int16=int16))
                runs.append(([(c.tolist(), None if a is None else a.tolist()) for c, a in blocks],
                             list(reader.warnings), dict(reader.clipped)))
            got = {b.dtype for pair in blocks for b in pair if b is not None}
            assert got == {np.dtype(dtype) if int16 else np.dtype(np.float64)}, (name, channels, int16)
        assert runs[0] == runs[1], (name, channels)


def _pipeline_updates(blocks: list[tuple[np.ndarray, np.ndarray]]) -> list[Update]:
    from datetime import datetime

    from softphone_assist.core.callevents import default_call_events
    from softphone_assist.core.pipeline import Pipeline
    from softphone_assist.core.script.loader import load_script

    pipe = Pipeline(16000, load_script("zh-CN"), WebRtcVad, has_agent=True,
                    call_started_at=datetime(2026, 11, 23, 14, 0))
    total = sum(len(c) for c, _ in blocks) / 16000
    pipe.schedule(default_call_events(total).events)
    out: list[Update] = []
    for caller, agent in blocks:
        out += pipe.feed(caller, agent)
    return out + pipe.finish()


def test_the_pipeline_gives_the_same_updates_for_int16_and_float_samples() -> None:
    """The replay hands the pipeline int16 blocks: the trackers see the same float64 values and the VAD
    the same int16 samples as with float64 blocks, whatever the cut and however the types alternate."""
    x = _speech(40.0)
    agent, caller = x[:, 0], x[:, 1]

    def cut(size: int, kinds: tuple[type[np.generic], ...]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(caller[i : i + size].astype(kinds[k % len(kinds)]), agent[i : i + size].astype(kinds[k % len(kinds)]))
                for k, i in enumerate(range(0, len(x), size))]

    want = _pipeline_updates(cut(30 * 16000, (np.float64,)))
    assert any(getattr(u, "channel", None) == "agent" for u in want)  # the agent's side was heard
    for size, kinds in ((30 * 16000, (np.int16,)), (1234, (np.int16,)), (999, (np.int16, np.float64)),
                        (16000 * 7 + 3, (np.float64, np.int16, np.float32))):
        assert _pipeline_updates(cut(size, kinds)) == want, (size, kinds)


def test_a_replay_makes_no_cyclic_garbage() -> None:
    """What lets a replay process run without the cyclic collector (cli.main): once started, a replay
    leaves nothing that only the collector could free, so none piles up however long the call is."""
    import gc
    from datetime import datetime

    from softphone_assist.replay import ReplayRun

    def replay() -> int:
        run = ReplayRun(path=DEMO, start_time=datetime(2026, 11, 23, 14, 0), block_s=5.0)
        return sum(1 for _ in run.updates())

    enabled = gc.isenabled()
    gc.disable()
    try:
        replay()  # the first one imports and caches what it uses
        gc.collect()
        assert replay() > 20
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def _cli_modules(*args: str) -> list[str]:
    """Top-level modules and our own packages a CLI run in a fresh interpreter imported."""
    code = ("import sys, io, contextlib\n"
            "from softphone_assist.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    main({list(args)!r})\n"
            "print(' '.join(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def test_a_replay_imports_only_what_it_uses() -> None:
    loaded = _cli_modules("replay", str(DEMO), "--jsonl", "--start-time", "2026-11-23T14:00")
    assert "softphone_assist.core.pipeline" in loaded  # it did replay
    unused = [m for m in loaded if m.split(".")[0] in ("soundfile", "soxr", "logging")
              or m.startswith(("softphone_assist.settings", "softphone_assist.audit", "softphone_assist.live",
                               "softphone_assist.ui", "softphone_assist.speech", "softphone_assist.ipc"))]
    assert unused == []
    flac = _cli_modules("replay", str(ROOT / "resources" / "demo" / "missing.flac"))
    assert "soundfile" not in flac  # a missing file is said before any reader is chosen


def test_the_replay_parser_parses_as_the_whole_parser() -> None:
    from softphone_assist.cli import build_parser

    whole, replay_only = build_parser(), build_parser("replay")
    for argv in (["replay", "a.wav"], ["replay", "a.wav", "--jsonl", "--locale", "en"],
                 ["replay", "x.flac", "--channels", "caller,agent", "--events", "e.jsonl",
                  "--start-time", "2026-11-23T09:30"]):
        assert vars(replay_only.parse_args(argv)) == vars(whole.parse_args(argv))
    subs = [next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            for parser in (replay_only, whole)]
    assert list(subs[0].choices) == ["replay"]
    assert subs[0].choices["replay"].format_help() == subs[1].choices["replay"].format_help()


def test_a_batch_process_is_single_threaded_unless_the_user_says_otherwise() -> None:
    code = ("import os, sys\n"
            "from softphone_assist import cli\n"
            "cli._tune_batch_process()\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)\n")
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    assert out.stdout.split() == ["1", "False"]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "OPENBLAS_NUM_THREADS": "2"}, cwd=ROOT)
    assert out.stdout.split() == ["2", "False"]


def test_the_replay_command_ends_with_its_whole_output_and_exit_code(tmp_path: Path) -> None:
    """The replay process ends at once after its output (cli._end_replay_process): nothing is lost."""
    res = subprocess.run([sys.executable, "-m", "softphone_assist", "replay", str(DEMO), "--jsonl",
                          "--start-time", "2026-11-23T14:00"], capture_output=True, text=True, check=True, cwd=ROOT)
    in_process = subprocess.run(
        [sys.executable, "-c", "import io, contextlib, sys\nfrom softphone_assist.cli import main\n"
         f"buf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n    main(['replay', {str(DEMO)!r}, '--jsonl', "
         "'--start-time', '2026-11-23T14:00'])\nsys.stdout.write(buf.getvalue())\n"],
        capture_output=True, text=True, check=True, cwd=ROOT)
    assert res.stdout == in_process.stdout
    assert len(res.stdout.splitlines()) > 20 and res.stdout.endswith('"reason": "call_end"}\n')
    bad = subprocess.run([sys.executable, "-m", "softphone_assist", "replay", str(tmp_path / "none.wav")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "no such file" in bad.stderr
