"""Every error of every API route is problem+json (RFC 9457); bad input is never a 500."""

from __future__ import annotations

import logging
import re

import pytest

from cyclemap.errors import (
    AddressFileError,
    BoundaryFileError,
    ConfigError,
    CyclemapError,
    InputError,
    NotFoundError,
    RefusedError,
    StoreError,
    StoreUnavailableError,
)
from cyclemap.server.errors import PROBLEMS, status_for

from .test_api import tiny_app  # noqa: F401  (fixture)

LONG = "1" * 10_000

#: (method, url, status): every route's bad requests
BAD_REQUESTS = [
    ("GET", "/api/v1/lookup", 400),
    ("GET", "/api/v1/lookup?address=", 400),
    ("GET", "/api/v1/lookup?address=%20%20", 400),
    ("GET", f"/api/v1/lookup?address={LONG}", 400),
    ("GET", "/api/v1/lookup?address=12%00Main", 400),
    ("GET", "/api/v1/lookup?lon=abc&lat=37.3", 400),
    ("GET", "/api/v1/lookup?lon=-89.5", 400),
    ("GET", "/api/v1/lookup?lat=37.3", 400),
    ("GET", "/api/v1/lookup?lon=&lat=", 400),
    ("GET", "/api/v1/lookup?lon=nan&lat=37.3", 400),
    ("GET", "/api/v1/lookup?lon=inf&lat=37.3", 400),
    ("GET", "/api/v1/lookup?lon=1e400&lat=37.3", 400),
    ("GET", "/api/v1/lookup?lon=200&lat=37.3", 400),
    ("GET", "/api/v1/lookup?lon=-89.5&lat=-91", 400),
    ("GET", f"/api/v1/lookup?lon={LONG}&lat=37.3", 400),
    ("GET", "/api/v1/lookup?address=12+Main&lon=-89.5&lat=37.3", 400),
    ("GET", "/api/v1/suggest", 400),
    ("GET", f"/api/v1/suggest?q={LONG}", 400),
    ("GET", "/api/v1/suggest?q=12&limit=abc", 400),
    ("GET", "/api/v1/suggest?q=12&limit=0", 400),
    ("GET", "/api/v1/suggest?q=12&limit=-1", 400),
    ("GET", "/api/v1/suggest?q=12&limit=1.5", 400),
    ("GET", "/api/v1/suggest?q=12&limit=", 400),
    ("GET", "/api/v1/suggest?q=12&limit=10000", 400),
    ("GET", f"/api/v1/suggest?q=12&limit={LONG}", 400),
    ("GET", "/api/v1/cycles/9", 404),
    ("GET", "/api/v1/cycles/%20", 404),
    ("GET", f"/api/v1/cycles/{'9' * 500}", 404),
    ("GET", "/api/v1/cycles/9/calendar.ics", 404),
    ("GET", "/api/v1/problems/no-such-problem", 404),
    ("GET", "/api/v1/nope", 404),
    ("GET", "/api/v2/lookup", 404),
    ("GET", "/api/v1/cycles/1/calendar.xml", 404),
    ("POST", "/api/v1/lookup?address=12+Main", 405),
    ("DELETE", "/api/v1/cycles/1", 405),
    ("PUT", "/api/v1/boundaries.geojson", 405),
    ("POST", "/healthz", 405),
]


@pytest.mark.parametrize(("method", "url", "status"), BAD_REQUESTS, ids=lambda v: str(v)[:48])
def test_bad_requests_are_problems(client, method, url, status):
    response = client.open(url, method=method)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["detail"].strip()
    assert body["instance"] == url.split("?")[0]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Traceback" not in response.get_data(as_text=True)
    if status == 405:
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "address",
    [
        "🏠🏠🏠",
        "'; DROP TABLE notes; --",
        "<script>alert(1)</script>",
        "%ff%fe",
        "1" * 200,
        "apt 5",
        "#",
        ",,,,",
        "\t\n 12",
    ],
)
def test_strange_addresses_are_answers_not_errors(client, address):
    response = client.get("/api/v1/lookup", query_string={"address": address})
    assert response.status_code == 200
    assert response.get_json()["status"] in {"not_found", "ambiguous", "matched"}


def test_strange_suggest_queries_are_answers(client):
    for q in ["🏠", "'", "%", "\\", "*", "1" * 200]:
        response = client.get("/api/v1/suggest", query_string={"q": q})
        assert response.status_code == 200, q
        assert response.get_json()["query"] == q


def test_core_error_details_reach_the_caller(client):
    body = client.get("/api/v1/cycles/9").get_json(force=True)
    assert body["code"] == "not-found"
    assert body["type"] == "/api/v1/problems/not-found"
    assert "9" in body["detail"]
    # the type URI is a real page describing the problem type
    kind = client.get(body["type"]).get_json()
    assert (kind["status"], kind["type"]) == (404, body["type"])
    assert client.get("/api/v1/lookup").get_json(force=True)["code"] == "invalid-input"
    unknown_route = client.get("/api/v1/nope").get_json(force=True)
    assert unknown_route["type"] == "about:blank" and unknown_route["title"] == "Not Found"


def test_one_table_of_statuses():
    assert {cls: s for cls, (s, _) in PROBLEMS.items()} == {
        InputError: 400,
        NotFoundError: 404,
        StoreError: 409,
        StoreUnavailableError: 503,
        BoundaryFileError: 422,
        AddressFileError: 422,
        RefusedError: 422,
        ConfigError: 500,
        CyclemapError: 500,
    }

    class Narrower(InputError):
        pass

    assert status_for(Narrower("x"))[0] == 400


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError("bad date 2020-13-01"), 400),
        (NotFoundError("there is no note 9"), 404),
        (StoreError("version 3 is already live"), 409),
        (BoundaryFileError("cycles.geojson is unusable", problems=["zone 2 overlaps zone 3"]), 422),
        (AddressFileError("addresses.csv has no lon column"), 422),
    ],
)
def test_each_core_error_class_on_api_and_page(tiny_app, error, status):  # noqa: F811
    app = tiny_app()

    @app.get("/api/v1/_raise")
    def api_raise():
        raise error

    @app.get("/_raise")
    def page_raise():
        raise error

    c = app.test_client()
    response = c.get("/api/v1/_raise")
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["detail"] == error.message and body["code"] == error.code
    assert body.get("problems", []) == error.problems
    page = c.get("/_raise")
    assert page.status_code == status
    assert page.mimetype in {"text/html", "text/plain"}
    if status != 404:  # the resident's 404 page says "page not found" in its own words
        assert error.message.split()[0] in page.get_data(as_text=True)


def test_boundary_problems_are_serialized(tiny_app):  # noqa: F811
    from cyclemap.boundaries import Problem

    app = tiny_app()
    problem = Problem("gap", "A hole between zones 1 and 2", location=(-89.5, 37.3))

    @app.get("/api/v1/_raise")
    def api_raise():
        raise BoundaryFileError("the file leaves gaps", problems=[problem])

    body = app.test_client().get("/api/v1/_raise").get_json(force=True)
    assert body["problems"] == [problem.to_dict()]


def test_unexpected_exception_is_a_500_without_internals(tiny_app, monkeypatch, caplog):  # noqa: F811
    app = tiny_app()
    city = app.extensions["cyclemap.city"]

    secret = "secret internals at " + "/srv/cyclemap"  # not in a source line of the traceback

    def broken(*args, **kwargs):
        raise RuntimeError(secret)

    monkeypatch.setattr(city, "lookup", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/lookup?address=101+N+MAIN+ST")
        point = app.test_client().get("/api/v1/lookup?lon=0.005&lat=0.012")
    for answer in (response, point):
        assert answer.status_code == 500
        assert answer.mimetype == "application/problem+json"
        text = answer.get_data(as_text=True)
        assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
        assert answer.get_json(force=True)["detail"]
    # logged with its traceback; on the request with an address, without any message (issue
    # 17: a message may quote the address), on the point's, with it
    assert caplog.text.count("in broken") == 2
    assert "RuntimeError: [message withheld" in caplog.text
    assert caplog.text.count(secret) == 1


def test_config_error_hides_its_message(tiny_app, caplog):  # noqa: F811
    app = tiny_app()

    @app.get("/api/v1/_raise")
    def api_raise():
        raise ConfigError("/etc/cyclemap/city.toml: no [cycles.ID] tables")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/_raise")
    assert response.status_code == 500
    assert "/etc/cyclemap" not in response.get_data(as_text=True)
    assert "/etc/cyclemap" in caplog.text


def test_resident_pages_get_pages_not_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype in {"text/html", "text/plain"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path, instance",
    [
        ("/api/v1/cycles/h%C2%94", "/api/v1/cycles/h%C2%94"),  # schemathesis found this one
        ("/api/v1/cycles/%E2%98%85 x", "/api/v1/cycles/%E2%98%85%20x"),
        ("/api/v1/cycles/100%25", "/api/v1/cycles/100%25"),
        ("/api/v1/cycles/a%22b%3Cc", "/api/v1/cycles/a%22b%3Cc"),
    ],
)
def test_problem_instance_is_a_uri_reference(client, path, instance):
    body = client.get(path).get_json(force=True)
    assert body["instance"] == instance
    # RFC 3986: unreserved, sub-delims, ":", "@", "/" and percent-encodings only
    assert re.fullmatch(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*", body["instance"])
