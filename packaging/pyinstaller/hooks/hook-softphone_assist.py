# The app imports some of its modules by name at run time (the TTS engine factory
# "softphone_assist.speech.engine:Pyttsx3Engine" is resolved with importlib in the worker
# process), and many imports are lazy, inside functions. Collect every submodule so that no
# command finds a module missing in the frozen app. (The wheel's `softphone_assist._resources`
# data folder is not a module and is not collected: the spec adds resources/ itself.)
#
# Data files inside the package (the caller detector's shipped weights,
# detect/caller_noise_model.json) are collected too: the same files the wheel's package-data
# lists, so the frozen app never lacks one the source tree has (tests/test_bundle.py checks).
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

hiddenimports = collect_submodules("softphone_assist")
# (not _resources/: the build venv's wheel has it too, and the spec already puts resources/ at the top)
datas = collect_data_files("softphone_assist", excludes=["**/__pycache__", "**/*.pyc", "py.typed", "_resources/**"])
