#!/usr/bin/env bash
# Builds and tests the Java binding against a netmesh build:
#
#   bindings/java/test.sh <build-dir>      (the dir holding libnetmesh.so)
#
# mvn package with -Dnetmesh.lib.dir=<build-dir>: build-native.sh generates the SWIG sources
# and the JNI library into bindings/java/target (git-ignored), the JUnit 5 suite runs against
# the libraries the jar bundles, the jar is made; then the Surefire summary lines are printed.
# Maven's repository is ~/.m2 (or <build-dir>/m2 when HOME is unset); after the first
# run everything is cached and the build works offline.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 <build-dir>" >&2; exit 2; }
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
[[ -e $build/libnetmesh.so ]] || { echo "test.sh: $build/libnetmesh.so not found" >&2; exit 2; }

target=$here/target
rm -rf "$target/surefire-reports"
# Maven does the rest: build-native.sh (swig, the JNI library, libnetmesh.so.0 into the jar's
# resources) in generate-sources, then the JUnit 5 suite against the bundled libraries, then
# the jar (what tests/consumer/java.sh publishes).
mvn_args=(-q -B -Dstyle.color=never -f "$here/pom.xml" -Dnetmesh.lib.dir="$build")
[[ -n ${HOME:-} ]] || mvn_args+=(-Dmaven.repo.local="$build/m2")

rc=0
# sed: Maven 3.8's -q still emits bare colour resets; pipefail keeps mvn's exit status.
mvn "${mvn_args[@]}" package 2>&1 | sed 's/\x1b\[[0-9;]*m//g' || rc=$?

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
