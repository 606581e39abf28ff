#!/usr/bin/env bash
# Ingest on the Kafka log backend vs the embedded log, side by side, in one
# run (issue 9's benchmark):
#
#   bench/ingest_backends.sh
#
# Both runs are bench/ingest.sh with the collector alone (PATHS=none, as the
# broker is measured alone) and the same acks semantics: a 200 only after the
# event is durable, on FileLog after fdatasync, on the Kafka backend after
# the broker's acknowledgement (acks=all, idempotent producer, one local
# KRaft broker started by the script on the same 2 cores). The Kafka backend
# runs first; its fixed-rate step's rate (half its main port's maximum) is
# then given to the FileLog run (FIXED_RATE), so the two p99s are at the
# same rate. About 12 minutes. Knobs: those of bench/ingest.sh (DURATION,
# RATE_DURATION, QUIET_WAIT, ...); PATHS (none) can be set to "" to run
# every consumer path beside the collector.
# Prints the side-by-side table and writes
# bench/results/ingest-backends-<time>.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATHS=${PATHS-none}
export KAFKA=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

results_of() { sed -n 's/.*results: \(\S*\.json\) .*/\1/p' "$1" | tail -1; }

BACKEND=kafka bench/ingest.sh 2> >(tee "$TMP/kafka.log" >&2)
KAFKA_JSON=$(results_of "$TMP/kafka.log")
[[ -f $KAFKA_JSON ]] || { echo "no results from the Kafka backend run" >&2; exit 1; }
RATE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["rate_events_per_s"])' \
  "$KAFKA_JSON")

NO_BUILD=1 BACKEND=file FIXED_RATE=$RATE bench/ingest.sh 2> >(tee "$TMP/file.log" >&2)
FILE_JSON=$(results_of "$TMP/file.log")
[[ -f $FILE_JSON ]] || { echo "no results from the FileLog run" >&2; exit 1; }

python3 bench/backends_report.py --file "$FILE_JSON" --kafka "$KAFKA_JSON" \
  --out "bench/results/ingest-backends-$(date -u +%Y%m%d-%H%M%S).json"
