#!/usr/bin/env bash
# Interop with a real net-mesh 0.23 node: runs tests/interop/ with pytest against
# <build-dir>/libnetmesh.so and the Rust node from the PyPI wheel net-mesh==0.23.0.
#
#   tests/interop/run.sh <build-dir>        (INTEROP_LONG=1: the full 120 s idle check)
#
# The venv lives in <build-dir>/interop-venv. If the wheel cannot be installed (no
# registry, no cp311 manylinux wheel for this Python/platform) it prints
# "interop: SKIPPED (reason)" and exits 77, which CTest reports as skipped (SKIP_RETURN_CODE),
# never as passed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="${1:-}"
if [[ -z "$build_dir" ]]; then
  echo "usage: $0 <build-dir>" >&2
  exit 2
fi
build_dir="$(cd "$build_dir" && pwd)" || exit 2
lib="$build_dir/libnetmesh.so"
if [[ ! -f "$lib" ]]; then
  echo "interop: $lib not found (build first)" >&2
  exit 2
fi

skip() {
  echo "interop: SKIPPED ($1)"
  exit 77
}

python="${INTEROP_PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || skip "no $python"
venv="$build_dir/interop-venv"
log="$build_dir/interop-pip.log"

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$venv"
  "$python" -m venv "$venv" >"$log" 2>&1 || skip "cannot create a venv with $python: $(tail -1 "$log")"
fi
vpy="$venv/bin/python"

have_pkgs() {
  "$vpy" - <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
try:
    ok = md.version("net-mesh") == "0.23.0"
    md.version("pytest")
except md.PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

if ! have_pkgs; then
  # pytest first: without it there is nothing to run either way.
  if ! "$vpy" -m pip install --disable-pip-version-check -q pytest >"$log" 2>&1; then
    skip "pip could not install pytest: $(grep -m1 -i error "$log" || tail -1 "$log")"
  fi
  # Only the prebuilt wheel counts: a source build would need the whole Rust workspace.
  if ! "$vpy" -m pip install --disable-pip-version-check -q --only-binary=:all: \
      "net-mesh==0.23.0" >"$log" 2>&1; then
    skip "the net-mesh==0.23.0 wheel cannot be installed for $("$vpy" -c 'import sys,platform; print(f"cp{sys.version_info[0]}{sys.version_info[1]} {platform.machine()}")'): $(grep -m1 -i error "$log" || tail -1 "$log")"
  fi
fi
"$vpy" -c 'import net; net.NetMesh' >"$log" 2>&1 \
  || skip "net-mesh 0.23.0 installed but does not import: $(tail -1 "$log")"

cd "$here" || exit 2
export NETMESH_BUILD_DIR="$build_dir"
export PYTHONDONTWRITEBYTECODE=1
# -rxXs: list xfails, unexpected passes and skips; timings print at the end.
"$vpy" -m pytest "$here" -p no:cacheprovider -rxXs -v
exit $?
