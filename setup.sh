#!/usr/bin/env bash
# Set up softphone-assist on a fresh Debian 12 machine and run it:
#   ./setup.sh demo    install what is missing, then replay the bundled demo call
#   ./setup.sh test    install what is missing (test tools too), then run the whole test suite
#   ./setup.sh install install only
# Needs root (or sudo) only when Debian packages are missing. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-install}"
shift || true

# What the app needs at run time, and what the tests need on top (real speech, a sound server,
# a virtual display, CJK fonts for the overlay screenshot).
RUNTIME_PKGS=(python3 python3-venv libportaudio2 libsndfile1 espeak-ng libespeak-ng1
              libasound2-plugins libpulse0 asterisk-core-sounds-en-wav fonts-wqy-microhei
              libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
              libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1 libxcb-shape0 libxcb-xinerama0
              libxcb-randr0 libxcb-xfixes0)
# tests: a second real voice, the `en` alias folder of the recorded prompts (asterisk-core-sounds-en
# makes /usr/share/asterisk/sounds/en; -en-wav alone does not), a private sound server and real
# softphones (shared/e2e/softphone-lab), a virtual display with a window manager
TEST_PKGS=(sox asterisk-core-sounds-en asterisk-core-sounds-it-wav
           asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav asterisk-core-sounds-ru-wav  # tests/test_prompt_timing.py's voices
           pulseaudio pulseaudio-utils alsa-utils baresip-core baresip-x11
           iproute2 coreutils xvfb xauth openbox x11-utils
           chromium  # tests/test_audit_report.py opens the audit report in real headless Chromium
           dpkg-dev patchelf lintian mmdebstrap  # packaging/build-deb; tests/test_deb.py's clean Debian root
           pipewire pipewire-pulse wireplumber dbus-daemon)  # tests/test_libpulse.py, bench_live_cpu.py: PipeWire

pkgs=("${RUNTIME_PKGS[@]}")
[ "$mode" = test ] && pkgs+=("${TEST_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: Python 3.11 or newer is needed ($PY is $("$PY" --version 2>&1))" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras="app"
[ "$mode" = test ] && extras="app,dev"
stamp=".venv/.installed-$extras-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi

case "$mode" in
  demo)    exec .venv/bin/softphone-assist demo "$@" ;;
  test)    exec .venv/bin/python -m pytest "$@" ;;
  install) echo "setup: installed; run .venv/bin/softphone-assist --help" >&2 ;;
  *)       echo "usage: ./setup.sh demo|test|install" >&2; exit 2 ;;
esac
