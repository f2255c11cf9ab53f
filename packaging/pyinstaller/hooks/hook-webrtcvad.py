# Overrides the hook of pyinstaller-hooks-contrib, which calls copy_metadata("webrtcvad") and aborts
# the build: the distribution we install is `webrtcvad-wheels` (same `webrtcvad` module).
# webrtcvad.py reads its __version__ with importlib.metadata.version("webrtcvad-wheels"), so that
# distribution's metadata is what the frozen app needs.
from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("webrtcvad-wheels")
