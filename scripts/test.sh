#!/bin/bash
# Sets up (Debian packages, npm packages, native addon, build), type-checks, lints (Biome) and runs every test:
# unit, interop (against the real ostree) and e2e (bin/arbor as a user runs it, nginx on loopback).
#   scripts/test.sh [vitest args…]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx biome ci src test bench
npx vitest run "$@"
