#!/usr/bin/env python3
"""Reads the summary line of Kafka's ProducerPerformance tool (the
steady-state one when --warmup-records was given).

  kafka_parse.py json FILE               → JSON with records_per_s, mb_per_s, latencies
  kafka_parse.py rate FILE               → records/s
  kafka_parse.py records_for FILE SECS   → records for about SECS seconds at that rate
"""
import json
import re
import sys

SUMMARY = re.compile(
    r"(\d+) (steady state )?records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")


def parse(path):
    with open(path) as f:
        text = f.read()
    m = None
    for m in SUMMARY.finditer(text):
        pass
    if not m:
        sys.exit(f"no ProducerPerformance summary in {path}:\n{text[-2000:]}")
    n, steady, rate, mb, avg, mx, p50, p95, p99, p999 = m.groups()
    return {"records": int(n), "steady_state": bool(steady), "records_per_s": round(float(rate)), "mb_per_s": float(mb),
            "avg_ms": float(avg), "max_ms": float(mx), "p50_ms": int(p50), "p95_ms": int(p95),
            "p99_ms": int(p99), "p999_ms": int(p999)}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "json":
        print(json.dumps(parse(sys.argv[2])))
    elif len(sys.argv) == 3 and sys.argv[1] == "rate":
        print(parse(sys.argv[2])["records_per_s"])
    elif len(sys.argv) == 4 and sys.argv[1] == "records_for":
        r = parse(sys.argv[2])["records_per_s"]
        print(int(min(60_000_000, max(1_000_000, r * float(sys.argv[3])))))
    else:
        sys.exit(__doc__)
