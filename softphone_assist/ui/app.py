"""The desktop app: overlay + tray + hotkeys around a LiveSession, pumped by one QTimer.

One bridge timer (every 200 ms at most, sooner when a prompt is due; a hook connecting to the IPC
socket wakes it at once) drains the audio, runs the pipeline and paints the overlay; the
overlay's buttons, the global hotkeys and the tray only call `LiveSession.request`. Nothing in
the core knows about Qt.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from softphone_assist.core.errors import UserError
from softphone_assist.core.events import ShowPrompt
from softphone_assist.live.session import LiveSession
from softphone_assist.settings.layers import Settings, save_user_settings
from softphone_assist.ui.hotkey_combos import HotkeyError
from softphone_assist.ui.hotkeys import GlobalHotkeys
from softphone_assist.ui.overlay import OverlayWindow
from softphone_assist.ui.tray import make_tray

log = logging.getLogger("softphone_assist.ui")
# At most 200 ms between pumps (LiveSession.wait_s: sooner for a prompt's deadline): the capture
# delivers 100 ms blocks and the pipeline takes 500 ms chunks, and wake-ups are most of the app's
# idle CPU (bench/bench_live_cpu.py --app run). A button or hook is fed at the next pump.
TICK_MS = 200
HOOK_POLL_MS = 20  # while a hook's connection is open: its request line is read at once


def _save_position(x: int, y: int) -> None:
    try:
        save_user_settings({"overlay": {"x": x, "y": y}})
    except (UserError, OSError) as e:  # a read-only profile must not break dragging
        log.warning("could not remember the overlay position: %s", e)


def run_app(session: LiveSession, settings: Settings, *, done: Callable[[], bool] | None = None,
            linger_s: float = 3.0, screenshot: Path | None = None,
            on_tick: Callable[[LiveSession], None] | None = None, notes: Sequence[str] = (),
            notes_s: float = 20.0, tick_ms: int = TICK_MS) -> int:
    """Show the overlay and pump the session until the user quits (or `done()` says so).

    `notes` (e.g. settings that were invalid and fell back to their defaults) show in the overlay's
    banner for the first `notes_s` seconds, beside any device problem."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    overlay = OverlayWindow(locale=settings.locale, opacity=settings.overlay.opacity,
                            calm_hide_after_s=settings.overlay.calm_hide_after_s,
                            on_position_changed=_save_position)
    if settings.overlay.x is not None and settings.overlay.y is not None:
        overlay.restore_position(settings.overlay.x, settings.overlay.y)
    overlay.set_click_through(settings.overlay.click_through)

    def hold_or_resume() -> None:
        session.request("resume" if session.pipeline.engine.call_state == "on_hold" else "hold", "button")

    for qt_signal, what in ((overlay.speak_requested, "speak"), (overlay.skip_requested, "skip"),
                         (overlay.snooze_requested, "snooze"), (overlay.call_start_requested, "start"),
                         (overlay.end_requested, "end")):
        qt_signal.connect(lambda what=what: session.request(what, "button"))
    overlay.hold_requested.connect(hold_or_resume)

    hotkeys: GlobalHotkeys | None = None
    try:
        hotkeys = GlobalHotkeys({k: v for k, v in asdict(settings.hotkeys).items() if v})
        for qt_signal, what in ((hotkeys.speak_requested, "speak"), (hotkeys.skip_requested, "skip"),
                             (hotkeys.snooze_requested, "snooze"), (hotkeys.call_start_requested, "start"),
                             (hotkeys.end_requested, "end")):
            qt_signal.connect(lambda what=what: session.request(what, "hotkey"))
        hotkeys.hold_requested.connect(hold_or_resume)
        hotkeys.start()
    except HotkeyError as e:
        log.warning("global hotkeys are off: %s", e)

    def open_settings() -> None:
        from softphone_assist.audio.backends import list_devices
        from softphone_assist.ui.settings_dialog import edit_settings

        def device_names() -> list[str]:
            try:
                return [d.name for d in list_devices()]
            except Exception as e:  # a broken sound server must not stop the dialog
                log.warning("could not list devices: %s", e)
                return []

        edit_settings(settings, locale=settings.locale, list_devices=device_names, save=save_user_settings)

    tray = make_tray(settings.locale)
    if tray is not None:
        tray.quit_requested.connect(app.quit)
        tray.show_overlay_toggled.connect(overlay.set_enabled)
        tray.click_through_toggled.connect(overlay.set_click_through)
        tray.settings_requested.connect(open_settings)

    finished_at: list[float] = []
    shot_taken: list[bool] = []

    def tick() -> None:
        updates = session.pump()
        now = session.pipeline.t
        shown = [*session.problems, *((*notes, *session.notes) if now < notes_s else ())]
        overlay.apply_all(updates, now=now, device_problem="; ".join(shown))  # one redraw per pump
        if on_tick is not None:
            on_tick(session)
        if screenshot is not None and not shot_taken and any(
                isinstance(u, ShowPrompt) and u.protocol != "greeting" for u in updates):
            QTimer.singleShot(300, lambda: overlay.grab().save(str(screenshot)))
            shot_taken.append(True)
        if done is not None and not finished_at and done():
            finished_at.append(now)
            QTimer.singleShot(int(linger_s * 1000), app.quit)

    # Ctrl-C or a logout's SIGTERM: quit through the event loop, so the call log and devices close
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.quit())

    timer = QTimer()
    timer.setSingleShot(True)  # re-armed after each pump for as long as there is nothing to do

    def pump_and_rearm() -> None:
        tick()
        busy = bool(getattr(session.commands, "has_clients", False))
        timer.start(HOOK_POLL_MS if busy else round(session.wait_s(tick_ms / 1000) * 1000))

    def pump_now() -> None:
        timer.stop()
        pump_and_rearm()

    timer.timeout.connect(pump_and_rearm)
    timer.start(0)
    hook_door = None  # kept referenced while the app runs
    fileno = getattr(session.commands, "fileno", None)
    if fileno is not None and fileno() >= 0:
        hook_door = QSocketNotifier(fileno(), QSocketNotifier.Type.Read)  # a hook connects: pump now
        hook_door.activated.connect(lambda *_: pump_now())
    overlay.refresh(0.0)
    shown_file = os.environ.get("SOFTPHONE_ASSIST_SHOWN_FILE")  # for bench_live.py: time to first show
    if shown_file:
        def mark_shown() -> None:
            if overlay.isVisible():
                Path(shown_file).touch()

        QTimer.singleShot(0, mark_shown)
    try:
        return app.exec()
    finally:
        timer.stop()
        if hotkeys is not None:
            hotkeys.stop()
