#!/usr/bin/env bash
# Recommendation features benchmark (bench/README.md, "Features"). One
# command, about 5 minutes:
#
#   bench/features.sh
#
# `viewpipe serve` ingests the demo's traffic (`viewpipe sim --speed 1` with
# scenarios/demo.toml, 3,000 steady viewers) while
# 1. wrk (keep-alive, closed loop) looks up random known profiles,
#    GET /v1/features/profiles/<id>, at CONNS connections (a list) for
#    WRK_SECONDS each: requests/s and latency percentiles;
#    then POST /v1/features/profiles:batch with 100 random ids (8 connections),
#    and GET /healthz as the HTTP server's own baseline;
# 2. bench/features_probe.py posts one event for a new profile RATE times a
#    second and polls its features: freshness = the collector's 200 -> the
#    profile readable, p50/p99.
# wrk cannot hold a fixed rate (wrk2 is not in Debian): each run is closed
# loop, so the table gives the rate achieved with its latency.
#
# STORE=redis runs the same with `[features] store = "redis"` (serve --config)
# on a redis-server the script starts (loopback, appendonly yes, everysec);
# STORE=rocksdb (default) is the embedded store. Run both for a side by side.
#
# Knobs (environment): STORE (rocksdb), BUILD_DIR (build/release), VIEWERS (3000), CONNS
# ("8 32 64"), WRK_THREADS (2), WRK_SECONDS (30), FRESH_SECONDS (60), RATE (5),
# KEEP (0), NO_BUILD (0). Prints a table and writes
# bench/results/features-<time>.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/release}
VIEWERS=${VIEWERS:-3000}
CONNS=${CONNS:-"8 32 64"}
WRK_THREADS=${WRK_THREADS:-2}
WRK_SECONDS=${WRK_SECONDS:-30}
FRESH_SECONDS=${FRESH_SECONDS:-60}
RATE=${RATE:-5}
KEEP=${KEEP:-0}
STORE=${STORE:-rocksdb}
KEY=bench-write-key

log() { printf '\033[1;32m[features-bench]\033[0m %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
command -v wrk >/dev/null || { echo "wrk is not installed (Debian package wrk)" >&2; exit 1; }

if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building viewpipe (Release) in $BUILD_DIR"
  [[ -f $BUILD_DIR/build.ninja ]] || cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target viewpipe -j2 >"$BUILD_DIR/features-bench-build.log" 2>&1 ||
    { tail -n 40 "$BUILD_DIR/features-bench-build.log"; exit 1; }
fi
VP=$BUILD_DIR/viewpipe
mkdir -p build bench/results
WORK=$(mktemp -d "$(pwd)/build/features-bench.XXXXXX")
SERVER_PID=""
SIM_PID=""
REDIS_PID=""
cleanup() {
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [[ -n $REDIS_PID ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  [[ $KEEP == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

STORE_ARGS=()
if [[ $STORE == redis ]]; then
  REDIS_PORT=$(free_port)
  mkdir -p "$WORK/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
    --save "" --loglevel warning >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  printf '[features]\nstore = "redis"\nredis_url = "redis://127.0.0.1:%s/0"\n' "$REDIS_PORT" \
    >"$WORK/redis.toml"
  STORE_ARGS=(--config "$WORK/redis.toml")
elif [[ $STORE != rocksdb ]]; then
  echo "STORE must be rocksdb or redis" >&2; exit 1
fi
log "feature store: $STORE"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
"$VP" serve --data-dir "$WORK/data" --port "$PORT" --write-key "$KEY" \
  --catalog "$WORK/catalog.csv" "${STORE_ARGS[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
SIM_SECONDS=$((30 + WRK_SECONDS * ($(wc -w <<<"$CONNS") + 2) + FRESH_SECONDS + 30))
log "ingest: $VIEWERS steady viewers (scenarios/demo.toml) for ${SIM_SECONDS} s"
"$VP" sim --url "$URL" --write-key "$KEY" --viewers "$VIEWERS" --duration "${SIM_SECONDS}s" \
  --speed 1 --seed 3 --scenario scenarios/demo.toml --catalog-out "$WORK/catalog.csv" --quiet \
  >"$WORK/sim.json" 2>"$WORK/sim.err" &
SIM_PID=$!
sleep 25
curl -s -X POST "$URL/v1/query" -H 'Content-Type: application/json' \
  -d '{"sql":"SELECT DISTINCT profile_id FROM events LIMIT 20000","tier":"hot"}' |
  python3 -c 'import json,sys; [print(r[0]) for r in json.load(sys.stdin)["rows"]]' >"$WORK/ids.txt"
log "lookups over $(wc -l <"$WORK/ids.txt") known profiles"

: >"$WORK/wrk.jsonl"
for c in $CONNS; do
  log "wrk: $c connections, $WRK_THREADS threads, ${WRK_SECONDS} s"
  IDS_FILE="$WORK/ids.txt" wrk -t "$WRK_THREADS" -c "$c" -d "${WRK_SECONDS}s" \
    -s bench/features_lookup.lua "$URL" >"$WORK/wrk-$c.txt"
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r["connections"]=int(sys.argv[2]); print(json.dumps(r))' \
    "$WORK/wrk-$c.txt" "$c" >>"$WORK/wrk.jsonl"
done
log "wrk: batch lookups of 100 ids, 8 connections, ${WRK_SECONDS} s"
BATCH=100 IDS_FILE="$WORK/ids.txt" wrk -t "$WRK_THREADS" -c 8 -d "${WRK_SECONDS}s" \
  -s bench/features_lookup.lua "$URL" >"$WORK/wrk-batch.txt"
# Baseline: the same server's /healthz (no store, no JSON): what HTTP alone costs here.
log "wrk baseline: GET /healthz, 8 connections, ${WRK_SECONDS} s"
wrk -t "$WRK_THREADS" -c 8 -d "${WRK_SECONDS}s" --latency "$URL/healthz" >"$WORK/wrk-healthz.txt"
log "freshness: $RATE probes/s for ${FRESH_SECONDS} s"
python3 bench/features_probe.py --url "$URL" --write-key "$KEY" --seconds "$FRESH_SECONDS" \
  --rate "$RATE" >"$WORK/fresh.json"
curl -s "$URL/metrics" >"$WORK/metrics.txt"
kill "$SIM_PID" 2>/dev/null || true
wait "$SIM_PID" 2>/dev/null || true
SIM_PID=""

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/features-$STORE-$STAMP.json
python3 - "$WORK" "$OUT" "$STORE" <<'PY'
import json, os, re, sys
work, out, store = sys.argv[1], sys.argv[2], sys.argv[3]
wrk = [json.loads(l) for l in open(os.path.join(work, "wrk.jsonl")) if l.strip()]
fresh = json.loads(open(os.path.join(work, "fresh.json")).read())
metrics = open(os.path.join(work, "metrics.txt")).read()
def metric(name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % name, metrics, re.M)
    return float(m.group(1)) if m else None
events = metric("viewpipe_features_events_total")
hz = open(os.path.join(work, "wrk-healthz.txt")).read()
rps = re.search(r"Requests/sec:\s+(\S+)", hz)
p99 = re.search(r"^\s+99%\s+(\S+)$", hz, re.M)
batch = json.loads(open(os.path.join(work, "wrk-batch.txt")).read().strip().splitlines()[-1])
res = {"store": store, "lookups": wrk, "batch_100": batch, "freshness": fresh, "features_events": events,
       "healthz_baseline": {"rps": float(rps.group(1)) if rps else None,
                            "p99": p99.group(1) if p99 else None},
       "catalog_misses": metric("viewpipe_features_catalog_misses_total"),
       "loadavg": open("/proc/loadavg").read().split()[:3], "cores": os.cpu_count()}
json.dump(res, open(out, "w"), indent=1)
print(f"\nFeatures, store {store} ({os.cpu_count()} cores, load {' '.join(res['loadavg'])}), "
      f"{events:.0f} events folded during the run")
print(f"{'lookups (wrk, keep-alive)':28} {'req/s':>9} {'p50':>8} {'p90':>8} {'p99':>8} {'p99.9':>8} {'errors':>7}")
for r in wrk:
    print(f"  {r['connections']:>3} connections{'':11} {r['rps']:>9.0f} {r['p50_ms']:>6.2f}ms "
          f"{r['p90_ms']:>6.2f}ms {r['p99_ms']:>6.2f}ms {r['p999_ms']:>6.2f}ms {r['errors']:>7}")
print(f"  batch of 100 ids, 8 conns {batch['rps']:>9.0f} {batch['p50_ms']:>6.2f}ms "
      f"{batch['p90_ms']:>6.2f}ms {batch['p99_ms']:>6.2f}ms {batch['p999_ms']:>6.2f}ms {batch['errors']:>7}"
      f"   = {batch['rps'] * 100:.0f} ids/s")
print(f"  baseline GET /healthz, 8 connections: {res['healthz_baseline']['rps']:.0f} req/s, "
      f"p99 {res['healthz_baseline']['p99']}")
f = fresh
print(f"freshness (200 -> readable): n={f['n']} missing={f['missing']} p50={f['p50_ms']:.0f} ms "
      f"p90={f['p90_ms']:.0f} ms p99={f['p99_ms']:.0f} ms max={f['max_ms']:.0f} ms")
print(f"results: {out}")
PY
