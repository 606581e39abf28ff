# Used next to bench/batch.sh (bench/README.md, "The 10x day and freshness"):
#   python3 bench/batch_sre_sampler.py <bench output file>
# Samples the SRE path's freshness of a running bench/batch.sh server once a second:
# wall clock minus viewpipe_sre_closed_through_ms and the sre group's consumer lag, tagged
# with the bench's current phase (its last log line). Prints p50/p99/max per phase.
import glob, json, os, re, sys, time, urllib.request
out_file = sys.argv[1]
def work():
    ds = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "batch-bench.*")), key=os.path.getmtime)
    return ds[-1] if ds else None
port = None
while port is None:
    w = work()
    try:
        m = re.search(r"listening on http://[0-9.]+:(\d+)", open(os.path.join(w, "server.log")).read())
        port = m and m.group(1)
    except OSError: pass
    time.sleep(1)
samples = {}
while True:
    try:
        phase = [l for l in open(out_file).read().splitlines() if "freshness" in l]
        phase = re.sub(r".*freshness ", "", phase[-1]) if phase else "warmup"
        if "Batch jobs" in open(out_file).read(): break
        txt = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
        now = time.time() * 1000
        wm = float(re.search(r"^viewpipe_sre_closed_through_ms\S* (\S+)", txt, re.M).group(1))
        lag = sum(float(v) for v in re.findall(r'^viewpipe_consumer_lag\{[^}]*group="sre"[^}]*\} (\S+)', txt, re.M))
        samples.setdefault(phase, []).append((now - wm, lag))
    except Exception as e:
        if not os.path.exists(os.path.join(work() or "/x", "server.log")): break
    time.sleep(1)
def pct(v, q): v = sorted(v); return v[min(len(v) - 1, int(q * len(v)))]
res = {}
for ph, s in samples.items():
    b = [x[0] for x in s]; l = [x[1] for x in s]
    res[ph] = {"n": len(s), "behind_p50_ms": pct(b, .5), "behind_p99_ms": pct(b, .99), "behind_max_ms": max(b),
               "lag_records_p99": pct(l, .99), "lag_records_max": max(l)}
print(json.dumps(res, indent=1))
