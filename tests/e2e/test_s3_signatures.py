"""viewpipe's S3 requests carry valid AWS Signature Version 4 signatures.

moto's S3 server (what the other S3 tests use) does not check signatures,
so a wrong canonical request (a key's '=' or space encoded differently, an
unsorted query) would pass every other test and fail on real S3. Here
sigv4_proxy.SigV4Proxy checks each request as S3 does and forwards it to
moto. First the checker itself is tested against botocore's signer (it
accepts what botocore signs and refuses any change); then every S3 case of
the ObjectStore conformance suite (put, conditional put, multipart upload,
get, head, paged list, delete, bucket creation) runs through it with no
refusal; and with a different secret every request is refused.

The S3 server comes from the environment when scripts/test.sh started it
(VP_S3_ENDPOINT); otherwise test_scale's fixture starts one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sigv4_proxy import SigV4Proxy, verify
from test_scale import s3  # noqa: F401  (the module's S3 server fixture)

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = REPO / "build" / "release" / "src" / "lake" / "object_store_conformance_test"
SECRET = "testing"  # what the conformance suite signs with


def botocore_signed(method: str, url: str, body: bytes, headers: dict[str, str]):
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    S3SigV4Auth(Credentials("testing", SECRET), "s3", "us-east-1").add_auth(req)
    split = url.split("/", 3)
    target = "/" + split[3] if len(split) > 3 else "/"
    # botocore signs the URL's host without adding the header; a server sees it.
    return target, {"host": split[2], **{k.lower(): v for k, v in req.headers.items()}}


@pytest.mark.parametrize("method,path,body", [
    ("PUT", "/bkt/events/event_date%3D2026-11-29/hour%3D07/part-0.parquet", b"parquet bytes"),
    ("PUT", "/bkt/x/2/a%3Db%20c", b""),
    ("GET", "/bkt?continuation-token=1%2Fab%2B%3D&list-type=2&prefix=x%2F2%2Fa%3Db", b""),
    ("POST", "/bkt/big/part-0.parquet?uploads=", b""),
    ("PUT", "/bkt/big/part-0.parquet?partNumber=2&uploadId=a%2Bb%2Fc", b"part two"),
])
def test_the_checker_accepts_botocore_signatures_and_refuses_any_change(method, path, body):
    target, headers = botocore_signed(method, "http://127.0.0.1:9000" + path, body,
                                      {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert verify(method, target, headers, body, SECRET) is None
    assert verify(method, target, headers, body, "other-secret") is not None
    tampered_path = target.replace("part", "parT", 1) if "part" in target else target + "x"
    assert verify(method, tampered_path, headers, body, SECRET) is not None
    assert verify("DELETE" if method != "DELETE" else "GET", target, headers, body, SECRET)
    moved = dict(headers, **{"x-amz-date": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(
        hours=1)).strftime("%Y%m%dT%H%M%SZ")})
    assert verify(method, target, moved, body, SECRET) is not None
    # A signed payload hash must be the body's.
    target, headers = botocore_signed(method, "http://127.0.0.1:9000" + path, body, {})
    assert verify(method, target, headers, body, SECRET) is None
    assert verify(method, target, headers, body + b"!", SECRET) is not None


def run_conformance(endpoint: str, gtest_filter: str) -> subprocess.CompletedProcess:
    if not os.access(CONFORMANCE, os.X_OK):
        pytest.fail(f"{CONFORMANCE} not built (cmake --build build/release)", pytrace=False)
    env = dict(os.environ, VP_S3_ENDPOINT=endpoint)
    return subprocess.run([str(CONFORMANCE), f"--gtest_filter={gtest_filter}"], env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_s3_request_of_the_conformance_suite_is_signed_right(s3):  # noqa: F811
    with SigV4Proxy(s3, SECRET) as proxy:
        r = run_conformance(proxy.endpoint, "Stores/ObjectStoreConformanceTest.*/s3")
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
        assert "[  PASSED  ]" in r.stdout and "SKIPPED" not in r.stdout.split("[  PASSED  ]")[1]
    assert proxy.refused == [], "\n\n".join(proxy.refused[:3])
    assert proxy.checked > 1000  # the paged list alone puts 1005 objects
    # Every kind of request the S3 store makes went through the checker.
    for kind in ("PUT", "GET", "HEAD", "DELETE", "POST ?uploads", "PUT ?partNumber",
                 "POST ?uploadId", "GET ?list-type", "GET ?continuation-token"):
        assert kind in proxy.methods, f"{kind} not seen: {sorted(proxy.methods)}"


def test_a_wrong_secret_is_refused(s3):  # noqa: F811
    with SigV4Proxy(s3, "not-" + SECRET) as proxy:
        r = run_conformance(proxy.endpoint, "Stores/ObjectStoreConformanceTest.PutGetSizeExists/s3")
    assert r.returncode != 0
    assert "SignatureDoesNotMatch" in r.stdout, r.stdout[-3000:]
    assert proxy.checked > 0 and len(proxy.refused) == proxy.checked
