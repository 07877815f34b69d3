"""Validation reports: one small fixture file per problem kind, measured in metres.

Most fixtures are drawn in EPSG:32616 (UTM 16N, metres), the CRS the validator itself picks for
zones there, so areas in the report can be checked against the drawing exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from cyclemap.boundaries import BoundarySet, read_boundaries, validate_boundaries
from cyclemap.errors import InputError

DATA = Path(__file__).resolve().parent / "data" / "boundaries"
E0, N0 = 500_000.0, 4_100_000.0  # near 37.04°N, 87°W
TO_LONLAT = Transformer.from_crs(32616, 4326, always_xy=True)


def mbox(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A box given in metres east and north of (E0, N0), in EPSG:32616."""
    return box(E0 + x0, N0 + y0, E0 + x1, N0 + y1)


def lonlat(x: float, y: float) -> tuple[float, float]:
    return TO_LONLAT.transform(E0 + x, N0 + y)


def in_lonlat(geom):
    return shapely.transform(geom, lambda c: list(zip(*TO_LONLAT.transform(*c.T), strict=True)))


def write(folder: Path, rows, name: str = "zones.geojson", crs=32616, prop="cycle") -> Path:
    frame = gpd.GeoDataFrame({prop: [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=crs)
    path = folder / name
    frame.to_file(path, driver="GPKG" if name.endswith(".gpkg") else None)
    return path


GRID = [
    ("1", mbox(0, 0, 1000, 1000)),
    ("2", mbox(0, 1000, 1000, 2000)),
    ("3", mbox(1000, 1000, 2000, 2000)),
    ("4", mbox(1000, 0, 2000, 1000)),
]


def kinds(items) -> list[str]:
    return [p.kind for p in items]


def test_a_clean_file_is_valid_with_a_summary(tmp_path):
    report = validate_boundaries(write(tmp_path, GRID))
    assert report.valid and report.readable and not report.problems and not report.warnings
    s = report.summary
    assert s["ids"] == ["1", "2", "3", "4"] and s["features"] == 4
    assert s["crs"] == "EPSG:32616" and s["crs_from"] == "file"
    assert s["measured_in"].startswith("EPSG:32616")
    assert s["area_km2"] == {"1": 1.0, "2": 1.0, "3": 1.0, "4": 1.0}
    data = json.loads(json.dumps(report.to_dict()))
    assert data["valid"] is True and data["problems"] == [] and data["repair_available"] is False


def test_unreadable(tmp_path):
    garbage = tmp_path / "zones.geojson"
    garbage.write_text('{"type": "FeatureColl')
    for path in (garbage, tmp_path / "nowhere.gpkg"):
        report = validate_boundaries(path)
        assert not report.readable and not report.valid
        assert kinds(report.problems) == ["unreadable"]
        assert path.name in report.problems[0].message


def test_no_features(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    report = validate_boundaries(path)
    assert report.readable and kinds(report.problems) == ["no-features"]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs_unless_named_and_wrong_crs(tmp_path):
    path = write(tmp_path, GRID, "no-prj.shp", crs=None)
    report = validate_boundaries(path)
    assert kinds(report.problems) == ["no-crs"]
    assert "--crs" in report.problems[0].message
    assert validate_boundaries(path, crs="EPSG:32616").valid
    wrong = validate_boundaries(path, crs="EPSG:4326")  # metres read as degrees
    assert kinds(wrong.problems) == ["bad-coordinates"]
    with pytest.raises(InputError):
        validate_boundaries(path, crs="not a crs")


def test_crs_named_for_a_file_that_declares_one_is_a_warning(tmp_path):
    report = validate_boundaries(write(tmp_path, GRID), crs="EPSG:4326")
    assert report.valid and kinds(report.warnings) == ["crs-ignored"]
    assert report.summary["crs"] == "EPSG:32616"


def test_non_polygon(tmp_path):
    rows = [("1", mbox(0, 0, 100, 100)), ("2", LineString([(E0, N0), (E0 + 9, N0)])), ("3", None)]
    report = validate_boundaries(write(tmp_path, rows))
    assert kinds(report.problems) == ["non-polygon", "non-polygon"]
    line, empty = report.problems
    assert (line.feature_index, line.cycle_ids) == (1, ("2",)) and "LineString" in line.message
    assert (empty.feature_index, empty.cycle_ids) == (2, ("3",)) and "no geometry" in empty.message
    assert report.repaired is None


def test_invalid_geometry_is_explained_located_and_repaired(tmp_path):
    bowtie = Polygon([(E0, N0), (E0 + 100, N0 + 100), (E0 + 100, N0), (E0, N0 + 100)])
    report = validate_boundaries(write(tmp_path, [("1", bowtie), ("2", mbox(100, 0, 200, 100))]))
    assert kinds(report.problems) == ["invalid-geometry"]
    problem = report.problems[0]
    assert problem.reason.startswith("Self-intersection")
    assert problem.cycle_ids == ("1",) and problem.feature_index == 0
    assert problem.location == pytest.approx(lonlat(50, 50), abs=1e-6)
    assert "invalid shape" in problem.message and "Self-intersection" in problem.message
    repaired = report.repaired
    assert isinstance(repaired, BoundarySet) and report.to_dict()["repair_available"]
    assert repaired.locate(*lonlat(10, 50)) == "1" and repaired.locate(*lonlat(90, 50)) == "1"
    assert repaired.locate(*lonlat(50, 10)) == ""  # the bow-tie's pinched parts hold nothing
    assert repaired.locate(*lonlat(150, 50)) == "2"
    assert BoundarySet.from_geojson(repaired.to_geojson()).ids == ("1", "2")


def test_missing_id_value_and_missing_id_property(tmp_path):
    report = validate_boundaries(write(tmp_path, [(None, mbox(0, 0, 100, 100)), *GRID[1:]]))
    assert kinds(report.problems) == ["missing-id"] and report.problems[0].feature_index == 0
    report = validate_boundaries(write(tmp_path, GRID), id_property="zone")
    assert kinds(report.problems) == ["missing-id"]
    assert "'zone'" in report.problems[0].message and "cycle" in report.problems[0].message


def test_duplicate_ids_are_reported_and_merged_by_the_repair(tmp_path):
    rows = [
        ("1", mbox(0, 0, 100, 100)),
        ("2", mbox(100, 0, 200, 100)),
        ("1", mbox(200, 0, 300, 100)),
    ]
    report = validate_boundaries(write(tmp_path, rows))
    assert kinds(report.problems) == ["duplicate-id"]
    assert report.problems[0].cycle_ids == ("1",) and report.problems[0].feature_index == 2
    assert "1st, 3rd" in report.problems[0].message
    zones = report.repaired
    assert zones.ids == ("1", "2")
    assert [zones.locate(*lonlat(x, 50)) for x in (50, 150, 250)] == ["1", "2", "1"]


def test_overlap_area_in_square_metres_and_tolerance(tmp_path):
    rows = [("1", mbox(0, 0, 100, 100)), ("2", mbox(90, 50, 200, 70))]  # 10 m x 20 m shared
    report = validate_boundaries(write(tmp_path, rows))
    assert kinds(report.problems) == ["overlap"]
    overlap = report.problems[0]
    assert overlap.cycle_ids == ("1", "2")
    assert overlap.area_m2 == pytest.approx(200, rel=1e-6)
    assert shapely.contains_xy(in_lonlat(mbox(90, 50, 100, 70)), *overlap.location)
    assert "200.0 m²" in overlap.message

    rows = [("1", mbox(0, 0, 100, 100)), ("2", mbox(99.9, 0, 200, 5))]  # 0.5 m² shared
    report = validate_boundaries(write(tmp_path, rows, "tiny.geojson"))
    assert report.valid and report.summary["small_overlaps_ignored"] == 1
    strict = validate_boundaries(write(tmp_path, rows, "tiny2.geojson"), overlap_tolerance_m2=0.1)
    assert kinds(strict.problems) == ["overlap"]


RING = [  # four zones around a 30 m x 30 m hole at (35..65, 35..65)
    ("1", mbox(0, 0, 100, 35)),
    ("2", mbox(0, 65, 100, 100)),
    ("3", mbox(0, 35, 35, 65)),
    ("4", mbox(65, 35, 100, 65)),
]


def test_gap_without_limits_is_a_warning(tmp_path):
    report = validate_boundaries(write(tmp_path, RING))
    assert report.valid and kinds(report.warnings) == ["gap"]
    gap = report.warnings[0]
    assert gap.area_m2 == pytest.approx(900, rel=1e-6)
    assert gap.cycle_ids == ("1", "2", "3", "4")
    assert shapely.contains_xy(in_lonlat(mbox(35, 35, 65, 65)), *gap.location)
    assert "unincorporated" in gap.message


def test_gap_inside_city_limits_is_an_error(tmp_path):
    path = write(tmp_path, RING)
    report = validate_boundaries(path, limits=in_lonlat(mbox(0, 0, 100, 110)))
    gaps = sorted(report.problems, key=lambda p: p.area_m2)
    assert kinds(gaps) == ["gap", "gap"] and not report.valid
    assert [round(p.area_m2) for p in gaps] == [900, 1000]
    assert gaps[1].cycle_ids == ("2",)  # the strip north of zone 2

    limits_file = write(tmp_path, [("city", mbox(0, 0, 100, 90))], "limits.gpkg", prop="name")
    report = validate_boundaries(path, limits=limits_file)
    assert kinds(report.problems) == ["gap"]
    assert kinds(report.warnings) == ["outside-limits"]
    outside = report.warnings[0]
    assert outside.cycle_ids == ("2",) and outside.area_m2 == pytest.approx(1000, rel=1e-6)


def test_slivers_by_width_and_by_area(tmp_path):
    strip = MultiPolygon([mbox(0, 0, 100, 100), mbox(200, 0, 300, 0.3)])  # 100 m x 0.3 m
    speck = MultiPolygon([mbox(400, 0, 500, 100), mbox(600, 0, 603, 3)])  # 9 m²
    report = validate_boundaries(write(tmp_path, [("1", strip), ("2", speck)]))
    assert kinds(report.problems) == ["sliver", "sliver"]
    thin, small = report.problems
    assert thin.cycle_ids == ("1",) and thin.area_m2 == pytest.approx(30, rel=1e-5)
    assert "0.30 m wide" in thin.message
    assert small.cycle_ids == ("2",) and small.area_m2 == pytest.approx(9, rel=1e-5)
    relaxed = validate_boundaries(
        write(tmp_path, [("1", strip), ("2", speck)], "z2.geojson"),
        sliver_area_m2=5,
        sliver_width_m=0.2,
    )
    assert relaxed.valid


def test_real_layers_validate(tmp_path):
    wards = validate_boundaries(DATA / "ELECTIONS_WardsPrecincts.geojson", "WardPrecinct")
    assert wards.valid and wards.summary["features"] == 33
    boroughs = validate_boundaries(DATA / "nybb_16a.zip", "BoroName")
    assert boroughs.valid and boroughs.summary["crs"] == "EPSG:2263"
    assert boroughs.summary["area_km2"]["Manhattan"] == pytest.approx(59.1, abs=0.1)
    sweeping = validate_boundaries(DATA / "DPW_StreetSweepingDistricts.geojson", "District")
    assert kinds(sweeping.problems) == ["duplicate-id"] * 3
    assert kinds(sweeping.warnings) == ["gap"] * 3  # holes in the districts' union
    assert all(w.area_m2 > 100_000 for w in sweeping.warnings)


def test_a_report_with_every_kind_of_detail_is_json(tmp_path):
    bowtie = Polygon([(E0, N0), (E0 + 100, N0 + 100), (E0 + 100, N0), (E0, N0 + 100)])
    rows = [
        ("1", bowtie),
        ("2", mbox(50, 0, 150, 100)),
        ("2", mbox(300, 0, 400, 100)),
        (None, mbox(500, 0, 600, 100)),
    ]
    report = validate_boundaries(write(tmp_path, rows))
    assert set(kinds(report.problems)) == {
        "invalid-geometry",
        "missing-id",
        "duplicate-id",
        "overlap",
    }
    data = json.loads(json.dumps(report.to_dict()))
    assert data["valid"] is False and data["repair_available"] is False
    assert {
        "kind",
        "message",
        "cycle_ids",
        "feature_index",
        "location",
        "area_m2",
        "reason",
    } <= set(data["problems"][0])


def test_read_refuses_what_validation_reports(tmp_path):
    rows = [("1", mbox(0, 0, 100, 100)), ("1", mbox(100, 0, 200, 100))]
    path = write(tmp_path, rows)
    from cyclemap.errors import BoundaryFileError

    with pytest.raises(BoundaryFileError) as caught:
        read_boundaries(path)
    assert kinds(caught.value.problems) == kinds(validate_boundaries(path).problems)


# -- issue 20: validation a clerk can trust -------------------------------------------------------
DEMO = Path(__file__).resolve().parent.parent / "geodata" / "cape-girardeau"


def centre_points(rows, n: int = 5) -> tuple:
    """Address points: ``n`` spots inside each zone of ``rows`` (lons, lats)."""
    import numpy as np

    lons, lats = [], []
    for _, geom in rows:
        x0, y0, x1, y1 = geom.bounds
        for k in range(n):
            lon, lat = TO_LONLAT.transform(x0 + (x1 - x0) * (k + 1) / (n + 1), y0 + (y1 - y0) / 2)
            lons.append(lon)
            lats.append(lat)
    return np.array(lons), np.array(lats)


def test_cycle_ids_must_be_the_citys(tmp_path):
    report = validate_boundaries(write(tmp_path, GRID), known_cycles=["1", "2", "3"])
    assert kinds(report.problems) == ["unknown-cycle"] and not report.valid
    unknown = report.problems[0]
    assert unknown.cycle_ids == ("4",) and unknown.feature_index == 3
    assert unknown.location == pytest.approx(lonlat(1500, 500), abs=1e-6)
    assert "'4' is not one of the city's cycles (1, 2, 3 in city.toml)" in unknown.message
    assert report.repaired is None

    report = validate_boundaries(write(tmp_path, GRID), known_cycles=["1", "2", "3", "4", "5"])
    assert kinds(report.problems) == ["missing-cycle"]
    assert report.problems[0].cycle_ids == ("5",)

    named = [(f"Cycle {cid}", g) for cid, g in GRID]
    report = validate_boundaries(write(tmp_path, named, "named.geojson"), known_cycles="1234")
    assert kinds(report.problems) == ["unknown-cycle"] * 4 + ["missing-cycle"] * 4
    assert "Did you mean '1'?" in report.problems[0].message

    assert validate_boundaries(write(tmp_path, GRID), known_cycles=["1", "2", "3", "4"]).valid
    assert validate_boundaries(write(tmp_path, GRID)).valid  # nothing known: nothing checked


def _swapped(geom):
    return shapely.transform(in_lonlat(geom), lambda c: c[:, ::-1])


def test_longitude_and_latitude_swapped_is_said_in_plain_words(tmp_path):
    points = centre_points(GRID)
    centre = lonlat(1000, 1000)
    swapped = [(cid, _swapped(g)) for cid, g in GRID]
    path = write(tmp_path, swapped, "swapped.geojson", crs=4326)
    for facts in (
        {"address_points": points, "map_center": centre},
        {"address_points": points},
        {"map_center": centre},
    ):
        report = validate_boundaries(path, **facts)
        assert "swapped-axes" in kinds(report.problems) and not report.valid, facts
        problem = next(p for p in report.problems if p.kind == "swapped-axes")
        assert "this file looks like it has longitude and latitude swapped" in problem.message
        assert problem.location is not None
        assert "addresses-outside" not in kinds(report.problems + report.warnings)
    report = validate_boundaries(path, address_points=points, map_center=centre)
    message = report.problems[0].message
    assert "holding 0% of the city's 20 address points" in message
    assert "they would hold 100% of them" in message and "km from the city's map centre" in message
    # the same zones the right way round: nothing to say
    right = write(tmp_path, [(c, in_lonlat(g)) for c, g in GRID], "right.geojson", crs=4326)
    report = validate_boundaries(right, address_points=points, map_center=centre)
    assert report.valid and not report.warnings, report.to_dict()
    # and without the city's facts, the check is not made (the old behaviour)
    assert validate_boundaries(path).valid


def test_swapped_west_of_90_degrees_is_named_not_just_off_the_earth(tmp_path):
    """Latitude first for a city at 118°W puts a 'latitude' of -118: off the Earth."""
    la = [("1", box(-118.30, 34.00, -118.25, 34.05)), ("2", box(-118.25, 34.00, -118.20, 34.05))]
    swapped = [(cid, shapely.transform(g, lambda c: c[:, ::-1])) for cid, g in la]
    path = write(tmp_path, swapped, "la.geojson", crs=4326)
    report = validate_boundaries(path, map_center=(-118.25, 34.02))
    assert kinds(report.problems) == ["bad-coordinates", "swapped-axes"]
    assert "longitude and latitude swapped" in report.problems[1].message


def test_address_points_outside_every_zone(tmp_path):
    import numpy as np

    lons, lats = centre_points(GRID)
    far_lon, far_lat = lonlat(5000, 5000)
    lons2, lats2 = np.append(lons, far_lon), np.append(lats, far_lat)
    report = validate_boundaries(write(tmp_path, GRID), address_points=(lons2, lats2))
    assert report.valid and kinds(report.warnings) == ["addresses-outside"]
    outside = report.warnings[0]
    assert "1 of the city's 21 address points" in outside.message
    assert outside.location == pytest.approx((far_lon, far_lat), abs=1e-6)
    # most of the city outside: an error
    report = validate_boundaries(
        write(tmp_path, GRID[:1], "one.geojson"), address_points=(lons, lats)
    )
    assert kinds(report.problems) == ["addresses-outside"] and not report.valid
    assert "hold only 25% of the city's address points" in report.problems[0].message


def test_address_points_none_of_them_usable_and_no_map_centre(tmp_path):
    """Points that are all NaN (and no map centre) leave nothing to compare with: no finding,
    not a traceback (it unpacked the missing map centre)."""
    import numpy as np

    nan = np.full(3, np.nan)
    report = validate_boundaries(write(tmp_path, GRID), address_points=(nan, nan))
    assert report.valid and not report.warnings, report.to_dict()


def test_an_unclosed_ring_is_reported_not_a_traceback(tmp_path):
    from cyclemap.errors import BoundaryFileError

    ring = [list(lonlat(x, y)) for x, y in [(0, 0), (100, 0), (100, 100), (0, 100)]]  # open
    closed = [list(lonlat(x, y)) for x, y in [(100, 0), (200, 0), (200, 100), (100, 100)]]
    closed.append(closed[0])
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"cycle": c},
                "geometry": {"type": "Polygon", "coordinates": [r]},
            }
            for c, r in (("1", ring), ("2", closed))
        ],
    }
    path = tmp_path / "open.geojson"
    path.write_text(json.dumps(data))
    report = validate_boundaries(path)
    assert report.readable and kinds(report.problems) == ["invalid-geometry"]
    problem = report.problems[0]
    assert problem.cycle_ids == ("1",) and problem.feature_index == 0
    assert "does not close" in problem.message and "closed" in problem.reason
    assert problem.location == pytest.approx(tuple(ring[0]), abs=1e-6)
    assert report.repaired is not None and "repaired copy this report offers" in problem.message
    assert report.repaired.locate(*lonlat(50, 50)) == "1"
    with pytest.raises(BoundaryFileError) as caught:
        read_boundaries(path)
    assert kinds(caught.value.problems) == ["invalid-geometry"]
    # the same from memory (the staff upload)
    import io

    assert kinds(validate_boundaries(io.BytesIO(path.read_bytes())).problems) == [
        "invalid-geometry"
    ]


def test_demo_zones_reprojected_to_web_mercator_stay_valid(tmp_path):
    """Rounded to centimetres in EPSG:3857, the zones leave hairline gaps along the limits."""
    zones = gpd.read_file(DEMO / "cycles.geojson").to_crs(3857)
    path = tmp_path / "cycles-3857.geojson"
    zones.to_file(path, layer_options={"COORDINATE_PRECISION": 2})
    report = validate_boundaries(path, limits=DEMO / "city_limits.geojson")
    assert report.summary["crs"] == "EPSG:3857"
    assert report.valid, [p.message for p in report.problems]
    assert report.summary["hairline_gaps_ignored"] >= 8
    # a real gap, however thin, is still a gap: 0.5 m wide and 100 m long
    rows = [("1", mbox(0, 0, 100, 100)), ("2", mbox(100.5, 0, 200, 100))]
    gapped = validate_boundaries(
        write(tmp_path, rows, "gapped.geojson"), limits=in_lonlat(mbox(0, 0, 200, 100))
    )
    assert kinds(gapped.problems) == ["gap"]
    assert gapped.problems[0].area_m2 == pytest.approx(50, rel=1e-3)


def test_the_report_offers_a_repaired_copy_only_when_there_is_one(tmp_path):
    bowtie = Polygon([(E0, N0), (E0 + 100, N0 + 100), (E0 + 100, N0), (E0, N0 + 100)])
    alone = validate_boundaries(write(tmp_path, [("1", bowtie), ("2", mbox(100, 0, 200, 100))]))
    assert alone.repaired is not None
    assert "repaired copy this report offers" in alone.problems[0].message
    rows = [("1", bowtie), ("2", mbox(50, 0, 150, 100)), ("3", mbox(0, 0, 100, 100))]
    mixed = validate_boundaries(write(tmp_path, rows, "mixed.geojson"))
    assert mixed.repaired is None and "overlap" in kinds(mixed.problems)
    for p in mixed.problems:
        assert "use the repaired copy" not in p.message.lower(), p.message
    invalid = next(p for p in mixed.problems if p.kind == "invalid-geometry")
    assert "No repaired copy is offered while the file also has overlap problems" in invalid.message
