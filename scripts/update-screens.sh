#!/usr/bin/env bash
# Copies the screenshots of the last end-to-end run (target/e2e-screenshots/) to docs/screens/,
# where the current ones are committed and shown in docs/SCREENS.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${CARGO_TARGET_DIR:-$ROOT/target}/e2e-screenshots"
mkdir -p "$ROOT/docs/screens"
rm -f "$ROOT/docs/screens/"*.png
for f in "$src"/*.png; do
  [[ "$(basename "$f")" == desktop-smoke.png ]] && continue
  cp "$f" "$ROOT/docs/screens/"
done
ls "$ROOT/docs/screens"
