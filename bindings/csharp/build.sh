#!/usr/bin/env bash
# Builds the C# binding against <build-dir>/libnetmesh.so, everything into <build-dir>/csharp/
# (git-ignored with the build dir; nothing generated is committed):
#   gen/                    swig -csharp output (C glue + internal Netmesh.Native classes)
#   libnetmesh_csharp.so    the C glue, linked to ../libnetmesh.so (rpath $ORIGIN/..)
#   Netmesh.dll             generated classes + bindings/csharp/src (namespace Netmesh)
#   Sender.exe Receiver.exe examples/csharp
#
#   bindings/csharp/build.sh <build-dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
build=$(cd "$1" && pwd)
[[ -e $build/libnetmesh.so ]] || { echo "build.sh: $build/libnetmesh.so not found (build the library first)" >&2; exit 2; }
out=$build/csharp
gen=$out/gen

rm -rf "$gen"
mkdir -p "$gen"
swig -csharp -namespace Netmesh.Native -dllimport netmesh_csharp -I"$repo/include" \
  -outdir "$gen" -o "$gen/netmesh_csharp_wrap.c" "$repo/bindings/netmesh.i"

# '$ORIGIN/..' finds libnetmesh.so next to this build's csharp/ dir without LD_LIBRARY_PATH.
${CC:-cc} -std=c11 -O2 -Wall -Wextra -fPIC -shared -I"$repo/include" "$gen/netmesh_csharp_wrap.c" \
  -o "$out/libnetmesh_csharp.so" -L"$build" -lnetmesh -Wl,-rpath,'$ORIGIN/..'

# -langversion:7.2 for Span<T> (mcs accepts up to 7.2); -unsafe for the pinned-span receive.
mcs -nologo -target:library -unsafe -langversion:7.2 -debug -out:"$out/Netmesh.dll" \
  "$gen"/*.cs "$here"/src/*.cs
for prog in Sender Receiver; do
  mcs -nologo -langversion:7.2 -debug -out:"$out/$prog.exe" -r:"$out/Netmesh.dll" \
    "$repo/examples/csharp/$prog.cs" "$repo/examples/csharp/Common.cs"
done
echo "build.sh: C# binding built in $out"
