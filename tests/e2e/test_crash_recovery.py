"""Acceptance test of the collector's durability and idempotency
(events.md, Durability): 200,000 events from 4 concurrent clients while the
server is killed with SIGKILL at random moments and restarted on the same
data dir. Every acknowledged event must be stored exactly once, every
invalid one dead-lettered, and nothing else.

Run twice: the clients post to the main (cpp-httplib) port, and to the
event-loop port (`serve --fast-port`, docs/fast_port.md).

Knobs (environment): VP_CRASH_SEED replays a run; VP_CRASH_EVENTS scales it.
"""

from __future__ import annotations

import collections
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from conftest import free_port
from events import (INVALID_KINDS, QOE_TYPES, compact, encode, make_invalid,
                    make_session_events, stored_mismatch)

N_CLIENTS = 4
BATCH = 500
INVALID_PER_BATCH = 5          # 1 %
DUP_OWN, DUP_SAME, DUP_OTHER = 10, 3, 2   # 3 % re-sent event_ids
FRESH_PER_BATCH = BATCH - INVALID_PER_BATCH - DUP_OWN - DUP_SAME - DUP_OTHER
RESEND_SHARE = 0.03            # batches posted again whole after their 200
KILLS = 12                     # planned; at least MIN_KILLS must happen
STARTUP_KILLS = 3              # of those, followed by a kill during the restart's recovery
MIN_KILLS = 5
POST_DEADLINE_S = 150
FORMATS = (("json", False), ("ndjson", False), ("json", True), ("ndjson", True))


@dataclass
class Batch:
    client: int
    seq: int
    items: list                 # events as sent, in order
    invalid: dict               # index -> (field the reason names)
    guaranteed_dups: int        # copies of ids acknowledged before, or earlier in this batch
    resend: bool
    fmt: str = "json"
    gzip: bool = False
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    attempts: int = 0           # POSTs sent (a crashed one may still have stored)
    failed_attempts: int = 0    # connection errors and 503s
    responses: list = field(default_factory=list)  # the 200 bodies, in order

    @property
    def n_valid(self):
        return len(self.items) - len(self.invalid)


def build_batches(rng: random.Random, n_events: int, write_key: str) -> list[Batch]:
    n_batches = max(N_CLIENTS, n_events // BATCH)
    fresh: list[dict] = []
    while len(fresh) < n_batches * FRESH_PER_BATCH:
        fresh += make_session_events(rng, n=rng.randrange(10, 41))
    chunks = [fresh[i * FRESH_PER_BATCH:(i + 1) * FRESH_PER_BATCH] for i in range(n_batches)]
    kinds = sorted(INVALID_KINDS)
    batches: list[Batch] = []
    for b, chunk in enumerate(chunks):
        client, seq = b % N_CLIENTS, b // N_CLIENTS
        own_earlier = [c for i, c in enumerate(chunks[:b]) if i % N_CLIENTS == client]
        others = [c for i, c in enumerate(chunks) if i % N_CLIENTS != client]
        extras = []  # (item, invalid field or None)
        for _ in range(INVALID_PER_BATCH):
            e, fld = make_invalid(rng.choice(kinds), rng)
            extras.append((e, fld))
        n_own = DUP_OWN if own_earlier else 0
        extras += [(rng.choice(rng.choice(own_earlier)), None) for _ in range(n_own)]
        n_same = DUP_SAME + (DUP_OWN - n_own)
        extras += [(rng.choice(chunk), None) for _ in range(n_same)]
        extras += [(rng.choice(rng.choice(others)), None) for _ in range(DUP_OTHER)]
        items: list = [(e, None) for e in chunk]
        for x in extras:
            items.insert(rng.randrange(len(items) + 1), x)
        batch = Batch(client, seq, [e for e, _ in items],
                      {i: f for i, (_, f) in enumerate(items) if f is not None},
                      n_own + n_same, rng.random() < RESEND_SHARE)
        batch.fmt, batch.gzip = rng.choice(FORMATS)
        batch.body, batch.headers = encode(batch.items, batch.fmt, batch.gzip)
        batch.headers["Authorization"] = f"Bearer {write_key}"
        batches.append(batch)
    return batches


class Run:
    """Shared state of the clients and the killer."""

    def __init__(self, srv, rng, post_url):
        self.srv = srv
        self.post_url = post_url    # where the clients POST /v1/events
        self.rng = rng
        self.cond = threading.Condition()
        self.acked = 0              # batches (first posts) answered 200
        self.clients_done = 0
        self.kills = 0
        self.startup_kills = 0      # extra kills of a restarting server, before it was ready
        self.kills_in_flight = 0    # kills while some client had a POST outstanding
        self.in_flight = 0
        self.errors: list[str] = []
        self.abort = threading.Event()
        self.deadline = time.monotonic() + POST_DEADLINE_S

    def fail(self, msg):
        with self.cond:
            self.errors.append(msg)
            self.cond.notify_all()
        self.abort.set()


def post_until_200(run: Run, http: requests.Session, batch: Batch) -> dict | None:
    backoff = 0.01
    while not run.abort.is_set():
        if time.monotonic() > run.deadline:
            run.fail(f"client {batch.client}: batch {batch.seq} got no 200 within "
                     f"{POST_DEADLINE_S}s ({batch.attempts} attempts)")
            return None
        batch.attempts += 1
        with run.cond:
            run.in_flight += 1
        try:
            r = http.post(run.post_url or run.srv.url + "/v1/events", data=batch.body, headers=batch.headers,
                          timeout=(2, 30))
        except requests.RequestException:
            r = None
        finally:
            with run.cond:
                run.in_flight -= 1
        if r is not None and r.status_code == 200:
            body = r.json()
            batch.responses.append(body)
            return body
        if r is not None and r.status_code != 503:
            run.fail(f"client {batch.client}: batch {batch.seq} ({batch.fmt}, gzip={batch.gzip})"
                     f" got {r.status_code}: {r.text[:500]}")
            return None
        batch.failed_attempts += 1
        wait = backoff
        if r is not None:
            assert r.headers.get("Retry-After"), "503 without Retry-After"
            wait = max(wait, min(float(r.headers["Retry-After"]), 1.0))
        run.abort.wait(wait * (0.5 + run.rng.random()))
        backoff = min(backoff * 2, 0.25)
    return None


def check_response(batch: Batch, body: dict, resend: bool) -> list[str]:
    """Mismatches between a 200 body and what the batch must get."""
    bad = []
    acc, dup, rej = body.get("accepted"), body.get("duplicates"), body.get("rejected")
    if rej != len(batch.invalid) or acc + dup != batch.n_valid:
        bad.append(f"counts {acc}/{dup}/{rej} for {batch.n_valid} valid and "
                   f"{len(batch.invalid)} invalid events")
    if resend and acc != 0:
        bad.append(f"a re-post of an acknowledged batch accepted {acc} events again")
    if dup < batch.guaranteed_dups:
        bad.append(f"{dup} duplicates but {batch.guaranteed_dups} events were re-sent ids")
    errors = body.get("errors", [])
    if sorted(e.get("index") for e in errors) != sorted(batch.invalid):
        bad.append(f"error indexes {sorted(e.get('index') for e in errors)} != "
                   f"{sorted(batch.invalid)}")
    for e in errors:
        i = e.get("index")
        if i in batch.invalid:
            if e.get("event_id") != batch.items[i]["event_id"]:
                bad.append(f"error {e} names the wrong event_id")
            if batch.invalid[i] not in (e.get("error") or ""):
                bad.append(f"error {e} does not name field {batch.invalid[i]!r}")
    return [f"client {batch.client} batch {batch.seq}: {b}" for b in bad]


def client(run: Run, batches: list[Batch]):
    http = requests.Session()
    try:
        for batch in batches:
            body = post_until_200(run, http, batch)
            if body is None:
                return
            for msg in check_response(batch, body, resend=False):
                run.fail(msg)
            with run.cond:
                run.acked += 1
                run.cond.notify_all()
            if batch.resend:
                body = post_until_200(run, http, batch)
                if body is None:
                    return
                for msg in check_response(batch, body, resend=True):
                    run.fail(msg)
    except Exception as e:  # noqa: BLE001 - any client failure fails the test
        run.fail(f"client crashed: {e!r}")
    finally:
        http.close()
        with run.cond:
            run.clients_done += 1
            run.cond.notify_all()


def killer(run: Run, plan: list[tuple[int, bool]]):
    """For each (acked batches, kill again during startup) of plan: waits until
    that many batches were acknowledged, kills the server at a random moment
    after, and restarts it on the same data dir."""
    try:
        for t, during_startup in plan:
            with run.cond:
                run.cond.wait_for(lambda: run.acked >= t or run.clients_done == N_CLIENTS
                                  or run.abort.is_set())
                if run.clients_done == N_CLIENTS or run.abort.is_set():
                    return
            time.sleep(run.rng.uniform(0, 0.08))  # a random moment, not a batch boundary
            with run.cond:
                run.kills_in_flight += run.in_flight > 0
            run.srv.kill9()
            run.kills += 1
            if during_startup:
                run.srv.spawn()
                time.sleep(run.rng.uniform(0, 0.03))
                if run.srv.alive():
                    run.srv.kill9()
                    run.startup_kills += 1
            run.srv.start()
    except Exception as e:  # noqa: BLE001
        run.fail(f"killer: {e}")


@pytest.mark.parametrize("port", ["main", "fast"])
def test_crash_recovery_exactly_once(server, dump, port):
    seed = int(os.environ.get("VP_CRASH_SEED", random.randrange(1 << 30)))
    n_events = int(os.environ.get("VP_CRASH_EVENTS", 200_000))
    print(f"\ncrash test seed {seed} (VP_CRASH_SEED={seed} replays it)")
    where = f"[VP_CRASH_SEED={seed}]"
    rng = random.Random(seed)
    t_start = time.monotonic()
    fast_port = free_port()
    srv = server(*(("--fast-port", fast_port) if port == "fast" else ()), start=False)
    batches = build_batches(rng, n_events, srv.write_keys[0])
    total_items = sum(len(b.items) for b in batches)
    assert total_items >= n_events - BATCH, total_items
    srv.start()
    post_url = (f"http://127.0.0.1:{fast_port}/v1/events" if port == "fast"
                else None)
    run = Run(srv, random.Random(rng.random()), post_url)
    n_batches = len(batches)
    thresholds = sorted(rng.sample(range(n_batches // 20, n_batches * 9 // 10), KILLS))
    plan = [(t, i < STARTUP_KILLS) for i, t in enumerate(rng.sample(thresholds, KILLS))]
    plan.sort()
    per_client = [[b for b in batches if b.client == c] for c in range(N_CLIENTS)]
    t_post = time.monotonic()
    threads = [threading.Thread(target=client, args=(run, per_client[c]), daemon=True)
               for c in range(N_CLIENTS)]
    threads.append(threading.Thread(target=killer, args=(run, plan), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(POST_DEADLINE_S + 60)
    post_s = time.monotonic() - t_post
    assert not any(t.is_alive() for t in threads), f"{where} clients or killer hung"
    assert not run.errors, f"{where} {len(run.errors)} failures, first ones:\n" + "\n".join(
        run.errors[:20]) + f"\nserver log tail:\n{srv.log_tail()}"
    assert run.kills >= MIN_KILLS, f"{where} only {run.kills} kills"
    if not srv.alive():
        srv.start()

    # ---- what was sent
    valid: dict[str, dict] = {}
    invalid: dict[str, tuple[dict, str, Batch]] = {}
    for b in batches:
        for i, e in enumerate(b.items):
            if i in b.invalid:
                invalid[e["event_id"]] = (e, b.invalid[i], b)
            else:
                valid.setdefault(e["event_id"], e)
    assert not set(valid) & set(invalid)
    qoe_ids = {k for k, e in valid.items() if e["type"] in QOE_TYPES}
    accepted = sum(body["accepted"] for b in batches for body in b.responses)
    crashed_ids = {e["event_id"] for b in batches if b.failed_attempts
                   for i, e in enumerate(b.items) if i not in b.invalid}

    # ---- dedup survived every crash: a sample of everything is a duplicate now
    sample = rng.sample(sorted(valid), min(500, len(valid)))
    r = srv.post([valid[k] for k in sample], fmt="ndjson", gzip=True)
    assert r.status_code == 200 and r.json()["accepted"] == 0, (where, r.text[:500])
    assert r.json()["duplicates"] == len(sample), (where, r.text[:500])

    # ---- what was stored (read while the server runs)
    viewing = dump(srv, "viewing")
    qoe = dump(srv, "qoe")
    dead = [r["value"] for r in dump(srv, "deadletters")]
    assert srv.stop() == 0, f"{where} no clean stop after the run:\n{srv.log_tail()}"

    def exactly_once(records, want_ids, topic):
        counts = collections.Counter(r["value"].get("event_id") for r in records)
        twice = {k: n for k, n in counts.items() if n > 1}
        missing = want_ids - counts.keys()
        unexpected = counts.keys() - want_ids
        assert not twice, f"{where} {topic}: {len(twice)} events stored more than once, e.g. " \
                          f"{list(twice.items())[:5]}"
        assert not missing, f"{where} {topic}: {len(missing)} acknowledged events missing, " \
                            f"e.g. {sorted(missing)[:5]}"
        assert not unexpected, f"{where} {topic}: {len(unexpected)} events never sent as " \
                               f"valid, e.g. {sorted(unexpected, key=str)[:5]}"
        offsets = collections.defaultdict(list)
        for r in records:
            offsets[r["partition"]].append(r["offset"])
            assert r["timestamp"] == r["value"]["received_at"], f"{where} {topic}: {r}"
        for p, offs in offsets.items():
            assert sorted(offs) == list(range(len(offs))), \
                f"{where} {topic} partition {p}: offsets not dense from 0"
        return {r["value"]["event_id"]: r["value"] for r in records}

    viewing_values = exactly_once(viewing, set(valid), "viewing")
    wrong = [(k, m) for k, v in viewing_values.items() if (m := stored_mismatch(v, valid[k]))]
    assert not wrong, f"{where} {len(wrong)} events stored differently from sent: {wrong[:3]}"
    qoe_values = exactly_once(qoe, qoe_ids, "qoe")
    assert all(v == viewing_values[k] for k, v in qoe_values.items()), \
        f"{where} qoe values differ from viewing"

    # An invalid event is dead-lettered by every POST of its batch that the
    # collector processed: at least the one answered 200, at most every attempt.
    dl_counts = collections.Counter(d.get("event_id") for d in dead)
    stray = dl_counts.keys() - invalid.keys()
    assert not stray, f"{where} dead letters for events that were valid or never sent: " \
                      f"{sorted(stray, key=str)[:5]}"
    for eid, (sent, fld, b) in invalid.items():
        n = dl_counts.get(eid, 0)
        assert 1 <= n <= b.attempts, \
            f"{where} invalid {eid} dead-lettered {n} times, its batch was posted {b.attempts}x"
    for d in dead:
        sent, fld, _ = invalid[d["event_id"]]
        assert fld in d.get("error", ""), f"{where} dead letter without the reason: {d}"
        assert json.loads(d["raw"]) == sent, f"{where} dead letter raw differs: {d}"
        assert isinstance(d.get("received_at"), int), d

    # Every 200 counted each valid event as accepted or duplicate; those
    # counted accepted are exactly the ones stored, less the ones whose first
    # storing POST crashed before its answer (its retry saw duplicates).
    assert accepted <= len(valid), (where, accepted, len(valid))
    assert len(valid) - accepted <= len(crashed_ids & valid.keys()), \
        f"{where} {len(valid) - accepted} stored events were never counted accepted, but " \
        f"only {len(crashed_ids)} were in batches whose POST failed"

    stats = dict(
        seed=seed, events=total_items, valid=len(valid), qoe=len(qoe_ids),
        invalid=len(invalid), dead_letters=len(dead), kills=run.kills,
        kills_in_flight=run.kills_in_flight, startup_kills=run.startup_kills,
        failed_posts=sum(b.failed_attempts for b in batches),
        posts=sum(b.attempts for b in batches),
        resent_batches=sum(b.resend for b in batches),
        post_seconds=round(post_s, 1), total_seconds=round(time.monotonic() - t_start, 1))
    stats["port"] = port
    print("crash test:", compact(stats))
    assert run.kills_in_flight >= 1, f"{where} no kill hit an in-flight request: {stats}"
