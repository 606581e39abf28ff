"""End-to-end tests of the event-loop port (`serve --fast-port`,
docs/fast_port.md): POST /v1/events there answers as on the main port (the
same statuses and bodies for the same requests, Retry-After on 503), stores
the same way, and the same port serves the feature lookups; idle and slow
connections are closed on time, and its HTTP metrics move.
(kill -9 with clients on this port: test_crash_recovery.py[fast].)"""

from __future__ import annotations

import gzip as gz
import json
import random
import socket
import time

import requests

from conftest import WRITE_KEY, free_port
from events import encode, make_event, make_invalid, now_ms
from test_features import post_all, wait_for


def requests_for(prefix: str, rng: random.Random) -> list[tuple[str, bytes, dict]]:
    """(name, body, headers) of a set of requests whose event_ids start with prefix."""
    def ev(i, **kw):
        return make_event("heartbeat", rng=rng, event_id=f"{prefix}-{i}", **kw)
    valid = [ev(i) for i in range(300)]
    bad, _ = make_invalid("ts_not_integer", rng)
    bad["event_id"] = f"{prefix}-bad"
    mixed = [ev(1000 + i) for i in range(20)] + [bad, ev(0)]  # one invalid, one duplicate
    out = []
    for name, events, fmt, gzip in (("valid", valid, "json", False),
                                    ("mixed", mixed, "json", False),
                                    ("ndjson gzip", [ev(2000), ev(2001)], "ndjson", True),
                                    ("again", valid[:10], "json", False)):
        body, headers = encode(events, fmt, gzip)
        out.append((name, body, headers))
    too_many = encode([ev(3000 + i) for i in range(1001)], "json", False)
    out.append(("too many", *too_many))
    out.append(("not json", b"hello", {"Content-Type": "application/json"}))
    out.append(("bad gzip", b"hello", {"Content-Type": "application/json",
                                        "Content-Encoding": "gzip"}))
    big = gz.compress(b" " * (2 << 20))
    out.append(("gzip bomb", big, {"Content-Type": "application/json",
                                    "Content-Encoding": "gzip"}))
    return out


def test_fast_port_answers_posts_like_the_main_port(server, dump):
    fport = free_port()
    s = server("--fast-port", fport, "--paths", "none")
    furl = f"http://127.0.0.1:{fport}/v1/events"
    http = requests.Session()
    seed = random.randrange(1 << 30)
    main_reqs = requests_for("m", random.Random(seed))
    fast_reqs = requests_for("f", random.Random(seed))
    for (name, mbody, mh), (_, fbody, fh) in zip(main_reqs, fast_reqs):
        main = s.post_body(mbody, mh)
        fast = http.post(furl, data=fbody, headers={**fh, "Authorization": f"Bearer {WRITE_KEY}"},
                         timeout=30)
        assert fast.status_code == main.status_code, (name, main.text, fast.text)
        assert fast.text == main.text.replace('"m-', '"f-'), (name, main.text, fast.text)
        assert fast.headers["Content-Type"] == "application/json", name
    for key in (None, "wrong"):
        main = s.post_body(b"{}", {"Content-Type": "application/json"}, key=key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        fast = http.post(furl, data=b"{}", headers=headers, timeout=30)
        assert main.status_code == fast.status_code == 401 and main.text == fast.text
    # The same events stored from both ports (event_ids aside).
    viewing = [r["value"]["event_id"] for r in dump(s, "viewing")]
    m = sorted(i[2:] for i in viewing if i.startswith("m-"))
    f = sorted(i[2:] for i in viewing if i.startswith("f-"))
    assert m == f and len(m) == 300 + 20 + 2, (len(m), len(f))
    dead = [json.loads(r["value"]["raw"])["event_id"] for r in dump(s, "deadletters")]
    assert sorted(dead) == ["f-bad", "m-bad"], dead


def test_fast_port_serves_lookups_and_ingest_on_one_port(server):
    fport = free_port()
    s = server("--fast-port", fport, "--paths", "features")
    furl = f"http://127.0.0.1:{fport}"
    t = now_ms() - 5000
    events = [make_event("attempt", ts=t, event_id="fa1", profile_id="p-1", title_id="t-1",
                         session_id="s1"),
              make_event("heartbeat", ts=t + 10, event_id="fa2", profile_id="p-1",
                         title_id="t-1", session_id="s1")]
    body, headers = encode(events, "json", False)
    http = requests.Session()
    r = http.post(furl + "/v1/events", data=body,
                  headers={**headers, "Authorization": f"Bearer {WRITE_KEY}"}, timeout=30)
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    wait_for(lambda: http.get(furl + "/v1/features/titles/t-1", timeout=10).status_code == 200,
             what="title online via the fast port")
    at = t + 60_000
    main = s.get(f"/v1/features/titles/t-1?at={at}")
    fast = http.get(f"{furl}/v1/features/titles/t-1?at={at}", timeout=10)
    assert main.status_code == fast.status_code == 200 and main.content == fast.content
    assert post_all(s, [make_event("heartbeat")])  # the main port still ingests
    text = s.get("/metrics").text
    assert metric(text, "viewpipe_http_requests_total", port="fast",
                  route="/v1/features/titles/", status="200") >= 2, text


def metric(text: str, name: str, **labels) -> float:
    """The value of name{labels} in a Prometheus text page (0 when absent)."""
    want = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0


def test_fast_port_times_out_idle_and_slow_clients_and_counts_in_metrics(server):
    fport = free_port()
    s = server("--fast-port", fport, "--paths", "none", "--fast-idle-timeout-ms", "500",
               "--fast-read-timeout-ms", "1000")
    furl = f"http://127.0.0.1:{fport}"
    before = s.get("/metrics").text
    assert metric(before, "viewpipe_http_open_connections", port="fast") == 0, before
    body, headers = encode([make_event("heartbeat")], "json", False)
    r = requests.post(furl + "/v1/events", data=body,
                      headers={**headers, "Authorization": f"Bearer {WRITE_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert requests.post(furl + "/v1/events", data=body, headers=headers,
                         timeout=10).status_code == 401
    assert requests.get(furl + "/healthz", timeout=10).status_code == 200
    # A slowloris: the head and half the body, then nothing -> 408 and closed after ~1 s.
    slow = socket.create_connection(("127.0.0.1", fport), timeout=5)
    head = (f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WRITE_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    slow.sendall(head + body[: len(body) // 2])
    idle = socket.create_connection(("127.0.0.1", fport), timeout=5)  # never sends
    t0 = time.monotonic()
    answer = b""
    while chunk := slow.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert 0.9 <= time.monotonic() - t0 < 4, time.monotonic() - t0
    assert idle.recv(1) == b""  # closed by the server (a timeout would raise)
    slow.close()
    idle.close()
    wait_for(lambda: metric(s.get("/metrics").text, "viewpipe_http_open_connections",
                            port="fast") == 0, what="fast port connections all closed")
    text = s.get("/metrics").text
    def moved(name, **labels):
        return metric(text, name, **labels) - metric(before, name, **labels)
    assert moved("viewpipe_http_requests_total", port="fast", route="/v1/events",
                 status="200") == 1, text
    assert moved("viewpipe_http_requests_total", port="fast", route="/v1/events",
                 status="401") == 1
    assert moved("viewpipe_http_requests_total", port="fast", route="/v1/events",
                 status="408") == 1
    assert moved("viewpipe_http_requests_total", port="fast", route="/healthz",
                 status="200") == 1
    assert moved("viewpipe_http_connections_closed_total", port="fast", reason="idle") >= 1
    assert moved("viewpipe_http_connections_closed_total", port="fast",
                 reason="read_timeout") == 1
    assert moved("viewpipe_http_received_bytes_total", port="fast") >= 2 * len(body)
    assert moved("viewpipe_http_request_seconds_count", port="fast", route="/v1/events") == 3
