"""The bundled demo call still walks through every ladder it is meant to show, at the right times."""

from __future__ import annotations

import json

import pytest

from softphone_assist.cli import main

# (protocol, step, when the standard says it is due: resources/demo/README.md) — the detectors add
# their decision latency for condition ladders (they need ~0.5 s to be sure) and may place the end of
# an agent line up to 0.25 s early (a quiet tail)
EXPECTED = [("greeting", 1, 0.0), ("silent_line", 2, 6.81), ("low_volume", 1, 17.22),
            ("noisy_line", 1, 29.42), ("noisy_line", 2, 37.24), ("closing", 2, 80.44)]


def test_demo_shows_each_ladder_once_in_order(capsys: pytest.CaptureFixture[str]):
    assert main(["demo", "--jsonl", "--start-time", "2026-11-23T10:00:00"]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    prompts = [(r["protocol"], r["step"], r["t"]) for r in recs if r["event"] == "prompt"]
    assert [p[:2] for p in prompts] == [e[:2] for e in EXPECTED]
    for (_, _, got), (proto, step, due) in zip(prompts, EXPECTED, strict=True):
        assert due - 0.25 <= got <= due + 0.6, (proto, step, got, due)
    assert prompts[0][2] == 0.0 and recs[1]["text"].startswith("上午好")
    assert not [r for r in recs if r["event"] == "may_hang_up"]  # the caller always answered in time
