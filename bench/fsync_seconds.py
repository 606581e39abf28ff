#!/usr/bin/env python3
"""Samples a viewpipe server's fsync histogram once a second and writes, per
second, how many fsyncs finished and how many of them took over 20 ms and
over 50 ms. bench/ingest.sh runs it beside each fixed-rate step so the report
can line a slow second's p99 up with the disk's slow fsyncs in that second
(a durable ack waits for its group's fsync, so one 30 ms fsync holds back
every request in flight).

  fsync_seconds.py METRICS_URL DELAY_S SECONDS OUT.json
"""
import json
import sys
import time
import urllib.request


def counts(url):
    """(fsyncs, over 20 ms, over 50 ms) so far."""
    text = urllib.request.urlopen(url, timeout=0.9).read().decode()
    le20 = le50 = total = 0.0
    for line in text.splitlines():
        if line.startswith('viewpipe_log_fsync_seconds_bucket{le="0.02"'):
            le20 = float(line.split()[-1])
        elif line.startswith('viewpipe_log_fsync_seconds_bucket{le="0.05"'):
            le50 = float(line.split()[-1])
        elif line.startswith("viewpipe_log_fsync_seconds_count"):
            total = float(line.split()[-1])
    return total, total - le20, total - le50


def main():
    url, delay, seconds, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    time.sleep(delay)
    rows = []
    t0 = time.monotonic()
    prev = None
    for i in range(-1, seconds):
        time.sleep(max(0.0, t0 + i + 1 - time.monotonic()))
        try:
            cur = counts(url)
        except OSError:
            # The main port's threads can all be busy with the load: this
            # second is unknown (None), the next one covers both.
            cur = None
        if i >= 0:
            known = cur is not None and prev is not None
            rows.append({"second": i,
                         "fsyncs": int(cur[0] - prev[0]) if known else None,
                         "over_20ms": int(cur[1] - prev[1]) if known else None,
                         "over_50ms": int(cur[2] - prev[2]) if known else None})
        if cur is not None:
            prev = cur
    with open(out, "w") as f:
        json.dump(rows, f)


if __name__ == "__main__":
    main()
