#!/usr/bin/env bash
# Consumer test (C#, CTest consumer.csharp): the binding's NuGet package, packed by its own
# build (bindings/csharp/build.sh: nuget pack), is put in a local package folder; a Mono
# project outside the source tree restores it from there (nuget install, packages.config),
# builds with xbuild and runs two nodes over a reliable stream. No LD_LIBRARY_PATH, no
# dllmap, and a swig on PATH that fails if the consumer's build runs it.
#
#   tests/consumer/csharp.sh <build-dir>
set -euo pipefail
build_dir=$(cd "${1:?usage: tests/consumer/csharp.sh <build-dir>}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
for tool in mono xbuild nuget; do
  command -v "$tool" >/dev/null || { echo "consumer.csharp: $tool not found (skipped)"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$repo/bindings/csharp/build.sh" "$build_dir" >/dev/null
mkdir "$work/feed"
cp "$build_dir"/csharp/nupkg/Netmesh.0.3.0.nupkg "$work/feed/"

unset LD_LIBRARY_PATH MONO_PATH MONO_CONFIG
mkdir "$work/bin"
printf '#!/bin/sh\necho "consumer.csharp: swig was run, but a user has no swig" >&2\nexit 1\n' >"$work/bin/swig"
chmod +x "$work/bin/swig"
export PATH=$work/bin:$PATH
export HOME=${HOME:-$work/home} # nuget keeps its settings and cache there
cp -r "$here/csharp" "$work/app"
cd "$work/app"
nuget install packages.config -Source "$work/feed" -OutputDirectory packages -NoCache -NonInteractive >/dev/null
xbuild /nologo /verbosity:quiet Consumer.csproj >"$work/xbuild.log" 2>&1 || { cat "$work/xbuild.log" >&2; exit 1; }
ls bin | grep -q "\.so" && { echo "consumer.csharp: bin/ has native libraries: the package's loader would go untested" >&2; exit 1; }
mono bin/Consumer.exe
