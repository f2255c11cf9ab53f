"""The report's pictures (matplotlib, Agg, no display): one timeline per call and the aggregates.

Figures are built with `matplotlib.figure.Figure` (no pyplot state), so plotting needs no GUI
backend and leaves nothing behind between calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from softphone_assist.audit.rules import RULES

CONDITION_COLOURS = {"speech": "#2b8a3e", "low_volume": "#f08c00", "noisy": "#c92a2a"}
AGENT_COLOUR = "#1c7ed6"
HOLD_COLOUR = "#adb5bd"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    tmp = path.with_name(path.name + ".tmp")
    # zlib level 1: a third of the CPU of the default level 6 for a picture ~10 % larger (bench_audit)
    fig.savefig(tmp, format="png", dpi=80, pil_kwargs={"compress_level": 1})
    tmp.replace(path)  # a report never points at a half-written picture
    return path


def call_timeline(row: dict[str, Any], path: Path) -> Path:
    """Agent and caller lanes, caller conditions coloured, holds shaded, prompts and violations marked."""
    lanes = row.get("lanes", {})
    dur = max(float(row.get("duration_s") or 0.0), 1.0)
    fig = Figure(figsize=(12, 2.2))
    ax = fig.add_axes((0.06, 0.25, 0.92, 0.6))
    for start, end in lanes.get("holds", []):
        ax.axvspan(start, end, color=HOLD_COLOUR, alpha=0.35, lw=0)
    ax.broken_barh([(s, e - s) for s, e in lanes.get("agent", [])], (1.1, 0.8), color=AGENT_COLOUR,
                   label="agent speech")
    for cond, colour in CONDITION_COLOURS.items():
        ax.broken_barh([(s, e - s) for s, e, c in lanes.get("caller", []) if c == cond], (0.1, 0.8), color=colour,
                       label=f"caller {cond}")
    # one artist per kind, not one per mark: a call with hundreds of prompts draws as fast as one with two
    prompts = [t for t, _protocol, _step in lanes.get("prompts", [])]
    if prompts:
        ax.vlines(prompts, 0.0, 2.0, color="#495057", lw=0.8, ls=":")
    violations = row.get("violations", [])
    if violations:
        ax.plot([v["t"] for v in violations], [2.25] * len(violations), "v", color="#e03131", ms=9)
        spans = [v for v in violations if v.get("duration")]
        if spans:
            ax.hlines([2.25] * len(spans), [v["t"] for v in spans], [v["t"] + v["duration"] for v in spans],
                      color="#e03131", lw=2)
    ax.set_xlim(0, dur)
    ax.set_ylim(-0.1, 2.5)
    ax.set_yticks([0.5, 1.5], ["caller", "agent"])
    ax.set_xlabel("seconds (dotted: prompts, red: violations, grey: on hold)")
    ax.set_title(Path(str(row.get("file", ""))).name, loc="left", fontsize=9)
    ax.legend(loc="lower right", fontsize=7, ncol=4, frameon=False, bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def dead_air_histogram(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    lengths = [v["duration"] for r in rows for v in r.get("violations", []) if v["rule"] == "dead_air"]
    fig = Figure(figsize=(6, 3.2))
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
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_axes((0.38, 0.18, 0.58, 0.72))
    ax.barh(names[::-1], [counts[n] for n in names[::-1]], color="#e8590c")
    ax.set_title("violations per rule")
    ax.set_xlabel("violations")
    return _save(fig, path)
