#!/usr/bin/env bash
# Builds the C# binding (build.sh) against <build-dir>/libnetmesh.so and runs the NUnit suite
# with Debian's nunit-console. Exits non-zero if the build or any test fails.
#
#   bindings/csharp/test.sh <build-dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
"$here/build.sh" "$1"
build=$(cd "$1" && pwd)
out=$build/csharp

# -pkg:nunit: Debian's pkg-config entry for nunit.framework 2.6 (libnunit-cil-dev)
mcs -nologo -target:library -langversion:7.2 -debug -pkg:nunit -r:"$out/Netmesh.dll" \
  -out:"$out/Netmesh.Tests.dll" "$here"/tests/*.cs

# Mono resolves [DllImport("netmesh_csharp")] through the loader path; libnetmesh.so itself is
# found through the glue's rpath, but list it too for tools that dlopen it directly.
export LD_LIBRARY_PATH="$out:$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$out"
nunit-console -nologo -labels -result="$out/TestResult.xml" "$out/Netmesh.Tests.dll"
