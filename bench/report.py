#!/usr/bin/env python3
"""Assembles bench/ingest.sh's run files into one results JSON and prints the
side-by-side table. Called by bench/ingest.sh; not meant to be run alone."""
import argparse
import glob
import json
import os
import re
import subprocess


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def metric(text, name, labels):
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            try:
                return float(line.split()[-1])
            except ValueError:
                pass
    return None


def port_rows(d, runs, cpu):
    """Main port vs fast port (bench/ingest.sh FAST=1): events/s, p99, and
    CPU-seconds per 1 M events of the server and of the load generator."""
    rows = []
    for port, prefix in (("main", ""), ("fast", "fast-")):
        for kind in ("plain", "gzip", "rate", "rate-half"):
            name = prefix + kind
            run = runs.get(name) if name in runs else load(f"{d}/{name}.json")
            c = cpu.get(name) if name in cpu else load(f"{d}/{name}.cpu.json")
            if not run or not run.get("events_per_s"):
                continue
            eps = run["events_per_s"]
            server = (c or {}).get("total_cores")
            client = run.get("client_cpu_cores")
            rows.append({
                "port": port, "run": kind, "events_per_s": eps,
                "target_rate": run.get("target_rate"),
                "p50_ms": run["latency_ms"]["p50"], "p99_ms": run["latency_ms"]["p99"],
                "non200": run.get("non200_total"),
                "server_cores": server, "client_cores": client,
                "server_cpu_s_per_1M": round(server / eps * 1e6, 2) if server else None,
                "client_cpu_s_per_1M": round(client / eps * 1e6, 2) if client else None,
            })
    return rows


def step_stalls(d, name):
    """A fixed-rate step's disk stalls (fsyncs over 50 / 100 ms, from the
    server's /metrics) and its seconds whose p99 passed 20 ms: one slow fsync
    holds back every request in flight, so a p99 over a short step can be one
    stall. None when the step did not run."""
    run, fs = load(f"{d}/{name}.json"), load(f"{d}/{name}.fsync.json")
    if not run:
        return None
    secs = run.get("per_second") or []
    slow = [p for _s, _n, p, _m in secs if p >= 20]
    out = {"rate": run.get("target_rate"), "fsyncs": fs,
           "seconds": len(secs), "seconds_p99_over_20ms": len(slow),
           "worst_second_p99_ms": round(max(slow), 1) if slow else None}
    # Per-second fsyncs (bench/fsync_seconds.py): how many slow seconds had
    # an fsync of over 20 ms in them or next to them (the two clocks are
    # aligned to about a second).
    fsec = load(f"{d}/{name}.fsec.json")
    if fsec:
        over = {r["second"] for r in fsec if (r["over_20ms"] or 0) > 0}
        slow_s = [s for s, _n, p, _m in secs if p >= 20]
        out["seconds_with_fsync_over_20ms"] = len(over)
        out["slow_seconds_next_to_a_slow_fsync"] = sum(
            1 for s in slow_s if over & {s - 1, s, s + 1})
        out["fsync_seconds"] = fsec
    return out


def print_stalls(name, st):
    line = f"{name} step at {st['rate']}/s: "
    if st["fsyncs"]:
        f = st["fsyncs"]
        line += f"{f['over_50ms']} fsyncs over 50 ms ({f['over_100ms']} over 100 ms) of {f['fsyncs']}; "
    line += f"{st['seconds_p99_over_20ms']} of {st['seconds']} seconds with p99 ≥ 20 ms"
    if st["worst_second_p99_ms"] is not None:
        line += f" (worst {st['worst_second_p99_ms']:.0f} ms)"
    if "seconds_with_fsync_over_20ms" in st:
        line += (f"; {st['seconds_with_fsync_over_20ms']} seconds had an fsync over 20 ms, "
                 f"and {st['slow_seconds_next_to_a_slow_fsync']} of the slow seconds were at "
                 "or next to one")
    print(line)


def print_ports(rows):
    if not any(r["port"] == "fast" for r in rows):
        return
    print("\nmain port vs fast port (CPU-s per 1 M events: server / load generator):")
    print(f"{'port':5} {'run':10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non200':>6} "
          f"{'server':>7} {'client':>7}")
    for r in rows:
        run = r["run"] if not r["target_rate"] else f"{r['run']}@{r['target_rate']}"
        print(f"{r['port']:5} {run:10} {r['events_per_s']:>10,.0f} {r['p50_ms']:>8} "
              f"{r['p99_ms']:>8} {r['non200']!s:>6} {r['server_cpu_s_per_1M']!s:>7} "
              f"{r['client_cpu_s_per_1M']!s:>7}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--log-bytes", type=int, required=True)
    ap.add_argument("--data-bytes", type=int, required=True)
    ap.add_argument("--kafka-version", default="none")
    ap.add_argument("--kafka-props", default="")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--load-avg", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    d = a.dir
    runs = {n: load(f"{d}/{n}.json") for n in ("plain", "gzip", "rate")}
    cpu = {n: load(f"{d}/{n}.cpu.json") for n in ("plain", "gzip", "rate")}
    kafka = {n: load(f"{d}/{n}.json")
             for n in ("kafka", "kafka-fsync", "kafka-rate", "kafka-fsync-rate")}
    disk = {kib: load(f"{d}/disk-{kib}.json") for kib in (256, 1024)}
    # The disk's latency floor at the half-rate step (disk_ceiling
    # --events-per-s): one file, and as many as the log syncs per round.
    floors = sorted((x for f in glob.glob(f"{d}/disk-floor-*.json") if (x := load(f))),
                    key=lambda x: x["files"])
    floor = floors[0] if floors else {}
    payload = load(f"{d}/payload.json")
    metrics_text = open(f"{d}/metrics.txt").read() if os.path.exists(f"{d}/metrics.txt") else ""

    accepted_total = metric(metrics_text, "viewpipe_events_total", {"outcome": "accepted"})
    if not accepted_total:
        accepted_total = sum((r or {}).get("accepted_all", 0) for r in runs.values())
    stored_bpe = a.log_bytes / accepted_total if accepted_total else None
    json_bpe = (runs["plain"] or {}).get("raw_bytes_per_event")
    disk_best = max((x for x in disk.values() if x), key=lambda x: x["mb_per_s"], default=None)
    disk_mbps = disk_best["mb_per_s"] if disk_best else None

    def ceiling(bpe):
        return round(disk_mbps * 1e6 / bpe) if disk_mbps and bpe else None

    plain_eps = (runs["plain"] or {}).get("events_per_s")
    gzip_eps = (runs["gzip"] or {}).get("events_per_s")
    rate = runs["rate"] or {}
    k = kafka["kafka"] or {}
    kf = kafka["kafka-fsync"] or {}

    def ratio(x, y):
        return round(x / y, 2) if x and y else None

    cpu_model = ""
    try:
        cpu_model = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                                   capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    ports = port_rows(d, runs, cpu)
    fast_plain = load(f"{d}/fast-plain.json") or {}
    # The fast port's half-rate run when it had one (its own max / 2), else
    # the main port's rate.
    fast_rate = load(f"{d}/fast-rate-half.json") or load(f"{d}/fast-rate.json") or {}
    fast_eps = fast_plain.get("events_per_s")
    result = {
        "ports": ports,
        # Disk stalls and slow seconds of each fixed-rate step (step_stalls).
        "rate_steps": {n: st for n in ("rate", "fast-rate", "fast-rate-half")
                       if (st := step_stalls(d, n)) is not None},
        "machine": {"cores": os.cpu_count(), "cpu": cpu_model, "load_avg_at_end": a.load_avg,
                    "probe": (open(f"{d}/machine.txt").read().splitlines()
                              if os.path.exists(f"{d}/machine.txt") else None)},
        "server_paths": os.environ.get("PATHS") or "all",
        "viewpipe": {
            "plain_max": runs["plain"], "gzip_max": runs["gzip"], "plain_at_rate": runs["rate"],
            "server_cpu": cpu,
            "accepted_total": accepted_total, "log_bytes": a.log_bytes, "data_dir_bytes": a.data_bytes,
            "stored_bytes_per_event": round(stored_bpe, 1) if stored_bpe else None,
        },
        "kafka": {"version": a.kafka_version, "partitions": a.partitions,
                  "producer_props": a.kafka_props, "payload": payload,
                  "default_flush": kafka["kafka"],
                  "flush_every_message": kafka["kafka-fsync"],
                  "default_flush_at_rate": kafka["kafka-rate"],
                  "flush_every_message_at_rate": kafka["kafka-fsync-rate"]},
        "disk": {"runs": disk, "best_mb_per_s": disk_mbps,
                 "ceiling_events_per_s_at_stored_bytes": ceiling(stored_bpe),
                 "ceiling_events_per_s_at_json_bytes": ceiling(json_bpe),
                 "group_commit_floor": floors or None},
        "summary": {
            "viewpipe_plain_events_per_s": plain_eps,
            "viewpipe_gzip_events_per_s": gzip_eps,
            "rate_events_per_s": rate.get("target_rate"),
            "rate_p99_ms": (rate.get("latency_ms") or {}).get("p99"),
            "kafka_events_per_s": k.get("records_per_s"),
            "kafka_fsync_events_per_s": kf.get("records_per_s"),
            "kafka_rate_p99_ms": (kafka["kafka-rate"] or {}).get("p99_ms"),
            "kafka_fsync_rate_p99_ms": (kafka["kafka-fsync-rate"] or {}).get("p99_ms"),
            "ratio_viewpipe_plain_to_kafka": ratio(plain_eps, k.get("records_per_s")),
            "ratio_viewpipe_plain_to_kafka_fsync": ratio(plain_eps, kf.get("records_per_s")),
            "disk_ceiling_events_per_s": ceiling(stored_bpe),
            "disk_floor_p99_ms": floor.get("p99_ms"),
            "disk_floor_log_files_p99_ms": floors[-1].get("p99_ms") if floors else None,
            "disk_floor_events_per_s": floor.get("events_per_s"),
            "target_1M_plain_met": bool(plain_eps and plain_eps >= 1_000_000),
            "target_p99_under_20ms_met": bool(rate.get("latency_ms") and
                                              rate["latency_ms"]["p99"] < 20 and
                                              rate.get("non200_total", 1) == 0),
            "fast_plain_events_per_s": fast_eps,
            "fast_rate_events_per_s": fast_rate.get("target_rate"),
            "fast_rate_p99_ms": (fast_rate.get("latency_ms") or {}).get("p99"),
            "ratio_fast_plain_to_kafka": ratio(fast_eps, k.get("records_per_s")),
            "fast_target_1M_plain_met": bool(fast_eps and fast_eps >= 1_000_000),
            "fast_target_p99_under_20ms_at_half_met": bool(
                fast_rate.get("latency_ms") and fast_rate["latency_ms"]["p99"] < 20 and
                fast_rate.get("non200_total", 1) == 0 and fast_eps and
                fast_rate.get("target_rate", 0) >= min(500_000, fast_eps / 2) * 0.99),
        },
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)

    def fmt(x):
        return f"{x:,.0f}" if isinstance(x, (int, float)) else "-"

    def lat(r):
        if not r:
            return "-"
        l = r.get("latency_ms") or {}
        return f"{l.get('p50', 0):.1f} / {l.get('p99', 0):.1f} / {l.get('max', 0):.1f}"

    def klat(x):
        return f"{x['p50_ms']} / {x['p99_ms']} / {x['max_ms']:.0f}" if x else "-"

    kr, kfr = kafka["kafka-rate"], kafka["kafka-fsync-rate"]
    rows = [
        ("viewpipe plain JSON (max)", plain_eps, lat(runs["plain"]),
         ratio(plain_eps, k.get("records_per_s")), "fsync before every ack"),
        ("viewpipe gzip (max)", gzip_eps, lat(runs["gzip"]),
         ratio(gzip_eps, k.get("records_per_s")), "fsync before every ack"),
        (f"viewpipe plain at {fmt(rate.get('target_rate'))}/s", rate.get("events_per_s"), lat(rate),
         None, "open loop, latency from schedule"),
        ("Kafka acks=all (max)", k.get("records_per_s"), klat(k), 1.0 if k else None,
         "no fsync per batch (default)"),
        (f"Kafka acks=all at {fmt(rate.get('target_rate'))}/s", (kr or {}).get("records_per_s"),
         klat(kr), None, "latency from send(), tool-throttled"),
        ("Kafka acks=all flush.messages=1", kf.get("records_per_s"), klat(kf),
         ratio(kf.get("records_per_s"), k.get("records_per_s")), "fsync on every append"),
        (f"Kafka flush.messages=1 at {fmt(rate.get('target_rate'))}/s",
         (kfr or {}).get("records_per_s"), klat(kfr), None,
         "run only if the max reached the rate"),
        ("disk write+fdatasync ceiling", ceiling(stored_bpe), "-", ratio(ceiling(stored_bpe),
                                                                         k.get("records_per_s")),
         f"{fmt(disk_mbps)} MB/s at {stored_bpe:.0f} B/event stored" if stored_bpe else "-"),
    ] + [
        (f"disk alone at {fmt(x['events_per_s'])}/s, {x['files']} file{'s' if x['files'] > 1 else ''}",
         x["events_per_s"], f"{x['p50_ms']:.1f} / {x['p99_ms']:.1f} / {x['max_ms']:.1f}", None,
         f"group commit with no CPU, {x['rounds_per_s']:.0f} rounds/s")
        for x in floors
    ]
    print()
    print(f"{'':34} {'events/s':>12}  {'p50 / p99 / max ms':>22}  {'÷ Kafka':>8}  notes")
    for name, eps, l, r, note in rows:
        print(f"{name:34} {fmt(eps):>12}  {l:>22}  {(f'{r:.2f}' if r else '-'):>8}  {note}")
    print()
    print(f"viewpipe ÷ Kafka (plain, default flush): {ratio(plain_eps, k.get('records_per_s'))}; "
          f"÷ Kafka with flush.messages=1: {ratio(plain_eps, kf.get('records_per_s'))}")
    print(f"bytes/event: JSON {json_bpe}, gzip on the wire "
          f"{(runs['gzip'] or {}).get('wire_bytes_per_event')}, stored in viewpipe's log "
          f"{round(stored_bpe, 1) if stored_bpe else '-'}")
    print(f"targets: ≥1,000,000 plain events/s: {'met' if result['summary']['target_1M_plain_met'] else 'NOT met'}; "
          f"p99 < 20 ms at {fmt(rate.get('target_rate'))}/s: "
          f"{'met' if result['summary']['target_p99_under_20ms_met'] else 'NOT met'}")
    if fast_eps:
        s = result["summary"]
        print(f"fast port: {fmt(fast_eps)} plain events/s (÷ Kafka {s['ratio_fast_plain_to_kafka']}): "
              f"≥1,000,000 {'met' if s['fast_target_1M_plain_met'] else 'NOT met'}; "
              f"p99 {s['fast_rate_p99_ms']} ms at {fmt(s['fast_rate_events_per_s'])}/s: "
              f"< 20 ms {'met' if s['fast_target_p99_under_20ms_at_half_met'] else 'NOT met'}")
    for name, st in result["rate_steps"].items():
        print_stalls(name, st)
    print_ports(ports)
    for n in ("plain", "gzip", "rate"):
        c = cpu[n]
        if c and c.get("by_thread"):
            top = ", ".join(f"{t} ×{v['threads']} {v['cores']:.2f}"
                            for t, v in list(c["by_thread"].items())[:5])
            busiest = ", ".join(f"{t['tid']}:{t['cores']:.2f}" for t in c.get("busiest_threads", [])[:4])
            print(f"server CPU during {n}: {c['total_cores']:.2f} cores ({top}; busiest threads "
                  f"{busiest}); load generator {(runs[n] or {}).get('client_cpu_cores')} cores")


if __name__ == "__main__":
    main()
