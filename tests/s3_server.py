"""moto's S3 server (PyPI moto[server]) as the tests run it: `python3 -m
moto.server`, with its conditional writes made atomic.

moto checks a PUT's If-None-Match / If-Match against the stored object and
then writes, two steps that two threads of its server can interleave: two
concurrent "create only if absent" PUTs of one key could both succeed (seen
once in CI, under load), where S3 lets exactly one win (ObjectStore's
PutIfAbsent relies on it). Here the requests that carry a condition run one
at a time; every other request stays concurrent.

Usage: python3 tests/s3_server.py -H 127.0.0.1 -p PORT (moto.server's flags).
"""

import threading

import moto.server

_run_simple = moto.server.run_simple


def _run_simple_serializing_conditions(host, port, app, **kwargs):
    lock = threading.Lock()

    def serialized(environ, start_response):
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ:
            with lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    _run_simple(host, port, serialized, **kwargs)


if __name__ == "__main__":
    moto.server.run_simple = _run_simple_serializing_conditions
    moto.server.main()
