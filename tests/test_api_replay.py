"""A repeated ``/api/v1/lookup`` is served by ``replay.LookupReplay`` with the bytes Flask made the
first time, and only while the city still gives the same answer: these tests hold it to that."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from cyclemap.server.api import REPLAY

from .test_api import tiny_app  # noqa: F401  (a fixture)

URLS = [
    "/api/v1/lookup?address=101+S+MAIN+ST",
    "/api/v1/lookup?address=101%20s%20main%20st.%2C%20testville%2000001",
    "/api/v1/lookup?address=301+Oak+Ave&date=2020-03-01",
    "/api/v1/lookup?address=500+FAR+RD",  # outside every zone: an answer, not a miss
    "/api/v1/lookup?lon=0.0151&lat=0.012",
]


def _hits(app) -> int:
    return app.extensions[REPLAY].hits


def _whole(response) -> tuple:
    return response.status, list(response.headers.items()), response.data


@pytest.mark.parametrize("url", URLS)
def test_a_repeated_lookup_is_the_same_response_byte_for_byte(tiny_app, url):  # noqa: F811
    app = tiny_app()
    client = app.test_client()
    first = client.get(url)
    assert first.status_code == 200 and _hits(app) == 0
    again = client.get(url)
    assert _hits(app) == 1, "the second request was replayed"
    assert _whole(again) == _whole(first)  # status, every header in order, the body
    assert again.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get(url).data == first.data and _hits(app) == 2


def test_a_note_a_publish_and_a_new_day_are_never_replayed_stale(tiny_app, clock):  # noqa: F811
    app = tiny_app()
    client = app.test_client()
    url = URLS[0]
    first = client.get(url)
    assert client.get(url).data == first.data and _hits(app) == 1
    store = app.extensions["cyclemap.store"]
    store.add_note(title="Bills mailed late", body="x", cycles="all", author="t", today=clock())
    after_note = client.get(url)
    assert _hits(app) == 1, "a new snapshot's answer goes through Flask"
    assert "Bills mailed late" in [n["title"] for n in after_note.json["notes"]]
    assert client.get(url).data == after_note.data and _hits(app) == 2
    clock.today = clock.today + dt.timedelta(days=1)  # a new day: a new answer
    next_day = client.get(url)
    assert next_day.status_code == 200 and _hits(app) == 2, "a new day's answer is made anew"
    assert client.get(url).data == next_day.data and _hits(app) == 3


def test_a_miss_goes_through_flask_each_time_and_is_counted_each_time(tiny_app):  # noqa: F811
    app = tiny_app()
    client = app.test_client()
    for url in ("/api/v1/lookup?address=999+NOWHERE+ST", "/api/v1/lookup?address=201+ELM+ST"):
        statuses = [client.get(url).json["status"] for _ in range(3)]
        assert statuses[0] in ("not_found", "ambiguous") and len(set(statuses)) == 1
    assert _hits(app) == 0
    city = app.extensions["cyclemap.city"]
    city.misses.flush()
    counts = {m.key: m.count for m in city.store.list_misses(status=None)}
    assert counts == {"NOWHERE ST": 3, "ELM ST": 3}, counts


def test_conditional_cookie_head_and_bad_requests_go_through_flask(tiny_app):  # noqa: F811
    app = tiny_app()
    client = app.test_client()
    url = URLS[0]
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.head(url).data == b""
    client.set_cookie("cyclemap_lang", "es")
    assert client.get(url).status_code == 200
    client.delete_cookie("cyclemap_lang")
    assert _hits(app) == 0
    assert client.get("/api/v1/lookup?address=").status_code == 400
    assert client.get("/api/v1/lookup?address=").status_code == 400
    assert client.get("/api/v1/lookup?lon=0.01&lat=north").status_code == 400
    assert client.get("/api/v1/lookup?lon=0.01&lat=north").status_code == 400
    assert _hits(app) == 0
    assert client.get(url).status_code == 200 and _hits(app) == 1


def test_no_replay_while_rate_limits_count_each_request(tiny_app):  # noqa: F811
    app = tiny_app(RATELIMIT="3/minute")
    client = app.test_client()
    assert REPLAY not in app.extensions
    codes = [client.get(URLS[0]).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_an_answer_that_varies_by_origin_is_not_replayed(tiny_app):  # noqa: F811
    app = tiny_app(CORS_ORIGINS="https://city.example, https://county.example")
    client = app.test_client()
    url = URLS[0]
    for origin in ("https://city.example", "https://county.example", "https://other.example"):
        response = client.get(url, headers={"Origin": origin})
        assert "Origin" in response.headers["Vary"]
        allowed = response.headers.get("Access-Control-Allow-Origin")
        assert allowed == (None if "other" in origin else origin)
    assert _hits(app) == 0


def test_replayed_demo_answers_equal_flasks_for_addresses_typed_every_way(app):
    import csv

    from .test_api import DEMO_ADDRESSES

    with DEMO_ADDRESSES.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[::97][:60]
    client = app.test_client()
    urls = []
    for row in rows:
        number, street = row["house_number"], row["street"]
        for text in (f"{number} {street}", f"{number} {street.lower()}, Cape Girardeau MO"):
            urls.append("/api/v1/lookup?" + urllib.parse.urlencode({"address": text}))
    firsts = {url: _whole(client.get(url)) for url in urls}
    before = _hits(app)
    replayed = {url: _whole(client.get(url)) for url in urls}
    assert replayed == firsts
    assert _hits(app) - before == sum(b'"status":"matched"' in w[2] for w in firsts.values()) > 0


@pytest.mark.parametrize(
    ("config", "forged"),
    [
        ({}, {"Host": "evil.example"}),
        (
            {"TRUSTED_PROXIES": 1},
            {"Host": "cycles.example.gov", "X-Forwarded-Host": "evil.example"},
        ),
    ],
    ids=["Host", "X-Forwarded-Host"],
)
def test_a_host_flask_refuses_is_refused_again_not_replayed(tiny_app, config, forged):  # noqa: F811
    app = tiny_app(TRUSTED_HOSTS=["cycles.example.gov"], **config)
    client = app.test_client()
    url = URLS[0]
    trusted = {"Host": "cycles.example.gov"}
    assert client.get(url, headers=trusted).status_code == 200
    assert client.get(url, headers=trusted).status_code == 200 and _hits(app) == 1
    assert client.get(url, headers=forged).status_code == 400  # Flask's answer to that Host
    assert client.get(url, headers=forged).status_code == 400
    assert client.get(url, headers=trusted).status_code == 200 and _hits(app) == 2


def test_what_is_kept_is_bounded_by_more_than_the_count(tiny_app):  # noqa: F811
    # a query string may be 16 KiB (MAX_QUERY_BYTES) of parameters the view never reads: kept
    # by it, REPLAY_SIZE of them would hold 64 MiB for one answer. A long one goes to Flask.
    from cyclemap.server.api import MAX_QUERY_CHARS
    from cyclemap.server.replay import REPLAY_MAX_QUERY_BYTES

    app = tiny_app()
    client = app.test_client()
    first = client.get(URLS[0])
    padded = [f"{URLS[0]}&n={i}&pad={'p' * 8000}" for i in range(3)]
    for url in padded * 2:
        assert _whole(client.get(url)) == _whole(first)
    replay = app.extensions[REPLAY]
    assert replay.kept == 1 and _hits(app) == 0
    # the longest address the API takes, each of its characters percent-encoded, is still kept
    text = "101 S MAIN ST".ljust(MAX_QUERY_CHARS)
    longest = "/api/v1/lookup?address=" + "".join(f"%{b:02X}" for b in text.encode())
    assert len(longest.partition("?")[2]) <= REPLAY_MAX_QUERY_BYTES
    made = client.get(longest)
    assert made.json["status"] == "matched"
    assert _whole(client.get(longest)) == _whole(made) and _hits(app) == 1
