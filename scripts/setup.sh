#!/usr/bin/env bash
# Installs what the project needs and is missing: Verilator from Debian's packages, npm packages from
# the lock file. Quiet and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".").map(Number).reduce((a, b, i) => i < 2 ? a * 1000 + b : a)')
if [ "$node_major" -lt 20019 ]; then
  echo "Node.js $(node --version) is too old: this project needs Node.js >= 20.19." >&2
  exit 1
fi

if ! command -v verilator >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Verilator from Debian's packages..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq verilator >/dev/null
  else
    echo "Verilator is not installed. Install it as root with:  apt-get install -y verilator  (e.g. sudo apt-get install -y verilator)" >&2
    exit 1
  fi
fi

# npm ci only when the lock file is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
