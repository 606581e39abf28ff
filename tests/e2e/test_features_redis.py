"""The features path on the Redis FeatureStore (docs/features.md, "Redis"):
`viewpipe serve --config` with `[features] store = "redis"` on a real
redis-server. The states and the consumer offsets live in Redis (not in the
data dir); kill -9 of the server during updates, restart, and the features
equal a from-scratch run on the embedded RocksDB store, field by field.

The server comes from VP_REDIS_URL when scripts/test.sh started one;
otherwise this module starts its own redis-server (appendonly) on a free
loopback port. Skipped, loudly, only when that cannot start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import urlparse

import pytest

from conftest import free_port
from events import make_event, now_ms
from test_features import (PROFILE_FIELDS, TITLE_FIELDS, assert_same, online, post_all,
                           simulate, wait_caught_up, wait_for)


def _loud_skip(why: str):
    msg = f"\n\n*** REDIS FEATURES E2E SKIPPED: cannot start redis-server: {why} ***\n"
    print(msg, file=sys.stderr)
    pytest.skip(msg)


def start_redis(d, port: int) -> subprocess.Popen | None:
    """A redis-server (appendonly, files in d) listening on port, or None."""
    if shutil.which("redis-server") is None:
        return None
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--dir", str(d), "--appendonly", "yes", "--save", "",
                             "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                return None
            time.sleep(0.1)


def stop_redis(proc: subprocess.Popen) -> None:
    proc.terminate()  # SHUTDOWN: writes the AOF
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if os.environ.get("VP_REDIS_URL"):
        yield os.environ["VP_REDIS_URL"]
        return
    port = free_port()
    proc = start_redis(tmp_path_factory.mktemp("redis"), port)
    if proc is None:
        _loud_skip("redis-server missing (Debian package redis-server) or not listening")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(proc)


def redis_cli(url: str, *args) -> list[str]:
    u = urlparse(url)
    db = (u.path or "/0").lstrip("/") or "0"
    cmd = ["redis-cli", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 6379), "-n", db]
    if u.password:
        cmd += ["-a", u.password, "--no-auth-warning"]
    out = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return [line for line in out.splitlines() if line]


def redis_config(tmp_path, url: str, prefix: str):
    path = tmp_path / f"redis-{uuid.uuid4().hex[:8]}.toml"
    path.write_text(f'[features]\nstore = "redis"\nredis_url = "{url}"\n'
                    f'redis_key_prefix = "{prefix}"\n')
    return path


def test_kill9_with_the_redis_store_then_restart_matches_a_from_scratch_run(
        server, viewpipe_bin, tmp_path, redis_url):
    catalog, events = simulate(viewpipe_bin, tmp_path, seed=11, viewers=100, duration="15m")
    prefix = f"vp-e2e-{uuid.uuid4().hex[:8]}:"
    crashed = server("--catalog", catalog, "--config", redis_config(tmp_path, redis_url, prefix))
    chunks = [events[i:i + 1000] for i in range(0, len(events), 1000)]
    kills, accepted = 0, []
    for i, chunk in enumerate(chunks):
        accepted += post_all(crashed, chunk)
        if i % max(1, len(chunks) // 4) == 1 and kills < 3:
            time.sleep(0.02 * kills)  # the features path is mid-batch
            crashed.kill9()
            kills += 1
            crashed.start()
    assert kills == 3
    events = accepted
    wait_caught_up(crashed, len(events), lake=False)

    # The states and the offsets are in Redis, not in the data dir.
    assert not (crashed.data_dir / "features" / "store").exists()
    offsets = redis_cli(redis_url, "HGETALL", prefix + "offsets")
    assert len(offsets) >= 2 and len(offsets) % 2 == 0, offsets
    assert sum(int(v) for v in offsets[1::2]) == len(events), offsets
    n_profiles = len({e["profile_id"] for e in events})
    # A shared store keeps a partial state per partition (docs/scale.md).
    profile_keys = redis_cli(redis_url, "--scan", "--pattern", prefix + "p[0-9]*")
    assert len({k.split("/", 1)[1] for k in profile_keys}) == n_profiles

    fresh = server("--catalog", catalog)  # the embedded RocksDB store, one run
    post_all(fresh, events)
    wait_caught_up(fresh, len(events), lake=False)
    at = max(e["ts"] for e in events)
    for kind, key, fields in (("profiles", "profile_id", PROFILE_FIELDS),
                              ("titles", "title_id", TITLE_FIELDS)):
        ids = sorted({e[key] for e in events})
        a, b = online(crashed, kind, ids, at), online(fresh, kind, ids, at)
        for id_ in ids:
            assert_same(kind, id_, a[id_], b[id_], fields)


def test_a_bad_features_config_is_refused(viewpipe_bin, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[features]\nstore = "memcached"\n')
    r = subprocess.run([str(viewpipe_bin), "serve", "--data-dir", str(tmp_path / "d"),
                        "--listen", f"127.0.0.1:{free_port()}", "--config", str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "features.store" in r.stdout + r.stderr


def test_redis_down_answers_503_then_the_path_catches_up(server, tmp_path):
    """A private redis-server, stopped while the server runs: lookups answer
    503 (not 500, not stale), the collector still accepts (the log is
    durable), and once Redis is back the path resumes and counts every event
    once."""
    d, port = tmp_path / "own-redis", free_port()
    d.mkdir()
    proc = start_redis(d, port)
    if proc is None:
        _loud_skip("redis-server missing or not listening")
    url = f"redis://127.0.0.1:{port}/0"
    s = server("--config", redis_config(tmp_path, url, "vp-outage:"))
    t = now_ms() - 60_000
    first = [make_event("attempt", ts=t, profile_id="p-out", title_id="t-out")]
    post_all(s, first)
    wait_for(lambda: s.get("/v1/features/profiles/p-out").status_code == 200,
             what="p-out online")
    assert s.get("/v1/features/profiles/p-out").json()["sessions_7d"] == 1
    stop_redis(proc)
    try:
        r = s.get("/v1/features/profiles/p-out")
        assert r.status_code == 503, (r.status_code, r.text)
        assert f"127.0.0.1:{port}" in r.text, r.text
        more = [make_event("attempt", ts=t + 1000 * (i + 1), profile_id="p-out",
                           title_id="t-out") for i in range(5)]
        post_all(s, more)  # accepted into the log while the store is down
        time.sleep(1.5)  # the path fails on its next batch
    finally:
        proc = start_redis(d, port)
        assert proc is not None
    try:
        wait_for(lambda: (s.get("/v1/features/profiles/p-out").status_code == 200 and
                          s.get("/v1/features/profiles/p-out").json()["sessions_7d"] == 6),
                 timeout=60, what="6 sessions after Redis came back")
        time.sleep(1.0)
        assert s.get("/v1/features/profiles/p-out").json()["sessions_7d"] == 6  # not 7+
    finally:
        s.kill9()
        stop_redis(proc)
