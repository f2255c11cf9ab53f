"""Errors of the text-to-speech side. All are UserErrors: the message says what failed and what to do."""

from __future__ import annotations

from softphone_assist.core.errors import UserError


class TtsError(UserError):
    """A line could not be rendered or spoken; the message names the line, voice or setting."""


class TtsEngineStuck(TtsError):
    """The engine is in a state it may not recover from (a hang, a setting that did not take):
    the worker process is replaced after reporting it."""


class TtsWorkerError(TtsError):
    """The render worker process failed, hung or died; it has been restarted for the next job."""
