"""The boundary engine: reading any GDAL format and CRS, the border rule, locating points.

Fixture files are written in ``tmp_path`` with geopandas/pyogrio; the real layers are copies of
Cambridge, MA zone layers and the NYC boroughs shapefile in ``tests/data/boundaries``.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box

from cyclemap.boundaries import (
    BoundarySet,
    cycle_id_text,
    cycle_sort_key,
    read_boundaries,
    validate_boundaries,
)
from cyclemap.errors import BoundaryFileError, InputError

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
WARDS = DATA / "ELECTIONS_WardsPrecincts.geojson"
SWEEPING = DATA / "DPW_StreetSweepingDistricts.geojson"
NYBB = DATA / "nybb_16a.zip"


def reference_locate(ids, geoms, lons, lats) -> np.ndarray:
    """Independent answer: ``shapely.covers`` zone by zone, first id in sort order wins."""
    points = shapely.points(lons, lats)
    out = np.full(len(points), "", dtype=object)
    order = sorted(range(len(ids)), key=lambda i: cycle_sort_key(ids[i]))
    for i in reversed(order):  # the first in order is written last, so it wins
        out[shapely.covers(geoms[i], points)] = ids[i]
    return out.astype(str)


def assert_paths_agree(zones: BoundarySet, lons, lats, expected=None) -> np.ndarray:
    """Vector path == scalar path (== ``expected`` when given); returns the vector answer."""
    vector = zones.locate_xy(lons, lats)
    scalar = np.array([zones.locate(x, y) for x, y in zip(lons, lats, strict=True)])
    assert (vector == scalar).all(), np.flatnonzero(vector != scalar)[:10]
    if expected is not None:
        bad = np.flatnonzero(vector != expected)
        assert not bad.size, [(lons[i], lats[i], vector[i], expected[i]) for i in bad[:10]]
    return vector


def random_points(bounds, n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    return rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)


def assert_same_cycles(a: BoundarySet, b: BoundarySet, lons, lats, tol_deg: float = 1e-7):
    """Same answers, except (allowed) for points within ``tol_deg`` of a zone border."""
    ra, rb = a.locate_xy(lons, lats), b.locate_xy(lons, lats)
    borders = shapely.union_all(shapely.boundary(np.asarray(a.geometries, dtype=object)))
    for i in np.flatnonzero(ra != rb):
        near = shapely.distance(borders, shapely.Point(lons[i], lats[i]))
        assert near < tol_deg, (lons[i], lats[i], ra[i], rb[i], near)
    return ra


# --- hand-made geometries: holes, multipolygons, shared edges, a vertex shared by 4 zones ------

HOLED = Polygon([(0, 0), (2, 0), (2, 2), (0, 2)], [[(0.5, 0.5), (1, 0.5), (1, 1), (0.5, 1)]])
LAYOUTS = {
    # "1" has a hole with "10"'s island in it; 1..4 meet at (2, 2); "10" shares x=4 with "2";
    # "A" overlaps all four around (2, 2) and loses to every numeric id
    "grid-holes-multipolygon": {
        "1": HOLED,
        "2": box(2, 0, 4, 2),
        "3": box(0, 2, 2, 4),
        "4": box(2, 2, 4, 4),
        "10": MultiPolygon([box(0.6, 0.6, 0.9, 0.9), box(4, 0, 5, 1), box(5.5, 5.5, 6, 6)]),
        "A": box(1.5, 1.5, 2.5, 2.5),
    },
    # a square cut along its diagonal, and a third zone touching the diagonal's end vertex only
    "diagonal": {
        "2": Polygon([(0, 0), (3, 0), (3, 3)]),
        "1": Polygon([(0, 0), (3, 3), (0, 3)]),
        "B": Polygon([(3, 3), (4, 3), (4, 4), (3, 4)]),
    },
    # a zone with a hole exactly filled by another; a zone touching itself at a vertex
    "filled-hole": {
        "north": Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]]),
        "core": box(1, 1, 3, 3),
        "7": MultiPolygon([box(4, 0, 5, 1), box(5, 1, 6, 2)]),
    },
}


def grid_points(lo: float, hi: float, step_den: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """All points k/step_den in [lo, hi]²: exact on every edge and vertex of the layouts."""
    ticks = np.arange(int(lo * step_den), int(hi * step_den) + 1) / step_den
    xx, yy = np.meshgrid(ticks, ticks)
    return xx.ravel(), yy.ravel()


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_fast_paths_agree_with_covers_on_hand_made_geometries(name):
    layout = LAYOUTS[name]
    zones = BoundarySet(list(layout), list(layout.values()))
    lons, lats = grid_points(-0.5, 6.5)
    rng = np.random.default_rng(3)
    lons = np.concatenate([lons, rng.uniform(-0.5, 6.5, 3000)])
    lats = np.concatenate([lats, rng.uniform(-0.5, 6.5, 3000)])
    expected = reference_locate(list(layout), list(layout.values()), lons, lats)
    assert_paths_agree(zones, lons, lats, expected)


def test_border_rule_on_named_points():
    layout = LAYOUTS["grid-holes-multipolygon"]
    zones = BoundarySet(list(layout), list(layout.values()))
    assert zones.ids == ("1", "2", "3", "4", "10", "A")
    cases = {
        (2.0, 2.0): "1",  # vertex shared by four zones (and inside "A"): the lowest id
        (2.0, 3.0): "3",  # edge shared by 3 and 4
        (3.0, 2.0): "2",  # edge shared by 2 and 4
        (4.0, 0.5): "2",  # edge shared by 2 and 10: natural order, 2 before 10
        (0.75, 0.75): "10",  # the island in 1's hole
        (0.55, 0.55): "",  # in the hole, outside the island
        (0.5, 0.75): "1",  # on the hole's edge: 1 covers it
        (0.6, 0.75): "10",  # on the island's edge
        (2.4, 2.4): "4",  # inside the overlap of 4 and A
        (1.55, 1.55): "1",  # overlap of 1 and A
        (5.75, 5.75): "10",  # the far part of the multipolygon
        (4.5, 1.0): "10",  # top edge of 10's part
        (4.5, 1.0000001): "",
        (-1.0, -1.0): "",
        (math.nan, 1.0): "",
    }
    lons, lats = (np.array(v) for v in zip(*cases, strict=True))
    assert_paths_agree(zones, lons, lats, np.array(list(cases.values())))


def test_overlapping_named_zone_wins_only_where_alone():
    layout = LAYOUTS["diagonal"]
    zones = BoundarySet(list(layout), list(layout.values()))
    assert zones.locate(1.5, 1.5) == "1"  # the diagonal: 1 before 2
    assert zones.locate(3, 3) == "1"  # the vertex of 1, 2 and B
    assert zones.locate(3.5, 3.5) == "B"
    # points a hair off the diagonal go to the side they are on
    assert zones.locate(1.5, 1.5 - 1e-12) == "2"
    assert zones.locate(1.5, 1.5 + 1e-12) == "1"


def test_locate_xy_shapes_and_types():
    zones = BoundarySet(["1", "2"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    grid = zones.locate_xy(np.array([[0.5, 1.5], [3.0, 0.5]]), np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert grid.shape == (2, 2) and grid.tolist() == [["1", "2"], ["", "1"]]
    assert zones.locate_xy([], []).shape == (0,)
    assert zones.locate_xy(0.5, 0.5).tolist() == "1"
    assert isinstance(zones.locate(0.5, 0.5), str)
    with pytest.raises(InputError):
        zones.locate_xy([1.0, 2.0], [1.0])


def test_boundary_set_refuses_bad_zones():
    with pytest.raises(InputError):
        BoundarySet(["1", "1"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    with pytest.raises(InputError):
        BoundarySet(["1"], [shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError):
        BoundarySet([], [])


def test_cycle_ids_are_text_and_sorted_naturally():
    assert [cycle_id_text(v) for v in (1, 1.0, np.int64(3), np.float64(4.0), " 5 ", "A1")] == [
        "1",
        "1",
        "3",
        "4",
        "5",
        "A1",
    ]
    assert cycle_id_text(None) is None and cycle_id_text(float("nan")) is None
    assert sorted(["10", "9", "1", "b", "a"], key=cycle_sort_key) == ["1", "9", "10", "a", "b"]


# --- real layers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wards() -> BoundarySet:
    return read_boundaries(WARDS, id_property="WardPrecinct")


def test_wards_agree_with_covers_on_random_points_and_every_vertex(wards):
    frame = gpd.read_file(WARDS)
    ids, geoms = frame["WardPrecinct"].tolist(), list(frame.geometry)
    lons, lats = random_points(wards.bounds, 20_000)
    # every vertex of every ward: each lies on the border of one to four wards
    coords = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    lons, lats = np.concatenate([lons, coords[:, 0]]), np.concatenate([lats, coords[:, 1]])
    expected = reference_locate(ids, geoms, lons, lats)
    found = assert_paths_agree(wards, lons, lats, expected)
    assert (found != "").sum() > 10_000 and len(set(found)) == 34  # 33 wards and ""


def test_sweeping_districts_merged_by_repair_agree_with_the_raw_features():
    report = validate_boundaries(SWEEPING, id_property="District")
    assert {p.kind for p in report.problems} == {"duplicate-id"}
    zones = report.repaired
    assert zones.ids == tuple("ABCDEFGHJK")
    frame = gpd.read_file(SWEEPING)
    lons, lats = random_points(zones.bounds, 20_000, seed=11)
    expected = reference_locate(frame["District"].tolist(), list(frame.geometry), lons, lats)
    assert_paths_agree(zones, lons, lats, expected)


def test_real_places_in_the_nyc_boroughs_shapefile_in_state_plane_feet():
    zones = read_boundaries(NYBB, id_property="BoroName")
    assert zones.source_crs == "EPSG:2263"
    places = {
        (-73.9855, 40.7580): "Manhattan",  # Times Square
        (-73.9442, 40.6782): "Brooklyn",
        (-73.8303, 40.7598): "Queens",  # Flushing
        (-73.8770, 40.8506): "Bronx",  # the Bronx Zoo
        (-74.1502, 40.5795): "Staten Island",
        (-74.0445, 40.6892): "Manhattan",  # the Statue of Liberty, on Liberty Island
        (-74.0400, 40.6600): "",  # the Upper Bay
    }
    lons, lats = (np.array(v) for v in zip(*places, strict=True))
    assert_paths_agree(zones, lons, lats, np.array(list(places.values())))


def test_nyc_boroughs_match_their_reprojected_twin(tmp_path):
    zones = read_boundaries(NYBB, id_property="BoroName")
    twin_path = tmp_path / "nybb-4326.geojson"
    gpd.read_file(NYBB).to_crs(4326).to_file(twin_path, driver="GeoJSON")
    twin = read_boundaries(twin_path, id_property="BoroName")
    assert twin.ids == zones.ids
    lons, lats = random_points(zones.bounds, 20_000, seed=5)
    found = assert_same_cycles(zones, twin, lons, lats)
    assert set(found) == {"", *zones.ids}


# --- CRS ----------------------------------------------------------------------------------------


def voronoi_zones(n: int = 6, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` irregular zones tiling a box near Cape Girardeau, with integer ids in the file."""
    frame = box(-89.60, 37.25, -89.50, 37.35)
    rng = np.random.default_rng(seed)
    seeds = shapely.multipoints(np.column_stack(random_points(frame.bounds, n, seed)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    ids = rng.permutation(np.arange(1, n + 1))
    return gpd.GeoDataFrame(
        {"cycle": ids, "name": [f"Zone {i}" for i in ids]}, geometry=list(cells), crs=4326
    )


@pytest.fixture(scope="module")
def twin_files(tmp_path_factory) -> dict[str, Path]:
    """The same zones as GeoJSON (EPSG:4326), GeoPackage in UTM 16N, zipped Shapefile, KML."""
    folder = tmp_path_factory.mktemp("twins")
    zones = voronoi_zones()
    paths = {"geojson": folder / "zones.geojson", "gpkg": folder / "zones-26916.gpkg"}
    zones.to_file(paths["geojson"], driver="GeoJSON")
    zones.to_crs(26916).to_file(paths["gpkg"], driver="GPKG")
    shp = folder / "shp"
    shp.mkdir()
    zones.to_crs(26916).to_file(shp / "cycles.shp")
    paths["zip"] = folder / "cycles.zip"
    with zipfile.ZipFile(paths["zip"], "w") as archive:
        for part in sorted(shp.iterdir()):
            archive.write(part, f"Cycle Zones 2024/{part.name}")  # a folder inside the zip
    paths["kml"] = folder / "zones.kml"
    pyogrio.write_dataframe(zones, paths["kml"], driver="KML")
    return paths


@pytest.mark.parametrize("kind", ["gpkg", "zip", "kml"])
def test_formats_and_projected_crs_give_the_same_cycles(twin_files, kind):
    original = read_boundaries(twin_files["geojson"])
    other = read_boundaries(twin_files[kind])
    assert other.ids == original.ids == ("1", "2", "3", "4", "5", "6")
    assert other.source_crs == {"gpkg": "EPSG:26916", "zip": "EPSG:26916", "kml": "EPSG:4326"}[kind]
    lons, lats = random_points(original.bounds, 20_000, seed=2)
    found = assert_same_cycles(original, other, lons, lats)
    assert set(found) == set(original.ids)


def test_kml_folders_are_read_as_one_layer(tmp_path):
    path = tmp_path / "folders.kml"
    for name, cid, geom in (("North", "1", box(0, 1, 1, 2)), ("South", "2", box(0, 0, 1, 1))):
        frame = gpd.GeoDataFrame({"cycle": [cid]}, geometry=[geom], crs=4326)
        pyogrio.write_dataframe(frame, path, layer=name, driver="LIBKML", append=path.exists())
    assert len(pyogrio.list_layers(path)) == 2
    zones = read_boundaries(path)
    assert (
        zones.ids == ("1", "2") and zones.locate(0.5, 1.5) == "1" and zones.locate(0.5, 0.5) == "2"
    )


def test_geojson_round_trip_keeps_ids_properties_and_answers(twin_files):
    zones = read_boundaries(twin_files["geojson"])
    data = zones.to_geojson()
    assert data["type"] == "FeatureCollection" and "crs" not in data
    first = data["features"][0]
    assert first["properties"]["cycle"] == "1" and first["properties"]["name"] == "Zone 1"
    ring = first["geometry"]["coordinates"][0]
    assert shapely.LinearRing(ring).is_ccw  # RFC 7946: exterior rings counterclockwise
    again = BoundarySet.from_geojson(json.loads(json.dumps(data)))
    assert again.ids == zones.ids
    lons, lats = random_points(zones.bounds, 5_000)
    assert (again.locate_xy(lons, lats) == zones.locate_xy(lons, lats)).all()


def test_geojson_crs_member_is_honoured(tmp_path):
    zones = voronoi_zones().to_crs(26916)
    data = json.loads(zones.to_json())
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::26916"}}
    path = tmp_path / "old-style.geojson"
    path.write_text(json.dumps(data))
    assert read_boundaries(path).source_crs == "EPSG:26916"
    assert BoundarySet.from_geojson(data).source_crs == "EPSG:26916"


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_file_without_crs_is_refused_unless_the_caller_names_one(tmp_path, twin_files):
    path = tmp_path / "no-prj.shp"
    voronoi_zones().to_crs(26916).set_crs(None, allow_override=True).to_file(path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(BoundaryFileError) as caught:
        read_boundaries(path)
    assert [p.kind for p in caught.value.problems] == ["no-crs"]
    assert "--crs" in caught.value.message
    named = read_boundaries(path, crs="EPSG:26916")
    original = read_boundaries(twin_files["geojson"])
    lons, lats = random_points(original.bounds, 5_000)
    assert_same_cycles(original, named, lons, lats)
    # the wrong CRS: metres read as degrees
    with pytest.raises(BoundaryFileError) as caught:
        read_boundaries(path, crs="EPSG:4326")
    assert [p.kind for p in caught.value.problems] == ["bad-coordinates"]
    with pytest.raises(InputError):
        read_boundaries(path, crs="EPSG:99999")


def test_numeric_ids_become_text(tmp_path):
    zones = voronoi_zones(3)
    zones["cycle"] = zones["cycle"].astype(float)
    path = tmp_path / "float-ids.gpkg"
    zones.to_file(path, driver="GPKG")
    assert pyogrio.read_info(path)["dtypes"][0] == "float64"
    assert read_boundaries(path).ids == ("1", "2", "3")


# --- reading errors -----------------------------------------------------------------------------


def test_unusable_files_raise_with_problems(tmp_path):
    garbage = tmp_path / "zones.geojson"
    garbage.write_text("not json at all")
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "no shapefile here")
    for path in (garbage, tmp_path / "missing.geojson", empty_zip, tmp_path):
        with pytest.raises(BoundaryFileError) as caught:
            read_boundaries(path)
        assert [p.kind for p in caught.value.problems] == ["unreadable"]
    with pytest.raises(BoundaryFileError) as caught:
        read_boundaries(WARDS)  # no "cycle" property
    assert "WardPrecinct" in caught.value.message and "--id-property" in caught.value.message


def test_nearest_other_zone_distance_in_metres(tmp_path):
    # zones 200 m apart in UTM 16N; the point is 100 m inside zone 1's east edge
    frame = gpd.GeoDataFrame(
        {"cycle": ["1", "2"]},
        geometry=[
            box(500_000, 4_100_000, 501_000, 4_101_000),
            box(501_200, 4_100_000, 502_000, 4_101_000),
        ],
        crs=32616,
    )
    path = tmp_path / "utm.gpkg"
    frame.to_file(path, driver="GPKG")
    zones = read_boundaries(path)
    to_lonlat = Transformer.from_crs(32616, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(500_900, 4_100_500)
    assert zones.locate(lon, lat) == "1"
    assert zones.nearest_other_zone_distance_m(lon, lat) == pytest.approx(300, abs=0.05)
    lon, lat = to_lonlat.transform(501_150, 4_100_500)  # in the gap, 50 m from zone 2
    assert zones.locate(lon, lat) == ""
    assert zones.nearest_other_zone_distance_m(lon, lat) == pytest.approx(50, abs=0.05)
    lon, lat = to_lonlat.transform(501_000, 4_100_500)  # on zone 1's edge
    assert zones.nearest_other_zone_distance_m(lon, lat) == pytest.approx(200, abs=0.05)
    alone = BoundarySet(["1"], [box(0, 0, 1, 1)])
    assert alone.nearest_other_zone_distance_m(0.5, 0.5) == math.inf


def test_nearest_other_zone_distance_agrees_with_brute_force_on_real_wards(wards):
    from cyclemap.boundaries.geometry import transform_geoms as _transform_geoms

    metric = _transform_geoms(wards.geometries, wards._to_metric)
    ids = np.array(wards.ids)
    lons, lats = random_points(wards.bounds, 300, seed=9)
    for lon, lat in zip(lons, lats, strict=True):
        own = wards.locate(lon, lat)
        point = shapely.Point(*wards._to_metric.transform(lon, lat))
        expected = shapely.distance(metric[ids != own], point).min()
        assert wards.nearest_other_zone_distance_m(lon, lat) == pytest.approx(expected, abs=1e-6)


def test_nearest_other_zone_distance_is_zero_in_an_overlap():
    layout = LAYOUTS["grid-holes-multipolygon"]
    zones = BoundarySet(list(layout), list(layout.values()))
    assert zones.locate(2.4, 2.4) == "4"
    assert zones.nearest_other_zone_distance_m(2.4, 2.4) == 0.0  # "A" covers it too
    assert math.isnan(zones.nearest_other_zone_distance_m(math.nan, 1.0))
