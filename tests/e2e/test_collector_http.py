"""The collector's HTTP contract (../shared/spec/events.md, Transport and
Durability) against the real binary: every status, what is stored for each,
dedup within and across requests and across restarts, the qoe topic, dead
letters, and the service endpoints."""

from __future__ import annotations

import gzip
import json
import random
import re
import signal
import subprocess
import time

import pytest

from events import (EVENT_TYPES, INVALID_KINDS, QOE_TYPES, compact, encode, make_event,
                    make_invalid, make_session_events, new_id, new_session, now_ms, rfc3339,
                    stored_mismatch)

TOPICS = ("viewing", "qoe", "deadletters")
MiB = 1 << 20


# ---------------------------------------------------------------- helpers

def ok_json(resp, accepted, duplicates=0, rejected=0):
    """Asserts a 200 with exactly these counts and returns the body."""
    assert resp.status_code == 200, (resp.status_code, resp.text[:2000])
    body = resp.json()
    counts = {k: body.get(k) for k in ("accepted", "duplicates", "rejected")}
    assert counts == {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}, body
    assert isinstance(body.get("errors"), list), body
    assert len(body["errors"]) == rejected, body
    return body


def assert_nothing_stored(dump, srv):
    for topic in TOPICS:
        recs = dump(srv, topic)
        assert recs == [], f"topic {topic} should be empty, holds {len(recs)}: {recs[:3]}"


def by_id(records):
    """event_id -> list of dump records of viewing/qoe."""
    out = {}
    for r in records:
        out.setdefault(r["value"]["event_id"], []).append(r)
    return out


def assert_stored_exactly(dump, srv, sent, topic="viewing"):
    """topic holds exactly the events of `sent` (dicts), once each, as sent."""
    recs = dump(srv, topic)
    got = by_id(recs)
    want = {e["event_id"]: e for e in sent}
    assert len(recs) == len(got), f"{topic}: some event stored twice: " + str(
        {k: len(v) for k, v in got.items() if len(v) > 1})
    assert set(got) == set(want), (f"{topic}: missing {sorted(set(want) - set(got))[:5]}, "
                                   f"unexpected {sorted(set(got) - set(want))[:5]}")
    for eid, [r] in got.items():
        bad = stored_mismatch(r["value"], want[eid])
        assert bad is None, f"{topic} {eid}: {bad}"
        assert r["timestamp"] == r["value"]["received_at"], r
    return recs


def sized_event(n_bytes, rng=None, **kw):
    """A valid event whose compact JSON text is exactly n_bytes long."""
    e = make_event(rng=rng, **kw)
    e["x_pad"] = ""
    e["x_pad"] = "x" * (n_bytes - len(compact(e).encode()))
    assert len(compact(e).encode()) == n_bytes
    return e


def json_body_of_size(events, n_bytes):
    """A {"events": [...]} body padded with JSON whitespace to exactly n_bytes."""
    body, headers = encode(events, "json")
    assert len(body) <= n_bytes
    body = body[:-2] + b" " * (n_bytes - len(body)) + body[-2:]
    assert len(body) == n_bytes and json.loads(body)["events"] == events
    return body, headers


METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def metrics(srv):
    r = srv.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    out = {}
    for line in r.text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = METRIC_RE.match(line)
        assert m, f"not Prometheus text: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out, r.text


def events_total(srv):
    m, _ = metrics(srv)
    return {o: m.get(("viewpipe_events_total", '{outcome="%s"}' % o))
            for o in ("accepted", "duplicate", "rejected")}


# ---------------------------------------------------------------- service

def test_healthz_readyz_metrics(server):
    srv = server()
    assert srv.get("/healthz").status_code == 200
    assert srv.get("/readyz").status_code == 200
    assert events_total(srv) == {"accepted": 0, "duplicate": 0, "rejected": 0}
    _, text = metrics(srv)
    assert re.search(r"^# TYPE viewpipe_events_total counter$", text, re.M), text[:2000]

    rng = random.Random(1)
    valid = [make_event(t, rng=rng) for t in ("attempt", "heartbeat", "stop")]
    bad, _ = make_invalid("country_lower", rng)
    ok_json(srv.post(valid + [valid[0], bad]), accepted=3, duplicates=1, rejected=1)
    ok_json(srv.post(valid, fmt="ndjson", gzip=True), accepted=0, duplicates=3)
    assert events_total(srv) == {"accepted": 3, "duplicate": 4, "rejected": 1}


def test_paths_selects_the_consumer_paths(server, viewpipe_bin, tmp_path, dump):
    """--paths none runs the collector (and dashboard) only; events still land."""
    srv = server("--paths", "none")
    sent = [make_event("attempt")]
    ok_json(srv.post(sent), accepted=1)
    assert srv.get("/v1/ops/concurrency").status_code == 404  # no ops path
    assert srv.get("/").status_code == 200
    assert_stored_exactly(dump, srv, sent)
    only_ops = server("--paths", "ops")
    ok_json(only_ops.post(sent), accepted=1)
    query = (b'{"sql": "SELECT count(*) FROM events"}', {"Content-Type": "application/json"})
    assert only_ops.post_body(*query, path="/v1/query").status_code == 404  # no history path
    assert only_ops.get("/v1/ops/concurrency").status_code in (200, 503)
    assert srv.post_body(*query, path="/v1/query").status_code == 404
    r = subprocess.run([str(viewpipe_bin), "serve", "--data-dir", str(tmp_path / "x"), "--port", "0",
                        "--write-key", "k", "--paths", "ops,nonsense"],
                       capture_output=True, timeout=60)
    assert r.returncode != 0
    assert b"unknown path 'nonsense'" in r.stderr + r.stdout


def test_read_tokens_guard_the_read_api(server):
    srv = server("--read-token", "rt-1", "--read-token", "rt-2")
    ok_json(srv.post([make_event("attempt")]), accepted=1)  # the write key still suffices
    r = srv.get("/v1/deadletters")
    assert r.status_code == 401 and "read token" in r.json()["error"], r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert srv.get("/v1/deadletters", headers={"Authorization": "Bearer rt-3"}).status_code == 401
    assert srv.get("/v1/deadletters", headers={"Authorization": "Bearer rt-2"}).status_code == 200
    assert srv.get("/v1/deadletters", params={"access_token": "rt-1"}).status_code == 200
    assert srv.get("/healthz").status_code == 200 and srv.get("/metrics").status_code == 200
    assert srv.get("/").status_code == 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_keeps_events(server, dump, sig):
    srv = server()
    sent = [make_event(t) for t in ("attempt", "play_start", "heartbeat")]
    ok_json(srv.post(sent), accepted=3)
    assert srv.stop(sig) == 0, srv.log_tail()
    assert_stored_exactly(dump, srv, sent)


# ---------------------------------------------------------------- 401

def test_401_missing_or_unknown_key_stores_nothing(server, dump):
    srv = server()
    key = srv.write_keys[0]
    sent = [make_event("attempt"), make_event("heartbeat")]
    body, headers = encode(sent)
    variants = {
        "missing": None,
        "wrong key": "Bearer not-the-key",
        "empty key": "Bearer ",
        "key with suffix": f"Bearer {key}x",
        "key prefix": f"Bearer {key[:-1]}",
        "other scheme": f"Basic {key}",
        "no scheme": key,
    }
    for name, auth in variants.items():
        h = dict(headers)
        if auth is not None:
            h["Authorization"] = auth
        r = srv.post_body(body, h, key=None)
        assert r.status_code == 401, (name, r.status_code, r.text)
    assert_nothing_stored(dump, srv)
    # Nothing was remembered either: the same events are new with the key.
    ok_json(srv.post(sent), accepted=2)
    assert_stored_exactly(dump, srv, sent)


def test_every_configured_write_key_is_accepted(server, dump):
    srv = server(write_keys=("key-one", "key-two"))
    a, b = make_event("attempt"), make_event("stop")
    ok_json(srv.post([a], key="key-one"), accepted=1)
    ok_json(srv.post([b], key="key-two"), accepted=1)
    assert srv.post([make_event()], key="not-configured").status_code == 401
    assert_stored_exactly(dump, srv, [a, b])


# ---------------------------------------------------------------- 413

@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_413_more_than_1000_events(server, dump, fmt):
    srv = server()
    rng = random.Random(2)
    sent = [make_event(rng=rng) for _ in range(1001)]
    r = srv.post(sent, fmt=fmt)
    assert r.status_code == 413, (r.status_code, r.text[:500])
    assert_nothing_stored(dump, srv)
    # Exactly the limit is fine, and none of the refused events was remembered.
    ok_json(srv.post(sent[:1000], fmt=fmt), accepted=1000)
    assert len(dump(srv, "viewing")) == 1000


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_413_event_over_8_KiB(server, dump, fmt):
    srv = server()
    rng = random.Random(3)
    small = [make_event(rng=rng) for _ in range(3)]
    big = sized_event(8 * 1024 + 1, rng=rng)
    r = srv.post([small[0], big, small[1]], fmt=fmt)
    assert r.status_code == 413, (r.status_code, r.text[:500])
    assert_nothing_stored(dump, srv)
    exact = sized_event(8 * 1024, rng=rng)
    ok_json(srv.post(small + [exact], fmt=fmt), accepted=4)
    assert_stored_exactly(dump, srv, small + [exact])


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_413_body_over_1_MiB_after_decompression(server, dump, compress):
    srv = server()
    rng = random.Random(4)
    sent = [sized_event(5000, rng=rng) for _ in range(200)]  # 1,000,000 bytes of events
    for size, status in ((MiB + 1, 413), (MiB, 200)):
        body, headers = json_body_of_size(sent, size)
        if compress:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        r = srv.post_body(body, headers)
        assert r.status_code == status, (size, r.status_code, r.text[:500])
        if status == 413:
            assert_nothing_stored(dump, srv)
    ok_json(r, accepted=200)
    assert_stored_exactly(dump, srv, sent)


def test_413_gzip_bomb(server, dump):
    srv = server()
    e = make_event()
    body = b'{"events":[' + compact(e).encode() + b"]" + b" " * (16 * MiB) + b"}"
    packed = gzip.compress(body, compresslevel=9)
    assert len(packed) < 64 * 1024
    r = srv.post_body(packed, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 413, (r.status_code, r.text[:500])
    assert_nothing_stored(dump, srv)
    assert srv.get("/healthz").status_code == 200


def test_413_configured_limits(server, dump):
    srv = server("--max-events", 10, "--max-event-bytes", 1024, "--max-body-bytes", 8000)
    rng = random.Random(5)
    ten = [make_event(rng=rng) for _ in range(10)]
    refused = {
        "11 events": encode(ten + [make_event(rng=rng)]),
        "event of 1025 bytes": encode([sized_event(1025, rng=rng)], "ndjson"),
        "body of 8001 bytes": json_body_of_size(ten[:2], 8001),
    }
    for name, (body, headers) in refused.items():
        r = srv.post_body(body, headers)
        assert r.status_code == 413, (name, r.status_code, r.text[:500])
    assert_nothing_stored(dump, srv)
    exact = sized_event(1024, rng=rng)
    ok_json(srv.post(ten), accepted=10)
    ok_json(srv.post([exact], fmt="ndjson"), accepted=1)
    body, headers = json_body_of_size([make_event(rng=rng)], 8000)
    ok_json(srv.post_body(body, headers), accepted=1)
    assert len(dump(srv, "viewing")) == 12


# ---------------------------------------------------------------- 503

def test_503_when_storage_cannot_take_it(server, dump, viewpipe_bin):
    """Storage trouble: 503 with Retry-After, nothing stored, nothing
    remembered. A full disk is faked with serve's --log-min-free-bytes (not
    part of the binary contract, hence the skip when it is gone)."""
    help_text = subprocess.run([str(viewpipe_bin), "serve", "--help"], capture_output=True,
                               text=True).stdout
    if "--log-min-free-bytes" not in help_text:
        pytest.skip("serve has no --log-min-free-bytes to fake a full disk")
    srv = server("--log-min-free-bytes", 1 << 62)
    sent = [make_event("attempt"), make_event("heartbeat")]
    bad, _ = make_invalid("country_lower")
    for fmt in ("json", "ndjson"):
        r = srv.post(sent + [bad], fmt=fmt)
        assert r.status_code == 503, (r.status_code, r.text[:500])
        retry_after = r.headers.get("Retry-After", "")
        assert retry_after.isdigit() and int(retry_after) >= 1, r.headers
    assert_nothing_stored(dump, srv)
    srv.stop()
    srv.args = []  # the same data dir with room again: the events are new
    srv.start()
    ok_json(srv.post(sent + [bad]), accepted=2, rejected=1)
    assert_stored_exactly(dump, srv, sent)


# ---------------------------------------------------------------- 400

@pytest.mark.parametrize("body,headers", [
    (b"this is not json", {"Content-Type": "application/json"}),
    (b'{"events":[{"event_id":"a","type":', {"Content-Type": "application/json"}),
    (b"\x00\xff\xfe\x01garbage", {"Content-Type": "application/json"}),
    (b"", {"Content-Type": "application/json"}),
    (b"\x1f\x8b\x08\x00not really gzip at all",
     {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    (gzip.compress(b"<html>not json</html>"),
     {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
], ids=["text", "truncated", "binary", "empty", "bad-gzip", "gzip-of-garbage"])
def test_400_body_not_json(server, dump, body, headers):
    srv = server()
    r = srv.post_body(body, headers)
    assert r.status_code == 400, (r.status_code, r.text[:500])
    assert r.text.strip(), "400 must carry a reason"
    assert_nothing_stored(dump, srv)
    ok_json(srv.post([make_event()]), accepted=1)  # the server still serves


def test_ndjson_garbage_line_is_all_or_one(server, dump):
    """A garbage line in NDJSON is either the whole request's 400 (nothing
    stored) or that one event's rejection (dead-lettered, the rest stored)."""
    srv = server()
    good = [make_event("attempt"), make_event("stop")]
    r = srv.post([good[0], "{not json", good[1]], fmt="ndjson")
    if r.status_code == 400:
        assert_nothing_stored(dump, srv)
        return
    body = ok_json(r, accepted=2, rejected=1)
    assert body["errors"][0]["index"] == 1, body
    assert_stored_exactly(dump, srv, good)
    [dl] = [r["value"] for r in dump(srv, "deadletters")]
    assert dl["raw"] == "{not json" and dl["index"] == 1 and dl["error"], dl


# ---------------------------------------------------------------- 200, mixed

def boundary_valid_events(rng):
    """Valid events at the edges of the contract."""
    t = now_ms()
    s = new_session(rng)
    minimal = {"event_id": new_id(rng), "type": "pause", "ts": t, "session_id": "s",
               "profile_id": "p", "title_id": "t", "device_type": "other", "country": "SE",
               "cdn": "c"}
    return [
        minimal,
        make_event(rng=rng, session=s, event_id="e" * 64),
        make_event(rng=rng, session=s, ts=rfc3339(t - 1234)),
        make_event(rng=rng, session=s, ts=rfc3339(t - 5678, offset_minutes=120)),
        make_event(rng=rng, session=s, ts=t - 6 * 86_400_000),
        make_event(rng=rng, session=s, ts=t + 4 * 60_000),
        make_event(rng=rng, session=s, experiments={"e%d" % i: "v%d" % i for i in range(16)}),
        make_event(rng=rng, session=s, cdn="c" * 32, os="o" * 32, isp="i" * 64),
        make_event("bitrate_change", rng=rng, session=s, bitrate_kbps=2**31 - 1),
        make_event("seek", rng=rng, session=s, position_ms=0),
        make_event("error", rng=rng, session=s, fatal=False),
        make_event("play_start", rng=rng, session=s, startup_ms=0),
        make_event(rng=rng, session=s, title_id="t-café-東京", x_unknown={"a": [1, 2]}),
    ]


@pytest.mark.parametrize("fmt,compress", [("json", False), ("ndjson", False),
                                          ("json", True), ("ndjson", True)],
                         ids=["json", "ndjson", "json-gzip", "ndjson-gzip"])
def test_200_mixed_batch_rejects_invalid_and_stores_valid(server, dump, fmt, compress):
    srv = server()
    rng = random.Random(6)
    valid = [make_event(t, rng=rng) for t in EVENT_TYPES] + boundary_valid_events(rng)
    invalid = []  # (event or raw item, field the reason names, event_id the error names)
    for kind in INVALID_KINDS:
        e, field = make_invalid(kind, rng)
        invalid.append((e, field, e["event_id"]))
    invalid.append((make_event(rng=rng, event_id=None), "event_id", ""))
    invalid.append((make_event(rng=rng, event_id=""), "event_id", ""))
    invalid.append((make_event(rng=rng, event_id="x" * 65), "event_id", None))
    invalid.append((42, None, ""))
    invalid.append((["not", "an", "object"], None, ""))

    items = [(e, None) for e in valid] + [(e, (f, eid)) for e, f, eid in invalid]
    rng.shuffle(items)
    batch = [e for e, _ in items]
    t0 = now_ms()
    body = ok_json(srv.post(batch, fmt=fmt, gzip=compress),
                   accepted=len(valid), rejected=len(invalid))
    t1 = now_ms()

    want_errors = {i: why for i, (_, why) in enumerate(items) if why is not None}
    errors = body["errors"]
    assert sorted(e["index"] for e in errors) == sorted(want_errors), errors
    for err in errors:
        field, eid = want_errors[err["index"]]
        sent = batch[err["index"]]
        assert isinstance(err.get("error"), str) and err["error"], err
        if field:
            assert field in err["error"], f"reason should name field {field!r}: {err} for {sent}"
        if eid is not None:
            assert err["event_id"] == eid, (err, sent)

    recs = assert_stored_exactly(dump, srv, valid)
    for r in recs:
        assert t0 <= r["value"]["received_at"] <= t1, (t0, t1, r)
    assert_stored_exactly(dump, srv, [e for e in valid if e["type"] in QOE_TYPES], topic="qoe")

    dls = [r["value"] for r in dump(srv, "deadletters")]
    assert len(dls) == len(invalid), dls
    by_index = {err["index"]: err for err in errors}
    for dl in dls:
        assert set(dl) >= {"received_at", "index", "event_id", "error", "raw"}, dl
        err = by_index[dl["index"]]
        assert (dl["event_id"], dl["error"]) == (err["event_id"], err["error"]), (dl, err)
        assert t0 <= dl["received_at"] <= t1, dl
        assert json.loads(dl["raw"]) == batch[dl["index"]], dl  # unknown fields kept too


def test_invalid_utf8_rejects_only_that_event(server, dump):
    srv = server()
    good = make_event("attempt")
    bad = make_event("heartbeat", title_id="BADUTF8")
    raw_bad = compact(bad).encode().replace(b"BADUTF8", b"bad\xff\xfeutf8")
    for fmt in ("json", "ndjson"):
        g = dict(good, event_id=new_id())
        b = raw_bad.replace(bad["event_id"].encode(), (bid := new_id()).encode())
        body = ok_json(srv.post([g, b], fmt=fmt), accepted=1, rejected=1)
        assert body["errors"][0]["index"] == 1 and body["errors"][0]["event_id"] == bid, body
    dls = [r["value"] for r in dump(srv, "deadletters")]
    assert len(dls) == 2 and all(d["error"] for d in dls), dls
    assert len(dump(srv, "viewing")) == 2


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_gzip_bodies(server, dump, fmt):
    srv = server()
    rng = random.Random(7)
    sent = [e for _ in range(10) for e in make_session_events(rng, n=30)]
    body, headers = encode(sent, fmt, gzip=True)
    assert headers["Content-Encoding"] == "gzip" and body[:2] == b"\x1f\x8b"
    ok_json(srv.post_body(body, headers), accepted=len(sent))
    assert_stored_exactly(dump, srv, sent)
    assert_stored_exactly(dump, srv, [e for e in sent if e["type"] in QOE_TYPES], "qoe")


# ---------------------------------------------------------------- dedup

def test_duplicates_within_a_request_stored_once(server, dump):
    srv = server()
    first = make_event("heartbeat", position_ms=1000)
    retry = dict(first, position_ms=2000)  # same event_id: the first one wins
    other = make_event("attempt")
    body = ok_json(srv.post([first, other, retry, first]), accepted=2, duplicates=2)
    assert body["errors"] == []
    assert_stored_exactly(dump, srv, [first, other])
    assert_stored_exactly(dump, srv, [first, other], "qoe")  # heartbeats ride qoe too


def test_duplicates_across_requests_stored_once(server, dump):
    srv = server()
    rng = random.Random(8)
    a = [make_event(t, rng=rng) for t in EVENT_TYPES]
    b = [make_event(t, rng=rng) for t in EVENT_TYPES]
    ok_json(srv.post(a), accepted=11)
    ok_json(srv.post(a, fmt="ndjson"), accepted=0, duplicates=11)
    ok_json(srv.post(b[:5] + a[3:8], gzip=True), accepted=5, duplicates=5)
    ok_json(srv.post(b + a, fmt="ndjson", gzip=True), accepted=6, duplicates=16)
    assert_stored_exactly(dump, srv, a + b)
    assert_stored_exactly(dump, srv, [e for e in a + b if e["type"] in QOE_TYPES], "qoe")
    assert dump(srv, "deadletters") == []


def test_rejected_event_does_not_claim_its_event_id(server, dump):
    """An invalid event is not accepted, so the corrected retry with the same
    event_id is new, not a duplicate."""
    srv = server()
    bad, _ = make_invalid("ts_not_integer")
    fixed = dict(bad, ts=now_ms())
    ok_json(srv.post([bad]), accepted=0, rejected=1)
    ok_json(srv.post([fixed]), accepted=1)
    assert_stored_exactly(dump, srv, [fixed])


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_dedup_survives_restart(server, dump, how):
    srv = server()
    rng = random.Random(9)
    sent = [e for _ in range(10) for e in make_session_events(rng, n=30)]
    ok_json(srv.post(sent[:150]), accepted=150)
    ok_json(srv.post(sent[150:], fmt="ndjson", gzip=True), accepted=150)
    if how == "SIGTERM":
        assert srv.stop(signal.SIGTERM) == 0, srv.log_tail()
    else:
        srv.kill9()
    srv.start()
    ok_json(srv.post(sent), accepted=0, duplicates=300)
    more = make_session_events(rng, n=20)
    ok_json(srv.post(more + sent[:10], fmt="ndjson"), accepted=len(more), duplicates=10)
    assert_stored_exactly(dump, srv, sent + more)
    assert_stored_exactly(dump, srv, [e for e in sent + more if e["type"] in QOE_TYPES], "qoe")


def test_dedup_window_is_configurable(server, dump):
    """With --dedup-window-ms 2000 a retry is a duplicate for 2 s after the
    event was accepted, and new again after that."""
    srv = server("--dedup-window-ms", 2000)
    e = make_event("heartbeat")
    ok_json(srv.post([e]), accepted=1)
    ok_json(srv.post([e]), accepted=0, duplicates=1)
    deadline = time.monotonic() + 15
    while True:
        body = srv.post([e]).json()
        if body["accepted"] == 1:
            break
        assert body["duplicates"] == 1, body
        assert time.monotonic() < deadline, "a 2 s dedup window never expired"
        time.sleep(0.05)
    first, again = sorted(r["value"]["received_at"] for r in dump(srv, "viewing"))
    assert again - first >= 2000, f"the 2000 ms dedup window ended after {again - first} ms"


# ---------------------------------------------------------------- topics

def test_qoe_events_in_qoe_topic_and_partitioned_by_session(server, dump):
    srv = server()
    rng = random.Random(10)
    sessions = [make_session_events(rng, n=25) for _ in range(40)]
    sent = [e for s in sessions for e in s]
    for e_type in EVENT_TYPES:
        assert any(e["type"] == e_type for e in sent), e_type
    ok_json(srv.post(sent[:500]), accepted=500)
    ok_json(srv.post(sent[500:], fmt="ndjson"), accepted=len(sent) - 500)
    qoe = [e for e in sent if e["type"] in QOE_TYPES]
    assert 0 < len(qoe) < len(sent)
    viewing_recs = assert_stored_exactly(dump, srv, sent)
    qoe_recs = assert_stored_exactly(dump, srv, qoe, "qoe")
    # heartbeats ride `qoe` for the SRE path (docs/sre.md); seeks do not
    assert any(r["value"]["type"] == "heartbeat" for r in qoe_recs)
    assert not any(r["value"]["type"] == "seek" for r in qoe_recs)

    viewing_by_id = {r["value"]["event_id"]: r for r in viewing_recs}
    for topic, recs in (("viewing", viewing_recs), ("qoe", qoe_recs)):
        partition_of = {}
        offsets = {}
        for r in recs:
            v = r["value"]
            # a session's events share one partition (keyed by session_id), in order sent
            assert partition_of.setdefault(v["session_id"], r["partition"]) == r["partition"], r
            offsets.setdefault(r["partition"], []).append(r["offset"])
            if topic == "qoe":
                assert v == viewing_by_id[v["event_id"]]["value"], v
        for p, offs in offsets.items():
            assert sorted(offs) == list(range(len(offs))), f"{topic}/{p}: offsets not dense from 0"
        seq = {}
        for r in sorted(recs, key=lambda r: (r["partition"], r["offset"])):
            seq.setdefault(r["value"]["session_id"], []).append(r["value"]["event_id"])
        for s in sessions:
            want = [e["event_id"] for e in s if topic == "viewing" or e["type"] in QOE_TYPES]
            assert seq.get(s[0]["session_id"], []) == want, f"{topic}: session order changed"


# ---------------------------------------------------------------- dead letters

def test_dead_letters_by_cli_and_api(server, dump, deadletters_cli):
    srv = server()
    rng = random.Random(11)
    bad = [make_invalid(k, rng) for k in ("ts_too_old", "device_unknown", "country_missing",
                                         "error_without_fatal", "bitrate_string")]
    batch = [make_event(rng=rng)] + [e for e, _ in bad] + [make_event(rng=rng)]
    body = ok_json(srv.post(batch, fmt="ndjson"), accepted=2, rejected=5)
    want = {e["event_id"]: (e, field) for e, field in bad}

    def check(dls, source):
        assert len(dls) == 5, (source, dls)
        assert {d["event_id"] for d in dls} == set(want), (source, dls)
        for d in dls:
            sent, field = want[d["event_id"]]
            assert field in d["error"], (source, d)
            assert json.loads(d["raw"]) == sent, (source, d)
            assert batch[d["index"]] is sent, (source, d)
            assert isinstance(d["received_at"], int), (source, d)

    def fields(dls):  # the dead-letter fields, ordered; listings may add more
        keys = ("received_at", "index", "event_id", "error", "raw")
        return sorted(tuple(d[k] for k in keys) for d in dls)

    cli = deadletters_cli(srv)
    check(cli, "viewpipe deadletters")
    assert fields(cli) == fields(r["value"] for r in dump(srv, "deadletters"))
    r = srv.get("/v1/deadletters", params={"limit": 100})
    assert r.status_code == 200, r.text
    api = r.json()["dead_letters"]
    check(api, "GET /v1/deadletters")
    assert fields(api) == fields(cli)
    r = srv.get("/v1/deadletters", params={"limit": 2})
    assert r.status_code == 200, r.text
    two = r.json()["dead_letters"]
    assert len(two) == 2 and set(fields(two)) <= set(fields(api)), two
    assert body["errors"] and {e["event_id"] for e in body["errors"]} == set(want)
