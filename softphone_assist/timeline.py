"""Turn pipeline updates into output: JSONL for machines, a readable timeline for people."""

from __future__ import annotations

import json
from typing import Any

from softphone_assist.events import (
    CallEvent,
    ConditionChanged,
    MayHangUp,
    ProtocolEnded,
    ShowPrompt,
    Update,
)

# Deadline and Meter updates feed the overlay only; they are not part of the JSONL contract.
JSONL_TYPES = (ConditionChanged, CallEvent, ShowPrompt, MayHangUp, ProtocolEnded)

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


def to_jsonl(update: Update) -> str | None:
    if not isinstance(update, JSONL_TYPES):
        return None
    record: dict[str, Any] = update.to_json()
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def _db(x: float | None, unit: str = "dBov") -> str:
    return "—" if x is None else f"{x:.1f} {unit}"


def to_text(update: Update) -> str | None:
    """One readable line (or two, for a prompt's never-say line) per update; None to skip it."""
    if isinstance(update, CallEvent):
        return f"{update.t:8.2f}  call {update.kind.replace('_', ' ')}" + (
            f"  ({update.source})" if update.source != "file" else "")
    if isinstance(update, ConditionChanged):
        s = update.stats
        why = ""
        if update.channel == "caller":
            why = f"   level {_db(s.speech_dbov if s.speech_dbov is not None else s.level_dbov)}, " \
                  f"noise {_db(s.noise_dbov)}, SNR {_db(s.snr_db, 'dB')}"
        since = f" (since {update.since:.2f})" if abs(update.since - update.t) >= 0.005 else ""
        return f"{update.t:8.2f}  {update.channel:<6}  {update.condition}{since}{why}"
    if isinstance(update, ShowPrompt):
        head = f"{update.t:8.2f}  ▶ {update.title} {update.step}/{update.steps} [{update.protocol}]  {update.text}"
        extra = []
        if update.hint:
            extra.append(f"{'':10}  hint: {update.hint}")
        if update.never_say:
            extra.append(f"{'':10}  never say: {update.never_say}")
        return "\n".join([head, *extra])
    if isinstance(update, MayHangUp):
        note = f" — {update.note}" if update.note else ""
        return f"{update.t:8.2f}  ✓ the agent may hang up now [{update.protocol}]{note}"
    if isinstance(update, ProtocolEnded):
        return f"{update.t:8.2f}  ■ {update.protocol} ended: {_REASONS.get(update.reason, update.reason)}"
    return None
