"""Global hotkeys for speak / skip / snooze and call start / hold / end.

The overlay never has focus, so QShortcut (which fires only in the focused application) is no
use: the agent presses the keys while typing in the softphone. A global backend is needed;
`pynput` provides one on X11, Windows and macOS (not on Wayland, where no client may snoop
the keyboard). Without a usable backend the app still runs: a warning is logged and the
overlay buttons, tray and softphone hooks remain.

Thread model: pynput calls back on its own listener thread. `GlobalHotkeys.on_backend_action`
only emits a private signal wired with a QueuedConnection, so the public signals are emitted
and their slots run on the GUI thread, never on the listener thread.

Bindings are the settings' key text ("Ctrl+Alt+S", `HotkeySettings`); `hotkey_combos.py`
(Qt-free) checks them and turns them into pynput's combos ("<ctrl>+<alt>+s").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot

from softphone_assist.ui.hotkey_combos import DEFAULT_HOTKEYS, check_hotkeys

log = logging.getLogger(__name__)


class HotkeyBackend(Protocol):
    name: str

    def start(self, combos: Mapping[str, str], on_action: Callable[[str], None]) -> None:
        """Listen for `combos` (action -> pynput combo, "" = unbound); call on_action(action)."""
        ...

    def stop(self) -> None: ...


class NullBackend:
    """No global hotkeys: the buttons, tray and softphone hooks still work."""

    name = "none"

    def start(self, combos: Mapping[str, str], on_action: Callable[[str], None]) -> None:
        pass

    def stop(self) -> None:
        pass


class PynputBackend:
    """pynput's GlobalHotKeys listener; `on_action` is called on pynput's thread."""

    name = "pynput"

    def __init__(self, keyboard_module: Any) -> None:
        self._keyboard = keyboard_module
        self._listener: Any = None

    def start(self, combos: Mapping[str, str], on_action: Callable[[str], None]) -> None:
        self.stop()
        hotkeys = {combo: _bind(on_action, action) for action, combo in combos.items() if combo}
        if hotkeys:
            self._listener = self._keyboard.GlobalHotKeys(hotkeys)
            self._listener.start()

    def stop(self) -> None:
        if self._listener is not None:
            # No join: on X11 the listener thread (a daemon) only notices the stop at the next
            # key event, so waiting here would freeze the GUI until the agent types something.
            self._listener.stop()
            self._listener = None


def _bind(on_action: Callable[[str], None], action: str) -> Callable[[], None]:
    return lambda: on_action(action)


def default_backend() -> HotkeyBackend:
    """pynput when it can reach the keyboard (it needs an X display on Linux), else NullBackend."""
    try:
        from pynput import keyboard  # optional: import fails without a display or on Wayland-only
    except Exception as e:  # ImportError, or Xlib errors from its platform probe
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        log.warning("global hotkeys are off (pynput unavailable: %s); use the overlay buttons", first)
        return NullBackend()
    return PynputBackend(keyboard)


class GlobalHotkeys(QObject):
    speak_requested = Signal()
    skip_requested = Signal()
    snooze_requested = Signal()
    call_start_requested = Signal()
    hold_requested = Signal()
    end_requested = Signal()
    triggered = Signal(str)  # every action, for logging
    _relay = Signal(str)  # crosses from the backend's thread to this object's (the GUI) thread

    def __init__(
        self,
        bindings: Mapping[str, str] | None = None,
        backend: HotkeyBackend | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bindings = dict(DEFAULT_HOTKEYS if bindings is None else bindings)  # settings' key text
        self.combos = check_hotkeys(self.bindings)  # what the backend listens for
        self.backend: HotkeyBackend = backend if backend is not None else default_backend()
        self._relay.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._signals = {
            "speak": self.speak_requested, "skip": self.skip_requested, "snooze": self.snooze_requested,
            "call_start": self.call_start_requested, "hold": self.hold_requested, "end": self.end_requested,
        }

    @property
    def active(self) -> bool:
        """False when there is no global backend (the app may say so in settings)."""
        return not isinstance(self.backend, NullBackend)

    def start(self) -> None:
        try:
            self.backend.start(self.combos, self.on_backend_action)
        except Exception as e:  # a listener that cannot start must not take the app down
            log.warning("global hotkeys are off (%s backend failed: %s)", self.backend.name, e)
            self.backend = NullBackend()

    def stop(self) -> None:
        self.backend.stop()

    def rebind(self, bindings: Mapping[str, str]) -> None:
        """New key text from the settings; raises HotkeyError and keeps the old keys if bad."""
        self.combos = check_hotkeys(bindings)
        self.bindings = dict(bindings)
        self.stop()
        self.start()

    def on_backend_action(self, action: str) -> None:
        """The backend's callback; safe to call from any thread."""
        self._relay.emit(action)

    @Slot(str)
    def _dispatch(self, action: str) -> None:
        signal = self._signals.get(action)
        if signal is None:
            log.warning("hotkey backend reported unknown action %r", action)
            return
        self.triggered.emit(action)
        signal.emit()
