"""The per-call timeline picture is drawn on one reused figure per process: a picture must show
only its own call, exactly as if drawn on a fresh figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from softphone_assist.audit import plots

BUSY = {
    "file": "/calls/busy.wav", "duration_s": 300.0,
    "lanes": {"agent": [[1.0, 4.0], [20.0, 26.0]], "caller": [[5.0, 15.0, "speech"], [30.0, 60.0, "noisy"],
                                                              [70.0, 80.0, "low_volume"]],
              "holds": [[100.0, 200.0]], "prompts": [[35.0, "noisy_line", 1], [220.0, "hold", 1]]},
    "violations": [{"rule": "dead_air", "t": 230.0, "duration": 12.0, "detail": "both silent"},
                   {"rule": "late_greeting", "t": 1.0, "detail": "first words at 1 s"}],
}
QUIET = {"file": "/calls/quiet.wav", "duration_s": 90.0,
         "lanes": {"agent": [[2.0, 5.0]], "caller": [], "holds": [], "prompts": []}, "violations": []}


@pytest.fixture
def fresh_canvas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "_canvas", None)


def _pixels(row: dict, path: Path) -> np.ndarray:
    return imread(plots.call_timeline(row, path))


def test_a_picture_drawn_after_another_call_shows_only_its_own_call(tmp_path: Path, fresh_canvas: None) -> None:
    alone = _pixels(QUIET, tmp_path / "alone.png")
    plots._canvas = None
    busy = _pixels(BUSY, tmp_path / "busy.png")
    after_busy = _pixels(QUIET, tmp_path / "after.png")
    assert not np.array_equal(busy, alone)  # the busy call's marks are there to leave behind
    assert np.array_equal(after_busy, alone)
    # and the busy call drawn again on the used canvas is the busy call, not a mix
    assert np.array_equal(_pixels(BUSY, tmp_path / "again.png"), busy)


def test_the_picture_uses_the_colours_the_report_legend_names(tmp_path: Path, fresh_canvas: None) -> None:
    rgb = (_pixels(BUSY, tmp_path / "busy.png")[..., :3] * 255).round().astype(int)
    seen = {tuple(p) for p in rgb.reshape(-1, 3)}
    for name, colour in plots.LEGEND:
        if name in ("on hold", "prompt (dotted)"):  # drawn translucent / as thin dotted lines
            continue
        want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert want in seen, name
