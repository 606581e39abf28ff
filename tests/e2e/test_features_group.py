"""The features path as several processes (docs/scale.md, "One process per
path" / the features group): two `viewpipe consume --path features` on a
real Kafka broker share the partitions of `viewing` and write one Redis
feature store (a partial state per partition, merged at read time, writes
fenced by the partitions' offsets). The simulator's events go through a
collector-only `serve` on Kafka; one consumer is killed with -9 mid-run (the
survivor takes its partitions over), restarted, then paused (SIGSTOP) under
traffic until the group hands its partitions over and resumed; the features
read from either process equal a from-scratch one-process recomputation on
RocksDB, field by field.

Kafka and Redis come from the environment when scripts/test.sh started them
(VP_KAFKA_BROKERS + VP_KAFKA_DIR, VP_REDIS_URL), otherwise this module
starts its own; skipped loudly only when one cannot be started."""

from __future__ import annotations

import shutil
import signal
import uuid
from pathlib import Path

import requests

from test_features import (PROFILE_FIELDS, TITLE_FIELDS, assert_same, online, post_all,
                           simulate, wait_caught_up, wait_for)
from test_features_redis import redis_cli, redis_url  # noqa: F401 (fixture)
from test_scale import _Consumer, _metric, kafka  # noqa: F401 (fixture)

OWNED = "viewpipe_features_partitions_owned"


class _Reader:
    """What online() needs of a server: url and an HTTP session."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()


def _config(tmp_path: Path, brokers: str, redis: str, name: str, prefix: str) -> Path:
    p = tmp_path / "features-group.toml"
    p.write_text(f"""
[log]
backend = "kafka"
brokers = "{brokers}"
topic_prefix = "{name}."
group_prefix = "{name}."
delivery_timeout_ms = 5000

[features]
store = "redis"
redis_url = "{redis}"
redis_key_prefix = "{prefix}"
""")
    return p


def _stored_offsets(url: str, prefix: str) -> int:
    values = redis_cli(url, "HGETALL", prefix + "offsets")
    return sum(int(v) for v in values[1::2])


def test_two_features_processes_share_partitions_and_survive_a_kill(
        server, viewpipe_bin, tmp_path, kafka, redis_url):  # noqa: F811
    name = "vpf-" + uuid.uuid4().hex[:10]
    prefix = f"{name}:"
    cfg = _config(tmp_path, kafka[0], redis_url, name, prefix)
    catalog, events = simulate(viewpipe_bin, tmp_path, seed=31, viewers=150, duration="15m")
    collector = server("--config", cfg, "--paths", "none")
    consumers = []
    for n in ("a", "b"):
        d = tmp_path / n
        d.mkdir()
        shutil.copy(catalog, d / "catalog.csv")  # consume's default catalog
        consumers.append(_Consumer(viewpipe_bin, "features", cfg, d, tmp_path / f"{n}.log"))
    a, b = (c.start() for c in consumers)
    try:
        wait_for(lambda: _metric(a.url, OWNED) == 2 and _metric(b.url, OWNED) == 2, timeout=90,
                 what=lambda: f"2 + 2 partitions ({_metric(a.url, OWNED)}, {_metric(b.url, OWNED)})")
        third = len(events) // 3
        accepted = post_all(collector, events[:third])
        wait_for(lambda: _metric(b.url, "viewpipe_features_events_total") > 0, timeout=60,
                 what="b to fold events")
        b.kill()  # kill -9, possibly mid-batch
        accepted += post_all(collector, events[third:2 * third])
        wait_for(lambda: _metric(a.url, OWNED) == 4, timeout=90, what="a to take b's partitions")
        wait_for(lambda: _stored_offsets(redis_url, prefix) == len(accepted), timeout=120,
                 what=lambda: f"{len(accepted)} records in Redis "
                              f"({_stored_offsets(redis_url, prefix)})")
        # b again: the group splits the partitions anew.
        b.start()
        wait_for(lambda: _metric(a.url, OWNED) == 2 and _metric(b.url, OWNED) == 2, timeout=90,
                 what="2 + 2 partitions after b's restart")
        # A paused member (a zombie): SIGSTOP b under traffic, a takes its
        # partitions after the session timeout, then b resumes with whatever
        # batch it held; a late write of it is fenced, never applied.
        b.proc.send_signal(signal.SIGSTOP)
        try:
            accepted += post_all(collector, events[2 * third:])
            wait_for(lambda: _metric(a.url, OWNED) == 4, timeout=90,
                     what="a to take the paused b's partitions")
        finally:
            b.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: _metric(a.url, OWNED) == 2 and _metric(b.url, OWNED) == 2, timeout=120,
                 what="2 + 2 partitions after b resumed")
        wait_for(lambda: _stored_offsets(redis_url, prefix) == len(accepted), timeout=120,
                 what=lambda: f"{len(accepted)} records in Redis "
                              f"({_stored_offsets(redis_url, prefix)})")

        fresh = server("--catalog", catalog)  # one process, RocksDB, every event once
        post_all(fresh, accepted)
        wait_caught_up(fresh, len(accepted), lake=False)
        assert _stored_offsets(redis_url, prefix) == len(accepted)
        at = max(e["ts"] for e in accepted)
        for kind, key, fields in (("profiles", "profile_id", PROFILE_FIELDS),
                                  ("titles", "title_id", TITLE_FIELDS)):
            ids = sorted({e[key] for e in accepted})
            want = online(fresh, kind, ids, at)
            for reader in (_Reader(a.url), _Reader(b.url)):
                got = online(reader, kind, ids, at)
                for id_ in ids:
                    assert_same(kind, id_, got[id_], want[id_], fields)
                r = reader.http.get(f"{reader.url}/v1/features/{kind}/{ids[0]}?at={at}",
                                    timeout=10)
                assert r.status_code == 200, r.text
                assert_same(kind, ids[0], r.json(), want[ids[0]], fields)
        # Partial states: keys per partition, ids as in one process.
        keys = redis_cli(redis_url, "--scan", "--pattern", prefix + "p[0-9]*")
        assert len({k.split("/", 1)[1] for k in keys}) == len({e["profile_id"] for e in accepted})
        fenced = sum(c.log.read_text(errors="replace").count("fenced:") for c in consumers)
        print(f"\nfeatures group: {len(accepted)} events, batches refused by the fence: {fenced}")
    finally:
        for c in consumers:
            c.kill()
