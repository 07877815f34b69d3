"""Checking zones against what the city already knows: its cycle ids, its address points and
the centre of its map (used by :func:`cyclemap.boundaries.validate_boundaries`).

A boundary file can be a perfect coverage and still be wrong for the city: ids that are not the
city's cycles ("5", "Cycle 1"), a cycle left without a zone, or every coordinate written
latitude first, which puts the zones on the other side of the Earth (or, for a city west of
90°W, off it). These checks need no metric CRS: they compare lon/lat shapes with lon/lat points.

>>> import shapely
>>> zones = [shapely.box(-89.6, 37.2, -89.5, 37.4)]
>>> swapped = [shapely.box(37.2, -89.6, 37.4, -89.5)]
>>> lons, lats = np.array([-89.55, -89.52]), np.array([37.3, 37.35])
>>> kinds = lambda found: [p.kind for p in found[0] + found[1]]
>>> kinds(placement_problems("z.geojson", zones, (lons, lats), (-89.55, 37.3)))
[]
>>> kinds(placement_problems("z.geojson", swapped, (lons, lats), (-89.55, 37.3)))
['swapped-axes']
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .geometry import cycle_sort_key, polygonal, polygonal_part
from .read import Feature, Problem

__all__ = [
    "CENTER_PAD",
    "MIN_ADDRESS_SHARE",
    "SWAPPED_SHARE",
    "cycle_id_problems",
    "placement_problems",
]

#: when fewer of the city's address points than this share lie in a zone, that is an error
MIN_ADDRESS_SHARE = 0.5
#: zones holding less than this share as read, but at least MIN_ADDRESS_SHARE with x and y
#: exchanged, are read as swapped
SWAPPED_SHARE = 0.1
#: the map centre is "near" zones within their bounds grown by this many times their size
CENTER_PAD = 0.5
#: how many outside address points a message names
EXAMPLES = 3

_PREFIX = re.compile(r"(?i)^\s*(?:billing\s+)?(?:cycle|zone|route)?\s*(?:no\.?|#)?\s*0*(\w+)\s*$")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _meant(cycle_id: str, known: Collection[str]) -> str | None:
    """The city's cycle id that ``cycle_id`` probably names ("Cycle 1", "01", "zone #1" -> "1").

    >>> _meant("Cycle 1", ["1", "2"]), _meant("02", ["1", "2"]), _meant("5", ["1", "2"])
    ('1', '2', None)
    """
    match = _PREFIX.match(cycle_id)
    if match and match[1] in known:
        return match[1]
    folded = {k.casefold(): k for k in known}
    return folded.get(cycle_id.strip().casefold())


def _spot(geom: BaseGeometry | None, lonlat: bool) -> tuple[float, float] | None:
    if geom is None or geom.is_empty or not lonlat:
        return None
    point = shapely.point_on_surface(geom)
    return (round(float(point.x), 7), round(float(point.y), 7))


def cycle_id_problems(
    features: Sequence[Feature], known_cycles: Collection[str], *, lonlat: bool = True
) -> list[Problem]:
    """``unknown-cycle`` for each zone id that is not one of ``known_cycles`` (``city.toml``'s),
    ``missing-cycle`` for each of the city's cycles that no zone has.

    No ``missing-cycle`` is reported when no feature has an id at all (``missing-id`` already
    says why).
    """
    known = sorted({str(k) for k in known_cycles}, key=cycle_sort_key)
    listed = ", ".join(known) or "none"
    first: dict[str, Feature] = {}
    for f in features:
        if f.cycle_id is not None:
            first.setdefault(f.cycle_id, f)
    problems = []
    for cid in sorted(first, key=cycle_sort_key):
        if cid in known:
            continue
        f = first[cid]
        meant = _meant(cid, known)
        hint = (
            f"Did you mean {meant!r}? The id is the cycle's id in city.toml, not its name. "
            if meant
            else ""
        )
        msg = (
            f"The {_ordinal(f.index + 1)} feature's cycle id {cid!r} is not one of the city's "
            f'cycles ({listed} in city.toml): residents there would be told "Cycle {cid}", '
            f"with no dates. {hint}Correct the id, or add [cycles.{cid}] to city.toml first"
        )
        where = _spot(f.geometry, lonlat)
        problems.append(Problem("unknown-cycle", msg, (cid,), f.index, where))
    if first:
        for cid in known:
            if cid not in first:
                msg = (
                    f"Cycle {cid} is in city.toml but no zone in this file has that id: its "
                    "addresses would be in no cycle. Add its zone (or correct a zone's id)"
                )
                problems.append(Problem("missing-cycle", msg, (cid,)))
    return problems


def _union(geoms: Sequence[BaseGeometry]) -> BaseGeometry | None:
    parts = [polygonal(polygonal_part(shapely.make_valid(g))) for g in geoms if g is not None]
    parts = [p for p in parts if p is not None]
    return shapely.union_all(parts) if parts else None


def _swap_xy(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda coords: coords[:, ::-1])


def _share(area: BaseGeometry, lons: np.ndarray, lats: np.ndarray) -> tuple[float, np.ndarray]:
    shapely.prepare(area)
    inside = shapely.intersects_xy(area, lons, lats)
    return (float(inside.mean()) if len(inside) else math.nan), inside


def _near(area: BaseGeometry, lon: float, lat: float) -> bool:
    west, south, east, north = area.bounds
    dx, dy = (east - west) * CENTER_PAD, (north - south) * CENTER_PAD
    return west - dx <= lon <= east + dx and south - dy <= lat <= north + dy


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine, clamped for points off the Earth)."""
    p1, p2 = math.radians(max(-90.0, min(90.0, lat1))), math.radians(max(-90.0, min(90.0, lat2)))
    dl = math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def placement_problems(
    name: str,
    geoms: Sequence[BaseGeometry],
    address_points: tuple[np.ndarray, np.ndarray] | None,
    map_center: tuple[float, float] | None,
) -> tuple[list[Problem], list[Problem]]:
    """Problems and warnings about where the zones (``geoms``, x = longitude, y = latitude as
    the file has them) lie compared with the city's address points and map centre.

    ``swapped-axes`` (an error) when the zones miss the city but would hold it with x and y
    exchanged; else ``addresses-outside`` for the address points no zone covers (a warning, an
    error when they are most of the city's), or without address points ``far-from-center``
    (a warning) when the zones lie far from the map centre.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    area = _union(geoms)
    if area is None or area.is_empty or (address_points is None and map_center is None):
        return problems, warnings
    swapped = _swap_xy(area)
    points: tuple[np.ndarray, np.ndarray] | None = None  # the finite address points
    if address_points is not None:
        lons = np.asarray(address_points[0], dtype=float)
        lats = np.asarray(address_points[1], dtype=float)
        keep = np.isfinite(lons) & np.isfinite(lats)
        if keep.any():
            points = (lons[keep], lats[keep])
    centroid = area.envelope.centroid
    here = (round(float(centroid.x), 7), round(float(centroid.y), 7))

    inside: np.ndarray | None = None
    if points is not None:
        lons, lats = points
        share, inside = _share(area, lons, lats)
        swapped_share, _ = _share(swapped, lons, lats)
        is_swapped = share < SWAPPED_SHARE and swapped_share >= MIN_ADDRESS_SHARE
    elif map_center is not None:
        share = swapped_share = math.nan
        lon, lat = map_center
        is_swapped = not _near(area, lon, lat) and _near(swapped, lon, lat)
    else:  # no usable address point (none finite) and no map centre: nothing to compare with
        return problems, warnings

    if is_swapped:
        facts = []
        if map_center is not None:
            km = _km(here[0], here[1], map_center[0], map_center[1])
            facts.append(
                f"{km:,.0f} km from the city's map centre ({map_center[0]:.4f}, "
                f"{map_center[1]:.4f})"
            )
        if points is not None:
            facts.append(f"holding {share:.0%} of the city's {len(points[0]):,} address points")
        after = (
            f"they would hold {swapped_share:.0%} of them"
            if points is not None
            else "they would lie around the map centre"
        )
        msg = (
            f"{name}: this file looks like it has longitude and latitude swapped. Read as it "
            f"is, its zones lie around ({here[0]:.4f}, {here[1]:.4f}), {', '.join(facts)}; with "
            f"the two exchanged {after}. Swap them in a GIS (QGIS: Vector > Geometry Tools > "
            "Swap X and Y Coordinates) or export the file again with longitude first"
        )
        problems.append(Problem("swapped-axes", msg, location=here))
        return problems, warnings

    if inside is not None and points is not None:
        lons, lats = points
        outside = np.flatnonzero(~inside)
        if len(outside):
            total = len(lons)
            examples = ", ".join(f"({lons[i]:.6f}, {lats[i]:.6f})" for i in outside[:EXAMPLES])
            where = (round(float(lons[outside[0]]), 7), round(float(lats[outside[0]]), 7))
            msg = (
                f"{len(outside):,} of the city's {total:,} address points "
                f"({len(outside) / total:.1%}) lie in no zone, e.g. at {examples}: residents "
                "there would be told their address is outside the billing cycles"
            )
            if share < MIN_ADDRESS_SHARE:
                msg = (
                    f"The zones hold only {share:.0%} of the city's address points: is this "
                    f"the right file for this city, in the right CRS? {msg}"
                )
                problems.append(Problem("addresses-outside", msg, location=where))
            else:
                msg += ". Fine for addresses outside the service area; otherwise extend a zone"
                warnings.append(Problem("addresses-outside", msg, location=where))
    elif map_center is not None and not _near(area, *map_center):
        km = _km(here[0], here[1], map_center[0], map_center[1])
        msg = (
            f"The zones lie around ({here[0]:.4f}, {here[1]:.4f}), {km:,.0f} km from the city's "
            f"map centre ({map_center[0]:.4f}, {map_center[1]:.4f}): is this the right city's "
            "file, in the right CRS?"
        )
        warnings.append(Problem("far-from-center", msg, location=here))
    return problems, warnings
