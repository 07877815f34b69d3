"""A resident's address never reaches a server log (issue 17): the access log, gunicorn's error
log, the development server's request lines and the app's own error lines."""

from __future__ import annotations

import http.client
import logging
import re
import socket
from urllib.parse import quote, quote_plus, urlencode

import pytest
from click.testing import CliRunner
from flask import Flask, request

from cyclemap.cli import main
from cyclemap.cli.serve import QueryRedactor, access_logger_class
from cyclemap.geocode import exact_key
from cyclemap.server.privacy import WITHHELD, query_digest

from .test_api import tiny_app  # noqa: F401  (fixture)
from .test_serve import _serve, _stop, city_dir, free_port, wait_for  # noqa: F401  (fixture)

#: what residents look up in the served run: every answer status, typed every which way
ADDRESSES = [
    "101 N Main St",  # matched
    "101 n main st, Testville 00001",  # matched, with town and ZIP
    "201 Elm St",  # ambiguous (N and S ELM ST)
    "500 Far Rd",  # outside every zone
    "77 Zanzibar Lane",  # not found
    "9 Quetzalcoatl Ct Apt 5",  # not found, with a unit
]
#: what they type into the suggest box on the way
PARTIALS = ["101 n ma", "Zanzib", "9 Quetz"]


def forms_of(text: str) -> set[str]:
    """The ways a text could be written into a log line, lower-cased."""
    forms = {text, exact_key(text), quote_plus(text), quote(text), quote(text, safe="")}
    return {f.lower() for f in forms}


def leaks(log: str, texts: list[str]) -> list[str]:
    low = log.lower()
    return sorted(form for text in texts for form in forms_of(text) if form in low)


def raw_request(port: int, data: bytes) -> bytes:
    """Send bytes as they are (a request no HTTP client would send) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_served_run_logs_none_of_the_addresses(tmp_path, city_dir):  # noqa: F811
    port = free_port()
    proc = _serve(tmp_path, city_dir, port)
    statuses: list[int] = []
    try:
        wait_for(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def get(path: str, method: str = "GET", **headers: str) -> None:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)

        for address in ADDRESSES:
            query = urlencode({"address": address})
            get(f"/api/v1/lookup?{query}")
            get(f"/api/v1/lookup?{query}&date=2020-03-01")
            get(f"/lookup?{query}")
            get(f"/lookup?{query}&fragment=1", "HEAD")
            get(f"/api/v1/lookup?address={quote(address)}")  # %20, not +
            # the page's assets are asked for with the page's URL as the Referer
            get("/static/cyclemap.css", Referer=f"http://127.0.0.1:{port}/lookup?{query}")
        for partial in PARTIALS:
            get(f"/api/v1/suggest?{urlencode({'q': partial, 'limit': 5})}")
        # refused addresses: a NUL, too long for the geocoder, too long for the app
        get("/api/v1/lookup?" + urlencode({"address": "77 Zanzibar Lane\x00"}))
        get("/lookup?" + urlencode({"address": "77 Zanzibar Lane " * 20}))
        get("/api/v1/lookup?" + urlencode({"address": "9 Quetzalcoatl Ct " * 400}))
        conn.close()
        # requests gunicorn refuses before the app: raw spaces, a line over its limit
        raw_request(port, b"GET /lookup?address=77 Zanzibar Lane HTTP/1.1\r\nHost: x\r\n\r\n")
        long_line = "/lookup?" + urlencode({"address": "9 Quetzalcoatl Ct " * 600})
        raw_request(port, f"GET {long_line} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    finally:
        out = _stop(proc)
    assert set(statuses) <= {200, 400, 414}, statuses
    assert statuses.count(200) >= 6 * len(ADDRESSES)
    # the log is there and names the routes...
    assert out.count("/api/v1/lookup") >= 3 * len(ADDRESSES), out[-2000:]
    assert "/api/v1/suggest" in out and "/lookup" in out
    # ...and none of the addresses, in any spelling
    assert leaks(out, ADDRESSES + PARTIALS) == [], out[-3000:]
    for word in ("zanzib", "quetz", "elm st", "far rd", "n main"):
        assert word not in out.lower(), word


def test_an_error_on_an_address_logs_a_digest_not_the_address(tiny_app, caplog):  # noqa: F811
    app = tiny_app()

    @app.get("/api/v1/_crash")
    def crash():
        # a bug whose message quotes what the resident typed
        raise RuntimeError(f"cannot place {request.args.get('address') or request.args['q']!r}")

    client = app.test_client()
    key = app.config["SECRET_KEY"]
    with caplog.at_level(logging.ERROR):
        for typed in ("77 Zanzibar Lane", "77  zanzibar lane"):
            response = client.get("/api/v1/_crash", query_string={"address": typed})
            assert response.status_code == 500
        client.get("/api/v1/_crash", query_string={"q": "9 Quetz"})
    log = caplog.text
    assert leaks(log, ["77 Zanzibar Lane", "77  zanzibar lane", "9 Quetz"]) == [], log
    assert "zanzibar" not in log.lower() and "quetz" not in log.lower()
    # one digest for both spellings (the exact-match key), keyed by the app's secret
    digest = query_digest("77 Zanzibar Lane", key)
    assert digest == query_digest("77  zanzibar lane", key)
    assert log.count(f"address digest {digest}") == 2
    assert f"address digest {query_digest('9 Quetz', key)}" in log
    # where it happened is still logged: the frames, the exception's type
    assert "Traceback (most recent call last)" in log and "in crash" in log
    assert f"RuntimeError: {WITHHELD}" in log


def test_an_error_without_an_address_keeps_its_message(tiny_app, caplog):  # noqa: F811
    app = tiny_app()

    @app.get("/api/v1/_crash")
    def crash():
        raise RuntimeError("the zone cache at /srv/cache is unreadable")

    with caplog.at_level(logging.ERROR):
        assert app.test_client().get("/api/v1/_crash?lon=1&lat=2").status_code == 500
    assert "the zone cache at /srv/cache is unreadable" in caplog.text
    assert "address digest" not in caplog.text


def test_gunicorn_error_log_withholds_query_strings(tmp_path):
    """Gunicorn logs "Error handling request <uri>" (the query included) when a request fails
    outside the app; our logger class cuts the query off."""
    from gunicorn.config import Config

    cfg = Config()
    log_file = tmp_path / "error.log"
    cfg.set("errorlog", str(log_file))
    logger = access_logger_class()(cfg)
    try:
        raise OSError("client went away during /lookup?address=77+Zanzibar+Lane")
    except OSError:
        logger.exception("Error handling request %s", "/lookup?address=77+Zanzibar+Lane")
    logger.error("Error handling request %s", "/api/v1/suggest?q=9%20Quetz")
    logger.info("Booting worker with pid: %s", 42)
    text = log_file.read_text()
    assert "zanzibar" not in text.lower() and "quetz" not in text.lower(), text
    assert "Error handling request /lookup?[query withheld]\n" in text
    assert "Error handling request /api/v1/suggest?[query withheld]\n" in text
    assert "OSError: client went away during /lookup?[query withheld]" in text
    assert "Booting worker with pid: 42" in text


def test_dev_server_request_lines_withhold_queries(monkeypatch, tmp_path, city_dir, caplog):  # noqa: F811
    monkeypatch.setattr(Flask, "run", lambda self, **kw: None)
    url = f"sqlite:///{tmp_path / 'dev.sqlite'}"
    result = CliRunner().invoke(
        main,
        ["--city", str(city_dir), "--database-url", url, "serve", "--dev"],
        env={"CYCLEMAP_CITY": None, "CYCLEMAP_DATABASE_URL": None},
    )
    assert result.exit_code == 0, result.output
    werkzeug_log = logging.getLogger("werkzeug")
    assert sum(isinstance(f, QueryRedactor) for f in werkzeug_log.filters) == 1
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        # werkzeug's own request line, as its development server writes it
        werkzeug_log.info(
            '%s - - [%s] "%s" %s %s',
            "127.0.0.1",
            "03/Dec/2026 10:00:00",
            "GET /lookup?address=77+Zanzibar+Lane HTTP/1.1",
            "200",
            "-",
        )
    assert "Zanzibar" not in caplog.text
    assert re.search(r"GET /lookup\?\[query withheld\] HTTP/1\.1", caplog.text)


@pytest.mark.parametrize("policy_header", ["Referrer-Policy"])
def test_pages_send_only_their_origin_as_referer(client, policy_header):
    """A page's URL holds the address; its assets and API calls (and whatever proxy logs them)
    get the origin alone."""
    response = client.get("/lookup", query_string={"address": "101 N Main St"})
    assert response.headers[policy_header] == "strict-origin"


def test_a_failed_miss_count_logs_no_key(tmp_path, caplog):
    """The miss queue keeps normalized queries in the database; when writing them fails, the
    warning names the failure, never the queries (SQLAlchemy puts a statement's parameters in
    its message, PostgreSQL a refused key in its DETAIL)."""
    import sqlalchemy as sa

    import cyclemap
    from cyclemap.store import Store

    from .conftest import Clock

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}").start()
    city = cyclemap.open_city(store=store, clock=Clock(), cache_dir=False)
    with store._write() as conn:  # every write of a count is refused by the database itself
        conn.execute(
            sa.text(
                "CREATE TRIGGER no_counts BEFORE INSERT ON lookup_misses "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    with caplog.at_level(logging.WARNING):
        assert city.lookup("1234 Zanzibar Lane", record=True).status == "not_found"
        assert city.misses.flush() == 0 and city.misses.failed_flushes == 1
    assert "lookup misses not written yet" in caplog.text
    assert "zanzibar" not in caplog.text.lower(), caplog.text
    with store._write() as conn:  # the database takes counts again: the kept ones go in
        conn.execute(sa.text("DROP TRIGGER no_counts"))
    assert city.misses.flush() == 1
    assert [(m.key, m.count) for m in store.list_misses(status=None)] == [("ZANZIBAR LN", 1)]
