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


def test_deeply_nested_events_file_is_one_line_not_a_traceback(mono_wav: Path, tmp_path: Path):
    ev = tmp_path / "deep.jsonl"
    ev.write_text('{"t": 0, "event": "call_start"}\n' + "[" * 3000 + "\n")
    assert_one_line_error(cli("replay", str(mono_wav), "--events", str(ev)),
                          "deep.jsonl:2: JSON nested 3000 levels deep")


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
    from softphone_assist.core.script.loader import scripts_dir

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


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "abc"])
def test_listen_seconds_must_be_a_finite_positive_number(value: str):
    assert_one_line_error(cli("listen", "--caller", "nowhere", f"--seconds={value}"), "--seconds", repr(value))


def _cli_env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def cli_env(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "softphone_assist", *args], capture_output=True, text=True,
                          timeout=120, env=_cli_env(tmp_path))


def _fill_log(tmp_path: Path, calls: int) -> Path:
    """The call log where `log` finds it with _cli_env, filled with `calls` finished calls."""
    from datetime import datetime, timedelta

    from test_calllog_live import filled_log

    path = tmp_path / "data" / "softphone-assist" / "calls.sqlite3"
    filled_log(path, calls, start=datetime(2026, 3, 1, 9, 0), every=timedelta(days=1))
    return path


def test_log_last_with_a_huge_number_prints_every_call(tmp_path: Path):
    _fill_log(tmp_path, 3)
    res = cli_env(tmp_path, "log", "--last", "99999999999999999999", "--json")
    assert res.returncode == 0, res.stderr
    assert [c["number"] for c in json.loads(res.stdout)] == ["13800138000", "13800138001", "13800138002"]


def test_log_of_a_damaged_file_is_one_line(tmp_path: Path):
    from test_calllog_live import damage_a_page

    path = _fill_log(tmp_path, 30)
    damage_a_page(path)  # a damaged page in the middle of the records
    res = cli_env(tmp_path, "log")
    assert_one_line_error(res, str(path), "cannot read the call log", "malformed")


def test_log_purge_before_a_date_and_all(tmp_path: Path):
    path = _fill_log(tmp_path, 3)  # calls on 1, 2 and 3 March
    res = cli_env(tmp_path, "log", "--purge", "--before", "2026-03-02T12:00")
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"Purged 2 call(s) started before 2026-03-02 12:00:00 from {path}.\n"
    res = cli_env(tmp_path, "log", "--json")
    assert [c["number"] for c in json.loads(res.stdout)] == ["13800138002"]
    assert b"13800138000" not in path.read_bytes()  # gone from the file, not only from the index
    res = cli_env(tmp_path, "log", "--purge")
    assert res.stdout == f"Purged 1 call(s) logged from {path}.\n"
    assert json.loads(cli_env(tmp_path, "log", "--json").stdout) == []
    assert_one_line_error(cli_env(tmp_path, "log", "--before", "2026-03-02"), "--before", "--purge")


def test_nan_samples_never_reach_the_jsonl_and_numpy_stays_quiet(tmp_path: Path):
    p = tmp_path / "nan.wav"
    x = np.random.default_rng(0).normal(0, 0.05, 16000 * 8)
    x[16000 * 3 : 16000 * 3 + 1600] = np.nan
    sf.write(p, x.astype(np.float32), 16000, subtype="FLOAT")
    res = cli("replay", str(p), "--jsonl")
    assert res.returncode == 0, res.stderr
    assert res.stderr == f"softphone-assist: warning: {p}: 1600 samples are NaN or infinite (the first at " \
                         "3.000 s); read as silence\n"
    def no_constants(c: str) -> None:
        pytest.fail(f"{c} in the JSONL")

    for line in res.stdout.splitlines():
        json.loads(line, parse_constant=no_constants)


@pytest.mark.parametrize("make", ["all_nan", "rate_2ghz", "damaged_mp3"])
def test_unusable_audio_is_one_line(tmp_path: Path, make: str):
    import struct

    p = tmp_path / f"{make}.wav"
    if make == "all_nan":
        sf.write(p, np.full(16000 * 8, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
        needle = "every sample is NaN or infinite"
    elif make == "rate_2ghz":
        sf.write(p, np.zeros(8000 * 3, dtype=np.int16), 8000)
        data = bytearray(p.read_bytes())
        data[24:32] = struct.pack("<II", 2_000_000_000, 4_000_000_000)
        p.write_bytes(bytes(data))
        needle = "sample rate 2000000000 Hz"
    else:
        p.write_bytes(bytes([0xFF, 0xFB, 0x90, 0x64]) + b"garbage" * 500)
        needle = "damaged MP3 (MPEG audio) data, not WAV"
    assert_one_line_error(cli("replay", str(p)), f"{make}.wav", needle)
