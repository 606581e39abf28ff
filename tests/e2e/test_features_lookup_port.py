"""End-to-end tests of the features' lookup port (`serve --features-lookup-port`,
src/api/lookup_http_server.h): the same answers as the main API for the
GET lookups (byte for byte at a fixed `at`), the same 400/404s, the read
tokens, keep-alive and pipelining, a kill -9 and restart on the same port.
"""

from __future__ import annotations

import socket

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
