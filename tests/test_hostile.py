"""Hostile HTTP input (issue 17): every route and method, every class of bad input, never a 500.

The routes come from the app's own URL map, so a new route is probed without being listed here.
Each class of input the issue names has its own test: methods other than GET on the API, NUL
bytes, invalid percent-encoding, overlong values, huge numbers, hostile headers, request size
limits, and the staff forms signed in with a good CSRF token. Every answer must be a problem
(``application/problem+json``) on the API or a page (``text/html``) elsewhere, and carry the
security headers.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from cyclemap.server.http import MAX_ID, is_api_path

from .conftest import _make_app
from .staff import add_accounts, csrf_token, sign_in
from .test_api import tiny_app  # noqa: F401  (fixture)

#: what every response carries, whatever it answers
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Content-Security-Policy",
)
#: values for a path part (``<cycle_id>``, ``<int:note_id>``, ``<token>``...), already encoded
PATH_VALUES = {
    "nul": "%00",
    "nul-inside": "1%002",
    "bad-escape": "%zz",
    "lone-percent": "%",
    "short-escape": "%f",
    "bad-utf8": "%ff%fe",
    "overlong-utf8": "%C0%AF",
    "dot-dot": "..%2f..%2fetc",
    "overlong": "9" * 5000,
    "huge-int": "9" * 30,
    "just-over-int": str(MAX_ID + 1),
    "negative": "-1",
    "superscript-digit": "%C2%B2",
    "arabic-digit": "%D9%A1",
}
#: query strings, already encoded (the parameters of every route, and some no route has)
QUERY_VALUES = {
    "nul": "address=12%00Main&q=12%00&lon=%00&lat=1&date=%00&lang=%00&page=%00&next=%00",
    "bad-escape": "address=%zz&q=%&limit=%zz&lang=%",
    "bad-utf8": "address=%ff%fe&q=%C0%AF&entity=%ff",
    "overlong": "address=" + "1" * 6000 + "&q=" + "2" * 6000,
    "huge-limit": "q=12&limit=" + "9" * 40,
    "huge-page": "page=" + "9" * 40 + "&version=" + "9" * 40,
    "float-limit": "q=12&limit=1e9",
    "huge-float": "lon=1e400&lat=-1e400",
    "repeated": "address=1&address=2&q=a&q=b&limit=1&limit=2",
    "bare-keys": "address&q&limit&lon&lat&fragment",
    "percent-keys": "%%%=%%%&%00=%00",
    "device": "source=device&lon=nan&lat=nan",
    "bad-date": "date=2020-02-30",
    "fragment": "fragment=1&address=%ff",
}
#: methods a read-only API refuses (HEAD and OPTIONS are answered; GET is the API)
REFUSED_METHODS = ("POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND")
#: request headers with garbage in them
HEADER_VALUES = {
    "Accept-Language": ["\x00", "*;q=abc", "en;q=1e999", ",,,;;;", "x" * 4000],
    "If-None-Match": ["\x00", "W/", '"', "*", 'W/"a", W/"b"'],
    "If-Modified-Since": ["garbage", "Mon, 99 Foo 9999 99:99:99 GMT"],
    "Cookie": ["cyclemap_staff=garbage", "cyclemap_staff=\x00", "=;=;="],
    "Origin": ["\x00", "null"],
    "Range": ["bytes=abc", "bytes=999999999-", "bytes=5-1"],
    "Accept": ["\x00", "*/*;q=abc"],
}


def is_api(path: str) -> bool:
    return is_api_path(path)


def assert_answered(status: int, headers, path: str, body: bytes = b"") -> None:
    """The contract for any request, hostile or not: no 5xx, the right kind of body for an
    error, and the security headers."""
    assert status < 500, (status, path, body[:300])
    for name in SECURITY_HEADERS:
        assert name in headers, (name, path, status)
    csp = headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp, csp
    if status >= 400:
        mimetype = headers.get("Content-Type", "").split(";")[0]
        expected = {"application/problem+json"} if is_api(path) else {"text/html"}
        assert mimetype in expected, (path, status, mimetype)
    assert b"Traceback" not in body


def check(response, path: str) -> None:
    assert_answered(response.status_code, response.headers, path, response.get_data())


def raw_get(app, path_info: str, query: str = "", method: str = "GET", **environ):
    """A request with exactly this ``PATH_INFO`` (as a WSGI server would decode the bytes)."""
    env = EnvironBuilder(method=method, path="/").get_environ()
    env["PATH_INFO"] = path_info
    env["QUERY_STRING"] = query
    env.update(environ)
    for key in [k for k, v in env.items() if v is None]:  # None: leave the key out
        del env[key]
    app_iter, status, headers = run_wsgi_app(app.wsgi_app, env, buffered=True)
    body = b"".join(app_iter)
    return int(status.split()[0]), headers, body


def rules(app, *, api: bool | None = None) -> Iterator:
    for rule in app.url_map.iter_rules():
        if api is None or is_api(rule.rule) == api:
            yield rule


def fill(rule, value: str) -> str:
    """The rule's path with every variable part replaced by ``value``."""
    return re.sub(r"<[^>]+>", value, rule.rule)


# -- methods -----------------------------------------------------------------------------------
def test_every_api_route_refuses_other_methods_with_405(client, app):
    seen = 0
    for rule in rules(app, api=True):
        path = fill(rule, "1")
        for method in REFUSED_METHODS:
            response = client.open(path, method=method, data=b"x=1")
            assert response.status_code == 405, (method, path)
            assert "GET" in response.headers["Allow"] and method not in response.headers["Allow"]
            assert response.get_json(force=True)["status"] == 405
            check(response, path)
            seen += 1
    assert seen >= 9 * len(REFUSED_METHODS)  # every API route was probed


def test_every_page_route_answers_every_method_with_a_page(client, app):
    for rule in rules(app, api=False):
        path = fill(rule, "1")
        for method in ("GET", "HEAD", "OPTIONS", *REFUSED_METHODS):
            check(client.open(path, method=method), path)


# -- path parts --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(PATH_VALUES))
def test_hostile_path_parts_on_every_route(client, app, kind):
    value = PATH_VALUES[kind]
    probed = 0
    for rule in rules(app):
        if not rule.arguments - set(rule.defaults or {}):
            continue
        path = fill(rule, value)
        for method in ("GET", "HEAD", "POST"):
            check(client.open(path, method=method), path)
        probed += 1
    assert probed >= 10


def test_huge_ids_are_not_found_not_overflows(tmp_path, clock):
    """A path id beyond the database's INTEGER is no id (404), on SQLite and PostgreSQL alike;
    before the bounded converter SQLite's driver raised OverflowError (a 500)."""
    app = _make_app(tmp_path / "ids.sqlite", clock)
    add_accounts(app)
    client = app.test_client()
    sign_in(client, "ann")
    for path in (
        f"/staff/notes/{MAX_ID + 1}",
        f"/staff/notes/{'9' * 30}",
        f"/staff/boundaries/{'9' * 30}.geojson",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        check(response, path)
    assert client.get(f"/staff/notes/{MAX_ID}").status_code == 404  # in range: looked up


def test_raw_paths_with_nul_and_undecodable_bytes(app):
    """What a WSGI server hands over for bytes no URL should hold (``PATH_INFO`` is latin-1)."""
    for path_info in (
        "/\x00",
        "/api/v1/cycles/\x00",
        "/api/v1/cycles/1\x00/calendar.ics",
        "/lookup\x00",
        "/api/v1/\xff\xfe",
        "/api/v1/cycles/\xc3\x28",
        "/static/\x00.css",
        "/staff/notes/\xd9\xa1",
        "/" + "a" * 10_000,
    ):
        for method in ("GET", "POST", "DELETE"):
            status, headers, body = raw_get(app, path_info, method=method)
            assert_answered(status, headers, path_info, body)


# -- query strings -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(QUERY_VALUES))
def test_hostile_query_strings_on_every_get_route(client, app, kind):
    query = QUERY_VALUES[kind]
    for rule in rules(app):
        if "GET" not in rule.methods:
            continue
        path = fill(rule, "1")
        status, headers, body = raw_get(app, path, query)
        assert_answered(status, headers, path, body)
        if path in ("/api/v1/lookup", "/api/v1/suggest") and kind in ("nul", "overlong"):
            assert status == 400, (kind, path, body[:200])


def test_huge_limit_is_a_400_problem(client):
    for limit in ("9" * 40, "10000", "51", "0", "-0", "-1", "0x10", "1_0", "1.0", "١", ""):
        response = client.get("/api/v1/suggest", query_string={"q": "12 s", "limit": limit})
        assert response.status_code == 400, limit
        assert "limit" in response.get_json(force=True)["detail"]
        check(response, "/api/v1/suggest")
    assert client.get("/api/v1/suggest?q=12&limit=+5+").status_code == 200


def test_resident_page_refuses_nul_and_overlong_addresses_in_words(client):
    for address in ("12\x00Main", "1" * 10_000):
        response = client.get("/lookup", query_string={"address": address})
        assert response.status_code == 400
        assert "address" in response.get_data(as_text=True).lower()
        check(response, "/lookup")


# -- headers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("header", list(HEADER_VALUES))
def test_hostile_request_headers(app, header):
    key = "HTTP_" + header.upper().replace("-", "_")
    for path, query in (
        ("/", ""),
        ("/lookup", "address=12+S+Sprigg+St"),
        ("/api/v1/lookup", "address=12+S+Sprigg+St"),
        ("/api/v1/cycles/1/calendar.ics", ""),
        ("/static/cyclemap.css", ""),
        ("/staff/login", ""),
    ):
        for value in HEADER_VALUES[header]:
            for method in ("GET", "OPTIONS"):
                status, headers, body = raw_get(app, path, query, method, **{key: value})
                assert_answered(status, headers, path, body)


# -- request size limits -----------------------------------------------------------------------
def test_an_overlong_query_string_is_414(client, app):
    limit = app.config["MAX_QUERY_BYTES"]
    too_long = "x" * (limit + 1)
    api = client.get("/api/v1/lookup", query_string={"address": too_long})
    assert api.status_code == 414
    assert api.get_json(force=True)["status"] == 414
    check(api, "/api/v1/lookup")
    page = client.get("/lookup", query_string={"address": too_long})
    assert page.status_code == 414 and page.mimetype == "text/html"
    assert "That address is too long" in page.text and "123 Main St" in page.text
    check(page, "/lookup")
    spanish = client.get("/lookup", query_string={"address": too_long, "lang": "es"})
    assert spanish.status_code == 414 and "demasiado larga" in spanish.text


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 1024 * 1024
    big = b"a=" + b"x" * limit
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = client.post("/staff/login", data=big, content_type=content_type)
        assert response.status_code == 413, content_type
        check(response, "/staff/login")
    # a chunked body states no length: werkzeug reads no further than the limit (a file in a
    # multipart body past it is 413; an urlencoded one is cut there, and its form refused)
    part = b'--x\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
    for content_type, body, expected in (
        ("multipart/form-data; boundary=x", part + big + b"\r\n--x--\r\n", 413),
        ("application/x-www-form-urlencoded", big, 400),
    ):
        status, headers, answer = raw_get(
            app,
            "/staff/login",
            method="POST",
            CONTENT_TYPE=content_type,
            CONTENT_LENGTH=None,
            **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
        )
        assert status == expected, content_type
        assert_answered(status, headers, "/staff/login", answer)


def test_uploads_may_be_larger_than_other_bodies(tmp_path, clock):
    """The staff uploads keep their own limit (STAFF_UPLOAD_MAX_BYTES and a little more)."""
    app = _make_app(tmp_path / "up.sqlite", clock, STAFF_UPLOAD_MAX_BYTES=3_000_000)
    add_accounts(app)
    client = app.test_client()
    sign_in(client, "pat")
    token = csrf_token(client.get("/staff/boundaries/new").text)

    def upload(size: int):
        data = b"{" + b" " * size + b"}"
        return client.post(
            "/staff/boundaries/new",
            data={"csrf_token": token, "file": (io.BytesIO(data), "cycles.geojson")},
            content_type="multipart/form-data",
        )

    # 2 MB: over MAX_CONTENT_LENGTH, under the upload limit: vetted, kept, sent to its preview
    kept = upload(2_000_000)
    assert kept.status_code == 302 and "/staff/boundaries/preview/" in kept.headers["Location"]
    # over the upload limit: the form says so in words
    over = upload(3_200_000)
    assert over.status_code == 413 and "the limit is 3 MB" in over.text
    # far over it: refused before the body is read
    far = upload(5_000_000)
    assert far.status_code == 413
    check(far, "/staff/boundaries/new")


def test_malformed_bodies_are_refusals(tmp_path, clock):
    app = _make_app(tmp_path / "bodies.sqlite", clock)
    client = app.test_client()
    for content_type, data in (
        ("multipart/form-data", b"--x\r\nbroken"),
        ("multipart/form-data; boundary=", b"--\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n"),
        ("application/x-www-form-urlencoded; charset=x-unknown", b"a=%ff"),
        ("application/x-www-form-urlencoded", b"\x00" * 1000 + b"=%zz&%%%"),
        ("application/json", b"{"),
    ):
        response = client.post("/staff/login", data=data, content_type=content_type)
        assert response.status_code == 400, content_type
        check(response, "/staff/login")


# -- the staff forms, signed in, with a good CSRF token ----------------------------------------
STAFF_VALUES = [
    "\x00",
    "9" * 30,
    "-" + "9" * 30,
    "²",
    "١٢",
    "1e999",
    "nan",
    "2020-02-30",
    "0000-01-01",
    "<script>alert(1)</script>",
    "x" * 20_000,
]
STAFF_FIELDS = [
    "title",
    "body",
    "cycles",
    "starts",
    "ends",
    "display_order",
    "kind",
    "date",
    "until",
    "new_date",
    "text",
    "username",
    "password",
    "confirm",
    "role",
    "active",
    "version",
    "message",
    "effective",
    "next",
]


def test_staff_forms_with_hostile_values(tmp_path, clock):
    app = _make_app(tmp_path / "forms.sqlite", clock)
    add_accounts(app)
    client = app.test_client()
    sign_in(client, "ann")
    token = csrf_token(client.get("/staff/notes/new").text)
    posts = [
        fill(rule, "1")
        for rule in rules(app)
        if "POST" in rule.methods and rule.rule.startswith("/staff/") and "logout" not in rule.rule
    ]
    posts += ["/staff/accounts/eve/role", "/staff/accounts/eve/active"]
    assert len(posts) >= 15
    for path in posts:
        for value in STAFF_VALUES:
            form = {"csrf_token": token, **dict.fromkeys(STAFF_FIELDS, value)}
            check(client.post(path, data=form), path)
            if path == "/staff/login":  # each attempt costs a password hash: once is enough
                continue
            for name in ("version", "display_order"):
                check(client.post(path, data={"csrf_token": token, name: value}), path)
    # still signed in as ann, and ann is still an admin: nothing above took effect
    assert app.extensions["cyclemap.store"].get_staff("ann").role == "admin"


def test_a_rollback_to_a_huge_version_is_a_refusal(tmp_path, clock):
    """Before, ``int("9" * 30)`` reached the database driver (OverflowError, a 500) and
    ``int("²")`` raised ValueError (a 500)."""
    app = _make_app(tmp_path / "rollback.sqlite", clock)
    add_accounts(app)
    client = app.test_client()
    sign_in(client, "pat")
    token = csrf_token(client.get("/staff/boundaries").text)
    for version in ("9" * 30, str(MAX_ID + 1), "²"):
        response = client.post(
            "/staff/boundaries/rollback", data={"csrf_token": token, "version": version}
        )
        assert response.status_code == 302, version
        page = client.get("/staff/boundaries")
        assert "Choose a version to roll back to." in page.text


# -- the headers themselves --------------------------------------------------------------------
def test_permissions_policy_and_csp_on_errors_too(client):
    for path, method in (
        ("/api/v1/lookup", "GET"),
        ("/api/v1/lookup", "POST"),
        ("/api/v1/nope", "GET"),
        ("/nope", "GET"),
        ("/static/nope.css", "GET"),
        ("/", "DELETE"),
    ):
        response = client.open(path, method=method)
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert "geolocation=(self)" in response.headers["Permissions-Policy"]
        check(response, path)


def test_header_settings_come_from_the_config(tiny_app):  # noqa: F811
    app = tiny_app(
        PERMISSIONS_POLICY="geolocation=()",
        REFERRER_POLICY="no-referrer",
        FRAME_ANCESTORS="https://city.example",
    )
    client = app.test_client()
    for path in ("/api/v1/cycles", "/", "/embed", "/nope"):
        response = client.get(path)
        assert response.headers["Permissions-Policy"] == "geolocation=()"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert (
        "frame-ancestors https://city.example"
        in client.get("/embed").headers["Content-Security-Policy"]
    )
    # a header a view sets itself is kept, not doubled
    response = client.get("/map")
    assert len(response.headers.getlist("Content-Security-Policy")) == 1
    assert "'nonce-" in response.headers["Content-Security-Policy"]


def test_changes_since_takes_any_rfc3339_time(client):
    """What schemathesis found: RFC 3339 times the server refused (a lower-case t and z; year
    0000) or could not place (within a day of year 1 with an offset: an OverflowError)."""
    for since in (
        "2020-02-20t15:00:00z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2020-02-20",
    ):
        response = client.get("/api/v1/changes", query_string={"since": since})
        assert response.status_code == 200, (since, response.get_data(as_text=True)[:200])
        check(response, "/api/v1/changes")
    for since in ("0000-13-01", "page", "0" * 40):
        response = client.get("/api/v1/changes", query_string={"since": since})
        assert response.status_code == 400, since
        check(response, "/api/v1/changes")
