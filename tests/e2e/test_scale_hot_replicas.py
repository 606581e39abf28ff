"""The hot tier as several processes (docs/scale.md): replicas, not shards.
Each `viewpipe consume --path hot --replica NAME` has its own consumer group
(hot-NAME) and DuckDB file and loads every partition of `viewing`, so any of
them answers a query over all events. On the real Kafka broker and S3 server
of test_scale.py: two replicas load what serve's collector accepted, one is
killed with -9 while more arrives and restarted, and then both hold every
event exactly once; a second process of the same replica is refused."""

from __future__ import annotations

import random

import requests

from events import make_session_events, now_ms
from test_scale import (_Consumer, _group_config, _ready, kafka, post_all, s3,  # noqa: F401
                        scale_server, wait_for)


def _hot(c: _Consumer, sql: str):
    r = requests.post(c.url + "/v1/query", json={"sql": sql, "tier": "hot"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["rows"][0]


def _counts(c: _Consumer) -> tuple[int, int]:
    """(rows, distinct event ids) in c's hot tier."""
    rows, distinct = _hot(c, "SELECT count(*), count(DISTINCT event_id) FROM events")
    return rows, distinct


def test_two_hot_replicas_each_hold_every_event_once_across_a_kill(scale_server, viewpipe_bin,
                                                                    tmp_path):
    s, bucket = scale_server
    cfg = _group_config(s, bucket, tmp_path, "hotrep")
    a = _Consumer(viewpipe_bin, "hot", cfg, tmp_path / "a", tmp_path / "a.log")
    b = _Consumer(viewpipe_bin, "hot", cfg, tmp_path / "b", tmp_path / "b.log")
    a.cmd += ["--replica", "a"]
    b.cmd += ["--replica", "b"]
    a.start()
    b.start()
    try:
        rng = random.Random(5)
        first = []
        for _ in range(40):
            first += make_session_events(rng, n=rng.randrange(5, 30), start_ts=now_ms() - 3_600_000)
        post_all(s, first)
        for c in (a, b):
            wait_for(lambda: _counts(c) == (len(first), len(first)), timeout=90,
                     what=lambda: f"{len(first)} events in replica {c.cmd[-1]} ({_counts(c)})")
        # A second process of replica a is refused (its group has a member).
        dup = _Consumer(viewpipe_bin, "hot", cfg, tmp_path / "a2", tmp_path / "a2.log")
        dup.cmd += ["--replica", "a"]
        dup.start(wait_ready=False)
        assert dup.proc.wait(timeout=60) == 2
        assert f"consumer group {bucket}-hotrep.hot-a already has 1 member(s)" in dup.log.read_text()

        a.kill()
        second = []
        for _ in range(30):
            second += make_session_events(rng, n=rng.randrange(5, 30), start_ts=now_ms() - 1_800_000)
        post_all(s, second)
        total = len(first) + len(second)
        # b answers for everything while a is down.
        wait_for(lambda: _counts(b) == (total, total), timeout=90,
                 what=lambda: f"{total} events in replica b ({_counts(b)})")
        # Same data dir: resumes from its DuckDB's offsets. Until Kafka drops
        # the killed member (session timeout, 10 s) the group still has it and
        # a restart is refused, as for any one-state path: retry like a
        # supervisor would.
        def restarted():
            a.start(wait_ready=False)
            wait_for(lambda: _ready(a.port) or a.proc.poll() is not None, timeout=90,
                     what="the restarted replica a")
            return a.proc.poll() is None
        wait_for(restarted, timeout=90, what="replica a to restart once its old member left")
        wait_for(lambda: _counts(a) == (total, total), timeout=120,
                 what=lambda: f"{total} events in the restarted replica a ({_counts(a)})")
        sql = "SELECT count(*) FROM (SELECT DISTINCT event_id, ts, session_id FROM events)"
        assert _hot(a, sql) == _hot(b, sql) == [total]
    finally:
        a.kill()
        b.kill()
