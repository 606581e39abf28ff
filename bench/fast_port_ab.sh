#!/bin/bash
# A/B of the fast port's server CPU per event: two viewpipe binaries, alternating,
# a fresh server each run, plain 500-event bodies, 16 connections, 8 s (2 s warmup).
# Usage (under the lock): flock /work/bench.lock bench/fast_port_ab.sh OLD_BIN NEW_BIN [ROUNDS]
# AB_CONNS: the load generator's connections (16). AB_SERVE_ARGS: more `serve` flags for both binaries. AB_SECONDS: the max run's length (8). AB_RATE: an open-loop run at that many events/s
# for 15 s (after 3 s at the rate) instead of the 8 s max run; prints p50/p99/max from the schedule.
# AB_ENCODING: gzip sends gzip bodies (a pool of AB_EVENTS, default 8 M, distinct events, pre-compressed before the run) instead of plain JSON. AB_DIR: the data dir (default build/ab.tmp, the repo's disk; /dev/shm/ab.tmp for tmpfs).
# AB_BACKEND=kafka: the log on a Kafka broker of its own per run (scripts/kafka.sh, like
# `BACKEND=kafka bench/ingest.sh`). AB_PORT=main: load the main (cpp-httplib) port instead.
# Prints the server's and the load generator's CPU-s per 1 M events of each run, and the log's
# stored bytes per event (bench/log_bytes.py: all topics' batches / `viewing` records).
set -u
declare -A BIN=([old]=$(realpath "${1:?OLD_BIN}") [new]=$(realpath "${2:?NEW_BIN}"))
ROUNDS=${3:-3}
cd "$(dirname "$0")/.."
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
uptime
for round in $(seq "$ROUNDS"); do
  for which in old new; do
    D=${AB_DIR:-build/ab.tmp}; rm -rf $D; mkdir -p $D
    # The last run's gigabytes were just deleted; on a filesystem mounted with
    # `discard` (this one) the disk is sent trims for them, which compete
    # with this run's writes unless they are let through first.
    sync; sleep 3
    P=$(free_port); F=$(free_port)
    BACKEND_ARGS=()
    if [[ ${AB_BACKEND:-file} == kafka ]]; then
      KP=$(free_port)
      scripts/kafka.sh start $D/kafka $KP >/dev/null
      printf '[log]\nbackend = "kafka"\nbrokers = "127.0.0.1:%s"\n' "$KP" >$D/scale.toml
      BACKEND_ARGS=(--config $D/scale.toml)
    fi
    "${BIN[$which]}" serve --data-dir $D/vp --port $P --fast-port $F --paths none --write-key k "${BACKEND_ARGS[@]}" ${AB_SERVE_ARGS:-} >$D/serve.log 2>&1 &
    PID=$!
    for i in $(seq 300); do curl -sf http://127.0.0.1:$P/readyz >/dev/null && break; sleep 0.1; done
    if [ -n "${AB_RATE:-}" ]; then MODE="--mode rate --rate $AB_RATE --warmup 3 --duration 15"; else MODE="--mode max --warmup 2 --duration ${AB_SECONDS:-8}"; fi
    build/release/bench/ingest_load --target 127.0.0.1:$([[ ${AB_PORT:-fast} == main ]] && echo $P || echo $F) --key k --batch 500 $MODE --encoding ${AB_ENCODING:-json} ${AB_ENCODING:+--events ${AB_EVENTS:-8000000}} --connections ${AB_CONNS:-16} >$D/load.json 2>$D/load.err &
    LP=$!
    # CPU is sampled from when the bodies are built (gzip pre-compresses first).
    while kill -0 $LP 2>/dev/null && ! grep -qs "built" $D/load.err; do sleep 0.2; done
    python3 bench/proc_cpu.py sample $LP 2 6 >$D/lcpu.json 2>/dev/null &
    LC=$!
    python3 bench/proc_cpu.py sample $PID 2 6 >$D/cpu.json 2>/dev/null
    wait $LC
    wait $LP
    FSYNC_SLOW=$(curl -s http://127.0.0.1:$P/metrics | awk -F'[ "]' '/^viewpipe_log_fsync_seconds_bucket\{le="0.05"/ {a=$NF} /^viewpipe_log_fsync_seconds_count/ {c=$NF} END {print c-a}')
    kill $PID; wait $PID 2>/dev/null
    if [[ ${AB_BACKEND:-file} == kafka ]]; then
      scripts/kafka.sh stop $D/kafka >/dev/null
      STORED="(in Kafka)"
    else
      STORED=$(python3 bench/log_bytes.py $D/vp --json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["bytes_per_event"]))')
    fi
    python3 - "$which" "$round" "$D" "$STORED" "$FSYNC_SLOW" <<'PY'
import json,sys
d=sys.argv[3]; stored=sys.argv[4]
l=json.load(open(f"{d}/load.json")); c=json.load(open(f"{d}/cpu.json")); g=json.load(open(f"{d}/lcpu.json"))
eps=l["events_per_s"]; cores=c.get("total_cores"); lg=g.get("total_cores")
print(f"{sys.argv[2]} {sys.argv[1]:4s} {eps:>10,.0f} ev/s  server {cores:.2f} cores  {cores/eps*1e6:.2f} CPU-s/1M  "
      f"load-gen {lg/eps*1e6:.2f} CPU-s/1M  p99 {l['latency_ms']['p99']:.1f} ms  "
      f"stored {stored} B/event  fsyncs over 50 ms {sys.argv[5]}" +
      (f"  p50/p99/max {l['latency_ms']['p50']:.1f}/{l['latency_ms']['p99']:.1f}/{l['latency_ms']['max']:.1f} ms"
       f" (service p99 {l['service_latency_ms']['p99']:.1f})" if l.get("mode") == "rate" else ""))
PY
  done
done
uptime
rm -rf "${AB_DIR:-build/ab.tmp}"
