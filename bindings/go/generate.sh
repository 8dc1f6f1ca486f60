#!/usr/bin/env bash
# Regenerates the committed SWIG wrapper of the Go binding (internal/capi/capi.go and
# capi_wrap.c) from bindings/netmesh.i, netmesh_go.i and include/*.h, as `go build` would
# from a .swig file; Go users then need no swig. With --check, writes nothing and fails if
# the committed files differ from what swig makes now (CTest bindings.go_wrapper_current).
#
#   bindings/go/generate.sh [--check]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
capi=$here/internal/capi
command -v swig >/dev/null || { echo "generate.sh: swig not found" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$capi" && swig -go -cgo -intgosize 64 -module capi -I"$repo/include" \
  -o "$out/capi_wrap.c" -outdir "$out" capi.i)
if [[ ${1:-} == --check ]]; then
  stale=0
  for f in capi.go capi_wrap.c; do
    # The swig version in the banner is not the interface.
    if ! diff -q <(grep -v '^ \* Version ' "$capi/$f") <(grep -v '^ \* Version ' "$out/$f") >/dev/null; then
      echo "generate.sh: bindings/go/internal/capi/$f is stale: run bindings/go/generate.sh" >&2
      stale=1
    fi
  done
  exit "$stale"
fi
cp "$out/capi.go" "$out/capi_wrap.c" "$capi/"
echo "generate.sh: wrote internal/capi/capi.go and capi_wrap.c"
