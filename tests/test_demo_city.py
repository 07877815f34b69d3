"""The committed demo city (geodata/cape-girardeau) is sound and reproducible.

These read the files as a user's clone has them; the last test re-runs the generator
(scripts/make_demo_city.py) into a temporary folder and expects identical bytes.
"""

from __future__ import annotations

import filecmp
import itertools
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

REPO = Path(__file__).resolve().parent.parent
CITY = REPO / "geodata" / "cape-girardeau"
UTM = "EPSG:32616"
GENERATED = ["city_limits.geojson", "cycles.geojson", "addresses.csv"]


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    return gpd.read_file(CITY / "cycles.geojson", engine="pyogrio")


@pytest.fixture(scope="module")
def limits() -> gpd.GeoDataFrame:
    return gpd.read_file(CITY / "city_limits.geojson", engine="pyogrio")


@pytest.fixture(scope="module")
def addresses() -> pd.DataFrame:
    return pd.read_csv(CITY / "addresses.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def located(zones: gpd.GeoDataFrame, addresses: pd.DataFrame) -> pd.DataFrame:
    """Addresses with UTM x/y, leading house number and the cycle that covers each point."""
    df = addresses.copy()
    pts = gpd.GeoSeries(
        gpd.points_from_xy(df.lon.astype(float), df.lat.astype(float)), crs="EPSG:4326"
    )
    utm = pts.to_crs(UTM)
    df["x"], df["y"] = utm.x.to_numpy(), utm.y.to_numpy()
    df["num"] = df.house_number.str.extract(r"^(\d+)", expand=False).astype(int)
    hits = np.zeros((len(df), len(zones)), dtype=bool)
    for k, geom in enumerate(zones.geometry):
        shapely.prepare(geom)
        hits[:, k] = shapely.covers(geom, pts.to_numpy())
    df["n_zones"] = hits.sum(axis=1)
    df["cycle"] = np.where(hits.any(axis=1), zones.cycle.to_numpy()[hits.argmax(axis=1)], "")
    return df


def test_four_valid_zones_one_multipolygon(zones: gpd.GeoDataFrame) -> None:
    assert zones.crs.to_epsg() == 4326
    assert sorted(zones.cycle) == ["1", "2", "3", "4"]
    assert set(zones.geom_type) <= {"Polygon", "MultiPolygon"}
    assert zones.is_valid.all()
    assert (zones.geom_type == "MultiPolygon").any()
    text = (CITY / "cycles.geojson").read_text(encoding="utf-8")
    assert '"crs"' not in text  # RFC 7946
    decimals = {len(d) for d in re.findall(r"-?\d+\.(\d+)", text[:20000])}
    assert max(decimals) <= 7


def test_zones_do_not_overlap(zones: gpd.GeoDataFrame) -> None:
    geoms = zones.to_crs(UTM).geometry.to_list()
    for a, b in itertools.combinations(geoms, 2):
        assert a.intersection(b).area < 1e-3  # square metres


def test_zones_cover_city_limits_exactly(zones: gpd.GeoDataFrame, limits: gpd.GeoDataFrame) -> None:
    union = shapely.union_all(zones.to_crs(UTM).geometry.to_numpy())
    city = limits.to_crs(UTM).geometry.iloc[0]
    # Only the rounding of zone vertices to 7 decimals may show: well under 100 m2 in 75 km2.
    assert union.symmetric_difference(city).area < 100.0
    assert len(city.interiors) == 6  # the unincorporated holes stay holes


def test_city_limits_are_the_tiger_source(limits: gpd.GeoDataFrame) -> None:
    source = gpd.read_file(
        CITY / "source" / "cape-girardeau_tiger2019_place_2911242.geojson", engine="pyogrio"
    )
    committed = limits.geometry.iloc[0].normalize()
    assert committed.equals_exact(source.geometry.iloc[0].normalize(), 1e-9)


def test_no_sliver_parts(zones: gpd.GeoDataFrame) -> None:
    """Every detached part of a zone is a real area (>= 1 ha), not a rounding crumb."""
    for cycle, geom in zip(zones.cycle, zones.to_crs(UTM).geometry, strict=True):
        for part in shapely.get_parts(geom):
            assert part.area >= 10_000, (cycle, part.area)


def test_cycle_2_is_the_northwest(zones: gpd.GeoDataFrame) -> None:
    c = zones.to_crs(UTM).set_index("cycle").centroid
    northwestness = c.y - c.x
    assert northwestness.idxmax() == "2"
    others = c.drop("2")
    assert (c["2"].y > others.y.mean()) and (c["2"].x < others.x.mean())


def test_address_file_shape(addresses: pd.DataFrame) -> None:
    raw = (CITY / "addresses.csv").read_bytes()
    assert raw.startswith(b"house_number,street,unit,city,zip,lon,lat\n")  # no BOM, this header
    assert len(addresses) >= 15_000
    assert (addresses.city == "CAPE GIRARDEAU").all()
    assert set(addresses.zip) == {"63701", "63703"}
    assert addresses.lon.str.fullmatch(r"-\d+\.\d{6}").all()
    assert addresses.lat.str.fullmatch(r"\d+\.\d{6}").all()
    assert addresses.street.str.fullmatch(r"[A-Z0-9 ]+").all()  # E911 style: upper case
    assert addresses.house_number.str.fullmatch(r"\d+(A| 1/2)?").all()
    assert not addresses.duplicated(["house_number", "street", "unit", "zip"]).any()
    n_streets = addresses.street.nunique()
    assert 150 <= n_streets <= 260
    for name in ["BROADWAY", "WILLIAM ST", "US HIGHWAY 61", "STATE HIGHWAY 74", "N KINGSHIGHWAY"]:
        assert name in set(addresses.street)


def test_units_and_suffixes(addresses: pd.DataFrame) -> None:
    with_unit = addresses[addresses.unit != ""]
    assert 0.015 <= len(with_unit) / len(addresses) <= 0.06
    assert with_unit.unit.str.fullmatch(r"APT \d{1,2}|[AB]").all()
    buildings = with_unit.groupby(["house_number", "street"])
    assert buildings.ngroups >= 50
    assert (buildings[["lon", "lat"]].nunique() == 1).all().all()  # units share the point
    assert addresses.house_number.str.endswith("1/2").sum() >= 5
    assert addresses.house_number.str.endswith("A").sum() >= 5


def test_north_south_halves_share_numbers(addresses: pd.DataFrame) -> None:
    numbers = addresses.groupby("street").house_number.agg(set)
    pairs = [s[2:] for s in numbers.index if s.startswith("N ") and "S " + s[2:] in numbers.index]
    assert len(pairs) >= 10
    shared = [p for p in pairs if numbers["N " + p] & numbers["S " + p]]
    assert len(shared) >= 8


def test_every_address_in_exactly_one_zone(located: pd.DataFrame) -> None:
    assert (located.n_zones == 1).all()


def test_each_cycle_has_about_a_quarter(located: pd.DataFrame) -> None:
    share = located.cycle.value_counts(normalize=True)
    assert sorted(share.index) == ["1", "2", "3", "4"]
    assert share.between(0.20, 0.30).all(), share.to_dict()


def test_some_streets_cross_zones_and_some_divide_them(located: pd.DataFrame) -> None:
    cycles_per_street = located.groupby("street").cycle.nunique()
    for name in ["WILLIAM ST", "INDEPENDENCE ST"]:
        assert cycles_per_street[name] >= 2
    # A zone edge on the centreline: within one hundred-block, odd and even sides differ.
    located = located.assign(block=located.num // 100, odd=located.num % 2 == 1)
    sides = located.groupby(["street", "block", "odd"]).cycle.agg(lambda s: frozenset(s))
    sides = sides.unstack("odd").dropna()
    split = sides[sides[True].map(len).eq(1) & sides[False].map(len).eq(1)]
    assert (split[True] != split[False]).sum() >= 5


def _axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors along and across a street, from its points' principal direction."""
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[0], vt[1]


def test_odd_and_even_on_opposite_sides(located: pd.DataFrame) -> None:
    checked = 0
    for street, grp in located.groupby("street"):
        pts = grp[["x", "y"]].to_numpy()
        if len(grp) < 6:
            continue
        along, across = _axes(pts)
        offset = (pts - pts.mean(axis=0)) @ across
        odd = (grp.num % 2 == 1).to_numpy()
        blocks = (grp.num // 100).to_numpy()
        signs = set()
        for b in np.unique(blocks):
            o, e = offset[(blocks == b) & odd], offset[(blocks == b) & ~odd]
            if len(o) == 0 or len(e) == 0:
                continue
            if o.max() < e.min():
                signs.add(-1)
            elif o.min() > e.max():
                signs.add(+1)
            else:
                pytest.fail(f"{street} {b}00 block: odd and even numbers on the same side")
            checked += 1
        assert len(signs) <= 1, f"{street}: odd numbers switch sides"
    assert checked > 1000


def test_numbers_increase_block_by_block(located: pd.DataFrame) -> None:
    for street, grp in located.groupby("street"):
        if grp.num.floordiv(100).nunique() < 3:
            continue
        along, _ = _axes(grp[["x", "y"]].to_numpy())
        pos = grp[["x", "y"]].to_numpy() @ along
        by_block = pd.Series(pos).groupby((grp.num // 100).to_numpy()).agg(["min", "max"])
        steps = np.sign(np.diff(by_block["min"].to_numpy()))
        assert len(set(steps)) == 1, f"{street}: hundred blocks out of order"
        # blocks do not overlap along the street either
        lo, hi = by_block["min"].to_numpy(), by_block["max"].to_numpy()
        if steps[0] > 0:
            assert (hi[:-1] < lo[1:]).all(), street
        else:
            assert (lo[:-1] > hi[1:]).all(), street


def test_generator_is_reproducible(tmp_path: Path) -> None:
    """Takes a few seconds: runs scripts/make_demo_city.py into tmp_path."""
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_city.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in GENERATED:
        assert filecmp.cmp(tmp_path / name, CITY / name, shallow=False), name
