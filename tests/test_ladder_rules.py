"""The ladders as a rule table (issue 7 §4): the engine reads what starts, ends and supersedes each
ladder from `LADDER_RULES`, not from conditions on protocol names of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from softphone_assist.core.events import Action, CallEvent, ConditionChanged, ProtocolEnded, ShowPrompt
from softphone_assist.core.script.engine import ScriptEngine
from softphone_assist.core.script.ladder_rules import LADDER_RULES, SELF_STARTERS
from softphone_assist.core.script.loader import load_script


def noisy_call(until: float) -> list[Action]:
    """Call start, then a noisy caller line from 1 s that goes silent at 8 s (condition_persist_s = 2)."""
    engine = ScriptEngine(load_script("zh-CN"), datetime(2026, 11, 23, 14))
    out = engine.handle(CallEvent(0.0, "call_start"))
    out += engine.advance(1.0)
    out += engine.handle(ConditionChanged(1.0, "caller", "noisy", 1.0))
    out += engine.advance(8.0)
    out += engine.handle(ConditionChanged(8.0, "caller", "silent", 8.0))
    return out + engine.advance(until)


def story(actions: list[Action]) -> list[tuple]:
    return [(a.t, "prompt", a.protocol, a.step) if isinstance(a, ShowPrompt) else (a.t, "end", a.protocol, a.reason)
            for a in actions if isinstance(a, ShowPrompt | ProtocolEnded)]


def test_a_noisy_line_supersedes_the_greeting_and_ends_when_the_line_goes_silent() -> None:
    assert story(noisy_call(10.5)) == [
        (0.0, "prompt", "greeting", 1), (3.0, "end", "greeting", "superseded"), (3.0, "prompt", "noisy_line", 1),
        (10.0, "end", "noisy_line", "resolved"),
    ]


def test_what_a_ladder_may_supersede_is_read_from_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LADDER_RULES, "noisy_line", replace(LADDER_RULES["noisy_line"], supersedes=frozenset()))
    got = story(noisy_call(10.5))
    assert got[0] == (0.0, "prompt", "greeting", 1) and "noisy_line" not in {x[2] for x in got}
    assert ("end", "greeting", "superseded") not in {x[1:] for x in got}


def test_what_ends_a_ladder_is_read_from_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LADDER_RULES, "noisy_line", replace(LADDER_RULES["noisy_line"], ended_by_silence=False))
    assert (10.0, "end", "noisy_line", "resolved") not in story(noisy_call(10.5))


def test_every_protocol_of_the_standard_has_a_rule_and_only_its_own_start() -> None:
    assert set(LADDER_RULES) == {"silent_line", "caller_silent", "dead_air", "low_volume", "noisy_line", "hold",
                                 "closing"}
    assert SELF_STARTERS == ("caller_silent", "dead_air", "low_volume", "noisy_line")
    assert all(r.start_states for p, r in LADDER_RULES.items() if p in SELF_STARTERS)
