"""The command as a tester meets it: bad input gives one clear line on stderr and exit code 2, never a
traceback; a truncated recording is replayed as far as it goes with a warning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "softphone_assist", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def mono_wav(tmp_path: Path) -> Path:
    path = tmp_path / "mono.wav"
    sf.write(path, np.zeros(8000 * 7, dtype=np.int16), 8000)
    return path


def assert_one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert res.stdout == ""


def test_missing_file(tmp_path: Path):
    assert_one_line_error(cli("replay", str(tmp_path / "nope.wav")), "nope.wav")


def test_directory(tmp_path: Path):
    assert_one_line_error(cli("replay", str(tmp_path)), str(tmp_path))


def test_empty_file(tmp_path: Path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    assert_one_line_error(cli("replay", str(p)), "empty.wav")


def test_not_audio(tmp_path: Path):
    p = tmp_path / "notes.wav"
    p.write_text("these are my notes, not a recording\n")
    assert_one_line_error(cli("replay", str(p)), "notes.wav")


@pytest.mark.parametrize("spec", ["agent,caller", "caller,caller", "left"])
def test_wrong_channel_map(mono_wav: Path, spec: str):
    assert_one_line_error(cli("replay", str(mono_wav), "--channels", spec), "--channels")


def test_unknown_locale(mono_wav: Path):
    assert_one_line_error(cli("replay", str(mono_wav), "--locale", "fr"), "--locale", "zh-CN")


def test_malformed_events_file(mono_wav: Path, tmp_path: Path):
    ev = tmp_path / "ev.jsonl"
    ev.write_text('{"t": 0, "event": "call_start"}\n{"t": 3, "event": "hodl"}\n')
    assert_one_line_error(cli("replay", str(mono_wav), "--events", str(ev)), "ev.jsonl:2")


def test_missing_events_file(mono_wav: Path, tmp_path: Path):
    assert_one_line_error(cli("replay", str(mono_wav), "--events", str(tmp_path / "none.jsonl")), "none.jsonl")


@pytest.mark.parametrize("args,needle", [(["--start-time", "yesterday"], "--start-time"),
                                         (["--frobnicate"], "--frobnicate")])
def test_bad_options(mono_wav: Path, args: list[str], needle: str):
    assert_one_line_error(cli("replay", str(mono_wav), *args), needle)


def test_truncated_recording_is_replayed_as_far_as_it_goes(tmp_path: Path):
    p = tmp_path / "cut.wav"
    sf.write(p, np.zeros(8000 * 16, dtype=np.int16), 8000)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])  # the header still says 16 s
    res = cli("replay", str(p), "--jsonl", "--start-time", "2026-11-23T14:00:00")
    assert res.returncode == 0, res.stderr
    assert "warning" in res.stderr and "truncated" in res.stderr and "cut.wav" in res.stderr
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"][:2] == [
        (0.0, "greeting", 1), (5.0, "silent_line", 2)]
    end = [r for r in recs if r["event"] == "call_state" and r["state"] == "call_end"]
    assert [r["t"] for r in end] == [pytest.approx(8.0, abs=0.01)]  # where the data ends, not the header


def test_readable_timeline_shows_the_lines(mono_wav: Path):
    res = cli("replay", str(mono_wav), "--start-time", "2026-11-23T09:00:00")
    assert res.returncode == 0, res.stderr
    assert "上午好" in res.stdout and "无声电话" in res.stdout and "never say" in res.stdout


def test_en_locale_and_jsonl_contract(mono_wav: Path):
    res = cli("replay", str(mono_wav), "--jsonl", "--locale", "en", "--start-time", "2026-11-23T20:00:00")
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    first = next(r for r in recs if r["event"] == "prompt")
    assert first["protocol"] == "greeting" and first["step"] == 1 and first["text"].startswith("Good evening")
    assert {"t", "event", "protocol", "step", "text"} <= set(first)


def test_a_call_centres_own_script_file_is_used_and_a_broken_one_is_named(mono_wav: Path, tmp_path: Path):
    from softphone_assist.script.loader import scripts_dir

    own = tmp_path / "my-centre.toml"
    own.write_text(scripts_dir().joinpath("zh-CN.toml").read_text(encoding="utf-8")
                   .replace('company = "XX公司"', 'company = "星河通信"'), encoding="utf-8")
    res = cli("replay", str(mono_wav), "--jsonl", "--locale", str(own), "--start-time", "2026-11-23T09:00:00")
    assert res.returncode == 0, res.stderr
    assert '"text": "上午好,星河通信很高兴为您服务"' in res.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(own.read_text(encoding="utf-8").replace("wait_s = 5.0", "wait_s = -5.0", 1), encoding="utf-8")
    assert_one_line_error(cli("replay", str(mono_wav), "--locale", str(broken)),
                          "broken.toml:", "ladder.silent_line.step[1].wait_s", "-5.0")
