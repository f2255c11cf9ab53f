"""PyInstaller entry point of the frozen softphone-assist (all OSes).

`freeze_support()` must run before anything else: the TTS render worker is a "spawn"
multiprocessing child, and in a frozen app that child is this same executable started with
`--multiprocessing-fork` (PyInstaller's multiprocessing runtime hook makes freeze_support()
handle that on Linux and macOS too, not only on Windows). Without it the child would parse
the fork arguments as a softphone-assist command line.

A windowed executable (`softphone-assist-gui.exe` on Windows, the macOS `.app` started from
Finder or a LaunchAgent) has no console: `sys.stdout`/`sys.stderr` are None, and the first
warning or user error would raise instead of being shown. Those streams go to a log file in
the user's log folder instead, so IT still has the app's messages to look at.
"""

import multiprocessing
import sys


def _log_streams_without_console() -> None:
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        from pathlib import Path

        from platformdirs import user_log_dir

        folder = Path(user_log_dir("softphone-assist", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        log = open(folder / "softphone-assist.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    except OSError:
        import os

        log = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = log
    if sys.stderr is None:
        sys.stderr = log


if __name__ == "__main__":
    multiprocessing.freeze_support()
    _log_streams_without_console()
    from softphone_assist.cli import main

    raise SystemExit(main())
