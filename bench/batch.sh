#!/usr/bin/env bash
# Batch consumer benchmarks (bench/README.md, "Batch"). One command:
#
#   bench/batch.sh
#
# 1. lakes: `viewpipe backfill` writes eight sealed days of DAY_EVENTS
#    events each (a full ISO week among them) and one day of 10x that;
# 2. `viewpipe serve` (scheduler off: VIEWPIPE_BATCH=0) under live load
#    from `viewpipe sim` (VIEWERS steady viewers, real time);
# 3. job times: `viewpipe batch daily` on a DAY_EVENTS day and on the 10x
#    day, `viewpipe batch weekly` on the week (each once, timed, peak RSS,
#    normal priority; the weekly first runs the week's six other dailies,
#    it is built from their sessions; in the freshness loop below they are
#    current, so later weekly runs are the weekly step alone);
# 4. ops freshness (`ops_bench freshness`, as in bench/ops.sh) while idle
#    and while each job runs back to back as SCHED_IDLE with the idle I/O
#    class (chrt --idle 0 ionice -c 3: the policy of the scheduler thread
#    inside serve), side by side, with the runs completed meanwhile.
#
# Knobs (environment): BUILD_DIR (build/release), DAY_EVENTS (30240000: the
# demo's ~350 events/s for a day), VIEWERS (2000), IDLE_SECONDS (60),
# RATE (probes/s, 20), KEEP (0), NO_BUILD (0), DATA_FROM (a data dir of an
# earlier run, KEEP=1: its lake is copied instead of backfilled again),
# TENX (1; 0 leaves out the 10x day: its backfill, job and freshness phase),
# TIMED (1; 0 skips step 3, the timed runs), FRESH_MAX_SECONDS (0: no cap; a
# cap ends a freshness phase after that many seconds even if the job has not
# finished once: a 10x job at SCHED_IDLE on a busy box takes an hour).
# Prints a table and writes bench/results/batch-<time>.json (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/release}
DAY_EVENTS=${DAY_EVENTS:-30240000}
VIEWERS=${VIEWERS:-2000}
IDLE_SECONDS=${IDLE_SECONDS:-60}
RATE=${RATE:-20}
TENX=${TENX:-1}  # 0: no 10x day (backfill, job, freshness phase)
TIMED=${TIMED:-1}
FRESH_MAX_SECONDS=${FRESH_MAX_SECONDS:-0}
KEEP=${KEEP:-0}
KEY=bench-write-key

log() { printf '\033[1;32m[batch-bench]\033[0m %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [[ ${NO_BUILD:-0} != 1 ]]; then
  log "building viewpipe and ops_bench (Release) in $BUILD_DIR"
  [[ -f $BUILD_DIR/build.ninja ]] || cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target viewpipe ops_bench -j2 >"$BUILD_DIR/batch-bench-build.log" 2>&1 ||
    { tail -n 40 "$BUILD_DIR/batch-bench-build.log"; exit 1; }
fi
VP=$(pwd)/$BUILD_DIR/viewpipe
OB=$(pwd)/$BUILD_DIR/bench/ops_bench
mkdir -p build bench/results
WORK=$(mktemp -d "$(pwd)/build/batch-bench.XXXXXX")
DATA=$WORK/data
SERVER_PID=""
SIM_PID=""
cleanup() {
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null || true
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [[ $KEEP == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# --- 1. lakes ------------------------------------------------------------------
read -r MONDAY DAY DAY10X WEEK < <(python3 -c '
import datetime as dt
t = dt.datetime.now(dt.timezone.utc).date(); m = t - dt.timedelta(days=t.weekday())
w = (m - dt.timedelta(days=7)).isocalendar()
print(m, m - dt.timedelta(days=3), m - dt.timedelta(days=9), f"{w[0]:04d}-W{w[1]:02d}")')
if [[ -n ${DATA_FROM:-} ]]; then
  log "lake copied from $DATA_FROM (no backfill)"
  mkdir -p "$DATA/history"
  cp -r "$DATA_FROM/history/lake" "$DATA/history/"
  rm -rf "$DATA/history/lake/datasets" "$DATA/history/lake/aggregates" "$DATA/history/lake/_batch"
  cp "$DATA_FROM/backfill1.json" "$WORK/"
  if [[ $TENX == 1 ]]; then cp "$DATA_FROM/backfill10.json" "$WORK/"; fi
else
log "backfill: 8 days x $DAY_EVENTS events (week $WEEK), and $DAY10X with 10x"
/usr/bin/time -f '%e' -o "$WORK/backfill1.time" "$VP" backfill --data-dir "$DATA" --days 8 \
  --events-per-day "$DAY_EVENTS" --end-date "$MONDAY" --no-hot --seed 11 >"$WORK/backfill1.json" 2>/dev/null
if [[ $TENX == 1 ]]; then /usr/bin/time -f '%e' -o "$WORK/backfill10.time" "$VP" backfill --data-dir "$DATA" --days 1 \
  --events-per-day "$((DAY_EVENTS * 10))" --end-date "$(python3 -c "import datetime as d; print(d.date.fromisoformat('$DAY10X') + d.timedelta(days=1))")" \
  --no-hot --seed 12 >"$WORK/backfill10.json" 2>/dev/null; fi
cp "$WORK"/backfill*.json "$DATA/"
fi

"$VP" lake --data-dir "$DATA" --days 40 >"$WORK/lake.json" 2>/dev/null  # rows per day: the jobs' inputs

# --- 2. server under live load ------------------------------------------------------
PORT=$(free_port)
VIEWPIPE_BATCH=0 "$VP" serve --data-dir "$DATA" --port "$PORT" --write-key "$KEY" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
TOTAL_S=$((IDLE_SECONDS * 4 + 4 * 3600))  # the sim is stopped at the end; a 10x day takes a while
"$VP" sim --url "http://127.0.0.1:$PORT" --write-key "$KEY" --viewers "$VIEWERS" \
  --duration "${TOTAL_S}s" --speed 1 --seed 5 --quiet >"$WORK/sim.json" 2>"$WORK/sim.err" &
SIM_PID=$!
sleep 20  # the sim ramps up

# --- 3. job times ------------------------------------------------------------------
job() {  # name, args...: one timed run at normal priority; prints seconds
  local name=$1; shift
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/$name.time" "$VP" batch "$@" --data-dir "$DATA" \
    >"$WORK/$name.json" 2>>"$WORK/batch.err"
  cut -d' ' -f1 "$WORK/$name.time"
}
T_DAILY=0 T_DAILY10=0 T_WEEKLY=0
if [[ $TIMED == 1 ]]; then
log "daily job, $DAY ($DAY_EVENTS events/day)"; T_DAILY=$(job daily daily --date "$DAY")
if [[ $TENX == 1 ]]; then log "daily job, $DAY10X (10x)"; T_DAILY10=$(job daily10 daily --date "$DAY10X"); fi
log "weekly job, $WEEK"; T_WEEKLY=$(job weekly weekly --week "$WEEK")
fi

# --- 4. ops freshness: idle vs during each job (run back to back) --------------------
fresh() {  # name seconds [job args...]
  local name=$1 secs=$2; shift 2
  local loop_pid=""
  if [[ $# -gt 0 ]]; then
    ( while true; do
        chrt --idle 0 ionice -c 3 "$VP" batch "$@" --data-dir "$DATA" >/dev/null 2>>"$WORK/batch.err" &
        echo $! >"$WORK/job.pid"
        wait $! && echo done >>"$WORK/runs-$name.txt"
      done ) &
    loop_pid=$!
  fi
  "$OB" freshness --url "http://127.0.0.1:$PORT" --write-key "$KEY" --seconds "$secs" --rate "$RATE" \
    --phase "$name:2-$secs" >"$WORK/fresh-$name.json"
  if [[ -n $loop_pid ]]; then
    # The job's CPU in the phase: the runs that ended (the loop's waited-for
    # children) plus the one still running, which is then stopped with it.
    kill -STOP "$loop_pid"  # no new run from here on
    local job; job=$(cat "$WORK/job.pid")
    local tck; tck=$(getconf CLK_TCK)
    python3 -c "import sys
def f(p, a, b):
    try: x = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split(); return int(x[a - 3]) + int(x[b - 3])
    except OSError: return 0
print((f($loop_pid, 16, 17) + f($job, 14, 15)) / $tck)" >"$WORK/cpu-$name.txt"
    kill -KILL "$loop_pid" 2>/dev/null; kill "$job" 2>/dev/null
    wait "$loop_pid" 2>/dev/null || true
    while kill -0 "$job" 2>/dev/null; do sleep 0.2; done
  fi
  sleep 3
}
secs() {  # a phase lasts the job's timed run + 5 s (at least IDLE_SECONDS; FRESH_MAX_SECONDS when untimed), capped
  python3 -c "import math; t, c = float('$1'), $FRESH_MAX_SECONDS; s = max($IDLE_SECONDS, math.ceil(t) + 5)
print(c if c > 0 and (t == 0 or s > c) else s)"; }
log "freshness idle (${IDLE_SECONDS} s)"; fresh idle "$IDLE_SECONDS"
log "freshness during daily"; fresh daily "$(secs "$T_DAILY")" daily --date "$DAY"
if [[ $TENX == 1 ]]; then log "freshness during daily 10x"; fresh daily10x "$(secs "$T_DAILY10")" daily --date "$DAY10X"; fi
log "freshness during weekly"; fresh weekly "$(secs "$T_WEEKLY")" weekly --week "$WEEK"
kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""

STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/batch-$STAMP.json
python3 - "$WORK" "$OUT" "$DAY_EVENTS" "$DAY" "$DAY10X" "$WEEK" <<'PY'
import datetime as dt, json, os, sys
work, out, day_events, day, day10x, week = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:7]
last = lambda n: json.loads(open(os.path.join(work, n)).read().strip().splitlines()[-1])
tm = lambda n: open(os.path.join(work, n + ".time")).read().split()
has = lambda n: os.path.exists(os.path.join(work, n))
def maybe_json(n):
    try: return last(n)
    except (OSError, ValueError): return None  # a copied lake whose backfill summary was lost
b1, b10 = maybe_json("backfill1.json"), maybe_json("backfill10.json")
rows = {d["event_date"]: d["rows"] for d in last("lake.json")["recent"]}  # the inputs, from the lake itself
y, w = map(int, week.split("-W")); mon = dt.date.fromisocalendar(y, w, 1)
week_rows = sum(rows.get(str(mon + dt.timedelta(days=i)), 0) for i in range(7))
jobs = {}
for name, events in (("daily", rows.get(day, 0)), ("daily10", rows.get(day10x, 0)), ("weekly", week_rows)):
    if not has(name + ".time"): continue
    secs, rss_kb, user, sys_s = tm(name)
    jobs[name] = {"seconds": float(secs), "cpu_seconds": float(user) + float(sys_s), "peak_rss_mb": int(rss_kb) / 1024,
                  "input_events": round(events), "events_per_s": round(events / max(float(secs), 1e-9)),
                  **last(name + ".json")}
fresh = {n: last(f"fresh-{n}.json")["phases"][n] for n in ("idle", "daily", "daily10x", "weekly") if has(f"fresh-{n}.json")}
for n in fresh:
    p = os.path.join(work, f"runs-{n}.txt")
    fresh[n]["job_runs_completed"] = len(open(p).read().split()) if os.path.exists(p) else 0
    c = os.path.join(work, f"cpu-{n}.txt")
    fresh[n]["job_cpu_seconds"] = float(open(c).read()) if os.path.exists(c) else 0.0
res = {"day_events": day_events, "backfill": [b for b in (b1, b10) if b], "jobs": jobs, "freshness": fresh,
       "loadavg": open("/proc/loadavg").read().split()[:3], "cores": os.cpu_count()}
json.dump(res, open(out, "w"), indent=1)
json.dump(res, open(os.path.join(os.path.dirname(out), "batch-latest.json"), "w"), indent=1)
print(f"\nBatch jobs ({os.cpu_count()} cores, load {' '.join(res['loadavg'])}); day = ~{day_events:,} planned events")
print(f"{'job':10} {'input events':>14} {'seconds':>9} {'CPU-s':>8} {'events/s':>10} {'peak RSS':>10} {'rows out':>10}")
for n, j in jobs.items():
    print(f"{n:10} {j['input_events']:>14,} {j['seconds']:>9.1f} {j['cpu_seconds']:>8.1f} {j['events_per_s']:>10,} "
          f"{j['peak_rss_mb']:>8.0f}MB {j['rows']:>10,}")
print(f"\n{'ops freshness (200 -> shown)':30} {'n':>5} {'p50':>8} {'p99':>8} {'max':>8}   pipeline share p50/p99   job runs done, job CPU-s")
for n, p in fresh.items():
    print(f"  {n:28} {p['n']:>5} {p['p50_ms']:>6.0f}ms {p['p99_ms']:>6.0f}ms {p['max_ms']:>6.0f}ms"
          f"   {p['pipeline_p50_ms']:.0f} / {p['pipeline_p99_ms']:.0f} ms   {p['job_runs_completed']}, {p['job_cpu_seconds']:.0f}")
print(f"results: {out}")
PY
