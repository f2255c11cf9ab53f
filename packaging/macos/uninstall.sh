#!/bin/bash
# Remove softphone-assist from a Mac: what the pkg put down, the machine config, the pkg receipt.
#
#   sudo packaging/macos/uninstall.sh [--keep-config]
#
# Removes /Applications/Softphone Assist.app, /Library/LaunchAgents/com.softphone-assist.autostart.plist
# (after stopping that agent in every logged-in user's session), the machine config folder
# /Library/Application Support/softphone-assist and IT's install settings
# /Library/Preferences/com.softphone-assist.install.plist (both kept with --keep-config), and then
# forgets the receipt (pkgutil --forget com.softphone-assist.pkg), so a later install is a fresh one.
# Per-user data (~/Library/Application Support/softphone-assist, ~/Library/Caches/softphone-assist)
# belongs to the users and stays.
# Exit codes: 0 removed (or nothing was installed), 2 bad usage or not run as root.
set -euo pipefail

PKG_ID=com.softphone-assist.pkg
AGENT_LABEL=com.softphone-assist.autostart
APP="/Applications/Softphone Assist.app"
AGENT="/Library/LaunchAgents/$AGENT_LABEL.plist"
MACHINE_CONFIG_DIR="/Library/Application Support/softphone-assist"
INSTALL_SETTINGS="/Library/Preferences/com.softphone-assist.install.plist"

keep_config=0
case "${1:-}" in
    "") ;;
    --keep-config) keep_config=1 ;;
    *) echo "uninstall.sh: unknown option $1 (usage: sudo uninstall.sh [--keep-config])" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "uninstall.sh: run it as root: sudo $0 ${1:-}" >&2
    exit 2
fi

# The agent's job in each GUI session (the app it started, if autostart is on, goes with it).
for uid in $(/bin/ps -axo uid=,comm= | /usr/bin/awk '$2 ~ /loginwindow$/ {print $1}' | /usr/bin/sort -u); do
    /bin/launchctl bootout "gui/$uid/$AGENT_LABEL" 2>/dev/null || true
done

/bin/rm -rf "$APP"
/bin/rm -f "$AGENT"
if [ "$keep_config" -eq 0 ]; then
    /bin/rm -rf "$MACHINE_CONFIG_DIR"
    /bin/rm -f "$INSTALL_SETTINGS"
fi
if /usr/sbin/pkgutil --pkg-info "$PKG_ID" >/dev/null 2>&1; then
    /usr/sbin/pkgutil --forget "$PKG_ID" >/dev/null
fi
echo "uninstall.sh: softphone-assist removed$([ "$keep_config" -eq 1 ] && echo ' (machine config kept)')"
