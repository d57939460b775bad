#!/usr/bin/env bash
# Runs the whole KrizLink suite: set-up, formatting, lints, the wasm32 build of the core, and
# every test (unit, property, multi-process, the real desktop window under Xvfb).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

START=$(date +%s)
step() {
  local name="$1"; shift
  local t0; t0=$(date +%s)
  printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$name"
  "$@"
  printf '<== %s: %ss\n' "$name" "$(( $(date +%s) - t0 ))"
}

step "set-up" source scripts/setup.sh
step "UI build (wasm)" scripts/build-ui.sh
step "cargo fmt --check" cargo fmt --all -- --check
step "clippy (native, all targets)" cargo clippy --quiet --workspace --all-targets --all-features -- -D warnings
step "clippy (UI, wasm32)" cargo clippy --quiet -p krizlink-ui --target wasm32-unknown-unknown -- -D warnings
step "wasm32 check of krizlink-core" cargo check --quiet -p krizlink-core --no-default-features --target wasm32-unknown-unknown
# The UI runs as wasm and is exercised through the desktop app; its unit tests (permissions,
# deliveries, the drill screens' formatting) are pure Rust and run natively on their own, so
# the workspace's build and test runs below keep one feature resolution and share one build.
step "UI unit tests (native)" cargo test --quiet -p krizlink-ui
step "build binaries" cargo build --quiet --workspace --exclude krizlink-ui --bins
step "tests" cargo test --workspace --exclude krizlink-ui
printf '\nAll checks passed in %ss.\n' "$(( $(date +%s) - START ))"
