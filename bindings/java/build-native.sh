#!/usr/bin/env bash
# Generates the Java binding's SWIG sources and builds its native libraries; Maven runs it in
# generate-sources (pom.xml), so `mvn install` works from a clean checkout:
#
#   bindings/java/build-native.sh <lib-dir> <target-dir>
#
# <lib-dir> holds a built libnetmesh.so.0 (a CMake build directory or an installed lib dir).
# Writes <target-dir>/generated-sources/swig (package dev.netmesh.internal) and
# <target-dir>/native/linux-x86_64/{libnetmesh.so.0,libnetmesh_jni.so}: the jar carries both,
# and the JNI library finds libnetmesh.so.0 beside it (run path $ORIGIN).
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 <lib-dir> <target-dir>" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lib=$(cd "$1" && pwd)
target=$2
[[ -e $lib/libnetmesh.so.0 ]] ||
  { echo "build-native.sh: no libnetmesh.so.0 in $lib (build netmesh first, or -Dnetmesh.lib.dir=...)" >&2; exit 2; }
command -v swig >/dev/null || { echo "build-native.sh: swig not found" >&2; exit 2; }

javac_path=$(readlink -f "$(command -v javac)")
java_home=${JAVA_HOME:-$(dirname "$(dirname "$javac_path")")}
gen=$target/generated-sources/swig
native=$target/native/linux-x86_64
rm -rf "$gen" "$target/native"
mkdir -p "$gen/dev/netmesh/internal" "$native"

swig -java -package dev.netmesh.internal -I"$root/include" -I"$root/bindings" \
  -outdir "$gen/dev/netmesh/internal" -o "$target/native/netmesh_wrap.c" "$root/bindings/netmesh.i"
# Without debug information (16 MB with it): what a jar should carry.
strip --strip-unneeded -o "$native/libnetmesh.so.0" "$(readlink -f "$lib/libnetmesh.so.0")"
# -fno-strict-aliasing: SWIG's glue type-puns jlong <-> pointers, as its manual notes.
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -g -fPIC -shared -fno-strict-aliasing -Wall \
  -I"$root/include" -I"$java_home/include" -I"$java_home/include/linux" \
  "$target/native/netmesh_wrap.c" -L"$native" -l:libnetmesh.so.0 -Wl,-rpath,'$ORIGIN' \
  -o "$native/libnetmesh_jni.so"
strip --strip-unneeded "$native/libnetmesh_jni.so"
rm "$target/native/netmesh_wrap.c"
