"""Local control channel: softphone hooks tell the running app about the call state.

- protocol: the wire format (one JSON object per line) and the call states.
- endpoint: where the app listens (a user-only AF_UNIX socket; 127.0.0.1 + token on Windows).
- client: `softphone-assist call hold` starts Python, sends one line and exits; MicroSIP waits for
  that process before it goes on, so the client path is stdlib only and nothing heavy.
- listener, server: the app's side; `IpcServer.poll()` runs from the main loop, starts no thread.

Every module here keeps logging, dataclasses and the engine's events out of its imports (they are
imported where the server or the engine needs them), so importing this package stays as light as
the client needs: the server's modules only add stdlib modules the client loads anyway.
"""

from softphone_assist.ipc.client import (
    IpcClientError,
    NotRunningError,
    call_main,
    run_call,
    send_call_command,
    send_request,
)
from softphone_assist.ipc.endpoint import (
    ENV_ENDPOINT,
    Endpoint,
    IpcSetupError,
    Transport,
    default_endpoint,
    default_transport,
    resolve_endpoint,
)
from softphone_assist.ipc.listener import AlreadyRunningError
from softphone_assist.ipc.protocol import BUSY, CALL_STATES, MAX_LINE_BYTES, MAX_NUMBER_CHARS, CallCommand
from softphone_assist.ipc.server import IpcServer

__all__ = [
    "BUSY",
    "CALL_STATES",
    "ENV_ENDPOINT",
    "MAX_LINE_BYTES",
    "MAX_NUMBER_CHARS",
    "AlreadyRunningError",
    "CallCommand",
    "Endpoint",
    "IpcClientError",
    "IpcServer",
    "IpcSetupError",
    "NotRunningError",
    "Transport",
    "call_main",
    "default_endpoint",
    "default_transport",
    "resolve_endpoint",
    "run_call",
    "send_call_command",
    "send_request",
]
