#!/usr/bin/env bash
# History benchmark (src/lake, src/warehouse), one command:
#
#   bench/lake.sh
#
# 1. lake path throughput: lake_bench fills a log with EVENTS realistic events
#    and times the `lake` consumer path (decode, dedup, Parquet/ZSTD through
#    DuckDB, exactly-once commits) and the `hot` path over them;
# 2. a DAYS-day lake: `viewpipe backfill --days DAYS` (write throughput and
#    bytes per event on disk, the hot tier's last days loaded too);
# 3. the audit query on one day more than a year back: bytes_scanned against
#    the lake's bytes, and its time;
# 4. a 7-day A/B aggregation on the hot tier and on the cold lake, side by side;
# 5. the cost report.
#
# Knobs (environment): DAYS (400), EVENTS_PER_DAY (25000), EVENTS (2000000,
# for step 1), ROLL_MS (5000), RUNS (5 timed runs per query, median kept),
# BUILD (build/release), NO_BUILD (0), KEEP (0: the temp dir is removed),
# BENCH_TMP (parent of the temp dir, default build/: the repo's filesystem).
# Prints a table and writes bench/results/lake-<time>.json and
# lake-latest.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${DAYS:-400}
EVENTS_PER_DAY=${EVENTS_PER_DAY:-25000}
EVENTS=${EVENTS:-2000000}
ROLL_MS=${ROLL_MS:-5000}
RUNS=${RUNS:-5}
BUILD=${BUILD:-build/release}
KEEP=${KEEP:-0}
log() { printf '\033[1;32m[bench]\033[0m %s\n' "$*" >&2; }

if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building ($BUILD)"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$BUILD" --target viewpipe lake_bench -j2 >"$BUILD/lake-bench-build.log" 2>&1 \
    || { tail -n 40 "$BUILD/lake-bench-build.log"; exit 1; }
fi
VP=$BUILD/viewpipe
[[ -x $VP ]] || VP=$BUILD/tools/viewpipe
BENCH=$BUILD/bench/lake_bench

mkdir -p "${BENCH_TMP:-build}" bench/results
TMP=$(mktemp -d "${BENCH_TMP:-build}/lake-bench.XXXXXX")
TMP=$(cd "$TMP" && pwd)
cleanup() { [[ $KEEP == 1 ]] && log "kept $TMP" || rm -rf "$TMP"; }
trap cleanup EXIT
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; temp dir $TMP"

log "1/5 lake and hot paths from the log: $EVENTS events, roll ${ROLL_MS} ms"
"$BENCH" --dir "$TMP/path" --events "$EVENTS" --per-day 100000 --roll-ms "$ROLL_MS" \
  2> "$TMP/path.log" > "$TMP/path.json" || { tail -n 20 "$TMP/path.log"; exit 1; }
rm -rf "$TMP/path"

log "2/5 backfill: $DAYS days x ~$EVENTS_PER_DAY events"
/usr/bin/time -f '%e %M' -o "$TMP/backfill.time" \
  "$VP" backfill --data-dir "$TMP/lake" --days "$DAYS" --events-per-day "$EVENTS_PER_DAY" \
  > "$TMP/backfill.json"
du -sb "$TMP/lake/history/lake" | cut -f1 > "$TMP/lake.du"

log "3-5/5 queries ($RUNS runs each) and the cost report"
python3 bench/lake_queries.py --viewpipe "$VP" --data-dir "$TMP/lake" --runs "$RUNS" \
  --path "$TMP/path.json" --backfill "$TMP/backfill.json" --backfill-time "$TMP/backfill.time" \
  --lake-du "$TMP/lake.du" --days "$DAYS" --events-per-day "$EVENTS_PER_DAY" \
  --out "bench/results/lake-$(date +%Y%m%d-%H%M%S).json" --latest bench/results/lake-latest.json
