#!/usr/bin/env bash
# oha's two modes against the same idle lookup port, alternating: --no-tui
# and its interactive mode on a pseudo-terminal (--fps FPS), each step as
# bench/features.sh runs it (bench/features_step.py run_oha) with the lookup
# loop and oha at SCHED_FIFO 50, one unknown id (every answer the same 404),
# no ingest. Says how much of the open-loop tail at 50,000/s is the tool's
# own result buffer (bench/README.md, "oha's interactive mode").
#
#   bench/oha_modes.sh      # ROUNDS (3), SECONDS_PER_STEP (20), RATE (50000),
#                           # CONNS (32), MODES ("0 16": the --fps of each step,
#                           # 0 = --no-tui), NO_BUILD (0)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} SECS=${SECONDS_PER_STEP:-20} RATE=${RATE:-50000} CONNS=${CONNS:-32} MODES=${MODES:-"0 16"}
if [[ ${NO_BUILD:-0} != 1 ]]; then cmake --build build/release --target viewpipe >/dev/null; fi
OHA=$(command -v oha || echo "${CARGO_HOME:-$HOME/.cargo}/bin/oha")
[[ -x $OHA ]] || { echo "oha not installed (scripts/setup.sh --bench)" >&2; exit 1; }
WORK=$(mktemp -d build/oha-modes-XXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port) LPORT=$(free_port)
build/release/viewpipe serve --data-dir "$WORK/data" --port "$PORT" --write-key k \
  --features-lookup-port "$LPORT" >"$WORK/server.log" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
python3 bench/sched_stat.py fifo "$SP" vp-lookup 50 >/dev/null
cd bench
python3 - "$OHA" "$ROUNDS" "$SECS" "$RATE" "$CONNS" "$MODES" "http://127.0.0.1:$LPORT/v1/features/profiles/p-unknown" <<'PY'
import json, sys
import features_step as fs
oha, rounds, secs, rate, conns, modes, url = sys.argv[1:]
fs.RT_PRIO[0] = 50
print(f"oha at {rate}/s, -c {conns}, {secs} s a step; mode, p50/p90/p99/p99.9 ms, requests over 2 ms "
      "(in oha's stalls), the largest completion gaps (ms), oha's CPU us a request")
for rnd in range(1, int(rounds) + 1):
    for mode in map(int, modes.split()):
        c0 = fs.children_cpu()
        fs.CUT.clear()
        r = fs.run_oha(oha, int(rate), int(secs), url, int(conns), stalls=True, fps=mode)
        cpu = fs.CUT[0][1] if fs.CUT else fs.children_cpu() - c0
        name = "--no-tui" if mode == 0 else f"--fps {mode}"
        print(f"round {rnd} {name:9s} {r['p50_ms']:.2f} / {r['p90_ms']:.2f} / {r['p99_ms']:.2f} / "
              f"{r['p999_ms']:.2f}  over 2 ms {r['slow_requests']} ({r['slow_in_tool_stalls']})  "
              f"gaps {r['largest_gaps_ms'][:3]}  {cpu / max(1, r['requests']) * 1e6:.1f} us",
              flush=True)
PY
