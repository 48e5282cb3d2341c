#!/usr/bin/env bash
# Installs the Debian packages ppml needs, only those missing. Debian packages only, by name.
# Usage: scripts/deps.sh [build|bench]   (bench adds the packages only benchmarks need)
set -euo pipefail

pkgs=(build-essential cmake pkg-config libgmp-dev libsodium-dev libsqlite3-dev zlib1g-dev
      libjansson-dev libzmq3-dev libopenmpi-dev openmpi-bin python3)
if [[ "${1:-build}" == bench ]]; then
  pkgs+=(gnuplot-nox dataset-fashion-mnist)
fi

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "ppml: installing missing Debian packages: ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "ppml: error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
