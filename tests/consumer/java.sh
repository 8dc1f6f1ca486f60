#!/usr/bin/env bash
# Consumer test (Java, CTest consumer.java): the binding is packaged by its own build
# (CMake's java_package target runs mvn package: SWIG sources and native libraries made by
# build-native.sh, bundled in the jar), installed with cmake --install, and published into a scratch Maven repository, as a release is into a remote one; a
# project outside the source tree depends on dev.netmesh:netmesh:0.3.0 from it and runs two
# nodes over a reliable stream. No LD_LIBRARY_PATH, no -D paths, and a swig on PATH that
# fails if the consumer's build runs it.
#
#   tests/consumer/java.sh <build-dir>
set -euo pipefail
build_dir=$(cd "${1:?usage: tests/consumer/java.sh <build-dir>}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
for tool in mvn javac; do
  command -v "$tool" >/dev/null || { echo "consumer.java: $tool not found (skipped)"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mvn_args=(-q -B -Dstyle.color=never)
m2=${HOME:+$HOME/.m2/repository}
[[ -n ${HOME:-} ]] || { m2=$build_dir/m2; mvn_args+=(-Dmaven.repo.local="$m2"); }

# The project's packaging (its tests are bindings.java's) and install, then publishing the
# installed jar.
[[ -n ${HOME:-} ]] || export MAVEN_OPTS="${MAVEN_OPTS:-} -Dmaven.repo.local=$m2"
cmake --build "$build_dir" --target java_package
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
jar=$work/prefix/share/netmesh/java/netmesh-0.3.0.jar
[[ -f $jar ]] || { echo "consumer.java: cmake --install did not install $jar" >&2; exit 1; }
mvn "${mvn_args[@]}" org.apache.maven.plugins:maven-install-plugin:3.1.1:install-file \
  -Dfile="$jar" -DpomFile="$repo/bindings/java/pom.xml" -DlocalRepositoryPath="$work/repo"
rm -rf "$m2/dev/netmesh/netmesh/0.3.0" # a copy cached by an earlier run would hide this one

unset LD_LIBRARY_PATH NETMESH_JNI_PATH JAVA_TOOL_OPTIONS
mkdir "$work/bin"
printf '#!/bin/sh\necho "consumer.java: swig was run, but a user has no swig" >&2\nexit 1\n' >"$work/bin/swig"
chmod +x "$work/bin/swig"
export PATH=$work/bin:$PATH
cp -r "$here/java" "$work/app"
# sed: Maven 3.8's -q still emits bare colour resets; pipefail keeps mvn's exit status.
mvn "${mvn_args[@]}" -f "$work/app/pom.xml" -Dnetmesh.repo="file://$work/repo" test 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g'
grep -h "^Tests run" "$work/app/target/surefire-reports/"*.txt
