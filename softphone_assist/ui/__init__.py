"""The agent-facing shell: overlay, settings dialog, tray icon, global hotkeys.

This package is the only home of Qt (PySide6). Importing the package itself stays light and
Qt-free so that `overlay_state`, `strings`, `settings_model` and the hotkey-combo checks can be
used and tested without a display; the Qt modules are imported by name where they are needed:

    from softphone_assist.ui.overlay import OverlayWindow
"""
