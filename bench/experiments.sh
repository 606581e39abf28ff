#!/usr/bin/env bash
# A/B report benchmark (src/experiments), one command:
#
#   bench/experiments.sh
#
# experiments_bench generates one experiment over 7 days with USERS exposed
# users (default 1,000,000) into a DuckDB database laid out as the hot tier
# (vp.events, 2 threads, 1 GB memory limit: the hot tier's defaults) and the
# same events as a ZSTD Parquet lake, then times the full report (the one
# SQL statement with exposure, per-user metrics and sufficient statistics,
# plus the statistics in C++) RUNS times on each, median kept.
#
# Knobs (environment): USERS (1000000), RUNS (3), MEMORY_LIMIT (1GB),
# BUILD (build/release), NO_BUILD (0), KEEP (0), BENCH_TMP (default build/).
# Prints a JSON line and writes bench/results/experiments-<time>.json and
# experiments-latest.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-1000000}
RUNS=${RUNS:-3}
MEMORY_LIMIT=${MEMORY_LIMIT:-1GB}
BUILD=${BUILD:-build/release}
KEEP=${KEEP:-0}
log() { printf '\033[1;32m[bench]\033[0m %s\n' "$*" >&2; }

if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building ($BUILD)"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$BUILD" --target experiments_bench -j2 >"$BUILD/experiments-bench-build.log" 2>&1 \
    || { tail -n 40 "$BUILD/experiments-bench-build.log"; exit 1; }
fi
BENCH_TMP=${BENCH_TMP:-$BUILD}
mkdir -p "$BENCH_TMP"
TMP=$(mktemp -d "$(realpath "$BENCH_TMP")/experiments-bench.XXXXXX")
[[ $KEEP == 1 ]] || trap 'rm -rf "$TMP"' EXIT

log "generating $USERS users (7 days), then the report on the hot tier and on the lake ($RUNS runs each)"
out=$("$BUILD/bench/experiments_bench" --users "$USERS" --runs "$RUNS" --memory-limit "$MEMORY_LIMIT" \
  --dir "$TMP")
hot_bytes=$(du -sb "$TMP/hot.duckdb" | cut -f1)
lake_bytes=$(du -sb "$TMP/lake" | cut -f1)
json=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["hot_db_bytes"]=int(sys.argv[2]); d["lake_bytes"]=int(sys.argv[3]); d["cpus"]=int(sys.argv[4]); print(json.dumps(d))' \
  "$out" "$hot_bytes" "$lake_bytes" "$(nproc)")
mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
echo "$json" > "bench/results/experiments-$stamp.json"
cp "bench/results/experiments-$stamp.json" bench/results/experiments-latest.json
python3 - "$json" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print(f"exposed users {d['users_exposed']:,}   events {d['events']:,}   "
      f"hot db {d['hot_db_bytes']/1e6:.0f} MB   lake {d['lake_bytes']/1e6:.0f} MB")
print(f"{'':18}{'first run':>12}{'median':>12}")
print(f"{'hot tier':18}{d['hot_first_s']:>11.2f}s{d['hot_median_s']:>11.2f}s")
print(f"{'cold lake':18}{d['cold_first_s']:>11.2f}s{d['cold_median_s']:>11.2f}s")
print(f"target: hot under 2 s -> {'met' if d['hot_median_s'] < 2 else 'NOT met'}")
PY
