"""Boundary files for the staff tests: the demo zones with a block moved, or grown into an
overlap, and an independent count (shapely over the address CSV, none of our code) of the
addresses whose cycle a new file changes."""

from __future__ import annotations

import csv
import json

import shapely
from shapely.geometry import mapping, shape

from cyclemap.config import DEFAULT_CITY


def demo_geojson() -> dict:
    return json.loads((DEFAULT_CITY / "cycles.geojson").read_text())


def move_block(geojson: dict, src: str = "2", dst: str = "3", reach: float = 0.004) -> dict:
    """The zones with the part of cycle ``src`` within ``reach`` degrees of ``dst`` given to it."""
    feats = {str(f["properties"]["cycle"]): f for f in geojson["features"]}
    a, b = shape(feats[src]["geometry"]), shape(feats[dst]["geometry"])
    block = a.intersection(b.buffer(reach))
    out = json.loads(json.dumps(geojson))
    for f in out["features"]:
        cid = str(f["properties"]["cycle"])
        if cid == src:
            f["geometry"] = mapping(a.difference(block))
        elif cid == dst:
            f["geometry"] = mapping(b.union(block))
    return out


def first_covering(zones: dict, lons, lats) -> list[str]:
    """For each point, the first zone in id order that covers it (the border rule), else ""."""
    found = [""] * len(lons)
    for cid in sorted(zones, key=lambda c: (len(c), c)):
        geom = shape(zones[cid])
        shapely.prepare(geom)
        inside = shapely.covers(geom, shapely.points(lons, lats))
        for i in inside.nonzero()[0]:
            if not found[i]:
                found[i] = cid
    return found


def independent_changes(before: dict, after: dict) -> dict[str, tuple[str, str]]:
    """Address -> (from, to) for every demo address whose cycle differs, read with csv alone."""
    with open(DEFAULT_CITY / "addresses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lons = [float(r["lon"]) for r in rows]
    lats = [float(r["lat"]) for r in rows]
    zones_of = lambda fc: {str(f["properties"]["cycle"]): f["geometry"] for f in fc["features"]}  # noqa: E731
    old, new = (
        first_covering(zones_of(before), lons, lats),
        first_covering(zones_of(after), lons, lats),
    )
    out = {}
    for r, a, b in zip(rows, old, new, strict=True):
        if a != b:
            label = f"{r['house_number']} {r['street']}" + (f" {r['unit']}" if r["unit"] else "")
            out[label] = (a, b)
    return out


def overlapping(geojson: dict) -> dict:
    """Cycle 2 grown into Cycle 3 without taking the area from 3: an overlap."""
    out = json.loads(json.dumps(geojson))
    feats = {str(f["properties"]["cycle"]): f for f in out["features"]}
    grown = shape(feats["2"]["geometry"]).union(
        shape(feats["3"]["geometry"]).intersection(shape(feats["2"]["geometry"]).buffer(0.003))
    )
    feats["2"]["geometry"] = mapping(grown)
    return out
