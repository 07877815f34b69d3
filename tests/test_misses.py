"""Misses become aliases: lookups that miss are counted by street, staff attach an alias, and
every server's geocoder reads it within seconds, without a restart or a rebuild."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
import sqlalchemy as sa

import cyclemap
from cyclemap import city as city_module
from cyclemap.config import DEFAULT_CITY
from cyclemap.errors import InputError, NotFoundError
from cyclemap.geocode import Geocoder
from cyclemap.geocode.layer import AddressLayer
from cyclemap.misses import MissCounter
from cyclemap.store import MissTally, Store

from .conftest import Clock
from .pg import pg_server, pg_url, store_url  # noqa: F401  (fixtures)
from .staff import PASSWORD, add_accounts, csrf_token, sign_in

OLD_JACKSON = "1234 Old Jackson Rd"


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'store.sqlite'}").start()


@pytest.fixture
def city(store):
    return cyclemap.open_city(store=store, clock=Clock(), cache_dir=False)


def flushed(city) -> list:
    city.misses.flush()
    return city.store.list_misses(status=None)


# -- the geocoder reads aliases over its compiled tables ---------------------------------------
def tiny_geocoder() -> Geocoder:
    rows = [
        (12, "MARTIN LUTHER KING JR BLVD", 0.0),
        (14, "MARTIN LUTHER KING JR BLVD", 0.001),
        (12, "N KINGSHIGHWAY", 0.01),
        (7, "OAK AVE", 0.02),
    ]
    return Geocoder(
        AddressLayer.from_records(
            [{"number": n, "street": s, "lon": x, "lat": 0.0} for n, s, x in rows]
        )
    )


def test_a_street_alias_turns_a_miss_into_a_match():
    # (MLK itself is a USPS name word already: "MLK BLVD" matches MARTIN LUTHER KING JR BLVD)
    g = tiny_geocoder()
    assert g.geocode("12 King Blvd").status == "not_found"
    aliased, problems = g.with_aliases({"KING BLVD": "MARTIN LUTHER KING JR BLVD"})
    assert problems == []
    for text in ("12 King Blvd", "12 king boulevard", "12 King", "12 N King Blvd"):
        r = aliased.geocode(text)
        assert r.status == "matched", text
        assert r.candidates[0].matched_address == "12 MARTIN LUTHER KING JR BLVD"
    assert "street alias" in " ".join(aliased.geocode("12 King Blvd").candidates[0].notes)
    # the compiled geocoder is not changed, nor rebuilt: the copy shares its tables
    assert g.geocode("12 King Blvd").status == "not_found"
    assert aliased.layer is g.layer and aliased.index.exact is g.index.exact
    assert aliased.index.site_lon is g.index.site_lon


def test_a_correction_names_one_address_and_bad_aliases_are_reported():
    g = tiny_geocoder()
    aliased, problems = g.with_aliases(
        {"OLD JACKSON RD": "NO SUCH ST"},
        {"99 Elm St": "7 Oak Ave", "5 Elm St": "12 Nowhere"},
    )
    r = aliased.geocode("99 elm street")
    assert (r.status, r.step, r.candidates[0].matched_address) == (
        "matched",
        "corrected",
        "7 OAK AVE",
    )
    assert aliased.geocode("98 Elm St").status == "not_found"  # one address, not the street
    assert problems == [
        "street alias OLD JACKSON RD -> NO SUCH ST: no such street in the layer",
        "correction 5 Elm St -> 12 Nowhere: not one address of the layer",
    ]


# -- the store keeps counts and versioned, audited aliases --------------------------------------
def test_misses_are_counted_across_flushes_and_ranked(store):
    a, b = MissCounter(store, background=False), MissCounter(store, background=False)
    for _ in range(3):
        a.count("street", "OLD JACKSON RD", "not_found")
    b.count("street", "OLD JACKSON RD", "ambiguous")
    b.count("street", "MLK BLVD", "not_found")
    a.count("street", "IGNORED", "matched")  # only misses count
    assert (a.pending, b.pending) == (3, 2)
    writes = store.writes
    assert a.flush() == 1 and b.flush() == 2 and a.flush() == 0
    assert store.writes == writes  # counts are no change a cached snapshot depends on
    ranked = [(m.key, m.count, m.not_found, m.ambiguous) for m in store.list_misses()]
    assert ranked == [("OLD JACKSON RD", 4, 3, 1), ("MLK BLVD", 1, 1, 0)]
    assert store.audit_log(entity="miss") == []


def test_aliases_are_versioned_and_audited(store):
    alias = store.add_alias("street", "MLK BLVD", "MARTIN LUTHER KING JR BLVD", author="pat")
    with pytest.raises(InputError, match="already an alias"):
        store.add_alias("street", "MLK BLVD", "N KINGSHIGHWAY", author="pat")
    edited = store.edit_alias(alias.alias_id, "N KINGSHIGHWAY", author="ann", message="renamed")
    assert (edited.alias_id, edited.version, edited.target) == (alias.alias_id, 2, "N KINGSHIGHWAY")
    every = store.list_aliases(include_retired=True)
    assert [(x.version, x.active, x.retired_by) for x in every] == [
        (1, False, "ann"),
        (2, True, None),
    ]
    store.retire_alias(alias.alias_id, author="ann")
    assert store.list_aliases() == []
    history = store.alias_history(alias.alias_id)
    assert [(e.action, e.actor) for e in history] == [
        ("add", "pat"),
        ("edit", "ann"),
        ("retire", "ann"),
    ]
    assert history[1].before["target"] == "MARTIN LUTHER KING JR BLVD"
    assert history[1].after["target"] == "N KINGSHIGHWAY"
    with pytest.raises(NotFoundError):
        store.retire_alias(alias.alias_id, author="ann")


# -- the city counts residents' misses, never their house numbers --------------------------------
def test_only_residents_misses_are_counted_and_without_the_number(city):
    city.lookup(OLD_JACKSON, record=True)
    city.lookup("1300 old jackson road", record=True)  # another number, the same street
    city.lookup(OLD_JACKSON, record=True)  # a kept answer counts too
    city.lookup(OLD_JACKSON)  # not a resident's lookup (the CLI, a check): not counted
    city.lookup("1234 N Kingshighway", record=True)  # matched: not a miss
    city.lookup(lon=-89.55, lat=37.31, record=True)  # a point is no typed address
    misses = flushed(city)
    assert [(m.kind, m.key, m.count) for m in misses] == [("street", "OLD JACKSON RD", 3)]
    with city.store.engine.connect() as conn:
        stored = " ".join(
            str(v) for row in conn.execute(sa.text("SELECT * FROM lookup_misses")) for v in row
        )
    assert "1234" not in stored and "1300" not in stored


def test_a_confirmed_choice_keeps_the_typed_address_with_the_place(city):
    answer = city.lookup("99999 N Kingshighway")
    assert answer.status == "not_found" and answer.candidates
    chosen = answer.candidates[0].matched_address
    assert not city.confirm_choice("99999 N Kingshighway", "1 NOT OFFERED ST")
    assert not city.confirm_choice("1234 N Kingshighway", "1234 N KINGSHIGHWAY")  # no miss
    assert city.confirm_choice("99999 n kingshighway", chosen)
    misses = flushed(city)
    assert [(m.kind, m.key, m.chosen) for m in misses] == [
        ("address", "99999 N KINGSHIGHWAY", chosen)
    ]


def test_a_database_that_fails_never_fails_a_lookup(city, store):
    with store._write() as conn:  # the table is gone: every flush fails
        conn.execute(sa.text("ALTER TABLE lookup_misses RENAME TO lookup_misses_away"))
    for _ in range(3):
        assert city.lookup(OLD_JACKSON, record=True).status == "not_found"
    assert city.misses.flush() == 0 and city.misses.failed_flushes == 1
    assert city.misses.pending == 3  # kept for the next try
    with store._write() as conn:
        conn.execute(sa.text("ALTER TABLE lookup_misses_away RENAME TO lookup_misses"))
    assert city.misses.flush() == 1 and city.misses.pending == 0
    assert store.list_misses()[0].count == 3


def test_memory_stays_bounded(store):
    counter = MissCounter(store, background=False, max_keys=2)
    for key in ("A ST", "B ST", "C ST", "A ST"):
        counter.count("street", key, "not_found")
    assert (counter.pending, counter.dropped) == (3, 1)


def test_the_background_thread_writes_the_counts(store):
    counter = MissCounter(store, flush_seconds=0.05)
    counter.count("street", "OLD JACKSON RD", "not_found")
    deadline = time.monotonic() + 10
    while not store.list_misses() and time.monotonic() < deadline:
        time.sleep(0.05)
    counter.close()
    assert [m.key for m in store.list_misses()] == ["OLD JACKSON RD"]


def test_an_alias_is_part_of_the_snapshot_and_rebuilds_nothing(city):
    before = city._current()
    assert city.lookup(OLD_JACKSON).status == "not_found"
    with pytest.raises(InputError, match="not a street of the address layer"):
        city.add_alias("street", "Old Jackson Rd", "Nowhere Blvd", author="pat")
    with pytest.raises(InputError, match="already a street"):
        city.add_alias("street", "n kingshighway", "S Sprigg St", author="pat")
    alias = city.add_alias("street", "Old Jackson Rd", "Kingshighway", author="pat")
    assert (alias.source, alias.target) == ("OLD JACKSON RD", "KINGSHIGHWAY")
    answer = city.lookup(OLD_JACKSON)
    assert (answer.status, answer.location.matched_address) == ("matched", "1234 N KINGSHIGHWAY")
    after = city._current()
    assert after is not before and after.aliases == (alias,)
    # the compiled geocoder is the same object: only the light copy over it is new
    assert after.base_geocoder is before.geocoder and after.geocoder is not before.geocoder
    correction = city.add_alias("address", "77 Old Mill Rd", "1234 n kingshighway", author="pat")
    assert (correction.source, correction.target) == (
        "77 OLD ML RD",
        "1234 N KINGSHIGHWAY",
    )  # MILL is ML
    assert city.lookup("77 old mill road").cycle_id == answer.cycle_id
    city.store.retire_alias(alias.alias_id, author="pat")
    assert city.lookup(OLD_JACKSON).status == "not_found"


# -- the staff page ------------------------------------------------------------------------------
def _server(url: str):
    from cyclemap.server import create_app

    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "CLOCK": Clock(), "CITY": str(DEFAULT_CITY),
         "RATELIMIT": ""}
    )  # fmt: skip
    add_accounts(app)
    return app


def test_the_staff_page_ranks_misses_and_only_publishers_change_aliases(tmp_path):
    app = _server(f"sqlite:///{tmp_path / 'db.sqlite'}")
    resident = app.test_client()
    for text in (OLD_JACKSON, "1300 Old Jackson Rd", "12 Dr King Blvd"):
        assert resident.get("/api/v1/lookup", query_string={"address": text}).status_code == 200
    eve = app.test_client()
    sign_in(eve, "eve")
    page = eve.get("/staff/misses")
    assert page.status_code == 200
    rows = page.text.split("Streets residents could not find")[1].split("Places residents")[0]
    assert rows.index("OLD JACKSON RD") < rows.index("DR KING BLVD")  # 2 lookups before 1
    assert "1234" not in rows and "1300" not in rows
    assert "Add alias" not in page.text  # an editor sees, a publisher changes
    form = {"kind": "street", "source": "DR KING BLVD", "target": "N KINGSHIGHWAY"}
    refused = eve.post("/staff/misses/aliases", data={"csrf_token": csrf_token(page.text), **form})
    assert refused.status_code == 403
    pat = app.test_client()
    sign_in(pat, "pat")
    page = pat.get("/staff/misses")
    form = {**form, "target": "Nowhere Blvd"}
    bad = pat.post("/staff/misses/aliases", data={"csrf_token": csrf_token(page.text), **form})
    assert bad.status_code == 400 and "not a street of the address layer" in bad.text
    assert app.extensions["cyclemap.store"].list_aliases() == []


def test_two_servers_an_alias_added_on_a_turns_a_miss_on_b_into_a_match(store_url, monkeypatch):  # noqa: F811
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.5)
    a, b = _server(store_url), _server(store_url)
    resident = b.test_client()
    query = {"address": "1234 old jackson rd"}
    assert resident.get("/api/v1/lookup", query_string=query).get_json()["status"] == "not_found"
    b.extensions["cyclemap.city"].misses.flush()  # what B's background thread does every few s

    # staff on server A see B's miss and attach an alias to it through the page
    staff = a.test_client()
    assert sign_in(staff, "pat").status_code == 302
    page = staff.get("/staff/misses")
    assert "OLD JACKSON RD" in page.text
    miss = a.extensions["cyclemap.store"].list_misses()[0]
    added = staff.post("/staff/misses/aliases", data={
        "csrf_token": csrf_token(page.text), "kind": "street", "source": miss.key,
        "target": "N KINGSHIGHWAY", "miss_id": str(miss.id)})  # fmt: skip
    assert added.status_code == 302
    assert "Alias 1 added" in staff.get("/staff/misses").text
    assert a.extensions["cyclemap.store"].get_miss(miss.id).status == "aliased"

    # server B, not restarted, answers with the alias within its refresh interval
    deadline = time.monotonic() + 10
    body = resident.get("/api/v1/lookup", query_string=query).get_json()
    while body["status"] != "matched" and time.monotonic() < deadline:
        time.sleep(0.1)
        body = resident.get("/api/v1/lookup", query_string=query).get_json()
    assert body["status"] == "matched"
    assert body["location"]["matched_address"] == "1234 N KINGSHIGHWAY"
    assert [e.action for e in a.extensions["cyclemap.store"].alias_history(1)] == ["add"]
    for app in (a, b):  # before the database goes: no thread is left to write to it
        app.extensions["cyclemap.city"].misses.close()


def test_a_resident_picking_a_place_lets_staff_make_a_correction(tmp_path):
    app = _server(f"sqlite:///{tmp_path / 'db.sqlite'}")
    resident = app.test_client()
    page = resident.get("/lookup", query_string={"address": "99999 N Kingshighway"}).text
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="(/lookup\?[^"]+)"', page)]
    picks = [h for h in links if "from=" in h]
    assert picks, "the offered places carry what was typed"
    followed = resident.get(picks[0])
    assert followed.status_code == 200
    assert followed.headers["Cache-Control"] == "private"
    pat = app.test_client()
    sign_in(pat, "pat", PASSWORD)
    staff_page = pat.get("/staff/misses").text
    assert "99999 N KINGSHIGHWAY" in staff_page and "Make this a correction" in staff_page
    miss = app.extensions["cyclemap.store"].list_misses(kind="address")[0]
    made = pat.post("/staff/misses/aliases", data={
        "csrf_token": csrf_token(staff_page), "kind": "address", "source": miss.key,
        "target": miss.chosen, "miss_id": str(miss.id)})  # fmt: skip
    assert made.status_code == 302
    answer = resident.get("/api/v1/lookup?address=99999+n+kingshighway").get_json()
    assert (answer["status"], answer["location"]["matched_address"]) == ("matched", miss.chosen)


# -- the command line ----------------------------------------------------------------------------
def test_the_cli_adds_lists_and_retires_aliases(tmp_path):
    from click.testing import CliRunner

    from cyclemap.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    run = CliRunner().invoke
    base = ["--database-url", url, "--cache-dir", str(tmp_path / "cache"), "aliases"]
    assert run(main, [*base, "list"]).output == "No aliases.\n"
    bad = run(main, [*base, "add", "Old Jackson Rd", "Nowhere Blvd"])
    assert bad.exit_code == 2 and "not a street of the address layer" in bad.output
    added = run(main, [*base, "add", "Old Jackson Rd", "N Kingshighway", "-m", "old name"])
    assert added.exit_code == 0, added.output
    alias_id = int(added.stdout.strip())
    listed = run(main, [*base, "list", "--json"])
    assert [(a["source"], a["target"]) for a in json.loads(listed.output)["aliases"]] == [
        ("OLD JACKSON RD", "N KINGSHIGHWAY")
    ]
    store = Store(url)
    assert [e.action for e in store.alias_history(alias_id)] == ["add"]
    city = cyclemap.open_city(store=store, clock=Clock(), cache_dir=False)
    assert city.lookup(OLD_JACKSON).status == "matched"
    assert run(main, [*base, "retire", str(alias_id)]).exit_code == 0
    assert run(main, [*base, "retire", str(alias_id)]).exit_code == 4
    assert "retired" in run(main, [*base, "list", "--all"]).output
    store.record_misses(
        [MissTally("street", "DR KING BLVD", "", 2, 1, *(2 * [dt.datetime.now(dt.UTC)]))]
    )
    misses = run(main, [*base, "misses"])
    assert misses.output.split() == ["3", "street", "DR", "KING", "BLVD"]
