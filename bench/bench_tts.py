#!/usr/bin/env python3
"""TTS figures: engine start-up, first render, render time per line, cache hit, and the cached
"prompt -> first sound" latency on a real sound server (target <= 150 ms).

    python bench/bench_tts.py [--trials 10] [--latency 0.1] [--no-pulse]

Renders the zh-CN lines of the service standard with pyttsx3 + espeak-ng in the worker process,
into a fresh cache. The latency part starts a private PulseAudio (null sink `agent_mic_in`, with
a 20 ms keep-alive reader on its monitor, as a softphone in a call has), records the monitor
in this process with sounddevice, and times Speaker.speak() of a cached line to the first
sample above -40 dBFS arriving on the monitor (PortAudio's ADC time of that sample).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from softphone_assist.speech import LineRenderer

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

LINES = [
    "下午好,示例公司很高兴为您服务",
    "非常抱歉,您的电话没有声音,请您换一部电话再打来,再见!",
    "非常抱歉,我这边听不清楚,请您大声一点,好吗?",
    "对不起,我听不清您的声音,请问您用的是免提吗?",
    "我这边听不清楚,请您拿起话筒说话,好吗?",
    "对不起!您的电话声音太小,我这边听不清楚,请您换一部电话再打过来,好吗?",
    "非常抱歉,您的电话杂音太大,我这边听不清楚,请您换一部电话打来好吗?",
    "您的问题我正在核实,请您稍等",
    "我正在为您核实相关问题,请您稍等一会,不要挂线,谢谢!",
    "先生,感谢您的耐心等候。",
    "请问还有什么可以帮您?",
    "如您没有其他问题需要咨询的话,我挂线了,感谢您的来电,再见!",
]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def bench_render(cache_dir: Path, rate: int) -> tuple[LineRenderer, str]:
    from softphone_assist.speech import LineRenderer, RenderSpec

    r = LineRenderer(cache_dir)
    t0 = time.perf_counter()
    r.start()
    voice = r.pick_voice("zh-CN", timeout=60)
    t_up = time.perf_counter() - t0
    print(f"engine start-up (spawn worker, pyttsx3 init + warm-up, list voices): {ms(t_up)}  "
          f"voice {voice.id}")
    t0 = time.perf_counter()
    first = r.render_blocking(RenderSpec(LINES[0], voice.id, rate), 60)
    took = time.perf_counter() - t0
    print(f"first render (worker already up): {ms(took)} for {first.seconds:.2f} s of speech")
    per_line = []
    for line in LINES[1:]:
        t0 = time.perf_counter()
        clip = r.render_blocking(RenderSpec(line, voice.id, rate), 60)
        per_line.append((time.perf_counter() - t0, clip.seconds))
    times = [t for t, _ in per_line]
    audio = sum(s for _, s in per_line)
    print(f"render time per line ({len(times)} lines, {audio:.1f} s of speech): "
          f"mean {ms(statistics.mean(times))}, max {ms(max(times))} "
          f"({audio / sum(times):.0f}x real time, incl. IPC and WAV writing)")
    t0 = time.perf_counter()
    futures = r.prerender([line + "。" for line in LINES], voice.id, rate)
    for f in futures:
        r.worker.wait(f, 60)
    print(f"prerender of {len(LINES)} new lines: {ms(time.perf_counter() - t0)}")
    t0 = time.perf_counter()
    for line in LINES:
        r.render(RenderSpec(line, voice.id, rate)).result(0)
    print(f"cache hit (lookup + WAV header): {ms((time.perf_counter() - t0) / len(LINES))} per line")
    return r, voice.id


def bench_first_sound(renderer: LineRenderer, voice_id: str, rate: int, trials: int, latency: float) -> None:
    from soundserver import SoundServer, why_not

    why = why_not("pulseaudio", alsa_pulse=True)
    if why:
        print(f"prompt -> first sound: skipped ({why})")
        return
    pp = SoundServer("pulseaudio", Path(tempfile.mkdtemp(prefix="tts-bench-pulse-")), {"agent_mic_in": 1})
    try:
        pp.start()
        pp.keep_running(settle_s=2.5)
        with pp.as_default():
            import sounddevice as sd

            from softphone_assist.audio import playback
            from softphone_assist.speech import Speaker, SpeechFinished

            playback.DEFAULT_LATENCY_S = latency
            loud: list[float] = []  # ADC time of the first loud sample since `armed`
            armed = threading.Event()

            def on_input(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
                if armed.is_set() and not loud:
                    hit = np.flatnonzero(np.abs(indata[:, 0]) > 0.01)
                    if hit.size:
                        loud.append(time_info.inputBufferAdcTime + hit[0] / 48000)

            os.environ["PULSE_SOURCE"] = "agent_mic_in.monitor"  # read when the stream opens
            mic = sd.InputStream(device="pulse", samplerate=48000, channels=1, blocksize=240,
                                 latency="low", callback=on_input)
            os.environ.pop("PULSE_SOURCE")
            mic.start()
            speaker = Speaker(renderer, [playback.resolve_output("agent_mic_in")], voice_id, rate=rate)
            lat, call = [], []
            for i in range(trials):
                line = LINES[i % len(LINES)]
                time.sleep(0.3)
                loud.clear()
                armed.set()
                t0 = mic.time  # PortAudio stream clock, the clock of inputBufferAdcTime
                c0 = time.perf_counter()
                speaker.speak(line)
                call.append(time.perf_counter() - c0)
                while not any(isinstance(e, SpeechFinished) for e in speaker.poll()):
                    time.sleep(0.01)
                armed.clear()
                if loud:
                    lat.append(loud[0] - t0)
            mic.stop()
            mic.close()
            print(f"speak() of a cached line returns in: median {ms(statistics.median(call))}, "
                  f"max {ms(max(call))}")
            if lat:
                print(f"cached prompt -> first sound on the sink's monitor ({len(lat)}/{trials} trials, "
                      f"output latency {latency * 1000:.0f} ms): median {ms(statistics.median(lat))}, "
                      f"min {ms(min(lat))}, max {ms(max(lat))}  (target <= 150 ms)")
            else:
                print("cached prompt -> first sound: no sound arrived on the monitor")
    finally:
        pp.stop()
        shutil.rmtree(pp.root, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--rate", type=int, default=150, help="words per minute")
    ap.add_argument("--latency", type=float, default=None,
                    help="output latency in seconds (default: playback.DEFAULT_LATENCY_S)")
    ap.add_argument("--no-pulse", action="store_true")
    args = ap.parse_args()
    from softphone_assist.audio import playback

    latency = args.latency if args.latency is not None else playback.DEFAULT_LATENCY_S
    with tempfile.TemporaryDirectory() as d:
        renderer, voice_id = bench_render(Path(d), args.rate)
        try:
            if not args.no_pulse:
                bench_first_sound(renderer, voice_id, args.rate, args.trials, latency)
        finally:
            renderer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
