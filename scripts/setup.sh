#!/bin/bash
# Installs what arbor needs on a fresh Debian 12 machine with Node 20 (run as root):
# Debian packages for the native addon, the interop oracle (ostree), the reference web server
# (nginx) and the tools the tests drive; then the npm packages, the native addon and the build.
#   scripts/setup.sh [--no-apt]
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(ostree ostree-tests nginx attr gnupg openssl xz-utils zstd tar time e2fsprogs python3 make g++ mmdebstrap)
if [ "${1:-}" != "--no-apt" ]; then
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install: ${missing[*]}" >&2; exit 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  # (re)build the addon when it is missing or older than its sources
  addon=native/build/Release/arbor_native.node
  if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 -newer "$addon" \( -name '*.[ch]' -o -name binding.gyp \))" ]; then
    npm run build:native
  fi
fi
npm run build
