"""Live audio on a real sound server: the softphone lab's private PulseAudio (shared/e2e/softphone-lab).

A recorded call is played into the lab's sinks the way a softphone would play it (caller side into
`caller_line`, the agent's lines into `agent_mic_in`), `softphone-assist listen` captures
`caller_line.monitor` and `agent_mic` through PortAudio's ALSA `pulse` device, and the silent-line
ladder's prompts must arrive exactly 5 s (stream time) after the end of each agent line.
The same running app takes `softphone-assist call hold|resume` over its IPC socket and ignores junk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from callkit import CallBuilder, have_speech

REPO = Path(__file__).resolve().parents[1]
LAB = Path(os.environ.get("SOFTPHONE_LAB", REPO.parent / "shared" / "e2e" / "softphone-lab"))
GREETING = "en_US_f_Allison/conf-onlyperson"
LINE = "en_US_f_Allison/pls-hold-while-try"

pytestmark = pytest.mark.skipif(
    not (LAB.exists() and shutil.which("pulseaudio") and shutil.which("baresip") and have_speech()),
    reason="needs shared/e2e/softphone-lab, pulseaudio, baresip and asterisk sounds (./setup.sh test)")


def lab(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAB), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    lab_dir = Path(f"/tmp/sa-lab-{os.getpid()}")  # no blanks allowed; short for the socket path
    env = {**os.environ, "LAB_DIR": str(lab_dir), "LAB_VENV": sys.prefix}
    up = lab("up", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        exports = lab("env", env=env).stdout
        for line in exports.splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                env[key] = value.strip("'\"")
        env["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))  # our own IPC socket
        os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
        cfg = tmp_path_factory.mktemp("cfg")
        (cfg / "config.toml").write_text("# the test's settings: all defaults\n")
        env["SOFTPHONE_ASSIST_CONFIG"] = str(cfg / "config.toml")
        env["XDG_CONFIG_HOME"] = str(cfg)  # no user settings of this machine
        env["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data"))
        yield env
    finally:
        lab("down", env=env)


def start_listen(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "softphone_assist", "listen", "--jsonl", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = ""
    while "listening" not in seen:  # "listening since …" once both streams are open
        line = proc.stderr.readline()
        assert line, seen + proc.stderr.read()
        seen += line
    return proc


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_silent_line_prompts_come_five_seconds_after_each_agent_line(lab_env, tmp_path):
    b = CallBuilder(30.0, caller_floor="hiss", seed=3)
    g = b.agent_says(0.5, GREETING)
    rep = b.agent_says(g.end + 5.8, GREETING)
    b.agent_says(rep.end + 5.8, LINE)
    caller_wav, agent_wav = tmp_path / "caller.wav", tmp_path / "agent.wav"
    sf.write(caller_wav, b.caller_track().round().astype("int16"), b.rate)
    sf.write(agent_wav, b.agent_track().round().astype("int16"), b.rate)

    app = start_listen(lab_env, "--caller", "caller_line.monitor", "--agent", "agent_mic", "--seconds", "34",
                       "--no-ipc", "--speak", "off")
    feeds = [subprocess.Popen([str(LAB), cmd, str(wav)], env=lab_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
             for cmd, wav in (("feed", caller_wav), ("feed-agent", agent_wav))]
    for f in feeds:
        assert f.wait(timeout=90) == 0, f.stderr.read() if f.stderr else ""
    out, err = app.communicate(timeout=90)
    assert app.returncode == 0, err
    recs = records(out)

    starts = [r for r in recs if r["event"] == "call_state" and r["state"] == "call_start"]
    assert starts and starts[0]["source"] == "auto"  # sound after digital zero
    ends = [r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "agent"
            and r["condition"] == "silent"]
    prompts = [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]
    assert len(ends) >= 3, recs
    assert [p[1:] for p in prompts] == [("greeting", 1), ("silent_line", 2), ("silent_line", 3)]
    assert prompts[1][0] == pytest.approx(ends[0] + 5.0, abs=1e-6)
    assert prompts[2][0] == pytest.approx(ends[1] + 5.0, abs=1e-6)
    hang = [r["t"] for r in recs if r["event"] == "may_hang_up"]
    assert hang == [pytest.approx(ends[2] + 5.0, abs=1e-6)]
    # the agent's line ends where the recording says, give or take the 20 ms of capture blocks
    assert ends[1] - ends[0] == pytest.approx(rep.end - g.end, abs=0.06)
    assert not [r for r in recs if r["event"] == "condition" and r["channel"] == "caller"], \
        "a line carrying only hiss is silent"


def test_call_commands_reach_the_running_app_and_junk_is_ignored(lab_env):
    app = start_listen(lab_env, "--caller", "caller_line.monitor", "--seconds", "120", "--speak", "off")
    cli = [sys.executable, "-m", "softphone_assist", "call"]
    for state in ("start", "hold", "resume"):
        res = subprocess.run([*cli, state, "--number", "10086"], env=lab_env, capture_output=True, text=True,
                             timeout=30)
        if res.returncode != 0:
            app.kill()
            out, err = app.communicate()
            pytest.fail(f"`call {state}`: {res.stderr}\napp stdout:\n{out}\napp stderr:\n{err}")
        time.sleep(0.3)  # let the app pump the command in at a distinct stream time
    sock_path = Path(lab_env["XDG_RUNTIME_DIR"]) / "softphone-assist" / "ipc.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(sock_path))
        s.sendall(b"\x00\xffthis is not json\n")
        reply = s.makefile().readline()
    assert '"ok": false' in reply.replace('"ok":false', '"ok": false')
    res = subprocess.run([*cli, "end"], env=lab_env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    time.sleep(0.5)
    app.send_signal(signal.SIGINT)  # Ctrl-C: listen stops cleanly and keeps what it printed
    try:
        out, err = app.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        subprocess.run(["py-spy", "dump", "--pid", str(app.pid)], check=False)  # where it hangs, if installed
        app.kill()
        out, err = app.communicate()
        pytest.fail(f"listen did not stop after Ctrl-C:\n{err[-3000:]}")
    assert app.returncode == 0, err
    states = [(r["state"], r["source"]) for r in records(out) if r["event"] == "call_state"]
    assert states == [("call_start", "ipc"), ("hold", "ipc"), ("resume", "ipc"), ("call_end", "ipc")]
    assert "not json" in err.lower() or "junk" in err.lower() or "invalid" in err.lower(), err


def test_listen_speaks_each_prompt_into_the_call_and_counts_from_its_end(lab_env, tmp_path):
    """--speak auto --speak-to agent_mic_in: pyttsx3/espeak-ng says the greeting into the agent's
    microphone sink; the app's own agent channel (agent_mic) hears it, and the repeat comes 5 s after
    the spoken line ended."""
    env = {**lab_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    app = start_listen(env, "--caller", "caller_line.monitor", "--agent", "agent_mic", "--seconds", "40",
                       "--speak", "auto", "--speak-to", "agent_mic_in")
    cli = [sys.executable, "-m", "softphone_assist", "call", "start"]
    res = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    out, err = app.communicate(timeout=120)
    assert app.returncode == 0, err
    recs = records(out)
    prompts = [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]
    agent = [r for r in recs if r["event"] == "condition" and r["channel"] == "agent"]
    assert [p[1:] for p in prompts[:3]] == [("greeting", 1), ("silent_line", 2), ("silent_line", 3)], recs
    spoken = [r for r in agent if r["condition"] == "speech"]
    # the TTS line arrived: the first render starts the espeak worker, which can take a second or two
    # on a loaded machine; a cached line plays in ~20 ms (bench_tts.py)
    assert spoken and prompts[0][0] <= spoken[0]["since"] <= prompts[0][0] + 3.0
    ends = [r["since"] for r in agent if r["condition"] == "silent" and r["since"] < prompts[1][0]]
    # the wait runs from the end of the spoken line: the agent channel's speech end, or the end of
    # playback if that came later (both are the end of the agent's line)
    assert 5.0 <= round(prompts[1][0] - ends[-1], 3) <= 5.5  # times are printed to the ms
