"""The .deb end to end in a clean Debian 12 root, not on the build machine.

`packaging/build-deb` builds the package (reusing the cached bundle and package). A minimal root
is made with mmdebstrap from this machine's own apt sources (cached as a tarball per day and
sources) and unpacked into a temp dir; every command runs there through `unshare --mount` +
`chroot`, with /proc, /dev and /sys mounted in a private mount namespace that vanishes with the
command. `apt-get install ./softphone-assist_….deb` resolves the Depends from the mirror; then,
in that root, which has no Python at all: --version, replay of the bundled demo call (byte for
byte the source tree's JSONL), the overlay under Xvfb (screenshot kept as
test-artifacts/deb_overlay.png), TTS rendered by espeak-ng, and `call start` reaching a running
`listen`. The display (Xvfb + openbox) and the sound server (a private PulseAudio with null
sinks) run on the host: X through its abstract socket, Pulse through a socket inside the root.
Last, `dpkg --purge` + `apt-get autoremove --purge` must bring the root's file list back to what
it was before the install.

The tests of this module share one installed root and run in file order (the purge is last).
Needs root, mmdebstrap, lintian, dpkg-dev and patchelf (setup.sh's TEST_PKGS) and the apt mirror.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from soundserver import SoundServer
from test_tts_support import pulseaudio_available, rms_dbfs
from test_ui_x11 import needs_x, x_display

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
PACKAGE = "softphone-assist"
START = "2026-02-17T09:30:00"  # a fixed call start: the greeting depends on it
CACHE = Path(os.environ.get("SOFTPHONE_ASSIST_BUILD_CACHE") or "/var/cache/softphone-assist-build") / "roots"
KEEP_ROOTS = 2
TOOLS = ("mmdebstrap", "lintian", "dpkg-shlibdeps", "patchelf", "unshare", "chroot")
# Never in the before/after comparison: kernel file systems and scratch space, apt's download
# cache and lists, logs. /tmp also holds the test's own HOME (per-user data belongs to the user,
# not to the package) and the sockets of the host's display and sound server.
VOLATILE = ("proc", "sys", "dev", "run", "tmp", "var/cache/apt", "var/lib/apt/lists", "var/log")
# Bookkeeping files that installing anything creates and purging does not remove: ldconfig's
# cache (its trigger ran) and apt's record of which packages were automatically installed.
SYSTEM_STATE = {"var/cache/ldconfig/aux-cache", "var/lib/apt/extended_states"}
__all__ = ["x_display"]  # the fixture is used by name

_missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot into a Debian root made by mmdebstrap)"),
    pytest.mark.skipif(bool(_missing), reason=f"missing {', '.join(_missing)} "
                       "(apt-get install -y mmdebstrap lintian dpkg-dev patchelf)"),
    pytest.mark.skipif(pulseaudio_available() is not None, reason=str(pulseaudio_available())),
    needs_x,
]


# --------------------------------------------------------------------------------------------
# The package and the clean root
# --------------------------------------------------------------------------------------------
def upstream_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


@pytest.fixture(scope="module")
def deb() -> Path:
    """packaging/build-deb's package, or the one $SOFTPHONE_ASSIST_TEST_DEB names (a release to check)."""
    if given := os.environ.get("SOFTPHONE_ASSIST_TEST_DEB"):
        return Path(given)
    r = subprocess.run([str(REPO / "packaging" / "build-deb")], capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-3000:]
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.name == f"{PACKAGE}_{upstream_version()}-1_{deb_arch()}.deb" and path.is_file()
    return path


def deb_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def apt_sources() -> str:
    """This machine's active apt sources, in one format (mmdebstrap reads one on stdin)."""
    d = Path("/etc/apt/sources.list.d")
    deb822 = sorted(d.glob("*.sources"))
    if deb822:
        return "\n".join(p.read_text().strip() + "\n" for p in deb822)
    lines = [Path("/etc/apt/sources.list"), *sorted(d.glob("*.list"))]
    return "".join(p.read_text() for p in lines if p.is_file())


def base_tarball() -> Path:
    """A minimal Debian 12 root (variant apt), made once a day per set of sources."""
    sources = apt_sources()
    key = hashlib.sha256(f"bookworm apt\n{sources}".encode()).hexdigest()[:16]
    tar = CACHE / f"bookworm-apt-{date.today().isoformat()}-{key}.tar"
    if tar.is_file():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = tar.with_suffix(f".tmp-{os.getpid()}.tar")
    r = subprocess.run(["mmdebstrap", "--variant=apt", "--quiet", "bookworm", str(partial), "-"],
                       input=sources, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"mmdebstrap failed: {r.stderr[-3000:]}"
    partial.replace(tar)
    for old in sorted(CACHE.glob("bookworm-apt-*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP_ROOTS:]:
        old.unlink(missing_ok=True)
    return tar


@dataclass
class Root:
    """A Debian root in a temp dir; commands run inside it in a private mount namespace."""

    path: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    ENV: ClassVar[dict[str, str]] = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                     "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
    # what the app gets: its per-user files under /tmp/home, its IPC socket in /tmp/xdg
    APP_ENV: ClassVar[dict[str, str]] = {**ENV, "HOME": "/tmp/home", "XDG_RUNTIME_DIR": "/tmp/xdg",
                                         "QT_QPA_PLATFORM": "xcb"}

    def argv(self, cmd: Sequence[str], env: dict[str, str]) -> list[str]:
        script = ('R="$1"; shift; mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && '
                  'mount -t sysfs sys "$R/sys" && exec chroot "$R" "$@"')
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
                str(self.path), "env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd]

    def run(self, *cmd: str, env: dict[str, str] | None = None, timeout: float = 600,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(self.argv(cmd, env or self.ENV), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check:
            assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        return r

    def popen(self, *cmd: str, env: dict[str, str]) -> subprocess.Popen[str]:
        p = subprocess.Popen(self.argv(cmd, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def file_list(self) -> set[str]:
        out: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.path):
            rel = os.path.relpath(dirpath, self.path)
            rel = "" if rel == "." else rel
            dirnames[:] = [d for d in dirnames if os.path.join(rel, d) not in VOLATILE]
            out.update(os.path.join(rel, n) for n in dirnames + filenames)
        return out


@dataclass
class Installed:
    root: Root
    deb: Path
    apt_output: str
    before: set[str]  # the root's files before the install
    ours: list[str]  # `dpkg -L softphone-assist` while installed


@pytest.fixture(scope="module")
def installed(deb: Path) -> Iterator[Installed]:
    tar = base_tarball()
    top = Path(tempfile.mkdtemp(prefix="sa-deb-", dir="/tmp"))  # short: a unix socket lives inside
    root = Root(top / "r")
    root.path.mkdir()
    try:
        subprocess.run(["tar", "-C", str(root.path), "-xf", str(tar)], check=True, timeout=600)
        shutil.copyfile("/etc/resolv.conf", root.path / "etc" / "resolv.conf")
        root.run("apt-get", "update", "-q")
        before = root.file_list()
        shutil.copyfile(deb, root.path / "tmp" / deb.name)
        # --no-install-recommends: the Depends alone must make it work
        r = root.run("apt-get", "install", "-y", "-q", "--no-install-recommends", f"/tmp/{deb.name}", timeout=1800)
        (root.path / "tmp" / deb.name).unlink()
        ours = root.run("dpkg", "-L", PACKAGE).stdout.split()
        for d in ("tmp/home", "tmp/xdg"):
            (root.path / d).mkdir(mode=0o700)
        yield Installed(root, deb, r.stdout, before, ours)
    finally:
        for p in root.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        shutil.rmtree(top, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The package itself
# --------------------------------------------------------------------------------------------
def test_lintian_reports_no_error_and_no_unexplained_warning(deb: Path) -> None:
    # the verdict is read from the tags themselves: shown overrides (O:) would make the exit code fail
    r = subprocess.run(["lintian", "--pedantic", "--show-overrides", "--fail-on", "none", str(deb)],
                       capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "deb_lintian.txt").write_text(r.stdout + r.stderr)
    bad = [ln for ln in lines if ln.startswith(("E:", "W:"))]
    assert bad == [], "\n".join(bad[:40])
    assert r.returncode == 0, r.stderr
    assert any(ln.startswith("O:") for ln in lines)  # the overrides file was found and used


def test_control_fields(deb: Path) -> None:
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    info = dict(ln.split(": ", 1) for ln in fields.splitlines() if ": " in ln and not ln.startswith(" "))
    assert info["Package"] == PACKAGE and info["Version"] == f"{upstream_version()}-1"
    assert info["Architecture"] == deb_arch()
    depends = {d.strip().split(" ")[0] for d in info["Depends"].split(",")}
    # loaded by name or run as programs: not found by dpkg-shlibdeps, added by build-deb
    assert {"libespeak-ng1", "espeak-ng-data", "libasound2-plugins", "pulseaudio-utils", "libpulse0",
            "libxcb-cursor0", "fonts-wqy-microhei", "libc6"} <= depends
    assert not any(d.startswith("python3") for d in depends)
    listing = subprocess.run(["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True,
                             check=True).stdout.split()
    assert listing == ["/etc/softphone-assist/config.toml", "/etc/xdg/autostart/softphone-assist.desktop"]


# --------------------------------------------------------------------------------------------
# In the clean root
# --------------------------------------------------------------------------------------------
def test_installed_from_the_mirror_without_python(installed: Installed) -> None:
    root = installed.root
    assert " newly installed" in installed.apt_output
    assert root.run("dpkg-query", "-W", "-f=${Status}", PACKAGE).stdout == "install ok installed"
    for dep in ("libespeak-ng1", "espeak-ng-data", "libasound2-plugins", "libxcb-cursor0"):
        assert root.run("dpkg-query", "-W", "-f=${Status}", dep).stdout == "install ok installed", dep
    # the bundle must start on a root that has no Python at all
    assert root.run("sh", "-c", "command -v python3 python", check=False).stdout == ""
    pythons = root.run("dpkg-query", "-W", "-f=${Package}\\n", check=True).stdout.split()
    assert [p for p in pythons if p.startswith(("python", "libpython"))] == []
    for path in ("opt/softphone-assist/softphone-assist", "usr/bin/softphone-assist",
                 "usr/share/applications/softphone-assist.desktop", "etc/xdg/autostart/softphone-assist.desktop",
                 "usr/share/icons/hicolor/scalable/apps/softphone-assist.svg", "etc/softphone-assist/config.toml",
                 "usr/share/doc/softphone-assist/copyright", "usr/share/doc/softphone-assist/changelog.Debian.gz"):
        assert "/" + path in installed.ours, path
    autostart = (root.path / "etc/xdg/autostart/softphone-assist.desktop").read_text()
    assert "Exec=softphone-assist run --if-autostart\n" in autostart
    assert tomllib.loads((root.path / "etc/softphone-assist/config.toml").read_text()) == {}  # sets nothing


def test_version(installed: Installed) -> None:
    r = installed.root.run(PACKAGE, "--version", env=Root.APP_ENV)
    assert r.stdout == f"softphone-assist {upstream_version()}\n"


def test_replay_of_the_bundled_demo_equals_the_source_tree(installed: Installed) -> None:
    root = installed.root
    wavs = sorted((root.path / "opt" / PACKAGE).rglob("demo_call.wav"))
    assert len(wavs) == 1, wavs
    wav = "/" + wavs[0].relative_to(root.path).as_posix()
    events = wav.replace(".wav", ".events.jsonl")
    frozen = root.run(PACKAGE, "replay", wav, "--events", events, "--start-time", START, "--jsonl",
                      env=Root.APP_ENV)
    source = subprocess.run([str(REPO / ".venv/bin/softphone-assist"), "replay", "resources/demo/demo_call.wav",
                             "--events", "resources/demo/demo_call.events.jsonl", "--start-time", START, "--jsonl"],
                            cwd=REPO, capture_output=True, text=True, check=True)
    assert frozen.stdout.count("\n") > 20 and '"prompt"' in frozen.stdout
    assert frozen.stdout == source.stdout
    # `demo` finds the same bundled call by itself
    demo = root.run(PACKAGE, "demo", "--jsonl", "--start-time", START, env=Root.APP_ENV)
    assert demo.stdout == source.stdout


def test_overlay_under_xvfb(installed: Installed, x_display: str) -> None:
    from PySide6.QtGui import QImage

    root = installed.root
    shot = root.path / "tmp" / "deb_overlay.png"
    # X through Xvfb's abstract socket (a chroot does not hide it; same network namespace)
    app = root.popen(PACKAGE, "demo", "--speed", "4", "--screenshot", "/tmp/deb_overlay.png",
                     env={**Root.APP_ENV, "DISPLAY": x_display})
    try:
        for _ in range(1200):  # until the overlay saved its own grab after the first ladder prompt
            if shot.exists() or app.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the grab is written once: let it finish
        assert shot.exists(), app.communicate()[1][-3000:] if app.poll() is not None else "no overlay grab"
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have ended (or crashed) already
            os.killpg(app.pid, signal.SIGTERM)
        _, err = app.communicate(timeout=30)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "deb_overlay.png")
    img = QImage(str(shot))
    assert not img.isNull() and img.width() >= 200 and img.height() >= 100
    colours = {img.pixel(x, y) for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)}
    assert len(colours) > 30  # text and widgets, not an empty window
    assert "Could not load the Qt platform plugin" not in err and "Traceback" not in err, err[-2000:]


def call_states(lines: list[str]) -> list[dict[str, object]]:
    events = [json.loads(ln) for ln in list(lines) if ln.strip()]
    return [e for e in events if e.get("event") == "call_state"]


@pytest.fixture
def pulse(installed: Installed) -> Iterator[SoundServer]:
    """PulseAudio on the host with its socket inside the root (/tmp/pa/native there)."""
    p = SoundServer("pulseaudio", installed.root.path / "tmp" / "pa", {"caller": 1, "headset": 2})
    p.start()
    p.keep_running(settle_s=2.5)  # each monitor read in real time, so playback into the sinks never stalls
    try:
        yield p
    finally:
        p.stop()


def test_tts_and_call_start_reach_a_running_listen(installed: Installed, pulse: SoundServer) -> None:
    from softphone_assist.speech.cache import read_clip

    root = installed.root
    env = {**Root.APP_ENV, "PULSE_SERVER": "unix:/tmp/pa/native", "PULSE_CLIENTCONFIG": "/tmp/pa/client.conf"}
    cache = root.path / "tmp" / "home" / ".cache" / PACKAGE / "tts"
    shutil.rmtree(cache, ignore_errors=True)
    # the caller's line through the ALSA `pulse` device (libasound2-plugins), prompts spoken to the
    # headset sink on request: listen renders the script's lines ahead through espeak-ng
    listen = root.popen(PACKAGE, "listen", "--caller", "caller.monitor", "--speak", "on_request",
                        "--speak-to", "headset", "--locale", "zh-CN", "--jsonl", env=env)
    lines: list[str] = []
    out = listen.stdout
    assert out is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(out.readline, "")), daemon=True)
    reader.start()
    try:
        clips: list[Path] = []
        for _ in range(1200):
            # finished renders only: a render in flight is a hidden temp file (.*.tmp.wav)
            clips = sorted(p for p in cache.glob("*.wav") if not p.name.startswith(".")) if cache.is_dir() else []
            if len(clips) >= 3 or listen.poll() is not None:
                break
            time.sleep(0.1)
        assert listen.poll() is None, listen.communicate(timeout=10)[1][-3000:]
        assert len(clips) >= 3, "no TTS renders in the cache"
        time.sleep(0.5)  # the cache writes atomically; the newest may still be in flight
        x, rate = read_clip(clips[0])
        assert rate > 8000 and len(x) / rate > 1.0  # a whole scripted line, not a click
        assert -35.0 < rms_dbfs(x) < -8.0  # espeak-ng speaks at about -18 dBFS
        # the softphone hook: a separate process, through the IPC socket in XDG_RUNTIME_DIR
        start = root.run(PACKAGE, "call", "start", "--number", "10086", env=env, timeout=60)
        assert start.returncode == 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(s.get("state") == "call_start" for s in call_states(lines)):
            time.sleep(0.1)
        assert [s.get("state") for s in call_states(lines)][:1] == ["call_start"], lines[-20:]
    finally:
        if listen.poll() is None:
            os.killpg(listen.pid, signal.SIGTERM)  # listen stops cleanly on SIGTERM
        listen.wait(60)
        reader.join(10)
    err = listen.stderr.read() if listen.stderr else ""
    assert listen.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]


def test_autostart_entry_follows_the_machine_config(installed: Installed) -> None:
    root = installed.root
    entry = (root.path / "etc" / "xdg" / "autostart" / f"{PACKAGE}.desktop").read_text()
    argv = next(ln for ln in entry.splitlines() if ln.startswith("Exec=")).removeprefix("Exec=").split()
    off = root.run(*argv, env=Root.APP_ENV, check=False)  # as shipped: autostart is off, say nothing
    assert (off.returncode, off.stdout, off.stderr) == (0, "", "")
    config = root.path / "etc" / PACKAGE / "config.toml"
    shipped = config.read_text()
    try:
        config.write_text(shipped + '\nautostart = true\n\n[policy]\nlocked = ["autostart"]\n')
        shown = json.loads(root.run(PACKAGE, "config", "--json", env=Root.APP_ENV).stdout)
        assert {k: shown["settings"]["autostart"][k] for k in ("value", "layer")} == {"value": True,
                                                                                     "layer": "locked"}
        on = root.run(*argv, env=Root.APP_ENV, check=False)  # no DISPLAY here: it went on to open the overlay
        assert on.returncode == 2 and "no display" in on.stderr, on.stderr
    finally:
        config.write_text(shipped)


# --------------------------------------------------------------------------------------------
# Upgrade and purge (last: they change the installed root)
# --------------------------------------------------------------------------------------------
def test_changed_conffile_survives_an_upgrade(installed: Installed, tmp_path: Path) -> None:
    root = installed.root
    config = root.path / "etc" / PACKAGE / "config.toml"
    edited = config.read_text() + '\ncompany = "Example Ltd"\n'
    config.write_text(edited)
    # the same package with a bumped version whose shipped config.toml changed too (repacked
    # uncompressed), as when a new release documents a new key: dpkg must keep the admin's file
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-R", str(installed.deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    control.write_text(control.read_text().replace(f"Version: {upstream_version()}-1\n",
                                                   f"Version: {upstream_version()}-2\n"))
    shipped = tree / "etc" / PACKAGE / "config.toml"
    new_default = shipped.read_text() + "\n# a key documented by the next release\n"
    shipped.write_text(new_default)
    bumped = root.path / "tmp" / f"{PACKAGE}_{upstream_version()}-2_{deb_arch()}.deb"
    subprocess.run(["dpkg-deb", "-Znone", "--root-owner-group", "--build", str(tree), str(bumped)], check=True,
                   capture_output=True)
    try:
        root.run("dpkg", "--force-confold", "-i", f"/tmp/{bumped.name}")
    finally:
        bumped.unlink()
    assert root.run("dpkg-query", "-W", "-f=${Version}", PACKAGE).stdout == f"{upstream_version()}-2"
    assert config.read_text() == edited
    assert (config.parent / "config.toml.dpkg-dist").read_text() == new_default  # the new one, beside it
    r = root.run(PACKAGE, "--version", env=Root.APP_ENV)
    assert r.stdout == f"softphone-assist {upstream_version()}\n"


def test_purge_leaves_nothing_behind(installed: Installed) -> None:
    root = installed.root
    # what an administrator adds next to the conffile must go too (and the upgrade's .dpkg-dist)
    (root.path / "etc" / PACKAGE / "site-notes.txt").write_text("added by IT\n")
    root.run("dpkg", "--purge", PACKAGE)
    root.run("apt-get", "autoremove", "--purge", "-y", "-q")
    after = root.file_list()
    # every path the package put down is gone, except directories that were there before it
    ours = [p.lstrip("/") for p in installed.ours if p.lstrip("/") not in ("", ".")]
    left = [p for p in ours if p not in installed.before and os.path.lexists(root.path / p)]
    assert left == []
    assert [p for p in after if PACKAGE in p] == []
    assert sorted(after - installed.before - SYSTEM_STATE) == []
    # dpkg removes a directory that no package owns once it is empty again: the root's /opt (made by
    # the bootstrap, owned by nobody) goes with our last file in it, as with any package in /opt
    assert sorted(installed.before - after) in ([], ["opt"])
