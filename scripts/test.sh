#!/usr/bin/env bash
# Runs every test: unit tests (release and ASan+UBSan builds), the parser
# fuzzer for a bounded time, and the end-to-end tests against the real
# binary. Run scripts/setup.sh --test first (the README's command does).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
log() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
mkdir -p tests/artifacts

log "unit tests (release)"
ctest --test-dir build/release --output-on-failure -j2 --timeout 600

log "unit tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j2 --timeout 900

log "fuzzing the event parser for ${FUZZ_SECONDS}s (libFuzzer)"
if [[ ! -f build/fuzz/build.ninja ]]; then
  cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DVP_FUZZ=ON >/dev/null
fi
cmake --build build/fuzz --target event_fuzz -j2 >build/fuzz/build.log 2>&1 || { tail -40 build/fuzz/build.log; exit 1; }
mkdir -p build/fuzz/corpus
build/fuzz/src/event/event_fuzz -max_total_time="$FUZZ_SECONDS" -max_len=16384 \
  -print_final_stats=1 build/fuzz/corpus src/event/testdata 2>tests/artifacts/fuzz.log \
  || { tail -60 tests/artifacts/fuzz.log; exit 1; }
grep -E "stat::number_of_executed_units" tests/artifacts/fuzz.log || true

log "end-to-end tests (real binary)"
python3 -m pytest -q tests/e2e "$@"

log "dashboard in a real browser (chromium + playwright-core)"
node --test tests/browser/
