#!/usr/bin/env bash
# A/B report benchmark (src/experiments), one command:
#
#   bench/experiments.sh
#
# experiments_bench generates one experiment over 7 days with USERS exposed
# users (default 1,000,000) into a DuckDB database laid out as the hot tier
# (vp.events) and the same events as a ZSTD Parquet lake, opens it as the
# real HotTier (2 threads, MEMORY_LIMIT: the hot tier's defaults), which
# builds its per-session summary from the events (timed), then times the
# full report through ExperimentService (SQL + statistics): RUNS times from
# the session summary, RAW_RUNS times from raw hot events (source=events)
# and from the lake; medians kept.
#
# Knobs (environment): USERS (1000000), RUNS (3), RAW_RUNS (1), MEMORY_LIMIT
# (1GB), BUILD (build/release), NO_BUILD (0), KEEP (0), BENCH_TMP (default
# build/), DATA_DIR (reuse the events of an earlier run kept there: it is
# created when missing and never deleted; generating 1 M users takes
# ~11 min), REBUILD_SUMMARY (1: drop and rebuild the summary, timed).
# Prints a JSON line and writes bench/results/experiments-<time>.json and
# experiments-latest.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-1000000}
RUNS=${RUNS:-3}
RAW_RUNS=${RAW_RUNS:-1}
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
if [[ -n ${DATA_DIR:-} ]]; then
  mkdir -p "$DATA_DIR"
  TMP=$(realpath "$DATA_DIR")
else
  TMP=$(mktemp -d "$(realpath "$BENCH_TMP")/experiments-bench.XXXXXX")
  [[ $KEEP == 1 ]] || trap 'rm -rf "$TMP"' EXIT
fi
extra=()
[[ ${REBUILD_SUMMARY:-0} == 1 ]] && extra+=(--rebuild-summary)

log "generating $USERS users (7 days) unless $TMP has them, then the report from the summary ($RUNS runs), raw hot events and the lake ($RAW_RUNS runs)"
out=$("$BUILD/bench/experiments_bench" --users "$USERS" --runs "$RUNS" --raw-runs "$RAW_RUNS" \
  --memory-limit "$MEMORY_LIMIT" --dir "$TMP" "${extra[@]}")
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
print(f"exposed users {d['users_exposed']:,}   events {d['events']:,}   sessions {d['sessions']:,}   "
      f"hot db {d['hot_db_bytes']/1e6:.0f} MB   lake {d['lake_bytes']/1e6:.0f} MB   "
      f"load {d['loadavg_1m']}")
print(f"summary build (HotTier::Open): {d['summary_build_s']:.1f} s wall, {d['summary_build_cpu_s']:.1f} CPU-s")
print(f"{'':28}{'median wall':>12}{'CPU-s':>10}")
print(f"{'hot tier, session summary':28}{d['hot_median_s']:>11.2f}s{d['hot_cpu_median_s']:>10.2f}")
print(f"{'hot tier, raw events':28}{d['hot_raw_median_s']:>11.2f}s{d['hot_raw_cpu_median_s']:>10.2f}")
print(f"{'cold lake, raw events':28}{d['cold_median_s']:>11.2f}s{d['cold_cpu_median_s']:>10.2f}")
ok = d['hot_median_s'] < 2 or d['hot_cpu_median_s'] < 4
print(f"target: hot under 2 s on 2 idle cores (wall < 2 s, or CPU-s < 4 on a loaded machine) -> "
      f"{'met' if ok else 'NOT met'}")
PY
