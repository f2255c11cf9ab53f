"""A device outage mid-call on a real sound server (the softphone lab's private PulseAudio).

`softphone-assist listen` records `caller_line.monitor` and `agent_mic`; a call plays (line hiss
on the caller side after digital zero, the agent's greeting into the microphone). Mid-call the
caller sink is unloaded for 10 s, then loaded again and fed again. Expected: a `no_audio` record
at the loss and its end at the return, both exact (the end's `since` is the start, `lost_s` the
difference); no call_end and no prompt during the outage; the repeat of the silent-line ladder
comes exactly the outage's length later than it would have; the agent stream stays on its own
source (the lab's default source is the caller monitor: an unpinned stream was moved onto it).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import soundfile as sf
from callkit import CallBuilder
from test_live_lab import LAB, lab, lab_env, pytestmark, records, start_listen  # noqa: F401  (fixture, skip)

from softphone_assist.audio.pulse import parse_short_sources, parse_source_outputs

GREETING = "en_US_f_Allison/conf-onlyperson"


def pactl(env: dict[str, str], *args: str) -> str:
    r = subprocess.run(["pactl", *args], env={**env, "LC_ALL": "C"}, capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout


def caller_module(env: dict[str, str]) -> str:
    for line in pactl(env, "list", "short", "modules").splitlines():
        if "sink_name=caller_line " in line + " ":
            return line.split("\t")[0]
    raise AssertionError("no caller_line module")


def frozen_due(due: float, since: float, outages: list[tuple[float, float]]) -> float:
    """A countdown due at `due` (counting from `since`) moved on by every time without audio on
    some channel after `since` (overlapping outages count once)."""
    merged: list[list[float]] = []
    for a, b in sorted(outages):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    for a, b in merged:
        if since <= a < due:
            due += b - a
    return due


def test_caller_sink_unloaded_for_ten_seconds_mid_call(lab_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    env = lab_env
    b = CallBuilder(40.0, caller_floor="hiss", seed=5)
    b.agent_says(2.0, GREETING)
    caller = b.caller_track()
    caller[: b.rate] = 0.0  # digital zero before the call: the automatic call start
    sf.write(tmp_path / "caller.wav", caller.round().astype("int16"), b.rate)
    sf.write(tmp_path / "agent.wav", b.agent_track().round().astype("int16"), b.rate)
    sf.write(tmp_path / "caller2.wav", CallBuilder(30.0, caller_floor="hiss", seed=6).caller_track()
             .round().astype("int16"), b.rate)

    app = start_listen(env, "--caller", "caller_line.monitor", "--agent", "agent_mic", "--seconds", "34",
                       "--no-ipc", "--speak", "off")
    feeds = [subprocess.Popen([str(LAB), cmd, str(tmp_path / wav)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for cmd, wav in (("feed", "caller.wav"),
                                                                          ("feed-agent", "agent.wav"))]
    try:
        time.sleep(7.0)  # mid-call: the greeting was said, its repeat is counting down
        pactl(env, "unload-module", caller_module(env))
        time.sleep(10.0)
        pactl(env, "load-module", "module-null-sink", "sink_name=caller_line", "rate=48000", "channels=2")
        feeds.append(subprocess.Popen([str(LAB), "feed", str(tmp_path / "caller2.wav")], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(4.0)
        sources = parse_short_sources(pactl(env, "list", "short", "sources"))
        on = sorted(parse_source_outputs(pactl(env, "list", "source-outputs"), app.pid).values())
        out, err = app.communicate(timeout=90)
    finally:
        for f in feeds:
            f.kill()
            f.wait()
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, err
    # the app records exactly its two sources again, whatever the server moved
    assert on == sorted([sources["caller_line.monitor"], sources["agent_mic"]]), (on, sources)
    recs = records(out)
    gaps = [r for r in recs if r["event"] == "no_audio"]
    caller_gaps = [r for r in gaps if r["channel"] == "caller"]
    assert [r["state"] for r in caller_gaps] == ["start", "end"], gaps
    lost, back = caller_gaps
    assert back["since"] == lost["t"] == lost["since"]
    assert back["lost_s"] == pytest.approx(back["t"] - lost["t"], abs=0.0011)  # both printed to the ms
    assert back["lost_s"] >= 10.0  # the sink was gone 10 s; the zeros follow the clock from the last block
    agent_gaps = [r for r in gaps if r["channel"] == "agent"]
    outages = [(r["since"], r["t"]) for r in gaps if r["state"] == "end"]

    states = [(r["state"], r["source"]) for r in recs if r["event"] == "call_state"]
    assert states == [("call_start", "auto")], states  # no call_end: an outage is not the call's end
    prompts = [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]
    assert not [p for p in prompts if lost["t"] < p[0] <= back["t"]], prompts
    assert [p[1:] for p in prompts] == [("greeting", 1), ("silent_line", 2)], prompts
    # the repeat: 5 s after the end of the agent's greeting, not counting the outage(s)
    said = [r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "agent"
            and r["condition"] == "silent"]
    assert said and said[0] < lost["t"]
    assert prompts[1][0] == pytest.approx(frozen_due(said[0] + 5.0, said[0], outages), abs=0.0021), \
        "\n".join(map(str, [r for r in recs if r["event"] != "condition" or r["channel"] == "agent"]))
    assert not [r for r in recs if r["event"] == "condition" and r["channel"] == "agent"
                and r["condition"] == "speech" and r["since"] > said[0]], "the caller's line taken for the agent"
    assert "caller line 'caller_line.monitor' disconnected" in err
    # the agent stream is pinned to agent_mic: the server, which moved it onto the new caller
    # monitor before (it followed the default source, then stalled there), leaves it alone
    assert agent_gaps == [] and "agent microphone" not in err, err
