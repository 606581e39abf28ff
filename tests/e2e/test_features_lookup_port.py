"""End-to-end tests of the features' lookup port (`serve --features-lookup-port`,
src/api/lookup_http_server.h): the same answers as the main API for the
GET lookups (byte for byte at a fixed `at`), the same 400/404s, the read
tokens, keep-alive and pipelining, a kill -9 and restart on the same port.
"""

from __future__ import annotations

import os
import socket
import time

import requests

from conftest import free_port
from events import make_event, now_ms
from test_features import post_all, wait_for

TOKEN = "lookup-read-token"


def raw_exchange(port: int, data: bytes, responses: int) -> list[bytes]:
    """Sends data on one connection; returns `responses` whole responses."""
    out, buf = [], b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        while len(out) < responses:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                head = buf[:head_end].decode()
                length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                if len(buf) >= head_end + 4 + length:
                    out.append(buf[:head_end + 4 + length])
                    buf = buf[head_end + 4 + length:]
                    continue
            chunk = sock.recv(65536)
            assert chunk, f"closed after {len(out)} responses"
            buf += chunk
    return out


def start(server, lport: int, *args):
    return server("--features-lookup-port", lport, *args)


def test_lookup_port_answers_like_the_main_api(server):
    lport = free_port()
    s = start(server, lport)
    lurl = f"http://127.0.0.1:{lport}"
    t = now_ms() - 5000
    post_all(s, [make_event("attempt", ts=t, event_id="a1", profile_id="p-\u00e9t\u00e9",
                            title_id="t-1", session_id="s1"),
                 make_event("heartbeat", ts=t + 10, event_id="a2", profile_id="p-\u00e9t\u00e9",
                            title_id="t-1", session_id="s1")])
    wait_for(lambda: s.get("/v1/features/titles/t-1").status_code == 200, what="title online")
    http = requests.Session()
    at = t + 60_000
    for path in ("/v1/features/profiles/p-%C3%A9t%C3%A9", "/v1/features/titles/t-1"):
        main = s.get(f"{path}?at={at}")
        fast = http.get(f"{lurl}{path}?at={at}", timeout=10)
        assert main.status_code == fast.status_code == 200, (path, main.text, fast.text)
        assert fast.headers["Content-Type"] == "application/json"
        assert fast.content == main.content, (path, main.text, fast.text)
    assert http.get(f"{lurl}/v1/features/profiles/p-%C3%A9t%C3%A9", timeout=10).json()[
        "sessions_7d"] == 1
    # Errors: the same statuses as the main API, JSON bodies.
    for path, status in (("/v1/features/profiles/nobody", 404),
                         ("/v1/features/titles/p-x", 404),
                         ("/v1/features/profiles/", 400),
                         ("/v1/features/profiles/" + "a" * 65, 400),
                         ("/v1/features/titles/%01x", 400),
                         ("/v1/features/profiles/p-x?at=soon", 400),
                         ("/v1/ops/concurrency", 404)):
        main = s.get(path)
        fast = http.get(lurl + path, timeout=10)
        assert fast.status_code == status and "error" in fast.json(), (path, fast.text)
        if path != "/v1/ops/concurrency":  # the lookup port serves the lookups only
            assert main.status_code == status, (path, main.text)
    assert http.get(lurl + "/healthz", timeout=10).json() == {"status": "ok"}
    r = http.post(lurl + "/v1/features/profiles:batch", json={"ids": ["p-x"]}, timeout=10)
    assert r.status_code == 400  # a body: batches stay on the main port
    bad = raw_exchange(lport, b"GET /v1/features/profiles/bad%zz HTTP/1.1\r\n\r\n", 1)[0]
    assert bad.startswith(b"HTTP/1.1 400 "), bad  # (requests would re-quote the %)
    # Many requests on one keep-alive connection, pipelined.
    req = b"GET /v1/features/titles/t-1 HTTP/1.1\r\nHost: x\r\n\r\n"
    answers = raw_exchange(lport, req * 300, 300)
    assert all(a.startswith(b"HTTP/1.1 200 OK\r\n") and b'"title_id":"t-1"' in a
               for a in answers)
    # The lookup port's own HTTP metrics (docs/fast_port.md, "Metrics").
    text = s.get("/metrics").text
    ok_titles = ('viewpipe_http_requests_total{port="lookup",route="/v1/features/titles/",'
                 'status="200"}')
    assert any(line.startswith(ok_titles + " ") and float(line.split()[-1]) >= 301
               for line in text.splitlines()), text
    assert 'viewpipe_http_requests_total{port="lookup",route="other",status="404"}' in text


def test_lookup_port_needs_a_read_token_and_survives_kill9(server):
    lport = free_port()
    s = start(server, lport, "--read-token", TOKEN)
    lurl = f"http://127.0.0.1:{lport}"
    post_all(s, [make_event("attempt", ts=now_ms() - 1000, event_id="k1", profile_id="p-k",
                            title_id="t-k", session_id="sk")])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    wait_for(lambda: s.get("/v1/features/profiles/p-k", headers=auth).status_code == 200,
             what="profile online")
    r = requests.get(lurl + "/v1/features/profiles/p-k", timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    wrong = requests.get(lurl + "/v1/features/profiles/p-k", timeout=10,
                         headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert requests.get(lurl + "/v1/features/profiles/p-k", headers=auth,
                        timeout=10).status_code == 200
    assert requests.get(f"{lurl}/v1/features/profiles/p-k?access_token={TOKEN}",
                        timeout=10).status_code == 200
    assert requests.get(lurl + "/healthz", timeout=10).status_code == 200  # probes stay open
    # kill -9, restart on the same ports: the lookups come back with the state.
    s.kill9()
    s.start()
    wait_for(lambda: requests.get(lurl + "/v1/features/profiles/p-k", headers=auth,
                                  timeout=10).status_code == 200,
             timeout=30, what="lookup port after restart")
    body = requests.get(lurl + "/v1/features/profiles/p-k", headers=auth, timeout=10).json()
    assert body["sessions_7d"] == 1


def metric(s, name: str) -> float:
    for line in s.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def sessions(lurl: str, http, profile: str, at: int | None = None) -> int | None:
    q = f"?at={at}" if at is not None else ""
    r = http.get(f"{lurl}/v1/features/profiles/{profile}{q}", timeout=10)
    return r.json()["sessions_7d"] if r.status_code == 200 else None


def batch(s, profiles: list, at: int) -> list:
    """The profiles' vectors read from the store (the batch route has no cache)."""
    r = s.http.post(f"{s.url}/v1/features/profiles:batch?at={at}", json={"ids": profiles},
                    timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["profiles"]


def attempt(profile: str, ts: int, n: int) -> dict:
    return make_event("attempt", ts=ts, event_id=f"{profile}-a{n}", profile_id=profile,
                      title_id="t-c", session_id=f"{profile}-s{n}")


def test_cached_lookups_follow_updates_within_the_freshness_bound(server):
    """The lookup cache (src/features/lookup_cache.h) answers repeated
    lookups; an update is readable within the freshness target (2 s) and the
    cached answer equals the store's at the same `at`."""
    lport = free_port()
    s = start(server, lport)
    lurl, http = f"http://127.0.0.1:{lport}", requests.Session()
    t = now_ms() - 60_000
    post_all(s, [attempt("p-c", t, 0)])
    wait_for(lambda: sessions(lurl, http, "p-c") == 1, what="profile online")
    hits = metric(s, "viewpipe_features_lookup_cache_hits_total")
    for _ in range(50):
        assert sessions(lurl, http, "p-c") == 1
    assert metric(s, "viewpipe_features_lookup_cache_hits_total") >= hits + 45  # cached
    for n in range(1, 6):  # each update: from the 200 to readable on the lookup port
        post_all(s, [attempt("p-c", t + n * 1000, n)])
        sent = time.monotonic()
        while sessions(lurl, http, "p-c") != n + 1:
            assert time.monotonic() - sent < 2.0, f"update {n} not readable within 2 s"
            time.sleep(0.002)
        at = now_ms()
        cached = http.get(f"{lurl}/v1/features/profiles/p-c?at={at}", timeout=10).json()
        assert cached == batch(s, ["p-c"], at)[0]
        assert http.get(f"{lurl}/v1/features/profiles/p-c?at={at}", timeout=10).json() == cached


def test_kill9_and_restart_never_serve_a_stale_cached_answer(server):
    """Cached answers, then updates and kill -9 mid-way, restart: every
    lookup equals the store's answer and counts every accepted event."""
    lport = free_port()
    s = start(server, lport)
    lurl, http = f"http://127.0.0.1:{lport}", requests.Session()
    profiles = [f"p-r{i}" for i in range(20)]
    t = now_ms() - 600_000
    expect = {p: 0 for p in profiles}
    for rnd in range(4):
        post_all(s, [attempt(p, t + rnd * 1000, rnd) for p in profiles])
        for p in profiles:
            expect[p] += 1
        if rnd == 0:
            wait_for(lambda: all(sessions(lurl, http, p) == 1 for p in profiles),
                     what="first round online")
            for p in profiles * 5:  # cache the round-1 answers
                assert sessions(lurl, http, p) == 1
        if rnd == 2:
            s.kill9()  # right after the post: the features path may be mid-batch
            s.start()
    wait_for(lambda: [sessions(lurl, http, p) for p in profiles] == [4] * 20,
             timeout=30, what="every accepted attempt counted after the restart")
    at = now_ms()
    stored = batch(s, profiles, at)
    for p, vec in zip(profiles, stored):
        assert http.get(f"{lurl}/v1/features/profiles/{p}?at={at}", timeout=10).json() == vec
        assert vec["sessions_7d"] == expect[p] == 4


def threads_named(pid: int, comm: str) -> list[str]:
    """The thread ids of process pid named comm."""
    tids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() == comm:
                    tids.append(tid)
        except OSError:
            pass
    return tids


def thread_sched(pid: int, tid: str) -> tuple[int, int | None]:
    """(nice, EEVDF slice in ns or None when the kernel does not show it)."""
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        nice = int(f.read().rsplit(")", 1)[1].split()[16])
    slice_ns = None
    with open(f"/proc/{pid}/task/{tid}/sched") as f:
        for line in f:
            if line.startswith("se.slice"):
                slice_ns = int(line.split(":")[1])
    return nice, slice_ns


def test_lookup_loops_get_a_short_slice_and_the_paths_a_lower_weight(server):
    """The lookup loop's scheduling (a woken loop preempts pipeline work; bench/README.md
    "Features") and --pipeline-nice on the consumer paths' threads, as the kernel sees them,
    with lookups still answered."""
    lport = free_port()
    s = start(server, lport, "--features-lookup-slice-us", 300, "--pipeline-nice", 3)
    pid = s.proc.pid
    base_nice = os.getpriority(os.PRIO_PROCESS, pid)
    wait_for(lambda: threads_named(pid, "vp-features"), what="the features path's thread")
    loops = threads_named(pid, "vp-lookup")
    assert len(loops) == 1, loops
    nice, slice_ns = thread_sched(pid, loops[0])
    assert nice == base_nice
    if slice_ns is not None:
        assert slice_ns == 300_000
    for comm in ("vp-features", "vp-ops"):
        for tid in threads_named(pid, comm):
            assert thread_sched(pid, tid)[0] == min(19, base_nice + 3), comm
    # Request-serving threads keep the process's weight.
    assert thread_sched(pid, threads_named(pid, "vp-lookup")[0])[0] == base_nice
    r = requests.get(f"http://127.0.0.1:{lport}/v1/features/profiles/nobody", timeout=10)
    assert r.status_code == 404


def test_lookup_loop_slice_and_pipeline_nice_defaults(server):
    lport = free_port()
    s = start(server, lport)
    pid = s.proc.pid
    wait_for(lambda: threads_named(pid, "vp-lookup"), what="the lookup loop")
    nice, slice_ns = thread_sched(pid, threads_named(pid, "vp-lookup")[0])
    if slice_ns is None:
        return  # the kernel does not show slices (before 6.6)
    assert slice_ns == 100_000
    # The paths run 5 nice steps below the process by default.
    base_nice = os.getpriority(os.PRIO_PROCESS, pid)
    wait_for(lambda: threads_named(pid, "vp-features"), what="the features path's thread")
    assert thread_sched(pid, threads_named(pid, "vp-features")[0])[0] == min(19, base_nice + 5)
