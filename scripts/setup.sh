#!/usr/bin/env bash
# Installs everything KrizLink needs on Debian 12, skipping what is already there:
# Debian packages, the wasm32 Rust target, and wasm-bindgen-cli of exactly the version in
# Cargo.lock (from crates.io). Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail

export PATH="$HOME/.cargo/bin:$PATH"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The Debian packages: webkit/gtk to build and run the desktop app, Xvfb + xauth for the
# window in tests, WebKitWebDriver for end-to-end tests, ImageMagick for screenshots, faketime
# for the test of a laptop whose clock ran a month ahead, poppler-utils (pdftotext) for the test
# that reads back the text of a situation report's PDF.
# Tauri's usual list also has libssl-dev, librsvg2-dev and libayatana-appindicator3-dev: nothing
# in our build links them (no openssl-sys, no tray icon), so they are left out until it does.
DEBIAN_PACKAGES=(
  build-essential pkg-config
  libwebkit2gtk-4.1-dev libgtk-3-dev
  xvfb xauth webkit2gtk-driver imagemagick faketime poppler-utils
)

say() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "[setup] missing Debian packages (run as root, or: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

if ! command -v cargo >/dev/null; then
  echo "[setup] cargo not found: install Rust with rustup first" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
else
  say "wasm32 target present"
fi

# wasm-bindgen-cli must match the wasm-bindgen library exactly; the version comes from
# Cargo.lock (pinned with "=" in Cargo.toml), never from the internet at run time.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [[ -z "$WASM_BINDGEN_VERSION" ]]; then
  echo "[setup] cannot read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
# Installed under its own root per version, so two checkouts pinned differently never
# reinstall over each other; build-ui.sh runs it from there.
WASM_BINDGEN="$HOME/.cargo/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
if [[ "$("$WASM_BINDGEN" --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (a few minutes)"
  # Without --locked: the CLI's own lockfile has pinned crates newer than the registry had.
  cargo install --quiet --root "$HOME/.cargo/wasm-bindgen-$WASM_BINDGEN_VERSION" \
    wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
else
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION present"
fi
export WASM_BINDGEN
export WASM_BINDGEN_VERSION

# The end-to-end tests drive the app through Debian's WebKitWebDriver directly (no
# tauri-driver: its pooled proxy connection broke sessions with WebKitWebDriver 2.50.6; see
# tests/src/webdriver.rs). Say which webview and driver builds are here, so a red run can be
# matched to them.
say "webview and driver: $(dpkg-query -W -f='${Package} ${Version}  ' \
  webkit2gtk-driver libwebkit2gtk-4.1-0 libjavascriptcoregtk-4.1-0 libsoup-3.0-0 xvfb 2>/dev/null)"
