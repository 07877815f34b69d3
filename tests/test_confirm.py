"""Answers near a border: ``confirm`` and ``[lookup] confirm_within_m`` (interface.md, "Answers
near a border"; issue 15, part 4).

The grid city: zone 1 is x, y in 0..0.01, zone 4 is x 0.01..0.02 (same y), zone 2 above zone 1.
At y = 0.005 a metre east-west is about 1/111,320 of a degree.
"""

from __future__ import annotations

import json
import re

import pytest

import cyclemap

from .conftest import DEMO_TODAY, _make_app, write_city
from .test_openapi import check, doc, registry  # noqa: F401  (doc, registry are fixtures)

ROWS = [
    # BORDER ST runs east along y = 0.005 towards the border with zone 4 at x = 0.01
    (101, "Border St", "", "Testville", "00001", 0.00980, 0.005),
    (105, "Border St", "", "Testville", "00001", 0.00996, 0.005),  # 4.5 m from zone 4
    (107, "Border St", "", "Testville", "00001", 0.00500, 0.0052),
    (111, "Border St", "", "Testville", "00001", 0.00520, 0.0052),
    # EDGE LN lies wholly in zone 1, 11 m from zone 4
    (1, "Edge Ln", "", "Testville", "00001", 0.0099, 0.002),
    (3, "Edge Ln", "", "Testville", "00001", 0.0099, 0.003),
    (5, "Edge Ln", "", "Testville", "00001", 0.0099, 0.004),
    # 7 OAK AVE is in two ZIPs, in zones 2 and 3: an ambiguous answer
    (7, "Oak Ave", "", "Testville", "00001", 0.005, 0.015),
    (7, "Oak Ave", "", "Testville", "00002", 0.015, 0.015),
]


def map_options(page: str) -> dict:
    """The options the page hands to ``cyclemap.attachMap`` (labels, near, text...)."""
    found = re.search(r"cyclemap\.attachMap\(\w+, \w+,\s*(\{.*?\}),\s*\w+\);", page, re.S)
    assert found, "no map on the page"
    return json.loads(found.group(1))


def grid_city(folder, extra_toml: str = "") -> cyclemap.City:
    write_city(folder, addresses=ROWS, extra_toml=extra_toml)
    return cyclemap.open_city(folder, clock=lambda: DEMO_TODAY)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return grid_city(tmp_path_factory.mktemp("grid") / "city")


def test_a_map_click_near_a_border_asks_to_confirm(city):
    answer = city.lookup(lon=0.00995, lat=0.005)
    assert answer.status == "matched" and answer.cycle_id == "1"
    confirm = answer.to_dict()["confirm"]
    assert confirm["reason"] == "near_boundary" and confirm["other_cycles"] == ["4"]
    assert confirm["distance_m"] == pytest.approx(5.6, abs=0.2)


def test_near_a_corner_every_cycle_within_reach_is_named_nearest_first(city):
    confirm = city.lookup(lon=0.0099, lat=0.00992).confirm
    # zone 2 is 8.8 m north, zone 4 11.1 m east, zone 3 (the corner) 14.2 m away
    assert confirm.other_cycles == ("2", "4", "3")
    assert confirm.distance_m == pytest.approx(8.8, abs=0.2)


def test_an_interpolated_address_near_a_border_asks_to_confirm(city):
    answer = city.lookup("103 Border St")  # placed at x = 0.00988, 13.4 m from zone 4
    assert answer.status == "matched" and answer.location.match_type.value == "interpolated"
    assert answer.confirm.other_cycles == ("4",)
    assert answer.confirm.distance_m == pytest.approx(13.4, abs=0.3)


def test_a_street_level_answer_near_a_border_asks_to_confirm(city):
    answer = city.lookup("Edge Ln")
    assert answer.status == "matched" and answer.location.match_type.value == "street"
    assert answer.confirm is not None and answer.confirm.other_cycles == ("4",)


def test_an_exact_address_point_is_not_asked_about_however_near(city):
    answer = city.lookup("105 Border St")  # the city's own point, 4.5 m from zone 4
    assert answer.status == "matched" and answer.location.match_type.value == "exact"
    assert answer.confirm is None and answer.to_dict()["confirm"] is None


@pytest.mark.parametrize(
    "kwargs",
    [{"lon": 0.005, "lat": 0.005}, {"address": "109 Border St"}, {"lon": 0.00985, "lat": 0.005}],
)
def test_far_from_a_border_there_is_nothing_to_confirm(city, kwargs):
    answer = city.lookup(kwargs.pop("address", None), **kwargs)
    assert answer.status == "matched" and answer.confirm is None


def test_other_answers_have_no_confirm(city):
    for answer in (
        city.lookup("7 Oak Ave"),
        city.lookup("999 Elm Blvd"),
        city.lookup(lon=0.03, lat=0.005),
    ):
        assert answer.status in {"ambiguous", "not_found", "outside_service_area"}
        assert answer.to_dict()["confirm"] is None


@pytest.mark.parametrize("within, asks", [(0, False), (5, False), (6, True), (40.5, True)])
def test_confirm_within_m_is_read_from_city_toml(tmp_path, within, asks):
    city = grid_city(tmp_path / "city", f"[lookup]\nconfirm_within_m = {within}\n")
    assert city.config.confirm_within_m == within
    assert (city.lookup(lon=0.00995, lat=0.005).confirm is not None) is asks


def test_the_api_answer_with_confirm_matches_the_openapi_schema(tmp_path, clock, doc, registry):  # noqa: F811
    write_city(tmp_path / "city", addresses=ROWS)
    client = _make_app(tmp_path / "db.sqlite", clock, CITY=str(tmp_path / "city")).test_client()
    for path, confirmed in [
        ("/api/v1/lookup?lon=0.00995&lat=0.005", True),
        ("/api/v1/lookup?address=103+Border+St", True),
        ("/api/v1/lookup?address=105+Border+St", False),
        ("/api/v1/lookup?address=Edge+Ln", True),  # street level
        ("/api/v1/lookup?address=7+Oak+Ave", False),  # ambiguous: confirm is null
        ("/api/v1/lookup?address=999+Elm+Blvd", False),  # not found
        ("/api/v1/lookup?lon=0.03&lat=0.005", False),  # outside
    ]:
        body = check(doc, registry, client.get(path), "/api/v1/lookup")
        assert (body["confirm"] is not None) is confirmed, (path, body)


def test_the_page_asks_the_resident_to_confirm_and_the_map_shows_both_cycles(tmp_path, clock):
    write_city(tmp_path / "city", addresses=ROWS)
    client = _make_app(tmp_path / "db.sqlite", clock, CITY=str(tmp_path / "city")).test_client()
    body = client.get("/lookup?lon=0.00995&lat=0.005").get_data(as_text=True)
    assert "Please confirm on the map: this place is only about 6 m from Cycle 4." in body
    # the map: zoomed in on the place, with the exact zones of both cycles around it
    near = map_options(body)["near"]
    assert sorted(label["name"] for label in near["labels"]) == ["Cycle 1", "Cycle 4"]
    # the exact edge of the place's zone near it: x = 0.01, the border with zone 4
    (edge,) = near["edges"]["features"]
    assert edge["properties"]["cycle"] == "1"
    assert {x for x, _ in edge["geometry"]["coordinates"]} == {0.01}
    assert '"zoom": 18,' in body
    # the answer part (fragment) carries the same for the page's script
    fragment = client.get("/lookup?lon=0.00995&lat=0.005&fragment=1").get_data(as_text=True)
    assert "data-near=" in fragment and "data-confirm" in fragment
    exact = client.get("/lookup?address=105+Border+St").get_data(as_text=True)
    assert "Please confirm on the map" not in exact and "data-near=" not in exact
    assert map_options(exact)["near"] is None and '"zoom": 16,' in exact
