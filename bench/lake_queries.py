#!/usr/bin/env python3
"""The query half of bench/lake.sh: the audit query on one day more than a
year back, a 7-day A/B aggregation on the hot tier and on the cold lake, and
the cost report, all through `viewpipe query|cost|lake --json` on the data
dir the backfill wrote. Prints a table and writes the results JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import time


def last_json(text: str) -> dict:
    """The last line that is a JSON object (log lines may come before it)."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no JSON in: {text[-2000:]}")


def run(vp: str, *args: str) -> dict:
    out = subprocess.run([vp, *args], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"viewpipe {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return last_json(out.stdout)


def timed_query(vp: str, data_dir: str, sql: str, tier: str, runs: int) -> dict:
    """RUNS runs after one warm-up; the median elapsed_ms (server side) and the
    wall time of the whole CLI call (open + query)."""
    first = run(vp, "query", "--data-dir", data_dir, "--json", "--tier", tier, sql)
    elapsed, wall = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        a = run(vp, "query", "--data-dir", data_dir, "--json", "--tier", tier, sql)
        wall.append((time.monotonic() - t0) * 1000)
        elapsed.append(a["elapsed_ms"])
        assert a["rows"] == first["rows"], "answers differ between runs"
    a["first_elapsed_ms"] = first["elapsed_ms"]
    a["median_elapsed_ms"] = statistics.median(elapsed)
    a["median_cli_wall_ms"] = round(statistics.median(wall), 1)
    return a


def main() -> None:
    p = argparse.ArgumentParser()
    for k in ("viewpipe", "data-dir", "path", "backfill", "backfill-time", "lake-du", "out",
              "latest"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--days", type=int)
    p.add_argument("--events-per-day", type=int)
    a = p.parse_args()
    vp, data = a.viewpipe, a.data_dir

    path = last_json(open(a.path).read())
    backfill = last_json(open(a.backfill).read())
    wall_s, max_rss_kb = open(a.backfill_time).read().split()
    lake_du = int(open(a.lake_du).read())
    lake = run(vp, "lake", "--data-dir", data, "--days", "1000")
    today = dt.datetime.now(dt.timezone.utc).date()

    # 3. Audit: everything one subscriber did on one day 380 days ago, and a
    # one-day summary, each reading that day only.
    back = 380 if (a.days or 400) > 380 else max(1, (a.days or 2) - 2)  # a year and more back
    day = (today - dt.timedelta(days=back)).isoformat()
    profile = run(vp, "query", "--data-dir", data, "--json",
                  f"SELECT profile_id FROM events WHERE event_date = '{day}' "
                  "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")["rows"][0][0]
    audit_sql = (f"SELECT * FROM events WHERE event_date = '{day}' AND profile_id = '{profile}' "
                 "ORDER BY ts")
    audit = timed_query(vp, data, audit_sql, "auto", a.runs)
    summary_sql = (f"SELECT count(*) AS events, count(DISTINCT session_id) AS sessions, "
                   f"count(DISTINCT profile_id) AS profiles, round(avg(bitrate_kbps)) AS kbps "
                   f"FROM events WHERE event_date = '{day}'")
    summary = timed_query(vp, data, summary_sql, "auto", a.runs)
    day_entry = next(d for d in lake["recent"] if d["event_date"] == day)

    # 4. A/B over the last 7 days (today included), on each tier.
    since = (today - dt.timedelta(days=6)).isoformat()
    ab_sql = (
        "SELECT experiments['exp-abr-aggressive'] AS variant, "
        "count(DISTINCT profile_id) AS users, count(DISTINCT session_id) AS sessions, "
        "round(avg(bitrate_kbps) FILTER (WHERE type = 'heartbeat'), 1) AS avg_kbps, "
        "round(count(*) FILTER (WHERE type = 'rebuffer_start') / count(DISTINCT session_id), 4) "
        "AS stalls_per_session, "
        "round(avg(startup_ms) FILTER (WHERE type = 'play_start'), 1) AS vst_ms "
        f"FROM events WHERE event_date >= '{since}' "
        "AND experiments['exp-abr-aggressive'] IS NOT NULL GROUP BY 1 ORDER BY 1")
    ab_hot = timed_query(vp, data, ab_sql, "hot", a.runs)
    ab_cold = timed_query(vp, data, ab_sql, "cold", a.runs)
    assert ab_hot["rows"] == ab_cold["rows"], (ab_hot["rows"], ab_cold["rows"])

    cost = run(vp, "cost", "--data-dir", data, "--json")

    res = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg()},
        "path": path,
        "backfill": {**backfill, "wall_seconds": float(wall_s), "max_rss_kb": int(max_rss_kb),
                     "days": a.days, "events_per_day": a.events_per_day},
        "lake": {"bytes_in_manifests": lake["bytes"], "bytes_on_disk_du": lake_du,
                 "rows": lake["rows"], "days": lake["days"],
                 "bytes_per_event": lake["bytes"] / lake["rows"],
                 "bytes_per_event_du": lake_du / lake["rows"]},
        "audit": {"day": day, "profile": profile, "sql": audit_sql,
                  "day_files": day_entry["files"], "day_bytes": day_entry["bytes"],
                  **{k: audit[k] for k in ("tier", "bytes_scanned", "cost_usd", "files_scanned",
                                           "days_scanned", "first_elapsed_ms",
                                           "median_elapsed_ms", "median_cli_wall_ms")},
                  "rows": len(audit["rows"]),
                  "lake_bytes_over_scanned": lake["bytes"] / audit["bytes_scanned"]},
        "audit_summary": {"sql": summary_sql, "answer": summary["rows"][0],
                          **{k: summary[k] for k in ("bytes_scanned", "files_scanned",
                                                     "median_elapsed_ms")},
                          "lake_bytes_over_scanned": lake["bytes"] / summary["bytes_scanned"]},
        "ab_7_days": {"sql": ab_sql, "answer": ab_hot["rows"], "columns": ab_hot["columns"],
                      "hot": {k: ab_hot[k] for k in ("tier", "bytes_scanned", "cost_usd",
                                                     "first_elapsed_ms", "median_elapsed_ms",
                                                     "median_cli_wall_ms")},
                      "cold": {k: ab_cold[k] for k in ("tier", "bytes_scanned", "cost_usd",
                                                       "files_scanned", "first_elapsed_ms",
                                                       "median_elapsed_ms",
                                                       "median_cli_wall_ms")}},
        "cost": cost,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    shutil.copyfile(a.out, a.latest)

    r = res
    print(f"""
| measure | value |
|---|---|
| lake path from the log (lake_bench, {path['events']:,} events, roll {path['roll_ms']} ms) | **{path['lake_events_per_second']:,.0f} events/s**, {path['lake_bytes_per_event']:.1f} bytes/event, {path['lake_files']} files |
| hot path from the log (same records) | {path['hot_records_per_second']:,.0f} records/s ({path['hot_loaded']:,} in the 7-day window) |
| backfill {a.days} days (generate + write + commit + seal, hot days loaded) | **{backfill['events_per_second']:,.0f} events/s**, {backfill['events']:,} events in {float(wall_s):.0f} s |
| lake on disk | {lake['bytes'] / 1e6:,.1f} MB in {lake['days']} days: **{r['lake']['bytes_per_event']:.1f} bytes/event** (Parquet files), {r['lake']['bytes_per_event_du']:.1f} with manifests and blocks (du) |
| audit: one subscriber's day, {day} ({back} days back) | {len(audit['rows'])} rows, {audit['files_scanned']} files of 1 day, bytes_scanned **{audit['bytes_scanned']:,}** = lake / **{r['audit']['lake_bytes_over_scanned']:,.0f}**, median {audit['median_elapsed_ms']} ms (first {audit['first_elapsed_ms']} ms), USD {audit['cost_usd']:.6f} |
| audit: that day's summary | bytes_scanned {summary['bytes_scanned']:,} = lake / {r['audit_summary']['lake_bytes_over_scanned']:,.0f}, median {summary['median_elapsed_ms']} ms |
| 7-day A/B aggregation, hot tier | median **{ab_hot['median_elapsed_ms']} ms**, ~{ab_hot['bytes_scanned'] / 1e6:,.1f} MB processed (estimate), USD 0 (provisioned) |
| 7-day A/B aggregation, cold lake | median **{ab_cold['median_elapsed_ms']} ms**, {ab_cold['bytes_scanned'] / 1e6:,.2f} MB scanned in {ab_cold['files_scanned']} files, USD {ab_cold['cost_usd']:.6f} |
| cost per month: lake / hot tier / tiered total | USD {cost['lake']['monthly_usd']:.4f} / {cost['hot']['monthly_usd']:.4f} / {cost['tiered_monthly_usd']:.4f} |
| cost per month: all {a.days} days in one hot warehouse | USD {cost['one_hot_warehouse']['monthly_usd']:.4f} ({cost['one_hot_warehouse']['bytes'] / 1e6:,.0f} MB) |
""")
    print("A/B answer (identical on both tiers):", ab_hot["columns"])
    for row in ab_hot["rows"]:
        print("  ", row)


if __name__ == "__main__":
    main()
