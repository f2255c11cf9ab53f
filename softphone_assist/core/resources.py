"""Where the top-level `resources/` folder (scripts, demo calls) is, however the app was installed.

Looked for in this order, the first folder that holds `scripts/` wins:
1. the folder named by the environment variable SOFTPHONE_ASSIST_RESOURCES (must be valid if set:
   a mistyped override should fail loudly, not fall back to the bundled files);
2. the data package `softphone_assist._resources` (a wheel: pyproject.toml maps `resources/` to it);
3. `<repo>/resources` next to the package (a source checkout or editable install);
4. `sys._MEIPASS/resources` (a PyInstaller bundle);
5. `<sys.prefix>/share/softphone-assist/resources` (installed as data files).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from softphone_assist.core.errors import UserError

ENV_VAR = "SOFTPHONE_ASSIST_RESOURCES"
MARKER = "scripts"  # every real resources folder has it; a stray "resources" dir does not
DATA_PACKAGE = "softphone_assist._resources"


def _data_package_dirs() -> list[Path]:
    """The folder(s) of the wheel's data package; none in a source checkout, which has no such folder.

    A namespace package (the folder has no __init__.py), so it is located, never imported for code.
    """
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return []
    return [Path(p) for p in spec.submodule_search_locations]


def candidate_dirs() -> list[Path]:
    """The fallback places, in order (without the environment variable)."""
    candidates = _data_package_dirs()
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(Path(sys.prefix) / "share" / "softphone-assist" / "resources")
    return candidates


def resources_dir() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override).expanduser()
        if not (path / MARKER).is_dir():
            raise UserError(f"{ENV_VAR}={override}: no {MARKER}/ folder there; point it at the folder "
                            f"that holds {MARKER}/ or unset it")
        return path
    candidates = candidate_dirs()
    for path in candidates:
        if (path / MARKER).is_dir():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise UserError(f"resources folder not found (looked in {looked}); reinstall softphone-assist or set "
                    f"{ENV_VAR} to the folder that holds {MARKER}/")
