#!/usr/bin/env bash
# Runs every test: unit tests (release and ASan+UBSan builds), the fuzzers
# for a bounded time, the end-to-end tests against the real binary, and the
# dashboard in a real browser. Run scripts/setup.sh --test first (the
# README's command does): it builds build/release. The sanitizer and fuzzer
# builds (scripts/build-checks.sh) compile here in the background, at the
# lowest CPU priority, while the release build's tests run, and take the CPU
# those leave (the end-to-end tests wait on servers and sleeping processes
# at times); their output is in build/checks.log. The ASan unit tests run
# after the end-to-end tests, not beside them: starved of CPU, a test's own
# deadlines could fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
log() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
mkdir -p tests/artifacts build
CHECKS_PID=""

# The real servers of the backend conformance suites and tests/e2e/test_scale.py
# (docs/scale.md): an Apache Kafka broker (KRaft, loopback), moto's S3
# server and a redis-server (the FeatureStore suite, test_features_redis.py). Stopped at exit; a server that cannot start makes those cases skip
# loudly (they also try to start their own).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SCALE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/viewpipe-test-servers.XXXXXX")
MOTO_PID=""
REDIS_PID=""
stop_servers() {
  [[ -n $CHECKS_PID ]] && { kill -- -"$CHECKS_PID" 2>/dev/null || true; }
  [[ -n $MOTO_PID ]] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
  [[ -n $REDIS_PID ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  scripts/kafka.sh stop "$SCALE_DIR/kafka" || true
  rm -rf "$SCALE_DIR"
}
trap stop_servers EXIT
KAFKA_PORT=$(free_port)
# Retention checked from the start and every second: records older than the
# broker's 1 h retention vanish at once, not at a random moment of a test (issue 9).
if scripts/kafka.sh start "$SCALE_DIR/kafka" "$KAFKA_PORT" log.initial.task.delay.ms=0 \
    log.retention.check.interval.ms=1000 >"$SCALE_DIR/kafka.log" 2>&1; then
  export VP_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT VP_KAFKA_DIR=$SCALE_DIR/kafka
  log "Kafka broker on $VP_KAFKA_BROKERS"
else
  log "WARNING: no Kafka broker (see below); the Kafka cases will try their own"
  tail -n 20 "$SCALE_DIR/kafka.log"
fi
MOTO_PORT=$(free_port)
python3 tests/s3_server.py -H 127.0.0.1 -p "$MOTO_PORT" >"$SCALE_DIR/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$MOTO_PORT") 2>/dev/null && break
  sleep 0.2
done
if (exec 3<>"/dev/tcp/127.0.0.1/$MOTO_PORT") 2>/dev/null; then
  export VP_S3_ENDPOINT=http://127.0.0.1:$MOTO_PORT
  log "S3 server (moto) on $VP_S3_ENDPOINT"
else
  log "WARNING: moto's S3 server did not start; the S3 cases will try their own"
fi
REDIS_PORT=$(free_port)
mkdir -p "$SCALE_DIR/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$SCALE_DIR/redis" --appendonly yes \
  --save "" --loglevel warning >"$SCALE_DIR/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
  sleep 0.1
done
if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
  export VP_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
  log "redis-server on $VP_REDIS_URL"
else
  log "WARNING: redis-server did not start; the Redis cases will try their own"
  tail -n 20 "$SCALE_DIR/redis.log"
fi

# The background builds (see the top), in a process group of their own
# (setsid), so that an early exit stops all of it.
setsid nice -n 19 scripts/build-checks.sh >build/checks.log 2>&1 &
CHECKS_PID=$!

log "unit tests (release)"
ctest --test-dir build/release --output-on-failure -j2 --timeout 600

log "end-to-end tests (real binary)"
python3 -m pytest -q --durations=15 tests/e2e "$@"

log "dashboard in a real browser (chromium + playwright-core)"
node --test tests/browser/

log "waiting for the sanitizer and fuzzer builds (build/checks.log)"
CHECKS_OK=1
wait "$CHECKS_PID" || CHECKS_OK=0
CHECKS_PID=""
cat build/checks.log
(( CHECKS_OK )) || { log "FAILED: the sanitizer or fuzzer build (above)"; exit 1; }

log "unit tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j2 --timeout 900

# Both fuzzers at once, one core each.
log "fuzzing the event parser for ${FUZZ_SECONDS}s and the lookup port's request parser for ${HEAD_FUZZ_SECONDS:-20}s (libFuzzer)"
mkdir -p build/fuzz/corpus build/fuzz/corpus-http-head
build/fuzz/src/event/event_fuzz -max_total_time="$FUZZ_SECONDS" -max_len=16384 \
  -print_final_stats=1 build/fuzz/corpus src/event/testdata 2>tests/artifacts/fuzz.log &
EVENT_FUZZ=$!
build/fuzz/src/api/http_head_fuzz -max_total_time="${HEAD_FUZZ_SECONDS:-20}" -max_len=4096 \
  -print_final_stats=1 build/fuzz/corpus-http-head 2>tests/artifacts/fuzz-http-head.log \
  || { tail -60 tests/artifacts/fuzz-http-head.log; exit 1; }
wait "$EVENT_FUZZ" || { tail -60 tests/artifacts/fuzz.log; exit 1; }
grep -E "stat::number_of_executed_units" tests/artifacts/fuzz.log tests/artifacts/fuzz-http-head.log || true
