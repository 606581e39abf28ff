"""`viewpipe sim` against a real `viewpipe serve`: ~20 simulated seconds at
high speed, then what the server stored is checked against what the
simulator says it sent — every valid event accepted once, re-sent batches
counted as duplicates, malformed events rejected into the dead letters —
and the truth file against the events themselves."""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict

from conftest import WRITE_KEY, parse_ndjson

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

SCENARIO = """
malformed_fraction = 0.01
[traffic]
titles = 200

[[duplicates]]
fraction = 0.3

[[late_delivery]]
at = "5s"
duration = "5s"
fraction = 0.1
offline_min = "5s"
offline_max = "10s"
"""


def metric(text: str, name: str, labels: str = "") -> float:
    m = re.search(r"^" + re.escape(name + labels) + r" (\S+)$", text, re.M)
    assert m, f"{name}{labels} not in /metrics"
    return float(m.group(1))


def run_sim(viewpipe_bin, srv, tmp_path, *extra) -> dict:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO)
    cmd = [str(viewpipe_bin), "sim", "--url", srv.url, "--write-key", WRITE_KEY,
           "--viewers", "400", "--duration", "20s", "--speed", "20", "--seed", "11",
           "--scenario", str(scenario), "--senders", "2", "--quiet", *map(str, extra)]
    r = subprocess.run(cmd, capture_output=True, timeout=180)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, f"viewpipe sim exited {r.returncode}:\n{err[-4000:]}"
    lines = r.stdout.decode().strip().splitlines()
    assert lines, f"no summary on stdout; stderr:\n{err[-2000:]}"
    return json.loads(lines[-1])


def test_sim_events_are_accepted_once_and_resends_are_duplicates(server, viewpipe_bin, dump,
                                                                   deadletters_cli, tmp_path):
    srv = server()
    truth_path = tmp_path / "truth.ndjson"
    catalog_path = tmp_path / "catalog.csv"
    s = run_sim(viewpipe_bin, srv, tmp_path, "--truth", truth_path, "--catalog-out", catalog_path)

    # What the simulator reports.
    assert s["failed"] == 0, s
    assert s["events"] > 1000 and s["malformed"] > 0, s
    assert s["sent"] == s["events"] + s["malformed"], s
    assert s["accepted"] == s["events"], s
    assert s["resent"] > 0, "the scenario re-sends 30 % of the batches"
    assert s["duplicates"] >= s["resent"], s
    assert s["duplicates"] == s["resent"] or s["retries"] > 0, s
    assert s["rejected"] == s["malformed"] + s["resent_malformed"], s
    assert s["released_late"] > 0, "the scenario takes 10 % of the devices offline"

    # What the server counted.
    m = srv.get("/metrics").text
    assert metric(m, "viewpipe_events_total", '{outcome="accepted"}') == s["accepted"]
    assert metric(m, "viewpipe_events_total", '{outcome="duplicate"}') == s["duplicates"]
    assert metric(m, "viewpipe_events_total", '{outcome="rejected"}') == s["rejected"]

    # What the server stored: each valid event once, sessions as events.md has them.
    stored = [r["value"] for r in dump(srv, "viewing")]
    assert len(stored) == s["events"]
    ids = [e["event_id"] for e in stored]
    assert len(set(ids)) == len(ids)
    assert all(UUID.match(i) for i in ids)
    sessions = defaultdict(list)
    for e in stored:
        assert s["start"] <= e["ts"] < s["end"], e
        sessions[e["session_id"]].append(e)
    for evs in sessions.values():
        evs.sort(key=lambda e: e["ts"])
        assert evs[0]["type"] == "attempt", evs[0]
    assert len(deadletters_cli(srv)) == s["rejected"]

    # The catalog and the truth file.
    catalog = catalog_path.read_text().splitlines()
    assert catalog[0] == "title_id,genre,kind,duration_s" and len(catalog) == 201
    titles = {line.split(",")[0] for line in catalog[1:]}
    assert {e["title_id"] for e in stored} <= titles
    truth = parse_ndjson(truth_path.read_text(), "truth")
    seconds = [t for t in truth if "total" in t]
    assert len(seconds) == 20
    assert [t["at"] for t in seconds] == list(range(s["start"], s["end"], 1000))
    assert 350 <= seconds[-1]["total"] <= 450
    # Recount the last second from the stored events (the events.md definition).
    t = seconds[-1]["t"]
    live = 0
    for evs in sessions.values():
        before = [e for e in evs if e["ts"] <= t]
        if not any(e["type"] in ("attempt", "play_start") for e in before):
            continue
        last = before[-1]
        if last["type"] == "stop" or (last["type"] == "error" and last["fatal"]):
            continue
        live += t - last["ts"] <= 30000
    assert live == seconds[-1]["total"]


def test_sim_refuses_a_wrong_write_key(server, viewpipe_bin, tmp_path):
    srv = server()
    r = subprocess.run([str(viewpipe_bin), "sim", "--url", srv.url, "--write-key", "wrong",
                        "--viewers", "50", "--duration", "10s", "--speed", "10", "--quiet"],
                       capture_output=True, timeout=60)
    assert r.returncode != 0
    assert b"401" in r.stderr, r.stderr
