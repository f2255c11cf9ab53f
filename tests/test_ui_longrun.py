"""The overlay survives a working day of refreshes.

PySide6 6.12.0 decrefs None on every void method call (setText, setEnabled, …). On Python 3.11, where
None is not immortal, the overlay's 33 refreshes a second brought None's count to zero and the
process died with "Fatal Python error: none_dealloc" within about a minute. pyproject pins PySide6
below 6.12; this test fails if a version with that bug comes back.
"""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
from softphone_assist.core.events import Meter, ShowPrompt
from softphone_assist.ui.overlay import OverlayWindow
app = QApplication([])
w = OverlayWindow()
before = sys.getrefcount(None)
for i in range(20000):
    w.apply_all([Meter(i * 0.03, -30.0 - i % 7, -40.0),
                 ShowPrompt(i * 0.03, "low_volume", 1 + i % 4, 4, f"line {i % 3}", "客户声音小")], now=i * 0.03)
print(sys.getrefcount(None) - before)
"""


def test_twenty_thousand_refreshes_leave_none_alone():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert abs(int(res.stdout.strip().splitlines()[-1])) < 1000
