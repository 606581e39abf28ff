#!/usr/bin/env python3
"""The side-by-side table of bench/ingest_backends.sh: one row per step of
bench/ingest.sh (port, run), FileLog next to the Kafka backend. Called by
that script; not meant to be run alone."""
import argparse
import json


def rows_by_step(path):
    d = json.load(open(path))
    return {(r["port"], r["run"]): r for r in d["ports"]}, d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--kafka", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    f, fd = rows_by_step(a.file)
    k, kd = rows_by_step(a.kafka)
    steps = []
    for key in [s for s in f if s in k] + [s for s in f if s not in k] + [s for s in k if s not in f]:
        fr, kr = f.get(key), k.get(key)
        same_rate = bool(fr and kr and fr.get("target_rate") == kr.get("target_rate"))
        steps.append({
            "port": key[0], "run": key[1],
            "file": fr, "kafka": kr,
            "ratio_kafka_to_file_events_per_s":
                round(kr["events_per_s"] / fr["events_per_s"], 2) if fr and kr else None,
            "same_target_rate": same_rate,
        })
    out = {"file_results": a.file, "kafka_results": a.kafka,
           "server_paths": fd.get("server_paths"),
           "load_avg_at_end": {"file": fd["machine"]["load_avg_at_end"],
                               "kafka": kd["machine"]["load_avg_at_end"]},
           "steps": steps}
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=2)

    def cell(r):
        if not r:
            return f"{'-':>10} {'-':>8} {'-':>6}"
        return f"{r['events_per_s']:>10,.0f} {r['p99_ms']:>8} {r['server_cpu_s_per_1M']!s:>6}"

    print("\ningest: embedded log (FileLog, 200 after fdatasync) vs Kafka backend "
          "(200 after acks=all)")
    print(f"collector paths: {out['server_paths']}; load average at the end: "
          f"FileLog {out['load_avg_at_end']['file']}, Kafka {out['load_avg_at_end']['kafka']}")
    print(f"{'port':5} {'run':22} | {'FileLog ev/s':>10} {'p99 ms':>8} {'CPU-s':>6} | "
          f"{'Kafka ev/s':>10} {'p99 ms':>8} {'CPU-s':>6} | Kafka/File")
    for s in steps:
        r = s["file"] or s["kafka"]
        run = s["run"] if not r.get("target_rate") else f"{s['run']}@{r['target_rate']:,}"
        if s["file"] and s["kafka"] and not s["same_target_rate"]:
            run = f"{s['run']}@{s['file']['target_rate']:,}/{s['kafka']['target_rate']:,}"
        ratio = s["ratio_kafka_to_file_events_per_s"]
        print(f"{s['port']:5} {run:22} | {cell(s['file'])} | {cell(s['kafka'])} | "
              f"{ratio if ratio is not None else '-'}")
    print("(CPU-s: the viewpipe process's CPU-seconds per 1 M events; the broker's own CPU "
          "is not in it)")
    print(f"results: {a.out}")


if __name__ == "__main__":
    main()
