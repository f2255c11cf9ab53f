"""setup.sh installs every recorded-speech package the suite reads, so a fresh machine passes.

The suite names prompts as `<folder>/<prompt>` (`en_US_f_Allison/hello-world`, `en/hello-world`).
A machine where someone installed packages by hand can pass while a fresh one fails (the `en`
alias folder once came only from a package setup.sh did not list): this test ties each folder
the tests name to the package that provides it and checks setup.sh lists that package.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from callkit import SOUNDS, _package_of

ROOT = Path(__file__).resolve().parent.parent
# a prompt name in a string literal: a language alias (`en/…`) or a voice folder (`en_US_f_Allison/…`)
PROMPT_NAME = re.compile(r"""["']([a-z]{2}|[a-z]{2}_[A-Z]{2}_[mf]_[A-Za-z]+)/[a-z0-9][a-z0-9/_-]*["']""")


def _setup_packages() -> set[str]:
    """The package lists exactly as bash reads them (comments inside the arrays included)."""
    script = ('eval "$(sed -n "/^RUNTIME_PKGS=(/,/^pkgs=/p" setup.sh | grep -v "^pkgs=")"; '
              'printf "%s\\n" "${RUNTIME_PKGS[@]}" "${TEST_PKGS[@]}"')
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _folders_the_suite_reads() -> set[str]:
    folders: set[str] = set()
    for path in [*ROOT.glob("tests/*.py"), *ROOT.glob("bench/*.py")]:
        for m in PROMPT_NAME.finditer(path.read_text(encoding="utf-8")):
            if not m.group(1).startswith("xx"):  # the tests' deliberately missing voice
                folders.add(m.group(1))
    return folders


def test_the_scan_finds_the_folders_the_suite_is_known_to_use() -> None:
    assert {"en", "en_US_f_Allison", "it_IT_m_Carlo"} <= _folders_the_suite_reads()


@pytest.mark.parametrize("folder", sorted(_folders_the_suite_reads()))
def test_setup_sh_installs_the_package_of_every_speech_folder(folder: str) -> None:
    assert _package_of(f"{folder}/x") in _setup_packages(), f"add {_package_of(folder + '/x')} to setup.sh"


@pytest.mark.parametrize("folder", sorted(_folders_the_suite_reads()))
def test_the_named_package_really_provides_the_folder(folder: str) -> None:
    package = _package_of(f"{folder}/x")
    path = SOUNDS / folder
    if path.is_symlink():  # the alias is an update-alternatives link that the base package registers
        query = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True, check=True)
        assert f"/usr/share/doc/{package}" in query.stdout
        alternatives = subprocess.run(["update-alternatives", "--query", f"asterisk-prompt-{folder}"],
                                      capture_output=True, text=True)
        assert alternatives.returncode == 0 and "Value: " in alternatives.stdout
    else:
        owner = subprocess.run(["dpkg-query", "-S", str(path)], capture_output=True, text=True, check=True)
        assert owner.stdout.split(":", 1)[0] == package
