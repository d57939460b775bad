#!/usr/bin/env bash
# Runs KrizLink: installs what is missing, builds the UI and starts the desktop app on the
# display. On a first start (no identity in the data dir) the app opens on its first-run screen
# (create an identity, then create or join a space). The data dir is KRIZLINK_DATA_DIR, else
# $XDG_DATA_HOME/krizlink, else ~/.local/share/krizlink.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "No display (DISPLAY/WAYLAND_DISPLAY unset): the desktop app needs one. On a server, run the headless peer instead: cargo build --release -p krizlink-core --features cli --bin krizlink-node, then target/release/krizlink-node init --name NAME and target/release/krizlink-node serve (docs/CLI.md)." >&2
  exit 3
fi
scripts/build-ui.sh
exec cargo run --quiet --release -p krizlink-desktop
