"""The wire format both ends share: call states, line limits, request parsing and reply lines.

One JSON object per line (UTF-8, "\\n"), at most `MAX_LINE_BYTES` per line:
    request  {"cmd": "call", "state": "hold", "number": "10086"}   ("number" optional)
             {"cmd": "ping"}
    reply    {"ok": true}  or  {"ok": false, "error": "..."}  (error BUSY: not handled, send again)
Unknown keys in a request are ignored, so an older app accepts a newer client's requests.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from softphone_assist.core import safejson

if TYPE_CHECKING:
    import logging

    from softphone_assist.core.events import CallEvent, CallEventKind

CALL_STATES: tuple[str, ...] = ("start", "answered", "hold", "resume", "closing", "end")
_EVENT_KIND: dict[str, CallEventKind] = {
    "start": "call_start", "answered": "answered", "hold": "hold",
    "resume": "resume", "closing": "closing", "end": "call_end",
}
MAX_LINE_BYTES = 4096  # a request line longer than this (without its "\n") is refused
MAX_NUMBER_CHARS = 128
BUSY = "busy: too many connections; try again"  # the client retries this one within its timeout


def log() -> logging.Logger:
    """The channel's one logger, whichever module speaks; logging is imported only when used."""
    import logging

    return logging.getLogger("softphone_assist.ipc")


class CallCommand(NamedTuple):
    """One call-state message from a softphone hook: `state` is a word of CALL_STATES.

    A NamedTuple rather than a dataclass: immutable all the same, and it keeps dataclasses
    (and inspect) out of the hook client's start-up.
    """

    state: str
    number: str | None = None

    @property
    def kind(self) -> CallEventKind:
        return _EVENT_KIND[self.state]

    def to_event(self, t: float) -> CallEvent:
        """The engine's input, stamped with the stream time at which the app received it."""
        from softphone_assist.core.events import CallEvent

        return CallEvent(t=t, kind=self.kind, source="ipc")


class BadRequest(Exception):
    """A request the server answers with {"ok": false}; the message is the reply's error text."""


def _clean_number(number: Any) -> str | None:
    if number is None:
        return None
    if not isinstance(number, str):
        raise BadRequest(f"number must be a string, got {type(number).__name__}")
    number = number.strip()
    if len(number) > MAX_NUMBER_CHARS:
        raise BadRequest(f"number is longer than {MAX_NUMBER_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in number):
        raise BadRequest("number contains control characters")
    return number or None


def parse_request(line: bytes, token: str | None) -> CallCommand | None:
    """A call command, or None for a ping; raises BadRequest with the reply's error text."""
    try:
        msg = safejson.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("request is not UTF-8") from None
    except safejson.JsonNestingError as e:
        raise BadRequest(f"request refused: {e}") from None
    except ValueError:
        raise BadRequest("request is not JSON") from None
    if not isinstance(msg, dict):
        raise BadRequest("request must be a JSON object")
    if token is not None:
        import hmac  # only the tcp transport has tokens

        given = msg.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
            raise BadRequest("missing or wrong token")
    cmd = msg.get("cmd")
    if cmd == "ping":
        return None
    if cmd != "call":
        raise BadRequest(f"unknown cmd {cmd!r} (expected 'call' or 'ping')")
    state = msg.get("state")
    if state not in CALL_STATES:
        raise BadRequest(f"unknown state {state!r} (expected one of {', '.join(CALL_STATES)})")
    return CallCommand(state=state, number=_clean_number(msg.get("number")))


def reply_line(ok: bool, error: str | None = None) -> bytes:
    body: dict[str, Any] = {"ok": True} if ok else {"ok": False, "error": error}
    return json.dumps(body, ensure_ascii=False).encode() + b"\n"
