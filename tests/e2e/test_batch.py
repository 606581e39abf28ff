"""Batch consumers end to end (docs/batch.md): a lake written by
`viewpipe backfill`, `viewpipe batch daily|weekly` run by hand, every output
read with pandas/pyarrow and reconciled with the lake's own events (watch
time recomputed here from the raw events with pandas, following
events.md), byte-identical re-runs, refusals of unsealed days, the
scheduler inside `viewpipe serve`, and the README snippet."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow.dataset as ds
import pytest

from conftest import REPO, run_cli
from events import make_session_events, now_ms

DAY_MS = 86_400_000
PLAYING_CAP_MS = 30_000


def lake_of(data: Path) -> Path:
    return Path(data) / "history" / "lake"


def batch(viewpipe_bin, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(viewpipe_bin), "batch", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def lake_events(data: Path, days: list[str]) -> pd.DataFrame:
    frames = [ds.dataset(lake_of(data) / "events" / f"event_date={d}", format="parquet",
                         partitioning="hive").to_table().to_pandas() for d in days]
    return pd.concat(frames, ignore_index=True)


def reference_sessions(events: pd.DataFrame) -> pd.DataFrame:
    """Watch time per session from the raw events, the pandas way: the state
    after each event (play_start/resume/rebuffer_end: playing, pause: paused,
    rebuffer_start: stalled, stop/fatal error: ended, others keep it), and
    each playing interval up to the next event, capped at 30 s."""
    e = events.sort_values(["session_id", "ts", "event_id"]).reset_index(drop=True)
    fatal = (e["type"] == "error") & (e["fatal"] == True)  # noqa: E712 (nullable)
    state = pd.Series(None, index=e.index, dtype=object)
    state[e["type"].isin(["play_start", "resume", "rebuffer_end"])] = "playing"
    state[e["type"] == "pause"] = "paused"
    state[e["type"] == "rebuffer_start"] = "stalled"
    state[(e["type"] == "stop") | fatal] = "ended"
    e["state"] = state.groupby(e["session_id"]).ffill()
    e["next_ts"] = e.groupby("session_id")["ts"].shift(-1)
    gap = (e["next_ts"] - e["ts"]).clip(upper=PLAYING_CAP_MS)
    e["play_ms"] = gap.where((e["state"] == "playing") & e["next_ts"].notna(), 0)
    e["started"] = e["type"] == "play_start"
    e["attempt_ts"] = e["ts"].where(e["type"] == "attempt")
    out = e.groupby("session_id").agg(
        title_id=("title_id", "first"), profile_id=("profile_id", "first"),
        country=("country", "first"), watch_time_ms=("play_ms", "sum"),
        started=("started", "any"), first_ts=("ts", "min"), end_ts=("ts", "max"),
        attempt_ts=("attempt_ts", "min"), live=("live_event_id", "first")).reset_index()
    out["start_ts"] = out["attempt_ts"].fillna(out["first_ts"]).astype("int64")
    return out


def live_peaks(sessions: pd.DataFrame, key: str) -> pd.Series:
    """Most sessions with a live_event_id open at once (start_ts..end_ts), per key."""
    live = sessions[sessions["live"].notna()]
    peaks = {}
    for k, g in live.groupby(key):
        marks = sorted([(t, -1) for t in g["start_ts"]] + [(t, 1) for t in g["end_ts"]])
        open_now = peak = 0
        for _, d in marks:
            open_now -= d
            peak = max(peak, open_now)
        peaks[k] = peak
    return pd.Series(peaks, dtype="int64")


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def file_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def lake(viewpipe_bin, tmp_path_factory):
    """Ten backfilled, sealed days ending the day before this week's Monday
    (so last ISO week is complete), and a catalog holding every other title."""
    today = dt.datetime.now(dt.timezone.utc).date()
    monday = today - dt.timedelta(days=today.weekday())
    data = tmp_path_factory.mktemp("batch") / "data"
    run_cli(viewpipe_bin, "backfill", "--data-dir", data, "--days", 10, "--events-per-day", 3000,
            "--end-date", monday.isoformat(), "--no-hot", "--zstd-level", 3, "--seed", 8,
            timeout=300)
    days = [(monday - dt.timedelta(days=i)).isoformat() for i in range(10, 0, -1)]
    titles = sorted(set(ds.dataset(lake_of(data) / "events", format="parquet")
                        .to_table(columns=["title_id"]).column("title_id").to_pylist()))
    genres = ["drama", "comedy", "kids"]
    catalog = pd.DataFrame({"title_id": titles[::2],
                            "genre": [genres[i % 3] for i in range(len(titles[::2]))],
                            "kind": "series", "duration_s": 1800})
    catalog.to_csv(data / "catalog.csv", index=False)
    week = (monday - dt.timedelta(days=7)).isocalendar()
    return SimpleNamespace(data=data, days=days, monday=monday, catalog=catalog,
                           week=f"{week[0]:04d}-W{week[1]:02d}",
                           week_days=days[-7:])


def test_daily_outputs_read_and_reconcile_with_the_lake(lake, viewpipe_bin):
    day = lake.days[-3]
    r = batch(viewpipe_bin, "daily", "--date", day, "--data-dir", lake.data)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["run"] == f"daily-{day}" and out["provisional"] is False
    ref = reference_sessions(lake_events(lake.data, [day]))
    lake_success = json.loads((lake_of(lake.data) / "events" / f"event_date={day}" / "_SUCCESS")
                              .read_text())
    frames = {}
    for name in ("sessions", "interactions"):
        part = lake_of(lake.data) / "datasets" / name / f"event_date={day}"
        assert (part / "_SUCCESS").exists()
        manifest = json.loads((part / "_manifest.json").read_text())
        assert manifest["inputs"][day] == lake_success["version"]
        assert manifest["provisional"] is False
        df = pd.read_parquet(part)
        assert len(df) == manifest["rows"] > 0
        for f in manifest["files"]:
            assert (part / f["name"]).stat().st_size == f["bytes"]
        frames[name] = df
    sessions, inter = frames["sessions"], frames["interactions"]
    assert sessions["session_id"].is_unique and len(sessions) == len(ref)
    # Hours watched by title: the job's == recomputed from the raw lake events.
    got = sessions.groupby("title_id")["watch_time_ms"].sum().sort_index()
    want = ref.groupby("title_id")["watch_time_ms"].sum().astype("int64").sort_index()
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert got.sum() > 3600_000  # more than an hour watched that day
    # Interactions sum to the sessions, one row per profile x title.
    assert not inter.duplicated(["profile_id", "title_id"]).any()
    assert inter["watch_time_ms"].sum() == sessions["watch_time_ms"].sum()
    assert inter["sessions"].sum() == len(sessions)
    # Definitions: VSF/EBVS never started; completion known only for catalog titles.
    assert not sessions.loc[sessions["failure"].isin(["vsf", "ebvs"]), "started"].any()
    in_catalog = sessions["title_id"].isin(lake.catalog["title_id"])
    assert sessions.loc[~in_catalog, "completion"].isna().all()
    assert sessions.loc[in_catalog & sessions["max_position_ms"].notna(), "completion"].between(0, 1).all()
    assert (sessions["started"] == sessions["startup_ms"].notna()).all()


def test_rerun_is_byte_identical(lake, viewpipe_bin):
    day = lake.days[-4]
    assert batch(viewpipe_bin, "daily", "--date", day, "--data-dir", lake.data).returncode == 0
    root = lake_of(lake.data) / "datasets"
    first = {k: v for k, v in file_hashes(root).items() if day in k}
    assert len(first) == 6  # 2 datasets x part, _manifest.json, _SUCCESS
    assert batch(viewpipe_bin, "daily", "--date", day, "--data-dir", lake.data).returncode == 0
    assert {k: v for k, v in file_hashes(root).items() if day in k} == first


def test_weekly_stats_reconcile_with_the_lake(lake, viewpipe_bin):
    r = batch(viewpipe_bin, "weekly", "--week", lake.week, "--data-dir", lake.data)
    assert r.returncode == 0, r.stderr
    part = lake_of(lake.data) / "aggregates" / "weekly_title_stats" / f"week={lake.week}"
    assert (part / "_SUCCESS").exists()
    w = pd.read_parquet(part)
    manifest = json.loads((part / "_manifest.json").read_text())
    assert len(w) == manifest["rows"] and set(w["week"]) == {lake.week}
    assert sorted(k for k in manifest["inputs"] if k[0].isdigit()) == lake.week_days
    # The weekly is built from the week's daily sessions: it ran the dailies
    # not run by hand above (days[-3], days[-4] were current), each as a run.
    runs = json.loads(run_cli(viewpipe_bin, "batch", "runs", "--data-dir", lake.data,
                              "--limit", 100))["runs"]
    by_weekly = sorted(x["partition"] for x in runs
                       if x["trigger"] == f"weekly-{lake.week}" and x["status"] == "ok")
    assert by_weekly == [d for d in lake.week_days if d not in (lake.days[-3], lake.days[-4])]
    ref = reference_sessions(lake_events(lake.data, lake.week_days))
    titles = w[w["dimension"] == "title"].set_index("key")
    want = ref.groupby("title_id")["watch_time_ms"].sum().astype("int64")
    pd.testing.assert_series_equal(titles["watch_time_ms"].sort_index(), want.sort_index(),
                                   check_names=False)
    assert (titles["hours_watched"] - titles["watch_time_ms"] / 3.6e6).abs().max() < 1e-9
    viewers = ref[ref["started"]].groupby("title_id")["profile_id"].nunique()
    pd.testing.assert_series_equal(titles["unique_viewers"][viewers.index].sort_index(),
                                   viewers.sort_index(), check_names=False, check_dtype=False)
    # Every session counted once per dimension; titles outside the catalog are "unknown".
    for dim in ("title", "genre", "country"):
        assert w.loc[w["dimension"] == dim, "sessions"].sum() == len(ref)
        assert w.loc[w["dimension"] == dim, "watch_time_ms"].sum() == ref["watch_time_ms"].sum()
    genres = w[w["dimension"] == "genre"].set_index("key")
    unknown = ref[~ref["title_id"].isin(lake.catalog["title_id"])]
    assert genres.loc["unknown", "sessions"] == len(unknown) > 0
    assert set(genres.index) <= {"drama", "comedy", "kids", "unknown"}
    assert w["second_start_share"].dropna().between(0, 1).all()
    assert w["completion_rate"].dropna().between(0, 1).all()
    peaks = live_peaks(ref, "title_id")
    got_peaks = titles["live_peak_concurrency"]
    assert (got_peaks.loc[peaks.index] == peaks).all(), (got_peaks.loc[peaks.index], peaks)
    assert (got_peaks.drop(peaks.index) == 0).all()
    # The week before was never run: no week-over-week change yet.
    assert w["hours_wow_change"].isna().all()


def test_kill9_mid_run_leaves_the_previous_output_intact(lake, viewpipe_bin):
    day = lake.days[-3]
    part = lake_of(lake.data) / "datasets" / "sessions" / f"event_date={day}"
    assert batch(viewpipe_bin, "daily", "--date", day, "--data-dir", lake.data).returncode == 0
    good = file_hashes(lake_of(lake.data) / "datasets")
    for delay in (0.05, 0.2, 0.5, 1.0, 2.0):
        p = subprocess.Popen([str(viewpipe_bin), "batch", "daily", "--date", day, "--data-dir",
                              str(lake.data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()  # SIGKILL
        p.wait()
        # Whatever the moment, a reader waiting for _SUCCESS gets a complete output:
        # the previous one, or (killed after the commit point) the new, identical one.
        if (part / "_SUCCESS").exists():
            manifest = json.loads((part / "_manifest.json").read_text())
            assert len(pd.read_parquet(part)) == manifest["rows"]
        # The next run recovers and gives the same bytes as before.
        assert batch(viewpipe_bin, "daily", "--date", day, "--data-dir", lake.data).returncode == 0
        assert file_hashes(lake_of(lake.data) / "datasets") == good, f"killed after {delay} s"
        assert not list((lake_of(lake.data) / "_batch").rglob("*.parquet"))
    runs = json.loads(run_cli(viewpipe_bin, "batch", "runs", "--data-dir", lake.data,
                              "--limit", 100))["runs"]
    assert any(r["status"] == "interrupted" for r in runs), [r["status"] for r in runs]


def test_unsealed_or_missing_days_are_refused(lake, viewpipe_bin, server):
    r = batch(viewpipe_bin, "daily", "--date", lake.monday.isoformat(), "--data-dir", lake.data)
    assert r.returncode != 0 and "not in the lake" in r.stderr
    this_week = lake.monday.isocalendar()
    r = batch(viewpipe_bin, "weekly", "--week", f"{this_week[0]:04d}-W{this_week[1]:02d}",
              "--data-dir", lake.data)
    assert r.returncode == 2 and "sealed" in r.stderr
    assert batch(viewpipe_bin, "daily", "--date", "2025-13-01").returncode == 2
    # A live day in a server's lake: committed, not sealed.
    s = server("--lake-roll-ms", 300)
    events = make_session_events(n=30, start_ts=now_ms() - 600_000)
    assert s.post(events).json()["accepted"] == len(events)
    today = dt.datetime.fromtimestamp(events[0]["ts"] / 1000, dt.timezone.utc).date().isoformat()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        days = s.get("/v1/lake?days=3").json()["recent"]
        if any(d["event_date"] == today and d["rows"] >= len(events) for d in days):
            break
        time.sleep(0.2)
    r = batch(viewpipe_bin, "daily", "--date", today, "--data-dir", s.data_dir)
    assert r.returncode == 2 and "not sealed yet" in r.stderr and "--force" in r.stderr
    part = lake_of(s.data_dir) / "datasets" / "sessions" / f"event_date={today}"
    assert not part.exists()
    r = batch(viewpipe_bin, "daily", "--date", today, "--force", "--data-dir", s.data_dir)
    assert r.returncode == 0, r.stderr
    assert json.loads((part / "_manifest.json").read_text())["provisional"] is True
    assert json.loads((part / "_SUCCESS").read_text())["provisional"] is True
    assert len(pd.read_parquet(part)) == 1
    runs = s.get("/v1/batch/runs").json()["runs"]
    assert [(x["status"], x["provisional"]) for x in runs[:2]] == [("ok", True), ("refused", False)]


def test_readme_snippet_reads_a_day_once_success_is_there(lake, viewpipe_bin):
    day = lake.days[-3]
    assert batch(viewpipe_bin, "daily", "--date", day, "--data-dir", lake.data).returncode == 0
    doc = (REPO / "docs" / "batch.md").read_text()
    snippet = re.search(r"<!-- snippet:pandas -->\s*```python\n(.*?)```", doc, re.S).group(1)
    readme = (REPO / "README.md").read_text()
    assert snippet.strip() in readme, "README.md and docs/batch.md show the same snippet"
    env = dict(os.environ, VIEWPIPE_DATA=str(lake.data), DAY=day)
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    ref = reference_sessions(lake_events(lake.data, [day]))
    top = (ref.groupby("title_id")["watch_time_ms"].sum()).idxmax()
    lines = out.stdout.splitlines()  # "title_id", then "<title>  <hours>" per title
    assert lines[0].strip() == "title_id" and lines[1].split()[0] == top, out.stdout
    env["DAY"] = "2000-01-01"
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.stdout.strip() == "not ready yet"


def test_scheduler_in_serve_catches_up_sealed_days_and_weeks(lake, viewpipe_bin, server,
                                                            monkeypatch):
    monkeypatch.setenv("VIEWPIPE_BATCH_POLL_MS", "300")
    before = file_hashes(lake_of(lake.data) / "datasets")
    s = server(data_dir=lake.data)
    # The days not run above (by hand, or by the weekly job for its week) are due.
    want = {d for d in lake.days if d not in lake.week_days}
    deadline = time.monotonic() + 240
    runs = []
    while time.monotonic() < deadline:
        runs = s.get("/v1/batch/runs?limit=500").json()["runs"]
        done = {x["partition"] for x in runs
                if x["status"] == "ok" and x["trigger"] == "schedule" and x["job"] == "daily"}
        if want <= done:
            break
        time.sleep(0.5)
    time.sleep(2)  # a few more passes: nothing else may run
    runs = s.get("/v1/batch/runs?limit=500").json()["runs"]
    scheduled = [x for x in reversed(runs) if x["trigger"] == "schedule"]
    assert all(x["status"] == "ok" for x in scheduled), scheduled
    daily = [x["partition"] for x in scheduled if x["job"] == "daily"]
    assert daily == sorted(daily), "days caught up in date order"
    # Days already current (run by hand or by the weekly above) are not run again.
    assert not set(daily) & set(lake.week_days)
    assert len(daily) == len(set(daily)) == 3
    assert [x["partition"] for x in scheduled if x["job"] == "weekly"] == []  # already current
    after = file_hashes(lake_of(lake.data) / "datasets")
    assert {k: v for k, v in after.items() if k in before} == before
    weekly = s.get(f"/v1/batch/weekly?week={lake.week}&limit=5").json()
    assert weekly["week"] == lake.week and lake.week in weekly["weeks"]
    dims = {r["dimension"] for r in weekly["rows"]}
    assert dims == {"title", "genre", "country"}
    assert len([r for r in weekly["rows"] if r["dimension"] == "title"]) == 5
    assert s.get("/v1/batch/weekly?week=2025-W99").status_code == 400
    assert s.get("/v1/batch/weekly?week=2001-W02").status_code == 404


def test_serve_runs_a_freshly_sealed_day_and_reruns_it_after_a_late_event(server, monkeypatch):
    """Live: yesterday's events posted to a server, the lake seals the day,
    the scheduler runs its daily job; a late event re-seals the day (a new
    manifest version) and the scheduler runs the day again."""
    monkeypatch.setenv("VIEWPIPE_BATCH_POLL_MS", "300")
    s = server("--lake-roll-ms", 300, "--lake-seal-grace-ms", 1000)
    rng = random.Random(9)
    yday_start = (now_ms() // DAY_MS - 1) * DAY_MS
    yday = dt.datetime.fromtimestamp(yday_start / 1000, dt.timezone.utc).date().isoformat()
    events = []
    for _ in range(12):
        events += [e for e in make_session_events(rng, n=30, start_ts=yday_start +
                                                  rng.randrange(DAY_MS - 3_600_000))]
    events = [e for e in events if e["ts"] < yday_start + DAY_MS]
    assert s.post(events).json()["accepted"] == len(events)
    part = lake_of(s.data_dir) / "datasets" / "sessions" / f"event_date={yday}"

    def manifest():
        try:
            return json.loads((part / "_manifest.json").read_text()) if (part / "_SUCCESS").exists() else None
        except (OSError, ValueError):
            return None
    first = wait_for(manifest, 90, "the scheduled daily run of yesterday")
    assert first["rows"] == len({e["session_id"] for e in events}) and not first["provisional"]
    # A late event of a new session: the lake adds a version, the scheduler re-runs the day.
    late = make_session_events(rng, n=5, start_ts=yday_start + 7_200_000)
    assert s.post(late).json()["accepted"] == len(late)
    second = wait_for(lambda: (m := manifest()) and m["rows"] == first["rows"] + 1 and m, 90,
                      "the re-run after the late event")
    assert second["inputs"][yday] > first["inputs"][yday]
    # The output is published before the run's end line reaches the ledger:
    # wait for the ledger to say how the runs ended.
    def finished_runs():
        runs = [r for r in s.get("/v1/batch/runs").json()["runs"] if r["partition"] == yday]
        return runs if runs and all(r["status"] != "running" for r in runs) else None
    runs = wait_for(finished_runs, 30, "the runs' end records")
    assert [r["trigger"] for r in runs[:2]] == ["schedule", "schedule"]
    assert all(r["status"] == "ok" for r in runs), runs
