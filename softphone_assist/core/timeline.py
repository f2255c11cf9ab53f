"""Turn pipeline updates into output: JSONL for machines, a readable timeline for people."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeGuard

from softphone_assist.core.events import (
    CallEvent,
    CallStateChanged,
    CoachHint,
    ConditionChanged,
    MayHangUp,
    NoAudio,
    ProtocolEnded,
    ShowPrompt,
    Update,
)

# Deadline and Meter updates feed the overlay only; they are not part of the JSONL contract.
JSONL_TYPES = (ConditionChanged, CallEvent, ShowPrompt, MayHangUp, ProtocolEnded, NoAudio, CoachHint,
               CallStateChanged)

_REASONS = {
    "caller_spoke": "the caller spoke",
    "resolved": "resolved",
    "call_end": "the call ended",
    "hold": "call put on hold",
    "closing": "closing",
    "superseded": "superseded by another ladder",
    "skipped": "skipped by the agent",
    "snoozed": "snoozed for this call",
}


JsonlUpdate = (ConditionChanged | CallEvent | ShowPrompt | MayHangUp | ProtocolEnded | NoAudio | CoachHint
               | CallStateChanged)


def in_record(update: Update) -> TypeGuard[JsonlUpdate]:
    """Whether the update is part of the record (JSONL, call log). A call-state move appears only
    when the engine made it on its own ("call_move": closing -> active when the caller spoke); a
    move caused by a call-state event is that event's "call_state" record already."""
    if isinstance(update, CallStateChanged):
        return update.cause == "caller_spoke"
    return isinstance(update, JSONL_TYPES)


def to_jsonl(update: Update) -> str | None:
    if not isinstance(update, JSONL_TYPES) or not in_record(update):
        return None
    record: dict[str, Any] = update.to_json()
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def _db(x: float | None, unit: str = "dBov") -> str:
    return "—" if x is None else f"{x:.1f} {unit}"


def _words(tag: str) -> str:
    return tag.replace("_", " ")


def record_lines(record: Mapping[str, Any]) -> list[str]:
    """One record of the JSONL contract as readable text, without its time: the first line, then
    detail lines (indented). The one renderer of the timeline (`replay`, `listen`) and of the call
    log (`log`), which stores these records. `title` (a prompt) and `text` (a coach hint) are the
    display-only fields to_text adds; a logged record has neither and reads without them."""
    r = record
    ev = r.get("event")
    if ev == "call_state":
        src = r.get("source")
        return [f"call {_words(str(r.get('state')))}" + (f"  ({src})" if src and src != "file" else "")]
    if ev == "condition":
        why = ""
        if r.get("channel") == "caller":
            speech = r.get("speech_dbov")
            why = f"   level {_db(speech if speech is not None else r.get('level_dbov'))}, " \
                  f"noise {_db(r.get('noise_dbov'))}, SNR {_db(r.get('snr_db'), 'dB')}"
        t, since = r.get("t"), r.get("since")
        shown = isinstance(since, int | float) and isinstance(t, int | float) and abs(since - t) >= 0.005
        return [f"{r.get('channel')!s:<6}  {r.get('condition')}" + (f" (since {since:.2f})" if shown else "") + why]
    if ev == "prompt":
        title = f"{r['title']} " if r.get("title") else ""
        lines = [f"▶ {title}{r.get('step')}/{r.get('steps')} [{r.get('protocol')}]  {r.get('text')}"]
        lines += [f"  hint: {r['hint']}"] if r.get("hint") else []
        return lines + ([f"  never say: {r['never_say']}"] if r.get("never_say") else [])
    if ev == "may_hang_up":
        note = f" — {r['note']}" if r.get("note") else ""
        return [f"✓ the agent may hang up now [{r.get('protocol')}]{note}"]
    if ev == "no_audio":
        if r.get("state") == "end":
            return [f"{r.get('channel')!s:<6}  audio back (none for {r.get('lost_s', 0.0):.2f} s)"]
        return [f"{r.get('channel')!s:<6}  no audio (device gone)"]
    if ev == "call_move":
        why = " (the caller spoke)" if r.get("cause") == "caller_spoke" else ""
        return [f"call {_words(str(r.get('from')))} → {_words(str(r.get('to')))}{why}"]
    if ev == "coach" and r.get("text"):
        return [f"coach [{r.get('kind')}]  {r['text']}"]
    if ev == "protocol_end":
        reason = str(r.get("reason"))
        return [f"■ {r.get('protocol')} ended: {_REASONS.get(reason, reason)}"]
    rest = {k: v for k, v in r.items() if k not in ("event", "t")}
    return [f"{ev}: {json.dumps(rest, ensure_ascii=False)}"]


def to_text(update: Update) -> str | None:
    """One readable line (or more, for a prompt's hint and never-say lines) per update; None to skip it."""
    if not (in_record(update) and isinstance(update, JSONL_TYPES)):
        return None
    record: dict[str, Any] = update.to_json()
    if isinstance(update, ShowPrompt):
        record["title"] = update.title  # the JSONL leaves the display name out; the reader wants it
    elif isinstance(update, CoachHint):
        record["text"] = update.text
    first, *more = record_lines(record)
    return "\n".join([f"{update.t:8.2f}  {first}", *(f"{'':10}{m}" for m in more)])
