#!/usr/bin/env bash
# Ingest benchmark: viewpipe (every ack after fsync) vs a real Apache Kafka
# broker (acks=all) vs the disk's own write+fsync ceiling, on this machine.
# One command, bounded in time (about 4-6 minutes), loopback traffic only:
#
#   bench/ingest.sh
#
# Knobs (environment): DURATION (s per viewpipe run, default 12), WARMUP (2),
# CONNECTIONS (16), RATE_CONNECTIONS (32), RATE_DURATION (15), GZIP_MAX_EVENTS
# (10000000), KAFKA (1; 0 skips Kafka), KAFKA_SECONDS (15), KAFKA_FSYNC (1; 0
# skips the flush.messages=1 run), PERF (0; 1 records a CPU profile of the
# server during a plain run), KEEP (0; 1 keeps the temp dir), BENCH_TMP (parent
# of the temp dir, default build/ so that it is on the repo's filesystem),
# QUIET_WAIT (0; seconds to wait for the load average to fall under 1 first),
# PATHS (the server's --paths: empty runs every consumer path, as `serve`
# does by default; `none` measures the collector alone, like the broker).
# BACKEND (file; "kafka" runs viewpipe's collector on the Kafka log backend,
# `serve --config`, against a broker of its own, and skips the Kafka peer
# runs unless KAFKA=1 is given: `BACKEND=kafka bench/ingest.sh`; both side
# by side: bench/ingest_backends.sh). FIXED_RATE (events/s of both ports'
# fixed-rate step; default half the main port's maximum).
# FAST (1; 0 skips it): the same server also listens on its event-loop port
# (`serve --fast-port`, docs/fast_port.md) and the three viewpipe runs are
# repeated against that port (fast-plain, fast-gzip, fast-rate), side by
# side with the main (cpp-httplib) port's in one run and one report, with
# FAST_CONNECTIONS (64) for its maximum runs and, with FRESH_FAST (1), on a
# fresh server of its own (0: the same server, after the main port's runs).
# Prints a table and writes bench/results/ingest-<time>.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-12}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-16}
FAST_CONNECTIONS=${FAST_CONNECTIONS:-64}
FRESH_FAST=${FRESH_FAST:-1}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-32}
RATE_DURATION=${RATE_DURATION:-15}
GZIP_MAX_EVENTS=${GZIP_MAX_EVENTS:-10000000}
BACKEND=${BACKEND:-file}
if [[ $BACKEND == kafka ]]; then KAFKA=${KAFKA:-0}; else KAFKA=${KAFKA:-1}; fi
KAFKA_SECONDS=${KAFKA_SECONDS:-15}
KAFKA_FSYNC=${KAFKA_FSYNC:-1}
PERF=${PERF:-0}
PATHS=${PATHS:-}
FAST=${FAST:-1}
KEEP=${KEEP:-0}
KEY=bench-write-key
BATCH=500
PARTITIONS=4  # viewpipe's `viewing` topic has 4 partitions; Kafka gets the same
# Kafka producer settings (stated in the results and the README).
KAFKA_PRODUCER_PROPS=(acks=all linger.ms=5 batch.size=262144 compression.type=none
  max.in.flight.requests.per.connection=5)
# Records are keyed (random keys over 20,000 "sessions") so all partitions
# are written, as viewpipe keys by session_id.
KAFKA_KEYS=(--key-distribution random --record-key-range 20000)

log() { printf '\033[1;32m[bench]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$@"; }

# --- build -------------------------------------------------------------------
# (NO_BUILD=1 with VIEWPIPE_BIN, INGEST_LOAD, DISK_CEILING: use given binaries.)
if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building (release)"
  if [[ ! -f build/release/build.ninja ]]; then
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build/release --target viewpipe ingest_load disk_ceiling -j"$(nproc)" \
    >build/release/bench-build.log 2>&1 || { tail -n 40 build/release/bench-build.log; exit 1; }
fi
VP=${VIEWPIPE_BIN:-build/release/viewpipe}
[[ -x $VP || -n ${VIEWPIPE_BIN:-} ]] || VP=build/release/tools/viewpipe
LOAD=${INGEST_LOAD:-build/release/bench/ingest_load}
DISK=${DISK_CEILING:-build/release/bench/disk_ceiling}

mkdir -p "${BENCH_TMP:-build}" bench/results
WORK=$(mktemp -d "$(cd "${BENCH_TMP:-build}" && pwd)/ingest-bench.XXXXXX")
R=$WORK/results
mkdir -p "$R"
VP_PID=""
cleanup() {
  set +e
  [[ -n $VP_PID ]] && kill "$VP_PID" 2>/dev/null && wait "$VP_PID" 2>/dev/null
  [[ -d $WORK/kafka ]] && scripts/kafka.sh stop "$WORK/kafka"
  [[ -d $WORK/kafka-backend ]] && scripts/kafka.sh stop "$WORK/kafka-backend"
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_avg() { cut -d' ' -f1 /proc/loadavg; }
# QUIET_WAIT=S: wait up to S seconds for the 1-minute load average to drop
# under 1 (other work on the machine skews every number here).
if (( ${QUIET_WAIT:-0} > 0 )); then
  deadline=$((SECONDS + QUIET_WAIT))
  while (( SECONDS < deadline )) && python3 -c "import sys; sys.exit(0 if $(load_avg) >= 1.0 else 1)"; do
    sleep 10
  done
fi
log "machine: $(nproc) cores, load average $(load_avg) before the run"
bench/machine.sh | tee "$R/machine.txt" | sed 's/^/         /'  # the CPU, its mitigations, a syscall's cost
python3 -c "import sys; sys.exit(0 if $(load_avg) < 1.5 else 1)" \
  || log "warning: the machine is busy (load $(load_avg)); the numbers will be low"

# --- viewpipe ------------------------------------------------------------------
VP_PORT=$(free_port)
DATA=$WORK/vp-data
# The contract is --listen HOST:PORT; builds that still take --host/--port work too.
if [[ $("$VP" serve --help 2>&1 || true) == *--listen* ]]; then
  LISTEN=(--listen "127.0.0.1:$VP_PORT")
else
  LISTEN=(--host 127.0.0.1 --port "$VP_PORT")
fi
PATH_ARGS=()
[[ -n $PATHS ]] && PATH_ARGS=(--paths "$PATHS")
FAST_ARGS=()
# (The help is captured first: grep -q exiting early under pipefail would
# fail the pipeline with SIGPIPE.)
SERVE_HELP=$("$VP" serve --help 2>&1 || true)
if [[ $FAST == 1 && $SERVE_HELP == *--fast-port* ]]; then
  FAST_PORT=$(free_port)
  while [[ $FAST_PORT == "$VP_PORT" ]]; do FAST_PORT=$(free_port); done
  FAST_ARGS=(--fast-port "$FAST_PORT")
else
  FAST=0
fi
BACKEND_ARGS=()
if [[ $BACKEND == kafka ]]; then
  # The same collector, its log on a Kafka broker (acks=all, idempotent
  # producer; docs/scale.md), topics as viewpipe creates them.
  KB_PORT=$(free_port)
  scripts/kafka.sh start "$WORK/kafka-backend" "$KB_PORT" >/dev/null
  printf '[log]\nbackend = "kafka"\nbrokers = "127.0.0.1:%s"\n' "$KB_PORT" >"$WORK/scale.toml"
  BACKEND_ARGS=(--config "$WORK/scale.toml")
  log "log backend: Kafka $(cat third_party/kafka/VERSION) on 127.0.0.1:$KB_PORT"
fi
start_server() {
  "$VP" serve --data-dir "$DATA" "${LISTEN[@]}" --write-key "$KEY" "${BACKEND_ARGS[@]}" \
    "${PATH_ARGS[@]}" "${FAST_ARGS[@]}" >>"$WORK/viewpipe.log" 2>&1 &
  VP_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$VP_PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$VP_PID" 2>/dev/null || { tail -n 30 "$WORK/viewpipe.log"; die "viewpipe exited"; }
    sleep 0.2
  done
  curl -fs "http://127.0.0.1:$VP_PORT/readyz" >/dev/null || die "viewpipe not ready in 60 s"
  log "viewpipe ready on 127.0.0.1:$VP_PORT (pid $VP_PID, data in $DATA)"
}
start_server

# slow_fsyncs: the server's fsync count, and those over 50 and 100 ms so far
# (from /metrics), as "total over50 over100".
slow_fsyncs() {
  curl -fs "http://127.0.0.1:$VP_PORT/metrics" | awk -F'[ "]' '
    /^viewpipe_log_fsync_seconds_bucket\{le="0.05"/ {a=$NF}
    /^viewpipe_log_fsync_seconds_bucket\{le="0.1"/ {b=$NF}
    /^viewpipe_log_fsync_seconds_count/ {c=$NF}
    END {print c+0, c-a, c-b}' || echo "0 0 0"
}

# run_load NAME ARGS...: runs the load generator, samples the server's
# per-thread CPU over the measured window, writes $R/NAME.json (+ .cpu.json).
# TARGET_PORT (default the main port) is the port it loads.
run_load() {
  local name=$1 dur fs0 fs1; shift
  dur=$DURATION
  local a
  for a in "$@"; do [[ ${prev:-} == --duration ]] && dur=$a; prev=$a; done
  unset prev
  timeout $((${dur%.*} + 200)) "$LOAD" --target "127.0.0.1:${TARGET_PORT:-$VP_PORT}" --key "$KEY" \
    --batch "$BATCH" --warmup "$WARMUP" "$@" >"$R/$name.json" 2>"$R/$name.err" &
  local lp=$! window
  fs0=$(slow_fsyncs)
  window=$(python3 -c "print(max(0.5, $dur - $WARMUP - 0.8))")
  # Wait for the bodies to be built (stderr says so); then sample the
  # server's threads over the measured window (after the warmup).
  for _ in $(seq 1 1800); do grep -q built "$R/$name.err" && break; sleep 0.1; done
  python3 bench/proc_cpu.py sample "$VP_PID" "$WARMUP" "$window" >"$R/$name.cpu.json" 2>/dev/null &
  local cp=$! fp=""
  # Fixed-rate steps: the fsyncs of each second, to line slow seconds up
  # with slow fsyncs (bench/fsync_seconds.py).
  if [[ " $* " == *" --mode rate "* ]]; then
    python3 bench/fsync_seconds.py "http://127.0.0.1:$VP_PORT/metrics" "$WARMUP" \
      "$(python3 -c "print(int($dur - $WARMUP))")" "$R/$name.fsec.json" 2>/dev/null &
    fp=$!
  fi
  if [[ $PERF == 1 && $name == ${PERF_RUN:-plain} ]]; then
    sleep "$WARMUP"
    perf record -e cpu-clock -F 499 -g -p "$VP_PID" -o "$WORK/perf.data" -- sleep 4 >/dev/null 2>&1 || true
  fi
  wait "$lp" || die "load generator failed ($name): $(cat "$R/$name.err")"
  wait "$cp" || echo '{}' >"$R/$name.cpu.json"
  [[ -z $fp ]] || wait "$fp" || true
  # The disk's stalls during the step: one fsync of 100+ ms holds back every
  # request in flight (each waits for all the partitions it wrote).
  fs1=$(slow_fsyncs)
  python3 -c "import json,sys; a=list(map(int,sys.argv[1].split())); b=list(map(int,sys.argv[2].split()));
print(json.dumps(dict(zip(('fsyncs','over_50ms','over_100ms'),[y-x for x,y in zip(a,b)]))))" "$fs0" "$fs1" >"$R/$name.fsync.json"
  log "$name: $(jget "$R/$name.json" '["events_per_s"]') events/s, p99 $(jget "$R/$name.json" '["latency_ms"]["p99"]') ms, non-200 $(jget "$R/$name.json" '["non200_total"]'), server CPU $(jget "$R/$name.cpu.json" '.get("total_cores")') cores"
}

log "plain JSON, max throughput: $CONNECTIONS connections, ${DURATION}s"
run_load plain --mode max --encoding json --connections "$CONNECTIONS" --duration "$DURATION"
PLAIN_EPS=$(jget "$R/plain.json" '["events_per_s"]')

GZ_EVENTS=$(python3 -c "print(int(min($GZIP_MAX_EVENTS, max(500000, $PLAIN_EPS * $DURATION * 1.2))))")
log "gzip, max throughput: $CONNECTIONS connections, ${DURATION}s, $GZ_EVENTS distinct events pre-compressed"
run_load gzip --mode max --encoding gzip --events "$GZ_EVENTS" --connections "$CONNECTIONS" \
  --duration "$DURATION"

RATE=$(python3 -c "print(int(min(500000, $PLAIN_EPS / 2) // 1000 * 1000))")
(( RATE >= 1000 )) || RATE=1000
[[ -n ${FIXED_RATE:-} ]] && RATE=$FIXED_RATE
log "plain JSON at a fixed $RATE events/s (open loop): $RATE_CONNECTIONS connections, ${RATE_DURATION}s"
run_load rate --mode rate --rate "$RATE" --encoding json --connections "$RATE_CONNECTIONS" \
  --duration "$RATE_DURATION"

if [[ $FAST == 1 ]]; then
  # The same three runs against the event-loop port, on a server of their
  # own by default (FRESH_FAST=1): an empty log and dedup index, as the main
  # port's runs had, not the ~30 M events those runs left behind.
  if [[ $FRESH_FAST == 1 && $BACKEND == file ]]; then
    curl -fs "http://127.0.0.1:$VP_PORT/metrics" >"$R/metrics-main.txt" || true
    kill "$VP_PID"
    wait "$VP_PID" 2>/dev/null || true
    rm -rf "$DATA"
    sync  # the deleted gigabytes' trims (a `discard` mount) go out before the next writes
    sleep 5
    start_server
  fi
  export TARGET_PORT=$FAST_PORT
  log "fast port ($FAST_PORT): plain JSON, max throughput: $FAST_CONNECTIONS connections, ${DURATION}s"
  run_load fast-plain --mode max --encoding json --connections "$FAST_CONNECTIONS" --duration "$DURATION"
  FAST_EPS=$(jget "$R/fast-plain.json" '["events_per_s"]')
  GZ_EVENTS=$(python3 -c "print(int(min($GZIP_MAX_EVENTS, max(500000, $FAST_EPS * $DURATION * 1.2))))")
  log "fast port: gzip, max throughput, $GZ_EVENTS distinct events pre-compressed"
  run_load fast-gzip --mode max --encoding gzip --events "$GZ_EVENTS" \
    --connections "$FAST_CONNECTIONS" --duration "$DURATION"
  # The same fixed rate as the main port's run, so the two p99s compare.
  log "fast port: plain JSON at a fixed $RATE events/s (open loop)"
  run_load fast-rate --mode rate --rate "$RATE" --encoding json \
    --connections "$RATE_CONNECTIONS" --duration "$RATE_DURATION"
  FAST_RATE=$(python3 -c "print(int(min(500000, $FAST_EPS / 2) // 1000 * 1000))")
  if (( FAST_RATE > RATE )); then
    log "fast port: plain JSON at a fixed $FAST_RATE events/s (half its own max)"
    run_load fast-rate-half --mode rate --rate "$FAST_RATE" --encoding json \
      --connections "$RATE_CONNECTIONS" --duration "$RATE_DURATION"
  fi
  unset TARGET_PORT
fi

curl -fs "http://127.0.0.1:$VP_PORT/metrics" >"$R/metrics.txt" || true
kill "$VP_PID"
wait "$VP_PID" 2>/dev/null || true
VP_PID=""
sync
# (On the Kafka backend with PATHS=none nothing is written locally.)
dir_bytes() { if [[ -d $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
LOG_BYTES=$(dir_bytes "$DATA/log")
[[ $LOG_BYTES != 0 ]] || LOG_BYTES=$(dir_bytes "$DATA")
DATA_BYTES=$(dir_bytes "$DATA")
if [[ $PERF == 1 && -f $WORK/perf.data ]]; then
  perf report -i "$WORK/perf.data" --stdio --no-children -g none --percent-limit 0.5 --sort dso,symbol 2>/dev/null \
    | grep -v '^$' | head -n 120 >"$R/perf.txt" || true
fi

# --- disk ceiling ----------------------------------------------------------------
log "disk ceiling: sequential write + fdatasync on $(df --output=source "$WORK" | tail -1)"
for kib in 256 1024; do
  "$DISK" --dir "$WORK" --chunk-kib "$kib" --seconds 5 >"$R/disk-$kib.json"
  log "  ${kib} KiB chunks: $(jget "$R/disk-$kib.json" '["mb_per_s"]') MB/s"
done
# The disk's own latency floor at the half-rate step's rate: a group commit
# with no CPU (disk_ceiling --events-per-s) writing the bytes the log stores
# per event, into one file (the floor for any log) and into as many files
# as the log fsyncs per round (LOG_FILES, default 6: `viewing`'s 4
# partitions and `qoe`'s 2), in parallel as the log does.
FLOOR_RATE=${FAST_RATE:-$RATE}
(( FLOOR_RATE > RATE )) || FLOOR_RATE=$RATE
STORED_BPE=$(python3 - "$R/metrics.txt" "$LOG_BYTES" <<'PY'
import re, sys
m = re.search(r'^viewpipe_events_total\{outcome="accepted"\} (\S+)$', open(sys.argv[1]).read(), re.M)
n = float(m.group(1)) if m else 0
print(int(int(sys.argv[2]) / n) if n and int(sys.argv[2]) else 291)
PY
) || STORED_BPE=291
for files in 1 "${LOG_FILES:-6}"; do
  "$DISK" --dir "$WORK" --events-per-s "$FLOOR_RATE" --event-bytes "$STORED_BPE" --batch "$BATCH" \
    --files "$files" --seconds "$RATE_DURATION" >"$R/disk-floor-$files.json"
  log "  group commit alone, $files file(s), $FLOOR_RATE events/s x $STORED_BPE B: p99 $(jget "$R/disk-floor-$files.json" '["p99_ms"]') ms, $(jget "$R/disk-floor-$files.json" '["rounds_per_s"]') rounds/s"
done

# --- Kafka -----------------------------------------------------------------------
perf_test() {  # OUTFILE TOPIC RECORDS WARMUP_RECORDS THROUGHPUT
  timeout 600 scripts/kafka.sh run org.apache.kafka.tools.ProducerPerformance --topic "$2" \
    --num-records "$3" --warmup-records "$4" --throughput "$5" \
    --payload-file "$WORK/payload.txt" "${KAFKA_KEYS[@]}" \
    --command-property bootstrap.servers="127.0.0.1:$K_PORT" "${KAFKA_PRODUCER_PROPS[@]}" \
    >"$1" 2>&1 || { tail -n 30 "$1" >&2; die "ProducerPerformance failed"; }
}

kafka_run() {  # NAME TOPIC: max throughput for about KAFKA_SECONDS
  local name=$1 topic=$2 rate n w
  # Calibration, which also warms the broker (page cache, segments, JIT).
  perf_test "$R/$name.calib.txt" "$topic" 1000000 200000 -1
  rate=$(python3 bench/kafka_parse.py rate "$R/$name.calib.txt")
  n=$(python3 -c "print(int(min(60e6, max(1e6, $rate * ($KAFKA_SECONDS + $WARMUP)))))")
  w=$(python3 -c "print(int($n * $WARMUP / ($KAFKA_SECONDS + $WARMUP)))")
  log "  $name: calibrated at $rate records/s; measuring $n records ($w of them warmup)"
  perf_test "$R/$name.txt" "$topic" "$n" "$w" -1
  python3 bench/kafka_parse.py json "$R/$name.txt" >"$R/$name.json"
  log "  $name: $(jget "$R/$name.json" '["records_per_s"]') records/s, p99 $(jget "$R/$name.json" '["p99_ms"]') ms"
}

kafka_rate_run() {  # NAME TOPIC: at viewpipe's fixed rate, for RATE_DURATION
  local name=$1 topic=$2
  perf_test "$R/$name.txt" "$topic" "$((RATE * (RATE_DURATION)))" "$((RATE * WARMUP))" "$RATE"
  python3 bench/kafka_parse.py json "$R/$name.txt" >"$R/$name.json"
  log "  $name: $(jget "$R/$name.json" '["records_per_s"]') records/s, p50 $(jget "$R/$name.json" '["p50_ms"]') ms, p99 $(jget "$R/$name.json" '["p99_ms"]') ms"
}

if [[ $KAFKA == 1 ]]; then
  scripts/kafka.sh install
  K_PORT=$(free_port)
  while [[ $(free_port) == "$K_PORT" ]]; do :; done
  log "Kafka $(cat third_party/kafka/VERSION): KRaft single node on 127.0.0.1:$K_PORT"
  "$LOAD" --dump-events "$WORK/payload.txt" --events 200000 >"$R/payload.json"
  scripts/kafka.sh start "$WORK/kafka" "$K_PORT" >/dev/null
  topics=(viewing)
  if [[ $KAFKA_FSYNC == 1 ]]; then topics+=(viewing-fsync); fi
  for t in "${topics[@]}"; do
    extra=()
    if [[ $t == viewing-fsync ]]; then extra=(--config flush.messages=1); fi
    scripts/kafka.sh run org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$K_PORT" \
      --create --topic "$t" --partitions "$PARTITIONS" --replication-factor 1 "${extra[@]}" \
      >/dev/null
  done
  kafka_run kafka viewing
  log "  Kafka at viewpipe's fixed rate, $RATE records/s"
  kafka_rate_run kafka-rate viewing
  if [[ $KAFKA_FSYNC == 1 ]]; then
    kafka_run kafka-fsync viewing-fsync
    if (( $(jget "$R/kafka-fsync.json" '["records_per_s"]') >= RATE * 9 / 10 )); then
      kafka_rate_run kafka-fsync-rate viewing-fsync
    fi
  fi
  scripts/kafka.sh stop "$WORK/kafka"
fi

# --- report ----------------------------------------------------------------------
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/ingest-$STAMP.json
[[ $BACKEND == file ]] || OUT=bench/results/ingest-$BACKEND-backend-$STAMP.json
python3 bench/report.py --dir "$R" --log-bytes "$LOG_BYTES" --data-bytes "$DATA_BYTES" \
  --kafka-version "$(cat third_party/kafka/VERSION 2>/dev/null || echo none)" \
  --kafka-props "${KAFKA_PRODUCER_PROPS[*]} ${KAFKA_KEYS[*]}" --partitions "$PARTITIONS" \
  --load-avg "$(load_avg)" --out "$OUT"
if [[ $BACKEND == file ]]; then cp "$OUT" bench/results/ingest-latest.json; fi
# Keep the raw run files (load generator JSON lines, Kafka tool output,
# /metrics, per-thread CPU, perf profile) next to the summary.
mkdir -p "bench/results/ingest-$STAMP"
find "$R" -maxdepth 1 -type f ! -name 'payload.txt' -exec cp {} "bench/results/ingest-$STAMP/" \;
log "results: $OUT (raw files in bench/results/ingest-$STAMP/)"
