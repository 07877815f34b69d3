"""The City facade: geocode + locate + notes + schedule, in file mode (no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import cyclemap
from cyclemap.errors import ConfigError, InputError, NotFoundError

from .conftest import swap_cycles, write_city

TODAY = dt.date(2020, 2, 21)

# Streets of the fixture city (zones: 1 SW, 2 NW, 3 NE, 4 SE around lon/lat 0..0.02).
# MAIN ST runs north-south at x=0.005 through zones 1 and 2; N/S ELM ST are two halves of one
# street, S ELM in zone 4 and N ELM in zone 3; OAK AVE lies wholly in zone 1.
ROWS = [
    (101, "N MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0120),
    (103, "N MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0130),
    (105, "N MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0140),
    (102, "N MAIN ST", "", "TESTVILLE", "00001", 0.0049, 0.0120),
    (101, "S MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0080),
    (103, "S MAIN ST", "", "TESTVILLE", "00001", 0.0051, 0.0070),
    (102, "S MAIN ST", "", "TESTVILLE", "00001", 0.0049, 0.0080),
    (201, "N ELM ST", "", "TESTVILLE", "00001", 0.0151, 0.0120),
    (203, "N ELM ST", "", "TESTVILLE", "00001", 0.0151, 0.0130),
    (201, "S ELM ST", "", "TESTVILLE", "00001", 0.0151, 0.0080),
    (203, "S ELM ST", "", "TESTVILLE", "00001", 0.0151, 0.0070),
    (301, "OAK AVE", "", "TESTVILLE", "00001", 0.0020, 0.0020),
    (303, "OAK AVE", "", "TESTVILLE", "00001", 0.0030, 0.0020),
    (305, "OAK AVE", "", "TESTVILLE", "00001", 0.0040, 0.0020),
    (302, "OAK AVE", "", "TESTVILLE", "00001", 0.0020, 0.0025),
    (304, "OAK AVE", "", "TESTVILLE", "00001", 0.0030, 0.0025),
    (500, "FAR RD", "", "TESTVILLE", "00001", 0.0500, 0.0500),  # outside every zone
    # BIRCH ST runs east from zone 1 into zone 4 (the border is x = 0.01); odd side only
    (101, "BIRCH ST", "", "TESTVILLE", "00001", 0.0070, 0.0050),
    (109, "BIRCH ST", "", "TESTVILLE", "00001", 0.0085, 0.0050),
    (131, "BIRCH ST", "", "TESTVILLE", "00001", 0.0105, 0.0050),
]

NOTES = """
[[notes]]
title = "February bills for Cycles 1 and 2"
body = "Cycle 1 and Cycle 2 bills were **not** sent in February."
cycles = ["1", "2"]
posted = 2020-02-20
ends = 2020-04-30

[[notes]]
title = "No disconnects"
body = "No services will be disconnected on 2/26/20."
cycles = "all"
posted = 2020-02-20

[[notes]]
title = "Future note"
body = "Not yet."
cycles = "all"
posted = 2020-02-20
starts = 2020-06-01
"""


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = write_city(tmp_path_factory.mktemp("testville"), addresses=ROWS, notes_toml=NOTES)
    return cyclemap.open_city(folder, clock=lambda: TODAY)


def test_exact_address_is_matched_with_cycle_notes_and_schedule(city):
    answer = city.lookup("101 S MAIN ST")
    assert answer.status == "matched"
    assert answer.cycle_id == "1"
    body = answer.to_dict()
    assert body["location"]["matched_address"].startswith("101 S MAIN ST")
    assert body["location"]["match_type"] in {"exact", "normalized"}
    assert [n["title"] for n in body["notes"]] == [
        "February bills for Cycles 1 and 2",
        "No disconnects",
    ]
    assert "<strong>not</strong>" in body["notes"][0]["html"]
    assert body["schedule"]["next_bill_date"] is not None
    assert body["candidates"] == []
    assert body["boundary_version"] == 0


def test_point_lookup_and_outside(city):
    inside = city.lookup(lon=0.015, lat=0.015)
    assert (inside.status, inside.cycle_id) == ("matched", "3")
    assert inside.to_dict()["location"]["match_type"] == "point"
    outside = city.lookup(lon=0.5, lat=0.5)
    assert (outside.status, outside.cycle_id) == ("outside_service_area", None)


def test_address_outside_every_zone(city):
    answer = city.lookup("500 FAR RD")
    assert answer.status == "outside_service_area"
    assert answer.location is not None and answer.cycle is None


def test_missing_directional_across_cycles_is_ambiguous(city):
    answer = city.lookup("201 ELM ST")
    assert answer.status == "ambiguous"
    assert answer.cycle is None
    assert sorted(c.cycle_id for c in answer.candidates) == ["3", "4"]
    assert all(c["cycle_id"] in {"3", "4"} for c in answer.to_dict()["candidates"])


def test_missing_directional_within_one_cycle_names_the_shared_cycle(city):
    # N MAIN 101 is zone 2, S MAIN 101 is zone 1: different cycles, so ambiguous without a cycle
    assert city.lookup("101 MAIN ST").cycle is None
    # both halves of N/S ELM at 203 lie in zones 3/4: still ambiguous
    assert city.lookup("203 ELM ST").status == "ambiguous"


def test_street_without_number_in_one_cycle_is_matched_at_street_level(city):
    answer = city.lookup("OAK AVE")
    assert answer.status == "matched"
    assert answer.cycle_id == "1"
    assert answer.location.match_type.value == "street"
    # the answer names the street, not the house along it whose point it stands on
    assert answer.location.matched_address == "OAK AVE"


def test_street_without_number_across_cycles_is_ambiguous(city):
    # N MAIN lies in zone 2 only, S MAIN in zone 1 only; MAIN ST without N/S spans both
    answer = city.lookup("N MAIN ST")
    assert (answer.status, answer.cycle_id) == ("matched", "2")
    assert city.lookup("MAIN ST").status == "ambiguous"


def test_a_number_between_neighbours_in_one_cycle_is_interpolated(city):
    answer = city.lookup("105 Birch St")
    assert (answer.status, answer.cycle_id) == ("matched", "1")
    assert answer.location.match_type.value == "interpolated"


def test_a_number_between_neighbours_in_two_cycles_is_a_choice_not_a_guess(city):
    # 119 BIRCH would be placed at x = 0.0094 (zone 1), but 131 is in zone 4: the border runs
    # between the neighbours, so where 119 stands is a guess
    answer = city.lookup("119 Birch St")
    assert answer.status == "ambiguous" and answer.cycle is None
    assert [(c.matched_address, c.cycle_id) for c in answer.candidates] == [
        ("109 BIRCH ST", "1"),
        ("131 BIRCH ST", "4"),
    ]
    (assigned,) = city.assign(["119 Birch St"])
    assert (assigned.status, assigned.cycle) == ("ambiguous", None)


def test_not_found_never_raises(city):
    for text in ["", "!!!", "9999 NOWHERE BLVD", "x" * 10_000, "🏠🏠", "'; DROP TABLE notes; --"]:
        try:
            answer = city.lookup(text)
        except InputError:
            continue
        assert answer.status in {"not_found", "ambiguous"}
        assert answer.cycle is None or answer.status == "ambiguous"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lon": "abc", "lat": 1},
        {"lon": 1},
        {},
        {"lon": 200, "lat": 0},
        {"lon": float("nan"), "lat": 0},
    ],
)
def test_bad_points_raise_input_error(city, kwargs):
    with pytest.raises(InputError):
        city.lookup(**kwargs)


def test_notes_follow_their_window(city):
    titles = lambda d: [n.title for n in city.notes("3", d)]  # noqa: E731
    assert titles(TODAY) == ["No disconnects"]
    assert "Future note" in titles(dt.date(2020, 7, 1))
    assert "February bills for Cycles 1 and 2" not in [
        n.title for n in city.notes("1", dt.date(2020, 5, 1))
    ]


def test_cycles_and_unknown_cycle(city):
    assert [c.cycle.id for c in city.cycles()] == ["1", "2", "3", "4"]
    with pytest.raises(NotFoundError):
        city.cycle("9")


def test_locate_arrays(city):
    ids = city.locate(np.array([0.005, 0.015, 0.5]), np.array([0.005, 0.005, 0.5]))
    assert list(ids) == ["1", "4", ""]


def test_suggest_limit_is_checked(city):
    with pytest.raises(InputError):
        city.suggest("1", limit=0)
    assert city.suggest("101 s ma", limit=5)[0].address.startswith("101 S MAIN")


def test_not_a_city_folder(tmp_path):
    with pytest.raises(ConfigError, match="city.toml"):
        cyclemap.open_city(tmp_path)


# -- store mode: the live version is a pointer any process can switch ----------------------


@pytest.fixture()
def live_city(tmp_path):
    from cyclemap.store import Store

    folder = write_city(tmp_path / "city", addresses=ROWS, notes_toml=NOTES)
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    store = Store(url)
    store.upgrade()
    return cyclemap.open_city(folder, store=store, clock=lambda: TODAY), url


def test_store_mode_seeds_version_1_and_notes(live_city):
    city, _ = live_city
    answer = city.lookup("101 S MAIN ST")
    assert (answer.cycle_id, answer.boundary_version) == ("1", 1)
    assert [n.title for n in answer.notes][0] == "February bills for Cycles 1 and 2"


def test_a_publish_in_this_process_is_live_at_once_and_rollback_flips_back(live_city):
    city, _ = live_city
    store = city.store
    version = store.publish_boundaries(
        swap_cycles(city.boundaries.to_geojson()), author="test", message="swap 1 and 2"
    )
    answer = city.lookup("101 S MAIN ST")
    assert (answer.cycle_id, answer.boundary_version) == ("2", version)
    store.rollback_boundaries(1, author="test")
    assert city.lookup("101 S MAIN ST").cycle_id == "1"


def test_another_servers_publish_and_note_edit_arrive_after_the_refresh_interval(
    live_city, monkeypatch
):
    from cyclemap import city as city_module
    from cyclemap.store import Store

    city, url = live_city
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 3600.0)
    other = Store(
        url, today=lambda: TODAY
    )  # another server process's connection to the same database
    other.publish_boundaries(
        swap_cycles(city.boundaries.to_geojson()), author="other", message="swap"
    )
    note_id = other.add_note(
        title="Posted elsewhere", body="x", cycles="all", author="other", today=TODAY
    )
    assert city.lookup("101 S MAIN ST").cycle_id == "1"  # within the interval: the old snapshot
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.0)
    answer = city.lookup("101 S MAIN ST")
    assert answer.cycle_id == "2"
    assert note_id in [n.id for n in answer.notes]


def test_lookups_between_refreshes_send_the_database_nothing(live_city, monkeypatch):
    import sqlalchemy as sa

    from cyclemap import city as city_module

    city, _ = live_city
    city.lookup("101 S MAIN ST")  # the snapshot read, the answer kept
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 3600.0)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement)
    sa.event.listen(city.store.engine, "before_cursor_execute", listener)
    try:
        for _ in range(20):
            city.lookup("101 S MAIN ST")
            city.lookup("103 S MAIN ST")
            city.lookup(lon=-89.5, lat=37.3)
    finally:
        sa.event.remove(city.store.engine, "before_cursor_execute", listener)
    assert statements == []


def test_a_refresh_that_finds_nothing_changed_keeps_the_answers(live_city, monkeypatch):
    from cyclemap import city as city_module
    from cyclemap.store import Store

    city, url = live_city
    first = city.lookup("101 S MAIN ST")
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.0)  # every lookup re-reads the store
    again = city.lookup("101 S MAIN ST")
    assert again is first  # the same live state: the answer kept (keyed by it, not by time)
    # another server's change is a new snapshot: the kept answer is not served any more
    other = Store(url, today=lambda: TODAY)
    other.add_note(title="Posted elsewhere", body="x", cycles="all", author="other", today=TODAY)
    changed = city.lookup("101 S MAIN ST")
    assert changed is not first
    assert "Posted elsewhere" in [n.title for n in changed.notes]
    assert city.lookup("101 S MAIN ST") is changed
