"""An S3 front that checks AWS Signature Version 4 the way S3 does, then
forwards to an S3-compatible server (moto's server mode, which does not
check signatures). Used by test_s3_signatures.py: viewpipe's S3 client
(libcurl's SigV4 plus our key and query encoding) must produce requests
that a signature-checking server accepts.

The check follows the SigV4 specification: the canonical URI is the
request path decoded and re-encoded (RFC 3986 unreserved characters kept,
'/' kept), the canonical query is every parameter decoded, re-encoded
('/' too) and sorted, the canonical headers are exactly the client's
SignedHeaders (lower-case, trimmed, inner spaces folded), and the payload
hash is x-amz-content-sha256, which must be there and equal the body's
SHA-256 unless it is UNSIGNED-PAYLOAD. `host`, `x-amz-date` and every other
x-amz-* header must be signed; the date must be within 15 minutes of now. The test checks this verifier against
botocore's own signer before trusting it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def canonical_query(raw_query: str) -> str:
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def verify(method: str, target: str, headers: dict[str, str], body: bytes,
           secret: str, now: dt.datetime | None = None) -> str | None:
    """None if the request's SigV4 signature is right, else why not.
    `target` is the request line's path and query, as received; `headers`
    has lower-case names."""
    auth = headers.get("authorization", "")
    if not auth.startswith(ALGORITHM + " "):
        return "no AWS4-HMAC-SHA256 Authorization header"
    fields = dict(p.strip().split("=", 1) for p in auth[len(ALGORITHM) + 1:].split(","))
    try:
        cred, signed, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
    except KeyError as e:
        return f"Authorization lacks {e}"
    _, date, region, service, term = cred.split("/")
    if term != "aws4_request" or service != "s3":
        return f"bad credential scope {cred}"
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        return f"host and x-amz-date must be signed (SignedHeaders={signed})"
    if names != sorted(names):
        return f"SignedHeaders not sorted: {signed}"
    unsigned = [h for h in headers if h.startswith("x-amz-") and h not in names]
    if unsigned:
        return f"x-amz-* headers must be signed: {unsigned}"
    amz_date = headers.get("x-amz-date", "")
    stamp = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    if abs((now - stamp).total_seconds()) > 900 or not amz_date.startswith(date):
        return f"x-amz-date {amz_date} out of range or not the scope's date {date}"
    payload = headers.get("x-amz-content-sha256")
    if payload is None:
        return "no x-amz-content-sha256 (S3 requires it)"
    if payload != "UNSIGNED-PAYLOAD" and payload != _sha256(body):
        return "x-amz-content-sha256 does not match the body"
    parts = urlsplit(target)
    canon_headers = "".join(f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names)
    canonical = "\n".join([method, quote(unquote(parts.path), safe="/-_.~"),
                           canonical_query(parts.query), canon_headers, signed, payload])
    scope = f"{date}/{region}/{service}/{term}"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, _sha256(canonical.encode())])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), term)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return f"SignatureDoesNotMatch; canonical request was:\n{canonical}"
    return None


class SigV4Proxy:
    """A checking front on 127.0.0.1:<port> for `upstream` (http://host:port)."""

    def __init__(self, upstream: str, secret: str):
        self.upstream = urlsplit(upstream).netloc
        self.secret = secret
        self.checked = 0
        self.refused: list[str] = []
        self.methods: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _record(self, method: str, target: str, why: str | None):
        with self._lock:
            self.checked += 1
            self.methods.add(method + (" ?" + urlsplit(target).query.split("=")[0]
                                       if urlsplit(target).query else ""))
            if why:
                self.refused.append(f"{method} {target}: {why}")

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                why = verify(self.command, self.path, headers, body, proxy.secret)
                proxy._record(self.command, self.path, why)
                if why:
                    xml = (f"<Error><Code>SignatureDoesNotMatch</Code><Message>{why.splitlines()[0]}"
                           "</Message></Error>").encode()
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.end_headers()
                    self.wfile.write(xml)
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                fwd = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=fwd)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "server", "date"):
                        self.send_header(k, v)
                # HEAD answers the object's length with no body.
                length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        return Handler
