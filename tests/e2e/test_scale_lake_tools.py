"""The lake's tools on an S3 lake (docs/scale.md): `viewpipe backfill`,
`lake`, `batch daily|weekly`, `features daily` and `query`, given
`--config` with lake.uri = s3://... (an S3-compatible server: moto's server
mode), read and write the same lake `serve --config` does, and produce the
same outputs, byte for byte, as on a local lake written from the same seed.
`serve --config`'s batch scheduler finds the sealed days of the S3 lake and
writes its outputs there.

The S3 server comes from the environment when scripts/test.sh started it
(VP_S3_ENDPOINT); otherwise test_scale's fixture starts one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs as pafs
import pytest

from test_scale import S3_KEY, s3  # noqa: F401 (the fixture)

ENV = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY}


def vp(viewpipe_bin, *args, timeout: float = 300) -> str:
    r = subprocess.run([str(viewpipe_bin), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=ENV)
    assert r.returncode == 0, f"viewpipe {' '.join(map(str, args))}: {r.stderr[-3000:]}"
    return r.stdout


def lake_config(tmp: Path, endpoint: str, bucket: str) -> Path:
    p = tmp / f"{bucket}.toml"
    p.write_text(f'[lake]\nuri = "s3://{bucket}/lake"\nendpoint = "{endpoint}"\n'
                 "create_bucket = true\n")
    return p


def s3fs(endpoint: str) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(access_key=S3_KEY, secret_key=S3_KEY, region="us-east-1",
                             endpoint_override=endpoint.replace("http://", ""), scheme="http")


def s3_hashes(endpoint: str, root: str) -> dict[str, str]:
    """sha256 of every object under bucket/prefix root, by key below root."""
    fs = s3fs(endpoint)
    out = {}
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type == pafs.FileType.File:
            with fs.open_input_stream(info.path) as f:
                out[info.path[len(root) + 1:]] = hashlib.sha256(f.read()).hexdigest()
    return out


def local_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def backfill(viewpipe_bin, data: Path, monday: dt.date, days: int, *config):
    vp(viewpipe_bin, "backfill", "--data-dir", data, *config, "--days", days,
       "--events-per-day", 2000, "--end-date", monday.isoformat(), "--zstd-level", 3,
       "--seed", 21)


@pytest.fixture(scope="module")
def lakes(viewpipe_bin, s3, tmp_path_factory):  # noqa: F811
    """The same eight backfilled days (the last full ISO week and the Sunday
    before it) in a local lake and in an S3 lake."""
    tmp = tmp_path_factory.mktemp("s3lake")
    today = dt.datetime.now(dt.timezone.utc).date()
    monday = today - dt.timedelta(days=today.weekday())
    bucket = "vp-" + uuid.uuid4().hex[:12]
    cfg = lake_config(tmp, s3, bucket)
    local, remote = tmp / "local", tmp / "remote"
    backfill(viewpipe_bin, local, monday, 8)
    backfill(viewpipe_bin, remote, monday, 8, "--config", cfg)
    week = (monday - dt.timedelta(days=7)).isocalendar()
    return SimpleNamespace(local=local, remote=remote, cfg=cfg, bucket=bucket, endpoint=s3,
                           days=[(monday - dt.timedelta(days=i)).isoformat()
                                 for i in range(8, 0, -1)],
                           week=f"{week[0]:04d}-W{week[1]:02d}")


def test_backfill_writes_the_s3_lake_and_lake_reads_it(lakes, viewpipe_bin):
    # Nothing of the S3 lake is on the local disk: its events are objects.
    assert not list((lakes.remote / "history" / "lake").rglob("*.parquet"))
    events = s3_hashes(lakes.endpoint, f"{lakes.bucket}/lake/events")
    assert {k.split("/")[0] for k in events} == {f"event_date={d}" for d in lakes.days}
    assert all(f"event_date={d}/_SUCCESS" in events for d in lakes.days)  # sealed
    local = json.loads(vp(viewpipe_bin, "lake", "--data-dir", lakes.local))
    remote = json.loads(vp(viewpipe_bin, "lake", "--data-dir", lakes.remote,
                           "--config", lakes.cfg))
    key = ("event_date", "rows", "files", "sealed")
    assert [{k: d[k] for k in key} for d in remote["recent"]] == \
        [{k: d[k] for k in key} for d in local["recent"]]
    assert remote["sealed_days"] == remote["days"] == 8 and remote["rows"] > 8 * 1000


def test_batch_jobs_on_the_s3_lake_equal_the_local_ones_byte_for_byte(lakes, viewpipe_bin):
    for data, cfg in ((lakes.local, ()), (lakes.remote, ("--config", lakes.cfg))):
        for day in lakes.days[1:]:
            vp(viewpipe_bin, "batch", "daily", "--date", day, "--data-dir", data, *cfg)
        vp(viewpipe_bin, "batch", "weekly", "--week", lakes.week, "--data-dir", data, *cfg)
    for part in ("datasets", "aggregates"):
        local = local_hashes(lakes.local / "history" / "lake" / part)
        remote = s3_hashes(lakes.endpoint, f"{lakes.bucket}/lake/{part}")
        assert local and remote == local, part
    weekly = [k for k in local_hashes(lakes.local / "history" / "lake" / "aggregates")
              if k.endswith(".parquet")]
    assert weekly and all(f"week={lakes.week}" in k for k in weekly)
    runs = json.loads(vp(viewpipe_bin, "batch", "runs", "--data-dir", lakes.remote,
                         "--config", lakes.cfg))["runs"]
    assert sorted(r["partition"] for r in runs if r["job"] == "daily" and r["status"] == "ok") \
        == lakes.days[1:]


def test_features_daily_and_query_read_the_s3_lake(lakes, viewpipe_bin):
    day = lakes.days[-1]
    reports = [json.loads(vp(viewpipe_bin, "features", "daily", "--date", day, "--data-dir",
                             data, *cfg))
               for data, cfg in ((lakes.local, ()), (lakes.remote, ("--config", lakes.cfg)))]
    assert reports[0] == reports[1] and reports[0]["events"] > 1000
    assert local_hashes(lakes.local / "features") == local_hashes(lakes.remote / "features")
    sql = (f"SELECT type, count(*) AS n FROM events WHERE event_date = DATE '{day}' "
           "GROUP BY type ORDER BY type")
    answers = [json.loads(vp(viewpipe_bin, "query", sql, "--tier", "cold", "--json",
                             "--data-dir", data, *cfg))
               for data, cfg in ((lakes.local, ()), (lakes.remote, ("--config", lakes.cfg)))]
    assert answers[0]["rows"] == answers[1]["rows"] and answers[0]["rows"]
    assert answers[1]["tier"] == "cold" and answers[1]["bytes_scanned"] > 0


def test_serve_schedules_batch_runs_on_the_s3_lake(viewpipe_bin, s3, server,  # noqa: F811
                                                   tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEY)
    monkeypatch.setenv("VIEWPIPE_BATCH_POLL_MS", "300")
    today = dt.datetime.now(dt.timezone.utc).date()
    bucket = "vp-" + uuid.uuid4().hex[:12]
    cfg = lake_config(tmp_path, s3, bucket)
    days = [(today - dt.timedelta(days=i)).isoformat() for i in range(3, 1, -1)]
    backfill(viewpipe_bin, tmp_path / "bf", today - dt.timedelta(days=1), 2, "--config", cfg)
    s = server("--config", cfg)
    deadline = time.monotonic() + 180
    done: set[str] = set()
    while time.monotonic() < deadline and not set(days) <= done:
        runs = s.get("/v1/batch/runs?limit=50").json()["runs"]
        done = {r["partition"] for r in runs if r["job"] == "daily" and r["status"] == "ok"}
        time.sleep(0.5)
    assert set(days) <= done, s.log_tail()
    out = s3_hashes(s3, f"{bucket}/lake/datasets")
    for d in days:
        assert f"sessions/event_date={d}/_SUCCESS" in out, sorted(out)
    assert not list((s.data_dir / "history" / "lake").rglob("*.parquet"))
