#!/usr/bin/env bash
# Installs what the project needs and is missing: Verilator, Icarus Verilog and z3 from Debian's
# packages, npm packages from the lock file. Quiet and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".").map(Number).reduce((a, b, i) => i < 2 ? a * 1000 + b : a)')
if [ "$node_major" -lt 20019 ]; then
  echo "Node.js $(node --version) is too old: this project needs Node.js >= 20.19." >&2
  exit 1
fi

# Debian packages: Verilator (the simulator every RTL test uses), Icarus Verilog (the 4-state
# simulator of the F-7 tests) and z3 (the native proof engine of `cdna prove` and test/formal; without
# it the proofs run on yosys' sat, slower). As root the missing ones are installed; otherwise the
# command is printed.
missing=()
command -v verilator >/dev/null 2>&1 || missing+=(verilator)
command -v iverilog >/dev/null 2>&1 && command -v vvp >/dev/null 2>&1 || missing+=(iverilog)
# z3 is optional: without it the proofs fall back to yosys' sat, so its absence warns, never fails.
optional=()
command -v z3 >/dev/null 2>&1 || optional+=(z3)
if [ ${#missing[@]} -gt 0 ] || [ ${#optional[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]} ${optional[*]} from Debian's packages..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" "${optional[@]}" >/dev/null
  elif [ ${#missing[@]} -gt 0 ]; then
    echo "Missing: ${missing[*]} ${optional[*]}. Install as root with:  apt-get install -y ${missing[*]} ${optional[*]}  (e.g. sudo apt-get install -y ${missing[*]} ${optional[*]})" >&2
    exit 1
  else
    echo "setup: z3 is not installed; proofs will use yosys' sat (slower). Install it with:  sudo apt-get install -y z3" >&2
  fi
fi

# npm ci only when the lock file is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
