#!/bin/bash
# Build the macOS app and its installer package: dist/softphone-assist-<version>.pkg (path printed last).
#
#   packaging/macos/build-pkg.sh [--skip-bundle | --show-inputs]
#
# --skip-bundle: package the app already in dist/bundle/ (it must start) instead of freezing anew.
# --show-inputs: print the version (from pyproject.toml) and the PyInstaller pin (from
#                packaging/build-bundle) this build would use, and stop (runs on any OS).
#
# 1. A build venv (build/macos/venv, git-ignored) gets the project, installed non-editable with the
#    `app` extra, and the PyInstaller pinned in packaging/build-bundle (one pin for every OS).
# 2. PyInstaller runs packaging/pyinstaller/softphone-assist.spec (from a work dir, so the checkout is
#    not on its import path) with --distpath dist/bundle: dist/bundle/softphone-assist/ (the same
#    one-folder layout as on Linux) and dist/bundle/Softphone Assist.app (the spec's BUNDLE, with
#    NSMicrophoneUsageDescription). packaging/build-bundle itself only copies the one-folder bundle.
# 3. pkgbuild makes a component package from a staged root:
#      /Applications/Softphone Assist.app
#      /Library/LaunchAgents/com.softphone-assist.autostart.plist   (runs `run --if-autostart`)
#    plus scripts/postinstall (writes the machine config from IT's plist, see there). The bundle is
#    marked not relocatable: otherwise Installer "upgrades" any copy of an app with the same bundle
#    id it finds elsewhere (dist/bundle/ on a build machine) instead of putting it in /Applications.
#
# Not signed or notarised (no Developer ID here): to ship, sign the .app (codesign --deep
# --options runtime) and the pkg (productsign), then notarise (xcrun notarytool) and staple.
# Environment: PYTHON  the interpreter for the build venv (default python3; 3.11 or later).
# Exit codes: 0 ok, 1 a step failed (named on stderr).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
PKG_ID=com.softphone-assist.pkg
APP_NAME="Softphone Assist.app"
AGENT_PLIST="$REPO/packaging/macos/com.softphone-assist.autostart.plist"
WORK="$REPO/build/macos"

die() { echo "build-pkg: error: $*" >&2; exit 1; }
say() { echo "build-pkg: $*" >&2; }

skip_bundle=0
show_inputs=0
case "${1:-}" in
    "") ;;
    --skip-bundle) skip_bundle=1 ;;
    --show-inputs) show_inputs=1 ;;
    *) die "unknown option $1 (usage: build-pkg.sh [--skip-bundle | --show-inputs])" ;;
esac

version="$("$PYTHON" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$REPO/pyproject.toml")" || die "cannot read the version from pyproject.toml with $PYTHON"
pin="$(sed -n 's/^PYINSTALLER = "\(pyinstaller==[^"]*\)"$/\1/p' "$REPO/packaging/build-bundle")"
[ -n "$pin" ] || die "no PYINSTALLER = \"pyinstaller==X\" pin found in packaging/build-bundle"
if [ "$show_inputs" -eq 1 ]; then
    echo "version $version"
    echo "pyinstaller $pin"
    exit 0
fi

app="$REPO/dist/bundle/$APP_NAME"
if [ "$skip_bundle" -eq 0 ]; then
    venv="$WORK/venv"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating the build venv $venv"
        "$PYTHON" -m venv "$venv" || die "python -m venv failed"
    fi
    say "installing the project (non-editable, app extra) and $pin"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade "$pin" "${REPO}[app]" >&2 \
        || die "pip install failed"
    # Same version number as the previous build: force this checkout's code in.
    "$venv/bin/python" -m pip install --disable-pip-version-check -q --no-deps --force-reinstall "$REPO" >&2 \
        || die "pip install --force-reinstall failed"
    mkdir -p "$WORK/pyinstaller"
    rm -rf "$app"
    say "running PyInstaller (a few minutes)"
    (cd "$WORK/pyinstaller" && "$venv/bin/pyinstaller" --noconfirm --log-level WARN \
        --distpath "$REPO/dist/bundle" --workpath "$WORK/pyinstaller/build" \
        "$REPO/packaging/pyinstaller/softphone-assist.spec") >&2 || die "PyInstaller failed"
fi

exe="$app/Contents/MacOS/softphone-assist"
[ -x "$exe" ] || die "$exe is missing: the spec's BUNDLE did not make $APP_NAME"
started="$("$exe" --version)" || die "$exe --version failed"
[ "$started" = "softphone-assist $version" ] || die "the app says '$started', expected 'softphone-assist $version'"
/usr/libexec/PlistBuddy -c "Print :NSMicrophoneUsageDescription" "$app/Contents/Info.plist" >/dev/null \
    || die "$APP_NAME has no NSMicrophoneUsageDescription: macOS would kill it when it opens the microphone"
plutil -lint "$AGENT_PLIST" >&2 || die "$AGENT_PLIST is not a valid property list"

root="$WORK/root"
rm -rf "$root"
mkdir -p "$root/Applications" "$root/Library/LaunchAgents"
ditto "$app" "$root/Applications/$APP_NAME"  # ditto keeps the bundle's symlinks, modes and signature
install -m 0644 "$AGENT_PLIST" "$root/Library/LaunchAgents/"

components="$WORK/components.plist"
pkgbuild --analyze --root "$root" "$components" >&2
i=0
while /usr/libexec/PlistBuddy -c "Print :$i" "$components" >/dev/null 2>&1; do
    /usr/libexec/PlistBuddy -c "Set :$i:BundleIsRelocatable false" "$components"
    i=$((i + 1))
done
[ "$i" -gt 0 ] || die "pkgbuild --analyze found no bundle in $root"

pkg="$REPO/dist/softphone-assist-$version.pkg"
mkdir -p "$REPO/dist"
rm -f "$pkg"
chmod 0755 "$REPO/packaging/macos/scripts/postinstall"
pkgbuild --root "$root" --component-plist "$components" --scripts "$REPO/packaging/macos/scripts" \
    --identifier "$PKG_ID" --version "$version" --install-location / --ownership recommended "$pkg" >&2 \
    || die "pkgbuild failed"
echo "$pkg"
