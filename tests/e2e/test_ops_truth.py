"""The ops path against the simulator's ground truth: `viewpipe sim` posts a
seeded scenario (a live-event spike, a CDN outage, sessions that pause,
stall, time out and go silent, devices that go offline and deliver late,
batches posted twice, malformed events) to a real `viewpipe serve`, and
`GET /v1/ops/concurrency?at=` must equal the truth file for every second
and every value of every dimension — also after a kill -9 in the middle of
the run, and after a damaged checkpoint forces a rebuild from the log."""

from __future__ import annotations

import json
import re
import subprocess
import time

import requests

from conftest import WRITE_KEY

DIMS = ("title_id", "country", "device_type", "cdn", "live_event_id")

SCENARIO = """
malformed_fraction = 0.005
[traffic]
titles = 100

[[live_event]]
id = "live-final"
at = "30s"
ramp = "30s"
duration = "90s"
multiplier = 5

[[cdn_outage]]
cdn = "cdn-b"
at = "60s"
duration = "60s"
kind = "start_failures"
severity = 0.5

[[late_delivery]]
at = "40s"
duration = "60s"
fraction = 0.1
offline_min = "20s"
offline_max = "3m"

[[duplicates]]
fraction = 0.05
"""


def sim_command(viewpipe_bin, srv, tmp_path, seed: int) -> tuple[list[str], object]:
    scenario = tmp_path / "ops-scenario.toml"
    scenario.write_text(SCENARIO)
    truth = tmp_path / f"truth-{seed}.ndjson"
    cmd = [str(viewpipe_bin), "sim", "--url", srv.url, "--write-key", WRITE_KEY,
           "--viewers", "1000", "--duration", "4m", "--speed", "20", "--seed", str(seed),
           "--scenario", str(scenario), "--truth", str(truth), "--senders", "2", "--quiet"]
    return cmd, truth


def finish(proc: subprocess.Popen, timeout: float = 240) -> dict:
    out, err = proc.communicate(timeout=timeout)
    err = err.decode(errors="replace")
    assert proc.returncode == 0, f"viewpipe sim exited {proc.returncode}:\n{err[-4000:]}"
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["failed"] == 0, summary
    return summary


def truth_seconds(path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    seconds = [line for line in lines if "at" in line]
    assert len(seconds) >= 200, f"truth has {len(seconds)} seconds"
    return seconds


def get(srv, path: str, **params) -> requests.Response:
    """A GET on a fresh connection: on a kept-alive one the server's response,
    written in two pieces without TCP_NODELAY, waits for the client's delayed
    ACK (40 ms a request), which makes thousands of reads slow."""
    return requests.get(srv.url + path, params=params, timeout=30)


def metric(srv, name: str) -> float:
    text = get(srv, "/metrics").text
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


def wait_complete(srv, at_ms: int, timeout: float = 60) -> None:
    """Waits until the ops path's newest complete second reaches at_ms."""
    deadline = time.monotonic() + timeout
    as_of = None
    while time.monotonic() < deadline:
        r = get(srv, "/v1/ops/concurrency")
        if r.status_code == 200:
            as_of = r.json()["as_of"]
            if as_of >= at_ms:
                return
        time.sleep(0.2)
    raise AssertionError(f"ops as_of {as_of} never reached {at_ms}")


def assert_matches_truth(srv, seconds: list[dict]) -> None:
    wait_complete(srv, seconds[-1]["at"])
    mismatches = []
    for line in seconds:
        for dim in DIMS:
            r = get(srv, "/v1/ops/concurrency", at=line["at"], by=dim, top=10**6)
            assert r.status_code == 200, r.text
            got = r.json()
            assert got["as_of"] == line["at"], got
            groups = {g["key"]: g["viewers"] for g in got["groups"]}
            if got["total"] != line["total"] or groups != line[dim]:
                diff = {k: (line[dim].get(k), groups.get(k))
                        for k in set(groups) | set(line[dim]) if groups.get(k) != line[dim].get(k)}
                mismatches.append((line["at"], dim, line["total"], got["total"], diff))
    assert not mismatches, (f"{len(mismatches)} of {len(seconds) * len(DIMS)} (second, dimension) "
                            f"pairs differ from the truth; first ones:\n" +
                            "\n".join(map(str, mismatches[:10])))
    # The series endpoint agrees with the same truth.
    r = get(srv, "/v1/ops/concurrency/series", step=1000,
            **{"from": seconds[0]["at"], "to": seconds[-1]["at"]})
    assert r.status_code == 200, r.text
    assert r.json()["points"] == [[s["at"], s["total"]] for s in seconds]
    live = get(srv, "/v1/ops/concurrency/series", by="live_event_id", key="live-final",
               **{"from": seconds[0]["at"], "to": seconds[-1]["at"]}).json()["points"]
    assert live == [[s["at"], s["live_event_id"].get("live-final", 0)] for s in seconds]
    assert max(v for _, v in live) > 1000, "the spike never showed"
    assert metric(srv, "viewpipe_ops_late_beyond_bound_total") == 0


def test_ops_counts_equal_the_truth(server, viewpipe_bin, tmp_path):
    srv = server()
    cmd, truth = sim_command(viewpipe_bin, srv, tmp_path, seed=7)
    summary = finish(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert summary["released_late"] > 0 and summary["duplicates"] > 0, summary
    # live=1 reads the running second (the watermark's, which follows the
    # wall clock once the sim is done): taken now, it must equal the same
    # second read with at= once that second is complete (no event arrives
    # in between), by every dimension.
    live = {d: get(srv, "/v1/ops/concurrency", live=1, by=d, top=10**6).json() for d in DIMS}
    second = live[DIMS[0]]["as_of"]
    assert all(v["as_of"] == second for v in live.values()), live
    assert live[DIMS[0]]["total"] > 0, live
    wait_complete(srv, second)
    for d in DIMS:
        later = get(srv, "/v1/ops/concurrency", at=second, by=d, top=10**6).json()
        assert (later["total"], later["groups"]) == (live[d]["total"], live[d]["groups"]), d
    assert get(srv, "/v1/ops/concurrency", live=2).status_code == 400
    assert_matches_truth(srv, truth_seconds(truth))


def test_ops_exact_after_kill9_mid_run(server, viewpipe_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("VIEWPIPE_OPS_CHECKPOINT_INTERVAL_MS", "500")
    srv = server()
    cmd, truth = sim_command(viewpipe_bin, srv, tmp_path, seed=8)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Kill once the spike is under way and a few checkpoints exist.
    deadline = time.monotonic() + 60
    while not (srv.data_dir / "ops" / "checkpoint").exists() or \
            metric(srv, "viewpipe_ops_events_total") < 30000:
        assert time.monotonic() < deadline, "the sim never got going"
        assert proc.poll() is None, "the sim ended before the kill"
        time.sleep(0.2)
    srv.kill9()
    time.sleep(1)
    srv.start()
    finish(proc)
    assert metric(srv, 'viewpipe_ops_restores_total{outcome="checkpoint"}') == 1
    assert_matches_truth(srv, truth_seconds(truth))


def test_ops_damaged_checkpoint_rebuilds_from_the_log(server, viewpipe_bin, tmp_path):
    srv = server()
    cmd, truth = sim_command(viewpipe_bin, srv, tmp_path, seed=9)
    finish(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    seconds = truth_seconds(truth)
    wait_complete(srv, seconds[-1]["at"])
    srv.stop()  # a clean stop writes a final checkpoint
    checkpoint = srv.data_dir / "ops" / "checkpoint"
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    srv.start()
    assert metric(srv, 'viewpipe_ops_restores_total{outcome="rebuild"}') == 1
    assert (srv.data_dir / "ops" / "checkpoint.bad").exists()
    assert "rebuilding the state from the start of the log" in srv.log_tail(200)
    assert_matches_truth(srv, seconds)
