"""``cyclemap boundaries validate``: exit statuses, the human report, ``--json``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Polygon, box

from cyclemap.boundaries import read_boundaries
from cyclemap.cli import main

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
WARDS = DATA / "ELECTIONS_WardsPrecincts.geojson"


def zones_file(folder: Path, rows, name: str = "zones.geojson", prop: str = "cycle") -> Path:
    frame = gpd.GeoDataFrame({prop: [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=4326)
    path = folder / name
    frame.to_file(path)
    return path


GOOD = [("1", box(0, 0, 0.01, 0.01)), ("2", box(0.01, 0, 0.02, 0.01))]
OVERLAPPING = [("1", box(0, 0, 0.011, 0.01)), ("2", box(0.01, 0, 0.02, 0.01))]
BOWTIE = [("1", Polygon([(0, 0), (0.01, 0.01), (0.01, 0), (0, 0.01)]))]


def run(*args: str, city: Path | None = None):
    # no city folder by default: the demo city's limits would turn these tiny fixtures' whole
    # surroundings into a gap (test_city_limits_are_the_default below checks that on purpose)
    city = city or Path("/nonexistent/city")
    return CliRunner().invoke(main, ["--city", str(city), "boundaries", "validate", *args])


def test_city_limits_are_the_default(tmp_path):
    from cyclemap.config import DEFAULT_CITY

    demo = run(str(DEFAULT_CITY / "cycles.geojson"), city=DEFAULT_CITY)
    assert demo.exit_code == 0, demo.output
    # a file that covers almost none of the demo city leaves a gap inside its limits
    elsewhere = run(str(zones_file(tmp_path, GOOD)), city=DEFAULT_CITY)
    assert elsewhere.exit_code == 1
    assert "gap" in elsewhere.output


def test_valid_file_exits_0_with_a_readable_report(tmp_path):
    result = run(str(zones_file(tmp_path, GOOD)))
    assert result.exit_code == 0, result.output
    assert "2 features; ids: 1, 2" in result.output
    assert "EPSG:4326 (declared by the file)" in result.output
    assert result.output.rstrip().endswith("VALID")


def test_invalid_file_exits_1_and_names_the_problem(tmp_path):
    result = run(str(zones_file(tmp_path, OVERLAPPING)))
    assert result.exit_code == 1
    assert "overlap: Cycles 1 and 2 overlap by" in result.output
    assert "INVALID: 1 problems" in result.output


def test_unreadable_file_exits_2(tmp_path):
    bad = tmp_path / "zones.geojson"
    bad.write_text("this is not GeoJSON")
    for path in (bad, tmp_path / "missing.kml"):
        result = run(str(path))
        assert result.exit_code == 2
        assert "unreadable" in result.output and "UNREADABLE" in result.output


@pytest.mark.parametrize(("rows", "status"), [(GOOD, 0), (OVERLAPPING, 1), (None, 2)])
def test_json_output_parses_and_exit_status_follows(tmp_path, rows, status):
    path = zones_file(tmp_path, rows) if rows else tmp_path / "missing.geojson"
    result = run(str(path), "--json")
    assert result.exit_code == status
    data = json.loads(result.stdout)
    assert data["valid"] is (status == 0) and data["readable"] is (status != 2)
    assert all({"kind", "message", "location", "area_m2"} <= set(p) for p in data["problems"])


def test_id_property_option_and_the_city_default(tmp_path):
    path = zones_file(tmp_path, GOOD, prop="zone")
    assert run(str(path)).exit_code == 1  # no "cycle" property
    assert run(str(path), "--id-property", "zone").exit_code == 0
    city = tmp_path / "city"
    city.mkdir()
    (city / "city.toml").write_text(
        textwrap.dedent(
            """\
            [city]
            name = "Testville"
            [boundaries]
            file = "cycles.geojson"
            id_property = "zone"
            [addresses]
            file = "addresses.csv"
            [cycles.1]
            name = "Cycle 1"
            [cycles.2]
            name = "Cycle 2"
            """
        )
    )
    assert run(str(path), city=city).exit_code == 0
    # a city folder that cannot be read: fall back to "cycle"
    assert run(str(path), city=tmp_path / "no-such-city").exit_code == 1
    assert run(str(zones_file(tmp_path, GOOD, "c.geojson")), city=tmp_path / "nope").exit_code == 0


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_crs_option_for_a_file_without_one(tmp_path):
    path = tmp_path / "zones.shp"
    gpd.GeoDataFrame({"cycle": ["1", "2"]}, geometry=[g for _, g in GOOD], crs=None).to_file(path)
    result = run(str(path))
    assert result.exit_code == 1 and "no-crs" in result.output
    assert run(str(path), "--crs", "EPSG:4326").exit_code == 0
    result = run(str(path), "--crs", "EPSG:99999")
    assert result.exit_code == 2 and "EPSG:99999" in result.output


def test_write_repaired_gives_a_file_that_validates(tmp_path):
    path = zones_file(tmp_path, BOWTIE)
    result = run(str(path))
    assert result.exit_code == 1 and "--write-repaired" in result.output
    fixed = tmp_path / "fixed.geojson"
    result = run(str(path), "--write-repaired", str(fixed))
    assert result.exit_code == 1 and fixed.exists()
    assert run(str(fixed)).exit_code == 0
    assert read_boundaries(fixed).locate(0.001, 0.005) == "1"


def test_real_layer_with_city_limits_and_tolerances(tmp_path):
    limits = zones_file(tmp_path, [("city", box(-71.2, 42.3, -71.0, 42.45))], "limits.geojson")
    result = run(str(WARDS), "--id-property", "WardPrecinct", "--limits", str(limits))
    assert result.exit_code == 1 and "gap:" in result.output  # wards do not fill that box
    result = run(str(WARDS), "--id-property", "WardPrecinct", "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)["summary"]["area_km2"]) == 33


def test_many_problems_of_one_kind_are_summed_up(tmp_path):
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"cycle": str(i)},
                "geometry": {"type": "Point", "coordinates": [i / 100, 0]},
            }
            for i in range(45)
        ],
    }
    path = tmp_path / "addresses.geojson"
    path.write_text(json.dumps(points))
    result = run(str(path))
    assert result.exit_code == 1
    assert result.output.count("- non-polygon:") == 20
    assert "... and 25 more non-polygon (all of them with --json)" in result.output
    assert len(json.loads(run(str(path), "--json").stdout)["problems"]) == 45


# -- issue 20: validated against the city it is run for ---------------------------------------
def _city(tmp_path: Path) -> Path:
    from .conftest import write_city

    rows = [
        (101, "N MAIN ST", "", "TESTVILLE", "00001", 0.005, 0.015),
        (101, "S MAIN ST", "", "TESTVILLE", "00001", 0.005, 0.005),
        (201, "N ELM ST", "", "TESTVILLE", "00001", 0.015, 0.015),
        (201, "S ELM ST", "", "TESTVILLE", "00001", 0.015, 0.005),
    ]
    return write_city(tmp_path / "testville", addresses=rows)


GRID4 = [
    ("1", box(0, 0, 0.01, 0.01)),
    ("2", box(0, 0.01, 0.01, 0.02)),
    ("3", box(0.01, 0.01, 0.02, 0.02)),
    ("4", box(0.01, 0, 0.02, 0.01)),
]


def test_validate_checks_the_citys_cycles_addresses_and_centre(tmp_path):
    from shapely import transform

    city = _city(tmp_path)
    assert run(str(zones_file(tmp_path, GRID4)), city=city).exit_code == 0
    wrong_ids = [("5" if cid == "4" else cid, g) for cid, g in GRID4]
    result = run(str(zones_file(tmp_path, wrong_ids, "ids.geojson")), city=city)
    assert result.exit_code == 1, result.output
    assert "unknown-cycle" in result.output and "missing-cycle" in result.output
    # zones somewhere else: the city's addresses are in none of them
    far = [(cid, transform(g, lambda c: c + [0.5, 0.5])) for cid, g in GRID4]
    result = run(str(zones_file(tmp_path, far, "far.geojson")), city=city)
    assert result.exit_code == 1 and "addresses-outside" in result.output, result.output

    # latitude first: move the city to 30°N so that exchanging x and y moves the zones away
    toml = city / "city.toml"
    toml.write_text(toml.read_text().replace("center = [0.01, 0.01]", "center = [0.01, 30.01]"))
    lines = (city / "addresses.csv").read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    moved = [",".join([*r[:-1], str(float(r[-1]) + 30.0)]) for r in rows]
    (city / "addresses.csv").write_text("\n".join([lines[0], *moved]) + "\n")
    shifted = [(cid, transform(g, lambda c: c + [0.0, 30.0])) for cid, g in GRID4]
    assert run(str(zones_file(tmp_path, shifted, "shifted.geojson")), city=city).exit_code == 0
    flipped = [(cid, transform(g, lambda c: c[:, ::-1])) for cid, g in shifted]
    result = run(str(zones_file(tmp_path, flipped, "flipped.geojson")), city=city)
    assert result.exit_code == 1, result.output
    assert "this file looks like it has longitude and latitude swapped" in result.output
    data = json.loads(run(str(tmp_path / "flipped.geojson"), "--json", city=city).stdout)
    assert [p["kind"] for p in data["problems"]] == ["swapped-axes"]


def test_an_unclosed_ring_exits_1_with_a_report(tmp_path):
    path = tmp_path / "open.geojson"
    ring = [[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01]]
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"cycle": "1"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    result = run(str(path))
    assert result.exit_code == 1, result.output
    assert "does not close" in result.output
    assert "Traceback" not in result.output and "GEOSException" not in result.output


def test_never_offers_a_repair_that_write_repaired_refuses(tmp_path):
    rows = BOWTIE + [("2", box(0.005, 0, 0.015, 0.01))]  # the bow-tie and an overlap
    path = zones_file(tmp_path, rows)
    fixed = tmp_path / "fixed.geojson"
    result = run(str(path), "--write-repaired", str(fixed))
    assert result.exit_code == 1
    assert "No repair is offered" in result.output and not fixed.exists()
    assert "repaired copy" not in result.output.replace("No repaired copy is offered", "")


def test_demo_zones_in_web_mercator_validate_for_the_demo_city(tmp_path):
    from cyclemap.config import DEFAULT_CITY

    zones = gpd.read_file(DEFAULT_CITY / "cycles.geojson").to_crs(3857)
    path = tmp_path / "cycles-3857.geojson"
    zones.to_file(path, layer_options={"COORDINATE_PRECISION": 2})
    result = run(str(path), city=DEFAULT_CITY)
    assert result.exit_code == 0, result.output
    assert "EPSG:3857 (declared by the file)" in result.output
    assert "hairline gaps" in result.output
