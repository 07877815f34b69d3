"""Database faults for real: a PostgreSQL cluster stopped and started again, an SQLite file made
unreadable and readable again, a server started with no database at all.

While the database is down a running server goes on answering lookups, suggest, the pages and
the map from the snapshot it read last, ``/healthz`` says ``degraded`` and why (still 200),
``/readyz`` answers 503, staff pages and writes answer 503 (problem+json to a client that asks
for JSON, a page otherwise), the CLI fails with one line and exit status 2, and one line is
logged when the outage starts and one when it ends. When the database is back the server
recovers by itself. Each test checks the answers before, during and after.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cyclemap import city as city_module
from cyclemap.cli import main
from cyclemap.errors import StoreUnavailableError
from cyclemap.server.openapi import document

from .conftest import ROOT, Clock, swap_cycles, write_city
from .pg import own_cluster
from .procs import (
    Get,
    Http,
    Reply,
    cli_env,
    cyclemap_cmd,
    flask_get,
    serve,
    stop,
    wait_started,
)
from .staff import PASSWORD, add_accounts, csrf_token, sign_in
from .test_api import TINY_NOTES, TINY_ROWS
from .test_openapi import BASE, check
from .test_serve import free_port

#: the resident's reads that must go on while the database is down (JSON: compared exactly)
JSON_READS = [
    "/api/v1/lookup?address=101+N+MAIN+ST",
    "/api/v1/lookup?lon=0.0151&lat=0.0080",
    "/api/v1/suggest?q=101",
    "/api/v1/cycles",
    "/api/v1/cycles/2",
    "/api/v1/boundaries.geojson",
]
#: pages (a fresh CSP nonce each time, so compared by what they must say)
PAGE_READS = {
    "/": "Cycle 2",
    "/lookup?address=101+N+MAIN+ST": "Cycle 2",
    "/map": "map",
    "/embed": "map",
}
NOTE_TITLE = "Water main work"
JSON_ACCEPT = {"Accept": "application/json"}
BROWSER_ACCEPT = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DOWN_LINE = "the store cannot be read"
UP_LINE = "the store can be read again"


# -- what is checked before, during and after ------------------------------------------------
def reads(get: Get) -> dict[str, Any]:
    """Every resident read answered 200: the JSON bodies, the pages checked by their words."""
    bodies = {}
    for path in JSON_READS:
        reply = get(path)
        assert reply.status == 200, (path, reply.status, reply.body[:300])
        bodies[path] = reply.json()
    for path, words in PAGE_READS.items():
        reply = get(path)
        assert reply.status == 200, (path, reply.status, reply.body[:300])
        assert words in reply.text, path
    return bodies


def wait_health(get: Get, status: str, timeout: float = 20.0) -> dict:
    """Poll ``/healthz`` (always 200) until it says ``status``; its body."""
    deadline = time.monotonic() + timeout
    while True:
        reply = get("/healthz")
        assert reply.status == 200, reply.body
        body = reply.json()
        if body["status"] == status or time.monotonic() > deadline:
            assert body["status"] == status, body
            return body
        time.sleep(0.1)


def as_documented(reply: Reply, path: str) -> None:
    """The reply is what the OpenAPI document declares for its path and status."""
    doc = document()
    registry = Registry().with_resource(BASE, Resource.from_contents(doc, DRAFT202012))
    response = SimpleNamespace(status_code=reply.status, mimetype=reply.mimetype, data=reply.body)
    check(doc, registry, response, path)


def check_degraded(get: Get, before: dict[str, Any], secrets: list[str]) -> dict:
    """The server answers from its snapshot, and says so; nothing names the database."""
    health = wait_health(get, "degraded")
    assert set(health) == {"status", "boundary_version", "reason"}
    assert health["reason"].startswith("the database cannot be read since ")
    assert not any(secret in health["reason"] for secret in secrets), health["reason"]
    as_documented(get("/healthz"), "/healthz")
    ready = get("/readyz")
    assert ready.status == 503 and ready.mimetype == "application/json"
    assert ready.json()["status"] == "degraded" and ready.headers["Retry-After"]
    as_documented(ready, "/readyz")
    assert reads(get) == before
    return health


def check_recovered(get: Get, before: dict[str, Any]) -> None:
    health = wait_health(get, "ok")
    assert set(health) == {"status", "boundary_version"}
    assert get("/readyz").status == 200
    assert reads(get) == before


def assert_unavailable_problem(reply: Reply, path: str, secrets: list[str]) -> None:
    assert reply.status == 503, (path, reply.status, reply.body[:300])
    assert reply.mimetype == "application/problem+json", path
    problem = reply.json()
    assert problem["status"] == 503 and problem["code"] == "store-unavailable"
    assert "nothing was changed" in problem["detail"]
    assert reply.headers["Retry-After"] == "30"
    assert not any(secret in reply.text for secret in secrets)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def tiny_city(tmp_path: Path) -> Path:
    return write_city(tmp_path / "testville", addresses=TINY_ROWS, notes_toml=TINY_NOTES)


def note_form(token: str) -> dict:
    return {
        "csrf_token": token,
        "title": NOTE_TITLE,
        "body": "Bills may come late.",
        "cycles": ["2"],
        "starts": "",
        "ends": "",
        "display_order": "0",
        "save": "Save note",
    }


def note_titles(get: Get) -> list[str]:
    return [n["title"] for n in get("/api/v1/cycles/2").json()["notes"]]


# -- PostgreSQL stopped and started again ----------------------------------------------------
@pytest.fixture
def cluster():
    cluster = own_cluster()
    try:
        cluster.admin('CREATE DATABASE "cyclemap"')
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_postgresql_stopped_and_started_again(cluster, tmp_path, monkeypatch, caplog):
    from cyclemap.server import create_app

    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.3)
    url = cluster.url("cyclemap")
    clock = Clock()
    config = {"TESTING": True, "CITY": str(tiny_city(tmp_path)), "DATABASE_URL": url}
    app = create_app({**config, "CLOCK": clock})
    add_accounts(app)
    store, city = app.extensions["cyclemap.store"], app.extensions["cyclemap.city"]
    # a version scheduled for tomorrow: cycles 1 and 2 swap then (the outage spans midnight)
    tomorrow = clock.today + dt.timedelta(days=1)
    scheduled = store.publish_boundaries(
        swap_cycles(city.boundaries.to_geojson()),
        author="clerk",
        message="swap",
        effective=tomorrow,
    )
    resident = flask_get(app.test_client())
    clerk = app.test_client()
    assert sign_in(clerk, "eve").status_code == 302
    staff = flask_get(clerk)
    secrets = [str(cluster.sockdir), "postgres@"]

    # before: everything answers
    assert wait_health(resident, "ok") == {"status": "ok", "boundary_version": 1}
    assert resident("/readyz").status == 200
    before = reads(resident)
    assert before[JSON_READS[0]]["effective_changes"] == [
        {
            "date": tomorrow.isoformat(),
            "cycle": {"id": "1", "name": "Cycle 1", "color": "#000001"},
        }
    ]
    assert staff("/staff/").status == 200 and staff("/staff/notes").status == 200
    token = csrf_token(clerk.get("/staff/notes/new").text)  # the form was open before

    caplog.set_level(logging.WARNING, logger="cyclemap")
    cluster.halt()
    try:
        check_degraded(resident, before, secrets)
        # staff pages and writes: 503, problem+json unless a browser asks for a page
        for path in ("/staff/", "/staff/notes", "/staff/audit"):
            assert_unavailable_problem(staff(path, JSON_ACCEPT), path, secrets)
            assert_unavailable_problem(staff(path), path, secrets)  # no Accept: a script
            page = staff(path, BROWSER_ACCEPT)
            assert page.status == 503 and page.mimetype == "text/html"
            assert "nothing was changed" in page.text
        saved = clerk.post("/staff/notes/new", data=note_form(token), headers=JSON_ACCEPT)
        reply = Reply(saved.status_code, saved.mimetype, saved.headers, saved.data)
        assert_unavailable_problem(reply, "/staff/notes/new", secrets)
        added = CliRunner().invoke(
            main,
            ["--city", config["CITY"], "--database-url", url, "notes", "add",
             "--title", "From the CLI", "--all-cycles", "--body", "x"],
        )  # fmt: skip
        assert added.exit_code == 2, added.output
        line = one_line(added.stderr)
        assert line.startswith("Error: cannot open the database (postgresql+psycopg://"), line
        # many lookups while down: one line in the log, not one per request
        for _ in range(20):
            assert resident(JSON_READS[0]).status == 200
        time.sleep(0.4)
        assert resident("/healthz").json()["status"] == "degraded"
        # midnight passes while the database is down: tomorrow's version goes live on its day
        clock.today = tomorrow
        assert resident("/healthz").json()["boundary_version"] == scheduled
        answer = resident(JSON_READS[0]).json()
        assert (answer["cycle"]["id"], answer["boundary_version"]) == ("1", scheduled)
        assert resident("/api/v1/lookup?lon=0.0051&lat=0.0120").json()["cycle"]["id"] == "1"
        clock.today = tomorrow - dt.timedelta(days=1)
    finally:
        cluster.resume()

    # after: it recovers by itself, without a restart
    check_recovered(resident, before)
    assert staff("/staff/").status == 200
    saved = clerk.post("/staff/notes/new", data=note_form(token))
    assert saved.status_code == 302, saved.data[:500]
    assert NOTE_TITLE in note_titles(resident)  # this process's write is read back at once
    messages = [r.getMessage() for r in caplog.records]
    assert sum(DOWN_LINE in m for m in messages) == 1, messages
    assert sum(UP_LINE in m for m in messages) == 1, messages
    assert all("\n" not in m for m in messages)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_a_database_that_does_not_answer_holds_no_lookup_up(cluster, tmp_path, monkeypatch):
    """PostgreSQL's socket accepts connections but nothing answers (a hung server, a network
    that drops packets): after the first request notices, lookups do not wait for retries."""
    import socket

    from cyclemap.server import create_app

    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.3)
    url = cluster.url("cyclemap") + "&connect_timeout=2"  # the URL's own timeout is honoured
    app = create_app({"TESTING": True, "CITY": str(tiny_city(tmp_path)), "DATABASE_URL": url})
    resident = flask_get(app.test_client())
    before = reads(resident)
    cluster.halt()
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        silent.bind(str(cluster.sockdir / ".s.PGSQL.5432"))
        silent.listen(64)  # connections queue up and are never answered
        started = time.monotonic()
        wait_health(resident, "degraded")
        assert 1.5 < time.monotonic() - started < 10  # the one request that found out waited
        started = time.monotonic()
        for _ in range(3):
            assert reads(resident) == before
            time.sleep(0.35)  # a retry is due each time, and hangs for 2 s in its own thread
        assert time.monotonic() - started < 2.5, "a lookup waited for a retry"
        assert resident("/readyz").status == 503
    finally:
        silent.close()
        (cluster.sockdir / ".s.PGSQL.5432").unlink(missing_ok=True)
        cluster.resume()
    check_recovered(resident, before)


# -- an SQLite file made unreadable in a running server ---------------------------------------
def test_sqlite_file_made_unreadable_and_readable_again(tmp_path):
    city = tiny_city(tmp_path)
    db = tmp_path / "cyclemap.sqlite"
    url = f"sqlite:///{db}"
    env = cli_env(tmp_path)
    staff_add = subprocess.run(
        cyclemap_cmd(city, url, "staff", "add", "eve", "--role", "editor", "--password-stdin"),
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    assert staff_add.returncode == 0, staff_add.stderr
    port, log = free_port(), tmp_path / "server.log"
    proc = serve(tmp_path, city, url, port, log)
    try:
        wait_started(port, proc, log)
        resident, clerk = Http(port), Http(port)
        assert wait_health(resident.get, "ok") == {"status": "ok", "boundary_version": 1}
        before = reads(resident.get)
        login = clerk.get("/staff/login")
        assert login.status == 200
        sign_in_form = {
            "csrf_token": csrf_token(login.text),
            "username": "eve",
            "password": PASSWORD,
        }

        db.chmod(0)
        try:
            check_degraded(resident.get, before, [str(tmp_path), "sqlite"])
            # signing in needs the database: 503, and no session
            refused = clerk.request("POST", "/staff/login", form=sign_in_form)
            assert refused.status == 503 and "nothing was changed" in refused.text
            assert_unavailable_problem(
                clerk.request("POST", "/staff/login", form=sign_in_form, headers=JSON_ACCEPT),
                "/staff/login",
                [str(tmp_path)],
            )
            added = subprocess.run(
                cyclemap_cmd(city, url, "notes", "add", "--title", "x", "--all-cycles",
                             "--body", "x"),
                capture_output=True, text=True, cwd=ROOT, env=env,
            )  # fmt: skip
            assert added.returncode == 2, added.stderr
            assert one_line(added.stderr).startswith("Error: cannot open the database (sqlite:")
            for _ in range(20):
                assert resident.get(JSON_READS[0]).status == 200
            time.sleep(2.5)  # a refresh is due again, and fails again: still one log line
            assert resident.get("/healthz").json()["status"] == "degraded"
        finally:
            db.chmod(0o644)

        check_recovered(resident.get, before)
        signed_in = clerk.request("POST", "/staff/login", form=sign_in_form)
        assert signed_in.status == 302, signed_in.body[:300]
        assert clerk.get("/staff/").status == 200
    finally:
        stop(proc)
    out = log.read_text()
    assert out.count(DOWN_LINE) == 1, out[-3000:]
    assert out.count(UP_LINE) == 1, out[-3000:]
    assert "Traceback" not in out, out[-3000:]


# -- no database at the start ------------------------------------------------------------------
def unreadable_sqlite(tmp_path: Path, city: Path) -> str:
    db = tmp_path / "unreadable.sqlite"
    url = f"sqlite:///{db}"
    made = subprocess.run(
        cyclemap_cmd(city, url, "db", "upgrade"),
        capture_output=True, text=True, cwd=ROOT, env=cli_env(tmp_path),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    db.chmod(0)
    return url


def no_postgresql(tmp_path: Path, city: Path) -> str:
    return f"postgresql+psycopg://postgres@/cyclemap?host={tmp_path / 'no-server-here'}"


@pytest.mark.parametrize("database", [no_postgresql, unreadable_sqlite], ids=["pg", "sqlite"])
def test_serve_without_a_database_exits_2_with_one_line(tmp_path, database):
    city = tiny_city(tmp_path)
    url = database(tmp_path, city)
    port = free_port()
    result = subprocess.run(
        cyclemap_cmd(city, url, "serve", "--port", str(port), "--workers", "1"),
        capture_output=True, text=True, cwd=ROOT, env=cli_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line(result.stderr)
    assert line.startswith("Error: cannot open the database (") and url.split(":")[0] in line, line
    assert "Traceback" not in result.stdout + result.stderr


def test_create_app_without_a_database_raises_a_clean_error(tmp_path):
    from cyclemap.server import create_app

    url = no_postgresql(tmp_path, tmp_path)
    with pytest.raises(StoreUnavailableError) as caught:
        create_app({"TESTING": True, "CITY": str(tiny_city(tmp_path)), "DATABASE_URL": url})
    assert "\n" not in caught.value.message
    assert "connection" in caught.value.message and "no-server-here" in caught.value.message
