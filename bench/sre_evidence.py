#!/usr/bin/env python3
"""How soon could a detector have known? The evidence floor of a
start-failure outage, from the data an SRE benchmark run stored.

For every start-failure outage of the run (the simulator's truth) this
reads the `qoe` topic (`viewpipe dump`) and prints when the outage CDN's
k-th piece of evidence after the outage began reached the collector (the
record's `received_at`; event time in a time-compressed run), beside the
detector's latency from the bench's result JSON, for two kinds of evidence:

- **failed starts**: fatal `error`s before any `play_start` (the `vsf_rate`
  numerator, docs/sre.md);
- **fatal errors** of any kind: failed starts and the playback failures of
  sessions already playing (the simulator's start-failure outage also
  raises those: a CDN that fails manifests fails segments too).

No detector that needs k of them can raise before the k-th arrived. Which
k it needs is set by the false alerts it may raise: with --steady (a data
dir of normal traffic only: the steady hour of `bench/sre.sh` keeps it in
data-steady/) the second table counts, an hour, the episodes in which a CDN
had at least k of them within 10 s (windows slid a second at a time;
overlapping windows at or over k are one episode): a rule "k within 10 s
on a CDN" would raise that often in normal traffic, on the four CDN
groups alone (the detector also watches countries, ISPs, devices and
cdn x country cells).

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

KINDS = ("failed_starts", "fatal_errors")
KS = {"failed_starts": range(1, 7), "fatal_errors": range(1, 11)}


def read_qoe(binary: str, data_dir: str):
    """({kind: {cdn: sorted [(ts, received_at)]}}, {cdn: sorted attempt ts})."""
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
    evidence = {k: collections.defaultdict(list) for k in KINDS}
    for s, cdn, ts, rx in fatal:
        evidence["fatal_errors"][cdn].append((ts, rx))
        if s not in started or started[s] > ts:
            evidence["failed_starts"][cdn].append((ts, rx))
    for by_cdn in evidence.values():
        for v in by_cdn.values():
            v.sort()
    for v in attempts.values():
        v.sort()
    return evidence, attempts


def kth_arrivals(pairs, start, end, live, n):
    """Seconds from `start` until the 1st..n-th of `pairs` (ts, received_at)
    with ts in [start, end) arrived (received_at when live, else ts)."""
    rx = sorted(r if live else ts for ts, r in pairs if start <= ts < end)
    return [round((x - start) / 1000, 2) for x in rx[:n]]


def count_between(sorted_ts, lo, hi):
    return bisect.bisect_left(sorted_ts, hi) - bisect.bisect_left(sorted_ts, lo)


def normal_windows(a):
    """Per kind and CDN: episodes an hour of >= k within a window of normal
    traffic (windows slid a second at a time; overlapping windows at or over
    k are one episode), without the run's first two minutes (the warm
    start's burst of attempts)."""
    evidence, attempts = read_qoe(a.bin, a.steady)
    w = a.window_s * 1000
    t_lo = min(v[0] for v in attempts.values() if v) + 120_000
    t_hi = max(v[-1] for v in attempts.values() if v)
    hours = (t_hi - t_lo) / 3_600_000
    out = {}
    for kind in KINDS:
        ks = KS[kind]
        print(f"\nnormal traffic ({a.steady}, {hours:.2f} h of event time): episodes an hour "
              f"with >= k {kind.replace('_', ' ')} on one CDN within {a.window_s} s")
        print(f"{'cdn':6} {'per s':>6} " + " ".join(f"{'k=' + str(k):>6}" for k in ks))
        out[kind] = {}
        for cdn in sorted(attempts):
            ts = [x for x, _ in evidence[kind].get(cdn, [])]
            episodes = {k: 0 for k in ks}
            last = 0
            for start in range(t_lo, t_hi - w, 1000):
                c = count_between(ts, start, start + w)
                for k in ks:
                    if c >= k > last:
                        episodes[k] += 1
                last = c
            rate = count_between(ts, t_lo, t_hi) / (hours * 3600)
            out[kind][cdn] = {"hours": hours, "per_s": rate,
                              "episodes_per_hour": {k: episodes[k] / hours for k in ks}}
            print(f"{cdn:6} {rate:6.3f} " + " ".join(f"{episodes[k] / hours:6.1f}" for k in ks))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True,
                   help="the bench's work dir (data-outages/, truth.ndjson)")
    p.add_argument("--result", help="the bench's result JSON (the detector's latency per outage)")
    p.add_argument("--bin", default="build/release/viewpipe")
    p.add_argument("--steady",
                   help="a data dir of normal traffic only (the steady run's data-steady/)")
    p.add_argument("--window-s", type=int, default=10)
    p.add_argument("--json", help="also write the numbers here")
    a = p.parse_args()

    outages = [json.loads(l)["outage"] for l in open(os.path.join(a.work, "truth.ndjson"))
               if l.startswith('{"outage"')]
    evidence, attempts = read_qoe(a.bin, os.path.join(a.work, "data-outages"))
    delays = json.load(open(a.result))["outage_run"]["delays"] if a.result else []
    # A time-compressed run (bench/sre.sh without --realtime) stamps events
    # hours before they arrive: use event time there.
    lags = sorted(r - ts for v in evidence["fatal_errors"].values() for ts, r in v)
    live = bool(lags) and lags[len(lags) // 2] < 60_000
    rows = []
    for kind in KINDS:
        ks = KS[kind]
        print(f"start-failure outages: seconds from the outage's start until the CDN's k-th "
              f"{kind.replace('_', ' ')[:-1]} "
              + ("reached the collector" if live else "happened (event time)"))
        print(f"{'cdn':6} {'start':>14} {'att/s':>6} " + " ".join(f"{'k=' + str(k):>6}" for k in ks)
              + f" {'detector':>9}")
        for o in outages:
            if o["kind"] != "start_failures":
                continue
            cdn, s = o["cdn"], o["start"]
            t = kth_arrivals(evidence[kind].get(cdn, []), s, o["end"], live, len(ks))
            att = count_between(attempts.get(cdn, []), s, s + 20_000) / 20
            det = next((d.get("wall_latency_s", d["delay_s"]) for d in delays
                        if d.get("start") == s and d["cdn"] == cdn), None)
            rows.append({"kind": kind, "cdn": cdn, "start": s, "attempts_per_s": att,
                         "kth_s": t, "detector_s": det})
            print(f"{cdn:6} {s:>14} {att:6.2f} "
                  + " ".join(f"{t[k - 1]:6.2f}" if len(t) >= k else f"{'-':>6}" for k in ks)
                  + (f" {det:9.2f}" if det is not None else ""))
        print()
    normal = normal_windows(a) if a.steady else {}
    if a.json:
        json.dump({"outages": rows, "normal": normal, "window_s": a.window_s, "live": live},
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
