"""The JSON API on the demo city: each route's status and shape, caching, CORS, headers, limits."""

from __future__ import annotations

import csv
import json
import re
import time

import pytest
from flask import render_template_string

from cyclemap.server import create_app
from cyclemap.server.http import csp_allow

from .conftest import DEMO_TODAY, ROOT, write_city

DEMO_ADDRESSES = ROOT / "geodata" / "cape-girardeau" / "addresses.csv"

# A tiny city (zones 1 SW, 2 NW, 3 NE, 4 SE around lon/lat 0..0.02) for tests that need their own
# app: it opens in a fraction of the demo city's time. N/S ELM ST straddle zones 3 and 4, so
# "201 ELM ST" is ambiguous; FAR RD is outside every zone.
TINY_ROWS = [
    (101, "N MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0120),
    (101, "S MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0080),
    (201, "N ELM ST", "", "TESTVILLE", "00001", 0.0151, 0.0120),
    (201, "S ELM ST", "", "TESTVILLE", "00001", 0.0151, 0.0080),
    (301, "OAK AVE", "", "TESTVILLE", "00001", 0.0020, 0.0020),
    (500, "FAR RD", "", "TESTVILLE", "00001", 0.0500, 0.0500),
]
TINY_NOTES = """
[[notes]]
title = "No disconnects"
body = "No services will be **disconnected** on 2/26/20."
cycles = "all"
posted = 2020-02-20
"""


@pytest.fixture()
def tiny_app(tmp_path, clock):
    """Build apps over a tiny city with their own database: ``tiny_app(RATELIMIT="2/minute")``."""
    folder = write_city(tmp_path / "testville", addresses=TINY_ROWS, notes_toml=TINY_NOTES)
    count = 0

    def build(**config):
        nonlocal count
        count += 1
        return create_app(
            {
                "TESTING": True,
                "CITY": str(folder),
                "DATABASE_URL": f"sqlite:///{tmp_path / f'tiny{count}.sqlite'}",
                "CLOCK": clock,
                "RATELIMIT": "",
                **config,
            }
        )

    return build


def demo_rows(n: int = 40) -> list[dict[str, str]]:
    """The first ``n`` address points of the demo city (illustrative data)."""
    with DEMO_ADDRESSES.open(newline="", encoding="utf-8") as f:
        return [row for _, row in zip(range(n), csv.DictReader(f), strict=False)]


def address_of(row: dict[str, str]) -> str:
    """``"111 ACADEMY LN"`` (with the unit when the row has one)."""
    unit = f" UNIT {row['unit']}" if row.get("unit") else ""
    return f"{row['house_number']} {row['street']}{unit}"


def get_json(client, url: str, status: int = 200, **kwargs) -> dict:
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(force=True)


# -- lookup ----------------------------------------------------------------------------------
def test_lookup_address_is_matched_with_cycle_notes_and_schedule(client, app):
    row = demo_rows(1)[0]
    response = client.get("/api/v1/lookup", query_string={"address": address_of(row)})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "matched"
    assert body["query"] == {"address": address_of(row)}
    city = app.extensions["cyclemap.city"]
    expected = str(city.locate([float(row["lon"])], [float(row["lat"])])[0])
    assert body["cycle"]["id"] == expected
    assert body["location"]["matched_address"].startswith(f"{row['house_number']} {row['street']}")
    assert body["location"]["match_type"] in {"exact", "normalized"}
    assert body["notes"], "the demo city has notes for every cycle on 2020-02-21"
    assert {"id", "title", "html", "updated", "cycles"} <= set(body["notes"][0])
    assert set(body["schedule"]) >= {"next_bill_date", "next_due_date", "next_penalty_date"}
    assert body["candidates"] == []
    assert body["boundary_version"] == city.boundary_version >= 1


def test_lookup_body_is_the_citys_answer(client, app):
    city = app.extensions["cyclemap.city"]
    for row in demo_rows(5):
        text = address_of(row).lower()
        body = get_json(client, "/api/v1/lookup", query_string={"address": text})
        assert body == json.loads(json.dumps(city.lookup(text, today=DEMO_TODAY).to_dict()))


def test_lookup_point_inside_and_outside(client):
    inside = get_json(client, "/api/v1/lookup?lon=-89.58&lat=37.33")
    assert (inside["status"], inside["cycle"]["id"]) == ("matched", "2")
    assert inside["query"] == {"lon": -89.58, "lat": 37.33}
    assert inside["location"]["match_type"] == "point"
    outside = get_json(client, "/api/v1/lookup?lon=-89.0&lat=37.0")
    assert outside["status"] == "outside_service_area"
    assert outside["cycle"] is None and outside["location"] is not None


def test_lookup_unknown_address_is_not_found_not_an_error(client):
    body = get_json(client, "/api/v1/lookup", query_string={"address": "qzx vvqk 99999 zzzz"})
    assert body["status"] == "not_found"
    assert body["cycle"] is None and body["location"] is None


def test_lookup_ambiguous_on_a_tiny_city(tiny_app):
    c = tiny_app().test_client()
    body = get_json(c, "/api/v1/lookup?address=201+ELM+ST")
    assert body["status"] == "ambiguous"
    assert sorted(x["cycle_id"] for x in body["candidates"]) == ["3", "4"]


# -- suggest, cycles, calendar, boundaries, health -------------------------------------------
def test_suggest_completes_what_was_typed(client):
    row = demo_rows(1)[0]
    typed = f"{row['house_number']} {row['street'][:4].lower()}"
    body = get_json(client, "/api/v1/suggest", query_string={"q": typed, "limit": 5})
    assert body["query"] == typed
    assert 1 <= len(body["suggestions"]) <= 5
    assert all(set(s) == {"address", "lon", "lat"} for s in body["suggestions"])
    assert any(s["address"].startswith(row["house_number"]) for s in body["suggestions"])
    assert len(get_json(client, "/api/v1/suggest?q=1&limit=1")["suggestions"]) <= 1


def test_suggest_blank_query_has_no_suggestions(client):
    assert get_json(client, "/api/v1/suggest?q=") == {"query": "", "suggestions": []}
    assert get_json(client, "/api/v1/suggest?q=%20%20")["suggestions"] == []


def test_cycles_and_one_cycle(client):
    body = get_json(client, "/api/v1/cycles")
    assert [c["id"] for c in body["cycles"]] == ["1", "2", "3", "4"]
    for c in body["cycles"]:
        assert set(c) == {"id", "name", "color", "translations", "notes", "schedule"}
    two = get_json(client, "/api/v1/cycles/2")
    assert two == body["cycles"][1]
    assert two["name"] == "Cycle 2"
    assert {e["kind"] for e in two["schedule"]["exceptions"]} <= {
        "no_bill",
        "bill_moved",
        "no_penalty",
        "no_disconnect",
    }


def test_calendar_is_icalendar(client):
    icalendar = pytest.importorskip("icalendar")
    response = client.get("/api/v1/cycles/1/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert 'filename="cycle-1.ics"' in response.headers["Content-Disposition"]
    cal = icalendar.Calendar.from_ical(response.data)
    events = [c for c in cal.walk("VEVENT")]
    assert events, "a year of bill/due/penalty dates"
    assert all(e.get("DTSTART") is not None for e in events)


def test_boundaries_geojson_is_rfc7946(client):
    response = client.get("/api/v1/boundaries.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    fc = json.loads(response.data)
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    assert len(fc["features"]) == 4
    assert sorted(f["properties"]["cycle"] for f in fc["features"]) == ["1", "2", "3", "4"]
    for feature in fc["features"]:
        geometry = feature["geometry"]
        assert geometry["type"] in {"Polygon", "MultiPolygon"}
        rings = (
            geometry["coordinates"] if geometry["type"] == "Polygon" else geometry["coordinates"][0]
        )
        lon, lat = rings[0][0][:2]
        assert -90 < lon < -89 and 37 < lat < 38  # WGS 84, lon before lat


def test_healthz(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "boundary_version": app.extensions["cyclemap.city"].boundary_version,
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_head_requests_work(client):
    response = client.head("/api/v1/cycles")
    assert response.status_code == 200 and response.data == b""


# -- caching ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/boundaries.geojson",
        "/api/v1/cycles",
        "/api/v1/cycles/3",
        "/api/v1/lookup?lon=-89.58&lat=37.33",
        "/api/v1/openapi.json",
    ],
)
def test_etag_and_304(client, url):
    first = client.get(url)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "max-age=" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_calendar_etag_ignores_the_generation_time(client):
    first = client.get("/api/v1/cycles/2/calendar.ics")
    assert first.headers["ETag"].startswith('W/"')
    time.sleep(1.05)  # DTSTAMP has one-second resolution
    again = client.get("/api/v1/cycles/2/calendar.ics")
    assert again.headers["ETag"] == first.headers["ETag"]
    cached = {"If-None-Match": first.headers["ETag"]}
    assert client.get("/api/v1/cycles/2/calendar.ics", headers=cached).status_code == 304
    assert client.get("/api/v1/cycles/3/calendar.ics", headers=cached).status_code == 200


def test_etag_follows_the_date_and_the_notes(tiny_app, clock):
    app = tiny_app()
    c = app.test_client()
    before = c.get("/api/v1/cycles/1").headers["ETag"]
    assert c.get("/api/v1/cycles/1").headers["ETag"] == before
    app.extensions["cyclemap.store"].add_note(
        title="Office closed", body="Closed Monday.", cycles=["1"], author="test", today=clock.today
    )
    after_note = c.get("/api/v1/cycles/1").headers["ETag"]
    assert after_note != before
    clock.today = clock.today.replace(year=clock.today.year + 1)
    assert c.get("/api/v1/cycles/1").headers["ETag"] != after_note


# -- CORS ------------------------------------------------------------------------------------
def test_cors_any_origin_by_default(client):
    response = client.get("/api/v1/cycles", headers={"Origin": "https://city.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_cors_list_of_origins(tiny_app):
    # the header settings are read when the app is built (http.HeaderPlan)
    client = tiny_app(CORS_ORIGINS="https://a.example, https://b.example").test_client()
    ok = client.get("/api/v1/cycles", headers={"Origin": "https://b.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Origin" in ok.headers["Vary"]
    other = client.get("/api/v1/cycles", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]
    problem = client.get("/api/v1/cycles/99", headers={"Origin": "https://a.example"})
    assert problem.headers["Access-Control-Allow-Origin"] == "https://a.example"


def test_cors_preflight(client):
    response = client.options(
        "/api/v1/lookup",
        headers={
            "Origin": "https://city.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_no_cors_on_resident_pages(client):
    response = client.get("/no-such-page", headers={"Origin": "https://city.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


# -- security headers ------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/cycles", "/api/v1/nope", "/healthz", "/", "/lookup"])
def test_security_headers_everywhere(client, url):
    response = client.get(url)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[-1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_embed_may_be_framed_by_configured_origins(tiny_app):
    client = tiny_app(FRAME_ANCESTORS="'self' https://www.cityofcape.example").test_client()
    csp = client.get("/embed").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.cityofcape.example" in csp
    assert "default-src 'self'" in csp
    assert "X-Frame-Options" not in client.get("/embed").headers


def test_csp_nonce_helper(tiny_app):
    app = tiny_app()

    @app.get("/_nonce")
    def nonce_page():
        csp_allow("img-src", "https://tile.example")
        return render_template_string(
            '<script nonce="{{ csp_nonce() }}">1</script><style nonce="{{ csp_nonce() }}"></style>'
        )

    @app.get("/_inline_styles")
    def inline_styles():
        csp_allow("style-src", "'unsafe-inline'")
        return render_template_string('<script nonce="{{ csp_nonce() }}"></script>')

    c = app.test_client()
    first, second = c.get("/_nonce"), c.get("/_nonce")
    nonces = re.findall(r'nonce="([^"]+)"', first.get_data(as_text=True))
    assert len(set(nonces)) == 1 and len(nonces[0]) >= 22
    csp = first.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'nonce-{nonces[0]}'" in csp
    assert f"'nonce-{nonces[0]}'" in csp.split("style-src")[1].split(";")[0]
    assert "img-src 'self' data: https://tile.example" in csp
    assert nonces[0] not in second.get_data(as_text=True)
    styles = c.get("/_inline_styles").headers["Content-Security-Policy"]
    style_src = styles.split("style-src")[1].split(";")[0]
    assert "'unsafe-inline'" in style_src and "nonce-" not in style_src
    assert "nonce-" in styles.split("script-src")[1].split(";")[0]
    plain = c.get("/healthz").headers["Content-Security-Policy"]
    assert "nonce-" not in plain


# -- rate limits -----------------------------------------------------------------------------
def test_rate_limit_answers_429_problem(tiny_app):
    c = tiny_app(RATELIMIT="2/minute").test_client()
    assert [c.get("/api/v1/cycles").status_code for _ in range(2)] == [200, 200]
    limited = c.get("/api/v1/cycles")
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    body = limited.get_json(force=True)
    assert body["status"] == 429 and "2 per 1 minute" in body["detail"]
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["Access-Control-Allow-Origin"] == "*"
    # the health check and preflights are never limited
    assert all(c.get("/healthz").status_code == 200 for _ in range(4))
    preflight = {"Origin": "https://x.example", "Access-Control-Request-Method": "GET"}
    assert c.options("/api/v1/cycles", headers=preflight).status_code == 204


def test_rate_limit_per_client_behind_trusted_proxies(tiny_app):
    c = tiny_app(RATELIMIT="1/minute", TRUSTED_PROXIES=1).test_client()
    for client_ip in ["203.0.113.5", "203.0.113.6"]:
        headers = {"X-Forwarded-For": client_ip}
        assert c.get("/api/v1/cycles", headers=headers).status_code == 200
        assert c.get("/api/v1/cycles", headers=headers).status_code == 429


def test_rate_limit_off_when_empty(tiny_app):
    c = tiny_app(RATELIMIT="").test_client()
    assert all(c.get("/api/v1/cycles/1").status_code == 200 for _ in range(30))


# -- issue 20: a shared cache never keeps a resident's address ---------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/lookup?address=117+S+Sprigg+St",
        "/api/v1/lookup?address=zzz+nowhere",
        "/api/v1/suggest?q=117+s",
        "/lookup?address=117+S+Sprigg+St",
        "/lookup?address=117+S+Sprigg+St&fragment=1",
    ],
)
def test_answers_about_an_address_are_private(client, url):
    response = client.get(url)
    assert response.status_code == 200
    directives = [d.strip() for d in response.headers["Cache-Control"].split(",")]
    assert "private" in directives and "public" not in directives
    if url.startswith("/api/"):  # still revalidated cheaply by the browser itself
        etag = response.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert "private" in again.headers["Cache-Control"]


def test_answers_about_a_point_may_stay_public(client):
    response = client.get("/api/v1/lookup?lon=-89.58&lat=37.33")
    assert response.headers["Cache-Control"].startswith("public, max-age=")


def test_a_lookup_body_is_made_once_per_answer_and_follows_a_change(tiny_app, clock):
    app = tiny_app()
    client = app.test_client()
    url = "/api/v1/lookup?address=101+S+MAIN+ST"
    first, again = client.get(url), client.get(url)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert len(app.extensions["cyclemap.api.bodies"]) == 1  # one answer, one body
    store = app.extensions["cyclemap.store"]
    store.add_note(title="Kept or not", body="x", cycles="all", author="t", today=clock())
    changed = client.get(url)  # a new snapshot: a new answer, a new body
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert "Kept or not" in [n["title"] for n in changed.json["notes"]]
    assert changed.json == {**first.json, "notes": changed.json["notes"]}
    # the old answer went with its snapshot, and its body with it
    assert len(app.extensions["cyclemap.api.bodies"]) == 1


def test_api_bodies_read_as_flasks_encoder_writes_them(app):
    # the API encodes with orjson; what it hands to Flask's ``default`` (dates, dataclasses)
    # and what it turns to text (non-text keys) must read as Flask's own encoder wrote them
    import dataclasses
    import datetime as dt

    from flask import json as flask_json

    from cyclemap.server.api import _dumps

    @dataclasses.dataclass
    class Pair:
        a: int
        b: str

    data = {
        "day": dt.date(2020, 2, 26),
        "at": dt.datetime(2020, 2, 26, 9, 30, tzinfo=dt.timezone.utc),
        "pair": Pair(1, "Ciclo Ñ"),
        "text": "Año, ½, “quoted”",
        "n": [1.5, 0.1, 10**15],
    }
    with app.app_context():
        body = _dumps(data)
        assert json.loads(body) == json.loads(flask_json.dumps(data))
        assert list(json.loads(body)) == sorted(data)  # keys sorted
        numbered = {10: "ten", 7: "seven"}
        assert json.loads(_dumps(numbered)) == json.loads(flask_json.dumps(numbered))
