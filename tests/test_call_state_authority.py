"""One owner for the call state (issue 7 §4): the engine's table, which everybody else consults.

Before this, the engine moved closing -> active behind its own table's back and the overlay kept
its own state machine, so after the caller spoke during closing the overlay still read "closing";
the events-file checker and the live session's automatic call logic had rules of their own.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from callkit import RATE, utterance

from softphone_assist.audio.vad import WebRtcVad
from softphone_assist.core import timeline
from softphone_assist.core.callevents import load_call_events
from softphone_assist.core.errors import InputError
from softphone_assist.core.events import CALL_EVENT_KINDS, CallEvent, CallEventKind, CallStateChanged, ConditionChanged
from softphone_assist.core.pipeline import Pipeline
from softphone_assist.core.script import callstate
from softphone_assist.core.script.engine import IllegalEvent, ScriptEngine
from softphone_assist.core.script.loader import load_script
from softphone_assist.live.session import LiveSession
from softphone_assist.ui.overlay_state import OverlayState

START = datetime(2026, 11, 23, 14)


def pipeline() -> Pipeline:
    return Pipeline(RATE, load_script("zh-CN"), WebRtcVad, has_agent=False, call_started_at=START)


def test_the_overlay_is_active_again_after_the_caller_speaks_during_closing() -> None:
    """Real speech through the real pipeline and engine into the overlay's view model."""
    pipe = pipeline()
    pipe.schedule([CallEvent(0.0, "call_start"), CallEvent(2.0, "closing")])
    words = utterance("en_US_f_Allison/tt-monkeys")
    caller = np.concatenate([np.zeros(4 * RATE), words, np.zeros(2 * RATE)])
    overlay = OverlayState()
    updates = []
    for i in range(0, len(caller), 4800):  # 0.3 s blocks, as the live session feeds them
        for u in pipe.feed(caller[i:i + 4800]):
            overlay.apply(u)
            updates.append(u)
            if isinstance(u, CallEvent) and u.kind == "closing":
                assert overlay.view(u.t).call_state == "closing"
    moves = [(u.previous, u.state, u.cause) for u in updates if isinstance(u, CallStateChanged)]
    assert moves == [("idle", "active", "call_start"), ("active", "closing", "closing"),
                     ("closing", "active", "caller_spoke")]
    assert pipe.engine.call_state == "active"
    view = overlay.view()
    assert (view.call_state, view.call_state_text) == ("call", "通话中")
    # the record shows the engine's own move, once, after the caller's speech started
    spoke = next(u for u in updates if isinstance(u, CallStateChanged) and u.cause == "caller_spoke")
    assert 4.0 <= spoke.t <= 4.0 + 1.0
    lines = [line for u in updates if (line := timeline.to_jsonl(u)) is not None]
    moves_json = [json.loads(line) for line in lines if '"call_move"' in line]
    assert moves_json == [{"t": round(spoke.t, 3), "event": "call_move", "from": "closing", "to": "active",
                           "cause": "caller_spoke"}]
    assert timeline.to_text(spoke) == f"{spoke.t:8.2f}  call closing → active (the caller spoke)"


def test_every_move_the_engine_makes_is_reported_before_what_it_causes() -> None:
    engine = ScriptEngine(load_script("zh-CN"), START)
    out = engine.handle(CallEvent(0.0, "call_start"))
    assert isinstance(out[0], CallStateChanged) and (out[0].previous, out[0].state) == ("idle", "active")
    assert [type(a).__name__ for a in out[1:2]] == ["ShowPrompt"]  # the greeting after the move
    assert not [a for a in engine.handle(CallEvent(1.0, "answered")) if isinstance(a, CallStateChanged)]


def test_an_illegal_event_changes_nothing_not_even_the_engine_clock() -> None:
    engine = ScriptEngine(load_script("zh-CN"), START)
    engine.handle(CallEvent(0.0, "call_start"))
    due = engine.next_deadline()
    with pytest.raises(IllegalEvent):
        engine.handle(CallEvent(50.0, "resume"))  # far past the next deadline
    assert engine.call_state == "active" and engine._now == 0.0 and engine.next_deadline() == due


def _engine_after(kinds: list[CallEventKind]) -> ScriptEngine:
    engine = ScriptEngine(load_script("zh-CN"), START)
    for i, kind in enumerate(["call_start", *kinds]):
        engine.handle(CallEvent(float(i), kind))
    return engine


def _file_accepts(tmp_path: Path, kinds: list[str]) -> bool:
    path = tmp_path / "call.events.jsonl"
    path.write_text("".join(json.dumps({"t": i, "event": k}) + "\n" for i, k in enumerate(["call_start", *kinds])))
    try:
        load_call_events(path, 100.0)
    except InputError:
        return False
    return True


PREFIXES: list[list[CallEventKind]] = [[], ["hold"], ["closing"], ["hold", "resume"], ["closing", "hold"]]


@pytest.mark.parametrize("prefix", PREFIXES, ids=lambda p: "+".join(p) or "active")
def test_what_the_engine_refuses_an_events_file_may_not_hold(tmp_path: Path, prefix: list[CallEventKind]) -> None:
    for kind in CALL_EVENT_KINDS:
        engine = _engine_after(prefix)
        if engine.allows(kind):
            continue
        with pytest.raises(IllegalEvent):
            engine.handle(CallEvent(50.0, kind))
        assert not _file_accepts(tmp_path, [*prefix, kind]), (prefix, kind)


def test_the_checker_and_the_engine_read_the_same_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Take a move out of the one table: the engine and the events-file checker both refuse it."""
    assert _file_accepts(tmp_path, ["closing", "hold"])
    monkeypatch.delitem(callstate.CALL_TRANSITIONS, ("closing", "hold"))
    with pytest.raises(IllegalEvent):
        _engine_after(["closing", "hold"])
    path = tmp_path / "call.events.jsonl"
    path.write_text('{"t": 0, "event": "call_start"}\n{"t": 1, "event": "closing"}\n{"t": 2, "event": "hold"}\n')
    with pytest.raises(InputError, match=r":3: hold at 2 s: hold is not allowed while the call is closing"):
        load_call_events(path, 100.0)


class _NoAudio:
    def read_available(self) -> list:
        return []

    def problems(self) -> list[str]:
        return []


def test_the_automatic_call_logic_asks_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    session = LiveSession(pipeline=pipeline(), audio=_NoAudio())
    assert session._auto_allowed("call_start") and not session._auto_allowed("call_end")
    monkeypatch.delitem(callstate.CALL_TRANSITIONS, ("idle", "call_start"))
    assert not session._auto_allowed("call_start")  # no rule of its own says yes
    monkeypatch.undo()
    session.pipeline.engine.handle(CallEvent(0.0, "call_start"))
    assert session._auto_allowed("call_end") and not session._auto_allowed("call_start")
    session.pipeline.engine.handle(CallEvent(1.0, "hold"))
    assert not session._auto_allowed("call_end")  # legal, but never automatic on hold


def test_the_overlay_follows_the_engines_reported_state_not_its_own_reading() -> None:
    overlay = OverlayState()
    overlay.apply(CallStateChanged(0.0, "active", "idle", "call_start"))
    overlay.apply(CallStateChanged(1.0, "closing", "active", "closing"))
    overlay.apply(ConditionChanged(2.0, "caller", "speech", 2.0))
    assert overlay.view().call_state == "closing"  # a condition is not a move: the engine decides
    overlay.apply(CallStateChanged(2.0, "active", "closing", "caller_spoke"))
    assert overlay.view().call_state == "call"
    overlay.apply(CallEvent(3.0, "resume"))  # the table refuses it (not on hold): no change
    assert overlay.view().call_state == "call"
