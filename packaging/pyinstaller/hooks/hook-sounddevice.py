# Overrides the hook of pyinstaller-hooks-contrib. On Windows and macOS the sounddevice wheel ships
# PortAudio in _sounddevice_data/ and we collect it like the contrib hook does. On Linux the wheel has
# no PortAudio; the contrib hook would copy whatever libportaudio the build host has into the bundle
# root, where sounddevice never looks (it calls ctypes.util.find_library("portaudio"), which asks the
# system's ldconfig cache). So on Linux nothing is bundled and libportaudio2 is a package dependency
# (see README-bundle.md).
import pathlib
import sys

from PyInstaller.utils.hooks import get_module_file_attribute

binaries: list[tuple[str, str]] = []
datas: list[tuple[str, str]] = []

_module_dir = pathlib.Path(get_module_file_attribute("sounddevice")).parent
_data_dir = _module_dir / "_sounddevice_data" / "portaudio-binaries"
if not sys.platform.startswith("linux") and _data_dir.is_dir():
    _dest = str(_data_dir.relative_to(_module_dir))
    binaries = [(str(p), _dest) for p in _data_dir.glob("libportaudio*.*")]
    datas = [(str(p), _dest) for p in _data_dir.glob("README.md")]
