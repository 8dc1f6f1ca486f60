#!/usr/bin/env bash
# Consumer test (Go, CTest consumer.go): a module outside the source tree depends on netmesh
# installed with `cmake --install`, the way a Go user would: its require points at the
# module path, a replace at the installed sources, pkg-config finds the library. No
# LD_LIBRARY_PATH, no CGO_* flags, and a swig on PATH that fails if anything runs it.
#
#   tests/consumer/go.sh <build-dir>
set -euo pipefail
build_dir=$(cd "${1:?usage: tests/consumer/go.sh <build-dir>}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "consumer.go: go not found (skipped)"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build_dir" --prefix "$prefix" >/dev/null

unset LD_LIBRARY_PATH CGO_CFLAGS CGO_LDFLAGS CGO_CPPFLAGS GOFLAGS
mkdir "$work/bin"
printf '#!/bin/sh\necho "consumer.go: swig was run, but a user has no swig" >&2\nexit 1\n' >"$work/bin/swig"
chmod +x "$work/bin/swig"
export PATH=$work/bin:$PATH
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name netmesh.pc -print -quit)")
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod
[[ -n ${HOME:-} ]] || export GOCACHE=$work/gocache GOPATH=$work/gopath

cp -r "$here/go" "$work/app"
cd "$work/app"
go mod edit -replace "github.com/netmesh/netmesh/bindings/go=$prefix/share/netmesh/go"
go build -o consumer .
# grep without -q: -q exits at the first match, and under pipefail the SIGPIPE that ldd may
# then get failed this check on CI though the library was the installed one.
ldd ./consumer | grep "$prefix" >/dev/null || { echo "consumer.go: not linked against the installed library" >&2; ldd ./consumer >&2; exit 1; }
./consumer
