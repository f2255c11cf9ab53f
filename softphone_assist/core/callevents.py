"""Call-state events for replay: what a softphone would have reported during a recorded call.

File format (``softphone-assist replay CALL.wav --events CALL.events.jsonl``): UTF-8 text (a BOM
is fine), one JSON object per line, blank lines and lines starting with ``#`` ignored::

    {"t": 0.0, "event": "call_start"}
    {"t": 1.5, "event": "answered"}
    {"t": 40, "event": "hold"}
    {"t": 95.2, "event": "resume"}
    {"t": 180, "event": "closing"}
    {"t": 188.4, "event": "call_end"}

Each object has exactly the keys ``t`` (stream seconds: a finite number >= 0) and ``event`` (one
of CALL_EVENT_KINDS). Any other key is an error, so a typo does not pass unnoticed.

Order rules (a line that breaks one is an InputError naming ``FILE:LINE``):
- every event must be a move that the script engine's call-state table allows from the state
  the events before it lead to (script/callstate.py: the one rule book, which the engine
  applies to the same events): ``hold`` only when not on hold, ``resume`` only when on hold,
  ``closing`` (may repeat: the customer can bring up something else) not while on hold,
  ``call_end`` from any state of a call (the caller may hang up on hold);
- and, for a file of one call: times never decrease (equal times are fine and keep file order);
  ``call_start`` at most once, and only as the first event (without one, the call is taken as
  started at 0 s); ``answered`` at most once, before any hold, resume or closing (it may be left
  out); nothing after ``call_end``.

Completion: without a ``call_start`` one is added at 0 s; without a ``call_end`` one is added
at the end of the audio; added events have source "auto", events from the file "file".

Events after the end of the audio are a warning, not an error: a truncated recording is replayed
as far as it goes, so its events file must still load. They are dropped (the replay never reaches
them) and a dropped ``call_end`` is replaced by one at the end of the audio. An event less than
1 ms past the end (the precision of the JSONL output) is moved to the end instead.

Pure: stdlib, the records in `events` and the call-state table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from softphone_assist.core import safejson
from softphone_assist.core.errors import InputError
from softphone_assist.core.events import CALL_EVENT_KINDS, CallEvent, CallEventKind, CallState
from softphone_assist.core.script.callstate import next_call_state, refusal

_KEYS = ("t", "event")
_END_TOLERANCE_S = 0.001


@dataclass(frozen=True)
class CallEvents:
    """The events of one call in time order, and one line per non-fatal problem (FILE:LINE: ...)."""

    events: list[CallEvent]
    warnings: list[str] = field(default_factory=list)


def default_call_events(duration_s: float) -> CallEvents:
    """No events file: the call starts with the audio and ends with it."""
    _check_duration(duration_s)
    return CallEvents([CallEvent(0.0, "call_start", "auto"), CallEvent(duration_s, "call_end", "auto")])


def load_call_events(path: str | Path, duration_s: float) -> CallEvents:
    """Read and check an events file for audio `duration_s` seconds long; InputError on any bad line."""
    _check_duration(duration_s)
    p = Path(path)
    text = _read_text(p)
    checker = _SequenceChecker(p)
    parsed: list[tuple[int, CallEvent]] = []
    for lineno, line in enumerate(text.split("\n"), start=1):  # line numbers as editors count them
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        event = _parse_line(f"{p}:{lineno}", stripped)
        checker.check(lineno, event)
        parsed.append((lineno, event))
    return _complete(p, parsed, duration_s)


def _check_duration(duration_s: float) -> None:
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s!r}")


def _read_text(p: Path) -> str:
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not an events file")
    try:
        raw = p.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a BOM from Windows editors is fine
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{p}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x})") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _parse_line(where: str, line: str) -> CallEvent:
    try:
        obj = safejson.loads(line, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
    except ValueError as e:  # from _no_duplicate_keys, or safejson's nesting limit
        raise InputError(f"{where}: {e}") from None
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object like {{\"t\": 1.5, \"event\": \"hold\"}}, "
                         f"got {type(obj).__name__}")
    unknown = [k for k in obj if k not in _KEYS]
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (an event has exactly the keys t and event)")
    for key in _KEYS:
        if key not in obj:
            raise InputError(f"{where}: missing key {key!r}")
    t = obj["t"]
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise InputError(f"{where}: t must be a number of seconds, got {json.dumps(t)}")
    if not math.isfinite(t) or t < 0:
        raise InputError(f"{where}: t must be a finite number >= 0, got {t}")
    kind = obj["event"]
    if kind not in CALL_EVENT_KINDS:
        raise InputError(f"{where}: unknown event {json.dumps(kind)} (known: {', '.join(CALL_EVENT_KINDS)})")
    return CallEvent(float(t), kind, "file")


class _SequenceChecker:
    """The order rules of the module docstring, one event at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._count = 0
        self._last_t = 0.0
        self._seen: dict[CallEventKind, int] = {}  # kind -> line of its latest occurrence
        self._hold_line: int | None = None  # line of the hold in force
        self._state: CallState = "idle"  # as the engine's table moves it

    def check(self, lineno: int, ev: CallEvent) -> None:
        where = f"{self._path}:{lineno}"
        problem = self._problem(ev)
        if problem:
            raise InputError(f"{where}: {ev.kind} at {ev.t:g} s: {problem}")
        if self._state == "idle" and ev.kind != "call_start":
            self._state = "active"  # the call_start added at 0 s (module doc)
        self._state = next_call_state(self._state, ev.kind) or self._state
        self._count += 1
        self._last_t = ev.t
        self._seen[ev.kind] = lineno
        if ev.kind == "hold":
            self._hold_line = lineno
        elif ev.kind == "resume":
            self._hold_line = None

    def _problem(self, ev: CallEvent) -> str | None:
        seen = self._seen
        if "call_end" in seen:
            return f"comes after call_end (line {seen['call_end']}); nothing may follow the end of the call"
        if ev.t < self._last_t:
            return f"time goes backwards (the previous event is at {self._last_t:g} s)"
        if ev.kind == "call_start" and self._count:
            return "call_start must be the first event"
        if ev.kind == "answered" and "answered" in seen:
            return f"the call was already answered (line {seen['answered']})"
        if ev.kind == "answered" and any(k in seen for k in ("hold", "resume", "closing")):
            return "answered must come before any hold, resume or closing"
        state: CallState = "active" if self._state == "idle" and ev.kind != "call_start" else self._state
        if next_call_state(state, ev.kind) is not None:
            return None
        # the table says no; say why in the file's terms where there is a clearer way to put it
        if ev.kind == "hold" and self._hold_line is not None:
            return f"the call is already on hold (line {self._hold_line})"
        if ev.kind == "resume" and self._hold_line is None:
            return "resume without a hold before it"
        if self._hold_line is not None:
            return f"the call is on hold (line {self._hold_line}); resume it first"
        return refusal(state, ev.kind)


def _complete(p: Path, parsed: list[tuple[int, CallEvent]], duration_s: float) -> CallEvents:
    """Add the implied call_start/call_end and deal with events after the end of the audio."""
    events: list[CallEvent] = []
    warnings: list[str] = []
    for lineno, ev in parsed:
        if ev.t > duration_s + _END_TOLERANCE_S:
            warnings.append(f"{p}:{lineno}: {ev.kind} at {ev.t:g} s is after the end of the audio "
                            f"({duration_s:.3f} s); ignored")
            continue
        events.append(CallEvent(duration_s, ev.kind, ev.source) if ev.t > duration_s else ev)
    if not events or events[0].kind != "call_start":
        events.insert(0, CallEvent(0.0, "call_start", "auto"))
    if events[-1].kind != "call_end":
        events.append(CallEvent(duration_s, "call_end", "auto"))
    return CallEvents(events, warnings)
