"""`softphone-assist check CALL.wav --expect CALL.expect.json`: a replay against a kept expectation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from softphone_assist.cli import main

DEMO = Path(__file__).resolve().parent.parent / "resources" / "demo"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo call and its events file, copied: CALL.events.jsonl beside the call is used."""
    shutil.copy(DEMO / "demo_call.wav", tmp_path / "demo_call.wav")
    shutil.copy(DEMO / "demo_call.events.jsonl", tmp_path / "demo_call.events.jsonl")
    return tmp_path / "demo_call.wav"


def replay_items(call: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    capsys.readouterr()
    assert main(["replay", str(call), "--jsonl", *extra]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [r for r in recs if r["event"] in ("prompt", "protocol_end", "may_hang_up")]


def test_write_expect_keeps_what_the_replay_did(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(demo), "--write-expect"]) == 0
    expect = json.loads((demo.parent / "demo_call.expect.json").read_text(encoding="utf-8"))
    items = replay_items(demo, capsys, "--events", str(demo.parent / "demo_call.events.jsonl"))
    assert [(d["t"], d["event"], d["protocol"]) for d in expect["timeline"]] == [
        (r["t"], r["event"], r["protocol"]) for r in items]
    assert main(["check", str(demo)]) == 0
    assert "demo_call.wav: as expected (10 items, tolerance 0.05 s)" in capsys.readouterr().out


def test_a_different_replay_exits_1_with_a_readable_diff(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(demo), "--write-expect"]) == 0
    path = demo.parent / "demo_call.expect.json"
    expect = json.loads(path.read_text(encoding="utf-8"))
    moved, dropped = expect["timeline"][1], expect["timeline"][3]
    moved["t"] = round(moved["t"] + 0.06, 3)  # just past the tolerance
    del expect["timeline"][3]
    expect["timeline"].append({"t": 99.0, "event": "prompt", "protocol": "dead_air", "step": 1})
    path.write_text(json.dumps(expect), encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(demo)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "demo_call.wav: differs from demo_call.expect.json (- expected, + got, ~ moved):"
    got_t = moved["t"] - 0.06
    assert out[1:] == [
        f"  ~ prompt {moved['protocol']} step {moved['step']}: expected at {moved['t']:.2f} s, got {got_t:.2f} s "
        f"(-0.06 s, tolerance 0.05 s)",
        f"  + {dropped['t']:8.2f}  prompt {dropped['protocol']} step {dropped['step']}",
        "  -    99.00  prompt dead_air step 1",
    ]
    assert main(["check", str(demo), "--tol", "0.07"]) == 1  # the moved one is fine now, the others are not
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ~")]


def test_a_missing_expectation_is_bad_input(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(demo)]) == 2
    assert "demo_call.expect.json: no such expectation (create it with --write-expect)" in capsys.readouterr().err
