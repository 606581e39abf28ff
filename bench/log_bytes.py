#!/usr/bin/env python3
"""Stored bytes per event of a file log: walks <data dir>/log/<topic>/<partition>/*.log,
reads the record-batch headers (src/log/record_batch.h) and prints, per topic, records
and bytes, and the whole log's bytes per `viewing` record (every accepted event is one).

Usage: bench/log_bytes.py DATA_DIR [--json]
"""
import json
import os
import struct
import sys


def scan(path):
    records = size = 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 40 <= len(data):
        (length,) = struct.unpack_from("<I", data, pos)
        if length < 36 or pos + 4 + length > len(data):
            break
        (count,) = struct.unpack_from("<I", data, pos + 20)
        records += count
        size += 4 + length
        pos += 4 + length
    return records, size


def main():
    root = os.path.join(sys.argv[1], "log")
    topics = {}
    for topic in sorted(os.listdir(root)):
        tdir = os.path.join(root, topic)
        if not os.path.isdir(tdir):
            continue
        r = b = 0
        for dirpath, _, files in os.walk(tdir):
            for name in files:
                if name.endswith(".log"):
                    nr, nb = scan(os.path.join(dirpath, name))
                    r += nr
                    b += nb
        topics[topic] = {"records": r, "bytes": b}
    viewing = topics.get("viewing", {}).get("records", 0)
    total = sum(t["bytes"] for t in topics.values())
    out = {"topics": topics, "bytes_per_event": total / viewing if viewing else None}
    if "--json" in sys.argv:
        print(json.dumps(out))
    else:
        for name, t in topics.items():
            per = t["bytes"] / t["records"] if t["records"] else 0
            print(f"{name:12s} {t['records']:>12,} records {t['bytes']:>14,} bytes  {per:6.1f} B/record")
        print(f"stored bytes per event (all topics / viewing records): {out['bytes_per_event']:.1f}")


if __name__ == "__main__":
    main()
