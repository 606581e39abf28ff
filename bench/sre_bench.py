#!/usr/bin/env python3
"""SRE benchmark driver (bench/sre.sh): detection delay over N injected
outages, false alerts, and catch-up (replay) speed, against the real
`viewpipe serve` fed by `viewpipe sim`.

- Default: time-compressed (`--speed 0`, the simulated clock starts hours
  in the past). Detection delay per outage, in event time: the alert's
  detected_event_time (the detector's tick that raised it) minus the
  simulator's true outage start.
- `--realtime`: the simulator runs at speed 1 (event time = wall time), so
  `wall_latency_s` = the alert's detected_at (wall clock) minus the true
  outage start is the latency itself, pipeline included. No catch-up then.
- A true alert is a qoe alert on the outage's CDN (the cdn group or one of
  its cdn x country cells) whose started_at is inside [start - 20 s, end].
  Every other qoe alert is false (except other dimensions of an ongoing
  outage); so is any alert in the steady run (always time-compressed:
  detection runs in event time).
- Catch-up: the server is killed and restarted (the SRE state is rebuilt
  from the whole `qoe` topic); from the restart until every window is
  closed again: event-time seconds per wall second, and events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

KEY = "bench-sre-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


def metric(base: str, name: str) -> float:
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", get(base + "/metrics"), re.M)
    return float(m.group(1)) if m else float("nan")


class Server:
    def __init__(self, binary, data, log):
        self.binary, self.data, self.log = binary, data, log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, *extra):
        self.proc = subprocess.Popen([self.binary, "serve", "--data-dir", self.data, "--listen",
                                      f"127.0.0.1:{self.port}", "--write-key", KEY, *extra],
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 300:
            try:
                if urllib.request.urlopen(self.base + "/readyz", timeout=1).status == 200:
                    return time.monotonic() - t0
            except Exception:
                time.sleep(0.1)
        raise SystemExit("server not ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def scenario(n: int, outage_s: int, gap_s: int, warmup_s: int, kinds: str) -> tuple[str, int]:
    cdns = ["cdn-a", "cdn-b", "cdn-c", "cdn-d"]
    kind_list = kinds.split(",")
    text = "[traffic]\ntitles = 300\n"
    for i in range(n):
        kind = kind_list[i % len(kind_list)]
        text += (f'\n[[cdn_outage]]\ncdn = "{cdns[i % 4]}"\nat = "{warmup_s + i * (outage_s + gap_s)}s"\n'
                 f'duration = "{outage_s}s"\nkind = "{kind}"\n'
                 f'severity = {0.5 if kind == "start_failures" else 0.6}\n')
    return text, warmup_s + n * (outage_s + gap_s)


def run_sim(args, srv, scen_path, duration_s, start_ms, truth, realtime=False):
    cmd = [args.bin, "sim", "--url", srv.base, "--write-key", KEY, "--viewers", str(args.viewers),
           "--duration", f"{duration_s}s", "--speed", "1" if realtime else "0", "--senders", "4",
           "--seed", str(args.seed), "--scenario", scen_path, "--quiet"]
    if not realtime:
        cmd += ["--start", str(start_ms)]
    if truth:
        cmd += ["--truth", truth]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, timeout=7200)
    if r.returncode != 0:
        raise SystemExit(f"sim failed: {r.stderr.decode()[-2000:]}")
    return json.loads(r.stdout.decode().strip().splitlines()[-1]), time.monotonic() - t0


def cdn_viewers(truth_path, seconds) -> dict:
    """{second's start ms: {cdn: concurrent viewers}} from the simulator's
    truth file, for the given seconds."""
    wanted, out = set(seconds), {}
    for line in open(truth_path):
        if line.startswith('{"at":') and int(line[6:line.index(",")]) in wanted:
            d = json.loads(line)
            out[d["at"]] = d.get("cdn", {})
    return out


def wait_closed(srv, end_ms, timeout=900):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if metric(srv.base, "viewpipe_sre_closed_through_ms") >= end_ms - 30_000:
            return time.monotonic() - t0
        time.sleep(0.2)
    raise SystemExit("the SRE path did not catch up")


def outage_run(args, work):
    text, duration = scenario(args.outages, args.outage_s, args.gap_s, args.warmup_s, args.kinds)
    scen = os.path.join(work, "outages.toml")
    open(scen, "w").write(text)
    srv = Server(args.bin, os.path.join(work, "data-outages"), os.path.join(work, "serve-outages.log"))
    srv.start(*(["--paths", args.paths] if args.paths else []))
    start = (int(time.time()) - duration - 3 * 3600) // 10 * 10 * 1000
    truth = os.path.join(work, "truth.ndjson")
    summary, sim_wall = run_sim(args, srv, scen, duration, start, truth, args.realtime)
    wait_closed(srv, summary["end"])
    alerts = json.loads(get(srv.base + "/v1/sre/alerts?state=all"))["alerts"]
    outages = [json.loads(l)["outage"] for l in open(truth) if l.startswith('{"outage"')]
    viewers = cdn_viewers(truth, [o["start"] - 1000 for o in outages])
    delays, missed, false_alerts = [], [], []
    used = set()
    for o in outages:
        hits = [a for a in alerts if a["kind"] == "qoe" and a["key"].split("|")[0] == o["cdn"]
                and a["dimension"] in ("cdn", "cdn_country")
                and o["start"] - 20_000 <= a["started_at"] <= o["end"]]
        if not hits:
            missed.append(o)
            continue
        used.update(a["id"] for a in hits)
        first = min(hits, key=lambda a: a["detected_event_time"])
        delays.append({"cdn": o["cdn"], "kind": o["kind"], "start": o["start"], "metric": first["metric"],
                       "delay_s": (first["detected_event_time"] - o["start"]) / 1000,
                       # Wall clock at the raise minus the outage start in event
                       # time: the latency itself when the simulator runs at
                       # speed 1 (--realtime), meaningless when time-compressed.
                       "wall_latency_s": (min(a["detected_at"] for a in hits) - o["start"]) / 1000,
                       "started_at_error_s": (first["started_at"] - o["start"]) / 1000,
                       # The evidence's volume: the outage CDN's concurrent
                       # viewers in the second before it began (truth).
                       "cdn_viewers": viewers.get(o["start"] - 1000, {}).get(o["cdn"])})
    for a in alerts:
        if a["kind"] != "qoe" or a["id"] in used:
            continue
        # Related groups of an ongoing outage (its countries, devices, the
        # total) are expected, not false.
        during = any(o["start"] - 20_000 <= a["started_at"] <= o["end"] for o in outages)
        if not (during and a["dimension"] in ("total", "country", "device_type", "isp", "cdn_country")):
            false_alerts.append(a)
    res = {"outages": len(outages), "detected": len(delays), "missed": missed, "delays": delays,
           "false_alerts": false_alerts, "alerts": len(alerts), "alert_list": alerts,
           "events": summary["events"],
           "sim_wall_s": sim_wall, "sim_duration_s": duration}
    if args.realtime:
        srv.kill()
        return res
    # Catch-up: kill -9 and replay the whole qoe topic.
    events = metric(srv.base, "viewpipe_sre_events_total")
    srv.kill()
    t0 = time.monotonic()
    ready = srv.start()
    wait_closed(srv, summary["end"])
    replay = time.monotonic() - t0  # from the restart to every window closed again
    srv.kill()
    return {**res, "replay": {"qoe_events": events, "ready_s": ready, "catch_up_s": replay,
                       "x_real_time": duration / max(replay, 1e-9),
                       "events_per_s": events / max(replay, 1e-9)}}


def sre_caught_up(log_path) -> tuple[int, float]:
    """(records, seconds) of the last `sre: caught up: N records applied in
    M ms since the restore` line: the SRE consumer's own catch-up, from its
    restore to its first empty poll (other modules may still be starting)."""
    t0 = time.monotonic()
    while True:  # the line comes at the first empty poll, after the windows closed
        text = open(log_path, errors="replace").read().rsplit("sre: restored the QoE state", 1)[-1]
        lines = [l for l in text.splitlines() if "sre: caught up:" in l]
        if lines or time.monotonic() - t0 > 120:
            break
        time.sleep(0.2)
    line = lines[0]
    m = re.search(r"caught up: (\d+) records applied in (\d+) ms", line)
    return int(m.group(1)), int(m.group(2)) / 1000


def catch_up_run(args, work):
    """The SRE consumer is down for `--down-s` (default 5 min) of traffic at
    `--catchup-viewers` (the demo's 3,000 viewers) while the collector and the
    ops path keep running (`serve --paths ops`); then the full server starts
    again and the SRE path resumes from its checkpoint. Catch-up: from the
    restart (process spawn, and from /readyz) until every window of the gap
    is closed; x real time = the gap's event time / that time."""
    scen = os.path.join(work, "catchup.toml")
    open(scen, "w").write("[traffic]\ntitles = 300\n")
    srv = Server(args.bin, os.path.join(work, "data-catchup"), os.path.join(work, "serve-catchup.log"))
    viewers, args.viewers = args.viewers, args.catchup_viewers
    try:
        srv.start()
        before_s = 600
        start = (int(time.time()) - before_s - args.down_s - 3600) // 10 * 10 * 1000
        first, _ = run_sim(args, srv, scen, before_s, start, None)
        wait_closed(srv, first["end"])
        time.sleep(12)  # one more checkpoint (every 10 s) covers all of it
        srv.kill()
        srv.start("--paths", "ops")  # the SRE consumer is down
        second, _ = run_sim(args, srv, scen, args.down_s, first["end"], None)
        srv.kill()
        t0 = time.monotonic()
        ready = srv.start()
        took = ready + wait_closed(srv, second["end"])
        caught = sre_caught_up(srv.log)
        replayed = metric(srv.base, "viewpipe_sre_events_total")
        restored = metric(srv.base, "viewpipe_sre_restored_records")
        srv.kill()
    finally:
        args.viewers = viewers
    took_after_ready = took - ready
    records, since_resume = caught
    return {"catch_up_since_sre_resumed_s": since_resume, "records_since_sre_resumed": records,
            "x_real_time_since_sre_resumed": args.down_s / max(since_resume, 1e-9),
            "events_per_s_since_sre_resumed": records / max(since_resume, 1e-9),"viewers": args.catchup_viewers, "down_s": args.down_s,
            "events_in_gap": second["events"], "qoe_events_replayed": replayed,
            "restored_records": restored, "restart_to_ready_s": ready, "catch_up_s": took,
            "x_real_time": args.down_s / max(took, 1e-9),
            "x_real_time_after_ready": args.down_s / max(took_after_ready, 1e-9),
            "events_per_s": replayed / max(took, 1e-9), "wall_s": time.monotonic() - t0}


def steady_run(args, work):
    # The raise-only evaluations between ticks run only while live (the
    # watermark near the wall clock); the steady hour is time-compressed, so
    # they are turned on for all of it (they must not raise anything either).
    os.environ["VIEWPIPE_SRE_PARTIAL_WITHIN_MS"] = str(10**12)
    scen = os.path.join(work, "steady.toml")
    open(scen, "w").write("[traffic]\ntitles = 300\n")
    srv = Server(args.bin, os.path.join(work, "data-steady"), os.path.join(work, "serve-steady.log"))
    srv.start()
    duration = args.steady_s
    start = (int(time.time()) - duration - 3 * 3600) // 10 * 10 * 1000
    summary, _ = run_sim(args, srv, scen, duration, start, None)
    wait_closed(srv, summary["end"])
    alerts = json.loads(get(srv.base + "/v1/sre/alerts?state=all"))["alerts"]
    srv.kill()
    return {"duration_s": duration, "events": summary["events"],
            "alerts": [a for a in alerts if a["kind"] in ("qoe", "silence")]}


def add_evidence(args, work, run):
    """Each start-failure outage's evidence floor (bench/sre_evidence.py):
    when its CDN's 1st..6th failed start and 1st..10th fatal error of any
    kind reached the collector (in event time when the run is
    time-compressed). No detector that needs k of them can raise before the
    k-th."""
    import sre_evidence  # bench/, beside this file
    evidence, _ = sre_evidence.read_qoe(args.bin, os.path.join(work, "data-outages"))
    truth = [json.loads(l)["outage"] for l in open(os.path.join(work, "truth.ndjson"))
             if l.startswith('{"outage"')]
    ends = {(o["cdn"], o["start"]): o["end"] for o in truth}
    for d in run["delays"]:
        if d["kind"] != "start_failures" or (d["cdn"], d.get("start")) not in ends:
            continue
        s, e = d["start"], ends[(d["cdn"], d["start"])]
        for kind, n in (("failed_starts", 6), ("fatal_errors", 10)):
            d[f"kth_{kind}_s"] = sre_evidence.kth_arrivals(
                evidence[kind].get(d["cdn"], []), s, e, args.realtime, n)


def quantiles(xs: list[float]) -> dict:
    if not xs:
        return {}
    # inclusive: between the sample's values (exclusive extrapolates past the max
    # for a few values: p95 14.25 s with a max of 10 s for two outages).
    q = statistics.quantiles(xs, n=20, method="inclusive") if len(xs) > 1 else [xs[0]] * 19
    return {"p50": statistics.median(xs), "p95": q[18], "max": max(xs)}


def summarize(args, res) -> dict:
    o = res["outage_run"]
    out = {"mode": "realtime (speed 1)" if args.realtime else "time-compressed (speed 0)",
           "detected": f'{o["detected"]}/{o["outages"]}',
           "event_time_delay_s": quantiles([x["delay_s"] for x in o["delays"]]),
           "false_alerts_outage_run": len(o["false_alerts"]),
           "false_alerts_steady": len(res.get("steady_run", {}).get("alerts", []))}
    if args.realtime:
        out["wall_latency_s"] = quantiles([x["wall_latency_s"] for x in o["delays"]])
        for kind in args.kinds.split(","):
            out[f"wall_latency_s_{kind}"] = quantiles(
                [x["wall_latency_s"] for x in o["delays"] if x["kind"] == kind])
    # The slowest detections with the size of their CDN's audience: thin
    # groups need longer to show a significant change (bench/README.md, SRE),
    # and when the 3rd failed start and the 5th fatal error of a
    # start-failure outage arrived (its evidence floor, bench/sre_evidence.py).
    key = "wall_latency_s" if args.realtime else "delay_s"

    def kth(x, kind, k):
        t = x.get(f"kth_{kind}_s")
        return t[k - 1] if t is not None and len(t) >= k else None

    out["slowest"] = [{"cdn": x["cdn"], "kind": x["kind"], key: round(x[key], 2),
                       "cdn_viewers": x.get("cdn_viewers"),
                       **({"3rd_failed_start_s": kth(x, "failed_starts", 3),
                           "5th_fatal_error_s": kth(x, "fatal_errors", 5)}
                          if "kth_failed_starts_s" in x else {})}
                      for x in sorted(o["delays"], key=lambda x: -x[key])[:4]]
    sf = [x for x in o["delays"] if "kth_failed_starts_s" in x]
    out["start_failure_outages_evidence_after_10s"] = {
        "3rd_failed_start": sum(1 for x in sf if (kth(x, "failed_starts", 3) or 1e9) > 10),
        "5th_fatal_error": sum(1 for x in sf if (kth(x, "fatal_errors", 5) or 1e9) > 10)}
    if "replay" in o:
        out["restart_x_real_time"] = o["replay"]["x_real_time"]
        out["restart_events_per_s"] = o["replay"]["events_per_s"]
    if "catch_up" in res:
        c = res["catch_up"]
        out["catch_up_5min_x_real_time"] = c["x_real_time"]
        out["catch_up_5min_x_real_time_after_ready"] = c["x_real_time_after_ready"]
        out["catch_up_5min_events_per_s"] = c["events_per_s"]
        out["catch_up_5min_x_real_time_since_sre_resumed"] = c["x_real_time_since_sre_resumed"]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/release/viewpipe")
    p.add_argument("--outages", type=int, default=20)
    p.add_argument("--outage-s", type=int, default=90)
    p.add_argument("--gap-s", type=int, default=90)
    p.add_argument("--warmup-s", type=int, default=240)
    p.add_argument("--steady-s", type=int, default=3600)
    p.add_argument("--viewers", type=int, default=6000)
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--kinds", default="start_failures,rebuffering")
    p.add_argument("--realtime", action="store_true",
                   help="outage run at speed 1: wall-clock latency (detected_at - outage start)")
    p.add_argument("--catchup", action="store_true",
                   help="only the catch-up after an SRE consumer outage of --down-s")
    p.add_argument("--down-s", type=int, default=300)
    p.add_argument("--catchup-viewers", type=int, default=3000)
    p.add_argument("--out", default="bench/results/sre-latest.json")
    p.add_argument("--paths", default="",
                   help="serve's consumer paths in the outage run (default: all; 'sre': the SRE "
                        "path alone, for a larger audience on the shared box)")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="viewpipe-bench-sre-", dir="build")
    if args.catchup:
        res = {"catch_up": catch_up_run(args, work)}
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        json.dump(res, open(args.out, "w"), indent=1)
        print(json.dumps(res, indent=1))
        return
    res = {"outage_run": outage_run(args, work)}
    add_evidence(args, work, res["outage_run"])
    if args.steady_s > 0:
        res["steady_run"] = steady_run(args, work)
    res["summary"] = summarize(args, res)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(res, open(args.out, "w"), indent=1)
    print(json.dumps(res.get("summary", res), indent=1))


if __name__ == "__main__":
    sys.exit(main())
