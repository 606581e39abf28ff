#!/usr/bin/env bash
# Recommendation features benchmark (bench/README.md, "Features"). One
# command, about 9 minutes:
#
#   bench/features.sh
#
# `viewpipe serve --features-lookup-port P` ingests the demo's traffic
# (`viewpipe sim --speed 1` with scenarios/demo.toml, 3,000 steady viewers,
# the 10x live final from minute 1) while
# 1. wrk (keep-alive, closed loop) looks up random known profiles,
#    GET /v1/features/profiles/<id>, on the main API port (cpp-httplib) at
#    API_CONNS connections and on the lookup port (the epoll server,
#    src/api/lookup_http_server.h) at CONNS connections, WRK_SECONDS each;
#    then POST /v1/features/profiles:batch with 100 random ids (main port,
#    8 connections), and GET /healthz on both ports as the HTTP baselines;
# 2. fixed rates (the p99 at a rate, not the rate a closed loop reaches):
#    oha (a Rust crate, tokio/hyper; open loop: requests scheduled at the
#    rate over OHA_CONNS keep-alive connections, latency counted from the
#    scheduled time, random known ids) at each of RATES on the lookup port
#    (not the main port: cpp-httplib with oha managed 383/s), each after an unmeasured
#    WARMUP_SECONDS run at the same rate; bombardier (a Go module, fasthttp;
#    a rate limit over BOMB_CONNS connections, one URL: closed loop within a
#    connection) at the same rates on the lookup port and the last rate on
#    the main port; vegeta (a Go module;
#    open loop, random ids, but ~50 us of client CPU a request) at
#    VEGETA_RATES on the lookup port; h2load (nghttp2's tool, C++ on libev:
#    --rps per connection over H2LOAD_CONNS connections, random known ids,
#    its per-request log corrected for coordinated omission as wrk2 does;
#    8-12 us of client CPU a request, half of oha's) at each of RATES on the
#    lookup port, also at SCHED_FIFO with RT_PRIO; FIXED_SECONDS each; a tool not
#    installed is skipped, said so (scripts/setup.sh --bench installs them);
# 3. bench/features_probe.py posts one event for a new profile RATE times a
#    second and polls its features: freshness = the collector's 200 -> the
#    profile readable, p50/p99.
# Every load step also reports the server's CPU per lookup, less its ingest
# CPU (bench/features_step.py): a load-independent number.
#
# STORE=redis runs the same with `[features] store = "redis"` (serve --config)
# on a redis-server the script starts (loopback, appendonly yes, everysec);
# STORE=rocksdb (default) is the embedded store. Run both for a side by side.
#
# Knobs (environment): STORE (rocksdb), BUILD_DIR (build/release), VIEWERS (3000),
# API_CONNS ("8 32"), CONNS ("8 32 64"), WRK_THREADS (2), WRK_SECONDS (20),
# RATES ("10000 25000 50000"), VEGETA_RATES ("5000 10000"), FIXED_SECONDS (20),
# WARMUP_SECONDS (3), OHA_CONNS (8; a list runs each), OHA_THREADS (oha's default: the
# cores), OHA_FPS (16: oha's interactive mode on a pseudo-terminal at its default 16
# frames a second; 0: --no-tui, whose result buffer stalls oha's own timer,
# bench/features_step.py), BOMB_CONNS (16), H2LOAD_CONNS (32; a list runs each; " ": none), LOOKUP_THREADS (1), LOOKUP_SLICE_US (100;
# 0: the kernel's slice for the lookup loop), PIPELINE_NICE (5; serve --pipeline-nice), AB_OLD_SCHED (1:
# the oha steps again with the server's threads on the kernel's default scheduling),
# AUTOGROUP_NICE (unset: this session's autogroup nice, below), RT_PRIO (0; > 0: the oha
# steps again with the lookup loop and oha at SCHED_FIFO, steps "...-rt"), SCENARIO
# (scenarios/demo.toml; "none": the steady viewers alone, no live final),
# LOOKUP_CACHE_MB (64; 0: no lookup cache),
# FRESH_SECONDS (60), RATE (5), KEEP (0), NO_BUILD (0). Prints a table and
# writes bench/results/features-<store>-<time>.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/release}
VIEWERS=${VIEWERS:-3000}
CONNS=${CONNS:-"8 32 64"}
API_CONNS=${API_CONNS:-"8 32"}
WRK_THREADS=${WRK_THREADS:-2}
WRK_SECONDS=${WRK_SECONDS:-20}
RATES=${RATES:-"10000 25000 50000"}
VEGETA_RATES=${VEGETA_RATES:-"5000 10000"}
FIXED_SECONDS=${FIXED_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
OHA_CONNS=${OHA_CONNS:-8}
OHA_THREADS=${OHA_THREADS:-}
OHA_FPS=${OHA_FPS:-16}
LOOKUP_SLICE_US=${LOOKUP_SLICE_US:-100}
PIPELINE_NICE=${PIPELINE_NICE:-5}
BOMB_CONNS=${BOMB_CONNS:-16}
H2LOAD_CONNS=${H2LOAD_CONNS:-32}
LOOKUP_THREADS=${LOOKUP_THREADS:-1}
LOOKUP_CACHE_MB=${LOOKUP_CACHE_MB:-64}
FRESH_SECONDS=${FRESH_SECONDS:-60}
RATE=${RATE:-5}
KEEP=${KEEP:-0}
STORE=${STORE:-rocksdb}
SCENARIO=${SCENARIO:-scenarios/demo.toml}
KEY=bench-write-key

log() { printf '\033[1;32m[features-bench]\033[0m %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
command -v wrk >/dev/null || { echo "wrk is not installed (Debian package wrk)" >&2; exit 1; }
go_tool() {  # the path of a Go-module tool, on PATH or in GOPATH/bin; empty if none
  command -v "$1" 2>/dev/null && return
  command -v go >/dev/null && [[ -x "$(go env GOPATH)/bin/$1" ]] && echo "$(go env GOPATH)/bin/$1"
  return 0
}
# The load tools (Go modules, a crate): installed once, skipped if present.
mkdir -p build && [[ ${NO_BUILD:-0} == 1 ]] || scripts/setup.sh --bench >"build/features-bench-setup.log" 2>&1 ||
  log "scripts/setup.sh --bench failed (build/features-bench-setup.log); missing tools are skipped"
VEGETA=$(go_tool vegeta)
BOMBARDIER=$(go_tool bombardier)
OHA=$(command -v oha 2>/dev/null || true)
[[ -z $OHA && -x ${CARGO_HOME:-$HOME/.cargo}/bin/oha ]] && OHA=${CARGO_HOME:-$HOME/.cargo}/bin/oha
H2LOAD=$(command -v h2load 2>/dev/null || true)
H2LOAD_PASSES=0  # h2load passes per rate (one per connection count), 0 without h2load
[[ -n $H2LOAD ]] && H2LOAD_PASSES=$(wc -w <<<"$H2LOAD_CONNS")

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
  [[ -z ${AUTOGROUP_WAS:-} ]] || echo "$AUTOGROUP_WAS" >/proc/$$/autogroup || true
}
trap cleanup EXIT
# Linux autogroup (kernel.sched_autogroup_enabled=1) weighs each session
# alike whatever a process's nice: another session's `nice -n 19` build gets
# as large a share of the cores as this whole benchmark (server, simulator
# and load tool). AUTOGROUP_NICE sets this session's autogroup nice (< 0
# needs CAP_SYS_NICE) so that such builds yield as their nice says.
# The session's autogroup may hold other processes: its nice is put back at exit.
AUTOGROUP_WAS=""
if [[ -n ${AUTOGROUP_NICE:-} && -e /proc/$$/autogroup ]]; then
  AUTOGROUP_WAS=$(awk '{print $NF}' /proc/$$/autogroup)
  echo "$AUTOGROUP_NICE" >/proc/$$/autogroup || log "cannot set the autogroup nice"
fi
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" \
  "(autogroup: $(cat /proc/$$/autogroup 2>/dev/null || echo off))"
bench/machine.sh | tee "$WORK/machine.txt" | sed 's/^/  /'  # the CPU, its mitigations, a syscall's cost

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
LPORT=$(free_port)
LURL=http://127.0.0.1:$LPORT
"$VP" serve --data-dir "$WORK/data" --port "$PORT" --write-key "$KEY" \
  --features-lookup-port "$LPORT" --features-lookup-threads "$LOOKUP_THREADS" \
  --features-lookup-cache-mb "$LOOKUP_CACHE_MB" --features-lookup-slice-us "$LOOKUP_SLICE_US" \
  --pipeline-nice "$PIPELINE_NICE" \
  --catalog "$WORK/catalog.csv" "${STORE_ARGS[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
STEPS=$(($(wc -w <<<"$CONNS") + $(wc -w <<<"$API_CONNS") + 3))
FIXED_STEPS=$(( (3 * $(wc -w <<<"$OHA_CONNS") + 2 * H2LOAD_PASSES + 1) * $(wc -w <<<"$RATES") + 1 +
  $(wc -w <<<"$VEGETA_RATES")))
SIM_SECONDS=$((30 + (WRK_SECONDS + 5) * STEPS + (FIXED_SECONDS + WARMUP_SECONDS + 5) * FIXED_STEPS +
  FRESH_SECONDS + 30))
SCENARIO_ARGS=(--scenario "$SCENARIO")
[[ $SCENARIO == none ]] && SCENARIO_ARGS=()
log "ingest: $VIEWERS steady viewers (scenario: $SCENARIO) for ${SIM_SECONDS} s"
"$VP" sim --url "$URL" --write-key "$KEY" --viewers "$VIEWERS" --duration "${SIM_SECONDS}s" \
  --speed 1 --seed 3 "${SCENARIO_ARGS[@]}" --catalog-out "$WORK/catalog.csv" --quiet \
  >"$WORK/sim.json" 2>"$WORK/sim.err" &
SIM_PID=$!
sleep 25
curl -s -X POST "$URL/v1/query" -H 'Content-Type: application/json' \
  -d '{"sql":"SELECT DISTINCT profile_id FROM events LIMIT 20000","tier":"hot"}' |
  python3 -c 'import json,sys; [print(r[0]) for r in json.load(sys.stdin)["rows"]]' >"$WORK/ids.txt"
log "lookups over $(wc -l <"$WORK/ids.txt") known profiles"

: >"$WORK/steps.jsonl"
step() {  # step NAME TOOL ARGS...: one load step with its CPU (bench/features_step.py)
  local name=$1; shift
  log "$name"
  python3 bench/features_step.py --pid "$SERVER_PID" --name "$name" "$@" >>"$WORK/steps.jsonl"
}
lua=bench/features_lookup.lua
for c in $API_CONNS; do
  IDS_FILE="$WORK/ids.txt" step "api-$c" wrk -t "$WRK_THREADS" -c "$c" -d "${WRK_SECONDS}s" -s $lua "$URL"
done
for c in $CONNS; do
  IDS_FILE="$WORK/ids.txt" step "lookup-$c" wrk -t "$WRK_THREADS" -c "$c" -d "${WRK_SECONDS}s" -s $lua "$LURL"
done
BATCH=100 IDS_FILE="$WORK/ids.txt" step "batch100-8" wrk -t "$WRK_THREADS" -c 8 -d "${WRK_SECONDS}s" -s $lua "$URL"
# Baselines: /healthz (no store, no JSON): what HTTP alone costs on each server.
FIXED_PATH=/healthz step "healthz-api-8" wrk -t "$WRK_THREADS" -c 8 -d "${WRK_SECONDS}s" -s $lua "$URL"
FIXED_PATH=/healthz step "healthz-lookup-8" wrk -t "$WRK_THREADS" -c 8 -d "${WRK_SECONDS}s" -s $lua "$LURL"
# Fixed rates. oha: open loop with latency correction, random known ids
# (a regex alternation of 500 of them; oha takes the dots literally);
# the headline p99. bombardier: a rate limit over BOMB_CONNS keep-alive
# connections, one URL (one known profile); vegeta: open loop, random ids,
# but its Go client costs ~50 us of CPU a request, so it reaches ~10,000/s
# at most on two shared cores.
if [[ -n $OHA ]]; then
  ids_re=$(head -500 "$WORK/ids.txt" | sed 's/[.[\]*+?(){}|^$]/\\&/g' | paste -sd'|')
  for c in $OHA_CONNS; do
    for r in $RATES; do
      step "oha-lookup-c$c" oha --binary "$OHA" --rate "$r" --seconds "$FIXED_SECONDS" \
        --warmup-seconds "$WARMUP_SECONDS" --connections "$c" ${OHA_THREADS:+--threads "$OHA_THREADS"} --fps "$OHA_FPS" \
        --url "http://127.0.0.1:$LPORT/v1/features/profiles/($ids_re)"
    done
  done
else
  log "oha not found: no open-loop step at 50,000/s (scripts/setup.sh --bench installs it)"
fi
# h2load: the same rates over H2LOAD_CONNS connections, the URLs a shuffled
# list of the known ids (each connection walks it from the top).
if (( H2LOAD_PASSES > 0 )); then
  shuf --random-source=<(yes) "$WORK/ids.txt" | sed "s|^|$LURL/v1/features/profiles/|" >"$WORK/urls.txt"
  h2load_steps() {  # h2load_steps SUFFIX [--rt-prio N]
    local suffix=$1 c r; shift
    for c in $H2LOAD_CONNS; do
      for r in $RATES; do
        step "h2load-lookup-c$c$suffix" h2load --binary "$H2LOAD" --rate "$r" --seconds "$FIXED_SECONDS" \
          --warmup-seconds "$WARMUP_SECONDS" --connections "$c" --targets "$WORK/urls.txt" "$@"
      done
    done
  }
  h2load_steps ""
elif [[ -z $H2LOAD ]]; then
  log "h2load not found: no h2load step (scripts/setup.sh --bench installs Debian's nghttp2-client)"
fi
# A/B on the same server and ingest: the oha steps again with the lookup
# loop and the paths' threads back on the kernel's defaults (the scheduling
# before LOOKUP_SLICE_US / PIPELINE_NICE), steps named "...-oldsched".
if [[ -n $OHA && ${AB_OLD_SCHED:-1} == 1 ]]; then
  python3 bench/sched_stat.py set "$SERVER_PID" vp- 0 "$(cut -d' ' -f19 /proc/$SERVER_PID/stat)"
  for c in $OHA_CONNS; do
    for r in $RATES; do
      step "oha-lookup-c$c-oldsched" oha --binary "$OHA" --rate "$r" --seconds "$FIXED_SECONDS" \
        --warmup-seconds "$WARMUP_SECONDS" --connections "$c" ${OHA_THREADS:+--threads "$OHA_THREADS"} --fps "$OHA_FPS" \
        --url "http://127.0.0.1:$LPORT/v1/features/profiles/($ids_re)"
    done
  done
  python3 bench/sched_stat.py set "$SERVER_PID" vp- 0 \
    "$(( $(cut -d' ' -f19 /proc/$SERVER_PID/stat) + PIPELINE_NICE ))"
  python3 bench/sched_stat.py set "$SERVER_PID" vp-lookup "$LOOKUP_SLICE_US" \
    "$(cut -d' ' -f19 /proc/$SERVER_PID/stat)"
fi
# RT_PRIO > 0: the oha steps once more with the lookup loop and oha at
# SCHED_FIFO priority RT_PRIO (steps "...-rt"), as if each had a core of its
# own (the load tool would, on its own machine): the ingest and the
# simulator then get what they leave (the kernel's RT throttling keeps 5 %).
# Freshness is probed during these steps too (the ingest then gets what the
# loop and oha leave): "freshness_during_rt" in the results.
if [[ -n $OHA && ${RT_PRIO:-0} -gt 0 ]]; then
  python3 bench/sched_stat.py fifo "$SERVER_PID" vp-lookup "$RT_PRIO"
  python3 bench/features_probe.py --url "$URL" --write-key "$KEY" --rate "$RATE" --seconds \
    $(( (FIXED_SECONDS + WARMUP_SECONDS + 6) * ($(wc -w <<<"$OHA_CONNS") + H2LOAD_PASSES) *
      $(wc -w <<<"$RATES") )) \
    >"$WORK/fresh-rt.json" &
  RT_PROBE_PID=$!
  for c in $OHA_CONNS; do
    for r in $RATES; do
      step "oha-lookup-c$c-rt" oha --binary "$OHA" --rate "$r" --seconds "$FIXED_SECONDS" \
        --warmup-seconds "$WARMUP_SECONDS" --connections "$c" ${OHA_THREADS:+--threads "$OHA_THREADS"} --fps "$OHA_FPS" \
        --rt-prio "$RT_PRIO" --url "http://127.0.0.1:$LPORT/v1/features/profiles/($ids_re)"
    done
  done
  (( H2LOAD_PASSES == 0 )) || h2load_steps "-rt" --rt-prio "$RT_PRIO"
  wait "$RT_PROBE_PID"
  python3 bench/sched_stat.py fifo "$SERVER_PID" vp-lookup 0
  python3 bench/sched_stat.py set "$SERVER_PID" vp-lookup "$LOOKUP_SLICE_US" \
    "$(cut -d' ' -f19 /proc/$SERVER_PID/stat)"
fi
if [[ -n $BOMBARDIER ]]; then
  one_id=$(head -1 "$WORK/ids.txt")
  for r in $RATES; do
    step "bomb-lookup" bombardier --binary "$BOMBARDIER" --rate "$r" --seconds "$FIXED_SECONDS" \
      --connections "$BOMB_CONNS" --url "$LURL/v1/features/profiles/$one_id"
  done
  r=$(awk '{print $NF}' <<<"$RATES")
  step "bomb-api" bombardier --binary "$BOMBARDIER" --rate "$r" --seconds "$FIXED_SECONDS" \
    --connections "$BOMB_CONNS" --url "$URL/v1/features/profiles/$one_id"
else
  log "bombardier not found: no fixed-rate step (scripts/setup.sh --bench installs it)"
fi
if [[ -n $VEGETA ]]; then
  python3 - "$WORK/ids.txt" "$LURL" "$WORK/targets.txt" <<'PY'
import random, sys
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
rng = random.Random(7)
with open(sys.argv[3], "w") as f:
    for _ in range(100000):
        f.write(f"GET {sys.argv[2]}/v1/features/profiles/{rng.choice(ids)}\n")
PY
  for r in $VEGETA_RATES; do
    step "vegeta-lookup" vegeta --binary "$VEGETA" --rate "$r" --seconds "$FIXED_SECONDS" \
      --targets "$WORK/targets.txt"
  done
else
  log "vegeta not found: no open-loop step (scripts/setup.sh --bench installs it)"
fi
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
steps = [json.loads(l) for l in open(os.path.join(work, "steps.jsonl")) if l.strip()]
fresh = json.loads(open(os.path.join(work, "fresh.json")).read())
fresh_rt_file = os.path.join(work, "fresh-rt.json")
fresh_rt = json.loads(open(fresh_rt_file).read()) if os.path.exists(fresh_rt_file) else None
metrics = open(os.path.join(work, "metrics.txt")).read()
def metric(name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % name, metrics, re.M)
    return float(m.group(1)) if m else None
events = metric("viewpipe_features_events_total")
hits = metric("viewpipe_features_lookup_cache_hits_total") or 0
misses = metric("viewpipe_features_lookup_cache_misses_total") or 0
res = {"store": store, "steps": steps, "freshness": fresh, "freshness_during_rt": fresh_rt, "features_events": events,
       "catalog_misses": metric("viewpipe_features_catalog_misses_total"),
       "lookup_cache_hits": hits, "lookup_cache_misses": misses,
       "loadavg": open("/proc/loadavg").read().split()[:3], "cores": os.cpu_count(),
       "machine": open(os.path.join(work, "machine.txt")).read().splitlines()}
json.dump(res, open(out, "w"), indent=1)
print(f"\nFeatures, store {store} ({os.cpu_count()} cores, load now {' '.join(res['loadavg'])}), "
      f"{events:.0f} events folded during the run")
print("api = main port (cpp-httplib), lookup = the lookup port (epoll); server/loop/client: "
      "CPU us per request = CPU-ms per 1,000")
print("loop wait = the lookup loop's run-queue wait, us per request; client wait = the load "
      "tool's threads' run-queue wait, ms per second")
print(f"{'step':22} {'req/s':>8} {'p50':>8} {'p90':>8} {'p99':>8} {'err':>5} "
      f"{'server':>7} {'loop':>6} {'client':>7} {'loop wait':>9} {'cl wait':>7} {'load':>11}")
for r in steps:
    label = r["name"] + (f" @{r['target_rate']}/s" if "target_rate" in r else "")
    print(f"{label[:22]:22} {r['rps']:>8.0f} {r['p50_ms']:>6.2f}ms {r['p90_ms']:>6.2f}ms "
          f"{r['p99_ms']:>6.2f}ms {r['errors']:>5} {r['server_us']:>7.1f} {r['loop_us']:>6.1f} "
          f"{r['client_us']:>7.1f} {r.get('loop_wait_us', 0):>9.1f} "
          f"{r.get('client_wait_ms_s', 0):>7.1f} {r['load'][0]:>5.1f}-{r['load'][1]:<5.1f}")
stalled = [r for r in steps if "tool_stalls_ms" in r]
if stalled:
    print("oha's own stalls (its result buffer doubling at the 2^k-th result, bench/features_step.py "
          "oha_stalls): the largest, and the requests over 2 ms due in their episodes")
    for r in stalled:
        worst = max(r["tool_stalls_ms"].items(), key=lambda kv: kv[1], default=("-", 0))
        print(f"  {r['name'] + ' @' + str(r['target_rate']) + '/s':28} largest {worst[1]:6.1f} ms "
              f"(at {worst[0]}); over 2 ms: {r['slow_requests']} requests, "
              f"{r['slow_in_tool_stalls']} of them in oha's stalls")
f = fresh
if hits + misses:
    print(f"lookup cache: {hits:.0f} hits, {misses:.0f} misses ({100 * hits / (hits + misses):.1f} % hits)")
print(f"freshness (200 -> readable): n={f['n']} missing={f['missing']} p50={f['p50_ms']:.0f} ms "
      f"p90={f['p90_ms']:.0f} ms p99={f['p99_ms']:.0f} ms max={f['max_ms']:.0f} ms")
if fresh_rt:
    f = fresh_rt
    print(f"freshness during the -rt steps: n={f['n']} missing={f['missing']} "
          f"p50={f['p50_ms']:.0f} ms p90={f['p90_ms']:.0f} ms p99={f['p99_ms']:.0f} ms "
          f"max={f['max_ms']:.0f} ms")
print(f"results: {out}")
PY
