#!/usr/bin/env bash
# Consumer test (C#, CTest consumer.csharp): the binding's NuGet package, packed by its own
# build (CMake's csharp_package target: bindings/csharp/build.sh, nuget pack) and installed
# by cmake --install into share/netmesh/nuget, a local package folder; a Mono
# project outside the source tree restores it from there (nuget install, packages.config),
# builds with xbuild and runs two nodes over a reliable stream. No LD_LIBRARY_PATH, no
# dllmap, and a swig on PATH that fails if the consumer's build runs it.
#
#   tests/consumer/csharp.sh <build-dir>
set -euo pipefail
build_dir=$(cd "${1:?usage: tests/consumer/csharp.sh <build-dir>}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for tool in mono xbuild nuget; do
  command -v "$tool" >/dev/null || { echo "consumer.csharp: $tool not found (skipped)"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The package as cmake --install delivers it: share/netmesh/nuget is the local package source.
cmake --build "$build_dir" --target csharp_package >/dev/null
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
feed=$work/prefix/share/netmesh/nuget
[[ -f $feed/Netmesh.0.3.0.nupkg ]] || { echo "consumer.csharp: cmake --install did not install the package" >&2; exit 1; }

unset LD_LIBRARY_PATH MONO_PATH MONO_CONFIG
mkdir "$work/bin"
printf '#!/bin/sh\necho "consumer.csharp: swig was run, but a user has no swig" >&2\nexit 1\n' >"$work/bin/swig"
chmod +x "$work/bin/swig"
export PATH=$work/bin:$PATH
export HOME=${HOME:-$work/home} # nuget keeps its settings and cache there
cp -r "$here/csharp" "$work/app"
cd "$work/app"
nuget install packages.config -Source "$feed" -OutputDirectory packages -NoCache -NonInteractive >/dev/null
xbuild /nologo /verbosity:quiet Consumer.csproj >"$work/xbuild.log" 2>&1 || { cat "$work/xbuild.log" >&2; exit 1; }
ls bin | grep "\.so" >/dev/null && { echo "consumer.csharp: bin/ has native libraries: the package's loader would go untested" >&2; exit 1; }
mono bin/Consumer.exe
