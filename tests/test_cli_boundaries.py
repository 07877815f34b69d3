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
