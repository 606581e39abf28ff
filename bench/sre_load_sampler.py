#!/usr/bin/env python3
"""Used next to bench/sre.sh (bench/README.md, SRE session 7):
  python3 bench/sre_load_sampler.py <out.json>
Finds the newest `viewpipe serve` started from this worktree's bench work dir
(build/viewpipe-bench-sre-*), samples once every 2 s until it exits: the load
average, the serve process's CPU (utime+stime), the simulator's CPU, the
SRE freshness (wall clock - viewpipe_sre_closed_through_ms) and every
*lag* gauge of /metrics; at the end the CPU-seconds per serve thread name."""
import glob, json, os, re, sys, time, urllib.request
HZ = os.sysconf("SC_CLK_TCK")
root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
def procs(word):
    out = []
    for p in glob.glob("/proc/[0-9]*"):
        try:
            cmd = open(p + "/cmdline", "rb").read().split(b"\0")
            if len(cmd) > 1 and cmd[0].endswith(b"viewpipe") and cmd[1] == word.encode() \
               and os.path.realpath(p + "/cwd") == root:
                out.append(int(p[6:]))
        except OSError:
            pass
    return out
def cpu(pid, tid=None):
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    f = open(path).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ
def threads(pid):
    res = {}
    for t in glob.glob(f"/proc/{pid}/task/*"):
        try:
            name = open(t + "/comm").read().strip()
            res[name] = res.get(name, 0) + cpu(pid, int(os.path.basename(t)))
        except OSError:
            pass
    return res
serve = None
while serve is None:
    s = procs("serve"); serve = max(s) if s else None; time.sleep(0.5)
port = re.search(rb"127\.0\.0\.1:(\d+)", open(f"/proc/{serve}/cmdline", "rb").read()).group(1).decode()
t0, c0, samples, last_threads, sim_cpu = time.time(), cpu(serve), [], {}, {}
while os.path.exists(f"/proc/{serve}"):
    try:
        for s in procs("sim"):
            sim_cpu[s] = cpu(s)
        last_threads = threads(serve)
        txt = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
        now = time.time()
        m = re.search(r"^viewpipe_sre_closed_through_ms\S* (\S+)", txt, re.M)
        lags = {k: float(v) for k, v in re.findall(r"^(\S*lag\S*) (\S+)", txt, re.M)}
        samples.append({"t": now - t0, "load1": os.getloadavg()[0], "serve_cpu": cpu(serve) - c0,
                        "sre_behind_s": now - float(m.group(1)) / 1000 if m else None, "lags": lags})
    except Exception:
        pass
    time.sleep(2)
def pct(v, q):
    v = sorted(x for x in v if x is not None)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None
wall = samples[-1]["t"] if samples else 0
lag_keys = sorted({k for s in samples for k in s["lags"]})
res = {"wall_s": wall, "serve_cpu_s": samples[-1]["serve_cpu"] if samples else None,
       "serve_cores": (samples[-1]["serve_cpu"] / wall) if wall else None,
       "sim_cpu_s": sum(sim_cpu.values()),
       "load1_p50": pct([s["load1"] for s in samples], .5), "load1_max": pct([s["load1"] for s in samples], 1),
       "sre_behind_s_p50": pct([s["sre_behind_s"] for s in samples[len(samples) // 5:]], .5),
       "sre_behind_s_p99": pct([s["sre_behind_s"] for s in samples[len(samples) // 5:]], .99),
       "lags_p99_max": {k: [pct([s["lags"].get(k) for s in samples], .99), pct([s["lags"].get(k) for s in samples], 1)] for k in lag_keys},
       "threads_cpu_s": dict(sorted(last_threads.items(), key=lambda kv: -kv[1]))}
json.dump({"summary": res, "samples": samples}, open(sys.argv[1], "w"), indent=1)
print(json.dumps(res, indent=1))
