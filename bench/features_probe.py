#!/usr/bin/env python3
"""Feature freshness probe (bench/features.sh): posts one event for a new
profile at `--rate` per second and polls GET /v1/features/profiles/<id> until it
answers 200; the time from the collector's 200 to that is the freshness.
Prints one JSON line: n, missing, p50/p90/p99/max in ms."""

import argparse
import json
import threading
import time
import uuid

import requests


def probe(url, key, i, run, out, lock):
    http = requests.Session()
    pid = f"fresh-{run}-{i}"
    ev = {"event_id": str(uuid.uuid4()), "type": "attempt", "ts": int(time.time() * 1000),
          "session_id": f"fs-{run}-{i}", "profile_id": pid, "title_id": "t00001",
          "device_type": "tv", "country": "DE", "cdn": "cdn-a"}
    r = http.post(url + "/v1/events", json={"events": [ev]},
                  headers={"Authorization": f"Bearer {key}"}, timeout=10)
    acked = time.monotonic()
    if r.status_code != 200 or r.json().get("accepted") != 1:
        with lock:
            out.append(None)
        return
    deadline = acked + 10
    while time.monotonic() < deadline:
        if http.get(f"{url}/v1/features/profiles/{pid}", timeout=5).status_code == 200:
            with lock:
                out.append((time.monotonic() - acked) * 1000)
            return
        time.sleep(0.002)
    with lock:
        out.append(None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--write-key", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, default=5)
    a = ap.parse_args()
    run = uuid.uuid4().hex[:8]
    out, lock, threads = [], threading.Lock(), []
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < a.seconds:
        t = threading.Thread(target=probe, args=(a.url, a.write_key, i, run, out, lock))
        t.start()
        threads.append(t)
        i += 1
        time.sleep(max(0.0, start + i / a.rate - time.monotonic()))
    for t in threads:
        t.join()
    ok = sorted(x for x in out if x is not None)
    q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] if ok else None
    print(json.dumps({"n": len(ok), "missing": len(out) - len(ok), "p50_ms": q(0.5),
                      "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": ok[-1] if ok else None}))


if __name__ == "__main__":
    main()
