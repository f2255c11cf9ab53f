"""Syllable-rate error of the coach's envelope counter (detect/syllables.py) against known texts.

    .venv/bin/python bench/bench_speech_rate.py [--json]

Recordings: the asterisk-core-sounds prompts whose text the packages ship
(/usr/share/doc/asterisk-core-sounds-<lang>/core-sounds-<lang>.txt.gz); prompts whose text has
digits or [descriptions of tones] are left out. Reference syllables of the text:
  en  vowel groups per word (detect/syllables.word_syllables; +-1 on some words),
  ru  one per vowel letter (exact in Russian),
  es  vowel groups, split between two strong vowels (a, e, o: hiatus),
  zh  one per character: lines of the zh-CN script spoken by espeak-ng (cmn), the only Chinese
      speech with known text on this machine (synthetic: its rhythm is more regular than a person's).
Each prompt is resampled to 16 kHz, padded with 0.5 s of -70 dBov hiss each side and run through
the agent tracker (webrtcvad + level gate) exactly as in a call; the count is the nuclei on its
speech frames. The rate error of a stretch of speech is its count error (same duration).

Figures (per language):
  per-prompt   mean abs % error and bias over prompts with >= 8 reference syllables, their
               10/50/90th percentile of the signed error, and the same for all prompts
  tune/held    en only: the counter's parameters were chosen on the even-numbered prompts;
               the odd-numbered ones were not looked at (the held-out figure)
  20 s         what the coach decides on: prompts concatenated (0.3 s apart) into ~20 s stretches,
               mean abs % error of their total count
  faster       en: the same prompts time-compressed 1.25x and 1.5x with soxr: counted / reference
               ratio (the counter under-counts fast speech: the hint then comes later, not falsely)
  cost         a 300 s stereo call (Allison agent, Carlo caller, turn-taking) replayed through the
               Pipeline in 5 s blocks (as `replay` does) and 0.1 s blocks (live): the coach's own
               time per stream second, and replay speed with the coach on and off (best of 3;
               includes framing, webrtcvad, both trackers and the engine, not file reading)
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from callkit import utterance

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect.agent import AgentSpeechTracker
from softphone_assist.core.detect.syllables import count_syllables, text_syllables

RATE = 16000
SOUNDS = Path("/usr/share/asterisk/sounds")
VOICES = {"en": "en_US_f_Allison", "ru": "ru_RU_f_IvrvoiceRU", "es": "es_MX_f_Allison"}
MIN_SYLLABLES = 8


def ru_syllables(text: str) -> int:
    return len(re.findall(r"[аеёиоуыэюя]", text.lower()))


def es_syllables(text: str) -> int:
    groups = re.findall(r"[aeiouáéíóúü]+", text.lower())
    # two strong vowels side by side are two syllables (le-er, pa-ís)
    return sum(1 + len(re.findall(r"(?<=[aeoáéó])(?=[aeoáéó])", g)) for g in groups)


COUNTERS = {"en": text_syllables, "ru": ru_syllables, "es": es_syllables}


def prompts(lang: str) -> list[tuple[str, str]]:
    path = Path(f"/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz")
    if not path.is_file():
        return []
    out = []
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^([\w/-]+):\s*(.*\S)\s*$", line)
            if not m or "[" in m.group(2) or re.search(r"\d", m.group(2)):
                continue
            name = f"{VOICES[lang]}/{m.group(1)}"
            if (SOUNDS / f"{name}.wav").is_file():
                out.append((name, m.group(2)))
    return out


def counted(x: np.ndarray, rng: np.random.Generator) -> int:
    pad = np.zeros(RATE // 2)
    x = np.concatenate([pad, x, pad])
    x = x + rng.standard_normal(x.size) * 32768 * 10 ** (-70 / 20)
    n = x.size // 160
    frames = np.clip(np.rint(x[: n * 160]), -32768, 32767).reshape(n, 160)
    tracker = AgentSpeechTracker(RATE, DetectorConfig())
    tracker.process(frames, WebRtcVad(RATE, 3)(frames), 0)
    f = tracker.features
    assert f is not None
    return count_syllables(f.power, f.speech)


def figures(ref: np.ndarray, est: np.ndarray) -> dict[str, float]:
    err = (est - ref) / ref * 100
    long = ref >= MIN_SYLLABLES
    e = err[long]
    return {
        "prompts": int(long.sum()), "mape": round(float(np.mean(np.abs(e))), 1),
        "bias": round(float(np.mean(e)), 1),
        "p10": round(float(np.percentile(e, 10)), 1), "p50": round(float(np.percentile(e, 50)), 1),
        "p90": round(float(np.percentile(e, 90)), 1),
        "all_prompts": int(ref.size), "all_mape": round(float(np.mean(np.abs(err))), 1),
        "total_ratio": round(float(est.sum() / ref.sum()), 3),
    }


def windows(ref: np.ndarray, audio: list[np.ndarray], rng: np.random.Generator) -> dict[str, float]:
    """Prompts in file order, joined 0.3 s apart into stretches of >= 20 s."""
    errs = []
    i = 0
    while i < len(audio):
        parts: list[np.ndarray] = []
        syl = 0
        while i < len(audio) and sum(p.size for p in parts) < 20 * RATE:
            parts += [audio[i], np.zeros(round(0.3 * RATE))]
            syl += int(ref[i])
            i += 1
        if sum(p.size for p in parts) < 20 * RATE:
            break
        errs.append((counted(np.concatenate(parts), rng) - syl) / syl * 100)
    e = np.array(errs)
    return {"stretches": int(e.size), "mape": round(float(np.mean(np.abs(e))), 1),
            "bias": round(float(np.mean(e)), 1), "max_abs": round(float(np.max(np.abs(e))), 1)}


def language(lang: str, rng: np.random.Generator) -> dict[str, object]:
    items = prompts(lang)
    if not items:
        return {"skipped": f"no asterisk-core-sounds-{lang} texts or prompts installed"}
    audio = [utterance(name) for name, _ in items]
    ref = np.array([COUNTERS[lang](text) for _, text in items], dtype=float)
    keep = ref > 0
    audio = [a for a, k in zip(audio, keep, strict=True) if k]
    ref = ref[keep]
    est = np.array([counted(a, rng) for a in audio], dtype=float)
    out: dict[str, object] = {"per_prompt": figures(ref, est), "20s": windows(ref, audio, rng)}
    if lang == "en":
        out["tune_half"] = figures(ref[0::2], est[0::2])
        out["held_out_half"] = figures(ref[1::2], est[1::2])
        for factor in (1.25, 1.5):
            fast = np.array([counted(soxr.resample(a, RATE * factor, RATE), rng) for a in audio], dtype=float)
            out[f"faster_{factor}x_ratio"] = round(float(fast.sum() / ref.sum()), 3)
    return out


def chinese(rng: np.random.Generator) -> dict[str, object]:
    if shutil.which("espeak-ng") is None:
        return {"skipped": "espeak-ng is not installed"}
    from softphone_assist.core.script.loader import load_script

    script = load_script("zh-CN")
    lines = [re.sub(r"\{[^{}]*\}", "", s.text) for ladder in script.ladders.values() for s in ladder.steps]
    ref, est = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k, text in enumerate(lines):
            wav = Path(tmp) / f"{k}.wav"
            subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(wav), text], check=True, capture_output=True)
            x, rate = sf.read(wav, dtype="float64")
            x = soxr.resample(x * 32768 * 0.3, rate, RATE)
            ref.append(text_syllables(text))
            est.append(counted(x, rng))
    r, e = np.array(ref, float), np.array(est, float)
    return {"voice": "espeak-ng cmn (synthetic)", "per_prompt": figures(r, e)}


def cost() -> dict[str, object]:
    from datetime import datetime

    from callkit import CallBuilder

    from softphone_assist.core.config import CoachConfig
    from softphone_assist.core.detect.coach import Coach
    from softphone_assist.core.events import CallEvent
    from softphone_assist.core.pipeline import Pipeline
    from softphone_assist.core.script.loader import load_script

    b = CallBuilder(300.0, seed=1, agent_floor="hiss", caller_floor="hiss")
    t, k = 0.5, 0
    names = ("agent-alreadyon", "agent-user", "auth-incorrect", "agent-incorrect")
    while t < 280.0:
        s = b.agent_says(t, f"en_US_f_Allison/{names[k % 4]}")
        t = b.caller_says(s.end + 0.5, "it_IT_m_Carlo/agent-pass").end + 0.5
        k += 1
    agent = np.clip(np.rint(b.agent_track()), -32768, 32767)
    caller = np.clip(np.rint(b.caller_track()), -32768, 32767)
    spent = [0.0]
    process = Coach.process

    def timed(self: Coach, *args: object) -> object:
        t0 = time.perf_counter()
        out = process(self, *args)  # type: ignore[arg-type]
        spent[0] += time.perf_counter() - t0
        return out

    out: dict[str, object] = {}
    Coach.process = timed  # type: ignore[assignment,method-assign]
    try:
        for block_s in (5.0, 0.1):
            step = round(block_s * RATE)
            for on in (False, True):
                best, coach_s = float("inf"), 0.0
                for _ in range(3):
                    spent[0] = 0.0
                    pipe = Pipeline(RATE, load_script("en"), WebRtcVad, has_agent=True,
                                    call_started_at=datetime(2026, 11, 23, 14),
                                    coach=CoachConfig() if on else CoachConfig(kinds=frozenset()))
                    pipe.schedule([CallEvent(0.0, "call_start")])
                    t0 = time.perf_counter()
                    for i in range(0, caller.size, step):
                        pipe.feed(caller[i : i + step], agent[i : i + step])
                    elapsed = time.perf_counter() - t0
                    if elapsed < best:
                        best, coach_s = elapsed, spent[0]
                key = f"block_{block_s:g}s_coach_{'on' if on else 'off'}"
                out[key] = {"x_real_time": round(300.0 / best),
                            "coach_us_per_stream_s": round(coach_s / 300.0 * 1e6)}
    finally:
        Coach.process = process  # type: ignore[method-assign]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    result: dict[str, object] = {lang: language(lang, rng) for lang in VOICES}
    result["zh"] = chinese(rng)
    result["cost"] = cost()
    result["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    for lang, r in result.items():
        if lang == "seconds":
            continue
        print(f"== {lang}")
        assert isinstance(r, dict)
        for key, value in r.items():
            print(f"  {key:18} {value}")
    print(f"({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
