#!/usr/bin/env bash
# Runs a Java example against the binding built by bindings/java/test.sh:
#
#   examples/java/run.sh Sender|Receiver [args...]
#
# Compiles examples/java/*.java into examples/java/target when they changed (under a lock,
# as a sender and a receiver may start together). The native libraries come from the
# binding's classes (as from its jar); NETMESH_JNI_PATH overrides the JNI library.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
classes=$root/bindings/java/target/classes
if [[ ! -f $classes/dev/netmesh/Node.class || ! -f $classes/native/linux-x86_64/libnetmesh_jni.so ]]; then
  echo "run.sh: Java binding not built: run bindings/java/test.sh <build-dir> first" >&2
  exit 2
fi
out=$here/target/classes
mkdir -p "$out"
(
  flock 9
  stamp=$out/.stamp
  if [[ ! -f $stamp || -n $(find "$here" -maxdepth 1 -name '*.java' -newer "$stamp") \
        || $classes/dev/netmesh/Node.class -nt $stamp ]]; then
    javac -d "$out" -cp "$classes" "$here"/*.java
    touch "$stamp"
  fi
) 9>"$here/target/.lock"
exec java -cp "$out:$classes" "$@"
