"""`softphone-assist audit` as a user runs it: a folder of real-speech calls (and a corrupt file),
outputs on disk, exit codes, --jsonl, resume after SIGKILL, the progress bar on a terminal."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from callkit import RATE, CallBuilder, have_speech, utterance

from softphone_assist.cli import main

pytestmark = [
    pytest.mark.speech,
    pytest.mark.skipif(not (have_speech() and have_speech("it_IT_m_Carlo")),
                       reason="needs asterisk-core-sounds-en-wav and -it-wav (./setup.sh test installs them)"),
]

GREETING = "en_US_f_Allison/conf-onlyperson"
LINE = "en_US_f_Allison/pls-hold-while-try"
CALLER = "it_IT_m_Carlo/agent-pass"
DEMO = Path(__file__).resolve().parent.parent / "resources" / "demo" / "demo_call.wav"


def build_calls(folder: Path) -> dict[str, Path]:
    """Four calls from real speech and one corrupt file; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    calls: dict[str, Path] = {}
    for name, greeting_at, reply_after in (("compliant", 0.5, 1.0), ("dead_air", 0.5, 11.0), ("late", 3.6, 1.0)):
        spoken = greeting_at + 0.8 + reply_after + sum(len(utterance(n)) / RATE for n in (GREETING, CALLER, LINE))
        b = CallBuilder(round(spoken + 3.0, 2), caller_floor="hiss", agent_floor="hiss", seed=len(calls))
        g = b.agent_says(greeting_at, GREETING)
        ans = b.caller_says(g.end + 0.8, CALLER)
        b.agent_says(ans.end + reply_after, LINE)
        calls[name] = b.write(folder / f"{name}.wav")
    sub = folder / "mono"  # folders are searched recursively
    sub.mkdir()
    b = CallBuilder(12.0, caller_floor="comfort_noise", seed=9)
    b.caller_says(1.0, CALLER)
    calls["mono"] = sub / "mono.flac"
    sf.write(calls["mono"], b.caller_track().clip(-32768, 32767).round().astype("int16"), b.rate)
    calls["corrupt"] = folder / "corrupt.wav"
    calls["corrupt"].write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4)
    return calls


def rows_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "calls.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_calls(tmp_path_factory.mktemp("calls"))


def test_a_corrupt_file_among_good_ones(calls: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["audit", str(calls["compliant"].parent), "--out", str(out), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert "audited 5 calls" in err and "1 could not be read" in err
    rows = {Path(r["file"]).stem: r for r in rows_of(out)}
    assert set(rows) == {"compliant", "dead_air", "late", "mono", "corrupt"}
    assert rows["corrupt"]["error"].startswith(str(calls["corrupt"]))
    assert all("error" not in r for name, r in rows.items() if name != "corrupt")
    assert [v["rule"] for v in rows["dead_air"]["violations"]] == ["dead_air"]
    assert [v["rule"] for v in rows["late"]["violations"]] == ["late_greeting"]
    assert rows["compliant"]["violations"] == [] and rows["mono"]["violations"] == []
    assert "dead_air" in rows["mono"]["rules_not_checked"]
    with (out / "calls.csv").open(encoding="utf-8") as f:
        table = {Path(r["file"]).stem: r for r in csv.DictReader(f)}
    assert set(table) == set(rows)
    assert table["dead_air"]["violations_dead_air"] == "1" and table["corrupt"]["error"] == rows["corrupt"]["error"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "caller-only (mono) recordings: not checked there" in page


def test_every_file_readable_exits_0_and_jsonl_streams_each_row(calls: dict[str, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["audit", str(calls["compliant"]), str(calls["compliant"].parent / "d*.wav"), "--out", str(out), "--jsonl"]
    assert main(args) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert streamed == rows_of(out) and {Path(r["file"]).stem for r in streamed} == {"compliant", "dead_air"}


@pytest.mark.parametrize("bad", [["--tolerance", "-1"], ["--locale", "xx"], ["--channels", "left,right"],
                                 ["--jobs", "0"], ["--events-dir", "/nonexistent"]])
def test_bad_options_exit_2(bad: list[str], calls: dict[str, Path], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        code = main(["audit", str(calls["compliant"]), "--out", str(tmp_path / "o"), *bad])
        raise SystemExit(code)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and bad[0] in err


def test_a_path_that_does_not_exist_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'nope'}: no such file or folder" in capsys.readouterr().err


def variants(folder: Path, n: int) -> list[Path]:
    """`n` different calls (the demo call with k extra 10 ms of zeros: a different sha256 each)."""
    data, rate = sf.read(DEMO, dtype="int16", always_2d=True)
    folder.mkdir()
    out = []
    for k in range(n):
        path = folder / f"call{k:03d}.wav"
        sf.write(path, np.concatenate([data, np.zeros((k * rate // 100, data.shape[1]), dtype=np.int16)]), rate)
        out.append(path)
    return out


def rows_written(proc: subprocess.Popen[bytes] | subprocess.Popen[str], out: Path, n: int) -> bool:
    """Wait (up to 2 min) until the running audit has written `n` rows; False if it ended first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        jsonl = out / "calls.jsonl"
        if jsonl.is_file() and jsonl.read_bytes().count(b"\n") >= n:
            return True
        time.sleep(0.02)
    return False


def test_resume_after_sigkill_gives_every_call_once(tmp_path: Path) -> None:
    files = variants(tmp_path / "calls", 24)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "softphone_assist", "audit", str(tmp_path / "calls"), "--out", str(out),
           "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        if rows_written(proc, out, 4):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the pool workers of the killed run, if any are left
    assert proc.returncode == -signal.SIGKILL, "the audit finished before it could be killed"
    first = len((out / "calls.jsonl").read_bytes().splitlines())
    assert 4 <= first < len(files)

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "already done" in done.stderr
    rows = rows_of(out)
    assert sorted(r["file"] for r in rows) == sorted(str(p.resolve()) for p in files)  # each call once
    assert len({r["sha256"] for r in rows}) == len(files)
    assert len(list((out / "img").glob("call-*.png"))) == len(files)  # drawn by the workers, none lost
    third = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and "audited 0 calls in" in third.stderr and rows_of(out) == rows


def test_ctrl_c_stops_at_once_keeps_the_rows_written_and_a_rerun_finishes(tmp_path: Path) -> None:
    # 96 calls, not 24: a fresh clone audited 24 in 1.5 s, before the Ctrl-C after 3 rows landed
    files = variants(tmp_path / "calls", 96)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "softphone_assist", "audit", str(tmp_path / "calls"), "--out", str(out),
           "--jobs", "2"]
    # a terminal's Ctrl-C is SIGINT to the whole foreground group: the command and its workers
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        if rows_written(proc, out, 3):
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err.decode()
    kept = rows_of(out)
    assert 3 <= len(kept) < len(files)
    assert "Traceback" not in err.decode()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and f"({len(kept)} already done)" in done.stderr
    assert sorted(r["file"] for r in rows_of(out)) == sorted(str(p.resolve()) for p in files)


def test_progress_bar_on_a_terminal(calls: dict[str, Path], tmp_path: Path) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has a width
    proc = subprocess.run([sys.executable, "-m", "softphone_assist", "audit", str(calls["compliant"]),
                           str(calls["late"]), "--out", str(tmp_path / "out"), "--jobs", "1"],
                          stdout=subprocess.DEVNULL, stderr=slave, timeout=120)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "auditing: 2/2 calls" in text and "h audio" in text and "ETA" in text
    assert text.rstrip().splitlines()[-1].startswith("softphone-assist: audited 2 calls")


def test_a_folder_without_calls_and_a_glob_matching_nothing_exit_2(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here\n")
    assert main(["audit", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no WAV or FLAC files found" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "*.flac"), "--out", str(tmp_path / "o")]) == 2
    assert "the pattern matches no file" in capsys.readouterr().err
