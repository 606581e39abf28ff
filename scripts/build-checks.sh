#!/usr/bin/env bash
# Builds what scripts/test.sh checks besides the release build: the unit
# tests with AddressSanitizer and UBSan (build/asan, GCC at -O0) and the
# libFuzzer targets (build/fuzz, clang; scripts/setup.sh --test installs it).
# scripts/test.sh runs this in the background at the lowest CPU priority
# while the release build's tests run; run it by hand to rebuild both.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[checks]\033[0m %s\n' "$*"; }

build() {  # build DIR TARGET... -- CMAKE_ARG...
  local dir=$1 targets=()
  shift
  while [[ $1 != -- ]]; do targets+=("$1"); shift; done
  shift
  [[ -f $dir/build.ninja ]] || cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  log "building $dir (${targets[*]})"
  if ! cmake --build "$dir" --target "${targets[@]}" -j"$(nproc)" >"$dir/build.log" 2>&1; then
    tail -n 60 "$dir/build.log"
    return 1
  fi
}
# A unity build, as scripts/setup.sh's release build; the tests only.
build build/asan unit_tests -- -DCMAKE_BUILD_TYPE=Debug -DVP_SANITIZE=ON \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16
build build/fuzz event_fuzz http_head_fuzz -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVP_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
log "built build/asan and build/fuzz"
