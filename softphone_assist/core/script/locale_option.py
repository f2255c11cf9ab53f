"""The `--locale` option's value: a shipped locale, or a call centre's own script file.

Its own module so that every command that takes --locale (replay, demo, listen, audit, check) checks
it the same way without importing the CLI's other commands.
"""

from __future__ import annotations

from softphone_assist.core.errors import UserError
from softphone_assist.core.script.loader import available_locales, load_script


def check_locale(locale: str) -> None:
    """A shipped locale, or a call centre's own script file (FILE.toml), which is validated here."""
    if locale.endswith(".toml"):
        load_script(locale)  # a broken file: ScriptError naming the file, line, key and problem
        return
    known = available_locales()
    if locale not in known:
        raise UserError(f"--locale: unknown locale {locale!r} (available: {', '.join(known)}, "
                        f"or a script file such as my-centre.toml)")
