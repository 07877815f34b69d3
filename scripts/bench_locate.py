"""Benchmark point location: ``BoundarySet.locate_xy`` against ``geopandas.sjoin`` and a loop.

For 10^3 .. 10^6 random points in the bounding box of the zones it prints points per second of

- ``locate_xy``: prepared zones, a bounding-box pre-filter, vectorized ``shapely.intersects_xy``;
- ``geopandas.sjoin(predicate="intersects")``, the baseline, with the points' GeoDataFrame built
  beforehand and not timed, nor is picking one zone for points on a border (a conservative
  ratio: building 10^6 points alone costs ~0.3 s);
- a plain per-point loop (``shapely.Point`` then prepared ``covers`` zone by zone), measured up to
  10^5 points and extrapolated (labelled) beyond;

then the single-point ``locate`` latency (median and p95 over 10,000 calls) and, for the roadmap's
near-boundary check, ``nearest_other_zone_distance_m``. Targets are printed beside the numbers.

    .venv/bin/python -m scripts.bench_locate                      # the demo city's zones
    .venv/bin/python -m scripts.bench_locate FILE --id-property WardPrecinct
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "geodata" / "cape-girardeau" / "cycles.geojson"
FALLBACK = ROOT / "tests" / "data" / "boundaries" / "ELECTIONS_WardsPrecincts.geojson"
SIZES = (1_000, 10_000, 100_000, 1_000_000)
LOOP_CAP = 100_000
TARGET_RATE = 1_000_000  # points/s, vectorized, and at least sjoin's rate
TARGET_SINGLE_US = 50.0
MIN_SECONDS = 0.3  # repeat a measurement until it has run this long (best run is kept)


def _best_rate(func, n: int, budget: float = MIN_SECONDS, max_runs: int = 50) -> float:
    best, spent, runs = float("inf"), 0.0, 0
    while runs < max_runs and (spent < budget or runs == 0):
        started = time.perf_counter()
        func()
        took = time.perf_counter() - started
        best, spent, runs = min(best, took), spent + took, runs + 1
    return n / best


def _loop_locate(ids, geoms, lons, lats) -> list[str]:
    import shapely

    out = []
    for x, y in zip(lons, lats, strict=True):
        point = shapely.Point(x, y)
        for cid, geom in zip(ids, geoms, strict=True):
            if geom.covers(point):
                out.append(cid)
                break
        else:
            out.append("")
    return out


def _sjoin_ids(points, frame, order: dict[str, int]) -> np.ndarray:
    import geopandas as gpd

    joined = gpd.sjoin(points, frame, how="left", predicate="intersects")
    joined["rank"] = joined["cycle_id"].map(order)
    joined = joined.sort_values("rank").groupby(level=0).first()  # border rule: lowest id
    return joined["cycle_id"].fillna("").reindex(points.index).to_numpy(dtype=str)


def _fmt_rate(rate: float) -> str:
    return f"{rate:>13,.0f}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as on the command line; ``None`` means the defaults)."""
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_locate", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, help="boundary file (default: demo city)")
    parser.add_argument("--id-property", default=None, help="cycle id property (default: cycle)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated")
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args(argv if argv is not None else [])

    import geopandas as gpd

    from cyclemap.boundaries import read_boundaries

    path, id_property = args.file, args.id_property
    if path is None:
        path = DEMO if DEMO.exists() else FALLBACK
        if path == FALLBACK:
            print(f"(the demo city's zones are not there yet: using {FALLBACK.name})")
            id_property = id_property or "WardPrecinct"
    id_property = id_property or "cycle"
    zones = read_boundaries(path, id_property=id_property)
    import shapely

    vertices = int(shapely.get_num_coordinates(np.asarray(zones.geometries, dtype=object)).sum())
    print(f"zones: {path} ({len(zones)} zones, {vertices:,} vertices, id property {id_property})")
    frame = gpd.GeoDataFrame(
        {"cycle_id": list(zones.ids)}, geometry=list(zones.geometries), crs="EPSG:4326"
    )
    order = {cid: i for i, cid in enumerate(zones.ids)}
    minx, miny, maxx, maxy = zones.bounds
    rng = np.random.default_rng(args.seed)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(
        f"\n{'points':>9} | {'locate_xy pts/s':>15} | {'sjoin pts/s':>13} | "
        f"{'loop pts/s':>13}   | {'xy/sjoin':>8} | {'loop/sjoin':>10} | inside"
    )
    results = {}
    loop_rate = None
    for n in sizes:
        lons, lats = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
        ours = zones.locate_xy(lons, lats)
        xy_rate = _best_rate(lambda lons=lons, lats=lats: zones.locate_xy(lons, lats), n)
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")
        budget = MIN_SECONDS if n < 1_000_000 else 0.0  # one run of sjoin at 10^6
        sjoin_rate = _best_rate(
            lambda p=points: gpd.sjoin(p, frame, how="left", predicate="intersects"), n, budget
        )
        if n <= LOOP_CAP:
            k = n
            loop_rate = _best_rate(
                lambda x=lons, y=lats: _loop_locate(zones.ids, zones.geometries, x, y),
                k,
                budget=0.0 if n >= LOOP_CAP else MIN_SECONDS,
            )
            loop_label = " "
        else:
            loop_label = "*"
        agree = ""
        if n == min(10_000, max(sizes)):
            same_sjoin = (ours == _sjoin_ids(points, frame, order)).all()
            loop_ids = _loop_locate(zones.ids, zones.geometries, lons, lats)
            same_loop = (ours == np.array(loop_ids, dtype=str)).all()
            agree = f"  (answers agree with sjoin: {same_sjoin}, with the loop: {same_loop})"
        results[n] = (xy_rate, sjoin_rate)
        print(
            f"{n:>9,} | {_fmt_rate(xy_rate):>15} | {_fmt_rate(sjoin_rate)} | "
            f"{_fmt_rate(loop_rate)} {loop_label} | {xy_rate / sjoin_rate:>7.1f}x | "
            f"{loop_rate / sjoin_rate:>9.2f}x | {(ours != '').mean():5.0%}{agree}"
        )
    if any(n > LOOP_CAP for n in sizes):
        print(f"  * loop rate measured at {LOOP_CAP:,} points, extrapolated (not run)")

    biggest = max(results)
    xy_rate, sjoin_rate = results[biggest]
    ok = xy_rate >= TARGET_RATE and xy_rate >= sjoin_rate
    print(
        f"\ntarget: locate_xy >= {TARGET_RATE:,} points/s and >= sjoin: at {biggest:,} points "
        f"{xy_rate:,.0f} points/s, {xy_rate / sjoin_rate:.1f}x sjoin -> {'MET' if ok else 'MISSED'}"
    )

    lons, lats = rng.uniform(minx, maxx, 10_000), rng.uniform(miny, maxy, 10_000)
    for name, func, target in (
        ("locate", zones.locate, TARGET_SINGLE_US),
        ("nearest_other_zone_distance_m", zones.nearest_other_zone_distance_m, None),
    ):
        timings = []
        for x, y in zip(lons.tolist(), lats.tolist(), strict=True):
            started = time.perf_counter_ns()
            func(x, y)
            timings.append((time.perf_counter_ns() - started) / 1000)
        median = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1]
        verdict = ""
        if target is not None:
            verdict = f"  target < {target:.0f} us -> {'MET' if median < target else 'MISSED'}"
        print(f"single-point {name}: median {median:.1f} us, p95 {p95:.1f} us{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
