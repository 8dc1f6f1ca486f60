#!/usr/bin/env bash
# Builds and tests the Java binding against a netmesh build:
#
#   bindings/java/test.sh <build-dir>      (the dir holding libnetmesh.so)
#
# 1. swig generates the Java wrapper (package dev.netmesh.internal) and the JNI C glue
#    into bindings/java/target (git-ignored, never committed);
# 2. the glue is compiled into target/native/libnetmesh_jni.so, linked against
#    <build-dir>/libnetmesh.so with an rpath to it, so nothing needs installing;
# 3. mvn runs the JUnit 5 suite, then the Surefire summary lines are printed.
# Maven's repository is ~/.m2 (or <build-dir>/m2 when HOME is unset); after the first
# run everything is cached and the build works offline.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ -e $build/libnetmesh.so ]] || { echo "test.sh: $build/libnetmesh.so not found" >&2; exit 2; }

javac_path=$(readlink -f "$(command -v javac)")
java_home=${JAVA_HOME:-$(dirname "$(dirname "$javac_path")")}

target=$here/target
gen=$target/generated-sources/swig
native=$target/native
rm -rf "$gen" "$native" "$target/surefire-reports"
mkdir -p "$gen/dev/netmesh/internal" "$native"

swig -java -package dev.netmesh.internal -I"$root/include" -I"$root/bindings" \
  -outdir "$gen/dev/netmesh/internal" -o "$native/netmesh_wrap.c" "$root/bindings/netmesh.i"

# -fno-strict-aliasing: SWIG's glue type-puns jlong <-> pointers, as its manual notes.
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -g -fPIC -shared -fno-strict-aliasing -Wall \
  -I"$root/include" -I"$java_home/include" -I"$java_home/include/linux" \
  "$native/netmesh_wrap.c" -L"$build" -lnetmesh -Wl,-rpath,"$build" \
  -o "$native/libnetmesh_jni.so"

mvn_args=(-q -B -Dstyle.color=never -f "$here/pom.xml" -Dnetmesh.jni.path="$native/libnetmesh_jni.so")
[[ -n ${HOME:-} ]] || mvn_args+=(-Dmaven.repo.local="$build/m2")

rc=0
# sed: Maven 3.8's -q still emits bare colour resets; pipefail keeps mvn's exit status.
mvn "${mvn_args[@]}" test 2>&1 | sed 's/\x1b\[[0-9;]*m//g' || rc=$?

# mvn -q hides Surefire's INFO summary; its reports hold the same lines.
reports=$target/surefire-reports
if compgen -G "$reports/*.txt" >/dev/null; then
  grep -h "^Tests run:" "$reports"/*.txt | sed 's/^/surefire: /'
  awk -F'[:,] *' '/^Tests run:/ {t+=$2; f+=$4; e+=$6; s+=$8}
    END {printf "surefire: total: Tests run: %d, Failures: %d, Errors: %d, Skipped: %d\n", t, f, e, s}' \
    "$reports"/*.txt
fi
if ((rc != 0)); then echo "java binding: FAILED" >&2; exit "$rc"; fi
echo "java binding: OK"
