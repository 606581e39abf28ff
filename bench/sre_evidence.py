#!/usr/bin/env python3
"""How soon could any detector have known? The evidence floor of a
start-failure outage, from the data an SRE benchmark run stored.

A start failure is a session's fatal `error` before any `play_start`
(the `vsf_rate` numerator, docs/sre.md). For every start-failure outage of
the run (the simulator's truth), this reads the `qoe` topic (`viewpipe
dump`) and prints when the outage CDN's k-th start failure after the
outage began reached the collector (the record's `received_at`), k = 1..6,
beside the detector's own latency from the bench's result JSON. No detector
that needs k failed starts can raise before the k-th arrived.

Which k a detector needs is set by the false alerts it may raise. With
--steady (a data dir of normal traffic only: the steady hour of
`bench/sre.sh` keeps it in data-steady/) the second table counts, an hour,
the episodes in which a CDN had at least k start failures within 10 s
(windows slid a second at a time; overlapping windows at or over k are one
episode): a rule "k failed starts within 10 s on a CDN" would raise that
often in normal traffic, on the four CDN groups alone (the detector also
watches countries, ISPs, devices and cdn x country cells).

    bench/sre_evidence.py --work build/viewpipe-bench-sre-XXXX \
        [--result bench/results/sre-latest.json] \
        [--steady build/viewpipe-bench-sre-YYYY/data-steady]
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import subprocess
import sys


def read_qoe(binary: str, data_dir: str):
    """(start failures, attempts): {cdn: sorted [(ts, received_at)]}."""
    proc = subprocess.Popen([binary, "dump", "--data-dir", data_dir, "--topic", "qoe"],
                            stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
    started = {}  # session -> first play_start ts
    fatal = []  # (session, cdn, ts, received_at)
    attempts = collections.defaultdict(list)
    for line in proc.stdout:
        v = json.loads(line)["value"]
        t = v["type"]
        if t == "attempt":
            attempts[v["cdn"]].append(v["ts"])
        elif t == "play_start":
            s = v["session_id"]
            started[s] = min(started.get(s, v["ts"]), v["ts"])
        elif t == "error" and v.get("fatal"):
            fatal.append((v["session_id"], v["cdn"], v["ts"], v["received_at"]))
    if proc.wait() != 0:
        raise SystemExit("viewpipe dump failed")
    failures = collections.defaultdict(list)
    for s, cdn, ts, rx in fatal:
        if s not in started or started[s] > ts:
            failures[cdn].append((ts, rx))
    for v in failures.values():
        v.sort()
    for v in attempts.values():
        v.sort()
    return failures, attempts


def count_between(sorted_ts, lo, hi):
    return bisect.bisect_left(sorted_ts, hi) - bisect.bisect_left(sorted_ts, lo)


def normal_windows(a, ks):
    """Per CDN: the episodes of >= k start failures within a window of normal
    traffic (windows slid a second at a time; overlapping windows at or over
    k are one episode), and the attempts in the window where each began."""
    failures, attempts = read_qoe(a.bin, a.steady)
    w = a.window_s * 1000
    t_lo = min(v[0] for v in attempts.values() if v) + 120_000
    t_hi = max(v[-1] for v in attempts.values() if v)
    hours = (t_hi - t_lo) / 3_600_000
    out = {}
    print(f"\nnormal traffic ({a.steady}, {hours:.2f} h of event time): {a.window_s}-s windows "
          f"with >= k start failures on one CDN, as episodes an hour")
    print(f"{'cdn':6} {'att/s':>6} {'vsf %':>6} " + " ".join(f"{'k=' + str(k):>6}" for k in ks)
          + "  (attempts in the window where each k=3 episode began)")
    for cdn in sorted(attempts):
        ts = [x for x, _ in failures.get(cdn, [])]
        att = attempts[cdn]
        episodes = {k: [] for k in ks}
        last = 0
        for start in range(t_lo, t_hi - w, 1000):
            c = count_between(ts, start, start + w)
            for k in ks:
                if c >= k > last:
                    episodes[k].append(count_between(att, start, start + w))
            last = c
        na = count_between(att, t_lo, t_hi)
        nf = count_between(ts, t_lo, t_hi)
        out[cdn] = {"hours": hours, "attempts_per_s": na / (hours * 3600), "vsf": nf / max(na, 1),
                    "episodes": {k: episodes[k] for k in ks}}
        print(f"{cdn:6} {na / (hours * 3600):6.2f} {100 * nf / max(na, 1):6.2f} "
              + " ".join(f"{len(episodes[k]) / hours:6.1f}" for k in ks)
              + f"  {episodes[3][:8]}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="the bench's work dir (data-outages/, truth.ndjson)")
    p.add_argument("--result", help="the bench's result JSON (the detector's latency per outage)")
    p.add_argument("--bin", default="build/release/viewpipe")
    p.add_argument("--steady", help="a data dir of normal traffic only (the steady run's data-steady/)")
    p.add_argument("--window-s", type=int, default=10)
    p.add_argument("--json", help="also write the numbers here")
    a = p.parse_args()

    outages = [json.loads(l)["outage"] for l in open(os.path.join(a.work, "truth.ndjson"))
               if l.startswith('{"outage"')]
    failures, attempts = read_qoe(a.bin, os.path.join(a.work, "data-outages"))
    delays = json.load(open(a.result))["outage_run"]["delays"] if a.result else []
    # A time-compressed run (bench/sre.sh without --realtime) stamps events
    # hours before they arrive: use event time there.
    lags = sorted(r - ts for v in failures.values() for ts, r in v)
    live = bool(lags) and lags[len(lags) // 2] < 60_000
    ks = range(1, 7)
    rows = []
    print(f"start-failure outages: seconds from the outage's start until the CDN's k-th start "
          f"failure " + ("reached the collector" if live else "happened (event time)"))
    print(f"{'cdn':6} {'start':>14} {'att/s':>6} " + " ".join(f"{'k=' + str(k):>6}" for k in ks)
          + f" {'detector':>9}")
    for o in outages:
        if o["kind"] != "start_failures":
            continue
        cdn, s = o["cdn"], o["start"]
        # Arrival order: the k-th to arrive, among failures of attempts in the outage.
        rx = sorted(r if live else ts for ts, r in failures.get(cdn, []) if s <= ts < o["end"])
        t = [(rx[k - 1] - s) / 1000 if len(rx) >= k else None for k in ks]
        att = count_between(attempts.get(cdn, []), s, s + 20_000) / 20
        det = next((d.get("wall_latency_s", d["delay_s"]) for d in delays
                    if d.get("start") == s and d["cdn"] == cdn), None)
        rows.append({"cdn": cdn, "start": s, "attempts_per_s": att, "kth_failure_s": t,
                     "detector_s": det})
        print(f"{cdn:6} {s:>14} {att:6.2f} "
              + " ".join(f"{x:6.2f}" if x is not None else f"{'-':>6}" for x in t)
              + (f" {det:9.2f}" if det is not None else ""))

    # Normal traffic: a steady run's whole qoe topic (bench/sre.sh's steady
    # hour keeps it in data-steady/), without its first two minutes (the
    # warm start's burst of attempts).
    quiet = {}
    if a.steady:
        quiet = normal_windows(a, ks)
    if a.json:
        json.dump({"outages": rows, "normal": quiet, "window_s": a.window_s}, open(a.json, "w"),
                  indent=1)


if __name__ == "__main__":
    sys.exit(main())
