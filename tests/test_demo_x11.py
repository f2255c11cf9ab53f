"""One real window: `softphone-assist demo` under Xvfb + openbox, beside a focused "softphone" window.

Takes a screenshot of the whole screen once the overlay shows a ladder prompt (kept as a test
artefact in test-artifacts/demo_overlay.png), then checks with Xlib that the overlay is
_NET_WM_STATE_ABOVE and that the softphone window kept the focus.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from test_ui_x11 import needs_x, x_display  # Xvfb + openbox, shared with the overlay's own X11 tests

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
pytestmark = needs_x
__all__ = ["x_display"]  # the fixture is used by name


def _softphone_window(d, X):  # type: ignore[no-untyped-def]
    """A plain top-level window standing in for the softphone, given the input focus."""
    screen = d.screen()
    win = screen.root.create_window(20, 20, 600, 400, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
                                    background_pixel=screen.white_pixel,
                                    event_mask=X.ExposureMask | X.FocusChangeMask)
    win.set_wm_name("softphone")
    win.map()
    d.sync()
    for _ in range(200):  # until the WM has mapped it (bounded)
        if win.get_attributes().map_state == X.IsViewable:
            break
        time.sleep(0.02)
    win.set_input_focus(X.RevertToParent, X.CurrentTime)
    d.sync()
    return win


def _screenshot(d, path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    root = d.screen().root
    geo = root.get_geometry()
    raw = root.get_image(0, 0, geo.width, geo.height, 2, 0xFFFFFFFF).data  # ZPixmap, BGRX
    QImage(raw, geo.width, geo.height, QImage.Format.Format_RGB32).copy().save(str(path))


def _find(d, name: str):  # type: ignore[no-untyped-def]
    """The window whose _NET_WM_NAME (UTF-8, as Qt sets it) is `name`."""
    net_name = d.intern_atom("_NET_WM_NAME")

    def walk(w):  # type: ignore[no-untyped-def]
        try:
            prop = w.get_full_property(net_name, 0)
            if prop is not None and bytes(prop.value).decode("utf-8", "replace") == name:
                return w
            for c in w.query_tree().children:
                if (hit := walk(c)) is not None:
                    return hit
        except Exception:
            return None
        return None

    return walk(d.screen().root)


def test_demo_overlay_is_on_top_and_never_takes_focus(x_display: str, tmp_path: Path):
    display = x_display
    from Xlib import X
    from Xlib import display as xdisplay

    ARTIFACTS.mkdir(exist_ok=True)
    d = xdisplay.Display(display)
    phone = _softphone_window(d, X)
    active_atom = d.intern_atom("_NET_ACTIVE_WINDOW")
    shot = tmp_path / "overlay.png"
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "SOFTPHONE_ASSIST_CONFIG": str(tmp_path / "none.toml"), "XDG_CONFIG_HOME": str(tmp_path)}
    app = subprocess.Popen([sys.executable, "-m", "softphone_assist", "demo", "--speed", "4",
                            "--screenshot", str(shot)], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the overlay saved its own grab after the first ladder prompt
            if shot.exists() or app.poll() is not None:
                break
            time.sleep(0.05)
        assert shot.exists(), app.stderr.read() if app.poll() is not None else "no overlay grab"
        time.sleep(0.3)
        _screenshot(d, ARTIFACTS / "demo_screen.png")
        shutil.copy(shot, ARTIFACTS / "demo_overlay.png")
        overlay = _find(d, "通话助手")  # the overlay's window title (zh-CN UI strings)
        assert overlay is not None, "overlay window not found by name"
        frame = overlay
        state = d.intern_atom("_NET_WM_STATE")
        above = d.intern_atom("_NET_WM_STATE_ABOVE")
        props = frame.get_full_property(state, X.AnyPropertyType)
        assert props is not None and above in props.value
        focus = d.get_input_focus().focus
        assert focus == phone or getattr(focus, "id", None) == phone.id
        active = d.screen().root.get_full_property(active_atom, X.AnyPropertyType)
        assert active is None or active.value[0] in (0, phone.id)
    finally:
        app.terminate()
        app.wait(timeout=20)
        d.close()
    assert (ARTIFACTS / "demo_screen.png").stat().st_size > 10_000
