"""Errors a user can fix: the CLI prints their message on one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input, file or option. The message names the file, key or option and the problem."""


class InputError(UserError):
    """An audio file or events file cannot be used."""


class ScriptError(UserError):
    """A script file (resources/scripts/*.toml) is broken: the message names file, key, problem."""
