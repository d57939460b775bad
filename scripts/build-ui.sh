#!/usr/bin/env bash
# Builds the Yew UI to ui/dist: cargo (wasm32) + wasm-bindgen + the static files. The desktop
# app embeds ui/dist at compile time, so this runs before the desktop crate is built.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${WASM_BINDGEN:?set by scripts/setup.sh: run scripts/test.sh or scripts/run.sh}"
PROFILE="${KRIZLINK_UI_PROFILE:-release}"
cargo build --quiet -p krizlink-ui --profile "$PROFILE" --target wasm32-unknown-unknown
out_dir="$PROFILE"
[[ "$PROFILE" == "dev" ]] && out_dir=debug
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
rm -rf ui/dist.new
mkdir -p ui/dist.new
"$WASM_BINDGEN" --target web --no-typescript --out-dir ui/dist.new --out-name krizlink_ui \
  "$target_dir/wasm32-unknown-unknown/$out_dir/krizlink-ui.wasm"
cp ui/index.html ui/main.js ui/style.css ui/dist.new/
# The desktop binary embeds ui/dist and cargo rebuilds it when those files' times change: keep
# the old files when nothing changed, so a second run does not relink the desktop app.
if [[ -d ui/dist ]] && diff -rq ui/dist.new ui/dist >/dev/null; then
  rm -rf ui/dist.new
  echo "[ui] ui/dist unchanged"
else
  rm -rf ui/dist
  mv ui/dist.new ui/dist
  echo "[ui] built ui/dist ($(du -sh ui/dist | cut -f1))"
fi
