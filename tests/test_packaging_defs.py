"""The Windows MSI and macOS pkg definitions, checked as far as this Linux machine can check them.

Nothing here builds an MSI or a pkg (that needs Windows and macOS: see packaging/README.md, "What was
not run here"). What is checked for real: the WiX source is well-formed WiX v4-schema XML with the
properties, upgrade code, version hand-over, autostart, shortcut and uninstall rules IT relies on;
the option lists the MSI and the macOS postinstall hand to `config --init-machine` are accepted by
the real command and write the machine config they promise; the names agree with the PyInstaller
spec; the build scripts read the version the way they claim (their code is run here); the workflow
files are valid YAML whose Python steps compile, whose bash steps pass `bash -n`, and which run the
install, --version, replay and uninstall commands the issue asks for.
"""

from __future__ import annotations

import plistlib
import re
import shlex
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from softphone_assist.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
WXS = REPO / "packaging" / "windows" / "softphone-assist.wxs"
BUILD_MSI = REPO / "packaging" / "windows" / "build-msi.ps1"
MACOS = REPO / "packaging" / "macos"
SPEC = REPO / "packaging" / "pyinstaller" / "softphone-assist.spec"
WORKFLOWS = REPO / ".github" / "workflows"
NS = {"w": "http://wixtoolset.org/schemas/v4/wxs", "util": "http://wixtoolset.org/schemas/v4/wxs/util"}
PUBLIC_PROPERTIES = ("COMPANY", "LOCALE", "TTS_MODE", "AUTOSTART")
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


def project_version() -> str:
    version: str = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    return version


@pytest.fixture(scope="module")
def wxs() -> ET.Element:
    return ET.parse(WXS).getroot()


def package(root: ET.Element) -> ET.Element:
    pkg = root.find("w:Package", NS)
    assert pkg is not None
    return pkg


def only(root: ET.Element, path: str, **attrs: str) -> ET.Element:
    found = [e for e in root.iterfind(path, NS) if all(e.get(k) == v for k, v in attrs.items())]
    assert len(found) == 1, (path, attrs, len(found))
    return found[0]


def init_machine_options() -> set[str]:
    """The option strings the real `softphone-assist config` parser accepts."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    config = sub.choices["config"]  # type: ignore[index]
    return {s for a in config._actions for s in a.option_strings}


# --------------------------------------------------------------------------------------------
# WiX source
# --------------------------------------------------------------------------------------------
def test_wxs_is_wix_v4_schema_per_machine_package_with_fixed_upgrade_code(wxs: ET.Element) -> None:
    assert wxs.tag == "{http://wixtoolset.org/schemas/v4/wxs}Wix"
    pkg = package(wxs)
    assert pkg.get("Scope") == "perMachine"
    upgrade_code = pkg.get("UpgradeCode") or ""
    assert GUID.match(upgrade_code), upgrade_code  # a literal GUID: never "*", never generated per build
    # a rebuild with the same version replaces the installed one instead of going in beside it
    assert only(pkg, "w:MajorUpgrade").get("AllowSameVersionUpgrades") == "yes"
    assert only(pkg, "w:MediaTemplate").get("EmbedCab") == "yes"  # one file to hand to IT
    install = only(pkg, "w:StandardDirectory/w:Directory", Id="INSTALLFOLDER")
    assert install.get("Name") == "softphone-assist"
    assert only(pkg, "w:StandardDirectory", Id="ProgramFiles64Folder").find("w:Directory", NS) is install


def test_wxs_version_is_handed_in_from_pyproject_by_the_build_script(wxs: ET.Element) -> None:
    text = WXS.read_text()
    assert package(wxs).get("Version") == "$(Version)"
    assert re.search(r"<\?ifndef Version \?>\s*<\?error [^>]+\?>\s*<\?endif \?>", text)  # no silent default
    script = BUILD_MSI.read_text()
    assert '-d "Version=$version"' in script and "$version = Get-ProjectVersion" in script
    # Run the script's own version reader (the Python it hands to the interpreter) on pyproject.toml.
    code = re.search(r'\$code = "([^"]+)"', script)
    assert code is not None
    out = subprocess.run([sys.executable, "-c", code.group(1), str(REPO / "pyproject.toml")],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == project_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", out), "an MSI ProductVersion must be X.Y.Z"


def test_build_scripts_use_the_pyinstaller_pin_of_build_bundle() -> None:
    pin = re.search(r'^PYINSTALLER = "(pyinstaller==[^"]+)"$', (REPO / "packaging" / "build-bundle").read_text(), re.M)
    assert pin is not None
    assert "PYINSTALLER = \"(pyinstaller==[^\"]+)\"" in BUILD_MSI.read_text()  # read, not copied
    shown = subprocess.run(["bash", str(MACOS / "build-pkg.sh"), "--show-inputs"], capture_output=True, text=True,
                           check=True, env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable}).stdout
    assert shown.splitlines() == [f"version {project_version()}", f"pyinstaller {pin.group(1)}"]


def test_wxs_public_properties_are_secure_and_each_reaches_the_custom_action(wxs: ET.Element) -> None:
    pkg = package(wxs)
    for prop in (*PUBLIC_PROPERTIES, "LOCK", "KEEP_CONFIG"):
        assert only(pkg, "w:Property", Id=prop).get("Secure") == "yes", prop
    parts = {e.get("Action"): e for e in pkg.iterfind("w:SetProperty", NS) if e.get("Id") == "SaInitArgs"}
    for prop in PUBLIC_PROPERTIES:
        assert any(f"[{prop}]" in (e.get("Value") or "") or prop in (e.get("Condition") or "")
                   for e in parts.values()), f"{prop} never reaches the init-machine command line"
    ca = only(pkg, "w:CustomAction", Id="SaWriteMachineConfig")
    assert ca.get("Execute") == "deferred" and ca.get("Impersonate") == "no" and ca.get("Return") == "check"
    assert (ca.get("ExeCommand") or "").startswith("config --init-machine[SaInitArgs] ")
    exe = only(pkg, "w:ComponentGroup/w:Component/w:File", Id=ca.get("FileRef") or "")
    assert exe.get("Source") == r"!(bindpath.bundle)\softphone-assist.exe"
    custom = only(pkg, "w:InstallExecuteSequence/w:Custom", Action="SaWriteMachineConfig")
    assert custom.get("After") == "InstallFiles"
    assert custom.get("Condition") == 'SaInitArgs AND NOT (REMOVE~="ALL")'  # never on uninstall
    config_dir = only(pkg, "w:StandardDirectory", Id="CommonAppDataFolder").find("w:Directory", NS)
    assert config_dir is not None and config_dir.get("Name") == "softphone-assist"
    assert f'--path "[{config_dir.get("Id")}]config.toml"' in (ca.get("ExeCommand") or "")


class _Msi:
    """Just enough of Windows Installer's property formatting and conditions to replay this package's
    SetProperty chain: `[NAME]` substitution, and the two condition forms the chain uses (`NAME`:
    set and not empty; `NAME="v"`). Anything else fails loudly instead of guessing."""

    def __init__(self, props: dict[str, str]) -> None:
        self.props = dict(props)

    def format(self, text: str) -> str:
        return re.sub(r"\[([A-Za-z_][A-Za-z0-9_.]*)\]", lambda m: self.props.get(m.group(1), ""), text)

    def true(self, condition: str) -> bool:
        if m := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)", condition):
            return bool(self.props.get(m.group(1)))
        if m := re.fullmatch(r'([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"', condition):
            return self.props.get(m.group(1)) == m.group(2)
        raise AssertionError(f"condition form not modelled here: {condition}")


def init_command(pkg: ET.Element, props: dict[str, str], config_dir: str) -> list[str] | None:
    """The command line the deferred custom action would run for these msiexec properties, in the
    sequence order the SetProperty chain declares (each After= the one before it)."""
    chain = {e.get("After"): e for e in pkg.iterfind("w:SetProperty", NS) if e.get("Id") == "SaInitArgs"}
    msi = _Msi({**props, "MachineConfigFolder": config_dir})
    after: str | None = "CostFinalize"
    while after in chain:
        step = chain[after]
        if msi.true(step.get("Condition") or ""):
            msi.props["SaInitArgs"] = msi.format(step.get("Value") or "")
        after = step.get("Action")
    assert len(chain) == 6 and after == "SaArgLock", "the SetProperty chain is not one straight line"
    if not msi.props.get("SaInitArgs"):
        return None  # the custom action's condition is false: the machine config is not touched
    ca = only(pkg, "w:CustomAction", Id="SaWriteMachineConfig")
    return shlex.split(msi.format(ca.get("ExeCommand") or ""))


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "softphone_assist", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_msi_properties_become_the_machine_config_through_the_real_init_command(wxs: ET.Element,
                                                                                tmp_path: Path) -> None:
    pkg = package(wxs)
    props = {"COMPANY": "Example Support Ltd", "LOCALE": "en", "TTS_MODE": "off", "AUTOSTART": "0"}
    cmd = init_command(pkg, props, f"{tmp_path}/")
    assert cmd == ["config", "--init-machine", "--company", "Example Support Ltd", "--locale", "en",
                   "--tts-mode", "off", "--autostart", "off", "--path", f"{tmp_path}/config.toml"]
    done = run_cli(cmd)
    assert done.returncode == 0, done.stderr
    config = tomllib.loads((tmp_path / "config.toml").read_text(encoding="utf-8"))
    assert (config["company"], config["locale"], config["tts"]["mode"], config["autostart"]) == \
        ("Example Support Ltd", "en", "off", False)

    # A later install with other properties: those keys change, the others stay, locks are added.
    cmd = init_command(pkg, {"AUTOSTART": "1", "LOCK": "company,locale"}, f"{tmp_path}/")
    assert cmd is not None and cmd[2:] == ["--autostart", "on", "--lock", "company,locale", "--path",
                                           f"{tmp_path}/config.toml"]
    assert run_cli(cmd).returncode == 0
    config = tomllib.loads((tmp_path / "config.toml").read_text(encoding="utf-8"))
    assert config["autostart"] is True and config["company"] == "Example Support Ltd"
    assert config["policy"]["locked"] == ["company", "locale"]

    assert init_command(pkg, {}, f"{tmp_path}/") is None  # no property given: the file is left alone


def test_msi_bad_property_value_makes_the_custom_action_fail(wxs: ET.Element, tmp_path: Path) -> None:
    cmd = init_command(package(wxs), {"TTS_MODE": "loud"}, f"{tmp_path}/")
    assert cmd is not None
    done = run_cli(cmd)
    assert done.returncode == 2 and "--tts-mode" in done.stderr  # Return="check": the install rolls back
    assert not (tmp_path / "config.toml").exists()


def test_wxs_autostart_value_shortcut_and_launch_condition(wxs: ET.Element) -> None:
    pkg = package(wxs)
    gui = only(pkg, "w:ComponentGroup/w:Component/w:File", Id="SaGuiExe")
    assert gui.get("Source") == r"!(bindpath.bundle)\softphone-assist-gui.exe"
    run = only(pkg, "w:Component/w:RegistryValue", Name="softphone-assist")
    assert (run.get("Root"), run.get("Key")) == ("HKLM", r"Software\Microsoft\Windows\CurrentVersion\Run")
    assert run.get("Value") == '"[#SaGuiExe]" run --if-autostart'  # always; the config decides
    shortcut = only(pkg, "w:Component/w:Shortcut", Id="SaStartMenu")
    assert (shortcut.get("Target"), shortcut.get("Arguments")) == ("[#SaGuiExe]", "run")
    assert only(pkg, "w:Component", Id="StartMenuShortcut").get("Directory") == "ProgramMenuFolder"
    launch = only(pkg, "w:Launch").get("Condition")
    assert launch == 'NOT AUTOSTART OR AUTOSTART="0" OR AUTOSTART="1"'  # also on a repair or re-run


def test_wxs_uninstall_removes_the_machine_config_unless_upgrading_or_kept(wxs: ET.Element) -> None:
    pkg = package(wxs)
    remove = only(pkg, "w:Component/util:RemoveFolderEx")
    assert remove.get("On") == "uninstall"
    assert remove.get("Condition") == "NOT UPGRADINGPRODUCTCODE AND NOT KEEP_CONFIG"
    prop = only(pkg, "w:SetProperty", Id=remove.get("Property") or "")
    assert prop.get("Value") == "[CommonAppDataFolder]softphone-assist\\"
    assert prop.get("After") == "AppSearch"  # before util's RemoveFoldersEx (Before="CostInitialize")
    sddl = only(pkg, "w:Component/w:CreateFolder/w:PermissionEx").get("Sddl") or ""
    # protected from ProgramData's inherited "Users may create files"; Users read and execute only
    assert "D:PAI" in sddl and "(A;OICI;0x1200a9;;;BU)" in sddl and sddl.count(";;;BU)") == 1


def test_wxs_and_windows_workflow_names_match_the_pyinstaller_spec() -> None:
    spec = SPEC.read_text()
    # the two executables the .wxs authors by name (console one for the custom action, the other for
    # the shortcut and the Run value), and resources/ as data: <bundle>\_internal\resources
    assert 'name="softphone-assist",' in spec and 'name="softphone-assist-gui",' in spec
    assert "datas=resource_datas," in spec
    assert 'str(Path("resources") / f.parent.relative_to(repo / "resources"))' in spec
    workflow = (WORKFLOWS / "windows.yml").read_text()
    assert r"$env:INSTALL_DIR\_internal\resources\demo\demo_call.wav" in workflow
    assert 'inst / "_internal" / "resources" / "demo"' in workflow


# --------------------------------------------------------------------------------------------
# macOS
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["build-pkg.sh", "uninstall.sh", "scripts/postinstall"])
def test_macos_scripts_pass_bash_n_and_are_executable(script: str) -> None:
    path = MACOS / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_macos_app_name_and_launch_agent_match_the_spec() -> None:
    bundle = re.search(r'BUNDLE\(\s*coll,\s*name="([^"]+\.app)",\s*bundle_identifier="([^"]+)"', SPEC.read_text())
    assert bundle is not None
    app = bundle.group(1)
    agent = plistlib.loads((MACOS / "com.softphone-assist.autostart.plist").read_bytes())
    assert agent["Label"] == "com.softphone-assist.autostart"
    assert agent["ProgramArguments"] == [f"/Applications/{app}/Contents/MacOS/softphone-assist", "run",
                                         "--if-autostart"]
    assert agent["RunAtLoad"] is True and agent["LimitLoadToSessionType"] == "Aqua"
    for script in ("build-pkg.sh", "uninstall.sh", "scripts/postinstall"):
        assert app in (MACOS / script).read_text(), script


def test_macos_postinstall_options_are_ones_init_machine_accepts() -> None:
    text = (MACOS / "scripts" / "postinstall").read_text()
    given = re.findall(r"args\+=\((--[a-z-]+) ", text)
    assert given == ["--company", "--locale", "--tts-mode", "--autostart", "--lock"]
    assert set(given) | {"--init-machine", "--path"} <= init_machine_options()
    assert '"$app" config --init-machine "${args[@]}" --path "$config"' in text


def test_macos_uninstall_forgets_the_receipt_and_removes_what_the_pkg_put_down() -> None:
    text = (MACOS / "uninstall.sh").read_text()
    build = (MACOS / "build-pkg.sh").read_text()
    pkg_id = re.search(r"^PKG_ID=(\S+)$", build, re.M)
    assert pkg_id is not None and f"PKG_ID={pkg_id.group(1)}" in text
    assert '/usr/sbin/pkgutil --forget "$PKG_ID"' in text
    staged = re.findall(r'"\$root/(Applications|Library/LaunchAgents)/', build)
    assert set(staged) == {"Applications", "Library/LaunchAgents"}  # the whole payload
    assert '/bin/rm -rf "$APP"' in text and '/bin/rm -f "$AGENT"' in text


# --------------------------------------------------------------------------------------------
# Workflows
# --------------------------------------------------------------------------------------------
def load_workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def steps_of(name: str) -> list[dict[str, Any]]:
    (job,) = load_workflow(name)["jobs"].values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def all_run_text(name: str) -> str:
    return "\n".join(s.get("run", "") for s in steps_of(name))


@pytest.mark.parametrize(("name", "runner"), [("windows.yml", "windows-latest"), ("macos.yml", "macos-latest")])
def test_workflow_is_valid_yaml_for_its_runner_with_python_311(name: str, runner: str) -> None:
    wf = load_workflow(name)
    triggers = wf["on"] if "on" in wf else wf[True]  # YAML 1.1, as PyYAML reads it: the key `on` is True
    assert set(triggers) >= {"push", "pull_request"}
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == runner
    setup = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert len(setup) == 1 and setup[0]["with"]["python-version"] == "3.11"
    upload = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(upload) == 1 and upload[0]["if"] == "always()"


@pytest.mark.parametrize("name", ["windows.yml", "macos.yml"])
def test_workflow_python_steps_compile_and_bash_steps_parse(name: str, tmp_path: Path) -> None:
    wf = load_workflow(name)
    (job,) = wf["jobs"].values()
    default_shell = job.get("defaults", {}).get("run", {}).get("shell")
    checked = 0
    for i, step in enumerate(job["steps"]):
        shell = step.get("shell", default_shell)
        if "run" not in step:
            continue
        if shell == "python":
            compile(step["run"], f"{name} step {i}", "exec")
            checked += 1
        elif shell == "bash":
            script = tmp_path / f"step{i}.sh"
            script.write_text(step["run"])
            subprocess.run(["bash", "-n", str(script)], check=True)
            checked += 1
    assert checked >= 3


def test_windows_workflow_installs_silently_replays_and_uninstalls() -> None:
    run = all_run_text("windows.yml")
    assert r"packaging\windows\build-msi.ps1" in run
    install = re.search(r'"/i `"\$env:MSI`" /qn /l\*v `"\$env:LOGS\\install\.log`" (.*)"', run)
    assert install is not None
    assert install.group(1) == 'COMPANY=`"$env:COMPANY`" LOCALE=en TTS_MODE=off AUTOSTART=0'
    assert '"/x `"$env:MSI`" /qn' in run
    assert '"--version"' in run and '"replay"' in run and "replay-source.jsonl" in run
    assert 'build\\source-venv\\Scripts\\python.exe", "-m", "pip", "install"' in run
    for gone in (r'"$env:ProgramData\softphone-assist"', "Softphone Assist.lnk", "CurrentVersion\\Run",
                 "HKLM:\\Software\\softphone-assist"):
        assert gone in run, gone


def test_macos_workflow_installs_replays_and_uninstalls() -> None:
    run = all_run_text("macos.yml")
    assert "packaging/macos/build-pkg.sh" in run
    assert 'sudo installer -pkg "$PKG" -target /' in run
    assert "sudo packaging/macos/uninstall.sh" in run
    assert '"--version"' in run and "softphone-assist\" replay" in run and "replay-source.jsonl" in run
    assert 'pkgutil --files "$PKG_ID"' in run and "cmp " in run


def test_replay_jsonl_is_utf8_when_stdout_defaults_to_a_windows_code_page(tmp_path: Path) -> None:
    """On Windows a redirected stdout gets the ANSI code page (cp1252), as the workflows' replay
    comparison redirects it; the Chinese greeting must still come out, as the same UTF-8 bytes."""
    demo = REPO / "resources" / "demo"
    cmd = [sys.executable, "-m", "softphone_assist", "replay", str(demo / "demo_call.wav"), "--events",
           str(demo / "demo_call.events.jsonl"), "--start-time", "2026-11-23T10:00:00", "--jsonl"]
    outs = []
    for encoding in ("utf-8", "cp1252"):
        done = subprocess.run(cmd, capture_output=True, timeout=300, cwd=tmp_path,
                              env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": encoding, "HOME": str(tmp_path)})
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        outs.append(done.stdout)
    assert outs[0] == outs[1]
    assert "上午好".encode() in outs[1]


def test_packaging_readme_says_what_was_not_run() -> None:
    text = (REPO / "packaging" / "README.md").read_text()
    section = text.split("## What was not run here", 1)[1]
    for thing in ("softphone-assist.wxs", "build-msi.ps1", "build-pkg.sh", "windows.yml", "macos.yml"):
        assert thing in section, thing
    assert "never built" in section and "never run" in section
