#!/usr/bin/env python3
"""Per-outage detection latency of one or more alert lists against a bench
run's truth file (bench/README.md, SRE): the live run's (the bench's JSON,
`alert_list`) and replays' (`sre_replay` output, one alert per line).

  bench/sre_compare.py --truth WORK/truth.ndjson live=bench/results/sre-realtime.json \
      replay=replay.ndjson ...

For each outage and list: latency = detected_at - true start (wall time
for a live run or a --live replay), and its breakdown: data = started_at -
start, evidence = detected_event_time - started_at, pipeline = detected_at
- detected_event_time. The matching rule is sre_bench.py's."""

from __future__ import annotations

import argparse
import json
import statistics


def load_alerts(path: str) -> list[dict]:
    text = open(path).read()
    if text.lstrip().startswith("{") and '"alert_list"' in text[:10_000_000]:
        doc = json.loads(text)
        return doc.get("outage_run", doc).get("alert_list", [])
    return [a for a in (json.loads(l) for l in text.splitlines() if l.startswith("{")) if "id" in a]


def first_hit(o: dict, alerts: list[dict]) -> dict | None:
    hits = [a for a in alerts if a["kind"] == "qoe" and a["key"].split("|")[0] == o["cdn"]
            and a["dimension"] in ("cdn", "cdn_country")
            and o["start"] - 20_000 <= a["started_at"] <= o["end"]]
    return min(hits, key=lambda a: a["detected_at"]) if hits else None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--truth", required=True)
    p.add_argument("lists", nargs="+", help="name=path")
    args = p.parse_args()
    outages = [json.loads(l)["outage"] for l in open(args.truth) if l.startswith('{"outage"')]
    named = [(s.split("=", 1)[0], load_alerts(s.split("=", 1)[1])) for s in args.lists]
    print("outage                  " + "".join(f"| {n:>26} " for n, _ in named))
    print("                        " + "".join("|  lat  data  evid  pipe    " for _ in named))
    lat = {n: {} for n, _ in named}
    for o in outages:
        row = f"{o['cdn']} {o['kind']:<16}"
        for n, alerts in named:
            a = first_hit(o, alerts)
            if a is None:
                row += "|       missed              "
                continue
            s = o["start"]
            x = [(a["detected_at"] - s) / 1000, (a["started_at"] - s) / 1000,
                 (a["detected_event_time"] - a["started_at"]) / 1000,
                 (a["detected_at"] - a["detected_event_time"]) / 1000]
            lat[n].setdefault(o["kind"], []).append(x)
            lat[n].setdefault("all", []).append(x)
            row += "| " + " ".join(f"{v:5.1f}" for v in x) + "  "
        print(row)
    for n, by in lat.items():
        for kind, xs in sorted(by.items()):
            cols = list(zip(*xs))
            print(f"{n} {kind}: n {len(xs)}, latency p50 {statistics.median(cols[0]):.1f} s, "
                  f"max {max(cols[0]):.1f} s; breakdown p50 data {statistics.median(cols[1]):.1f} / "
                  f"evidence {statistics.median(cols[2]):.1f} / "
                  f"pipeline {statistics.median(cols[3]):.1f} s")


if __name__ == "__main__":
    main()
