"""Hotkey backend callbacks -> Qt signals, on the GUI thread; degrading without a backend."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import logging
import sys
import threading
from collections.abc import Callable, Mapping

import pytest
from pytestqt.qtbot import QtBot

from softphone_assist.ui.hotkey_combos import DEFAULT_HOTKEYS, HotkeyError
from softphone_assist.ui.hotkeys import GlobalHotkeys, NullBackend, PynputBackend, default_backend


class FakeBackend:
    """Records what it was started with; `fire` is the backend's own callback."""

    name = "fake"

    def __init__(self) -> None:
        self.combos: dict[str, str] | None = None
        self.fire: Callable[[str], None] = lambda action: None
        self.starts = 0
        self.stops = 0

    def start(self, combos: Mapping[str, str], on_action: Callable[[str], None]) -> None:
        self.combos = dict(combos)
        self.fire = on_action
        self.starts += 1

    def stop(self) -> None:
        self.stops += 1


SIGNALS = {
    "speak": "speak_requested", "skip": "skip_requested", "snooze": "snooze_requested",
    "call_start": "call_start_requested", "hold": "hold_requested", "end": "end_requested",
}


@pytest.fixture
def keys(qtbot: QtBot) -> tuple[GlobalHotkeys, FakeBackend]:
    backend = FakeBackend()
    hk = GlobalHotkeys(backend=backend)
    hk.start()
    return hk, backend


def test_start_hands_pynput_combos_of_the_settings_keys_to_the_backend(
    keys: tuple[GlobalHotkeys, FakeBackend]
) -> None:
    hk, backend = keys
    assert hk.bindings == dict(DEFAULT_HOTKEYS)
    assert backend.combos is not None and backend.combos["speak"] == "<ctrl>+<alt>+s"
    assert set(backend.combos) == set(DEFAULT_HOTKEYS)
    assert hk.active


@pytest.mark.parametrize(("action", "signal"), SIGNALS.items())
def test_each_action_emits_its_signal(qtbot: QtBot, keys: tuple[GlobalHotkeys, FakeBackend], action: str,
                                      signal: str) -> None:
    hk, backend = keys
    others: list[str] = []
    for a, name in SIGNALS.items():
        if a != action:
            getattr(hk, name).connect(lambda a=a: others.append(a))
    with qtbot.waitSignal(getattr(hk, signal), timeout=1000), \
            qtbot.waitSignal(hk.triggered, timeout=1000, check_params_cb=lambda a: a == action):
        backend.fire(action)
    assert others == []


def test_callback_is_queued_not_run_inside_the_backend(
    qtbot: QtBot, keys: tuple[GlobalHotkeys, FakeBackend]
) -> None:
    hk, backend = keys
    seen: list[str] = []
    hk.speak_requested.connect(lambda: seen.append("speak"))
    backend.fire("speak")
    assert seen == []  # not yet: delivered by the event loop, so slots never run on pynput's thread
    qtbot.waitUntil(lambda: seen == ["speak"], timeout=1000)


def test_callback_from_another_thread_runs_slots_on_the_gui_thread(
    qtbot: QtBot, keys: tuple[GlobalHotkeys, FakeBackend]
) -> None:
    hk, backend = keys
    threads: list[threading.Thread] = []
    hk.skip_requested.connect(lambda: threads.append(threading.current_thread()))
    worker = threading.Thread(target=backend.fire, args=("skip",))
    with qtbot.waitSignal(hk.skip_requested, timeout=1000):
        worker.start()
        worker.join()
    assert threads == [threading.main_thread()]


def test_unknown_action_is_logged_and_ignored(qtbot: QtBot, keys: tuple[GlobalHotkeys, FakeBackend],
                                              caplog: pytest.LogCaptureFixture) -> None:
    hk, backend = keys
    fired: list[str] = []
    hk.triggered.connect(fired.append)
    with caplog.at_level(logging.WARNING):
        backend.fire("dial")
        qtbot.waitUntil(lambda: "unknown action 'dial'" in caplog.text, timeout=1000)
    assert fired == []


def test_rebind_restarts_with_new_combos_and_keeps_old_ones_on_error(
    keys: tuple[GlobalHotkeys, FakeBackend]
) -> None:
    hk, backend = keys
    hk.rebind({"speak": "F9", "skip": "Ctrl+Shift+F10"})
    assert backend.combos == {"speak": "<f9>", "skip": "<ctrl>+<shift>+<f10>"}
    assert (backend.starts, backend.stops) == (2, 1)
    with pytest.raises(HotkeyError, match=r"hotkeys\.skip: 'F9' is already used by hotkeys\.speak"):
        hk.rebind({"speak": "F9", "skip": "F9"})
    assert hk.bindings == {"speak": "F9", "skip": "Ctrl+Shift+F10"} and backend.starts == 2


def test_bad_bindings_raise_a_user_error(qtbot: QtBot) -> None:
    with pytest.raises(HotkeyError, match=r"^hotkeys\.speak: 's': needs a modifier"):
        GlobalHotkeys({"speak": "s"}, backend=FakeBackend())


def test_a_backend_that_fails_to_start_degrades_to_none(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(FakeBackend):
        def start(self, combos: Mapping[str, str], on_action: Callable[[str], None]) -> None:
            raise OSError("no X server")

    hk = GlobalHotkeys(backend=Broken())
    with caplog.at_level(logging.WARNING):
        hk.start()
    assert isinstance(hk.backend, NullBackend) and not hk.active
    assert "global hotkeys are off (fake backend failed: no X server)" in caplog.text


def test_without_pynput_the_default_backend_is_none_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "pynput", None)  # makes `from pynput import ...` raise ImportError
    with caplog.at_level(logging.WARNING):
        backend = default_backend()
    assert isinstance(backend, NullBackend)
    assert "global hotkeys are off (pynput unavailable" in caplog.text


def test_pynput_backend_registers_one_hotkey_per_bound_action() -> None:
    made: list[dict[str, Callable[[], None]]] = []

    class Listener:
        def __init__(self, hotkeys: dict[str, Callable[[], None]]) -> None:
            made.append(hotkeys)
            self.running = False

        def start(self) -> None:
            self.running = True

        def stop(self) -> None:
            self.running = False

    class FakeKeyboard:
        GlobalHotKeys = Listener

    backend = PynputBackend(FakeKeyboard)
    fired: list[str] = []
    backend.start({"speak": "<f9>", "skip": ""}, fired.append)
    assert list(made[0]) == ["<f9>"]  # unbound actions are not registered
    made[0]["<f9>"]()
    assert fired == ["speak"]
    backend.stop()
    assert backend._listener is None
