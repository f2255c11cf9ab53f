#!/usr/bin/env python3
"""How close to the standard's time do prompts land? Timing error distribution of the pipeline scenarios.

    .venv/bin/python bench/bench_prompt_timing.py [--seeds 8] [--floors hiss,zero] [--voices a,b] [--json]

The standard's time of a prompt is the end of the agent's line before it + the script's wait
(issue 9: within 50 ms). Stereo calls are built from real recorded speech with tools/callkit.py
(CallBuilder): every installed asterisk-core-sounds voice speaks the agent's lines in turn (en
Allison, es Allison, fr June, it Carlo, ru IvrvoiceRU: one voice, language and level per call; the
caller is it Carlo, or en Allison when Carlo is the agent). Each agent line is a prompt of that
voice drawn at random (1-4 s, top-level prompts only, random level -32..-20 dBov) and placed at a
whole frame, so its end is known exactly. Three protocol scenarios per seed, voice and mic floor:

  silent_line    greeting line; 0.7 s after each prompt the agent says the next line; expected:
                 step 2 and 3 at (end of the line before + wait_s), may_hang_up likewise
  caller_silent  greeting, the caller answers, the agent says a line; the caller stays silent:
                 caller_silent step 1 at (end of that line + caller_silent_after_s)
  closing        greeting, answer, the agent's closing line, `closing` 0.1 s after it: closing
                 step 2 at (end of the closing line + step 1's wait_s)

Truth: the agent line's span end from callkit = the end of the last 10 ms frame of the recording
whose level is >= -60 dBov (callkit trims the file to whole frames of speech), at its placement;
this includes the recording's own faint tail and room tone down to -60 dBov. The calls go through
the Pipeline in-process (webrtcvad, both trackers, the engine) fed in 5 s chunks, as `replay` does;
every call of the first seed is fed again in 0.1 s and 0.03 s chunks (live sizes) and must give
the same prompt times. Printed per voice and mic floor ("hiss": -70 dBov white noise, "zero":
digital silence, "comfort_noise": pink -60 dBov, "babble": hiss + office babble of the other
voices at -50 dBov, which webrtcvad calls speech): median, p95 and max of |error|, the signed
median, how many prompts are off by more than 50 ms, and how much of the error is the agent
detector's (its reported end vs the truth) rather than the engine's (prompt vs reported end + wait,
which is 0: deadlines fire at their exact stream time; it is not 0 only when the engine counted
from another agent turn, e.g. babble that the agent detector took for the agent talking), and
|error| against the *audible* end (the line's last frame whose speech is at least as loud as the
mic floor: a tail under the floor is not there to be heard). Then the five worst prompts, the
prompts not shown exactly once, and the CPU time (utime+stime of this process,
resource.getrusage; it includes building the calls).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from callkit import SOUNDS, CallBuilder, Span, feed_in_chunks, have_speech, utterance  # noqa: E402

from softphone_assist.audio.vad import WebRtcVad  # noqa: E402
from softphone_assist.core.callevents import default_call_events  # noqa: E402
from softphone_assist.core.events import CallEvent, ConditionChanged, MayHangUp, ShowPrompt, Update  # noqa: E402
from softphone_assist.core.pipeline import Pipeline  # noqa: E402
from softphone_assist.core.script.loader import load_script  # noqa: E402

VOICES = ("en_US_f_Allison", "es_MX_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU")
CALLER_VOICE, CALLER_OTHER = "it_IT_m_Carlo", "en_US_f_Allison"
START = datetime(2026, 11, 23, 14, 0)
TARGET_S = 0.050
LINE_S = (1.0, 4.0)
SCRIPT = load_script("en")
CHUNKS_S = (5.0, 0.1, 0.03)
BABBLE_DBOV = -50.0  # the "babble" mic floor: hiss + office babble of the other voices
# callkit's babble draws from every prompt of a voice; ru IvrvoiceRU has one without speech (is.wav)
BABBLERS = ("en_US_f_Allison", "es_MX_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo")


@dataclass(frozen=True)
class Expected:
    what: str  # "silent_line 2", "may_hang_up silent_line", ...
    line: Span  # the agent's line the wait is counted from
    wait_s: float

    @property
    def t(self) -> float:
        return self.line.end + self.wait_s


@dataclass(frozen=True)
class Measured:
    voice: str
    floor: str
    scenario: str
    what: str
    error_s: float  # prompt time - (true end + wait)
    detector_s: float  # the agent detector's reported end - true end
    line: str  # the recording of the agent's line
    level_dbov: float
    audible_s: float  # prompt time - (audible end + wait)


def lines_of(voice: str) -> list[str]:
    """Top-level prompts of a voice lasting LINE_S (digits/, letters/... subfolders left out)."""
    out = []
    for path in sorted((SOUNDS / voice).glob("*.wav")):
        name = f"{voice}/{path.stem}"
        try:
            d = len(utterance(name)) / 16000
        except ValueError:  # a file with no frame above callkit's trim level
            continue
        if LINE_S[0] <= d <= LINE_S[1]:
            out.append(name)
    return out


def wait(protocol: str, step: int) -> float:
    return SCRIPT.ladders[protocol].steps[step - 1].wait_s


def scenarios(voice: str, floor: str, seed: int, pool: list[str], answers: list[str], babblers: list[str]
              ) -> list[tuple[str, CallBuilder, list[Expected]]]:
    rng = np.random.default_rng([seed, VOICES.index(voice) if voice in VOICES else 99])

    def line() -> str:
        return pool[int(rng.integers(len(pool)))]

    def level() -> float:
        return float(rng.uniform(-32.0, -20.0))

    def call(duration_s: float) -> CallBuilder:
        b = CallBuilder(duration_s, caller_floor="hiss", agent_floor="hiss" if floor == "babble" else floor, seed=seed)
        if floor == "babble":  # colleagues talking in the room, at the agent's microphone
            b.add_noise("agent", 0.0, b.duration, "babble", BABBLE_DBOV, voices=[v for v in babblers if v != voice])
        return b

    out = []
    # silent_line: the greeting, each prompt's line said 0.7 s after the prompt
    b = call(40.0)
    g = b.agent_says(0.5, line(), level())
    rep = b.agent_says(g.end + wait("silent_line", 1) + 0.7, line(), level())
    bye = b.agent_says(rep.end + wait("silent_line", 2) + 0.7, line(), level())
    out.append(("silent_line", b, [Expected("silent_line 2", g, wait("silent_line", 1)),
                                   Expected("silent_line 3", rep, wait("silent_line", 2)),
                                   Expected("may_hang_up silent_line", bye, wait("silent_line", 3))]))
    # caller_silent: the agent spoke last
    b = call(24.0)
    g = b.agent_says(0.5, line(), level())
    ans = b.caller_says(g.end + 0.8, answers[int(rng.integers(len(answers)))])
    said = b.agent_says(ans.end + 1.0, line(), level())
    out.append(("caller_silent", b, [Expected("caller_silent 1", said, SCRIPT.timing.caller_silent_after_s)]))
    # closing: the closing line, then the softphone's `closing` event
    b = call(24.0)
    g = b.agent_says(0.5, line(), level())
    ans = b.caller_says(g.end + 0.8, answers[int(rng.integers(len(answers)))])
    close = b.agent_says(ans.end + 0.8, line(), level())
    b.call_event(0.0, "call_start")
    b.call_event(close.end + 0.1, "closing")
    out.append(("closing", b, [Expected("closing 2", close, wait("closing", 1))]))
    return out


def run(b: CallBuilder, chunk_s: float) -> list[Update]:
    pipe = Pipeline(b.rate, SCRIPT, WebRtcVad, has_agent=True, call_started_at=START)
    if b.events:  # as `replay --events` reads them; without, the call spans the audio (as `replay`)
        pipe.schedule([CallEvent(t, kind, "file") for t, kind in b.events])
    else:
        pipe.schedule(default_call_events(b.duration).events)
    return feed_in_chunks(pipe, b, chunk_s)


def timed(updates: list[Update]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for u in updates:
        if isinstance(u, ShowPrompt):
            out.setdefault(f"{u.protocol} {u.step}", []).append(u.t)
        elif isinstance(u, MayHangUp):
            out.setdefault(f"may_hang_up {u.protocol}", []).append(u.t)
    return out


def agent_end(updates: list[Update], line: Span) -> float | None:
    """The agent detector's reported end (`since` of `silent`) of the turn that holds `line`."""
    ends = [u.since for u in updates if isinstance(u, ConditionChanged) and u.channel == "agent"
            and u.condition == "silent" and line.start < u.since < line.end + 0.5]
    return max(ends) if ends else None  # a pause inside the line may end a first turn early: the line's end is the last


def audible_end(b: CallBuilder, line: Span) -> float:
    """End of the line's last frame whose speech alone is at least as loud as the mic floor alone
    (frame SNR >= 0 dB): the end a listener could hear. On a digitally silent mic, the span end."""
    i, j = round(line.start * b.rate), round(line.end * b.rate)
    speech = b.track("agent", ("speech",))[i:j].reshape(-1, b.frame)
    floor = b.track("agent", ("floor",))[i:j].reshape(-1, b.frame)
    heard = np.flatnonzero(np.mean(speech**2, axis=1) >= np.mean(floor**2, axis=1))
    return line.start + (int(heard[-1]) + 1) / 100 if heard.size else line.start


def measure(voice: str, floor: str, seeds: int, pool: list[str], answers: list[str], babblers: list[str],
            chunk_mismatch: list[str], missed: list[str]) -> list[Measured]:
    out = []
    for seed in range(seeds):
        for name, b, expected in scenarios(voice, floor, seed, pool, answers, babblers):
            updates = run(b, CHUNKS_S[0])
            got = timed(updates)
            if seed == 0:
                for chunk in CHUNKS_S[1:]:
                    if timed(run(b, chunk)) != got:
                        chunk_mismatch.append(f"{voice} {floor} {name} chunk {chunk} s")
            for e in expected:
                times = got.get(e.what, [])
                end = agent_end(updates, e.line)
                if len(times) != 1 or end is None:
                    missed.append(f"{voice} {floor} seed {seed} {name}: {e.what} shown {len(times)} times "
                                  f"(expected once, at {e.t:.2f} s)")
                    continue
                said = next(p for p in b.placements if p.channel == "agent" and p.span == e.line)
                heard = audible_end(b, e.line) + e.wait_s
                out.append(Measured(voice, floor, name, e.what, times[0] - e.t, end - e.line.end,
                                    said.name, said.level_dbov, times[0] - heard))
    return out


def summary(rows: list[Measured]) -> dict[str, float]:
    if not rows:
        keys = ("median_abs_ms", "p95_abs_ms", "max_abs_ms", "signed_median_ms", "max_engine_ms",
                "audible_p95_abs_ms", "audible_max_abs_ms")
        return dict.fromkeys(keys, float("nan")) | {"prompts": 0, "over_50ms": 0}
    err = np.array([r.error_s for r in rows]) * 1000
    det = np.array([r.detector_s for r in rows]) * 1000
    heard = np.abs(np.array([r.audible_s for r in rows]) * 1000)
    engine = err - det
    a = np.abs(err)
    return {"prompts": len(rows), "median_abs_ms": float(np.median(a)), "p95_abs_ms": float(np.percentile(a, 95)),
            "max_abs_ms": float(a.max()), "signed_median_ms": float(np.median(err)),
            "over_50ms": int((a > TARGET_S * 1000 + 1e-6).sum()),
            "max_engine_ms": float(np.abs(engine).max()),
            "audible_p95_abs_ms": float(np.percentile(heard, 95)), "audible_max_abs_ms": float(heard.max())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8, help="calls per scenario, voice and floor (default 8)")
    ap.add_argument("--floors", default="hiss,zero", help="agent mic floors: hiss, zero, comfort_noise, babble")
    ap.add_argument("--voices", default=",".join(VOICES))
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = ap.parse_args()
    voices = [v for v in args.voices.split(",") if have_speech(v)]
    missing = [v for v in args.voices.split(",") if not have_speech(v)]
    if not voices:
        raise SystemExit("no asterisk-core-sounds voice installed (./setup.sh test installs en and it)")
    caller = CALLER_VOICE if have_speech(CALLER_VOICE) else voices[0]
    rows: list[Measured] = []
    mismatch: list[str] = []
    missed: list[str] = []
    for voice in voices:
        who = CALLER_OTHER if voice == caller and have_speech(CALLER_OTHER) else caller
        answers = lines_of(who)
        pool = lines_of(voice)
        for floor in args.floors.split(","):
            babblers = [v for v in BABBLERS if have_speech(v)]
            rows += measure(voice, floor, args.seeds, pool, answers, babblers, mismatch, missed)
    groups: dict[str, list[Measured]] = {}
    for r in rows:
        groups.setdefault(f"{r.voice:<19} {r.floor:<13}", []).append(r)
    for floor in args.floors.split(","):
        groups[f"{'all voices':<19} {floor:<13}"] = [r for r in rows if r.floor == floor]
    groups[f"{'all':<19} {'all':<13}"] = rows
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    worst = sorted(rows, key=lambda r: -abs(r.error_s))[:5]
    if args.json:
        print(json.dumps({"groups": {k.strip(): summary(v) for k, v in groups.items()},
                          "chunk_mismatch": mismatch, "missed": missed, "missing_voices": missing, "cpu_s": cpu,
                          "worst": [r.__dict__ for r in worst]}, indent=1))
        return 0
    print("error = prompt time - (true end of the agent's line + wait), ms; truth = callkit span end.")
    print("median/p95/max of |error|; signed = median error; engine = max |prompt - (detected end + wait)|;")
    print("audible = |error| against the end a listener hears (last frame with speech >= mic floor).")
    print(f"{'voice':<19} {'mic floor':<13} {'prompts':>7} {'median':>6} {'p95':>5} {'max':>5} {'signed':>6} "
          f"{'>50ms':>5} {'engine':>6} | audible: {'p95':>4} {'max':>4}")
    for key, group in groups.items():
        s = summary(group)
        print(f"{key} {s['prompts']:>7} {s['median_abs_ms']:>6.0f} {s['p95_abs_ms']:>5.0f} {s['max_abs_ms']:>5.0f} "
              f"{s['signed_median_ms']:>6.0f} {s['over_50ms']:>5} {s['max_engine_ms']:>6.0f} | "
              f"{'':>8} {s['audible_p95_abs_ms']:>4.0f} {s['audible_max_abs_ms']:>4.0f}")
    print("worst:")
    for r in worst:
        print(f"  {r.error_s * 1000:+4.0f} ms (audible {r.audible_s * 1000:+4.0f})  {r.floor:<13} {r.scenario:<13} "
              f"{r.what:<24} {r.line} at {r.level_dbov:.0f} dBov")
    print(f"feed chunks {', '.join(f'{c:g} s' for c in CHUNKS_S)}: "
          + ("same prompt times" if not mismatch else "DIFFER: " + "; ".join(mismatch)))
    print(f"prompts not shown exactly once (or no agent end reported): {len(missed)}"
          + "".join(f"\n  {m}" for m in missed[:10]))
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}")
    print(f"cpu {cpu:.1f} s (utime+stime of this process, building the calls included)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
