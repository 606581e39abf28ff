#!/bin/bash
# System calls per request of the fast port's POST /v1/events: `strace -f -c`
# attached to a fresh server while ingest_load sends plain 500-event bodies
# on 16 connections for SECONDS (default 4). strace slows everything; the
# counts per request are what to compare, not the rates.
# Usage (under the lock): flock /work/bench.lock bench/ingest_syscalls.sh BIN [SECONDS]
# AB_DIR: the data dir (default build/sys.tmp).
set -u
BIN=$(realpath "${1:?BIN}")
SECS=${2:-4}
cd "$(dirname "$0")/.."
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
D=${AB_DIR:-build/sys.tmp}; rm -rf $D; mkdir -p $D
P=$(free_port); F=$(free_port)
"$BIN" serve --data-dir $D --port $P --fast-port $F --paths none --write-key k >$D/serve.log 2>&1 &
PID=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:$P/readyz >/dev/null && break; sleep 0.1; done
build/release/bench/ingest_load --target 127.0.0.1:$F --key k --batch 500 --warmup 1 --mode max --encoding json --connections 16 --duration $((SECS + 2)) >$D/load.json 2>$D/load.err &
LP=$!
sleep 1
timeout -s INT "$SECS" strace -f -c -q -p $PID -o $D/strace.txt 2>/dev/null
wait $LP
kill $PID; wait $PID 2>/dev/null
python3 - "$D" "$SECS" <<'PY'
import json, re, sys
d, secs = sys.argv[1], float(sys.argv[2])
l = json.load(open(f"{d}/load.json"))
calls = {}
for line in open(f"{d}/strace.txt"):
    f = line.split()
    if len(f) >= 5 and f[-1].isidentifier() and f[3].isdigit():
        calls[f[-1]] = int(f[3])
# One sendto per answer on the fast port (docs/fast_port.md): the requests
# answered while strace was attached.
reqs = calls.get("sendto") or l["events_per_s"] / 500 * secs
print(f"{reqs:,.0f} requests in {secs:.0f} s under strace ({l['events_per_s']:,.0f} events/s)")
for name in ("futex", "recvfrom", "sendto", "epoll_wait", "epoll_ctl", "write", "writev", "pwrite64",
             "fdatasync", "read", "poll"):
    if name in calls:
        print(f"  {name:12s} {calls[name]:>9,d}  {calls[name] / reqs:6.2f} per request")
PY
rm -rf "$D"
