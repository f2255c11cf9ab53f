"""Real X11 windows under Xvfb + openbox: focus, stay-on-top, WM hints, pynput global hotkeys.

The offscreen platform activates every window it shows (qoffscreenwindow.cpp), so "the overlay
never takes focus" can only be checked with a real X server and a window manager. Each window
check runs in a child process on the xcb platform (this module run as a script, see `probe`)
and prints what it saw as JSON; a plain Qt tool window is probed the same way as a control,
to show the harness does catch focus theft and covering.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the in-process tests; probes use xcb

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

XVFB = shutil.which("Xvfb")
OPENBOX = shutil.which("openbox")
REPO = Path(__file__).resolve().parents[1]

needs_x = pytest.mark.skipif(
    not (XVFB and OPENBOX), reason="needs Xvfb and openbox (apt-get install xvfb openbox)"
)


def _wait_for_wm(display: str, deadline_s: float = 20.0) -> None:
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    check = d.intern_atom("_NET_SUPPORTING_WM_CHECK")
    end = time.monotonic() + deadline_s  # a start-up limit, not a measured duration
    try:
        while time.monotonic() < end:
            if d.screen().root.get_full_property(check, X.AnyPropertyType) is not None:
                return
            time.sleep(0.05)
    finally:
        d.close()
    raise RuntimeError("openbox did not start")


@pytest.fixture(scope="module")
def x_display() -> Iterator[str]:
    pytest.importorskip("Xlib", reason="python-xlib (comes with pynput) is needed to drive X")
    assert XVFB and OPENBOX
    r, w = os.pipe()
    xvfb = subprocess.Popen([XVFB, "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as ready:
        display = ":" + ready.readline().strip()  # Xvfb writes its number once it accepts clients
    wm = subprocess.Popen([OPENBOX, "--sm-disable"], env={**os.environ, "DISPLAY": display},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_wm(display)
        yield display
    finally:
        for p in (wm, xvfb):
            p.terminate()
            p.wait(timeout=10)


def run_probe(display: str, kind: str, shot: Path) -> dict[str, Any]:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, __file__, kind, str(shot)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@needs_x
def test_overlay_never_takes_focus_and_stays_on_top(x_display: str, tmp_path: Path) -> None:
    o = run_probe(x_display, "overlay", tmp_path / "overlay_x11.png")
    assert o["softphone_active_after_show"], "showing the overlay activated it"
    assert o["clicked"], "the skip button did not emit"
    assert o["softphone_active_after_click"] and o["typing_kept_focus"], "clicking the overlay took focus"
    assert "_NET_WM_STATE_ABOVE" in o["net_wm_state"]
    assert o["wm_hints_input"] is False  # WindowDoesNotAcceptFocus: the WM must not give it input
    assert max(o["card_pixel"]) < 60, "the raised softphone covered the overlay"  # dark card, not grey 240
    assert (tmp_path / "overlay_x11.png").stat().st_size > 0


@needs_x
def test_control_tool_window_does_take_focus_and_gets_covered(x_display: str, tmp_path: Path) -> None:
    """Without the overlay's flags the same harness sees focus theft and covering."""
    c = run_probe(x_display, "control", tmp_path / "control_x11.png")
    assert c["clicked"]
    assert not c["softphone_active_after_click"] and not c["typing_kept_focus"]
    assert "_NET_WM_STATE_ABOVE" not in c["net_wm_state"]
    assert min(c["card_pixel"]) > 200  # the softphone's grey, over the dark control window


@needs_x
def test_pynput_hotkeys_reach_the_gui_thread(
    qtbot: Any, x_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", x_display)
    from Xlib import XK, X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    from softphone_assist.ui.hotkeys import GlobalHotkeys, PynputBackend, default_backend

    backend = default_backend()
    assert isinstance(backend, PynputBackend)
    keys = GlobalHotkeys({"speak": "Ctrl+Alt+S", "skip": "F9"}, backend=backend)
    seen: list[tuple[str, threading.Thread]] = []
    keys.speak_requested.connect(lambda: seen.append(("speak", threading.current_thread())))
    keys.skip_requested.connect(lambda: seen.append(("skip", threading.current_thread())))
    keys.start()
    listener = backend._listener
    listener.wait()  # the listener is recording
    d = xdisplay.Display(x_display)

    def press(*names: str) -> None:
        codes = [d.keysym_to_keycode(XK.string_to_keysym(n)) for n in names]
        for code in codes:
            xtest.fake_input(d, X.KeyPress, code)
        for code in reversed(codes):
            xtest.fake_input(d, X.KeyRelease, code)
        d.sync()

    try:
        with qtbot.waitSignal(keys.speak_requested, timeout=5000):
            press("Control_L", "Alt_L", "s")
        with qtbot.waitSignal(keys.skip_requested, timeout=5000):
            press("F9")
        press("s")  # plain typing: no hotkey
        qtbot.wait(200)
    finally:
        keys.stop()
        press("Control_L", "Alt_L", "s")  # pynput's X11 listener sees its stop only at the next event
        listener.join(5)
        qtbot.wait(200)
        d.close()
    assert not listener.is_alive()  # and that last key, a hotkey, fired nothing after stop()
    assert seen == [("speak", threading.main_thread()), ("skip", threading.main_thread())]


# ------------------------------------------------------------------------------------------------
# The probe: run as `python test_ui_x11.py overlay|control SHOT.png` with QT_QPA_PLATFORM=xcb.
# ------------------------------------------------------------------------------------------------
def probe(kind: str, shot: str) -> dict[str, Any]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QVBoxLayout, QWidget
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    from softphone_assist.core.events import CallEvent, ConditionChanged, LineStats, Meter, ShowPrompt
    from softphone_assist.ui.overlay import OverlayWindow

    app = QApplication([])

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    softphone = QWidget()
    softphone.setWindowTitle("softphone")
    softphone.setStyleSheet("background: rgb(240, 240, 240);")
    typing = QLineEdit()
    QVBoxLayout(softphone).addWidget(typing)
    softphone.setGeometry(300, 200, 600, 400)
    softphone.show()
    spin(0.5)
    softphone.activateWindow()
    typing.setFocus()
    spin(0.5)

    clicked: list[bool] = []
    target: QWidget
    if kind == "overlay":
        overlay = OverlayWindow()
        overlay.skip_requested.connect(lambda: clicked.append(True))
        overlay.apply_all([
            CallEvent(0.0, "call_start"),
            ConditionChanged(5.4, "caller", "silent", 0.4, LineStats(level_dbov=-63.0, noise_dbov=-66.0)),
            ShowPrompt(7.5, "silent_line", 2, 3, "上午好，星河通信很高兴为您服务", "无声电话",
                       never_say="喂，说话呀！再不说话我就挂机了！"),
            Meter(9.0, -28.0, -41.0),
        ], now=9.0)
        overlay.move(340, 240)
        target, button = overlay, overlay.skip_button
    else:
        target = QWidget(None, Qt.WindowType.Tool)
        target.setStyleSheet("background: rgb(22, 25, 31);")
        button = QPushButton("skip", target)
        button.clicked.connect(lambda: clicked.append(True))
        QVBoxLayout(target).addWidget(button)
        target.setGeometry(340, 240, 300, 150)
        target.show()
    spin(1.0)
    result: dict[str, Any] = {"softphone_active_after_show": QApplication.activeWindow() is softphone}

    d = xdisplay.Display()
    window = d.create_resource_object("window", int(target.winId()))
    state = window.get_full_property(d.intern_atom("_NET_WM_STATE"), X.AnyPropertyType)
    result["net_wm_state"] = [d.get_atom_name(a) for a in (state.value if state else [])]
    hints = window.get_wm_hints()
    result["wm_hints_input"] = bool(hints.input) if hints and hints.flags & 1 else None  # InputHint

    c = button.mapToGlobal(button.rect().center())
    xtest.fake_input(d, X.MotionNotify, x=c.x(), y=c.y())
    d.sync()
    spin(0.2)
    xtest.fake_input(d, X.ButtonPress, 1)
    d.sync()
    spin(0.1)
    xtest.fake_input(d, X.ButtonRelease, 1)
    d.sync()
    spin(1.0)
    result["clicked"] = bool(clicked)
    result["softphone_active_after_click"] = QApplication.activeWindow() is softphone
    result["typing_kept_focus"] = QApplication.focusWidget() is typing

    # The agent clicks into the softphone: it is raised over where the overlay sits.
    softphone.raise_()
    softphone.activateWindow()
    spin(1.0)
    spot = target.mapToGlobal(QPoint(6, target.height() // 2))  # card background, left margin
    screen = QGuiApplication.primaryScreen()
    image = screen.grabWindow(0).toImage()
    image.save(shot)
    pixel = image.pixelColor(spot)
    result["card_pixel"] = [pixel.red(), pixel.green(), pixel.blue()]
    d.close()
    return result


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], sys.argv[2])))
