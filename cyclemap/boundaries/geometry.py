"""Helpers that reading, locating and validating cycle zones share.

Cycle ids as text and their order (the border rule's order), the local metric CRS in which areas
and distances are measured, reprojection of shapely geometries, and the polygonal part of a shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

# pyproj is imported where a CRS is made, not here: a lookup of an address away from a border
# never measures a distance, and a cold ``cyclemap lookup`` should not pay ~50 ms for it
if TYPE_CHECKING:
    from pyproj import CRS, Transformer

__all__ = [
    "crs_label",
    "cycle_id_text",
    "cycle_sort_key",
    "local_metric_crs",
    "metric_transformer",
    "polygonal",
    "polygonal_part",
    "transform_geoms",
]

_POLYGONAL = ("Polygon", "MultiPolygon")


def cycle_sort_key(cycle_id: str) -> tuple[int, int, str]:
    """The order of cycle ids: numeric ids by value first, then the others alphabetically.

    The one order of the package (zones, lists, legends, reports). This order also settles the
    border rule: of the zones covering a point, the first wins. Ids equal in value are ordered by
    their text ("01" before "1"), so the order never depends on the input's; a digit that is not
    ASCII ("²") is text, not a number.

    >>> sorted(["10", "2", "B", "1", "A"], key=cycle_sort_key)
    ['1', '2', '10', 'A', 'B']
    >>> sorted(["1", "²", "01"], key=cycle_sort_key) == sorted(["²", "01", "1"], key=cycle_sort_key)
    True
    >>> sorted(["1", "²", "01"], key=cycle_sort_key)
    ['01', '1', '²']
    """
    if cycle_id.isascii() and cycle_id.isdigit():
        return (0, int(cycle_id), cycle_id)
    return (1, 0, cycle_id)


def cycle_id_text(value: Any) -> str | None:
    """A cycle id as text: numbers lose a ``.0`` and text is stripped; ``None`` when missing.

    >>> cycle_id_text(1.0), cycle_id_text(2), cycle_id_text(" 3 "), cycle_id_text(2.5)
    ('1', '2', '3', '2.5')
    >>> cycle_id_text(float("nan")) is None, cycle_id_text("") is None
    (True, True)
    """
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None


def local_metric_crs(bounds: Sequence[float]) -> CRS:
    """The CRS in which areas and distances are measured for zones with these lon/lat bounds.

    The WGS 84 UTM zone of the bounds' centre: a city lies within a few hundred km of its zone's
    central meridian, where UTM's scale error stays under 0.1 % for distances and 0.2 % for areas,
    and the EPSG code is one a clerk can type into a GIS to check a number. (An equal-area CRS
    such as EPSG:6933 gets areas exactly but stretches distances by 25 % at 37°N, and the
    near-boundary distance needs metres.) Beyond UTM's latitudes, a Lambert azimuthal equal-area
    projection centred on the zones.

    >>> local_metric_crs((-89.6, 37.2, -89.5, 37.4)).to_epsg()
    32616
    """
    from pyproj import CRS

    minx, miny, maxx, maxy = (float(v) for v in bounds)
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if -80.0 <= lat <= 84.0:
        zone = int((lon + 180.0) // 6.0) % 60 + 1
        return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
    return CRS.from_proj4(f"+proj=laea +lat_0={lat:.4f} +lon_0={lon:.4f} +datum=WGS84 +units=m")


def metric_transformer(crs: CRS) -> Transformer:
    """The lon/lat (EPSG:4326) to ``crs`` transformer, x first."""
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def transform_geoms(geoms: Sequence[BaseGeometry], transformer: Transformer) -> np.ndarray:
    """Reproject shapely geometries with a pyproj transformer (one vectorized call each)."""

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(list(geoms), dtype=object), _apply)


def crs_label(crs: CRS | None) -> str | None:
    """``EPSG:2263`` when the CRS has an authority code, else its name."""
    if crs is None:
        return None
    authority = crs.to_authority(min_confidence=70)
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The geometry as a 2D Polygon/MultiPolygon, or ``None`` when it is not an area."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.force_2d(geom)
    if geom.geom_type in _POLYGONAL:
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = shapely.get_parts(geom)
        while any(p.geom_type == "GeometryCollection" for p in parts):
            parts = shapely.get_parts(parts)
        if len(parts) and all(p.geom_type in _POLYGONAL for p in parts):
            polygons = shapely.get_parts(parts)  # MultiPolygons into Polygons
            return shapely.multipolygons(polygons)
    return None


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """The areal part of any geometry (what ``make_valid`` returns may hold lines and points)."""
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL]
    if not parts:
        return shapely.MultiPolygon()
    return shapely.union_all(parts)
