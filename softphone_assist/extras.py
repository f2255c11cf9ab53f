"""The optional `app` extra: which command needs which of its modules, and the one-line error without it.

`pip install softphone-assist` gives the core (replay, demo --timeline, log, call); the live commands
need `pip install 'softphone-assist[app]'`. A missing module is said before anything starts, naming
the extra, instead of a ModuleNotFoundError traceback from deep inside the live path.
"""

from __future__ import annotations

import importlib.util

from softphone_assist.core.errors import UserError

APP_EXTRA = "app"
# import name -> the distribution of the app extra that provides it (pyproject.toml's `app` list;
# tests/test_wheel.py checks the two agree)
APP_MODULES = {
    "sounddevice": "sounddevice",
    "PySide6": "PySide6-Essentials",
    "pyttsx3": "pyttsx3",
    "pynput": "pynput",
    "pyaudiowpatch": "PyAudioWPatch",
}
# what each command cannot do without; the rest of the extra degrades (no hotkeys without pynput,
# no voice without pyttsx3 unless --speak asks for it, no WASAPI loopback without PyAudioWPatch)
NEEDS = {
    "devices": ("sounddevice",),
    "listen": ("sounddevice",),
    "run": ("PySide6", "sounddevice"),
    "demo": ("PySide6",),  # the overlay only: --timeline, --jsonl and no display need none
}


class MissingExtraError(UserError):
    """A command needs a module of an optional extra that is not installed."""

    def __init__(self, command: str, module: str, extra: str = APP_EXTRA) -> None:
        self.command, self.module, self.extra = command, module, extra
        super().__init__(f"needs the '{extra}' extra (pip install 'softphone-assist[{extra}]'): "
                         f"module {module} is missing")

    def line(self) -> str:
        """What the CLI prints: `softphone-assist listen: needs the 'app' extra (…): module … is missing`."""
        return f"softphone-assist {self.command}: {self}"


def is_installed(module: str) -> bool:
    # find_spec locates without importing: PortAudio and Qt are not loaded just to check
    return importlib.util.find_spec(module) is not None


def require(command: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise MissingExtraError for the first of `modules` (default: what `command` needs) not installed."""
    for module in NEEDS.get(command, ()) if modules is None else modules:
        if not is_installed(module):
            raise MissingExtraError(command, module)


def from_import_error(command: str, exc: ModuleNotFoundError) -> MissingExtraError | None:
    """The same error for an app module that a command imported without `require` naming it first."""
    top = (exc.name or "").split(".")[0]
    return MissingExtraError(command, top) if top in APP_MODULES else None
