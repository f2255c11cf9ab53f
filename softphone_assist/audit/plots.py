"""The report's pictures (matplotlib, Agg, no display): one timeline per call and the aggregates.

Figures are built with `matplotlib.figure.Figure` (no pyplot state), so plotting needs no GUI
backend. The per-call timeline reuses one figure per process (a worker draws hundreds); the
aggregates are drawn once per report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from softphone_assist.audit.rules import RULES

CONDITION_COLOURS = {"speech": "#2b8a3e", "low_volume": "#f08c00", "noisy": "#c92a2a"}
AGENT_COLOUR = "#1c7ed6"
HOLD_COLOUR = "#adb5bd"
PROMPT_COLOUR = "#495057"
VIOLATION_COLOUR = "#e03131"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    # zlib level 1: a third of the CPU of the default level 6 for a picture ~10 % larger (bench_audit)
    fig.savefig(tmp, format="png", dpi=80, pil_kwargs={"compress_level": 1})
    tmp.replace(path)  # a report never points at a half-written picture
    return path


LEGEND = (("agent speech", AGENT_COLOUR), *((f"caller {c}", colour) for c, colour in CONDITION_COLOURS.items()),
          ("on hold", HOLD_COLOUR), ("prompt (dotted)", PROMPT_COLOUR), ("violation", VIOLATION_COLOUR))


class _TimelineCanvas:
    """One figure per process, redrawn for every call: only the call's own marks and the time axis
    change. Building a figure and its axes, and a legend and title in every picture, were two thirds
    of a picture's ~75 ms of CPU (bench/bench_audit.py); the report shows the legend once (LEGEND)
    and the file name above each picture."""

    def __init__(self) -> None:
        self.fig = _figure(12, 1.6)
        self.ax = self.fig.add_axes((0.05, 0.2, 0.93, 0.75))
        self.ax.set_ylim(-0.1, 2.5)
        self.ax.set_yticks([0.5, 1.5], ["caller", "agent"])
        self.marks: list[Artist] = []

    def draw(self, row: dict[str, Any], path: Path) -> Path:
        for mark in self.marks:
            mark.remove()
        ax, lanes = self.ax, row.get("lanes", {})
        marks: list[Artist] = [ax.axvspan(start, end, color=HOLD_COLOUR, alpha=0.35, lw=0)
                               for start, end in lanes.get("holds", [])]
        marks.append(ax.broken_barh([(s, e - s) for s, e in lanes.get("agent", [])], (1.1, 0.8),
                                    color=AGENT_COLOUR))
        marks += [ax.broken_barh([(s, e - s) for s, e, c in lanes.get("caller", []) if c == cond], (0.1, 0.8),
                                 color=colour) for cond, colour in CONDITION_COLOURS.items()]
        # one artist per kind, not one per mark: a call with hundreds of prompts draws as fast as one with two
        prompts = [t for t, _protocol, _step in lanes.get("prompts", [])]
        if prompts:
            marks.append(ax.vlines(prompts, 0.0, 2.0, color=PROMPT_COLOUR, lw=0.8, ls=":"))
        violations = row.get("violations", [])
        if violations:
            marks += ax.plot([v["t"] for v in violations], [2.25] * len(violations), "v", color=VIOLATION_COLOUR,
                             ms=9)
            spans = [v for v in violations if v.get("duration")]
            if spans:
                marks.append(ax.hlines([2.25] * len(spans), [v["t"] for v in spans],
                                       [v["t"] + v["duration"] for v in spans], color=VIOLATION_COLOUR, lw=2))
        self.marks = marks
        ax.set_xlim(0, max(float(row.get("duration_s") or 0.0), 1.0))
        return _save(self.fig, path)


_canvas: _TimelineCanvas | None = None


def call_timeline(row: dict[str, Any], path: Path) -> Path:
    """Agent and caller lanes, caller conditions coloured, holds shaded, prompts and violations marked;
    the x axis is seconds from the start of the file. Not thread-safe (one canvas per process)."""
    global _canvas
    if _canvas is None:
        _canvas = _TimelineCanvas()
    return _canvas.draw(row, path)


def dead_air_histogram(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    lengths = [v["duration"] for r in rows for v in r.get("violations", []) if v["rule"] == "dead_air"]
    fig = _figure(6, 3.2)
    ax = fig.add_axes((0.12, 0.18, 0.84, 0.72))
    if lengths:
        ax.hist(lengths, bins=min(30, max(5, len(lengths) // 3)), color="#5c7cfa")
    else:
        ax.text(0.5, 0.5, "no dead air", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("dead-air lengths")
    ax.set_xlabel("seconds")
    ax.set_ylabel("times")
    return _save(fig, path)


def violations_per_rule(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    counts = Counter(v["rule"] for r in rows for v in r.get("violations", []))
    names = list(RULES)
    fig = _figure(6, 3.2)
    ax = fig.add_axes((0.38, 0.18, 0.58, 0.72))
    ax.barh(names[::-1], [counts[n] for n in names[::-1]], color="#e8590c")
    ax.set_title("violations per rule")
    ax.set_xlabel("violations")
    return _save(fig, path)
