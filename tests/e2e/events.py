"""Builders of viewing events as ../shared/spec/events.md defines them (the
player contract), request bodies in every accepted encoding, and the
comparison of a stored event (`viewpipe dump` value) with the one sent.

Every builder takes an optional random.Random so a run can be replayed from
its seed; event_ids are UUIDs drawn from that generator.
"""

from __future__ import annotations

import datetime as _dt
import gzip as _gzip
import json
import random
import time
import uuid

# The types the collector also writes to `qoe`: events.md's QoE types plus
# heartbeat, pause and resume, which the SRE path needs (docs/sre.md).
QOE_TYPES = frozenset(
    ["attempt", "play_start", "rebuffer_start", "rebuffer_end", "bitrate_change", "error", "stop",
     "heartbeat", "pause", "resume"]
)
EVENT_TYPES = (
    "attempt", "play_start", "heartbeat", "pause", "resume", "seek", "bitrate_change",
    "rebuffer_start", "rebuffer_end", "error", "stop",
)
DEVICE_TYPES = ("tv", "mobile", "tablet", "web", "console", "other")
# Every field of events.md; a stored value holds these plus received_at.
CONTRACT_FIELDS = frozenset([
    "event_id", "type", "ts", "session_id", "profile_id", "title_id", "device_type", "country",
    "cdn", "os", "app_version", "isp", "position_ms", "bitrate_kbps", "startup_ms",
    "rebuffer_ms", "error_code", "fatal", "live_event_id", "experiments",
])

COUNTRIES = ("US", "GB", "DE", "FR", "BR", "IN", "JP", "ES", "IT", "CA", "MX", "SE")
CDNS = ("cdn-a", "cdn-b", "cdn-c")
OSES = {"tv": "tizen", "mobile": "android", "tablet": "ipados", "web": "chrome",
        "console": "ps5", "other": "linux"}
ISPS = ("comcast", "vodafone", "orange", "telefonica", "bt", "ntt")
BITRATES = (800, 1500, 3000, 4500, 6000, 8000)
ERROR_CODES = ("DRM_LICENSE", "MANIFEST_404", "DECODER", "NETWORK_TIMEOUT")

_default_rng = random.Random()


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(rng: random.Random | None = None) -> str:
    """A UUID v4 string drawn from rng (reproducible from its seed)."""
    rng = rng or _default_rng
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rfc3339(ms: int, offset_minutes: int = 0) -> str:
    """ms since epoch as an RFC 3339 string with millisecond precision."""
    tz = _dt.timezone(_dt.timedelta(minutes=offset_minutes))
    t = _dt.datetime.fromtimestamp(ms / 1000, tz)
    s = t.isoformat(timespec="milliseconds")
    return s.replace("+00:00", "Z") if offset_minutes == 0 else s


def make_event(type: str = "heartbeat", *, rng: random.Random | None = None,
               ts: int | str | None = None, session: dict | None = None, **overrides) -> dict:
    """One valid event of `type`: every required field, the ones its type
    requires, and realistic optional ones. `session` (from new_session) fixes
    the session's fields; overrides replace or add fields (a value of None
    removes the field)."""
    rng = rng or _default_rng
    s = session or new_session(rng)
    e = {
        "event_id": new_id(rng),
        "type": type,
        "ts": now_ms() if ts is None else ts,
        "session_id": s["session_id"],
        "profile_id": s["profile_id"],
        "title_id": s["title_id"],
        "device_type": s["device_type"],
        "country": s["country"],
        "cdn": s["cdn"],
        "os": s["os"],
        "app_version": s["app_version"],
        "isp": s["isp"],
    }
    if s.get("live_event_id"):
        e["live_event_id"] = s["live_event_id"]
    if s.get("experiments"):
        e["experiments"] = dict(s["experiments"])
    if type != "attempt":
        e["position_ms"] = rng.randrange(0, 7_200_000)
    if type in ("heartbeat", "bitrate_change", "play_start"):
        e["bitrate_kbps"] = rng.choice(BITRATES)
    if type == "play_start":
        e["startup_ms"] = rng.randrange(150, 6000)
    elif type == "rebuffer_end":
        e["rebuffer_ms"] = rng.randrange(100, 15000)
    elif type == "error":
        e["error_code"] = rng.choice(ERROR_CODES)
        e["fatal"] = rng.random() < 0.5
    for k, v in overrides.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def new_session(rng: random.Random | None = None) -> dict:
    """The fields every event of one playback session shares."""
    rng = rng or _default_rng
    device = rng.choice(DEVICE_TYPES)
    s = {
        "session_id": new_id(rng),
        "profile_id": "p-%06d" % rng.randrange(1_000_000),
        "title_id": "t-%04d" % rng.randrange(5000),
        "device_type": device,
        "country": rng.choice(COUNTRIES),
        "cdn": rng.choice(CDNS),
        "os": OSES[device],
        "app_version": "%d.%d.%d" % (rng.randrange(1, 9), rng.randrange(20), rng.randrange(50)),
        "isp": rng.choice(ISPS),
    }
    if rng.random() < 0.1:
        s["live_event_id"] = "live-%03d" % rng.randrange(100)
    if rng.random() < 0.3:
        s["experiments"] = {"exp-player": rng.choice(["control", "treatment"]),
                            "exp-abr": rng.choice(["a", "b", "c"])}
    return s


def make_session_events(rng: random.Random | None = None, *, n: int = 20,
                        start_ts: int | None = None) -> list[dict]:
    """About n events of one realistic playback session, in event-time order:
    attempt, play_start, heartbeats every 10 s with pauses, seeks, bitrate
    changes and stalls in between, and an end (stop, or now and then a fatal
    error). By default it starts 30 minutes ago, so even a long session
    stays in the past."""
    rng = rng or _default_rng
    s = new_session(rng)
    t = (now_ms() - 30 * 60_000) if start_ts is None else start_ts
    out = [make_event("attempt", rng=rng, ts=t, session=s)]
    t += rng.randrange(200, 5000)
    out.append(make_event("play_start", rng=rng, ts=t, session=s))
    while len(out) < n - 1:
        t += rng.randrange(500, 10_000)
        r = rng.random()
        if r < 0.70:
            out.append(make_event("heartbeat", rng=rng, ts=t, session=s))
        elif r < 0.78:
            out.append(make_event("bitrate_change", rng=rng, ts=t, session=s))
        elif r < 0.85:
            out.append(make_event("rebuffer_start", rng=rng, ts=t, session=s))
            t += rng.randrange(100, 8000)
            out.append(make_event("rebuffer_end", rng=rng, ts=t, session=s))
        elif r < 0.91:
            out.append(make_event("pause", rng=rng, ts=t, session=s))
            t += rng.randrange(1000, 30_000)
            out.append(make_event("resume", rng=rng, ts=t, session=s))
        elif r < 0.96:
            out.append(make_event("seek", rng=rng, ts=t, session=s))
        else:
            out.append(make_event("error", rng=rng, ts=t, session=s, fatal=False))
    t += rng.randrange(500, 10_000)
    if rng.random() < 0.05:
        out.append(make_event("error", rng=rng, ts=t, session=s, fatal=True))
    else:
        out.append(make_event("stop", rng=rng, ts=t, session=s))
    return out


# Invalid events that still carry a usable event_id, each wrong in one way.
# name -> (function(valid event, rng) -> invalid event, the field the reason must name)
def _set(**kv):
    def f(e, rng):
        e = dict(e)
        for k, v in kv.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e
    return f


def _as(type_, **kv):
    def f(e, rng):
        e = make_event(type_, rng=rng, ts=e["ts"], session=_session_of(e), event_id=e["event_id"])
        return _set(**kv)(e, rng)
    return f


def _session_of(e):
    keys = ("session_id", "profile_id", "title_id", "device_type", "country", "cdn", "os",
            "app_version", "isp", "live_event_id", "experiments")
    return {k: e[k] for k in keys if k in e}


INVALID_KINDS = {
    "ts_not_integer": (_set(ts="yesterday"), "ts"),
    "ts_float": (lambda e, rng: _set(ts=e["ts"] + 0.5)(e, rng), "ts"),
    "ts_too_old": (lambda e, rng: _set(ts=now_ms() - 8 * 86_400_000)(e, rng), "ts"),
    "ts_in_future": (lambda e, rng: _set(ts=now_ms() + 15 * 60_000)(e, rng), "ts"),
    "type_unknown": (_set(type="teleport"), "type"),
    "type_missing": (_set(type=None), "type"),
    "country_lower": (_set(country="us"), "country"),
    "country_three": (_set(country="USA"), "country"),
    "country_missing": (_set(country=None), "country"),
    "device_unknown": (_set(device_type="toaster"), "device_type"),
    "cdn_missing": (_set(cdn=None), "cdn"),
    "cdn_too_long": (_set(cdn="c" * 33), "cdn"),
    "session_not_string": (_set(session_id=12345), "session_id"),
    "session_empty": (_set(session_id=""), "session_id"),
    "profile_too_long": (_set(profile_id="p" * 65), "profile_id"),
    "title_missing": (_set(title_id=None), "title_id"),
    "os_too_long": (_set(os="o" * 33), "os"),
    "isp_too_long": (_set(isp="i" * 65), "isp"),
    "position_negative": (_set(position_ms=-1), "position_ms"),
    "bitrate_overflow": (_set(bitrate_kbps=2**31), "bitrate_kbps"),
    "bitrate_string": (_set(bitrate_kbps="3000"), "bitrate_kbps"),
    "play_start_without_startup": (_as("play_start", startup_ms=None), "startup_ms"),
    "rebuffer_end_without_ms": (_as("rebuffer_end", rebuffer_ms=None), "rebuffer_ms"),
    "error_without_fatal": (_as("error", fatal=None), "fatal"),
    "error_fatal_not_bool": (_as("error", fatal="yes"), "fatal"),
    "error_without_code": (_as("error", error_code=None), "error_code"),
    "experiments_too_many": (_set(experiments={"e%d" % i: "v" for i in range(17)}),
                             "experiments"),
    "experiments_not_object": (_set(experiments=["a", "b"]), "experiments"),
}


def make_invalid(kind: str, rng: random.Random | None = None, base: dict | None = None
                 ) -> tuple[dict, str]:
    """An event invalid in the way INVALID_KINDS[kind] says, with a fresh
    event_id; returns (event, the field its rejection reason must name)."""
    rng = rng or _default_rng
    mutate, field = INVALID_KINDS[kind]
    base = base or make_event(rng.choice(["heartbeat", "seek", "pause"]), rng=rng)
    return mutate(dict(base), rng), field


# ---------------------------------------------------------------- bodies

def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def encode(events: list, fmt: str = "json", gzip: bool = False) -> tuple[bytes, dict]:
    """A POST /v1/events body of events and its headers (without auth).
    fmt is "json" ({"events": [...]}) or "ndjson" (one event a line). An
    item that is already bytes or str is sent as that raw text."""
    def text(e):
        if isinstance(e, bytes):
            return e
        if isinstance(e, str):
            return e.encode()
        return compact(e).encode()

    if fmt == "json":
        body = b'{"events":[' + b",".join(text(e) for e in events) + b"]}"
        headers = {"Content-Type": "application/json"}
    elif fmt == "ndjson":
        body = b"".join(text(e) + b"\n" for e in events)
        headers = {"Content-Type": "application/x-ndjson"}
    else:
        raise ValueError(fmt)
    if gzip:
        body = _gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return body, headers


# ------------------------------------------------------------ comparison

def expected_value(sent: dict) -> dict:
    """What the collector must store for a valid event: the contract fields
    as sent (unknown ones dropped), ts in ms."""
    out = {k: v for k, v in sent.items() if k in CONTRACT_FIELDS}
    if isinstance(out["ts"], str):
        out["ts"] = parse_rfc3339_ms(out["ts"])
    return out


def parse_rfc3339_ms(s: str) -> int:
    t = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return int(round(t.timestamp() * 1000))


def stored_mismatch(value: dict, sent: dict) -> str | None:
    """None when a stored value is exactly the sent event (plus an integer
    received_at; absent optional fields may be omitted or null), else a
    description of the difference."""
    if not isinstance(value.get("received_at"), int):
        return "received_at missing or not an integer: %r" % (value.get("received_at"),)
    got = {k: v for k, v in value.items() if k != "received_at" and v is not None}
    want = expected_value(sent)
    if got == want:
        return None
    diffs = []
    for k in sorted(set(got) | set(want)):
        if got.get(k, "<absent>") != want.get(k, "<absent>"):
            diffs.append("%s: stored %r, sent %r" % (k, got.get(k, "<absent>"),
                                                    want.get(k, "<absent>")))
    return "; ".join(diffs)
