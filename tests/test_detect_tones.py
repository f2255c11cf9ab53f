"""Telephone tones on the caller's line (detect/tones.py, the caller hook, the engine's rules).

Tones are generated as ITU-T E.180 / Q.23 describe them (frequencies, cadences) and mixed with
real recorded speech (asterisk-core-sounds, via callkit) and line noise; 8 and 16 kHz.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from callkit import FULL_SCALE, CallBuilder, have_speech, noise, utterance, voice_prompts

from softphone_assist.cli import main
from softphone_assist.core.config import DetectorConfig
from softphone_assist.core.detect import CallerLineTracker, frame_len
from softphone_assist.core.detect.tones import ToneInfo, detect_tones, dtmf_key, kind_of
from softphone_assist.core.events import CallEvent, ConditionChanged, ProtocolEnded, ShowPrompt
from softphone_assist.core.script.engine import EngineOptions, ScriptEngine
from softphone_assist.core.script.loader import load_script

RATES = [8000, 16000]
needs_speech = pytest.mark.skipif(
    not (have_speech() and have_speech("it_IT_m_Carlo")),
    reason="needs asterisk-core-sounds-en-wav and -it-wav (./setup.sh test installs them)")


def tone(hz: tuple[float, ...], on_s: float, off_s: float, total_s: float, rate: int,
         level_dbov: float = -20.0) -> np.ndarray:
    """Equal-level sines summing to `level_dbov` RMS while on, gated on/off from t = 0."""
    t = np.arange(round(total_s * 100) * frame_len(rate)) / rate
    x = sum(np.sin(2 * np.pi * f * t + k) for k, f in enumerate(hz))
    x = np.asarray(x) * FULL_SCALE * 10 ** (level_dbov / 20) / np.sqrt(len(hz) / 2)
    return x * ((t % (on_s + off_s)) < on_s - 1e-9) if off_s > 0 else x


def line_noise(kind: str, n: int, rate: int, level_dbov: float, seed: int = 3) -> np.ndarray:
    return noise(kind, np.random.default_rng(seed), n, rate) * FULL_SCALE * 10 ** (level_dbov / 20)


def on_frames(x: np.ndarray, rate: int) -> np.ndarray:
    """Frames that are wholly inside a tone burst (no edge frames)."""
    fl = frame_len(rate)
    e = np.abs(x[: x.size // fl * fl]).reshape(-1, fl).min(axis=1) > 0
    inner = e.copy()
    inner[1:] &= e[:-1]
    inner[:-1] &= e[1:]
    return inner


def any_frames(x: np.ndarray, rate: int) -> np.ndarray:
    fl = frame_len(rate)
    return np.abs(x[: x.size // fl * fl]).reshape(-1, fl).max(axis=1) > 0


# name: frequencies, on, off, length, kind (E.180 national tones the issue names)
TONES = {
    "cn_ringback": ((450.0,), 1.0, 4.0, 11.0, "ringback"),
    "cn_busy": ((450.0,), 0.35, 0.35, 4.0, "busy"),
    "eu_ringback": ((425.0,), 1.0, 4.0, 11.0, "ringback"),
    "eu_busy": ((425.0,), 0.5, 0.5, 4.0, "busy"),
    "eu_congestion": ((425.0,), 0.2, 0.2, 3.0, "congestion"),
    "us_ringback": ((440.0, 480.0), 2.0, 4.0, 8.0, "ringback"),
    "us_busy": ((480.0, 620.0), 0.5, 0.5, 4.0, "busy"),
    "us_reorder": ((480.0, 620.0), 0.25, 0.25, 3.0, "congestion"),
    "cng": ((1100.0,), 0.5, 3.0, 8.0, "cng"),
    "ced": ((2100.0,), 3.3, 0.0, 3.3, "ced"),
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", sorted(TONES))
@pytest.mark.parametrize("line", ["comfort_noise", "white_snr20"])
def test_tone_frames_frequencies_and_kind(name, rate, line):
    hz, on, off, total, kind = TONES[name]
    x = tone(hz, on, off, total, rate, level_dbov=-20.0)
    fl = frame_len(rate)
    n = x.size // fl
    if line == "comfort_noise":
        y = x + line_noise("pink", x.size, rate, -60.0)
    else:
        y = x + line_noise("white", x.size, rate, -40.0)
    flags, infos = detect_tones(y, rate)
    inside, near = on_frames(x, rate), any_frames(x, rate)
    assert flags[inside].mean() >= 0.95  # recall of whole tone frames
    # precision: a flagged frame is in a burst or touches one (the 10 ms edge frame)
    touching = near.copy()
    touching[1:] |= near[:-1]
    touching[:-1] |= near[1:]
    assert not flags[~touching[:n]].any()
    heard = [i for i in infos if i is not None]
    assert heard and all(len(i.hz) == len(hz) for i in heard)
    assert all(abs(f - g) <= 10 for i in heard for f, g in zip(i.hz, hz, strict=True))
    assert heard[-1].kind == kind


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("hz", "kind"), [((437.0,), "unknown"), ((703.0, 1213.0), "dtmf"), ((1093.0,), "cng"),
                                          ((611.0, 1720.0), "unknown")])
def test_frequencies_are_measured_not_snapped_to_a_table(rate, hz, kind):
    x = tone(hz, 1.0, 0.0, 0.5, rate, -25.0)
    _, infos = detect_tones(x + line_noise("white", x.size, rate, -50.0), rate)
    heard = {(i.hz, i.kind) for i in infos if i is not None}
    assert heard == {(tuple(round(f) for f in hz), kind)}


@pytest.mark.parametrize("rate", RATES)
def test_special_information_tone(rate):
    seg = [tone((f,), 1.0, 0.0, 0.33, rate, -20.0) for f in (950.0, 1400.0, 1800.0)]
    x = np.concatenate([*seg, np.zeros(100 * frame_len(rate))])
    flags, infos = detect_tones(x, rate)
    assert flags[:99].mean() >= 0.9 and not flags[101:].any()
    seen = [i.hz for i in infos if i is not None and i.kind == "sit"]
    assert {h[0] // 50 for h in seen} == {19, 28, 36}  # 950, 1400, 1800 Hz (+-25 Hz)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("on_ms", [70, 100])
def test_dtmf_digits_are_each_heard_with_their_key(rate, on_ms):
    digits = "159#0*D"
    rows = {k: r for r, keys in enumerate(("123A", "456B", "789C", "*0#D")) for k in keys}
    cols = {k: keys.index(k) for keys in ("123A", "456B", "789C", "*0#D") for k in keys}
    low, high = (697.0, 770.0, 852.0, 941.0), (1209.0, 1336.0, 1477.0, 1633.0)
    parts = [np.zeros(20 * frame_len(rate))]
    for d in digits:
        parts.append(tone((low[rows[d]], high[cols[d]]), 1.0, 0.0, on_ms / 1000, rate, -18.0))
        parts.append(np.zeros(on_ms // 10 * frame_len(rate)))
    x = np.concatenate(parts)
    x = x + line_noise("pink", x.size, rate, -60.0)
    _, infos = detect_tones(x, rate)
    keys = []
    for i in infos:
        key = dtmf_key(i.hz) if i is not None else None
        if key is not None and (not keys or keys[-1][1] != i.start):
            keys.append((key, i.start))
            assert i.kind == "dtmf"
    assert "".join(k for k, _ in keys) == digits


def test_kind_rules_from_cadence():
    assert kind_of((450.0,), 1.0, True, None, None) == "ringback"  # CN: 1 s burst under way
    assert kind_of((450.0,), 0.35, True, None, None) == "unknown"  # too early to say
    assert kind_of((450.0,), 0.3, True, 0.35, 0.35) == "busy"
    assert kind_of((425.0,), 0.2, False, 0.2, 0.2) == "congestion"
    assert kind_of((450.0,), 5.0, True, None, None) == "unknown"  # continuous: dial tone
    assert kind_of((440.0, 480.0), 0.2, True, None, None) == "ringback"
    assert kind_of((480.0, 620.0), 0.2, True, None, None) == "busy"
    assert kind_of((1100.0,), 0.5, False, None, None) == "cng"
    assert kind_of((2100.0,), 0.5, True, None, None) == "ced"
    assert kind_of((1200.0,), 0.5, True, None, None) == "unknown"


# ---------------------------------------------------------------------------------------------
# Speech is not a tone
# ---------------------------------------------------------------------------------------------
# prompts whose voiced parts come closest to one peak (the nearest misses of the detector)
NEAR_MISSES = ("en_US_f_Allison/conf-noempty", "en_US_f_Allison/agent-newlocation",
               "en_US_f_Allison/confbridge-pin", "en_US_f_Allison/conf-userwilljoin",
               "en_US_f_Allison/demo-echotest", "en_US_f_Allison/vm-options",
               "it_IT_m_Carlo/conf-adminmenu-menu8", "it_IT_m_Carlo/agent-pass")
SOUND_EFFECTS = ("confbridge-join", "confbridge-leave")  # real tones inside the speech packages


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_recorded_speech_is_almost_never_a_tone_frame(rate):
    total = flagged = 0
    for voice in ("en_US_f_Allison", "it_IT_m_Carlo"):
        for name in voice_prompts(voice):
            if any(s in name for s in SOUND_EFFECTS):
                continue
            flags, _ = detect_tones(utterance(name, rate), rate)
            total += flags.size
            flagged += int(flags.sum())
    assert total > 200_000
    assert flagged / total < 0.0005  # measured: 0.02 % (held high vowels of the female voice)


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_near_miss_prompts_keep_the_caller_speaking(rate):
    """The prompts nearest to a tone, as a caller turn: speech, never a `tone` condition."""
    for name in NEAR_MISSES:
        x = np.concatenate([np.zeros(50 * frame_len(rate)), utterance(name, rate),
                            np.zeros(150 * frame_len(rate))])
        x = x + line_noise("pink", x.size, rate, -60.0)
        conds = [e.condition for e in run_tracker(x, rate)]
        assert conds[0] == "speech" and conds[-1] == "silent" and "tone" not in conds, name


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_the_recorded_beep_of_the_prompt_set_is_a_tone_and_the_monkeys_are_not(rate):
    """Recordings, not generated: asterisk's beep (a 700 Hz tone, 0.43 s) and tt-monkeys (16 s of
    screeching and shouting: loud, pitched, held calls)."""
    flags, infos = detect_tones(utterance("en_US_f_Allison/beep", rate), rate)
    assert flags.sum() >= 30
    assert {i.hz for i in infos if i is not None} == {(700,)}
    flags, _ = detect_tones(utterance("en_US_f_Allison/tt-monkeys", rate), rate)
    assert flags.size > 1500 and not flags.any()


def run_tracker(x: np.ndarray, rate: int, block: int = 100) -> list[ConditionChanged]:
    fl = frame_len(rate)
    n = x.size // fl
    frames = x[: n * fl].reshape(n, fl)
    tracker = CallerLineTracker(rate, DetectorConfig())
    out: list[ConditionChanged] = []
    for s in range(0, n, block):
        chunk = frames[s : s + block]
        out += tracker.process(chunk, np.zeros(len(chunk), dtype=bool), s)
    return out


# ---------------------------------------------------------------------------------------------
# The caller tracker
# ---------------------------------------------------------------------------------------------
@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("block", [1, 37, 100])
def test_linphone_hang_up_tone_after_the_caller_is_not_caller_speech(rate, block):
    """linphone's 480 Hz 2 x 200 ms hang-up tone at -13.8 dBov, 0.3 s after the caller's words."""
    fl = frame_len(rate)
    words = utterance("it_IT_m_Carlo/auth-thankyou", rate)
    gap = np.zeros(30 * fl)
    beep = tone((480.0,), 0.2, 0.2, 0.6, rate, level_dbov=-13.8)[: 60 * fl]
    x = np.concatenate([np.zeros(50 * fl), words, gap, beep, np.zeros(200 * fl)])
    x = x + line_noise("pink", x.size, rate, -60.0)
    events = run_tracker(x, rate, block)
    conds = [e.condition for e in events]
    assert conds.count("speech") == 1 and conds[0] == "speech"
    tones = [e for e in events if e.condition == "tone"]
    assert tones and all(e.tone_hz == (480,) for e in tones)
    speech_end = (50 * fl + words.size) / rate
    after = events[conds.index("speech") + 1]
    assert after.condition == "tone" and abs(after.since - speech_end) <= 0.1
    assert conds[-1] == "silent"
    assert json.loads(json.dumps(tones[0].to_json()))["tone_hz"] == [480]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("block", [1, 100])
@pytest.mark.parametrize(("name", "expected"), [
    ("cn_ringback", [(1.2, "tone", 1.0, "unknown"), (1.8, "tone", 1.8, "ringback"), (2.65, "silent", 2.0, None),
                     (6.15, "tone", 6.0, "ringback"), (7.65, "silent", 7.0, None),
                     (11.15, "tone", 11.0, "ringback"), (12.65, "silent", 12.0, None)]),
    ("us_ringback", [(1.2, "tone", 1.0, "ringback"), (3.65, "silent", 3.0, None), (7.15, "tone", 7.0, "ringback"),
                     (9.65, "silent", 9.0, None)]),
    ("eu_busy", [(1.2, "tone", 1.0, "unknown"), (2.1, "tone", 2.1, "busy"), (5.15, "silent", 4.5, None)]),
    ("ced", [(1.2, "tone", 1.0, "ced"), (4.95, "silent", 4.3, None)]),
])
def test_the_caller_condition_follows_the_bursts_to_the_frame(rate, block, name, expected):
    """One `tone` event per tone (again when its kind is known); a ring's end is its last frame."""
    hz, on, off, total, _ = TONES[name]
    fl = frame_len(rate)
    x = np.concatenate([np.zeros(100 * fl), tone(hz, on, off, total, rate, -20.0), np.zeros(300 * fl)])
    events = run_tracker(x + line_noise("pink", x.size, rate, -60.0), rate, block)
    assert [(e.t, e.condition, e.since, e.tone_kind) for e in events] == expected
    assert all(e.tone_hz == tuple(round(f) for f in hz) for e in events if e.condition == "tone")


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_caller_speech_over_a_busy_tone_is_speech(rate):
    """A customer still talking while the softphone plays a busy tone: the words count."""
    fl = frame_len(rate)
    words = utterance("it_IT_m_Carlo/agent-incorrect", rate)
    busy = tone((450.0,), 0.35, 0.35, 5.0 + words.size / rate, rate, level_dbov=-30.0)
    x = np.concatenate([np.zeros(50 * fl), busy])  # the line was quiet before the tone
    x[350 * fl : 350 * fl + words.size] += words * 10 ** (6 / 20)  # a loud talker, 9 dB over the tone
    events = run_tracker(x + line_noise("pink", x.size, rate, -60.0), rate)
    conds = [e.condition for e in events]
    assert conds[0] == "tone" and conds.count("speech") == 1
    sp = events[conds.index("speech")]
    assert sp.since == 3.5
    assert all(e.tone_kind == "busy" for e in events[1 : conds.index("speech")])
    # one event per tone, and again only when its kind changes
    assert [e.tone_kind for e in events[: conds.index("speech")]] == ["unknown", "busy"]


# ---------------------------------------------------------------------------------------------
# The engine: tones are silence for the ladders; ringback before `answered`
# ---------------------------------------------------------------------------------------------
SCRIPT = load_script("zh-CN")
AFTERNOON = datetime(2026, 11, 23, 14, 0, 0)


def engine_run(inputs: list, until: float) -> list[tuple]:
    eng = ScriptEngine(SCRIPT, AFTERNOON, EngineOptions())
    out: list = []
    for ev in inputs:
        out += eng.advance(ev.t - 1e-9)
        out += eng.handle(ev)
    out += eng.advance(until)
    short = []
    for a in out:
        if isinstance(a, ShowPrompt):
            short.append((round(a.t, 3), "prompt", a.protocol, a.step))
        elif isinstance(a, ProtocolEnded):
            short.append((round(a.t, 3), "end", a.protocol, a.reason))
    return short


def tone_ev(t: float, kind: str = "busy", since: float | None = None) -> ConditionChanged:
    return ConditionChanged(t, "caller", "tone", t if since is None else since, tone_hz=(450,), tone_kind=kind)


def caller(t: float, condition: str, since: float | None = None) -> ConditionChanged:
    return ConditionChanged(t, "caller", condition, t if since is None else since)  # type: ignore[arg-type]


def test_a_tone_neither_ends_the_silent_line_ladder_nor_moves_it():
    base = [CallEvent(0.0, "call_start")]
    plain = engine_run(base, 30.0)
    with_tones = engine_run([*base, tone_ev(2.0), caller(2.8, "silent", 2.2), tone_ev(7.0, "unknown"),
                             caller(9.0, "silent", 8.4)], 30.0)
    assert with_tones == plain
    assert [p[2:] for p in plain] == [("greeting", 1), ("silent_line", 2), ("silent_line", 3)]
    assert plain[1][0] == 5.0


def test_a_tone_after_the_caller_spoke_ends_the_turn_at_the_speech_end():
    out = engine_run([CallEvent(0.0, "call_start"), caller(1.0, "speech", 0.5), tone_ev(3.0, since=2.0)], 30.0)
    assert out[:2] == [(0.0, "prompt", "greeting", 1), (1.0, "end", "greeting", "caller_spoke")]
    assert len(out) == 2  # no ladder: the caller spoke last and, without an agent channel, no dead_air


def test_ringback_before_answered_withdraws_the_greeting_until_the_answer():
    out = engine_run([CallEvent(0.0, "call_start"), tone_ev(0.8, "ringback", 0.5),
                      caller(2.1, "silent", 1.5), tone_ev(5.8, "ringback", 5.5), caller(7.1, "silent", 6.5),
                      CallEvent(8.0, "answered")], 20.0)
    assert out == [(0.0, "prompt", "greeting", 1), (0.8, "end", "greeting", "ringing"),
                   (8.0, "prompt", "greeting", 1), (13.0, "prompt", "silent_line", 2)]


def test_ringback_that_stops_without_an_answer_event_gives_the_greeting_5_s_after_the_last_ring():
    out = engine_run([CallEvent(0.0, "call_start"), tone_ev(0.8, "ringback", 0.5),
                      caller(2.1, "silent", 1.5)], 12.0)
    assert out == [(0.0, "prompt", "greeting", 1), (0.8, "end", "greeting", "ringing"),
                   (6.5, "prompt", "greeting", 1), (11.5, "prompt", "silent_line", 2)]


def test_ringback_ends_when_the_callee_speaks_first():
    out = engine_run([CallEvent(0.0, "call_start"), tone_ev(0.8, "ringback", 0.5), caller(2.1, "silent", 1.5),
                      caller(3.0, "speech", 2.6)], 6.0)
    assert out == [(0.0, "prompt", "greeting", 1), (0.8, "end", "greeting", "ringing"),
                   (3.0, "prompt", "greeting", 1)]


def test_ringback_after_answered_or_after_the_caller_spoke_changes_nothing():
    answered = engine_run([CallEvent(0.0, "answered"), tone_ev(0.8, "ringback", 0.5)], 6.0)
    assert answered == [(0.0, "prompt", "greeting", 1), (5.0, "prompt", "silent_line", 2)]
    spoke = engine_run([CallEvent(0.0, "call_start"), caller(1.0, "speech", 0.5), caller(2.5, "silent", 1.8),
                        tone_ev(3.0, "ringback")], 6.0)
    assert spoke == [(0.0, "prompt", "greeting", 1), (1.0, "end", "greeting", "caller_spoke")]


# ---------------------------------------------------------------------------------------------
# Real-speech replays through the command
# ---------------------------------------------------------------------------------------------
GREETING = "en_US_f_Allison/conf-onlyperson"  # 3.2 s
START = "2026-11-23T14:00:00"


def replay(wav: Path, capsys: pytest.CaptureFixture[str], events: Path | None = None) -> list[dict]:
    args = ["replay", str(wav), "--jsonl", "--start-time", START]
    if events is not None:
        args += ["--events", str(events)]
    assert main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def write_stereo(b: CallBuilder, caller_extra: np.ndarray, path: Path) -> Path:
    data = np.column_stack([b.agent_track(), b.caller_track() + caller_extra])
    sf.write(path, np.clip(np.rint(data), -32768, 32767).astype(np.int16), b.rate)
    return path


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_silent_line_ladder_goes_on_while_a_busy_tone_plays(rate, tmp_path, capsys):
    b = CallBuilder(24.0, rate=rate, caller_floor="comfort_noise", agent_floor="hiss", seed=4)
    g = b.agent_says(0.5, GREETING)
    b.agent_says(g.end + 5.7, GREETING)
    busy = tone((450.0,), 0.35, 0.35, 24.0 - 1.0, rate, level_dbov=-13.8)
    extra = np.concatenate([np.zeros(100 * frame_len(rate)), busy])
    recs = replay(write_stereo(b, extra, tmp_path / "call.wav"), capsys)
    ends = [r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "agent"
            and r["condition"] == "silent"]
    prompts = [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]
    assert prompts == [(0.0, "greeting", 1), (round(ends[0] + 5, 3), "silent_line", 2),
                       (round(ends[1] + 5, 3), "silent_line", 3)]
    caller = [r for r in recs if r["event"] == "condition" and r["channel"] == "caller"]
    assert {r["condition"] for r in caller} == {"tone"}
    assert caller[-1]["tone_hz"] == [450] and caller[-1]["tone_kind"] == "busy"
    assert [r["reason"] for r in recs if r["event"] == "protocol_end"] == ["call_end"]


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_linphone_hang_up_tone_during_the_greeting_wait_is_not_an_answer(rate, tmp_path, capsys):
    """The linphone case: its 480 Hz 2 x 200 ms tone at -13.8 dBov, 2 s after the greeting."""
    b = CallBuilder(12.0, rate=rate, caller_floor="hiss", agent_floor="hiss", seed=6)
    g = b.agent_says(0.5, GREETING)
    fl = frame_len(rate)
    beep = tone((480.0,), 0.2, 0.2, 0.6, rate, level_dbov=-13.8)[: 60 * fl]
    start = round((g.end + 2.0) * 100) * fl
    extra = np.zeros(b.n)
    extra[start : start + beep.size] = beep
    recs = replay(write_stereo(b, extra, tmp_path / "call.wav"), capsys)
    end = next(r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "agent"
               and r["condition"] == "silent")
    prompts = [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]
    assert prompts == [(0.0, "greeting", 1), (round(end + 5, 3), "silent_line", 2)]
    caller = [(r["condition"], r.get("tone_hz"), r.get("tone_kind")) for r in recs if r["event"] == "condition"
              and r["channel"] == "caller"]
    # the kind is named once the second beep followed the first after a short gap
    assert caller == [("tone", [480], "unknown"), ("tone", [480], "congestion"), ("silent", None, None)]


@needs_speech
@pytest.mark.speech
@pytest.mark.parametrize("rate", RATES)
def test_ringback_before_answered_starts_no_ladder(rate, tmp_path, capsys):
    """CN ringback (450 Hz 1 s on / 4 s off) from the dial until the answer at 11 s; then the agent greets."""
    b = CallBuilder(26.0, rate=rate, caller_floor="comfort_noise", agent_floor="hiss", seed=5)
    g = b.agent_says(11.5, GREETING)
    ring = tone((450.0,), 1.0, 4.0, 10.5, rate, level_dbov=-16.0)  # bursts at 0.5, 5.5, 10.5 s
    extra = np.concatenate([np.zeros(50 * frame_len(rate)), ring, np.zeros(b.n - 50 * frame_len(rate) - ring.size)])
    b.call_event(0.0, "call_start")
    b.call_event(11.0, "answered")
    b.call_event(26.0, "call_end")
    recs = replay(write_stereo(b, extra, tmp_path / "call.wav"), capsys, b.write_events(tmp_path / "ev.jsonl"))
    prompts = [(r["t"], r["protocol"], r["step"]) for r in recs if r["event"] == "prompt"]
    ends = [r["since"] for r in recs if r["event"] == "condition" and r["channel"] == "agent"
            and r["condition"] == "silent"]
    assert abs(ends[0] - g.end) <= 0.25
    assert prompts == [(0.0, "greeting", 1), (11.0, "greeting", 1), (round(ends[0] + 5, 3), "silent_line", 2)]
    ringing = [r for r in recs if r["event"] == "protocol_end" and r["reason"] == "ringing"]
    assert len(ringing) == 1 and 0.5 < ringing[0]["t"] <= 1.5  # within the first ring
    kinds = [r["tone_kind"] for r in recs if r["event"] == "condition" and r.get("condition") == "tone"]
    assert kinds and kinds[-1] == "ringback"


def test_tone_info_is_a_value():
    assert ToneInfo((450,), "busy", 3) == ToneInfo((450,), "busy", 3)
