#!/usr/bin/env python3
"""Per-thread CPU use of a process over an interval, from /proc.

  proc_cpu.py snap PID > before.json
  ... load ...
  proc_cpu.py snap PID > after.json
  proc_cpu.py diff before.json after.json    → JSON: cores used, by thread name
  proc_cpu.py sample PID WAIT SECONDS        → sleeps WAIT s, then the same over SECONDS s

Threads with the same name (a pool) are summed, and their count is given.
Tells which thread of the server is CPU bound during a benchmark run.
"""
import json
import os
import sys
import time


def snap(pid):
    tick = os.sysconf("SC_CLK_TCK")
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        utime, stime = int(fields[11]), int(fields[12])
        threads[tid] = {"name": name, "cpu_s": (utime + stime) / tick}
    return {"t": time.monotonic(), "threads": threads}


def diff(a, b):
    dt = b["t"] - a["t"]
    by_name = {}
    per_thread = []
    for tid, th in b["threads"].items():
        before = a["threads"].get(tid, {"cpu_s": 0.0})["cpu_s"]
        used = th["cpu_s"] - before
        e = by_name.setdefault(th["name"], {"cores": 0.0, "threads": 0})
        e["cores"] += used / dt
        e["threads"] += 1
        per_thread.append({"tid": int(tid), "name": th["name"], "cores": round(used / dt, 3)})
    per_thread.sort(key=lambda t: -t["cores"])
    for e in by_name.values():
        e["cores"] = round(e["cores"], 3)
    total = round(sum(e["cores"] for e in by_name.values()), 3)
    ordered = dict(sorted(by_name.items(), key=lambda kv: -kv[1]["cores"]))
    # Unnamed pools all show the process name; the busiest single threads
    # still tell whether one thread (a committer, an acceptor) is saturated.
    return {"seconds": round(dt, 2), "total_cores": total, "by_thread": ordered,
            "busiest_threads": per_thread[:8]}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snap":
        json.dump(snap(sys.argv[2]), sys.stdout)
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        with open(sys.argv[2]) as fa, open(sys.argv[3]) as fb:
            print(json.dumps(diff(json.load(fa), json.load(fb))))
    elif len(sys.argv) == 5 and sys.argv[1] == "sample":
        time.sleep(float(sys.argv[3]))
        a = snap(sys.argv[2])
        time.sleep(float(sys.argv[4]))
        print(json.dumps(diff(a, snap(sys.argv[2]))))
    else:
        sys.exit(__doc__)
