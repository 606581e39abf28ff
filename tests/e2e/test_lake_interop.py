"""End-to-end tests of the history path (src/lake, src/warehouse) against the
real binary: the lake read by independent readers (pyarrow, pandas) as a
Hive-partitioned dataset, exactly-once under kill -9, duplicates beyond the
dedup window and late events in the right partition, the T+1 contract
(_SUCCESS), the tiered /v1/query, its refusals, and backfill + audit query.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds
import requests

from conftest import run_cli
from events import encode, make_event, make_session_events, new_session, now_ms

DAY_MS = 86_400_000
FAST = ("--lake-roll-ms", 300, "--dedup-window-ms", 1000)


def lake_dir(server) -> Path:
    return Path(server.data_dir) / "history" / "lake"


def day_of(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(ts_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


def query(server, sql: str, tier: str = "auto", status: int = 200) -> dict:
    r = server.http.post(server.url + "/v1/query", json={"sql": sql, "tier": tier}, timeout=60)
    assert r.status_code == status, (sql, r.status_code, r.text)
    return r.json()


def post_all(server, events: list, chunk: int = 500) -> None:
    for i in range(0, len(events), chunk):
        r = server.post(events[i:i + chunk])
        assert r.status_code == 200, r.text
        assert r.json()["rejected"] == 0, r.text


def wait_for(pred, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def wait_lake_rows(server, n: int, tier: str = "cold", timeout: float = 60.0) -> None:
    """Waits until the tier holds n events (tier "hot": its window only)."""
    seen = []

    def caught_up():
        seen.append(query(server, "SELECT count(*) FROM events", tier)["rows"][0][0])
        return seen[-1] == n
    wait_for(caught_up, timeout, f"{n} rows on the {tier} tier (saw {seen[-3:]})")


def read_lake(server):
    """The lake as pyarrow reads a Hive-partitioned Parquet dataset."""
    return ds.dataset(lake_dir(server) / "events", format="parquet",
                      partitioning="hive").to_table()


def test_pyarrow_and_pandas_read_the_lake_like_viewpipe(server):
    s = server(*FAST)
    rng = random.Random(7)
    now = now_ms()
    events = []
    # Sessions over the last three days (the collector takes up to 7 days),
    # a few crossing midnight UTC.
    for k in range(60):
        start = now - rng.randrange(3 * DAY_MS) - 3_600_000
        events += make_session_events(rng, n=rng.randrange(10, 60), start_ts=start)
    midnight = (now // DAY_MS) * DAY_MS
    events += make_session_events(rng, n=30, start_ts=midnight - 60_000)
    post_all(s, events)
    wait_lake_rows(s, len(events))

    agg = ("SELECT count(*), count(DISTINCT event_id), sum(bitrate_kbps), sum(position_ms), "
           "sum(startup_ms), count(experiments) FROM events")
    cold = query(s, agg, "cold")
    # The hot tier loads what its path polled at each checkpoint (1 s) or
    # once caught up, so it may be a moment behind the lake's commit.
    deadline = time.time() + 10
    auto = query(s, agg)
    while auto["rows"] != cold["rows"] and time.time() < deadline:
        time.sleep(0.2)
        auto = query(s, agg)
    assert cold["rows"] == auto["rows"]
    per_day = query(s, "SELECT CAST(event_date AS VARCHAR), count(*) FROM events GROUP BY 1 "
                       "ORDER BY 1", "cold")["rows"]
    s.stop()

    table = read_lake(s)
    n, distinct, kbps, pos, startup, with_exp = cold["rows"][0]
    assert table.num_rows == n == len(events)
    assert len(pc.unique(table["event_id"])) == distinct == n
    assert pc.sum(table["bitrate_kbps"]).as_py() == kbps
    assert pc.sum(table["position_ms"]).as_py() == pos
    assert pc.sum(table["startup_ms"]).as_py() == startup
    assert table.num_rows - table["experiments"].null_count == with_exp
    # Event-time partitions: each event in the day and hour of its ts.
    df = table.select(["event_id", "ts", "event_date", "hour"]).to_pandas()
    ts = pd.to_datetime(df["ts"], unit="ms", utc=True)
    assert (df["event_date"].astype(str) == ts.dt.strftime("%Y-%m-%d")).all()
    assert (df["hour"].astype(int) == ts.dt.hour).all()
    assert set(df["event_id"]) == {e["event_id"] for e in events}
    assert sorted(df.groupby(df["event_date"].astype(str)).size().items()) == \
        [(d, c) for d, c in per_day]
    # pandas over the same directory agrees.
    pdf = pd.read_parquet(lake_dir(s) / "events", engine="pyarrow")
    assert len(pdf) == n and int(pdf["bitrate_kbps"].sum()) == kbps


def test_duplicates_beyond_the_dedup_window_and_late_events_land_once(server):
    s = server(*FAST)
    rng = random.Random(11)
    now = now_ms()
    sess = new_session(rng)
    today = make_event("heartbeat", rng=rng, ts=now - 60_000, session=sess)
    late = make_event("heartbeat", rng=rng, ts=now - 5 * DAY_MS, session=sess)  # a device offline 5 days
    post_all(s, [today, late])
    wait_lake_rows(s, 2)
    # Past the collector's 1 s dedup window: the index keeps expiries in
    # whole seconds, rounded up (dedup_index.h), so an id is forgotten
    # between 1 and 2 s after it was accepted.
    time.sleep(2.1)
    r = s.post([today, late])
    assert r.status_code == 200 and r.json()["duplicates"] == 0, r.text  # the collector forgot them
    post_all(s, [make_event("heartbeat", rng=rng, session=sess)])
    wait_lake_rows(s, 3)
    wait_lake_rows(s, 3, "hot")
    rows = query(s, "SELECT event_id, CAST(event_date AS VARCHAR), count(*) FROM events "
                    "WHERE event_id IN ('%s', '%s') GROUP BY ALL ORDER BY 2"
                 % (today["event_id"], late["event_id"]), "cold")["rows"]
    assert rows == sorted([[late["event_id"], day_of(late["ts"]), 1],
                           [today["event_id"], day_of(today["ts"]), 1]], key=lambda r: r[1])
    s.stop()
    table = read_lake(s)
    assert table.num_rows == 3
    df = table.to_pandas()
    assert df["event_id"].value_counts().max() == 1
    assert str(df[df["event_id"] == late["event_id"]]["event_date"].iloc[0]) == day_of(late["ts"])


def test_kill9_under_load_leaves_every_accepted_event_once(server):
    s = server("--lake-roll-ms", 200)
    rng = random.Random(3)
    batches = []
    for _ in range(400):  # enough that a quiet machine is still loading at the third kill
        evs = []
        while len(evs) < 200:
            evs += make_session_events(rng, n=rng.randrange(5, 40))
        batches.append(evs[:200])
    sent_ids = {e["event_id"] for b in batches for e in b}
    pending = list(range(len(batches)))
    stop = threading.Event()

    def client():
        while pending and not stop.is_set():
            i = pending[0]
            try:
                body, headers = encode(batches[i])
                headers["Authorization"] = "Bearer e2e-write-key"
                r = requests.post(s.url + "/v1/events", data=body, headers=headers, timeout=10)
                if r.status_code == 200:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.05)  # server down: retry the same batch (dedup makes it safe)

    t = threading.Thread(target=client)
    t.start()
    kills_under_load = 0
    for k in range(3):
        left = len(pending)
        wait_for(lambda: len(pending) < left - 10 or not pending, 60, "progress")
        time.sleep(random.Random().uniform(0.01, 0.15))
        kills_under_load += bool(pending)
        s.kill9()
        s.start()
    t.join(120)
    stop.set()
    assert not pending, f"{len(pending)} batches never accepted"
    assert kills_under_load >= 2, "the load ended before the kills"
    wait_lake_rows(s, len(sent_ids), "cold", 90)
    wait_lake_rows(s, len(sent_ids), "hot", 90)
    s.stop()
    table = read_lake(s)
    ids = table["event_id"].to_pylist()
    assert len(ids) == len(set(ids)) == len(sent_ids)
    assert set(ids) == sent_ids


def test_t1_reader_waiting_for_success_gets_the_complete_day(server):
    s = server("--lake-roll-ms", 300, "--lake-seal-grace-ms", 1000)
    rng = random.Random(5)
    now = now_ms()
    yday_start = (now // DAY_MS - 1) * DAY_MS
    yday = day_of(yday_start)
    events = []
    while len(events) < 800:
        events += make_session_events(rng, n=40, start_ts=yday_start + rng.randrange(DAY_MS - 3_600_000))
    events = [e for e in events if day_of(e["ts"]) == yday][:800]
    r = s.post(events)  # one request: appended to the log at once
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text
    day = lake_dir(s) / "events" / f"event_date={yday}"

    # The T+1 reader: waits for _SUCCESS, then reads the directory as is.
    success = wait_for(lambda: (day / "_SUCCESS").exists(), 60, "_SUCCESS")
    assert success
    marker = json.loads((day / "_SUCCESS").read_text())
    table = ds.dataset(day, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(events) == marker["rows"]
    assert set(table["event_id"].to_pylist()) == {e["event_id"] for e in events}
    manifest = json.loads((day / marker["manifest"]).read_text())
    assert manifest["sealed"] and manifest["rows"] == len(events)
    assert sum(f["rows"] for f in manifest["files"]) == len(events)
    assert {Path(f["key"]).name for f in manifest["files"]} == \
        {p.name for p in day.glob("hour=*/*.parquet")}

    # A late event after the seal: written, a new version, reported.
    late = make_event("heartbeat", rng=rng, ts=yday_start + 3_600_000)
    post_all(s, [late])
    wait_for(lambda: json.loads((day / "_SUCCESS").read_text())["rows"] == len(events) + 1, 30,
             "the re-sealed day")
    status = s.get("/v1/lake?days=3").json()
    entry = next(d for d in status["recent"] if d["event_date"] == yday)
    assert entry["sealed"] and entry["late_events"] == 1 and entry["max_lateness_ms"] > 0


def test_query_is_read_only_with_clear_400s(server, viewpipe_bin):
    s = server(*FAST)
    post_all(s, [make_event("heartbeat")])
    refused = [
        "INSERT INTO events SELECT * FROM events",
        "DELETE FROM events",
        "DROP TABLE vp.events",
        "CREATE TABLE x AS SELECT 1",
        "COPY (SELECT * FROM events) TO '/tmp/viewpipe-leak.csv'",
        "ATTACH '/tmp/viewpipe-other.duckdb' AS o",
        "SET enable_external_access = true",
        "PRAGMA threads = 1",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM vp.offsets",
        "SELECT 1; DROP TABLE vp.events",
    ]
    for sql in refused:
        body = query(s, sql, status=400)
        assert body["error"], sql
    assert s.post_body(b"{not json", {"Content-Type": "application/json"},
                       path="/v1/query").status_code == 400
    assert not Path("/tmp/viewpipe-leak.csv").exists()
    # The data is still there and queryable.
    wait_lake_rows(s, 1, "hot")
    s.stop()
    # The CLI refuses the same, offline, with a non-zero exit.
    r = subprocess.run([str(viewpipe_bin), "query", "--data-dir", str(s.data_dir),
                        "COPY (SELECT 1) TO '/tmp/viewpipe-leak.csv'"], capture_output=True)
    assert r.returncode != 0 and b"read-only" in r.stderr
    out = run_cli(viewpipe_bin, "query", "--data-dir", s.data_dir, "--json",
                  "SELECT count(*) FROM events")
    assert json.loads(out)["rows"] == [[1]]


def test_backfill_then_audit_query_reads_only_that_day(server, viewpipe_bin, tmp_path):
    data = tmp_path / "backfilled"
    out = run_cli(viewpipe_bin, "backfill", "--data-dir", data, "--days", 40,
                  "--events-per-day", 1500, "--zstd-level", 3, timeout=300)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["days"] == 40 and summary["events"] > 40 * 500
    # Resumable: a second run finds every day done.
    again = json.loads(run_cli(viewpipe_bin, "backfill", "--data-dir", data, "--days", 40,
                               "--events-per-day", 1500).strip().splitlines()[-1])
    assert again["skipped_days"] == 40 and again["events"] == 0

    s = server(data_dir=data)
    old_day = day_of(now_ms() - 35 * DAY_MS)
    a = query(s, "SELECT count(*), count(DISTINCT session_id) FROM events "
                 f"WHERE event_date = '{old_day}'")
    assert a["tier"] == "cold" and a["days_scanned"] == 1
    lake = s.get("/v1/lake?days=40").json()
    entry = next(d for d in lake["recent"] if d["event_date"] == old_day)
    assert a["files_scanned"] == entry["files"]
    assert a["rows"][0][0] == entry["rows"]
    assert a["bytes_scanned"] < lake["bytes"] / 30
    # The same SQL on the hot tier and on the lake for the last days.
    recent = day_of(now_ms() - 3 * DAY_MS)
    sql = ("SELECT country, device_type, count(*), sum(bitrate_kbps) FROM events "
           f"WHERE event_date >= '{recent}' GROUP BY ALL ORDER BY ALL")
    hot = query(s, sql)
    assert hot["tier"] == "hot"
    assert hot["rows"] == query(s, sql, "cold")["rows"]
    cost = s.get("/v1/cost").json()
    assert cost["lake"]["rows"] == lake["rows"]
    assert cost["queries"]["count"] >= 3
    assert cost["one_hot_warehouse"]["monthly_usd"] > cost["lake"]["monthly_usd"]


# ------------------------------------------------ the README's Athena and Trino tables

README = Path(__file__).resolve().parents[2] / "README.md"
ARROW_TO_SQL = {  # arrow type as pyarrow prints it -> (Athena/Hive, Trino)
    "string": ("string", "varchar"), "int64": ("bigint", "bigint"),
    "int32": ("int", "integer"), "bool": ("boolean", "boolean"),
    "map<string, string ('experiments')>": ("map<string,string>", "map(varchar, varchar)"),
}


def _sql_block_after(text: str, marker: str) -> str:
    start = text.index("```sql", text.index(marker)) + len("```sql")
    return text[start:text.index("```", start)]


def _split_top(s: str) -> list[str]:
    """s split at the commas outside (), <> and ''."""
    out, depth, quoted, cur = [], 0, False, ""
    for ch in s:
        quoted ^= ch == "'"
        if not quoted:
            depth += ch in "(<"
            depth -= ch in ")>"
        if ch == "," and depth == 0 and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return out + [cur.strip()] if cur.strip() else out


def _parens_after(s: str, keyword: str) -> str:
    """The text inside the parentheses that open right after keyword."""
    i = s.index("(", s.index(keyword))
    depth = 0
    for j in range(i, len(s)):
        depth += s[j] == "("
        depth -= s[j] == ")"
        if depth == 0:
            return s[i + 1:j]
    raise AssertionError(f"unbalanced parentheses after {keyword}")


def _columns(block: str) -> list[tuple[str, str]]:
    return [tuple(c.split(None, 1)) for c in _split_top(" ".join(block.split()))]


def test_readme_athena_and_trino_tables_match_the_lake_files(server):
    """The README's table definitions name every column of every lake file,
    in order, with the engine's type for the file's type; the partition
    columns and their formats match the folders viewpipe writes; both point
    at the same `events/` prefix."""
    s = server(*FAST)
    rng = random.Random(13)
    events = []
    for _ in range(20):
        events += make_session_events(rng, n=rng.randrange(10, 40),
                                      start_ts=now_ms() - rng.randrange(2 * DAY_MS) - 3_600_000)
    post_all(s, events)
    wait_lake_rows(s, len(events))
    s.stop()
    root = lake_dir(s) / "events"
    files = sorted(root.rglob("*.parquet"))
    assert files
    import pyarrow.parquet as pq
    schemas = {str(pq.read_schema(f).remove_metadata()) for f in files}
    assert len(schemas) == 1, schemas
    schema = pq.read_schema(files[0])
    file_cols = [(f.name, ARROW_TO_SQL[str(f.type)]) for f in schema]

    text = README.read_text()
    athena = _sql_block_after(text, "Athena (partition projection")
    trino = _sql_block_after(text, "Trino (Hive connector")

    # Athena: the columns, then the partition columns.
    cols = _columns(_parens_after(athena, "CREATE EXTERNAL TABLE"))
    assert cols == [(n, t[0]) for n, t in file_cols]
    assert _columns(_parens_after(athena, "PARTITIONED BY")) == [("event_date", "date"),
                                                                  ("hour", "int")]
    location = re.search(r"LOCATION '([^']+)'", athena).group(1)
    props = dict(re.findall(r"'([^']+)' = '([^']+)'", athena))
    assert props["storage.location.template"] == \
        location + "event_date=${event_date}/hour=${hour}/"
    assert props["projection.event_date.format"] == "yyyy-MM-dd"
    assert props["projection.hour.range"] == "0,23" and props["projection.hour.digits"] == "2"

    # Trino: the same columns with the partition columns last.
    cols = _columns(_parens_after(trino, "CREATE TABLE"))
    assert cols == [(n, t[1]) for n, t in file_cols] + [("event_date", "date"),
                                                        ("hour", "integer")]
    assert "partitioned_by = ARRAY['event_date', 'hour']" in trino
    assert re.search(r"external_location = '([^']+)'", trino).group(1) == location
    assert location.endswith("/events/")

    # The folders: events/event_date=YYYY-MM-DD/hour=HH/<file>.parquet, the
    # date the projection's format, the hour two digits in 0..23.
    for f in files:
        day, hour, _ = f.relative_to(root).parts
        assert re.fullmatch(r"event_date=\d{4}-\d{2}-\d{2}", day), f
        dt.date.fromisoformat(day.split("=")[1])
        assert re.fullmatch(r"hour=\d{2}", hour) and 0 <= int(hour[5:]) <= 23, f
