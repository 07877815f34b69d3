"""Several towns in one service area, with the same street names (issue 15, part 2).

A utility serving Ashford (00001, cycle 1), Brookfield (00002, cycle 2) and Carlton (00003,
cycle 3), each with its own MAIN ST 101-120 and ELM ST 5.
"""

from __future__ import annotations

import pytest

import cyclemap
from cyclemap.errors import ConfigError

from .conftest import DEMO_TODAY, _make_app, write_city

TOWNS = {
    "Ashford": ("00001", 0.002, 0.002),
    "Brookfield": ("00002", 0.002, 0.012),
    "Carlton": ("00003", 0.012, 0.012),
}


def town_rows() -> list[tuple]:
    rows = []
    for town, (zip_code, x0, y0) in TOWNS.items():
        for i, n in enumerate(range(101, 121, 2)):
            rows.append((n, "Main St", "", town, zip_code, x0 + i * 0.0004, y0 + 0.001))
            rows.append((n + 1, "Main St", "", town, zip_code, x0 + i * 0.0004, y0 + 0.0012))
        rows.append((5, "Elm St", "", town, zip_code, x0 + 0.001, y0 + 0.004))
    return rows


def towns_city(folder, places: str | None) -> cyclemap.City:
    write_city(folder, addresses=town_rows())
    toml = folder / "city.toml"
    text = toml.read_text().replace('name = "Testville"', 'name = "Three Rivers Water District"')
    text = text.replace('zips = ["00001"]', 'zips = ["00001", "00002", "00003"]')
    if places is not None:
        text = text.replace("[map]", f"{places}\n[map]", 1)
    toml.write_text(text)
    return cyclemap.open_city(folder, clock=lambda: DEMO_TODAY)


PLACES_TOML = (
    'places = ["Ashford", {name = "Brookfield", aliases = ["Brookfield Center", "BFD"]}, "Carlton"]'
)


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    return towns_city(tmp_path_factory.mktemp("towns") / "city", PLACES_TOML)


@pytest.mark.parametrize(
    "text, cycle, label",
    [
        ("101 Main St, Ashford", "1", "101 MAIN ST, ASHFORD 00001"),
        ("101 Main St Brookfield", "2", "101 MAIN ST, BROOKFIELD 00002"),
        ("101 main street carlton mo", "3", "101 MAIN ST, CARLTON 00003"),
        ("101 Main St 00003", "3", "101 MAIN ST, CARLTON 00003"),
        ("101 Main St, Brookfield Center", "2", "101 MAIN ST, BROOKFIELD 00002"),  # an alias
        ("101 Main St, BFD", "2", "101 MAIN ST, BROOKFIELD 00002"),
        ("101 Main St, Carltn", "3", "101 MAIN ST, CARLTON 00003"),  # a typo in the town
        ("5 Elm St, Ashford 00001", "1", "5 ELM ST, ASHFORD 00001"),
    ],
)
def test_a_typed_town_or_zip_picks_the_right_one(towns, text, cycle, label):
    answer = towns.lookup(text)
    assert (answer.status, answer.cycle_id) == ("matched", cycle)
    assert answer.location.matched_address == label


@pytest.mark.parametrize("text", ["101 Main St", "5 elm street", "102 Main"])
def test_without_a_town_the_answer_is_ambiguous_and_no_two_choices_read_the_same(towns, text):
    answer = towns.lookup(text)
    assert answer.status == "ambiguous" and answer.cycle is None
    labels = [c.matched_address for c in answer.candidates]
    assert len(labels) == 3 and len(set(labels)) == 3, labels
    assert {label.split(", ")[1] for label in labels} == {
        "ASHFORD 00001",
        "BROOKFIELD 00002",
        "CARLTON 00003",
    }
    assert sorted(c.cycle_id for c in answer.candidates) == ["1", "2", "3"]


def test_every_choice_leads_back_to_its_own_place(towns):
    for choice in towns.lookup("101 Main St").candidates:
        again = towns.lookup(choice.matched_address)
        assert again.status == "matched" and again.cycle_id == choice.cycle_id
        assert (again.location.lon, again.location.lat) == (choice.lon, choice.lat)


def test_a_town_and_a_zip_that_disagree_are_a_choice_not_a_guess(towns):
    answer = towns.lookup("103 Main St, Ashford 00002")  # 00002 is Brookfield's
    assert answer.status == "ambiguous"
    assert sorted(c.matched_address for c in answer.candidates) == [
        "103 MAIN ST, ASHFORD 00001",
        "103 MAIN ST, BROOKFIELD 00002",
    ]


@pytest.mark.parametrize(
    "text", ["101 Main St, Springfield", "101 Main St, Danbury, MO", "101 Main St 00009"]
)
def test_an_address_in_a_town_outside_the_places_is_not_found(towns, text):
    answer = towns.lookup(text)
    assert answer.status == "not_found" and answer.cycle is None
    # what the same address is here is offered, each choice saying its town
    assert {c.matched_address for c in answer.candidates} >= {"101 MAIN ST, ASHFORD 00001"}


def test_places_must_name_every_town_of_the_address_layer(tmp_path):
    with pytest.raises(ConfigError) as err:
        towns_city(tmp_path / "city", 'places = ["Ashford", "Brookfield"]')
    assert err.value.problems == [
        "[city] places does not list 'CARLTON', the town of 21 address points in addresses.csv:"
        " add it (or an alias for it)"
    ]


@pytest.mark.parametrize(
    "places, problem",
    [
        ("places = 'Ashford'", "[city] places must be a list"),
        ("places = [{aliases = ['A']}]", "[city] places, entry 1 needs name"),
        ("places = [{name = 'Ashford', aliases = 'A'}]", "[city] places, entry 1 (Ashford)"),
        ("places = [3]", "[city] places, entry 1 must be a town name"),
    ],
)
def test_bad_places_are_named(tmp_path, places, problem):
    with pytest.raises(ConfigError) as err:
        towns_city(tmp_path / "city", places)
    assert any(p.startswith(problem) for p in err.value.problems), err.value.problems


def test_the_page_offers_choices_that_say_their_town(tmp_path, clock):
    towns_city(tmp_path / "city", PLACES_TOML)
    app = _make_app(tmp_path / "db.sqlite", clock, CITY=str(tmp_path / "city"))
    body = app.test_client().get("/lookup?address=101+Main+St").get_data(as_text=True)
    for town in ("ASHFORD 00001", "BROOKFIELD 00002", "CARLTON 00003"):
        assert f"101 MAIN ST, {town}" in body
    # each choice links to its address, which the city answers exactly
    assert "/lookup?address=101+MAIN+ST%2C+ASHFORD+00001" in body
