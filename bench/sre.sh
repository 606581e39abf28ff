#!/usr/bin/env bash
# SRE benchmark: detection delay over injected CDN outages, false alerts in
# a steady run, catch-up (replay) speed. Results: bench/results/sre-latest.json.
# Knobs (environment): OUTAGES (20), VIEWERS (6000), STEADY_S (3600), SEED (21).
# Wall-clock latency at real time (speed 1, ~13 min):
#   bench/sre.sh --realtime --outage-s 20 --gap-s 10 --warmup-s 150
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j2 --target viewpipe >/dev/null
exec python3 bench/sre_bench.py --outages "${OUTAGES:-20}" --viewers "${VIEWERS:-6000}" \
  --steady-s "${STEADY_S:-3600}" --seed "${SEED:-21}" "$@"
