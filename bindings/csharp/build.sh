#!/usr/bin/env bash
# Builds the C# binding against <build-dir>/libnetmesh.so, everything into <build-dir>/csharp/
# (git-ignored with the build dir; nothing generated is committed):
#   gen/                    swig -csharp output (C glue + internal Netmesh.Native classes)
#   libnetmesh_csharp.so    the C glue, linked to ../libnetmesh.so (rpath $ORIGIN/..)
#   native/                 stripped libnetmesh.so.0 and glue, embedded in Netmesh.dll
#   Netmesh.dll             generated classes + bindings/csharp/src (namespace Netmesh), and
#                           the native libraries as resources (src/NativeLoader.cs)
#   nupkg/Netmesh.0.3.0.nupkg  the NuGet package (Netmesh.nuspec), if nuget is installed
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

# '$ORIGIN/..' finds libnetmesh.so next to this build's csharp/ dir without LD_LIBRARY_PATH;
# '$ORIGIN' finds it beside the glue where NativeLoader extracts both. The soname is what the
# runtime's lookup of "netmesh_csharp" matches once NativeLoader has loaded it.
${CC:-cc} -std=c11 -O2 -Wall -Wextra -fPIC -shared -I"$repo/include" "$gen/netmesh_csharp_wrap.c" \
  -o "$out/libnetmesh_csharp.so" -L"$build" -l:libnetmesh.so.0 -Wl,-soname,libnetmesh_csharp.so \
  -Wl,-rpath,'$ORIGIN/..:$ORIGIN'
rm -rf "$out/native"
mkdir -p "$out/native"
strip --strip-unneeded -o "$out/native/libnetmesh.so.0" "$(readlink -f "$build/libnetmesh.so.0")"
strip --strip-unneeded -o "$out/native/libnetmesh_csharp.so" "$out/libnetmesh_csharp.so"
resources=()
for lib in libnetmesh.so.0 libnetmesh_csharp.so; do
  resources+=("-resource:$out/native/$lib,Netmesh.native.linux-x64.$lib")
done

# -langversion:7.2 for Span<T> (mcs accepts up to 7.2); -unsafe for the pinned-span receive.
mcs -nologo -target:library -unsafe -langversion:7.2 -debug -out:"$out/Netmesh.dll" \
  "${resources[@]}" "$gen"/*.cs "$here"/src/*.cs
for prog in Sender Receiver; do
  mcs -nologo -langversion:7.2 -debug -out:"$out/$prog.exe" -r:"$out/Netmesh.dll" \
    "$repo/examples/csharp/$prog.cs" "$repo/examples/csharp/Common.cs"
done
if command -v nuget >/dev/null; then
  rm -rf "$out/nupkg"
  mkdir -p "$out/nupkg"
  nuget pack "$here/Netmesh.nuspec" -BasePath "$out" -OutputDirectory "$out/nupkg" -NoPackageAnalysis \
    -NonInteractive >/dev/null
fi
echo "build.sh: C# binding built in $out"
