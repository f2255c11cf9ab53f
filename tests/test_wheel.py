"""The wheel works where a user installs it: built like a release, installed into fresh venvs outside the checkout.

One wheel per test session, built by `python -m build` (sdist, then the wheel from the sdist) from a
copy of the checkout's files. Two venvs get it:
- "app": the wheel plus the `app` extra's dependency closure;
- "core": the wheel plus only its core dependencies (what `pip install softphone-assist` gives).
Their dependencies are not downloaded each run: each venv gets a `.pth` to a folder of links to exactly
the distributions its requirements resolve to in the dev venv (read from the wheel's own metadata, the
versions checked against its specifiers), and `pip check` then confirms the venv is consistent. The
dev venv's editable install of softphone_assist is never linked: every run asserts that the venv's
softphone_assist is the installed wheel.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
START = "2026-02-17T09:30:00"  # the greeting depends on the time of day: fix it for byte-equal output
APP_MODULES = ("sounddevice", "PySide6", "pyttsx3", "pynput")
RESOURCE_FILES = {
    "softphone_assist/_resources/scripts/en.toml",
    "softphone_assist/_resources/scripts/zh-CN.toml",
    "softphone_assist/_resources/scripts/zh-TW.toml",
    "softphone_assist/_resources/demo/demo_call.wav",
    "softphone_assist/_resources/demo/demo_call.events.jsonl",
    "softphone_assist/_resources/demo/README.md",
}


# --------------------------------------------------------------------------------------------
# Building and installing (once per session)
# --------------------------------------------------------------------------------------------
def _checkout_files() -> list[str]:
    """The files a fresh clone with the working tree's edits has (tracked + untracked, not ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


@pytest.fixture(scope="session")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy: a build writes build/ and *.egg-info into the tree, and must not see stale ones there."""
    src = tmp_path_factory.mktemp("checkout") / "softphone-assist"
    for rel in _checkout_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    return src


@pytest.fixture(scope="session")
def wheel(source_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "build", "--outdir", str(base / "dist"), str(source_copy)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    wheels = sorted((base / "dist").glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _requirements(wheel: Path, extras: tuple[str, ...]) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(meta).decode()
    reqs = [Requirement(line.split(":", 1)[1].strip()) for line in text.splitlines()
            if line.startswith("Requires-Dist:")]
    return [r for r in reqs if _applies(r, extras)]


def _applies(req: Requirement, extras: tuple[str, ...]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in ("", *extras))


def _closure(reqs: list[Requirement]) -> list[md.Distribution]:
    """The dev venv's distributions that satisfy `reqs`, recursively; a missing or wrong one fails."""
    found: dict[str, md.Distribution] = {}
    done: set[tuple[str, str]] = set()  # (distribution, extra) already expanded
    todo = list(reqs)
    while todo:
        req = todo.pop()
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        try:
            dist = found.get(key) or md.distribution(req.name)
        except md.PackageNotFoundError:
            pytest.fail(f"{req} is needed by the wheel but is not in the dev venv: run ./setup.sh test")
        assert req.specifier.contains(dist.version, prereleases=True), f"dev venv has {req.name} {dist.version}"
        found[key] = dist
        for extra in ("", *sorted(req.extras)):
            if (key, extra) in done:
                continue
            done.add((key, extra))
            subs = [Requirement(r) for r in dist.requires or []]
            todo += [r for r in subs if (r.marker is None and not extra) or
                     (r.marker is not None and r.marker.evaluate({"extra": extra}))]
    return list(found.values())


def _link_distributions(dists: list[md.Distribution], folder: Path) -> None:
    folder.mkdir()
    for dist in dists:
        for f in dist.files or []:
            top = f.parts[0]
            if top in ("..", "__pycache__") or (folder / top).exists() or (folder / top).is_symlink():
                continue
            (folder / top).symlink_to(Path(str(dist.locate_file(top))))


@dataclass(frozen=True)
class Venv:
    root: Path
    home: Path  # HOME and XDG dirs: the user's settings, call log and caches stay in the test's folder
    cwd: Path  # outside the checkout

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        return self.root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SOFTPHONE_ASSIST_RESOURCES", "DISPLAY",
                            "WAYLAND_DISPLAY", "SOFTPHONE_ASSIST_CONFIG", "SOFTPHONE_ASSIST_IPC")}
        env.update(PATH=f"{self.root / 'bin'}:/usr/bin:/bin", HOME=str(self.home),
                   XDG_CONFIG_HOME=str(self.home / ".config"), XDG_DATA_HOME=str(self.home / ".local/share"),
                   XDG_CACHE_HOME=str(self.home / ".cache"), XDG_RUNTIME_DIR=str(self.home / "run"))
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([str(self.root / "bin" / "softphone-assist"), *args], cwd=self.cwd,
                              env=self.env(**env), capture_output=True, timeout=120)


def _make_venv(base: Path, wheel: Path, extras: tuple[str, ...]) -> Venv:
    """A fresh venv with `wheel` installed and links to the dependencies it needs with `extras`."""
    venv = Venv(base / "venv", base / "home", base / "cwd")
    for d in (venv.home / "run", venv.cwd):
        d.mkdir(parents=True)
    (venv.home / "run").chmod(0o700)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv.root)], check=True)
    # the dev venv's pip installs into the new venv (--python); the wheel goes in before the links,
    # so pip sees no softphone-assist already there
    pip = [sys.executable, "-m", "pip", "--python", str(venv.python)]
    res = subprocess.run([*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    deps = base / "deps"
    _link_distributions(_closure(_requirements(wheel, extras)), deps)
    (venv.site_packages / "_test_deps.pth").write_text(f"{deps}\n")
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return venv


@pytest.fixture(scope="session")
def app_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return _make_venv(tmp_path_factory.mktemp("app-venv"), wheel, ("app",))


@pytest.fixture(scope="session")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return _make_venv(tmp_path_factory.mktemp("core-venv"), wheel, ())


def _source_run(*args: str, tmp_home: Path) -> subprocess.CompletedProcess[bytes]:
    """The same command from the source tree (the dev venv's editable install), same clean environment."""
    env = Venv(ROOT / ".venv", tmp_home, ROOT).env()
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    return subprocess.run([sys.executable, "-m", "softphone_assist", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=120)


@pytest.fixture
def source_home(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "run").mkdir(mode=0o700)
    yield tmp_path


def _located(venv: Venv, module: str) -> str:
    code = f"import {module}; print({module}.__file__)"
    return subprocess.run([str(venv.python), "-c", code], cwd=venv.cwd, env=venv.env(), capture_output=True,
                          text=True, check=True).stdout.strip()


# --------------------------------------------------------------------------------------------
# The wheel's contents
# --------------------------------------------------------------------------------------------
def test_pyproject_lists_every_package_of_the_source_tree() -> None:
    # listed by hand (`packages.find` cannot add the mapped data package): a new subpackage that is
    # not listed would be silently missing from the wheel
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    tree = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "softphone_assist").rglob("__init__.py")}
    assert tree - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - tree == {"softphone_assist._resources"}


def test_wheel_carries_the_resources_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= RESOURCE_FILES
    # make_demo.py rebuilds the demo from tools/callkit.py: it belongs to the checkout, not the wheel
    assert not any(n.endswith("make_demo.py") or n.startswith("tests/") for n in names)
    # every file of the package in the checkout (modules, py.typed, any data a helper adds)
    package_files = {f for f in _checkout_files() if f.startswith("softphone_assist/")}
    assert package_files - names == set(), "list it in pyproject.toml: [tool.setuptools] packages / package-data"
    assert {n.split("/")[0] for n in names} == {"softphone_assist", "softphone_assist-0.1.0.dist-info"}
    with zipfile.ZipFile(wheel) as z:
        for rel in RESOURCE_FILES:
            source = ROOT / "resources" / rel.removeprefix("softphone_assist/_resources/")
            assert z.read(rel) == source.read_bytes(), rel


def test_pip_install_of_a_checkout_builds_the_same_files(source_copy: Path, wheel: Path, tmp_path: Path) -> None:
    # `pip install <checkout>` builds straight from the tree, not through the sdist
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                          str(source_copy)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    (direct,) = tmp_path.glob("*.whl")
    assert sorted(zipfile.ZipFile(direct).namelist()) == sorted(zipfile.ZipFile(wheel).namelist())


def test_wheel_metadata_keeps_the_app_extra_optional(wheel: Path) -> None:
    core = {r.name for r in _requirements(wheel, ())}
    app = {r.name for r in _requirements(wheel, ("app",))} - core
    assert {"sounddevice", "PySide6-Essentials", "pyttsx3", "pynput"} <= app  # none of them in the core
    assert {"numpy", "webrtcvad-wheels", "soundfile", "soxr", "platformdirs"} <= core  # replay, demo, log


# --------------------------------------------------------------------------------------------
# The installed wheel, with the app extra
# --------------------------------------------------------------------------------------------
def test_venv_runs_the_installed_wheel_not_the_checkout(app_venv: Venv) -> None:
    located = Path(_located(app_venv, "softphone_assist"))
    assert located.is_relative_to(app_venv.site_packages), located
    code = f"import importlib.util as u; print(*[m for m in {APP_MODULES!r} if u.find_spec(m)])"
    found = subprocess.run([str(app_venv.python), "-c", code], cwd=app_venv.cwd, env=app_venv.env(),
                           capture_output=True, text=True, check=True).stdout.split()
    assert found == list(APP_MODULES)
    res = app_venv.run("--version")
    assert (res.returncode, res.stdout) == (0, b"softphone-assist 0.1.0\n")


def test_replay_of_the_bundled_demo_equals_the_source_tree(app_venv: Venv, source_home: Path) -> None:
    demo = app_venv.site_packages / "softphone_assist" / "_resources" / "demo"
    res = app_venv.run("replay", str(demo / "demo_call.wav"), "--events", str(demo / "demo_call.events.jsonl"),
                       "--start-time", START, "--jsonl")
    assert res.returncode == 0, res.stderr.decode()
    src = ROOT / "resources" / "demo"
    ref = _source_run("replay", str(src / "demo_call.wav"), "--events", str(src / "demo_call.events.jsonl"),
                      "--start-time", START, "--jsonl", tmp_home=source_home)
    assert ref.returncode == 0, ref.stderr.decode()
    assert res.stdout == ref.stdout
    assert res.stdout.count(b'"event": "prompt"') >= 5  # the demo's ladders really ran


def test_demo_timeline_from_the_wheel_equals_the_source_tree(app_venv: Venv, source_home: Path) -> None:
    res = app_venv.run("demo", "--timeline", "--start-time", START)
    assert res.returncode == 0, res.stderr.decode()
    ref = _source_run("demo", "--timeline", "--start-time", START, tmp_home=source_home)
    assert ref.returncode == 0, ref.stderr.decode()
    assert res.stdout == ref.stdout
    assert res.stdout.startswith(b"# demo_call.wav: ")
    assert res.stderr == b""


def test_every_shipped_locale_loads_from_the_wheel(app_venv: Venv) -> None:
    code = ("from softphone_assist.core.resources import resources_dir\n"
            "from softphone_assist.core.script.loader import available_locales, load_script\n"
            "print(resources_dir()); print(*[load_script(x).locale for x in available_locales()])\n")
    out = subprocess.run([str(app_venv.python), "-c", code], cwd=app_venv.cwd, env=app_venv.env(),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == [str(app_venv.site_packages / "softphone_assist" / "_resources"), "en zh-CN zh-TW"]


# --------------------------------------------------------------------------------------------
# The installed wheel without the app extra (`pip install softphone-assist`)
# --------------------------------------------------------------------------------------------
def _extra_error(command: str, module: str) -> bytes:
    return (f"softphone-assist {command}: needs the 'app' extra (pip install 'softphone-assist[app]'): "
            f"module {module} is missing\n").encode()


def test_core_venv_has_none_of_the_app_modules(core_venv: Venv) -> None:
    code = ("import importlib.util as u, softphone_assist\n"
            f"print(softphone_assist.__file__, [m for m in {APP_MODULES!r} if u.find_spec(m)])")
    out = subprocess.run([str(core_venv.python), "-c", code], cwd=core_venv.cwd, env=core_venv.env(),
                         capture_output=True, text=True, check=True).stdout.split()
    assert Path(out[0]).is_relative_to(core_venv.site_packages)
    assert out[1:] == ["[]"]


@pytest.mark.parametrize(("args", "display", "module"), [
    (("listen", "--caller", "x", "--seconds", "1"), False, "sounddevice"),
    (("listen", "--caller", "x", "--seconds", "1", "--speak", "auto", "--jsonl"), False, "sounddevice"),
    (("devices",), False, "sounddevice"),
    (("run",), True, "PySide6"),
    ((), True, "PySide6"),  # no command: run
    (("demo",), True, "PySide6"),
], ids=["listen", "listen-speak", "devices", "run", "no-command", "demo-with-display"])
def test_without_the_app_extra_a_live_command_says_which_extra(core_venv: Venv, args: tuple[str, ...],
                                                               display: bool, module: str) -> None:
    # the display only chooses the overlay path; the check fails before anything connects to it
    res = core_venv.run(*args, **({"DISPLAY": ":99"} if display else {}))
    command = args[0] if args else "run"
    assert (res.returncode, res.stdout) == (2, b"")
    assert res.stderr == _extra_error(command, module)


def test_without_the_app_extra_replay_demo_timeline_and_log_work(core_venv: Venv, app_venv: Venv) -> None:
    demo = core_venv.site_packages / "softphone_assist" / "_resources" / "demo"
    args = ("replay", str(demo / "demo_call.wav"), "--start-time", START, "--jsonl")
    res = core_venv.run(*args)
    assert (res.returncode, res.stderr) == (0, b"")
    full = app_venv.run("replay", str(app_venv.site_packages / "softphone_assist" / "_resources" / "demo" /
                                      "demo_call.wav"), "--start-time", START, "--jsonl")
    assert res.stdout == full.stdout and res.stdout
    res = core_venv.run("demo", "--timeline", "--start-time", START)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == app_venv.run("demo", "--timeline", "--start-time", START).stdout
    res = core_venv.run("log", "--json")
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.strip() == b"[]"
    res = core_venv.run("call", "start")  # a softphone hook with no app running: its own exit code 1
    assert res.returncode == 1 and b"softphone-assist is not running" in res.stderr
    assert b"Traceback" not in res.stderr



def test_a_user_install_finds_its_resources(wheel: Path, tmp_path: Path) -> None:
    # `pip install --user` puts data files under ~/.local/share, not <sys.prefix>/share: the resources
    # travel inside the package, so they are found there too (no dependencies needed to locate them)
    base = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")  # no venv
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONNOUSERSITE",
                                                            "SOFTPHONE_ASSIST_RESOURCES")}
    env["PYTHONUSERBASE"] = str(tmp_path / "userbase")
    res = subprocess.run([sys.executable, "-m", "pip", "--python", base, "install", "-q", "--user", "--no-deps",
                          "--no-index", "--break-system-packages", str(wheel)], env=env, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    code = "from softphone_assist.core.resources import resources_dir; print(resources_dir())"
    out = subprocess.run([base, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()).is_relative_to(tmp_path / "userbase")
    assert (Path(out.stdout.strip()) / "demo" / "demo_call.wav").is_file()
