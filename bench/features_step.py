#!/usr/bin/env python3
"""One load step of bench/features.sh with the CPU it cost: runs a load tool
against the server and prints one JSON line with the tool's numbers plus

  server_us   the server process's CPU per request (µs = CPU-ms per 1,000
              requests), less the CPU the server spent ingesting: measured
              over --base-seconds just before the step, with no load, and
              subtracted pro rata;
  loop_us     CPU per request of the lookup port's threads alone (named
              vp-lookup; no ingest in them), for steps on that port;
  client_us   the load tool's own CPU per request;
  loop_wait_us    run-queue wait of the lookup port's threads per request:
              how long they were ready to run but had no core (schedstat);
  client_wait_ms_s  the load tool's threads' run-queue wait per second of
              wall time (summed over its threads; sampled every 0.2 s);
  load        the load average before and after.

These are load-independent (CPU, not wall time): they say whether 50,000
lookups/s fit in the machine's cores even when the latency says "shared".

  features_step.py --pid PID --name NAME [--base-seconds 5] wrk ARGS...
  features_step.py --pid PID --name NAME vegeta --rate R --seconds S --targets FILE
      [--connections 64]
  features_step.py --pid PID --name NAME bombardier --rate R --seconds S --url URL
      [--connections 16]
  features_step.py --pid PID --name NAME oha --rate R --seconds S --url URL
      [--connections 16] [--warmup-seconds 3]
  features_step.py --pid PID --name NAME h2load --rate R --seconds S --targets URLS
      [--connections 32] [--warmup-seconds 3]
  (any tool) [--rt-prio N]: run the tool with SCHED_FIFO priority N (chrt -f)

wrk must print one JSON line last (bench/features_lookup.lua); vegeta
(a Go module: fixed rate, open loop, random ids from a targets file) is run
as attack + report; bombardier (a Go module on fasthttp: a rate limit over
keep-alive connections, one URL) with JSON output; oha (a Rust crate on
tokio/hyper: requests scheduled at the fixed rate and their latency counted
from the scheduled time, --latency-correction, so a stalled connection does
not hide the requests that queue behind it; ids drawn at random from the
URL's regex) with JSON output, after an unmeasured warm-up run; for oha
also the tool's own stalls (oha_stalls below: tool_stalls_ms,
slow_in_tool_stalls), from its per-request records.

oha runs in its default, interactive mode, on a pseudo-terminal of its own
(--fps, oha's default 16 frames a second; --fps 0: --no-tui). With a rate (-q),
--no-tui keeps every result in the channel its request timer shares until
the run ends, and stalls that timer each time the channel's buffer doubles
(bench/README.md, "The load tool's own stalls"); the interactive mode
drains it every frame.
"""

import argparse
import json
import fcntl
import os
import pty
import resource
import subprocess
import struct
import sys
import tempfile
import termios
import threading
import time

import sched_stat

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def threads_cpu(pid, name):
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            continue
    return total


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


TOOL_WAIT = []  # (cpu_ns, wait_ns, slices) of each tool process run by run_tool
RT_PRIO = [0]  # > 0: run the tool with SCHED_FIFO at this priority (chrt -f)
CUT = []  # (monotonic time, the tool's CPU seconds) when its stderr showed cut_at


def run_tool(cmd, cut_at=None, tty=False):
    """subprocess.run(cmd, check=True).stdout, sampling the tool's run-queue wait.

    cut_at: a line the tool writes to stderr once its measurement is over
    (oha's "Storing results"); the time and the tool's CPU then go to CUT,
    so what it does afterwards counts neither as load time nor load CPU.
    tty: the tool's stdin and stdout are a pseudo-terminal of 120x30 (what
    it draws there is read and dropped; the result is then "")."""
    if RT_PRIO[0] > 0:
        cmd = ["chrt", "-f", str(RT_PRIO[0]), *cmd]
    if tty:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        p = subprocess.Popen(cmd, stdin=slave, stdout=slave,
                             stderr=subprocess.PIPE if cut_at else None, text=True)
        os.close(slave)
    else:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.PIPE if cut_at else None)
    sampler = sched_stat.Sampler(p.pid)

    def watch_stderr():
        for line in p.stderr:
            if cut_at in line and not CUT:
                CUT.append((time.monotonic(), proc_cpu(p.pid)))
            sys.stderr.write(line)

    watcher = threading.Thread(target=watch_stderr, daemon=True) if cut_at else None
    if watcher:
        watcher.start()
    if tty:
        out = ""
        while True:  # until the tool closes the terminal (EIO)
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        os.close(master)
    else:
        out = p.stdout.read()
    p.wait()
    if watcher:
        watcher.join()
    TOOL_WAIT.append(sampler.stop())
    if p.returncode != 0:
        raise subprocess.CalledProcessError(p.returncode, cmd, out)
    return out


def run_wrk(args):
    out = run_tool(["wrk", *args])
    return json.loads(out.strip().splitlines()[-1])


def run_vegeta(binary, rate, seconds, targets, connections):
    with tempfile.NamedTemporaryFile(suffix=".bin") as results:
        run_tool([binary, "attack", "-targets", targets, "-rate", str(rate),
                        "-duration", f"{seconds}s", "-max-connections", str(connections),
                        "-workers", str(connections), "-max-workers", str(connections),
                        "-timeout", "10s", "-output", results.name])
        rep = json.loads(subprocess.run([binary, "report", "-type=json", results.name],
                                        capture_output=True, text=True, check=True).stdout)
    lat = rep["latencies"]
    codes = rep.get("status_codes") or {}
    return {"requests": rep["requests"], "seconds": rep["duration"] / 1e9,
            "target_rate": rate, "rps": rep["throughput"],
            "errors": rep["requests"] - int(codes.get("200", 0)),
            "p50_ms": lat["50th"] / 1e6, "p90_ms": lat["90th"] / 1e6,
            "p99_ms": lat["99th"] / 1e6, "max_ms": lat["max"] / 1e6}


def run_bombardier(binary, rate, seconds, url, connections):
    out = run_tool([binary, "-c", str(connections), "-r", str(rate), "-d", f"{seconds}s",
                    "-l", "-p", "r", "-o", "j", "-t", "10s", url])
    res = json.loads(out)["result"]
    lat, n = res["latency"], sum(res.get(k, 0) for k in
                                 ("req1xx", "req2xx", "req3xx", "req4xx", "req5xx", "others"))
    pct = lat["percentiles"]
    return {"requests": n, "seconds": res["timeTakenSeconds"], "target_rate": rate,
            "rps": n / res["timeTakenSeconds"], "errors": n - res.get("req2xx", 0),
            "p50_ms": pct["50"] / 1e3, "p90_ms": pct["90"] / 1e3, "p99_ms": pct["99"] / 1e3,
            "max_ms": lat["max"] / 1e3}


def run_h2load(binary, rate, seconds, urls, connections, warmup_seconds=3):
    """h2load (nghttp2's load tool, C++ on libev, HTTP/1.1 here): each of
    `connections` clients sends rate / connections requests a second (--rps),
    one at a time, cycling through the URLs in `urls` (a file, one a line).
    Its per-request log (--log-file: start, status, microseconds to the end
    of the response) gives the percentiles. Within a connection the next
    request waits for the previous answer, so a slow answer would hide the
    requests due behind it (coordinated omission): p50/p90/p99/p999_ms add,
    as HdrHistogram's recordValueWithExpectedInterval and wrk2 do, for each
    answer slower than the connection's interval (connections / rate), the
    samples value - interval, value - 2 x interval, ... that the requests
    due meanwhile would have taken at least; raw_p99_ms is without them.
    What this cannot see is the tool's own lateness: a request sent late
    because h2load's thread had no core counts from when it was sent (its
    sends, 32 clients on their own timers, are no steady stream to measure
    that against: they run up to 5 ms ahead of or behind one even on an idle
    server). client_wait_ms_s (the tool's run-queue wait) says how much there
    could be; at SCHED_FIFO (--rt-prio) it is near zero."""
    per_client = rate / connections
    interval_us = 1e6 / per_client
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "h2load.log")
        out = run_tool([binary, "--h1", "-t", "1", "-c", str(connections),
                        f"--rps={per_client:.3f}", "-D", str(seconds),
                        "--warm-up-time", str(warmup_seconds), "-i", urls,
                        "--log-file", log])
        lat, errors, starts = [], 0, []
        with open(log) as f:
            for line in f:
                start_us, status, us = line.split("\t")[:3]
                lat.append(int(us))
                starts.append(int(start_us))
                errors += status != "200"
    n = len(lat)
    corrected = list(lat)
    for v in lat:
        missing = v - interval_us
        while missing >= interval_us:
            corrected.append(missing)
            missing -= interval_us
    span_us = max(starts) - min(starts) if n > 1 else 0
    lat.sort()
    corrected.sort()
    q = lambda v, p: v[min(len(v) - 1, int(len(v) * p))] / 1e3 if v else 0.0
    span = span_us / 1e6 if span_us else seconds
    done = [l for l in out.splitlines() if l.startswith("requests:")]
    return {"requests": n, "seconds": span, "target_rate": rate, "rps": n / max(span, 1e-9),
            "errors": errors, "p50_ms": q(corrected, 0.5), "p90_ms": q(corrected, 0.9),
            "p99_ms": q(corrected, 0.99), "p999_ms": q(corrected, 0.999),
            "max_ms": q(lat, 1.0), "raw_p99_ms": q(lat, 0.99),
            "co_samples": len(corrected) - n, "h2load_requests": done[0] if done else ""}


def oha_stalls(db_path, slow_ms=2.0):
    """The load tool's own stalls, from its per-request records (--db-url).

    oha (1.16) keeps every result in an unbounded channel until the run
    ends; the channel's buffer doubles, under the channel's lock, when the
    2^k-th result arrives, copying all of them (~130 bytes each: 34 MB at
    2^18). Every request that completes meanwhile waits, and requests due
    meanwhile queue. Reported, for each doubling from 2^14 on: the gap
    between two completions next to it (the stall, as the client saw it),
    and how many requests over slow_ms were due in its episode (below). The
    headline p99 stays oha's own; these say how much of its tail is oha's."""
    import sqlite3
    con = sqlite3.connect(db_path)
    rows = con.execute("SELECT start_latency_correction, end FROM oha "
                       "WHERE start_latency_correction IS NOT NULL").fetchall()
    con.close()
    if not rows:
        return {}
    ends = sorted(e for _, e in rows)
    stalls = []  # (k, start, end) of the largest completion gap near the 2^k-th
    k = 14
    while 2 ** k + 8 < len(ends):
        i = max(range(2 ** k - 8, 2 ** k + 8), key=lambda j: ends[j + 1] - ends[j])
        stalls.append((k, ends[i], ends[i + 1]))
        k += 1
    # A stall's episode: from slow_ms before it, the 1 ms slices of due
    # time while most of their requests are slow (or none were due: oha's
    # timer waits out the stall too, and stamps the requests it owed with
    # the time it resumed, so they show as the backlog behind it).
    slices = {}
    for due, end in rows:
        slices.setdefault(int(due * 1e3), []).append((end - due) * 1e3)
    episode = set()
    for _, s0, s1 in stalls:
        ms = int(s0 * 1e3 - slow_ms)
        while ms <= int(s1 * 1e3) or (sum(1 for x in slices.get(ms, ()) if x > slow_ms) * 2
                                       > len(slices.get(ms, ())) or ms not in slices):
            episode.add(ms)
            ms += 1
            if ms > int(ends[-1] * 1e3):
                break
    slow = [(due, end) for due, end in rows if (end - due) * 1e3 > slow_ms]
    in_stall = sum(1 for due, _ in slow if int(due * 1e3) in episode)
    gaps = sorted(((ends[j + 1] - ends[j]) * 1e3 for j in range(len(ends) - 1)), reverse=True)
    return {"tool_stalls_ms": {f"2^{k}": round((s1 - s0) * 1e3, 2) for k, s0, s1 in stalls},
            "largest_gaps_ms": [round(g, 2) for g in gaps[:5]],
            "slow_requests": len(slow), "slow_in_tool_stalls": in_stall,
            "tool_stall_episodes_ms": len(episode)}


def run_oha(binary, rate, seconds, url, connections, threads=None, stalls=False, fps=16):
    cmd = [binary, "-z", f"{seconds}s", "-q", str(rate), "-c", str(connections),
           "--latency-correction", "--output-format", "json", "--rand-regex-url", "-t", "10s"]
    if threads:
        cmd += ["--worker-threads", str(threads)]
    with tempfile.TemporaryDirectory() as tmp:
        db, report = os.path.join(tmp, "oha.db"), os.path.join(tmp, "oha.json")
        # --time-unit ms: the screen's bars and stats cover the last 32 ms, not
        # (auto, 10 s bins) every result so far at each frame.
        cmd += ["--fps", str(fps), "--time-unit", "ms", "-o", report] if fps > 0 else ["--no-tui"]
        out = run_tool(cmd + (["--db-url", db] if stalls else []) + [url],
                       cut_at="Storing results" if stalls else None, tty=fps > 0)
        if fps > 0:
            with open(report) as f:
                out = f.read()
        extra = oha_stalls(db) if stalls else {}
    rep = json.loads(out)
    codes = rep.get("statusCodeDistribution") or {}
    errors = sum((rep.get("errorDistribution") or {}).values())
    n = sum(codes.values()) + errors
    pct, summ = rep["latencyPercentiles"], rep["summary"]
    return {"requests": n, "seconds": summ["total"], "target_rate": rate,
            "rps": n / summ["total"], "errors": n - int(codes.get("200", 0)),
            "p50_ms": pct["p50"] * 1e3, "p90_ms": pct["p90"] * 1e3, "p99_ms": pct["p99"] * 1e3,
            "p999_ms": pct["p99.9"] * 1e3, "max_ms": summ["slowest"] * 1e3, **extra}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--base-seconds", type=float, default=5.0)
    ap.add_argument("tool", choices=["wrk", "vegeta", "bombardier", "oha", "h2load"])
    ap.add_argument("--rate", type=int)
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--targets", help="vegeta: its targets file; h2load: a file of URLs")
    ap.add_argument("--connections", type=int)
    ap.add_argument("--url")
    ap.add_argument("--binary", help="vegeta, bombardier, oha or h2load, when not on PATH")
    ap.add_argument("--threads", type=int, help="oha: worker threads (its default: the cores)")
    ap.add_argument("--fps", type=int, default=16,
                    help="oha: frames a second of its interactive mode on a pseudo-terminal "
                         "(0: --no-tui)")
    ap.add_argument("--warmup-seconds", type=int, default=3,
                    help="oha: an unmeasured run at the same rate first; h2load: its "
                         "--warm-up-time")
    ap.add_argument("--rt-prio", type=int, default=0,
                    help="run the tool with SCHED_FIFO at this priority (chrt -f), as if it "
                         "had a core of its own")
    args, rest = ap.parse_known_args()
    RT_PRIO[0] = args.rt_prio

    if args.tool == "oha" and args.warmup_seconds > 0:
        run_oha(args.binary or "oha", args.rate, args.warmup_seconds, args.url,
                args.connections or 16, args.threads, fps=args.fps)
    b0, t0 = proc_cpu(args.pid), time.monotonic()
    time.sleep(args.base_seconds)
    ingest_per_s = (proc_cpu(args.pid) - b0) / (time.monotonic() - t0)

    load0, p0, l0, c0 = loadavg(), proc_cpu(args.pid), threads_cpu(args.pid, "vp-lookup"), \
        children_cpu()
    s0 = sched_stat.snapshot(args.pid, "vp-lookup")
    TOOL_WAIT.clear()
    CUT.clear()
    t0 = time.monotonic()
    if args.tool == "wrk":
        r = run_wrk(rest)
    elif args.tool == "vegeta":
        r = run_vegeta(args.binary or "vegeta", args.rate, args.seconds, args.targets,
                       args.connections or 64)
    elif args.tool == "oha":
        r = run_oha(args.binary or "oha", args.rate, args.seconds, args.url,
                    args.connections or 16, args.threads, stalls=True, fps=args.fps)
    elif args.tool == "h2load":
        r = run_h2load(args.binary or "h2load", args.rate, args.seconds, args.targets,
                       args.connections or 32, args.warmup_seconds)
    else:
        r = run_bombardier(args.binary or "bombardier", args.rate, args.seconds, args.url,
                           args.connections or 16)
    wall = time.monotonic() - t0
    p1, l1, c1 = proc_cpu(args.pid), threads_cpu(args.pid, "vp-lookup"), children_cpu()
    client_cpu = c1 - c0
    if CUT:  # the tool's CPU and time up to the end of its measurement
        client_cpu, wall_client = CUT[0][1], CUT[0][0] - t0
    else:
        wall_client = wall
    loop_wait_ns = sched_stat.delta(s0, sched_stat.snapshot(args.pid, "vp-lookup"))[1]
    tool_wait_ns = sum(w[1] for w in TOOL_WAIT)
    n = max(1, r["requests"])
    r.update({"name": args.name, "load": [load0, loadavg()],
              "ingest_cpu_per_s": round(ingest_per_s, 3),
              "server_us": round(max(0.0, (p1 - p0) - ingest_per_s * wall) / n * 1e6, 2),
              "loop_us": round((l1 - l0) / n * 1e6, 2),
              "client_us": round(client_cpu / n * 1e6, 2),
              "loop_wait_us": round(loop_wait_ns / 1e3 / n, 2),
              "client_wait_ms_s": round(tool_wait_ns / 1e6 / wall_client, 1)})
    if args.tool == "h2load":
        r["connections"] = args.connections or 32
    if args.tool == "oha":
        r.update({"connections": args.connections or 16, "threads": args.threads,
                  "fps": args.fps})
    if args.rt_prio:
        r["rt_prio"] = args.rt_prio
    print(json.dumps(r))


if __name__ == "__main__":
    sys.exit(main())
