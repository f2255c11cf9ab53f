"""The frozen one-folder bundle (packaging/build-bundle) starts and behaves as the source tree does.

The test works on a snapshot of the checkout (its files copied to a temporary folder), so edits made
to the checkout while it runs cannot mix two versions: the bundle is built from the snapshot, and
the "from source" runs import the snapshot's package. build-bundle caches bundles by the hash of
their inputs outside the checkout, so a snapshot of an unchanged tree reuses the checkout's cached
bundle (the first build takes about a minute). The bundle runs from the snapshot's dist/ - a copy, not
where PyInstaller made it - with an environment that has no Python, venv or checkout on it
(PATH=/usr/bin:/bin, empty HOME and config dirs). The .deb tests (tests/test_deb.py) run the same
bundle in a clean Debian root without Python.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from test_tts_support import ZH_LINE, rms_dbfs, speech_span

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
SNAPSHOT_SKIP = (".git", ".venv", "dist", "build", "test-artifacts", "__pycache__", "*.egg-info", ".mypy_cache",
                 ".ruff_cache", ".pytest_cache", "*.pyc")
START = "2026-02-17T09:30:00"  # the greeting depends on the time of day: fix it for byte-equal output
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot") / "softphone-assist"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(*SNAPSHOT_SKIP), symlinks=True)
    return root


def build_bundle(snapshot: Path) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(snapshot / "packaging" / "build-bundle")], capture_output=True, text=True,
                         timeout=1800)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.splitlines()[-1] == str(snapshot / "dist" / "bundle" / "softphone-assist")
    return res


@pytest.fixture(scope="module")
def built(snapshot: Path) -> Path:
    res = build_bundle(snapshot)
    assert "build-bundle: built " in res.stderr or "build-bundle: reused the cached bundle" in res.stderr
    return snapshot / "dist" / "bundle" / "softphone-assist"


@pytest.fixture(scope="module")
def exe(built: Path) -> Path:
    return built / "softphone-assist"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def source_cli(snapshot: Path, home: Path) -> tuple[list[str], dict[str, str]]:
    """`softphone-assist` from source - the snapshot's package run by the dev venv's Python."""
    env = {**os.environ, **clean_env(home, PATH=os.environ["PATH"]), "PYTHONPATH": str(snapshot)}
    where = subprocess.run([sys.executable, "-c", "import softphone_assist; print(softphone_assist.__file__)"],
                           env=env, cwd=snapshot, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(snapshot / "softphone_assist" / "__init__.py")
    return [sys.executable, "-m", "softphone_assist"], env


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """No venv, no PYTHONPATH, no user or machine settings of this host leaking in."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CACHE_HOME": str(home / ".cache"), "XDG_RUNTIME_DIR": str(home), **extra}


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=TIMEOUT_S)
    assert res.returncode == 0, (cmd, res.stderr.decode(errors="replace")[-2000:])
    return res


def test_build_bundle_reuses_its_cache_when_nothing_changed(snapshot: Path, built: Path) -> None:
    digest = (built / ".build-inputs-sha256").read_text()
    res = build_bundle(snapshot)
    assert "build-bundle: reused the cached bundle" in res.stderr
    assert "build-bundle: built " not in res.stderr
    assert (built / ".build-inputs-sha256").read_text() == digest


def test_bundle_carries_qt_xcb_and_resources_but_not_the_system_libraries(built: Path, snapshot: Path) -> None:
    internal = built / "_internal"
    plugins = internal / "PySide6" / "Qt" / "plugins"
    assert (plugins / "platforms" / "libqxcb.so").is_file()
    assert (plugins / "platforms" / "libqoffscreen.so").is_file()
    assert not (plugins / "platformthemes" / "libqgtk3.so").exists()  # it would make GTK a dependency
    shipped = {p.relative_to(internal / "resources").as_posix() for p in (internal / "resources").rglob("*")
               if p.is_file()}
    # exactly the wheel's list (pyproject.toml package-data): no developer tool such as demo/make_demo.py
    assert shipped == {"scripts/zh-CN.toml", "scripts/zh-TW.toml", "scripts/en.toml", "demo/demo_call.wav",
                       "demo/demo_call.events.jsonl", "demo/README.md"}
    for rel in shipped:
        assert (internal / "resources" / rel).read_bytes() == (snapshot / "resources" / rel).read_bytes()
    names = {p.name for p in built.rglob("*") if p.is_file()}
    assert any(n.startswith("libpython3.") for n in names)  # the target seat has no Python
    assert any(n.startswith("libsndfile") for n in names)  # the soundfile wheel's own copy
    # loaded by name from the system (package dependencies, see packaging/pyinstaller/README-bundle.md)
    for system_lib in ("libportaudio.so.2", "libespeak-ng.so.1", "libxcb-cursor.so.0", "libX11.so.6",
                       "libfontconfig.so.1", "libc.so.6"):
        assert system_lib not in names


def test_bundle_carries_every_data_file_the_wheel_ships_inside_the_package(built: Path, snapshot: Path) -> None:
    # the package's own data (the caller detector's weights) is what pyproject's package-data
    # lists for the wheel; a file missing from the frozen app crashes every replay there
    import tomllib

    package_data = tomllib.loads((snapshot / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    wanted = []
    for package, patterns in package_data.items():
        if package == "softphone_assist._resources":
            continue  # the top-level resources/ folder, checked above
        folder = snapshot.joinpath(*package.split("."))
        wanted += [p for pattern in patterns if pattern != "py.typed" for p in folder.glob(pattern)]
    assert wanted, "pyproject lists no package data: the check would be empty"
    for path in wanted:
        rel = path.relative_to(snapshot)
        assert (built / "_internal" / rel).read_bytes() == path.read_bytes(), rel


def test_version(exe: Path, home: Path, source_cli: tuple[list[str], dict[str, str]]) -> None:
    res = run([str(exe), "--version"], clean_env(home), home)
    assert res.stdout.decode().startswith("softphone-assist 0.")
    assert res.stdout == run([*source_cli[0], "--version"], source_cli[1], home).stdout


@pytest.mark.parametrize("with_events", [False, True], ids=["no-events", "events"])
def test_replay_of_the_bundled_demo_call_equals_the_source_tree(exe: Path, home: Path, snapshot: Path,
                                                                source_cli: tuple[list[str], dict[str, str]],
                                                                with_events: bool) -> None:
    bundled = exe.parent / "_internal" / "resources" / "demo"
    frozen_cmd = [str(exe), "replay", str(bundled / "demo_call.wav"), "--jsonl", "--start-time", START]
    source_cmd = [*source_cli[0], "replay", "resources/demo/demo_call.wav", "--jsonl", "--start-time", START]
    if with_events:
        frozen_cmd += ["--events", str(bundled / "demo_call.events.jsonl")]
        source_cmd += ["--events", "resources/demo/demo_call.events.jsonl"]
    frozen = run(frozen_cmd, clean_env(home), home)
    source = run(source_cmd, source_cli[1], snapshot)
    assert frozen.stdout.count(b"\n") > 20 and b'"event": "prompt"' in frozen.stdout
    assert frozen.stdout == source.stdout
    assert frozen.stderr == source.stderr == b""


def test_demo_timeline_finds_the_bundled_resources(exe: Path, home: Path, snapshot: Path,
                                                   source_cli: tuple[list[str], dict[str, str]]) -> None:
    # `demo` finds the demo call and its events file itself: sys._MEIPASS/resources when frozen
    frozen = run([str(exe), "demo", "--jsonl", "--start-time", START], clean_env(home), home)
    source = run([*source_cli[0], "demo", "--jsonl", "--start-time", START], source_cli[1], snapshot)
    # the events file was found and used: its closing at 75.74 s, not the default call_end at the end only
    assert b'{"t": 75.74, "event": "call_state", "state": "closing", "source": "file"}\n' in frozen.stdout
    assert frozen.stdout == source.stdout


def test_tts_render_starts_the_worker_from_the_frozen_executable(exe: Path, home: Path, tmp_path: Path,
                                                                 source_cli: tuple[list[str], dict[str, str]]
                                                                 ) -> None:
    out = tmp_path / "frozen.wav"
    res = run([str(exe), "tts-render", ZH_LINE, "--locale", "zh-CN", "--out", str(out)], clean_env(home), home)
    report = res.stdout.decode().strip()
    # the worker child is the bundle's own executable (spawn + freeze_support), not some Python
    assert report.endswith(f", worker {exe}"), report
    assert ", engine espeak," in report
    x, rate = sf.read(out, dtype="float32")
    assert rate == 22050
    seconds = len(x) / rate
    assert 4.0 < seconds < 9.0  # 22 characters at 150 wpm (see test_tts_espeak.py)
    start, end = speech_span(x, rate)
    assert start < 0.05 and end > seconds - 0.05
    assert -30.0 < rms_dbfs(x) < -10.0
    # from source: the same voice and a clip of the same length (espeak-ng is not sample-exact from run
    # to run: one render in a few differs in its last milliseconds)
    src_out = tmp_path / "source.wav"
    src_report = run([*source_cli[0], "tts-render", ZH_LINE, "--locale", "zh-CN", "--out", str(src_out)],
                     source_cli[1], home).stdout.decode().strip()
    assert f", worker {exe}" not in src_report
    assert src_report.split(", voice ")[1].split(", worker")[0] == report.split(", voice ")[1].split(", worker")[0]
    assert abs(sf.info(str(src_out)).duration - seconds) < 0.05


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    binary = shutil.which("Xvfb")
    assert binary, "Xvfb is missing (setup.sh test installs xvfb)"
    r, w = os.pipe()
    proc = subprocess.Popen([binary, "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as ready:
        display = ":" + ready.readline().strip()  # written once the server accepts clients
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def overlay_screenshot(cmd: list[str], env: dict[str, str], cwd: Path, shot: Path) -> str:
    """Run the demo overlay until it saves its own grab (after the first ladder prompt), then stop it.

    Returns what it wrote on stderr (to a file: a pipe nobody reads could fill up and block the app)."""
    err_path = shot.with_suffix(".stderr")
    with err_path.open("wb") as err:
        app = subprocess.Popen([*cmd, "demo", "--speed", "8", "--screenshot", str(shot)], env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while not (shot.exists() and shot.stat().st_size > 0) and app.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)  # QImage.save writes the file in one go; let it finish
            assert shot.exists(), err_path.read_text(errors="replace")
            app.send_signal(signal.SIGTERM)  # quits through the event loop
            assert app.wait(timeout=30) == 0, err_path.read_text(errors="replace")
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
    return err_path.read_text(errors="replace")


def test_overlay_shows_on_x11_through_the_bundled_xcb_plugin(exe: Path, home: Path, xvfb: str, tmp_path: Path,
                                                              source_cli: tuple[list[str], dict[str, str]]
                                                              ) -> None:
    from PySide6.QtGui import QImage

    frozen_shot, source_shot = tmp_path / "frozen.png", tmp_path / "source.png"
    gui = {"DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}  # xcb forced: a missing plugin is fatal, no fallback
    frozen_err = overlay_screenshot([str(exe)], clean_env(home, **gui), home, frozen_shot)
    # pynput imports its X backend by name: in the bundle it must be there, or the hotkeys are off
    assert "global hotkeys are off" not in frozen_err, frozen_err
    overlay_screenshot(source_cli[0], {**source_cli[1], **gui}, home, source_shot)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(frozen_shot, ARTIFACTS / "bundle_overlay.png")
    frozen, source = QImage(str(frozen_shot)), QImage(str(source_shot))
    assert not frozen.isNull() and frozen.width() > 200 and frozen.height() > 100
    assert frozen.size() == source.size()
    # a painted card (text, buttons, meters), not an empty window: many distinct colours
    colours = {frozen.pixel(x, y) for x in range(0, frozen.width(), 3) for y in range(0, frozen.height(), 3)}
    assert len(colours) > 50
