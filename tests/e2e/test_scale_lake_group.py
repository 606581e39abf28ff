"""Several `viewpipe consume --path lake` processes write one lake
(docs/scale.md, "The lake path as several processes"): on the real Kafka
broker and the S3-compatible server (moto) that test_scale.py starts, the
simulator posts through `serve`'s collector, two lake processes share the
partitions of `viewing`, one is killed with -9 mid-run, and the lake then
holds every accepted event exactly once, with the offsets of its newest root
at Kafka's end offsets.

The two processes use their own consumer group prefix and their own lake
(`s3://<bucket>/lake2`, or a local directory both mount), next to serve's
lake path on the test's first groups: both lakes must agree."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from test_scale import (S3_KEY, _Consumer, _endpoint_of, _group_config, _metric, end_offsets,  # noqa: F401
                        kafka, read_s3_lake, s3, scale_server, wait_for)


def _s3fs(endpoint: str):
    return pafs.S3FileSystem(access_key=S3_KEY, secret_key=S3_KEY, region="us-east-1",
                             endpoint_override=endpoint.replace("http://", ""), scheme="http")


def _lake_fs(where: str, endpoint: str, bucket: str, local: Path):
    """(filesystem, root path) of the group's lake."""
    if where == "s3":
        return _s3fs(endpoint), f"{bucket}/lake2"
    return pafs.LocalFileSystem(), str(local)


def _event_ids(fs, root: str) -> list[str]:
    try:
        table = ds.dataset(f"{root}/events", filesystem=fs, format="parquet",
                           partitioning="hive").to_table(columns=["event_id"])
    except (FileNotFoundError, OSError):
        return []
    return table.column("event_id").to_pylist()


def _newest_root(fs, root: str) -> dict:
    infos = fs.get_file_info(pafs.FileSelector(f"{root}/_lake/roots", allow_not_found=True))
    roots = sorted(i.path for i in infos if i.path.endswith(".json"))
    assert roots, "no versioned root in the lake"
    with fs.open_input_stream(roots[-1]) as f:
        return json.loads(f.read())


@pytest.mark.parametrize("where", ["s3", "local"])
def test_two_lake_processes_write_every_event_once_when_one_is_killed(
        where, scale_server, viewpipe_bin, tmp_path, kafka):
    from test_ops_truth import finish, sim_command
    s, bucket = scale_server
    local = tmp_path / "shared-lake"
    lake_uri = f"s3://{bucket}/lake2" if where == "s3" else str(local)
    cfg = _group_config(s, bucket, tmp_path, "lakegroup")
    cfg.write_text(cfg.read_text().replace(f'uri = "s3://{bucket}/lake"',
                                           f'uri = "{lake_uri}"\nroll_ms = 500'))
    a = _Consumer(viewpipe_bin, "lake", cfg, tmp_path / "a", tmp_path / "a.log").start()
    b = _Consumer(viewpipe_bin, "lake", cfg, tmp_path / "b", tmp_path / "b.log").start()
    fs, root = _lake_fs(where, _endpoint_of(s), bucket, local)
    sim = None
    try:
        owned = "viewpipe_lake_partitions_owned"
        wait_for(lambda: _metric(a.url, owned) == 2 and _metric(b.url, owned) == 2, timeout=60,
                 what=lambda: f"2 + 2 partitions ({_metric(a.url, owned)}, {_metric(b.url, owned)})")
        cmd, _ = sim_command(viewpipe_bin, s, tmp_path, seed=33)
        sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # kill -9 of b mid-run, once it has committed some files and buffers more.
        written = "viewpipe_lake_events_total"
        wait_for(lambda: (_metric(b.url, "viewpipe_lake_commits_total") >= 2
                          and _metric(b.url, written) > 3000) or sim.poll() is not None,
                 timeout=120, what="b to write events")
        assert sim.poll() is None, "the sim ended before the kill"
        b_wrote = _metric(b.url, written)
        b.kill()
        summary = finish(sim)
        sim = None
        accepted = summary["accepted"]
        wait_for(lambda: _metric(a.url, owned) == 4, timeout=90, what="a to own all partitions")
        seen = []
        wait_for(lambda: seen.append(len(_event_ids(fs, root))) or seen[-1] >= accepted,
                 timeout=180, what=lambda: f"{accepted} events in the group's lake ({seen[-3:]})")
        # Settled: the newest root covers everything Kafka holds, and a few
        # more commits add nothing.
        ends = end_offsets(kafka[0], bucket + ".viewing")
        wait_for(lambda: {int(p): o for p, o in _newest_root(fs, root)["offsets"].items()} == ends,
                 timeout=60, what=lambda: f"the root's offsets at Kafka's ends {ends}")
        time.sleep(2)
        ids = _event_ids(fs, root)
        assert len(ids) == len(set(ids)) == accepted, (len(ids), len(set(ids)), accepted)
        # The killed process had written part of it; a wrote the rest, once.
        assert 0 < b_wrote < accepted
        assert _metric(a.url, written) > 0
        # serve's own lake (one process, the same events) agrees id for id.
        wait_for(lambda: len(read_s3_lake(_endpoint_of(s), bucket)) >= accepted, timeout=120,
                 what="serve's lake to catch up")
        assert set(read_s3_lake(_endpoint_of(s), bucket).column("event_id").to_pylist()) == set(ids)
        print(f"\nlake group ({where}): {accepted} events, b wrote {b_wrote:.0f} before kill -9; "
              f"root v{_newest_root(fs, root)['version']}")
    finally:
        if sim is not None:
            sim.kill()
        a.kill()
        b.kill()
