#!/usr/bin/env bash
# Installs everything viewpipe needs on a fresh Debian machine and builds it.
# Idempotent: when everything is already there it only runs an incremental
# build (seconds). Used by both README commands and by .ci/run.
#
#   scripts/setup.sh            deps + release build (build/release)
#   scripts/setup.sh --test     also the test-only deps (installed during the
#                               build); scripts/test.sh builds the sanitizer
#                               and fuzzer builds (scripts/build-checks.sh)
#   scripts/setup.sh --bench    also the load tools of the benchmarks (Go
#                               modules vegeta, bombardier; the crate oha;
#                               Debian's wrk and h2load); bench/features.sh runs it
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_TESTS=0
WITH_BENCH=0
[[ "${1:-}" == "--test" ]] && WITH_TESTS=1
[[ "${1:-}" == "--bench" ]] && WITH_BENCH=1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"

# --- Debian packages -------------------------------------------------------
APT_BUILD=(build-essential cmake ninja-build pkg-config ccache git
  libsimdjson-dev libcpp-httplib-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev libzstd-dev libxxhash-dev libisal-dev
  libssl-dev libbrotli-dev libtomlplusplus-dev librocksdb-dev librdkafka-dev
  libhiredis-dev libcurl4-openssl-dev nodejs npm python3 python3-pip
  libboost-dev)  # libboost-dev: Boost.Math (src/experiments)
APT_TEST=(clang libclang-rt-14-dev redis-server chromium openjdk-17-jre-headless maven wrk)
(( WITH_BENCH )) && APT_BUILD+=(wrk nghttp2-client)  # nghttp2-client: h2load
missing_of() {  # prints the packages of "$@" that are not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
    # Node, npm, python and java may come from outside Debian on a developer box.
    case "$p" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
      python3|python3-pip) command -v python3 >/dev/null && continue ;;
      openjdk-17-jre-headless) command -v java >/dev/null && continue ;;
      maven) command -v mvn >/dev/null && continue ;;
    esac
    printf '%s\n' "$p"
  done
}
APT_UPDATED=0
apt_install() {
  (( APT_UPDATED )) || { $SUDO apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
mapfile -t missing < <(missing_of "${APT_BUILD[@]}")
if (( ${#missing[@]} )); then
  log "installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

# --- DuckDB 1.4.4 (LTS) from the npm registry, into third_party/ -----------
DUCK=third_party/duckdb
if [[ ! -f $DUCK/libduckdb.so || ! -f $DUCK/include/duckdb.h ]]; then
  log "fetching DuckDB 1.4.4 (npm packages @duckdb/node-bindings-linux-x64, duckdb)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @duckdb/node-bindings-linux-x64@1.4.4-r.4 duckdb@1.4.4 >/dev/null)
  mkdir -p $DUCK/include
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz -C "$tmp" package/libduckdb.so
  cp "$tmp"/package/libduckdb.so $DUCK/
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp" package/src/duckdb/src/include/duckdb.h
  cp "$tmp"/package/src/duckdb/src/include/duckdb.h $DUCK/include/
  rm -rf "$tmp"
fi

# --- npm packages for the dashboard and browser tests -----------------------
if [[ -f package.json ]]; then
  if [[ ! -d node_modules ]] || [[ package.json -nt node_modules/.package-lock.json ]]; then
    log "installing npm packages"
    npm install --silent --no-audit --no-fund >/dev/null
  fi
fi

# --- vegeta and bombardier (Go modules): the fixed-rate load tools of ------
# bench/features.sh (wrk2 is not in Debian)
if (( WITH_BENCH )) && command -v go >/dev/null; then
  for mod in github.com/tsenart/vegeta/v12@v12.13.0 github.com/codesenberg/bombardier@v1.2.6; do
    tool=$(basename "${mod%@*}"); [[ $tool == v12 ]] && tool=vegeta
    command -v "$tool" >/dev/null || [[ -x "$(go env GOPATH)/bin/$tool" ]] && continue
    log "installing $tool (Go module ${mod%@*})"
    go install "$mod" || log "$tool not installed: bench/features.sh skips its step"
  done
fi

# --- oha (a Rust crate): the open-loop fixed-rate load tool of --------------
# bench/features.sh (latency corrected for coordinated omission). A cargo
# build of a few minutes, once (not in the test command: no test needs it).
if (( WITH_BENCH )) && command -v cargo >/dev/null; then
  if ! command -v oha >/dev/null && [[ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/oha" ]]; then
    log "installing oha (crate oha 1.16.0)"
    cargo install --locked oha --version 1.16.0 ||
      log "oha not installed: bench/features.sh skips its step"
  fi
fi

# --- test-only dependencies, in the background during the release build ---
# Debian packages (clang, redis-server, chromium, a JRE and Maven), the
# Python test packages (interop and statistics checks, moto's S3 server)
# and the Kafka broker (from Maven Central): mostly downloads, which the
# compile below overlaps. Logged to build/setup-test-deps.log.
install_test_deps() {
  mapfile -t missing < <(missing_of "${APT_TEST[@]}")
  if (( ${#missing[@]} )); then
    log "installing Debian packages: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
  if [[ -f tests/requirements.txt ]] &&
      ! python3 -c "import pytest, pyarrow, pandas, scipy, requests, moto" 2>/dev/null; then
    log "installing Python test packages"
    python3 -m pip install -q --disable-pip-version-check -r tests/requirements.txt
  fi
  scripts/kafka.sh install
}
TEST_DEPS_PID=""
if (( WITH_TESTS )); then
  mkdir -p build
  install_test_deps >build/setup-test-deps.log 2>&1 &
  TEST_DEPS_PID=$!
fi

# --- build ------------------------------------------------------------------
# Unity builds (several .cc files compiled as one) take about a third of the
# CPU of file-by-file builds on a fresh machine: headers such as httplib.h,
# simdjson.h and gtest are compiled once per batch instead of once per file.
build() {  # build DIR TARGET [cmake args...]
  local dir=$1 target=$2; shift 2
  if [[ ! -f $dir/build.ninja ]]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 "$@" >/dev/null
  fi
  log "building $dir"
  if ! cmake --build "$dir" --target "$target" -j"$(nproc)" >"$dir/build.log" 2>&1; then
    tail -n 60 "$dir/build.log"
    return 1
  fi
}
build build/release all -DCMAKE_BUILD_TYPE=Release
if [[ -n $TEST_DEPS_PID ]]; then
  if ! wait "$TEST_DEPS_PID"; then
    tail -n 40 build/setup-test-deps.log
    log "installing the test dependencies failed (build/setup-test-deps.log)"
    exit 1
  fi
  cat build/setup-test-deps.log
fi
log "ready: build/release/viewpipe"
