"""Reading address point layers: column mappings, CRSs, formats, and rows that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cyclemap.config import load_city_config
from cyclemap.errors import AddressFileError, ConfigError
from cyclemap.geocode.layer import (
    BAD_COORDINATES,
    BAD_FULL,
    BAD_NUMBER,
    DUPLICATE,
    NO_GEOMETRY,
    NO_NUMBER,
    NO_STREET,
    NOT_A_POINT,
    OUT_OF_RANGE,
    AddressLayer,
    read_addresses,
)

DATA = Path(__file__).parent / "data" / "addresses"
ROOT = Path(__file__).resolve().parent.parent
COLUMNS = {
    "number": "house_number",
    "street": "street",
    "unit": "unit",
    "city": "city",
    "zip": "zip",
    "lon": "lon",
    "lat": "lat",
}
HEADER = "house_number,street,unit,city,zip,lon,lat"
CAMBRIDGE_PARTS = {
    "number": "street_number",
    "number_suffix": "street_number_suffix",
    "name": "street_name",
    "type": "street_suffix",
    "postdir": "dir_suffix",
    "lon": "lon",
    "lat": "lat",
}


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_reads_the_city_toml_mapping(tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        [
            "1234,N KINGSHIGHWAY,,CAPE GIRARDEAU,63701,-89.55,37.31",
            "1234,N KINGSHIGHWAY,APT 5,CAPE GIRARDEAU,63701-1234,-89.55,37.31",
            "12,S Sprigg St.,,Cape Girardeau,63701,-89.52,37.30",
            "58 1/2,WILLIAM ST,,CAPE GIRARDEAU,63703,-89.53,37.29",
        ],
    )
    layer = read_addresses(path, COLUMNS)
    assert len(layer) == 4 and layer.report.rows_used == 4 and layer.report.rejected == {}
    assert list(layer.number) == ["1234", "1234", "12", "58 1/2"]
    assert layer.number_value.tolist() == [1234, 1234, 12, 58]
    assert list(layer.unit) == ["", "APT 5", "", ""]
    assert list(layer.zip) == ["63701", "63701", "63701", "63703"]
    assert layer.city[2] == "CAPE GIRARDEAU"
    assert [layer.streets[i].key for i in layer.street_id] == [
        "N KINGSHIGHWAY", "N KINGSHIGHWAY", "S SPRIGG ST", "WILLIAM ST",
    ]  # fmt: skip
    assert layer.address(1) == "1234 N KINGSHIGHWAY APT 5"
    assert layer.address(2) == "12 S SPRIGG ST."  # the layer's own spelling, upper-cased
    assert layer.lon.dtype == np.float64 and layer.lon[0] == -89.55
    assert layer.source_row.tolist() == [1, 2, 3, 4]


def test_rejected_rows_are_counted_by_reason_with_examples(tmp_path):
    rows = [
        "1,MAIN ST,,,,-89.5,37.3",  # fine
        ",MAIN ST,,,,-89.5,37.3",  # no number
        "ABC,MAIN ST,,,,-89.5,37.3",  # not a number
        "3,,,,,-89.5,37.3",  # no street
        "4,MAIN ST,,,,,37.3",  # no lon
        "5,MAIN ST,,,,east,37.3",  # not a number
        "6,MAIN ST,,,,-89.5,137.3",  # outside lat
        "7,MAIN ST,,,,-289.5,37.3",  # outside lon
        "1,MAIN ST,,,,-89.5,37.3",  # the first row again
        "8,MAIN ST,,,,-89.5,37.3",
    ]
    layer = read_addresses(write_csv(tmp_path / "a.csv", rows), COLUMNS)
    report = layer.report
    assert (report.rows_read, report.rows_used, report.rows_rejected) == (10, 2, 8)
    assert report.rejected == {
        NO_NUMBER: 1,
        BAD_NUMBER: 1,
        NO_STREET: 1,
        BAD_COORDINATES: 2,
        OUT_OF_RANGE: 2,
        DUPLICATE: 1,
    }
    assert [e.row for e in report.examples[BAD_COORDINATES]] == [5, 6]
    assert report.examples[BAD_NUMBER][0].text == "ABC"
    assert report.examples[DUPLICATE][0].text == "same as row 1"
    summary = report.summary()
    assert "10 rows read, 2 used" in summary and "2 rejected: coordinates" in summary
    assert report.to_dict()["rejected"][NO_STREET] == 1
    assert list(layer.number) == ["1", "8"]


def test_examples_are_capped_per_reason(tmp_path):
    rows = [f",MAIN ST,,,,-89.5,37.{i}" for i in range(10)] + ["1,MAIN ST,,,,-89.5,37.3"]
    report = read_addresses(write_csv(tmp_path / "a.csv", rows), COLUMNS).report
    assert report.rejected == {NO_NUMBER: 10}
    assert len(report.examples[NO_NUMBER]) == 3


def test_missing_column_names_it_and_the_columns_the_file_has(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["1,MAIN ST,-89.5,37.3"], header="num,road,x,y")
    with pytest.raises(AddressFileError) as err:
        read_addresses(path, {"number": "num", "street": "street", "lon": "x", "lat": "y"})
    assert "'street' (for street)" in err.value.message
    assert "'num', 'road', 'x', 'y'" in err.value.message
    assert err.value.problems == [{"field": "street", "column": "street"}]


def test_column_names_match_ignoring_case(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["1,MAIN ST,-89.5,37.3"], header="NUM,Street,X,Y")
    layer = read_addresses(path, {"number": "num", "street": "street", "lon": "x", "lat": "y"})
    assert len(layer) == 1


@pytest.mark.parametrize(
    "mapping, words",
    [
        ({"number": "n", "street": "s", "lon": "x"}, "both lon and lat"),
        ({"street": "s", "lon": "x", "lat": "y"}, "needs number"),
        ({"number": "n", "lon": "x", "lat": "y"}, "needs street"),
        ({"number": "n", "street": "s", "lng": "x", "lat": "y"}, "unknown field"),
    ],
)
def test_impossible_mappings_are_config_errors(tmp_path, mapping, words):
    path = write_csv(tmp_path / "a.csv", ["1,MAIN ST,-89.5,37.3"], header="n,s,x,y")
    with pytest.raises(ConfigError, match=words):
        read_addresses(path, mapping)


def test_a_file_with_no_usable_row_is_an_error_with_the_reasons(tmp_path):
    path = write_csv(tmp_path / "a.csv", [",MAIN ST,,,,-89.5,37.3", "2,,,,,-89.5,37.3"])
    with pytest.raises(AddressFileError, match="no usable address rows") as err:
        read_addresses(path, COLUMNS)
    assert {p["reason"] for p in err.value.problems} == {NO_NUMBER, NO_STREET}


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(AddressFileError, match="does not exist"):
        read_addresses(tmp_path / "nope.csv", COLUMNS)
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"not a geopackage")
    with pytest.raises(AddressFileError, match="cannot be read"):
        read_addresses(bad, {"number": "n", "street": "s"})


def test_projected_csv_is_reprojected(tmp_path):
    from pyproj import Transformer

    # Missouri East State Plane (metres): what a county GIS exports
    to_sp = Transformer.from_crs("EPSG:4326", "EPSG:26996", always_xy=True)
    x, y = to_sp.transform(-89.55, 37.31)
    path = write_csv(tmp_path / "a.csv", [f"1,MAIN ST,,,,{x},{y}"])
    layer = read_addresses(path, COLUMNS, crs="EPSG:26996")
    assert layer.lon[0] == pytest.approx(-89.55, abs=1e-7)
    assert layer.lat[0] == pytest.approx(37.31, abs=1e-7)
    assert layer.report.crs == "EPSG:26996"
    # read as if lon/lat, the same numbers are far outside the globe: reported, not dropped
    with pytest.raises(AddressFileError, match="outside valid lon/lat"):
        read_addresses(path, COLUMNS)


def test_bad_crs_is_a_config_error(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["1,MAIN ST,,,,-89.5,37.3"])
    with pytest.raises(ConfigError, match="not a coordinate reference system"):
        read_addresses(path, COLUMNS, crs="EPSG:999999")


def test_point_geometry_file_in_its_declared_crs(tmp_path):
    import geopandas
    from shapely.geometry import LineString, Point

    frame = geopandas.GeoDataFrame(
        {
            "HOUSE": [1234, 12, 5, 7],
            "PRE": ["N", "S", "", ""],
            "NAME": ["Kingshighway", "Sprigg", "Main", "Main"],
            "TYPE": ["", "St", "St", "St"],
            "ZIP": [63701, 63701, 2139, 2139],
        },
        geometry=[Point(-89.55, 37.31), Point(-89.52, 37.30), None, LineString([(0, 0), (1, 1)])],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    path = tmp_path / "points.gpkg"
    frame.to_file(path, driver="GPKG")
    mapping = {"number": "HOUSE", "predir": "PRE", "name": "NAME", "type": "TYPE", "zip": "ZIP"}
    layer = read_addresses(path, mapping, crs=None)
    assert len(layer) == 2
    assert layer.lon[0] == pytest.approx(-89.55) and layer.lat[1] == pytest.approx(37.30)
    assert [layer.address(i) for i in range(2)] == ["1234 N KINGSHIGHWAY", "12 S SPRIGG ST"]
    assert list(layer.number) == ["1234", "12"] and list(layer.zip) == ["63701", "63701"]
    assert layer.report.rejected == {NO_GEOMETRY: 1, NOT_A_POINT: 1}
    assert "3857" in layer.report.crs


def test_geojson_points_and_a_missing_geometry_mapping(tmp_path):
    path = tmp_path / "points.geojson"
    feature = {
        "type": "Feature",
        "properties": {"addr": "12 S Sprigg St"},
        "geometry": {"type": "Point", "coordinates": [-89.52, 37.30]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    layer = read_addresses(path, {"full": "addr"})
    assert layer.address(0) == "12 S SPRIGG ST" and layer.lon[0] == pytest.approx(-89.52)
    csv = write_csv(tmp_path / "a.csv", ["12 S Sprigg St"], header="addr")
    with pytest.raises(AddressFileError, match="no point geometry"):
        read_addresses(csv, {"full": "addr"})


def test_one_full_address_column_is_parsed_on_import(tmp_path):
    rows = [
        '"1234 N Kingshighway Apt 5, Cape Girardeau, MO 63701",-89.55,37.31',
        '"58 1/2 William Street",-89.53,37.29',
        '"PO Box 12",-89.5,37.3',
        '"Cape Girardeau",-89.5,37.3',
    ]
    path = write_csv(tmp_path / "a.csv", rows, header="address,lon,lat")
    layer = read_addresses(path, {"full": "address", "lon": "lon", "lat": "lat"})
    assert len(layer) == 2 and layer.report.rejected == {BAD_FULL: 2}
    assert layer.address(0) == "1234 N KINGSHIGHWAY APT 5"
    assert layer.zip[0] == "63701" and layer.city[0] == "CAPE GIRARDEAU"
    assert layer.number[1] == "58 1/2" and layer.streets[layer.street_id[1]].key == "WILLIAM ST"


def test_street_in_parts_reads_like_a_street_in_one_column():
    parts = read_addresses(DATA / "cambridge_sample.csv", CAMBRIDGE_PARTS)
    full = read_addresses(
        DATA / "cambridge_sample.csv", {"full": "full_address", "lon": "lon", "lat": "lat"}
    )
    assert parts.report.rows_read == full.report.rows_read == 968
    assert {s.key for s in parts.streets} == {s.key for s in full.streets}
    assert "E KENDALL ST" in {s.key for s in parts.streets}  # EAST is a directional here too
    assert "ST SAUVEUR CT" in {s.key for s in full.streets}
    # numbers with suffixes from their own column: 56 + R, 24 + 1/2, 31 + A
    assert {"56R", "24 1/2", "31A"} <= set(parts.number)
    assert set(parts.number) == set(full.number)


def test_from_records_and_an_empty_layer():
    layer = AddressLayer.from_records(
        [{"number": 12, "street": "Main St", "lon": 1.0, "lat": 2.0, "zip": 2139}]
    )
    assert (list(layer.number), list(layer.zip), layer.streets[0].key) == (
        ["12"],
        ["02139"],
        "MAIN ST",
    )
    with pytest.raises(AddressFileError):
        AddressLayer.from_records([])


def test_the_demo_layer_reads_whole_when_present():
    config = load_city_config(ROOT / "geodata" / "cape-girardeau")
    if not config.addresses.file.is_file():
        pytest.skip("the demo address layer is not generated yet")
    layer = read_addresses(config.addresses.file, config.addresses.columns, config.addresses.crs)
    assert layer.report.rows_used == layer.report.rows_read > 10_000
    keys = {s.key for s in layer.streets}
    assert {"N KINGSHIGHWAY", "US HIGHWAY 61", "STATE HIGHWAY 74"} <= keys
