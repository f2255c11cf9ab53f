"""The render worker process: jobs, failures, hangs, crashes, restarts, and no processes left behind.

The engine is a fake (test_tts_support.ToneEngine) so every failure can be provoked on demand;
test_tts_espeak.py runs the real pyttsx3 + espeak-ng.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from functools import partial
from pathlib import Path

import pytest
import soundfile as sf

from softphone_assist.speech.cache import RenderSpec
from softphone_assist.speech.errors import TtsError, TtsWorkerError
from softphone_assist.speech.render import LineRenderer
from softphone_assist.speech.voices import VoiceCatalog
from softphone_assist.speech.worker import RenderWorker

TONE = "test_tts_support:ToneEngine"
BROKEN = "test_tts_support:BrokenEngine"
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def proc_state(pid: int) -> str | None:
    """'R', 'S', 'Z'... from /proc, or None once the process is gone and reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc_state(pid) in (None, "Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def renderer(tmp_path: Path) -> Iterator[LineRenderer]:
    r = LineRenderer(tmp_path / "cache", engine_factory=TONE, job_timeout_s=2.0)
    r.worker.start_timeout_s = 20.0
    yield r
    r.close()


def spec(text: str, rate: int = 150) -> RenderSpec:
    return RenderSpec(text, "fake/zh", rate)


def test_render_goes_to_the_cache_and_hits_do_not_render_again(renderer: LineRenderer) -> None:
    first = renderer.render_blocking(spec("一"), 30)
    assert first.path.exists() and first.sample_rate == 16000
    assert first.frames == 8000  # 0.5 s of tone from end to end: nothing to trim
    again = renderer.render(spec("一"))
    assert again.done() and again.result().path == first.path  # answered without the worker
    assert (renderer.renders, renderer.cache_hits, renderer.worker.jobs_done) == (1, 1, 1)
    other = renderer.render_blocking(spec("一", rate=160), 30)
    assert other.path != first.path and renderer.renders == 2


def test_a_damaged_cache_file_is_rendered_again(renderer: LineRenderer) -> None:
    first = renderer.render_blocking(spec("坏"), 30)
    first.path.write_bytes(b"RIFF" + b"\x00" * 100)  # a WAV header cut short, not a clip
    again = renderer.render_blocking(spec("坏"), 30)
    assert again.path == first.path and again.frames == 8000
    assert (renderer.renders, renderer.cache_hits) == (2, 0)


def test_the_same_line_twice_in_flight_is_rendered_once(renderer: LineRenderer) -> None:
    a = renderer.render(spec("二"), urgent=False)
    b = renderer.render(spec("二"))
    assert a is b
    renderer.worker.wait(a, 30)
    assert renderer.renders == 1


def test_prerender_runs_behind_an_urgent_line(renderer: LineRenderer) -> None:
    renderer.worker.wait(renderer.voices(), 30)  # worker up, nothing in flight
    order: list[str] = []
    warm = renderer.prerender(["a", "b", "c", "a"], "fake/zh", 150)
    assert len(warm) == 3  # duplicates dropped
    def note(text: str, _f: Future[object]) -> None:
        order.append(text)

    for text, f in zip("abc", warm, strict=True):
        f.add_done_callback(partial(note, text))
    now = renderer.render(spec("urgent"))
    now.add_done_callback(partial(note, "urgent"))
    for f in [*warm, now]:
        renderer.worker.wait(f, 30)
    assert order == ["a", "urgent", "b", "c"]  # "a" was already sent when "urgent" came


def test_a_failing_line_is_reported_and_the_worker_keeps_going(renderer: LineRenderer) -> None:
    ok = renderer.render_blocking(spec("before"), 30)
    pid = renderer.worker.pid
    with pytest.raises(TtsError, match="RuntimeError: engine refused the line"):
        renderer.render_blocking(spec("FAIL"), 30)
    with pytest.raises(TtsError, match="voice 'fake/zh' produced only silence for 'SILENT'"):
        renderer.render_blocking(spec("SILENT"), 30)
    assert renderer.render_blocking(spec("after"), 30).path != ok.path
    assert renderer.worker.pid == pid and renderer.worker.restarts == 0
    assert not list(renderer.cache.directory.glob(".*"))  # no temporary or raw files left


def test_a_crash_fails_that_line_restarts_the_worker_and_reaps_the_old_one(renderer: LineRenderer) -> None:
    renderer.render_blocking(spec("warm"), 30)
    old = renderer.worker.pid
    assert old is not None
    with pytest.raises(TtsWorkerError, match=r"exited \(code 3\) while rendering 'CRASH'; it restarts"):
        renderer.render_blocking(spec("CRASH"), 30)
    assert renderer.worker.restarts == 1
    assert proc_state(old) is None  # joined: no zombie
    assert renderer.render_blocking(spec("next"), 30).path.exists()
    assert renderer.worker.pid not in (None, old)


def test_a_stuck_engine_reports_then_the_worker_is_replaced(renderer: LineRenderer) -> None:
    renderer.render_blocking(spec("warm"), 30)
    old = renderer.worker.pid
    assert old is not None
    with pytest.raises(TtsError, match=r"^tts: fake engine stayed busy$"):
        renderer.render_blocking(spec("STUCK"), 30)
    assert renderer.worker.restarts == 1 and renderer.worker.pid is None
    assert proc_state(old) is None
    assert renderer.render_blocking(spec("next"), 30).path.exists()
    assert renderer.worker.pid not in (None, old)


def test_a_hang_is_killed_after_the_job_timeout(renderer: LineRenderer) -> None:
    renderer.render_blocking(spec("warm"), 30)
    old = renderer.worker.pid
    assert old is not None
    # the worker's 2 s job timeout kills the 1 h sleep: the error says so (no wall-clock assertion)
    with pytest.raises(TtsWorkerError,
                       match=r"did not answer in time \(hung\); killed it while rendering 'HANG'"):
        renderer.render_blocking(spec("HANG"), 30)
    assert proc_state(old) is None
    assert renderer.render_blocking(spec("next"), 30).path.exists()


def test_engine_that_cannot_start_reports_why_with_every_job(tmp_path: Path) -> None:
    r = LineRenderer(tmp_path, engine_factory=BROKEN)
    try:
        for _ in range(2):
            with pytest.raises(TtsError, match=r"engine start-up failed: OSError: libespeak-ng\.so\.1"):
                r.render_blocking(spec("x"), 30)
        with pytest.raises(TtsError, match="libespeak-ng"):
            r.list_voices(30)
        assert r.worker.restarts == 0  # a broken engine is reported, not restarted in a loop
    finally:
        r.close()


def test_voices_come_from_the_worker(renderer: LineRenderer) -> None:
    cat = renderer.list_voices(30)
    assert cat == VoiceCatalog("fake", "0", cat.voices)
    assert [v.id for v in cat.voices] == ["fake/zh", "fake/en"]
    assert renderer.pick_voice("zh-CN", 30).id == "fake/zh"
    assert renderer.voices() is renderer.voices()  # asked once


def test_submit_does_not_block(tmp_path: Path) -> None:
    w = RenderWorker(TONE)
    try:
        f = w.submit_render(spec("x"), tmp_path / "x.wav")
        assert not f.done()  # submit returned before the worker (spawned asynchronously) could render
        assert w.wait(f, 30).frames > 0
    finally:
        w.close()


def test_close_fails_what_is_pending_and_stops_the_child(tmp_path: Path) -> None:
    w = RenderWorker(TONE)
    f1 = w.submit_render(spec("x"), tmp_path / "x.wav")
    f2 = w.submit_render(spec("y"), tmp_path / "y.wav")
    pid = w.pid
    assert pid is not None
    w.close()
    for f in (f1, f2):
        with pytest.raises(TtsWorkerError, match="closed before this line was done"):
            f.result(0)
    assert proc_state(pid) is None
    with pytest.raises(TtsWorkerError, match="is closed"):
        w.submit_voices()


PARENT = """
import os, signal, sys
from pathlib import Path
from softphone_assist.speech.cache import RenderSpec
from softphone_assist.speech.worker import RenderWorker
if __name__ == "__main__":
    w = RenderWorker("test_tts_support:ToneEngine")
    w.wait(w.submit_render(RenderSpec("x", "v", 150), Path(sys.argv[1])), 30)
    if sys.argv[2] == "hang":
        w.submit_render(RenderSpec("HANG", "v", 150), Path(sys.argv[1] + ".2"))
    print(w.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup at all
"""


@pytest.mark.parametrize("state", ["idle", "hang"])
def test_worker_exits_when_its_parent_is_killed(tmp_path: Path, state: str) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "x.wav"), state], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, r.stderr
    child = int(r.stdout.split()[0])
    assert gone(child), f"worker {child} still running ({proc_state(child)}) after its parent was killed"


def test_rendered_file_is_the_trimmed_tone(renderer: LineRenderer) -> None:
    clip = renderer.render_blocking(spec("三"), 30)
    data, rate = sf.read(str(clip.path), dtype="float32")
    assert rate == 16000 and data.ndim == 1 and abs(float(abs(data).max()) - 0.3) < 2e-4
