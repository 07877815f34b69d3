"""Feeds for integrators: the notes as Atom, the calendar, and ``/api/v1/changes``.

Each feed is parsed back with feedparser (a real feed reader's parser) and fetched again with
its ETag and its Last-Modified, as a reader polling it would.
"""

from __future__ import annotations

import datetime as dt
import re

import feedparser
import pytest

from .conftest import _make_app

ALL = "/api/v1/feed.atom"
CYCLE2 = "/api/v1/cycles/2/feed.atom"


@pytest.fixture
def store(fresh_app):
    return fresh_app.extensions["cyclemap.store"]


@pytest.fixture
def api(fresh_app):
    return fresh_app.test_client()


def parsed(response):
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    return feed


def later_clock(store, minutes: int = 1) -> None:
    """The store's changes from now on are stamped ``minutes`` later than the real time."""
    store.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


def add_note(store, clock, title: str, cycles=("2",)) -> int:
    return store.add_note(title=title, body="Mailed **3/4**.", cycles=cycles, author="clerk",
                          today=clock())  # fmt: skip


def test_the_feeds_parse_with_feedparser(api, store, clock):
    every = parsed(api.get(ALL))
    two = parsed(api.get(CYCLE2))
    assert every.version == "atom10"
    assert every.feed.title == "Billing notices · Cape Girardeau, Missouri"
    assert two.feed.title.startswith("Cycle 2 billing notices")
    assert two.feed.id == "tag:cyclemap,2020:cape-girardeau-missouri/cycles/2/notes"
    # the seeded notes: every cycle's feed holds its own and those for all cycles, no other
    seeded = store.list_notes(clock(), include_all=True)
    mine = {n.title for n in seeded if n.applies_to("2")}
    assert {e.title.removeprefix("New: ") for e in two.entries} == mine
    assert {e.title.removeprefix("New: ") for e in every.entries} == {n.title for n in seeded}
    assert len(two.entries) < len(every.entries)
    for e in two.entries:
        assert re.fullmatch(
            r"tag:cyclemap,2020:cape-girardeau-missouri/notes/\d+/\d{8}T\d+(\.\d+)?Z", e.id
        )
        assert e.link == "http://localhost/"
        assert e.updated_parsed and e.published_parsed
        assert "cycle:2" in {t.term for t in e.tags} or "cycle:all" in {t.term for t in e.tags}
    assert {link.rel for link in every.feed.links} == {"alternate", "self"}


def test_new_updated_and_expired_notes_are_entries_with_stable_ids(api, store, clock):
    before = {e.id for e in parsed(api.get(CYCLE2)).entries}
    note_id = add_note(store, clock, "Cycle 2 bills are late")
    store.edit_note(note_id, author="clerk", today=clock(), title="Cycle 2 bills are late again")
    store.expire_note(note_id, author="clerk")
    feed = parsed(api.get(CYCLE2))
    new = [e for e in feed.entries if e.id not in before]
    # newest first: one entry per event, each naming what happened
    assert [e.title for e in new] == [
        "Expired: Cycle 2 bills are late again",
        "Updated: Cycle 2 bills are late again",
        "New: Cycle 2 bills are late",
    ]
    assert all(f"/notes/{note_id}/" in e.id for e in new)
    assert "<strong>3/4</strong>" in new[-1].summary
    assert "taken down" in new[0].summary
    # the same events give the same ids (and bytes) on every request and every server
    again = parsed(api.get(CYCLE2))
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]
    # a note for cycle 3 only is not in cycle 2's feed, but is in the feed of all cycles
    add_note(store, clock, "Cycle 3 only", cycles=("3",))
    assert "New: Cycle 3 only" not in {e.title for e in parsed(api.get(CYCLE2)).entries}
    assert "New: Cycle 3 only" in {e.title for e in parsed(api.get(ALL)).entries}


def test_a_second_server_serves_the_same_feed(fresh_app, tmp_path, clock):
    first = fresh_app.test_client().get(CYCLE2)
    other = _make_app(tmp_path / "cyclemap.sqlite", clock)  # the file fresh_app uses
    second = other.test_client().get(CYCLE2)
    assert second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]


def test_conditional_get_of_a_feed(api, store, clock):
    first = api.get(CYCLE2)
    tag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert tag.startswith('"') and modified.endswith("GMT")
    assert api.get(CYCLE2, headers={"If-None-Match": tag}).status_code == 304
    assert api.get(CYCLE2, headers={"If-Modified-Since": modified}).status_code == 304
    earlier = "Sat, 01 Feb 2020 00:00:00 GMT"
    assert api.get(CYCLE2, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert api.get(CYCLE2, headers=both).status_code == 200
    # a change (a minute later) makes a new tag and a later Last-Modified: the old ones get
    # the new feed
    later_clock(store)
    add_note(store, clock, "Newer")
    changed = api.get(CYCLE2, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert api.get(CYCLE2, headers={"If-Modified-Since": modified}).status_code == 200
    assert changed.headers["Last-Modified"] != modified
    assert api.get(CYCLE2, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_an_unknown_cycle_has_no_feed(api):
    response = api.get("/api/v1/cycles/9/feed.atom")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_calendar_answers_conditional_gets(api, store):
    first = api.get("/api/v1/cycles/2/calendar.ics")
    assert first.status_code == 200
    tag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert (
        api.get("/api/v1/cycles/2/calendar.ics", headers={"If-None-Match": tag}).status_code == 304
    )
    assert (
        api.get(
            "/api/v1/cycles/2/calendar.ics", headers={"If-Modified-Since": modified}
        ).status_code
        == 304
    )
    # a new exception changes the calendar (no May bill): neither old validator holds (a
    # minute later: HTTP dates have whole seconds)
    later_clock(store)
    store.add_exception({"kind": "no_bill", "date": "2020-05-01", "until": "2020-05-31",
                         "cycles": ["2"], "text": "No May bill."}, author="clerk")  # fmt: skip
    ics = "/api/v1/cycles/2/calendar.ics"
    assert api.get(ics, headers={"If-None-Match": tag}).status_code == 200
    later = api.get(ics, headers={"If-Modified-Since": modified})
    assert later.status_code == 200
    assert later.headers["ETag"] != tag and later.headers["Last-Modified"] != modified


def test_each_cycle_links_its_feed_with_rel_alternate(api):
    page = api.get("/").text
    head = page.split("</head>")[0]
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml" href="([^"]+)"', head)
    assert links[0] == ALL and CYCLE2 in links and len(links) == 5  # all, then cycles 1-4
    cards = re.findall(r'<a rel="alternate" type="application/atom\+xml" href="([^"]+)"', page)
    assert cards == [f"/api/v1/cycles/{c}/feed.atom" for c in "1234"]
    for href in links:
        parsed(api.get(href))


def test_changes_since_a_time(api, store, clock, fresh_app):
    start = dt.datetime.now(dt.UTC)
    assert api.get(f"/api/v1/changes?since={start.isoformat()}").get_json()["changes"] == []
    note_id = add_note(store, clock, "Listed")
    store.expire_note(note_id, author="clerk")
    city = fresh_app.extensions["cyclemap.city"]
    from .conftest import swap_cycles

    version = store.publish_boundaries(
        swap_cycles(city.boundaries.to_geojson()), author="clerk", message="swap"
    )
    body = api.get("/api/v1/changes", query_string={"since": start.isoformat()}).get_json()
    kinds = [(c["kind"], c["action"], c["id"]) for c in body["changes"]]
    assert kinds == [
        ("note", "add", str(note_id)),
        ("note", "expire", str(note_id)),
        ("boundary_version", "publish", str(version)),
    ]
    assert body["changes"][0]["detail"]["title"] == "Listed"
    assert "actor" not in body["changes"][0] and "author" not in str(body)
    assert body["more"] is False and body["next_since"] == body["changes"][-1]["at"]
    # paging: one at a time, from each answer's next_since
    seen, since = [], start.isoformat()
    for _ in range(5):
        page = api.get("/api/v1/changes", query_string={"since": since, "limit": 1}).get_json()
        seen += page["changes"]
        since = page["next_since"]
        if not page["more"]:
            break
    assert [c["id"] for c in seen] == [c["id"] for c in body["changes"]]
    # a Z time, a date alone, and nothing after now
    assert api.get("/api/v1/changes?since=2000-01-01").status_code == 200
    zulu = api.get("/api/v1/changes?since=2000-01-01T00:00:00Z").get_json()
    assert len(zulu["changes"]) >= 3
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert (
        api.get("/api/v1/changes", query_string={"since": later.isoformat()}).get_json()["changes"]
        == []
    )


@pytest.mark.parametrize("query", ["", "?since=yesterday", "?since=2020-02-30", "?since=1&limit=0"])
def test_changes_refuse_a_bad_since(api, query):
    response = api.get(f"/api/v1/changes{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
