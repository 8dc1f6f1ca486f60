#!/usr/bin/env bash
# Installs the Debian packages netmesh builds and tests with. Idempotent: apt runs only
# when something is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libsodium-dev libuv1-dev libb2-dev libxxhash-dev libssl-dev
  libgtest-dev libcmocka-dev
  clang libclang-rt-14-dev  # libFuzzer targets (tests/fuzz), run by scripts/test.sh
  iproute2 nftables ethtool iputils-ping jq  # the WAN test bed (tests/wan/bed.sh)
  conntrack  # the NAT test bed (tests/nat/run.sh): flushes a router's mappings
)

# Each binding lists the Debian packages it needs in bindings/<lang>/packages.txt.
root="$(cd "$(dirname "$0")/.." && pwd)"
for list in "$root"/bindings/*/packages.txt; do
  [ -f "$list" ] && while read -r p; do [ -n "$p" ] && packages+=("$p"); done <"$list"
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi
