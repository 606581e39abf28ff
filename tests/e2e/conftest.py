"""Fixtures for the end-to-end tests: the real `viewpipe` binary run as a
collector on a loopback port and a temporary data dir, and its read-only
CLI (`viewpipe dump`, `viewpipe deadletters`).

VIEWPIPE_BIN overrides the binary (default build/release/viewpipe from the
repository root, or build/release/tools/viewpipe when only that exists).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from events import encode

REPO = Path(__file__).resolve().parents[2]
WRITE_KEY = "e2e-write-key"
READY_TIMEOUT_S = 30.0


def _binary() -> Path:
    if "VIEWPIPE_BIN" in os.environ:
        p = Path(os.environ["VIEWPIPE_BIN"])
        return p if p.is_absolute() else REPO / p
    default = REPO / "build" / "release" / "viewpipe"
    in_tools = REPO / "build" / "release" / "tools" / "viewpipe"  # CMake's default place
    return in_tools if not default.exists() and in_tools.exists() else default


@pytest.fixture(scope="session")
def viewpipe_bin() -> Path:
    p = _binary()
    if not os.access(p, os.X_OK):
        pytest.fail(f"viewpipe binary not found at {p}: build it (cmake --build build/release "
                    f"--target viewpipe) or set VIEWPIPE_BIN", pytrace=False)
    return p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(AssertionError):
    pass


class Server:
    """One `viewpipe serve` on a data dir. start() / stop() / kill9() may be
    called repeatedly; restarts keep the data dir and (if it can still be
    bound) the port. `url` is the current base URL. stderr of every run is
    appended to `log_path`."""

    def __init__(self, binary: Path, data_dir: Path, log_path: Path, write_keys, args):
        self.binary = binary
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.write_keys = list(write_keys)
        self.args = [str(a) for a in args]
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.http = requests.Session()

    # --- lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, port: int) -> list[str]:
        cmd = [str(self.binary), "serve", "--data-dir", str(self.data_dir),
               "--listen", f"127.0.0.1:{port}"]
        for k in self.write_keys:
            cmd += ["--write-key", k]
        return cmd + self.args

    def start(self, timeout: float = READY_TIMEOUT_S) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        for attempt in range(3):
            self.port = self.port if (self.port and attempt == 0) else free_port()
            self.spawn()
            if self._wait_ready(timeout):
                return self
            if "address already in use" not in self.log_tail().lower():
                break
        code = self.proc.poll()
        self.kill9()
        why = (f"exited with code {code} before it was ready" if code is not None
               else f"not ready within {timeout:.0f}s")
        raise ServerError(f"viewpipe serve {why}: {' '.join(self.command(self.port))}\n"
                          f"its log:\n{self.log_tail()}")

    def spawn(self) -> None:
        """Starts the process on the current port without waiting for it."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts} on port {self.port} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command(self.port), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.02)
        return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Sends sig and waits for the exit; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        # Our idle keep-alive connections would hold a graceful shutdown up
        # to the server's keep-alive timeout (5 s).
        self.http.close()
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise ServerError(f"viewpipe serve did not exit within {timeout}s of signal {sig}; "
                              f"its log:\n{self.log_tail()}")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "<no log>"
        return "\n".join(lines[-n:])

    # --- HTTP
    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        r = self.http.get(self.url + path, **kw)
        r.raw = None  # see post_body
        return r

    def post_body(self, body: bytes, headers: dict, key: str | None = WRITE_KEY,
                  path: str = "/v1/events", **kw) -> requests.Response:
        h = dict(headers)
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        kw.setdefault("timeout", 60)
        r = self.http.post(self.url + path, data=body, headers=h, **kw)
        # The body is read; a kept Response would otherwise hold its socket
        # open, and an idle keep-alive connection delays a clean stop by 5 s.
        r.raw = None
        return r

    def post(self, events: list, fmt: str = "json", gzip: bool = False,
             key: str | None = WRITE_KEY, **kw) -> requests.Response:
        body, headers = encode(events, fmt, gzip)
        return self.post_body(body, headers, key, **kw)


@pytest.fixture
def server(viewpipe_bin, tmp_path):
    """Factory: server(*args, data_dir=None, write_keys=(WRITE_KEY,), start=True)
    returns a started Server (extra CLI args such as "--max-events", 10). All
    servers are killed at teardown."""
    made: list[Server] = []

    def make(*args, data_dir=None, write_keys=(WRITE_KEY,), start=True) -> Server:
        n = len(made)
        d = Path(data_dir) if data_dir else tmp_path / f"data{n}"
        d.mkdir(parents=True, exist_ok=True)
        s = Server(viewpipe_bin, d, tmp_path / f"server{n}.log", write_keys, args)
        made.append(s)
        return s.start() if start else s

    yield make
    for s in made:
        s.kill9()
        s.http.close()


def run_cli(binary: Path, *args, timeout: float = 120) -> str:
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"viewpipe {' '.join(map(str, args))} exited {r.returncode}:\n"
                             f"{r.stderr.decode(errors='replace')[-4000:]}")
    return r.stdout.decode()


def parse_ndjson(text: str, what: str) -> list[dict]:
    out = []
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise AssertionError(f"{what}: line {i + 1} is not JSON ({e}): {line[:300]!r}")
    return out


@pytest.fixture(scope="session")
def dump(viewpipe_bin):
    """dump(data_dir_or_server, topic) -> the records of `viewpipe dump`,
    each {"partition","offset","timestamp","value"}."""
    def run(where, topic: str) -> list[dict]:
        d = where.data_dir if isinstance(where, Server) else where
        text = run_cli(viewpipe_bin, "dump", "--data-dir", d, "--topic", topic)
        recs = parse_ndjson(text, f"viewpipe dump --topic {topic}")
        for r in recs:
            assert set(r) >= {"partition", "offset", "timestamp", "value"}, r
        return recs
    return run


@pytest.fixture(scope="session")
def deadletters_cli(viewpipe_bin):
    """deadletters_cli(data_dir_or_server) -> the dead letters printed by
    `viewpipe deadletters`."""
    def run(where) -> list[dict]:
        d = where.data_dir if isinstance(where, Server) else where
        return parse_ndjson(run_cli(viewpipe_bin, "deadletters", "--data-dir", d),
                            "viewpipe deadletters")
    return run
