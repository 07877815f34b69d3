"""Validating a boundary file before it goes live: a report a clerk can act on.

:func:`validate_boundaries` reads the file as :func:`cyclemap.boundaries.read_boundaries` does and
reports every problem it finds instead of stopping at the first. Feature checks (the file reads,
holds areas, has a CRS, a valid shape and a distinct id per zone) come from the reader; this
module adds the coverage checks, all measured in metres in the zones' local UTM zone (see
:func:`cyclemap.boundaries.local_metric_crs`):

- **overlap**: two zones share more than ``overlap_tolerance_m2`` of area. (Lookups would still
  be deterministic, by the border rule, but a clerk should decide who bills those addresses.)
- **gap**: without ``limits``, a hole in the union of the zones (area inside the zones' outer edge
  that no zone covers) larger than ``gap_tolerance_m2`` is a *warning*: it may be an
  unincorporated pocket that legitimately belongs to no cycle, and only the clerk knows. With
  ``limits`` (the city limits, a file or an EPSG:4326 geometry), every piece of the limits that no
  zone covers and that is larger than ``gap_tolerance_m2`` is an *error*, and zone area outside
  the limits is an ``outside-limits`` warning.
- **sliver**: a polygon part of a zone whose area is below ``sliver_area_m2`` or whose mean width
  ``2 * area / perimeter`` is below ``sliver_width_m`` (a long thin strip, however long, is as
  wide as its mean width; a tiny compact speck fails on area): digitizing leftovers that hold
  no address but make lookups near them surprising.

Areas below a tolerance are counted in the summary, not reported; so are **hairline** gaps and
overlaps, narrower than ``HAIRLINE_WIDTH_M`` on average whatever their area: what reprojection
or rounded coordinates leave along shared edges (zones exported in EPSG:3857 with centimetre
coordinates leave gaps about 2 mm wide and a kilometre long along the city limits).

Given the city's facts, the zones are also checked against them:

- ``known_cycles`` (the ids of ``city.toml``): a zone whose id is not one of them is an
  ``unknown-cycle`` error (residents would see "Cycle 5" with no dates), and a cycle with no zone
  is a ``missing-cycle`` error;
- ``address_points`` (the city's address layer, lons and lats) and ``map_center``: zones that
  miss the city but would hold it with x and y exchanged are a ``swapped-axes`` error ("this
  file looks like it has longitude and latitude swapped"); address points that no zone covers
  are an ``addresses-outside`` warning, or an error when most of the city's addresses are.

When the only problems are invalid shapes and repeated ids, ``report.repaired`` holds the zones
repaired: shapes with ``shapely.make_valid`` (areal parts kept), and the features that share an
id merged into one MultiPolygon zone (many GIS exports split a zone into one feature per part).
Those problems' messages say whether a repaired copy is offered.

>>> import json, tempfile, pathlib
>>> def square(x0, y0, x1, y1):
...     ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
...     return {"type": "Polygon", "coordinates": [ring]}
>>> features = [{"type": "Feature", "properties": {"cycle": c}, "geometry": g}
...             for c, g in [("1", square(0, 0, 0.011, 0.01)), ("2", square(0.01, 0, 0.02, 0.01))]]
>>> path = pathlib.Path(tempfile.mkdtemp()) / "zones.geojson"
>>> _ = path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
>>> report = validate_boundaries(path)
>>> report.valid, [(p.kind, p.cycle_ids, round(p.area_m2, -3)) for p in report.problems]
(False, [('overlap', ('1', '2'), 123000.0)])
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import BoundaryFileError, InputError
from .cityfacts import cycle_id_problems, placement_problems
from .geometry import (
    crs_label,
    cycle_sort_key,
    local_metric_crs,
    metric_transformer,
    polygonal,
    polygonal_part,
    transform_geoms,
)
from .locate import BoundarySet
from .read import Feature, Problem, examine, open_layer

__all__ = ["HAIRLINE_WIDTH_M", "ValidationReport", "validate_boundaries"]

#: problems a repair can fix: shapes by ``shapely.make_valid``, repeated ids by merging features
_REPAIRABLE = frozenset({"invalid-geometry", "duplicate-id"})
#: gaps and overlaps narrower than this on average (``2 * area / perimeter``, metres) are
#: hairlines left by reprojection or rounding: counted in the summary, not reported
HAIRLINE_WIDTH_M = 0.05


@dataclass
class ValidationReport:
    """What :func:`validate_boundaries` found: problems (errors), warnings and a summary.

    ``valid`` is true when the file was read and no problem was found (warnings allowed).
    ``repaired`` is a :class:`BoundarySet` repaired with ``shapely.make_valid`` and with features
    sharing an id merged, offered only when every problem is an invalid shape or a repeated id.

    >>> report = ValidationReport("x.geojson", problems=[Problem("no-features", "empty")])
    >>> report.valid, report.to_dict()["problems"][0]["kind"]
    (False, 'no-features')
    """

    source: str
    readable: bool = True
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    repaired: BoundarySet | None = None

    @property
    def valid(self) -> bool:
        """Read, and no problem found (warnings do not count)."""
        return self.readable and not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``repair_available`` says whether a repair exists)."""
        return {
            "source": self.source,
            "valid": self.valid,
            "readable": self.readable,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [p.to_dict() for p in self.warnings],
            "summary": self.summary,
            "repair_available": self.repaired is not None,
        }


def _area_text(m2: float) -> str:
    if m2 >= 100_000:
        return f"{m2 / 1e6:,.3f} km²"
    return f"{m2:,.1f} m²"


def _ids_text(ids: Sequence[str]) -> str:
    if not ids:
        return "no zone"
    if len(ids) == 1:
        return f"cycle {ids[0]}"
    return "cycles " + ", ".join(ids[:-1]) + " and " + ids[-1]


class _Measure:
    """Zones in the local metric CRS, and the way back to lon/lat for locations."""

    def __init__(self, features: list[Feature], bounds: Sequence[float]) -> None:
        from pyproj import Transformer  # loaded on use (geometry.py says why)

        self.crs = local_metric_crs(bounds)
        self.forward = metric_transformer(self.crs)
        self.back = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        self.features = features
        self.geoms = transform_geoms([f.geometry for f in features], self.forward)
        self.tree = shapely.STRtree(self.geoms)

    def where(self, piece: BaseGeometry) -> tuple[float, float]:
        point = shapely.point_on_surface(piece)
        lon, lat = self.back.transform(point.x, point.y)
        return (round(float(lon), 7), round(float(lat), 7))

    def ids_touching(self, piece: BaseGeometry) -> tuple[str, ...]:
        """Ids of the zones that touch or overlap ``piece``."""
        hits = self.tree.query(piece, predicate="intersects")
        ids = {self.features[i].cycle_id for i in hits} - {None}
        return tuple(sorted(ids, key=cycle_sort_key))

    def ids_sharing(self, piece: BaseGeometry, min_area_m2: float) -> tuple[str, ...]:
        """Ids of the zones sharing more than ``min_area_m2`` with ``piece``."""
        hits = self.tree.query(piece, predicate="intersects")
        shared = shapely.area(shapely.intersection(self.geoms[hits], piece))
        ids = {
            self.features[i].cycle_id for i, a in zip(hits, shared, strict=True) if a > min_area_m2
        }
        return tuple(sorted(ids - {None}, key=cycle_sort_key))


def _largest(geom: BaseGeometry) -> BaseGeometry:
    parts = shapely.get_parts(geom)
    return parts[int(np.argmax(shapely.area(parts)))]


def _overlaps(m: _Measure, tolerance: float, summary: dict[str, Any]) -> list[Problem]:
    problems, small = [], 0
    pairs = m.tree.query(m.geoms, predicate="intersects")
    for i, j in zip(*pairs, strict=True):
        a, b = m.features[i], m.features[j]
        if i >= j or (a.cycle_id is not None and a.cycle_id == b.cycle_id):
            continue
        shared = polygonal_part(shapely.intersection(m.geoms[i], m.geoms[j]))
        area = float(shared.area)
        if area <= 0:
            continue
        if area <= tolerance:
            small += 1
            continue
        if _hairline(shared):
            summary["hairline_overlaps_ignored"] = summary.get("hairline_overlaps_ignored", 0) + 1
            continue
        ids = tuple(sorted({c for c in (a.cycle_id, b.cycle_id) if c}, key=cycle_sort_key))
        where = m.where(_largest(shared))
        msg = (
            f"Cycles {a.cycle_id or '(no id)'} and {b.cycle_id or '(no id)'} overlap by "
            f"{_area_text(area)} around ({where[0]:.6f}, {where[1]:.6f}): an address there "
            "would be in both; trim one of them"
        )
        problems.append(Problem("overlap", msg, ids, b.index, where, round(area, 3)))
    summary["small_overlaps_ignored"] = small
    summary.setdefault("hairline_overlaps_ignored", 0)
    return problems


def _hairline(piece: BaseGeometry) -> bool:
    """Narrower than ``HAIRLINE_WIDTH_M`` on average: a reprojection or rounding artefact.

    >>> _hairline(shapely.box(0, 0, 1000, 0.002)), _hairline(shapely.box(0, 0, 100, 0.5))
    (True, False)
    """
    perimeter = float(piece.length)
    return perimeter > 0 and 2 * float(piece.area) / perimeter < HAIRLINE_WIDTH_M


def _gaps(
    m: _Measure,
    union: BaseGeometry,
    limits: BaseGeometry | None,
    tolerance: float,
    summary: dict[str, Any],
) -> tuple[list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if limits is None:
        shells = shapely.polygons(shapely.get_exterior_ring(shapely.get_parts(union)))
        uncovered = shapely.difference(shapely.union_all(shells), union)
    else:
        uncovered = shapely.difference(limits, union)
        outside = shapely.difference(union, limits)
        for piece in shapely.get_parts(polygonal_part(outside)):
            if piece.area > tolerance and not _hairline(piece):
                where = m.where(piece)
                ids = m.ids_sharing(piece, tolerance)
                msg = (
                    f"{_area_text(piece.area)} of {_ids_text(ids)} lies outside the city limits "
                    f"around ({where[0]:.6f}, {where[1]:.6f})"
                )
                area = round(piece.area, 3)
                warnings.append(Problem("outside-limits", msg, ids, None, where, area))
    small = hairline = 0
    hairline_area = 0.0
    for piece in shapely.get_parts(polygonal_part(uncovered)):
        area = float(piece.area)
        if area <= tolerance:
            small += 1
            continue
        if _hairline(piece):
            hairline += 1
            hairline_area += area
            continue
        where = m.where(piece)
        ids = m.ids_touching(piece)
        spot = f"{_area_text(area)} at ({where[0]:.6f}, {where[1]:.6f}), next to {_ids_text(ids)},"
        if limits is None:
            msg = (
                f"A hole of {spot} belongs to no cycle: addresses there get none. Fine if it is "
                "outside the city (an unincorporated pocket); otherwise extend a zone over it"
            )
            warnings.append(Problem("gap", msg, ids, None, where, round(area, 3)))
        else:
            msg = f"{spot[0].upper()}{spot[1:]} inside the city limits belongs to no cycle"
            problems.append(Problem("gap", msg, ids, None, where, round(area, 3)))
    summary["small_gaps_ignored"] = small
    summary["hairline_gaps_ignored"] = hairline
    summary["hairline_gaps_m2"] = round(hairline_area, 3)
    return problems, warnings


def _slivers(m: _Measure, min_area: float, min_width: float) -> list[Problem]:
    problems = []
    for feature, geom in zip(m.features, m.geoms, strict=True):
        for part in shapely.get_parts(geom):
            area, perimeter = float(part.area), float(part.length)
            width = 2 * area / perimeter if perimeter else 0.0
            if area >= min_area and width >= min_width:
                continue
            where = m.where(part) if area > 0 else None
            cid = feature.cycle_id
            at = f" at ({where[0]:.6f}, {where[1]:.6f})" if where else ""
            msg = (
                f"Cycle {cid or '(no id)'} has a sliver of {_area_text(area)}, {width:.2f} m wide "
                f"on average,{at}: a digitizing leftover? Delete it or merge it into the zone"
            )
            ids = (cid,) if cid else ()
            problems.append(Problem("sliver", msg, ids, feature.index, where, round(area, 3)))
    return problems


def _repair(
    features: list[Feature], id_property: str, crs_label: str | None, name: str
) -> BoundarySet:
    """One zone per id: the (already ``make_valid``-repaired) features merged by cycle id."""
    merged: dict[str, list[Feature]] = {}
    for f in features:
        merged.setdefault(f.checked_id, []).append(f)
    ids = list(merged)
    geoms = [
        polygonal(polygonal_part(shapely.union_all([f.geometry for f in merged[cid]])))
        for cid in ids
    ]
    return BoundarySet(
        ids,
        geoms,
        id_property=id_property,
        properties=[merged[cid][0].properties for cid in ids],
        source_crs=crs_label or "EPSG:4326",
        source=f"{name} (repaired)",
    )


def _read_limits(limits: str | Path | BaseGeometry) -> BaseGeometry:
    """City limits in EPSG:4326, from a geometry (taken as EPSG:4326) or any file GDAL reads."""
    if isinstance(limits, BaseGeometry):
        area = polygonal(limits)
    else:
        layer = open_layer(limits)
        frame = layer.frame
        if frame.crs is None:
            raise BoundaryFileError(f"the city limits file {layer.source} declares no CRS")
        frame = frame.to_crs("EPSG:4326")
        parts = [polygonal(g) for g in frame.geometry.values]
        parts = [shapely.make_valid(p) for p in parts if p is not None]
        area = polygonal(polygonal_part(shapely.union_all(parts))) if parts else None
    if area is None:
        raise InputError("the city limits must be a Polygon or MultiPolygon")
    return area


def _say_repair(problems: list[Problem], offered: bool, repairable: bool) -> list[Problem]:
    """The problems, with the ones a repair fixes saying whether this report offers one."""
    others = sorted({p.kind for p in problems} - _REPAIRABLE)
    if offered:
        tail = ". Or use the repaired copy this report offers"
    elif others:
        tail = (
            ". (No repaired copy is offered while the file also has "
            f"{', '.join(others)} problems: fix those first)"
        )
    elif not repairable:
        tail = ". (No repaired copy can be made: a shape has no area left once repaired)"
    else:
        tail = ""
    return [
        dataclasses.replace(p, message=p.message + tail) if p.kind in _REPAIRABLE else p
        for p in problems
    ]


def validate_boundaries(
    path: str | Path | io.BytesIO,
    id_property: str = "cycle",
    crs: str | None = None,
    *,
    limits: str | Path | BaseGeometry | None = None,
    known_cycles: Collection[str] | None = None,
    address_points: tuple[np.ndarray, np.ndarray] | None = None,
    map_center: tuple[float, float] | None = None,
    overlap_tolerance_m2: float = 1.0,
    gap_tolerance_m2: float = 1.0,
    sliver_area_m2: float = 10.0,
    sliver_width_m: float = 1.0,
) -> ValidationReport:
    """Every problem with a boundary file, in a :class:`ValidationReport` (see the module doc).

    ``crs`` is used only when the file declares none. An unreadable file gives a report with
    ``readable`` false and one ``unreadable`` problem; a ``crs`` pyproj does not know, or an
    unusable ``limits``, raise ``InputError`` / ``BoundaryFileError``.

    The city's facts, each optional: ``known_cycles`` (the cycle ids of ``city.toml``),
    ``address_points`` (``(lons, lats)`` of the city's address layer, EPSG:4326) and
    ``map_center`` (``(lon, lat)``); see the module doc for what is checked against them.

    >>> report = validate_boundaries("/no/such/zones.geojson")
    >>> report.readable, report.valid, report.problems[0].kind
    (False, False, 'unreadable')
    """
    name = "GeoJSON data" if isinstance(path, io.BytesIO) else Path(path).name
    report = ValidationReport(source=name if isinstance(path, io.BytesIO) else str(path))
    limit_area = _read_limits(limits) if limits is not None else None
    try:
        layer = open_layer(path)
    except BoundaryFileError as exc:
        report.readable = False
        report.problems.extend(exc.problems)
        return report
    ex = examine(layer, id_property, crs)
    report.problems.extend(ex.problems)
    report.warnings.extend(ex.warnings)
    features = [f for f in ex.features if f.geometry is not None]
    ids = sorted({f.cycle_id for f in ex.features if f.cycle_id}, key=cycle_sort_key)
    summary: dict[str, Any] = {
        "driver": layer.driver,
        "layer": layer.layer,
        "features": len(layer.frame),
        "id_property": id_property,
        "ids": ids,
        "crs": crs_label(ex.crs),
        "crs_from": ex.crs_from,
    }
    report.summary = summary
    if known_cycles is not None:
        report.problems.extend(cycle_id_problems(ex.features, known_cycles, lonlat=ex.lonlat))
    facts = address_points is not None or map_center is not None
    if not (ex.lonlat and features):
        if facts and features and ex.crs is not None and ex.crs.is_geographic:
            # off the Earth as read (a city west of 90°W, latitude first): swapped?
            found, _ = placement_problems(
                name, [f.geometry for f in features], address_points, map_center
            )
            report.problems.extend(p for p in found if p.kind == "swapped-axes")
        report.problems = _say_repair(report.problems, False, False)
        return report

    # repair invalid shapes (make_valid) so that coverage can be measured, and maybe offered
    for f in features:
        if not f.valid:
            f.geometry = polygonal(polygonal_part(shapely.make_valid(f.geometry)))
    repairable = all(f.geometry is not None for f in features)
    features = [f for f in features if f.geometry is not None]
    if not features:
        report.problems = _say_repair(report.problems, False, repairable)
        return report
    if facts:
        found, warned = placement_problems(
            name, [f.geometry for f in features], address_points, map_center
        )
        report.problems.extend(found)
        report.warnings.extend(warned)
    bounds = shapely.total_bounds(np.asarray([f.geometry for f in features], dtype=object))
    m = _Measure(features, bounds)
    summary["measured_in"] = f"{crs_label(m.crs)} ({m.crs.name})"
    summary["bounds"] = [round(float(v), 7) for v in bounds]
    area_km2: dict[str, float] = {}
    for f, g in zip(features, m.geoms, strict=True):
        key = f.cycle_id or f"(feature {f.index})"
        area_km2[key] = round(area_km2.get(key, 0.0) + g.area / 1e6, 4)
    summary["area_km2"] = {k: area_km2[k] for k in sorted(area_km2, key=cycle_sort_key)}

    report.problems.extend(_overlaps(m, overlap_tolerance_m2, summary))
    union = shapely.union_all(m.geoms)
    metric_limits = None
    if limit_area is not None:
        metric_limits = transform_geoms([limit_area], m.forward)[0]
    gap_errors, gap_warnings = _gaps(m, union, metric_limits, gap_tolerance_m2, summary)
    report.problems.extend(gap_errors)
    report.warnings.extend(gap_warnings)
    report.problems.extend(_slivers(m, sliver_area_m2, sliver_width_m))

    fixable = all(p.kind in _REPAIRABLE for p in report.problems)
    if report.problems and fixable and repairable:
        report.repaired = _repair(features, id_property, crs_label(ex.crs), name)
    report.problems = _say_repair(report.problems, report.repaired is not None, repairable)
    return report
