"""viewpipe at scale (docs/scale.md): `viewpipe serve --config` on a real
Apache Kafka broker (KRaft, scripts/kafka.sh) and an S3-compatible server
(moto's server mode). Events posted to the collector must be in Kafka
(end offsets, read with Kafka's own GetOffsetShell) and end up in the S3
lake (read back by pyarrow's own S3 filesystem); a broker that stops
answering turns the collector's answers into 503 + Retry-After, and
traffic resumes when it is back.

The servers come from the environment when scripts/test.sh started them
(VP_KAFKA_BROKERS + VP_KAFKA_DIR, VP_S3_ENDPOINT); otherwise this module
starts its own. Skipped, loudly, only when one cannot be started."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
import requests

from conftest import REPO, free_port
from events import make_session_events, now_ms

S3_KEY = "scale-test"


def _loud_skip(what: str, why: str):
    msg = f"\n\n*** SCALE E2E SKIPPED: cannot start {what}: {why} ***\n"
    print(msg, file=sys.stderr)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    """(bootstrap address, broker dir holding kafka.pid)."""
    if os.environ.get("VP_KAFKA_BROKERS") and os.environ.get("VP_KAFKA_DIR"):
        yield os.environ["VP_KAFKA_BROKERS"], Path(os.environ["VP_KAFKA_DIR"])
        return
    d = tmp_path_factory.mktemp("kafka")
    port = free_port()
    r = subprocess.run([str(REPO / "scripts/kafka.sh"), "start", str(d), str(port)],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        _loud_skip("a Kafka broker", r.stderr[-2000:])
    try:
        yield f"127.0.0.1:{port}", d
    finally:
        subprocess.run([str(REPO / "scripts/kafka.sh"), "stop", str(d)], timeout=60)


@pytest.fixture(scope="module")
def s3():
    if os.environ.get("VP_S3_ENDPOINT"):
        yield os.environ["VP_S3_ENDPOINT"]
        return
    port = free_port()
    launcher = Path(__file__).resolve().parent.parent / "s3_server.py"
    proc = subprocess.Popen([sys.executable, str(launcher), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                _loud_skip("moto's S3 server", "tests/s3_server.py (moto) exited")
            time.sleep(0.2)
    else:
        proc.kill()
        _loud_skip("moto's S3 server", "not listening after 30 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def end_offsets(brokers: str, topic: str) -> dict[int, int]:
    """End offset per partition, as Kafka's own tool reports it."""
    r = subprocess.run([str(REPO / "scripts/kafka.sh"), "run", "org.apache.kafka.tools.GetOffsetShell",
                        "--bootstrap-server", brokers, "--topic", topic],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.split():
        m = re.fullmatch(rf"{re.escape(topic)}:(\d+):(\d+)", line.strip())
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


def write_config(tmp_path: Path, brokers: str, endpoint: str, bucket: str) -> Path:
    p = tmp_path / "scale.toml"
    p.write_text(f"""
[log]
backend = "kafka"
brokers = "{brokers}"
topic_prefix = "{bucket}."   # each test on its own topics and groups
group_prefix = "{bucket}."
delivery_timeout_ms = 3000

[lake]
uri = "s3://{bucket}/lake"
endpoint = "{endpoint}"
create_bucket = true
""")
    return p


@pytest.fixture
def scale_server(server, kafka, s3, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEY)
    bucket = "vp-" + uuid.uuid4().hex[:12]
    cfg = write_config(tmp_path, kafka[0], s3, bucket)
    s = server("--config", cfg, "--lake-roll-ms", 300, "--dedup-window-ms", 600000)
    return s, bucket


def read_s3_lake(endpoint: str, bucket: str):
    fs = pafs.S3FileSystem(access_key=S3_KEY, secret_key=S3_KEY, region="us-east-1",
                           endpoint_override=endpoint.replace("http://", ""), scheme="http")
    return ds.dataset(f"{bucket}/lake/events", filesystem=fs, format="parquet",
                      partitioning="hive").to_table()


def all_threads_stopped(pid: int) -> bool:
    """Whether every thread of process pid is stopped (state T)."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # a thread that exited
            continue
        states.append(stat[stat.rindex(")") + 2])
    return bool(states) and all(st == "T" for st in states)


def post_all(s, events, chunk=200):
    for i in range(0, len(events), chunk):
        r = s.post(events[i:i + chunk])
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == len(events[i:i + chunk]), r.text


def query_count(s, tier="cold") -> int:
    r = s.http.post(s.url + "/v1/query", json={"sql": "SELECT count(*) FROM events",
                                               "tier": tier}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["rows"][0][0]


def wait_for(pred, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what} "
                         f"(last {last!r})")


def test_serve_on_kafka_and_s3_keeps_every_event(scale_server, kafka):
    s, bucket = scale_server
    brokers = kafka[0]
    topic = bucket + ".viewing"
    before = end_offsets(brokers, topic)
    assert before == {0: 0, 1: 0, 2: 0, 3: 0}  # viewpipe created the topic with 4 partitions
    rng = random.Random(9)
    events = []
    for _ in range(40):
        events += make_session_events(rng, n=rng.randrange(5, 30), start_ts=now_ms() - 3_600_000)
    post_all(s, events)

    after = end_offsets(brokers, topic)
    assert sum(after.values()) - sum(before.values()) == len(events)

    seen = []
    wait_for(lambda: seen.append(query_count(s)) or seen[-1] == len(events),
             what=lambda: f"{len(events)} events in the S3 lake (saw {seen[-5:]})")
    s.stop()
    table = read_s3_lake(_endpoint_of(s), bucket)
    ids = table.column("event_id").to_pylist()
    assert len(ids) == len(events)
    assert set(ids) == {e["event_id"] for e in events}


def _endpoint_of(s) -> str:
    cfg = Path(s.args[s.args.index("--config") + 1]).read_text()
    return re.search(r'endpoint = "([^"]+)"', cfg).group(1)


def test_broker_down_is_503_and_traffic_resumes(scale_server, kafka):
    s, bucket = scale_server
    pid = int((kafka[1] / "kafka.pid").read_text())
    rng = random.Random(11)
    first = make_session_events(rng, n=50, start_ts=now_ms() - 600_000)
    post_all(s, first)

    os.kill(pid, signal.SIGSTOP)  # the broker stops answering (a hung or cut-off broker)
    try:
        # A thread stops when it next enters the kernel: on a loaded VM one
        # that is running may go on for a while. Post only once every thread
        # of the broker is stopped, so that what answers is not the broker.
        wait_for(lambda: all_threads_stopped(pid), timeout=10, what="the broker's threads to stop")
        down = make_session_events(rng, n=20, start_ts=now_ms() - 300_000)
        t0 = time.monotonic()
        r = s.post(down)
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
        assert time.monotonic() - t0 < 20
    finally:
        os.kill(pid, signal.SIGCONT)

    # The player retries the refused batch; once the broker answers again it lands.
    def retried():
        r = s.post(down)
        return r.status_code == 200
    wait_for(retried, timeout=60, what="the collector to take events again")
    later = make_session_events(rng, n=30, start_ts=now_ms() - 100_000)
    post_all(s, later)
    sent = first + down + later
    seen = []
    wait_for(lambda: seen.append(query_count(s)) or seen[-1] == len(sent),
             what=lambda: f"{len(sent)} events once in the lake (saw {seen[-5:]})")
    s.stop()
    table = read_s3_lake(_endpoint_of(s), bucket)
    ids = table.column("event_id").to_pylist()
    assert sorted(ids) == sorted(e["event_id"] for e in sent)  # each exactly once


def test_broker_killed_and_restarted_loses_no_acknowledged_event(server, s3, tmp_path,
                                                                   monkeypatch):
    """The broker crashes (kill -9) mid-run and comes back on its storage:
    meanwhile the collector answers 503 + Retry-After, never 200; after the
    restart the player's retry lands, traffic resumes, and every acknowledged
    event is in the lake once. On a broker of its own, so the shared one
    stays up for the other tests."""
    d = tmp_path / "kafka-crash"
    for _ in range(3):  # a port taken between free_port() and the broker's bind: another
        port = free_port()
        r = subprocess.run([str(REPO / "scripts/kafka.sh"), "start", str(d), str(port)],
                           capture_output=True, text=True, timeout=180)
        if r.returncode == 0:
            break
        subprocess.run([str(REPO / "scripts/kafka.sh"), "stop", str(d)], timeout=60)
    else:
        _loud_skip("a Kafka broker", r.stderr[-2000:])
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEY)
        bucket = "vp-" + uuid.uuid4().hex[:12]
        cfg = write_config(tmp_path, f"127.0.0.1:{port}", s3, bucket)
        s = server("--config", cfg, "--lake-roll-ms", 300, "--dedup-window-ms", 600000)
        rng = random.Random(17)
        first = make_session_events(rng, n=50, start_ts=now_ms() - 600_000)
        post_all(s, first)

        pid = int((d / "kafka.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        # Gone once its port is closed (a zombie keeps its pid, not its sockets).
        wait_for(lambda: not _port_open(port), timeout=30, what="the killed broker's port to close")
        (d / "kafka.pid").unlink()
        down = make_session_events(rng, n=20, start_ts=now_ms() - 300_000)
        r = s.post(down)
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0

        r = subprocess.run([str(REPO / "scripts/kafka.sh"), "restart", str(d)],
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stderr[-2000:]
        wait_for(lambda: s.post(down).status_code == 200, timeout=90,
                 what="the collector to take the refused batch once the broker is back")
        later = make_session_events(rng, n=30, start_ts=now_ms() - 100_000)
        post_all(s, later)
        sent = first + down + later
        # The restarted broker kept its log (a refused batch may have landed
        # in part before its retry: duplicates are dropped downstream).
        assert sum(end_offsets(f"127.0.0.1:{port}", bucket + ".viewing").values()) >= len(sent)
        seen = []
        wait_for(lambda: seen.append(query_count(s)) or seen[-1] == len(sent), timeout=120,
                 what=lambda: f"{len(sent)} events once in the lake (saw {seen[-5:]})")
        s.stop()
        ids = read_s3_lake(_endpoint_of(s), bucket).column("event_id").to_pylist()
        assert sorted(ids) == sorted(e["event_id"] for e in sent)  # each exactly once
    finally:
        subprocess.run([str(REPO / "scripts/kafka.sh"), "stop", str(d)], timeout=60)


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_consume_runs_the_ops_path_as_its_own_process(scale_server, viewpipe_bin, tmp_path):
    """`viewpipe consume --path ops` on the same topics (its own consumer group)
    counts what the ops path inside `serve` counts, and after kill -9 and a
    restart it resumes from its checkpoint and Kafka's committed offsets
    with the same counts."""
    s, bucket = scale_server
    cfg = Path(s.args[s.args.index("--config") + 1]).read_text()
    consume_cfg = tmp_path / "consume.toml"
    consume_cfg.write_text(cfg.replace(f'group_prefix = "{bucket}."',
                                       f'group_prefix = "{bucket}-consume."'))
    port = free_port()
    cmd = [str(viewpipe_bin), "consume", "--path", "ops", "--config", str(consume_cfg),
           "--data-dir", str(tmp_path / "consume-data"), "--listen", f"127.0.0.1:{port}"]
    log = open(tmp_path / "consume.log", "ab")

    def start():
        p = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        wait_for(lambda: _ready(port) or p.poll() is not None, timeout=60, what="consume ready")
        assert p.poll() is None, (tmp_path / "consume.log").read_text()[-2000:]
        return p

    def concurrency(url):
        r = requests.get(url + "/v1/ops/concurrency?by=country", timeout=10)
        if r.status_code == 503:  # the path has seen no event yet
            return None
        assert r.status_code == 200, r.text
        d = r.json()
        d.pop("as_of", None)
        return d

    proc = start()
    try:
        rng = random.Random(5)
        events = []
        # An hour ago: old data is not moved by the wall clock (docs/ops.md),
        # so the counts stay put while the test kills and restarts.
        t0 = now_ms() - 3_600_000
        for _ in range(25):
            events += make_session_events(rng, n=6, start_ts=t0 + rng.randrange(20_000))
        post_all(s, events)
        # Settled: the first non-empty read can be taken while serve's ops path
        # is still consuming the batch, so wait for two equal reads 1.5 s apart.
        def settled():
            first = concurrency(s.url)
            time.sleep(1.5)
            return first if first and first.get("total", 0) > 0 and \
                concurrency(s.url) == first else None
        want = wait_for(settled, what="settled ops counts in serve")
        other = f"http://127.0.0.1:{port}"
        wait_for(lambda: concurrency(other) == concurrency(s.url) == want, timeout=60,
                 what=lambda: f"consume to agree with serve ({concurrency(other)} vs {want})")
        time.sleep(1)
        assert concurrency(s.url) == want  # settled, not a moment in a moving count
        assert requests.post(other + "/v1/events", data=b"{}", timeout=5).status_code != 200
        # kill -9 after its first checkpoint: the restart resumes from the
        # checkpoint and the group's committed offsets in Kafka.
        ckpt = tmp_path / "consume-data" / "ops" / "shared" / "ops" / "partitions" / "0" / \
            "checkpoint"  # the ops group's checkpoint of partition 0 (docs/scale.md)
        wait_for(ckpt.exists, timeout=40, what="the consume process's ops checkpoint")
        proc.kill()
        proc.wait()
        proc = start()
        wait_for(lambda: concurrency(other) == concurrency(s.url) == want, timeout=60,
                 what=lambda: f"the restarted consume to agree ({concurrency(other)} vs {want})")
    finally:
        proc.kill()
        proc.wait()


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


# ---------------------------------------------------------------- several processes per path

def _metric(url: str, name: str) -> float:
    text = requests.get(url + "/metrics", timeout=10).text
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


class _Consumer:
    """One `viewpipe consume --path X` process."""

    def __init__(self, viewpipe_bin, path: str, cfg: Path, data_dir: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.cmd = [str(viewpipe_bin), "consume", "--path", path, "--config", str(cfg),
                    "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{self.port}"]
        self.proc = None

    def start(self, wait_ready: bool = True):
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        if wait_ready:
            wait_for(lambda: _ready(self.port) or self.proc.poll() is not None, timeout=90,
                     what="consume ready")
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _group_config(s, bucket: str, tmp_path: Path, name: str, extra: str = "") -> Path:
    cfg = Path(s.args[s.args.index("--config") + 1]).read_text()
    p = tmp_path / f"{name}.toml"
    p.write_text(cfg.replace(f'group_prefix = "{bucket}."', f'group_prefix = "{bucket}-{name}."')
                 + extra)
    return p


def wait_ops_complete(url: str, seconds: list[dict]) -> None:
    """Until the merged counts at url have completed the truth's last second."""
    def as_of():
        r = requests.get(url + "/v1/ops/concurrency", timeout=30)
        return r.status_code == 200 and r.json()["as_of"] >= seconds[-1]["at"]
    wait_for(as_of, timeout=120, what="the merged counts to reach the end of the run")


def assert_ops_equal_truth(url: str, seconds: list[dict]) -> float:
    """/v1/ops/concurrency?at= read from url equals the simulator's truth for
    every second and every value of every dimension, and the series equals
    its totals. Returns the milliseconds per at= read."""
    from test_ops_truth import DIMS
    mismatches = []
    t_reads = time.monotonic()
    for line in seconds:
        for dim in DIMS:
            r = requests.get(url + "/v1/ops/concurrency",
                             params={"at": line["at"], "by": dim, "top": 10**6}, timeout=30)
            assert r.status_code == 200, r.text
            got = r.json()
            groups = {g["key"]: g["viewers"] for g in got["groups"]}
            if got["as_of"] != line["at"] or got["total"] != line["total"] or groups != line[dim]:
                mismatches.append((line["at"], dim, line["total"], got["total"]))
    assert not mismatches, f"{len(mismatches)} (second, dimension) pairs differ: {mismatches[:10]}"
    ms_per_read = (time.monotonic() - t_reads) * 1000 / (len(seconds) * len(DIMS))
    r = requests.get(url + "/v1/ops/concurrency/series",
                     params={"from": seconds[0]["at"], "to": seconds[-1]["at"], "step": 1000},
                     timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["points"] == [[x["at"], x["total"]] for x in seconds]
    return ms_per_read


def test_two_ops_processes_stay_exact_when_one_is_killed(scale_server, viewpipe_bin, tmp_path,
                                                         monkeypatch):
    """Issue 9's end-to-end test: the simulator against the collector on Kafka,
    two `consume --path ops` processes sharing the partitions of `viewing`
    (state and member list in S3), kill -9 of one mid-run. Read from the
    survivor, /v1/ops/concurrency (at=, every dimension) and the series equal
    the simulator's ground truth for every second; the lake has every
    accepted event once."""
    from test_ops_truth import DIMS, finish, sim_command, truth_seconds
    monkeypatch.setenv("VIEWPIPE_OPS_CHECKPOINT_INTERVAL_MS", "500")
    s, bucket = scale_server
    cfg = _group_config(s, bucket, tmp_path, "opsgroup",
                        f'\n[ops]\nstate_uri = "s3://{bucket}/ops-state"\n')
    a = _Consumer(viewpipe_bin, "ops", cfg, tmp_path / "a", tmp_path / "a.log").start()
    b = _Consumer(viewpipe_bin, "ops", cfg, tmp_path / "b", tmp_path / "b.log").start()
    try:
        owned = "viewpipe_ops_partitions_owned"
        wait_for(lambda: _metric(a.url, owned) == 2 and _metric(b.url, owned) == 2, timeout=60,
                 what=lambda: f"2 + 2 partitions ({_metric(a.url, owned)}, {_metric(b.url, owned)})")
        cmd, truth = sim_command(viewpipe_bin, s, tmp_path, seed=21)
        sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # kill -9 of b in the middle of the run, once it has counted a good part.
        wait_for(lambda: _metric(b.url, "viewpipe_ops_events_total") > 8000 or sim.poll() is not None,
                 timeout=120, what="b to count events")
        assert sim.poll() is None, "the sim ended before the kill"
        handovers = 'viewpipe_ops_partition_handovers_total{outcome="checkpoint"}'
        before = _metric(a.url, handovers)
        b.kill()
        killed_at = time.monotonic()
        # Until its partitions are handed over, the survivor says so instead of undercounting.
        r = requests.get(a.url + "/v1/ops/concurrency", timeout=30)
        assert r.status_code == 503, r.text
        assert "have no live owner" in r.json()["error"], r.text
        wait_for(lambda: requests.get(a.url + "/v1/ops/concurrency", timeout=30).status_code == 200,
                 timeout=90, what="the merged counts after the hand-over")
        handover_s = time.monotonic() - killed_at
        summary = finish(sim)
        seconds = truth_seconds(truth)
        wait_for(lambda: _metric(a.url, owned) == 4, timeout=60, what="a to own all partitions")
        assert _metric(a.url, handovers) >= before + 2  # b's two, from its S3 checkpoints
        wait_ops_complete(a.url, seconds)
        ms_per_read = assert_ops_equal_truth(a.url, seconds)
        print(f"\nops group: kill -9 to exact merged reads again {handover_s:.1f} s; "
              f"{len(seconds) * len(DIMS)} merged at= reads, {ms_per_read:.1f} ms each")
        # live=1: the running second, provisional; once complete, at= agrees.
        live = requests.get(a.url + "/v1/ops/concurrency",
                            params={"live": 1, "by": "country", "top": 10**6}, timeout=30).json()
        assert "complete" in live, live

        def complete_through(ms):
            r = requests.get(a.url + "/v1/ops/concurrency", timeout=30)
            return r.status_code == 200 and r.json()["as_of"] >= ms
        wait_for(lambda: complete_through(live["as_of"]), timeout=60, what="the live second to complete")
        later = requests.get(a.url + "/v1/ops/concurrency",
                             params={"at": live["as_of"], "by": "country", "top": 10**6}, timeout=30).json()
        assert (later["total"], later["groups"]) == (live["total"], live["groups"])
        # The merged stream sends whole seconds that agree with at=.
        with requests.get(a.url + "/v1/ops/stream", stream=True, timeout=30) as st:
            data = next(line for line in st.iter_lines(decode_unicode=True)
                        if line and line.startswith("data: "))
        ev = __import__("json").loads(data[len("data: "):])
        r = requests.get(a.url + "/v1/ops/concurrency", params={"at": ev["as_of"]}, timeout=30)
        assert r.json()["total"] == ev["total"]

        # The lake (serve's, on S3) has every accepted event once.
        seen = []
        wait_for(lambda: seen.append(query_count(s)) or seen[-1] == summary["accepted"],
                 timeout=120, what=lambda: f"{summary['accepted']} events in the lake ({seen[-3:]})")
    finally:
        a.kill()
        b.kill()
    s.stop()
    ids = read_s3_lake(_endpoint_of(s), bucket).column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == summary["accepted"]


def test_a_second_process_of_a_one_state_path_is_refused(scale_server, viewpipe_bin, tmp_path):
    """Paths that keep one state for all partitions (hot; features on
    RocksDB) run as one process: a second `consume` of one of them exits
    with an error naming the group, instead of splitting the partitions and
    writing twice. (sre is not refused any more: test_scale_sre_group.py.)"""
    s, bucket = scale_server
    cfg = _group_config(s, bucket, tmp_path, "single")
    first = _Consumer(viewpipe_bin, "features", cfg, tmp_path / "f1", tmp_path / "f1.log").start()
    try:
        second = _Consumer(viewpipe_bin, "features", cfg, tmp_path / "f2", tmp_path / "f2.log")
        second.start(wait_ready=False)
        assert second.proc.wait(timeout=60) == 2
        text = second.log.read_text()
        assert f"consumer group {bucket}-single.features already has 1 member(s)" in text, \
            text[-2000:]
        assert first.proc.poll() is None
    finally:
        first.kill()
    # serve runs the hot tier itself: a consume of it on the same groups is
    # refused (the lake path's processes share their group instead:
    # test_scale_lake_group.py).
    hot_cfg = Path(s.args[s.args.index("--config") + 1])
    hot = _Consumer(viewpipe_bin, "hot", hot_cfg, tmp_path / "hot", tmp_path / "hot.log")
    hot.start(wait_ready=False)
    assert hot.proc.wait(timeout=60) == 2
    assert f"consumer group {bucket}.hot already has" in hot.log.read_text()
