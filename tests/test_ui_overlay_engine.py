"""The view model driven by the real script engine: the ring reaches 0 when the next line is due."""

from __future__ import annotations

from datetime import datetime

from softphone_assist.core.events import Action, CallEvent, MayHangUp, ShowPrompt
from softphone_assist.core.script.engine import ScriptEngine
from softphone_assist.core.script.loader import load_script
from softphone_assist.ui.overlay_state import OverlayState, OverlayView


def silent_call(until: float) -> tuple[list[Action], dict[float, OverlayView]]:
    """A call nobody answers, stepped every 0.1 s of stream time; every view on the way."""
    engine = ScriptEngine(load_script("zh-CN"), datetime(2026, 11, 23, 14, 0, 0))
    state = OverlayState()
    start = CallEvent(0.0, "call_start")
    state.apply(start)
    actions = engine.handle(start)
    for a in actions:
        state.apply(a)
    views = {0.0: state.view(0.0)}
    for i in range(1, round(until * 10) + 1):
        t = i / 10
        new = engine.advance(t)
        for a in new:
            state.apply(a)
        actions += new
        views[t] = state.view(t)
    return actions, views


def test_the_ring_counts_down_to_each_next_line_and_ends_in_may_hang_up() -> None:
    actions, views = silent_call(40.0)
    prompts = [a for a in actions if isinstance(a, ShowPrompt)]
    hang_up = [a for a in actions if isinstance(a, MayHangUp)]
    assert [p.step for p in prompts] == [1, 2, 3] and len(hang_up) == 1
    due_times = [p.t for p in prompts[1:]] + [hang_up[0].t]
    for shown, due in zip(prompts, due_times, strict=True):
        view = views[round(due - 1.0, 1)]  # one second before the next step
        assert view.line == shown.text
        assert view.countdown is not None and not view.countdown.waiting_for_line
        assert (view.countdown.seconds_text, view.countdown.remaining_s) == ("1", 1.0)
        at_prompt = views[round(shown.t, 1)]
        assert at_prompt.countdown is not None and at_prompt.countdown.fraction == 1.0
    assert views[round(prompts[1].t, 1)].title == "无声电话 2/3"
    end = views[40.0]
    assert (end.mode, end.may_hang_up, end.countdown) == ("may_hang_up", "可以挂机了", None)
    assert end.line == prompts[-1].text
