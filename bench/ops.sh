#!/usr/bin/env bash
# Ops path benchmarks (bench/README.md, "Ops"). One command, about 10-25
# minutes (most of it the 10 M-session memory run; SESSIONS_10M=0 skips it):
#
#   bench/ops.sh
#
# 1. freshness: `viewpipe serve` + `viewpipe sim --speed 1` (live, real time)
#    with a 10x live-event spike, and `ops_bench freshness` probing
#    /v1/ops/concurrency: time from the collector's 200 to the probe showing,
#    p50/p99, steady and during the spike;
# 2. memory per tracked session at 1 M and 10 M concurrent sessions
#    (`ops_bench memory`);
# 3. replay throughput of the ops consumer over a backlog in the log
#    (`ops_bench replay`), and the time of one checkpoint of that state.
#
# Knobs (environment): BUILD_DIR (build/ops), VIEWERS (2000 steady viewers in
# the freshness run), FRESH_SECONDS (180), RATE (probes/s, 20),
# COMPLETE_AFTER_MS (the server's completeness allowance, 200), SESSIONS_1M
# (1000000; 0 skips), SESSIONS_10M (10000000; 0 skips), REPLAY_EVENTS
# (10000000; 0 skips), KEEP (0; 1 keeps the temp dir), NO_BUILD (0).
# Prints a table and writes bench/results/ops-<time>.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/ops}
VIEWERS=${VIEWERS:-2000}
FRESH_SECONDS=${FRESH_SECONDS:-180}
RATE=${RATE:-20}
COMPLETE_AFTER_MS=${COMPLETE_AFTER_MS:-200}
SESSIONS_1M=${SESSIONS_1M:-1000000}
SESSIONS_10M=${SESSIONS_10M:-10000000}
REPLAY_EVENTS=${REPLAY_EVENTS:-10000000}
KEEP=${KEEP:-0}
KEY=bench-write-key

log() { printf '\033[1;32m[ops-bench]\033[0m %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building viewpipe and ops_bench (Release) in $BUILD_DIR"
  [[ -f $BUILD_DIR/build.ninja ]] || cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target viewpipe ops_bench -j2 >"$BUILD_DIR/ops-bench-build.log" 2>&1 ||
    { tail -n 40 "$BUILD_DIR/ops-bench-build.log"; exit 1; }
fi
VP=$BUILD_DIR/viewpipe
OB=$BUILD_DIR/bench/ops_bench
mkdir -p build bench/results
WORK=$(mktemp -d "$(pwd)/build/ops-bench.XXXXXX")
SERVER_PID=""
SIM_PID=""
cleanup() {
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [[ $KEEP == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# --- 1. freshness ------------------------------------------------------------
PORT=$(free_port)
VIEWPIPE_OPS_COMPLETE_AFTER_MS=$COMPLETE_AFTER_MS \
  "$VP" serve --data-dir "$WORK/data" --port "$PORT" --write-key "$KEY" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
# A 10x live-event spike: steady 0-60 s, ramp 60-90 s, peak 90-150 s.
cat >"$WORK/spike.toml" <<TOML
name = "ops-freshness"
malformed_fraction = 0
[traffic]
titles = 1000
[[live_event]]
id = "bench-final"
at = "60s"
ramp = "30s"
duration = "90s"
multiplier = 10
TOML
log "freshness: $VIEWERS steady viewers, 10x spike from 60 s, ${FRESH_SECONDS} s, $RATE probes/s"
"$VP" sim --url "http://127.0.0.1:$PORT" --write-key "$KEY" --viewers "$VIEWERS" \
  --duration "${FRESH_SECONDS}s" --speed 1 --seed 5 --scenario "$WORK/spike.toml" --quiet \
  >"$WORK/sim.json" 2>"$WORK/sim.err" &
SIM_PID=$!
"$OB" freshness --url "http://127.0.0.1:$PORT" --write-key "$KEY" --seconds "$((FRESH_SECONDS - 10))" \
  --rate "$RATE" --complete-after-ms "$COMPLETE_AFTER_MS" --phase steady:10-60 --phase spike:95-150 \
  >"$WORK/freshness.json"
wait "$SIM_PID" || true
SIM_PID=""
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
events_per_s=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(round(s["events"]/'"$FRESH_SECONDS"'))' "$WORK/sim.json" 2>/dev/null || echo "?")

# --- 2. memory -----------------------------------------------------------------
if [[ $SESSIONS_1M != 0 ]]; then
  log "memory: $SESSIONS_1M sessions (and one checkpoint of them)"
  "$OB" memory --sessions "$SESSIONS_1M" --checkpoint-dir "$WORK/ckpt" >"$WORK/memory-1m.json"
else
  echo '{}' >"$WORK/memory-1m.json"
fi
if [[ $SESSIONS_10M != 0 ]]; then
  log "memory: $SESSIONS_10M sessions (several minutes)"
  "$OB" memory --sessions "$SESSIONS_10M" >"$WORK/memory-10m.json"
else
  echo '{}' >"$WORK/memory-10m.json"
fi

# --- 3. replay ----------------------------------------------------------------
if [[ $REPLAY_EVENTS != 0 ]]; then
  log "replay: $REPLAY_EVENTS events"
  "$OB" replay --events "$REPLAY_EVENTS" --dir "$WORK/replay" >"$WORK/replay.json"
else
  echo '{}' >"$WORK/replay.json"
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/ops-$STAMP.json
python3 - "$WORK" "$OUT" "$events_per_s" <<'PY'
import json, sys, os, re
work, out, eps = sys.argv[1], sys.argv[2], sys.argv[3]
load = lambda n: json.loads(open(os.path.join(work, n)).read().strip().splitlines()[-1])
fresh, m1, m10, replay = load("freshness.json"), load("memory-1m.json"), load("memory-10m.json"), load("replay.json")
metrics = open(os.path.join(work, "metrics.txt")).read()
late = re.search(r"^viewpipe_ops_late_beyond_bound_total (\S+)$", metrics, re.M)
res = {"freshness": fresh, "complete_after_ms": int(os.environ.get("COMPLETE_AFTER_MS", "200")),
       "sim_events_per_s": eps, "memory_1m": m1, "memory_10m": m10,
       "replay": replay, "late_beyond_bound": float(late.group(1)) if late else None,
       "loadavg": open("/proc/loadavg").read().split()[:3], "cores": os.cpu_count()}
json.dump(res, open(out, "w"), indent=1)
json.dump(res, open(os.path.join(os.path.dirname(out), "ops-latest.json"), "w"), indent=1)
print(f"\nOps path ({os.cpu_count()} cores, load {' '.join(res['loadavg'])})")
print(f"{'freshness (200 -> shown)':34} {'n':>5} {'p50':>8} {'p99':>8} {'max':>8}   pipeline share p50/p99   live=1 p50/p99/max")
for phase, p in fresh["phases"].items():
    print(f"  {phase:32} {p['n']:>5} {p['p50_ms']:>6.0f}ms {p['p99_ms']:>6.0f}ms {p['max_ms']:>6.0f}ms"
          f"   {p['pipeline_p50_ms']:.0f} / {p['pipeline_p99_ms']:.0f} ms"
          f"   {p['live_p50_ms']:.0f} / {p['live_p99_ms']:.0f} / {p['live_max_ms']:.0f} ms")
print(f"  sim load: ~{eps} events/s average; probes missing: {fresh['missing']}; "
      f"completeness allowance {res['complete_after_ms']} ms")
for name, m in (("1M", m1), ("10M", m10)):
    if m:
        print(f"memory {name:4} sessions: {m['session_bytes_per_session']:.0f} B/session (sessions), "
              f"{m['state_bytes_per_session']:.0f} B/session (all ops state), "
              f"RSS growth {m['rss_bytes_per_session']:.0f} B/session, {m['state_bytes']/1e9:.2f} GB; "
              f"apply {m['events_per_cpu_s']/1e6:.2f} M events/CPU-s")
        if m.get("checkpoint_bytes"):
            print(f"  checkpoint {m['checkpoint_bytes']/1e6:.0f} MB: {m['checkpoint_s']:.2f} s on the consumer "
                  f"thread, or a {m['checkpoint_fork_pause_ms']:.0f} ms fork pause + "
                  f"{m['checkpoint_fork_total_s']:.2f} s in the background")
if replay:
    print(f"replay: {replay['events']} events in {replay['replay_s']:.1f} s = {replay['replay_events_per_s']/1e6:.2f} M/s wall, "
          f"{replay['replay_events_per_cpu_s']/1e6:.2f} M/CPU-s (decode alone {replay['decode_only_events_per_cpu_s']/1e6:.1f} M/CPU-s); "
          f"checkpoint {replay['checkpoint_bytes']/1e6:.0f} MB in {replay['checkpoint_s']:.2f} s")
print(f"results: {out}")
PY
