#!/usr/bin/env bash
# serve's CPU at the demo's rate (bench/README.md, "Serve at the demo's rate").
#   bench/serve_cpu.sh [BIN...]   (default build/release/viewpipe)
# Per binary: serve on a fresh data dir, `viewpipe sim` with 2,000 viewers at
# real time; after 25 s, the serve process's CPU seconds over 40 s and its
# four busiest threads.
set -euo pipefail
one() {
BIN=$1; D=$(mktemp -d); PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VIEWPIPE_BATCH=0 $BIN serve --data-dir $D --port $PORT --write-key k >$D/serve.log 2>&1 & S=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.1; done
$BIN sim --url http://127.0.0.1:$PORT --write-key k --viewers 2000 --duration 80s --speed 1 --seed 5 --quiet >/dev/null 2>&1 & M=$!
sleep 25
snap(){ for t in /proc/$S/task/*; do echo "$(basename $t) $(awk '{print $14+$15}' $t/stat)"; done | sort; }
snap >$D/s1; a=$(awk '{print $14+$15}' /proc/$S/stat); sleep 40; b=$(awk '{print $14+$15}' /proc/$S/stat); snap >$D/s2
echo "serve: $(( b - a )) ticks (1/100 s) in 40 s; $(curl -s http://127.0.0.1:$PORT/metrics | grep -E "^viewpipe_events_total" | tr "\n" " ")"
join $D/s1 $D/s2 | awk '{d=$3-$2; if(d>0) print "  tid " $1 ": " d/100 " CPU-s"}' | sort -t: -k2 -nr | head -4
kill $M $S 2>/dev/null; wait $S 2>/dev/null || true; rm -rf $D
}
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] || set -- build/release/viewpipe
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "$@"; do echo "== $b"; one "$(realpath "$b")"; done
