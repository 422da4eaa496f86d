#!/usr/bin/env bash
# Builds the optional native int8 GEMM (src/main/c/vitq_int8.c, AVX-512 VNNI) into
# target/classes/native/linux-x86_64/, where NativeInt8 finds it (on the class path, and in the jar).
# Never fails the build: without a C compiler, or on another platform, it says so and the Java
# int8 kernels run. Called by Maven (pom.xml, phase process-classes); -Dvitq.native.skip=true skips it.
# Usage: build-native.sh SOURCE OUTPUT_DIR
set -u
src="$1"
out="$2/native/linux-x86_64/libvitqint8.so"
log="$(dirname "$2")/native-int8-build.log"
cc="${CC:-gcc}"
platform="$(uname -s)-$(uname -m)"
if [ "$platform" != "Linux-x86_64" ]; then
  echo "vitq native int8: not built ($platform is not Linux-x86_64); the Java int8 kernels will run"
  exit 0
fi
if ! command -v "$cc" > /dev/null 2>&1; then
  echo "vitq native int8: not built (no C compiler '$cc' on the PATH); the Java int8 kernels will run"
  exit 0
fi
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then exit 0; fi
mkdir -p "$(dirname "$out")"
# The kernels carry their AVX-512 target as attributes, so the CPU check runs on any x86-64.
# -fno-tree-pre: with it gcc 12 keeps the 6x64 tile's 24 accumulators in registers (PRE made it spill).
if "$cc" -O3 -fno-tree-pre -shared -fPIC -o "$out.tmp" "$src" > "$log" 2>&1; then
  mv "$out.tmp" "$out"
  rm -f "$log"
  echo "vitq native int8: built $out"
else
  echo "vitq native int8: not built ($cc failed, see $log); the Java int8 kernels will run"
  rm -f "$out.tmp" "$out"
fi
exit 0
