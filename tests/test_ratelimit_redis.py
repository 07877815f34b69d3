"""Rate limits shared across servers on a real Redis, and what happens while Redis is down.

Two ``cyclemap serve`` processes on one throwaway ``redis-server`` enforce one limit between them.
With Redis killed, lookups go on being served (each process counts in its own memory meanwhile,
with one warning in its log and no traceback), and once Redis is back both share one limit
again. Staff sign-in limits are shared the same way, and fail closed while Redis is down.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from .conftest import Clock, write_city
from .procs import Http, serve, stop, wait_started
from .redis_server import RedisServer, redis_server  # noqa: F401  (fixture)
from .staff import PASSWORD, add_accounts, csrf_token, sign_in
from .test_api import TINY_NOTES, TINY_ROWS
from .test_serve import free_port

pytestmark = pytest.mark.redis

LOOKUP = "/api/v1/lookup?address=101+N+MAIN+ST"
LIMIT = 4
FALLBACK_LINE = "Rate limit storage unreachable"


def alternate(servers: list[Http], count: int) -> list[int]:
    """``count`` lookups from one client, sent to each server in turn: their statuses."""
    return [servers[i % len(servers)].get(LOOKUP).status for i in range(count)]


def wait_back_on_redis(server: Http, redis: RedisServer, timeout: float = 60.0) -> None:
    """Send lookups to ``server`` until its counter shows up in Redis again (it checks the
    storage with a growing pause once it fell back to memory)."""
    client = redis.client()
    client.flushall()
    deadline = time.monotonic() + timeout
    while not client.keys("*"):
        assert time.monotonic() < deadline, "the server did not go back to Redis"
        server.get(LOOKUP)
        time.sleep(0.25)
    client.flushall()


def test_two_servers_on_one_redis_enforce_one_limit_and_survive_its_outage(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    city = write_city(tmp_path / "testville", addresses=TINY_ROWS, notes_toml=TINY_NOTES)
    url = f"sqlite:///{tmp_path / 'cyclemap.sqlite'}"
    settings = {
        "CYCLEMAP_RATELIMIT": f"{LIMIT} per minute",
        "CYCLEMAP_RATELIMIT_STORAGE_URL": redis_server.url,
    }
    procs, servers, logs = [], [], []
    try:
        for name in ("a", "b"):  # one after the other: the first seeds the database
            port, log = free_port(), tmp_path / f"server-{name}.log"
            procs.append(serve(tmp_path, city, url, port, log, **settings))
            logs.append(log)
            wait_started(port, procs[-1], log)
            servers.append(Http(port))

        # before: one limit for both servers (in-memory counts would allow 2 x LIMIT)
        assert alternate(servers, LIMIT + 2) == [200] * LIMIT + [429, 429]
        assert redis_server.client().keys("*"), "the counter is kept in Redis"
        limited = servers[0].get(LOOKUP)
        assert limited.mimetype == "application/problem+json" and limited.headers["Retry-After"]

        # during: Redis killed; lookups are served, each process counting on its own
        redis_server.kill()
        started = time.monotonic()
        assert alternate(servers, 2 * (LIMIT - 1)) == [200] * (2 * (LIMIT - 1))
        assert time.monotonic() - started < 5  # no waiting on a dead Redis per request
        assert all(s.get("/healthz").status == 200 for s in servers)

        # after: Redis back (empty); both servers go back to it and share one limit again
        redis_server.start()
        for server in servers:
            wait_back_on_redis(server, redis_server)
        assert alternate(servers, LIMIT + 2) == [200] * LIMIT + [429, 429]
    finally:
        for proc in procs:
            stop(proc)
    for log in logs:
        out = log.read_text()
        assert out.count(FALLBACK_LINE) == 1, out[-3000:]  # one line, not one per request
        assert "Traceback" not in out, out[-3000:]


# -- staff sign-in limits: shared, and failing closed ------------------------------------------
def test_signin_limits_are_shared_and_fail_closed_while_redis_is_down(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    from cyclemap.server import create_app

    city = write_city(tmp_path / "testville", addresses=TINY_ROWS, notes_toml=TINY_NOTES)
    config = {
        "TESTING": True,
        "CITY": str(city),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cyclemap.sqlite'}",
        "CLOCK": Clock(),
        "RATELIMIT": "100 per minute",
        "RATELIMIT_STORAGE_URL": redis_server.url,
    }
    a, b = create_app(config), create_app(config)  # two servers on one database and one Redis
    add_accounts(a)

    def attempt(app, password: str):
        client = app.test_client()
        token = csrf_token(client.get("/staff/login").text)
        form = {"csrf_token": token, "username": "eve", "password": password}
        return client, client.post("/staff/login", data=form)

    # before: failures on either server count for both (5 per username by default)
    for app in (a, a, a, b, b):
        assert attempt(app, "wrong password")[1].status_code == 401
    _, paused = attempt(a, PASSWORD)
    assert paused.status_code == 429 and "paused" in paused.text
    redis_server.client().flushall()
    clerk = a.test_client()
    assert sign_in(clerk, "eve").status_code == 302
    assert clerk.get("/staff/").status_code == 200

    # during: Redis killed; sign-in is refused without checking the password (fail closed),
    # a clerk already signed in goes on working, lookups are served
    caplog.set_level(logging.WARNING, logger="cyclemap")
    redis_server.kill()
    for app in (b, b, a):
        client, refused = attempt(app, PASSWORD)
        assert refused.status_code == 503, refused.text[:300]
        assert "Sign-in is paused for a moment" in refused.text
        # flask-limiter may lengthen it to its own window's end (RATELIMIT is on here)
        assert int(refused.headers["Retry-After"]) >= 30
        assert client.get("/staff/").status_code == 302  # not signed in: back to the form
    assert clerk.get("/staff/").status_code == 200
    assert all(a.test_client().get(LOOKUP).status_code == 200 for _ in range(3))

    # after: Redis back; sign-in works again
    redis_server.start()
    client, signed_in = attempt(b, PASSWORD)
    assert signed_in.status_code == 302
    assert client.get("/staff/").status_code == 200
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("cyclemap.server")]
    refused_lines = [m for m in messages if "staff sign-in is refused" in m]
    assert len(refused_lines) == 2, messages  # one per server (process) that saw it go down
    assert sum("staff sign-in is open" in m for m in messages) == 1, messages  # b saw it return
