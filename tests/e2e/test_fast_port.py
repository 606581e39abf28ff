"""End-to-end tests of the event-loop port (`serve --fast-port`,
docs/fast_port.md): POST /v1/events there answers as on the main port (the
same statuses and bodies for the same requests, Retry-After on 503), stores
the same way, and the same port serves the feature lookups.
(kill -9 with clients on this port: test_crash_recovery.py[fast].)"""

from __future__ import annotations

import gzip as gz
import json
import random

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
