"""Cycle zones: reading a boundary file and finding the zone a point lies in.

A boundary file holds one Polygon or MultiPolygon feature per cycle zone, with the cycle id in a
property (``cycle`` unless the city says otherwise). Any format GDAL reads will do: GeoJSON,
GeoPackage, a Shapefile in a ``.zip``, KML. Zones are reprojected once, at load, from the CRS the
file declares to EPSG:4326, and kept in that CRS for lookups.

The border rule: a point on a zone's edge belongs to the zone (``covers`` semantics), and a point
that more than one zone covers (a shared edge, a vertex shared by four zones, an overlap) belongs
to the zone whose id comes first in :func:`cycle_sort_key` order (numeric ids by value, then the
rest alphabetically). ``locate`` and ``locate_xy`` apply the same predicate in the same order, so
they always agree.

>>> from shapely.geometry import box
>>> zones = BoundarySet(["2", "1"], [box(-89.5, 37.2, -89.4, 37.3), box(-89.6, 37.2, -89.5, 37.3)])
>>> zones.ids
('1', '2')
>>> zones.locate(-89.45, 37.25), zones.locate(-89.5, 37.25), zones.locate(0.0, 0.0)
('2', '1', '')
>>> zones.locate_xy([-89.55, -89.45, 0.0], [37.25, 37.25, 0.0])
array(['1', '2', ''], dtype='<U1')
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import BoundaryFileError, InputError
from .geometry import (
    crs_label,
    cycle_sort_key,
    local_metric_crs,
    metric_transformer,
    polygonal,
    transform_geoms,
)

if TYPE_CHECKING:  # pyproj loads when distances are first measured (geometry.py says why)
    from pyproj import CRS, Transformer

__all__ = ["BoundarySet", "read_boundaries"]


def _load(
    source: str | Path | io.BytesIO, id_property: str, crs: str | CRS | None, name: str | None
) -> BoundarySet:
    from .read import examine, open_layer  # the file readers load with the first file read

    examined = examine(open_layer(source, name), id_property, crs)
    if examined.problems:
        problems = examined.problems
        if len(problems) == 1:
            message = problems[0].message
        else:
            message = (
                f"{examined.layer.source}: {len(problems)} problems stop these zones being used "
                "for lookups (`cyclemap boundaries validate FILE` gives the full report)"
            )
        raise BoundaryFileError(message, problems=problems)
    features = examined.features
    return BoundarySet(
        [f.checked_id for f in features],
        [f.geometry for f in features],
        id_property=id_property,
        properties=[f.properties for f in features],
        source_crs=crs_label(examined.crs) or "EPSG:4326",
        source=examined.layer.source,
    )


def read_boundaries(
    path: str | Path, id_property: str = "cycle", crs: str | None = None
) -> BoundarySet:
    """Read a boundary file (any format GDAL reads) into a :class:`BoundarySet` in EPSG:4326.

    ``crs`` is used only when the file declares none (a GeoJSON without a ``crs`` member is
    EPSG:4326, as GDAL reports it). Raises ``BoundaryFileError`` whose ``problems`` say what makes
    the file unusable: unreadable, no features, no CRS, a feature that is not an area or has an
    invalid shape, a missing or repeated cycle id. (Overlaps, gaps and slivers are for
    :func:`validate_boundaries`; overlaps are settled by the border rule.)

    >>> import json, tempfile, pathlib
    >>> ring = [[-89.6, 37.2], [-89.5, 37.2], [-89.5, 37.3], [-89.6, 37.3], [-89.6, 37.2]]
    >>> feature = {"type": "Feature", "properties": {"cycle": 1.0},
    ...            "geometry": {"type": "Polygon", "coordinates": [ring]}}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cycles.geojson"
    >>> _ = path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    >>> zones = read_boundaries(path)
    >>> zones.ids, zones.source_crs, zones.locate(-89.55, 37.25)
    (('1',), 'EPSG:4326', '1')
    """
    return _load(path, id_property, crs, None)


# --- the zones ------------------------------------------------------------------------------


def _restore(
    ids: Sequence[str],
    geoms: Sequence[BaseGeometry],
    id_property: str,
    properties: Sequence[Mapping[str, Any]],
    source_crs: str,
    source: str | None,
) -> BoundarySet:
    """A pickled ``BoundarySet`` built again from its parts."""
    return BoundarySet(
        ids,
        geoms,
        id_property=id_property,
        properties=properties,
        source_crs=source_crs,
        source=source,
    )


def _edges(zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ring segment of the zones as a 2-point LineString, and the zone index of each."""
    parts, part_zone = shapely.get_parts(zones, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    pairs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    return shapely.linestrings(pairs), part_zone[ring_part[coord_ring[:-1][same]]]


@dataclass(frozen=True)
class _Metric:
    """The zones in their local metric CRS, for distances: bounding boxes, edges in STRtrees."""

    crs: CRS
    to_metric: Transformer
    boxes: np.ndarray
    trees: list[shapely.STRtree]


class BoundarySet:
    """Cycle zones in EPSG:4326, prepared for point location.

    Zones are kept in :func:`cycle_sort_key` order of their ids. Each is a prepared shapely
    geometry with its bounding box: ``locate_xy`` tests, zone by zone, only the points inside the
    box that no earlier zone took, with the vectorized ``shapely.intersects_xy`` (for a point,
    ``intersects`` is ``covers``), so a point on a shared border goes to the first zone in id
    order. Each zone's edges, in a local metric CRS (:func:`local_metric_crs`) and in an STRtree,
    serve distances (built on the first distance asked).

    >>> from shapely.geometry import box
    >>> zones = BoundarySet(["1", "2"], [box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)])
    >>> len(zones), zones.bounds
    (2, (0.0, 0.0, 0.02, 0.01))
    >>> round(zones.nearest_other_zone_distance_m(0.005, 0.005))   # 0.005° of longitude
    557
    """

    def __init__(
        self,
        ids: Sequence[str],
        geometries: Sequence[BaseGeometry],
        *,
        id_property: str = "cycle",
        properties: Sequence[Mapping[str, Any]] | None = None,
        source_crs: str = "EPSG:4326",
        source: str | None = None,
    ) -> None:
        ids = [str(i) for i in ids]
        properties = list(properties) if properties is not None else [{} for _ in ids]
        if not (len(ids) == len(geometries) == len(properties)):
            raise InputError("BoundarySet needs one id, one geometry and one property set a zone")
        if not ids:
            raise InputError("BoundarySet needs at least one zone")
        if len(set(ids)) != len(ids) or "" in ids:
            raise InputError("cycle ids must be non-empty and distinct")
        geoms: list[BaseGeometry] = []
        for g in geometries:
            zone = polygonal(g)
            if zone is None:
                raise InputError("every zone must be a non-empty Polygon or MultiPolygon")
            geoms.append(zone)
        order = sorted(range(len(ids)), key=lambda i: cycle_sort_key(ids[i]))
        self.id_property = id_property
        self.source_crs = source_crs
        self.source = source
        self._ids = tuple(ids[i] for i in order)
        self._geoms = tuple(geoms[i] for i in order)
        self._properties = tuple(dict(properties[i]) for i in order)
        self._labels = np.array([*self._ids, ""])
        garray = np.asarray(self._geoms, dtype=object)
        shapely.prepare(garray)
        self._boxes = shapely.bounds(garray)
        for geom, box in zip(self._geoms, self._boxes, strict=True):
            # build GEOS's lazy point-in-area index now, not in a first request's thread
            shapely.intersects_xy(geom, box[0], box[1])
        # (x0, y0, x1, y1, zone, id) of each zone: its bounding box first, as plain floats
        self._scan: list[tuple[float, float, float, float, BaseGeometry, str]] = [
            (float(x0), float(y0), float(x1), float(y1), geom, cid)
            for (x0, y0, x1, y1), geom, cid in zip(self._boxes, self._geoms, self._ids, strict=True)
        ]
        # what distances need (the zones in a metric CRS, their edges in STRtrees) is built on
        # the first distance asked, not here: most processes answer lookups of address points,
        # which need none, and a million-point city opens that much sooner
        self._metric_lock = threading.Lock()
        self._metric: _Metric | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def _distances(self) -> _Metric:
        metric = self._metric
        if metric is None:
            with self._metric_lock:
                if self._metric is None:
                    crs = local_metric_crs(self.bounds)
                    to_metric = metric_transformer(crs)
                    zones = transform_geoms(self._geoms, to_metric)
                    edges, edge_zone = _edges(zones)
                    trees = [shapely.STRtree(edges[edge_zone == k]) for k in range(len(zones))]
                    self._metric = _Metric(crs, to_metric, shapely.bounds(zones), trees)
                metric = self._metric
        return metric

    @property
    def metric_crs(self) -> CRS:
        """The local metric CRS distances are measured in (:func:`local_metric_crs`)."""
        return self._distances().crs

    @property
    def _to_metric(self) -> Transformer:
        return self._distances().to_metric

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # pickled as what it was built from; unpickling prepares the zones again (milliseconds)
        args = (self._ids, self._geoms, self.id_property, self._properties, self.source_crs)
        return _restore, (*args, self.source)

    def __repr__(self) -> str:
        return f"<BoundarySet {len(self)} zones {list(self._ids)} from {self.source or 'memory'}>"

    @property
    def ids(self) -> tuple[str, ...]:
        """The cycle ids, in :func:`cycle_sort_key` order."""
        return self._ids

    @property
    def geometries(self) -> tuple[BaseGeometry, ...]:
        """The zones as shapely geometries in EPSG:4326, in the order of :attr:`ids`."""
        return self._geoms

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of all zones."""
        minx, miny = self._boxes[:, :2].min(axis=0)
        maxx, maxy = self._boxes[:, 2:].max(axis=0)
        return (float(minx), float(miny), float(maxx), float(maxy))

    def locate(self, lon: float, lat: float) -> str:
        """The cycle id of the zone covering (lon, lat), ``""`` when none does.

        >>> from shapely.geometry import box
        >>> zones = BoundarySet(["1", "2"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
        >>> zones.locate(0.5, 0.5), zones.locate(1.0, 0.5), zones.locate(5, 5)
        ('1', '1', '')
        """
        x, y = float(lon), float(lat)
        for x0, y0, x1, y1, geom, cid in self._scan:
            if x0 <= x <= x1 and y0 <= y <= y1 and shapely.intersects_xy(geom, x, y):
                return cid
        return ""

    def locate_xy(self, lons: Any, lats: Any) -> np.ndarray:
        """Cycle ids for arrays of lon and lat (same shape), ``""`` outside every zone.

        >>> from shapely.geometry import box
        >>> zones = BoundarySet(["1", "2"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
        >>> zones.locate_xy([0.5, 1.5, 1.0, float("nan")], [0.5, 0.5, 1.0, 0.5])
        array(['1', '2', '1', ''], dtype='<U1')
        """
        x = np.asarray(lons, dtype=float)
        y = np.asarray(lats, dtype=float)
        if x.shape != y.shape:
            raise InputError(f"lons and lats differ in shape: {x.shape} and {y.shape}")
        shape = x.shape
        x, y = x.ravel(), y.ravel()
        found = np.full(x.size, len(self._ids), dtype=np.intp)  # index of "" in _labels
        free = np.ones(x.size, dtype=bool)
        for k, (x0, y0, x1, y1, geom, _cid) in enumerate(self._scan):
            todo = np.flatnonzero(free & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
            if todo.size:
                hit = todo[shapely.intersects_xy(geom, x[todo], y[todo])]
                found[hit] = k
                free[hit] = False
        return self._labels[found].reshape(shape)

    def nearest_other_zone_distance_m(self, lon: float, lat: float) -> float:
        """Metres from (lon, lat) to the closest zone other than the one :meth:`locate` gives.

        0 on a shared border (to a millimetre: see below) or inside an overlap; ``inf`` when
        there is no other zone; NaN for a NaN coordinate. For a point outside every zone, the
        distance to the nearest zone. Measured in :attr:`metric_crs` (see
        :func:`local_metric_crs`), where a straight edge between two lon/lat vertices is
        straight: over a 1 km edge that differs from the lon/lat line by about a millimetre.
        Zones are visited nearest bounding box first, each with one STRtree query over its edges,
        until no remaining box is nearer than the best distance: tens of microseconds.

        >>> from shapely.geometry import box
        >>> zones = BoundarySet(["1", "2"], [box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)])
        >>> round(zones.nearest_other_zone_distance_m(0.01, 0.005), 2)   # on the border
        0.0
        """
        x, y = float(lon), float(lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            return math.nan
        cid = self.locate(x, y)
        own = self._ids.index(cid) if cid else -1
        metric = self._distances()
        px, py = metric.to_metric.transform(x, y)
        point = shapely.Point(px, py)
        boxes = metric.boxes  # no zone is nearer than its bounding box
        dx = np.maximum(np.maximum(boxes[:, 0] - px, px - boxes[:, 2]), 0.0)
        dy = np.maximum(np.maximum(boxes[:, 1] - py, py - boxes[:, 3]), 0.0)
        floor = np.hypot(dx, dy)
        best = math.inf
        for k in np.argsort(floor, kind="stable").tolist():
            if k == own:
                continue
            if floor[k] >= best:
                break
            if shapely.intersects_xy(self._geoms[k], x, y):
                return 0.0  # an overlap: the point is in this zone too
            # outside a zone, the distance to it is the distance to its nearest edge
            _, dist = metric.trees[k].query_nearest(point, return_distance=True)
            best = min(best, float(dist[0]))
        return best

    def other_zones_within_m(
        self, lon: float, lat: float, metres: float
    ) -> list[tuple[str, float]]:
        """``(cycle id, metres)`` of every zone other than the one :meth:`locate` gives that is
        within ``metres`` of (lon, lat), nearest first (0 for an overlap or a shared border).

        Measured as :meth:`nearest_other_zone_distance_m` measures; its first entry, when there
        is one, is that distance.

        >>> from shapely.geometry import box
        >>> zones = BoundarySet(["1", "2", "3"], [box(0, 0, 0.01, 0.01),
        ...     box(0.01, 0, 0.02, 0.01), box(0, 0.01, 0.02, 0.02)])
        >>> [(cid, round(m)) for cid, m in zones.other_zones_within_m(0.0099, 0.0098, 25)]
        [('2', 11), ('3', 22)]
        >>> zones.other_zones_within_m(0.005, 0.005, 20)
        []
        """
        x, y = float(lon), float(lat)
        if not (math.isfinite(x) and math.isfinite(y)) or not metres >= 0:
            return []
        cid = self.locate(x, y)
        own = self._ids.index(cid) if cid else -1
        metric = self._distances()
        px, py = metric.to_metric.transform(x, y)
        point = shapely.Point(px, py)
        boxes = metric.boxes
        dx = np.maximum(np.maximum(boxes[:, 0] - px, px - boxes[:, 2]), 0.0)
        dy = np.maximum(np.maximum(boxes[:, 1] - py, py - boxes[:, 3]), 0.0)
        floor = np.hypot(dx, dy)
        found = []
        for k in np.flatnonzero(floor <= metres).tolist():
            if k == own:
                continue
            if shapely.intersects_xy(self._geoms[k], x, y):
                found.append((self._ids[k], 0.0))
                continue
            _, dist = metric.trees[k].query_nearest(point, return_distance=True)
            if float(dist[0]) <= metres:
                found.append((self._ids[k], float(dist[0])))
        return sorted(found, key=lambda item: (item[1], cycle_sort_key(item[0])))

    def to_geojson(self) -> dict[str, Any]:
        """An RFC 7946 FeatureCollection (EPSG:4326, exterior rings counterclockwise).

        >>> from shapely.geometry import box
        >>> fc = BoundarySet(["1"], [box(0, 0, 1, 1)], properties=[{"name": "North"}]).to_geojson()
        >>> fc["features"][0]["properties"], fc["features"][0]["geometry"]["type"]
        ({'cycle': '1', 'name': 'North'}, 'Polygon')
        """
        oriented = shapely.orient_polygons(np.asarray(self._geoms, dtype=object))
        features = []
        for cid, geom, props in zip(self._ids, oriented, self._properties, strict=True):
            properties = {self.id_property: cid}
            properties.update((k, v) for k, v in props.items() if k != self.id_property)
            geometry = json.loads(shapely.to_geojson(geom))
            features.append({"type": "Feature", "properties": properties, "geometry": geometry})
        return {"type": "FeatureCollection", "features": features}

    @classmethod
    def from_geojson(cls, data: Mapping[str, Any], id_property: str = "cycle") -> BoundarySet:
        """Zones from a GeoJSON FeatureCollection (a dict), checked as :func:`read_boundaries` does.

        >>> from shapely.geometry import box
        >>> zones = BoundarySet(["1", "2"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
        >>> BoundarySet.from_geojson(zones.to_geojson()).locate(1.5, 0.5)
        '2'
        """
        payload = io.BytesIO(json.dumps(data).encode("utf-8"))
        return _load(payload, id_property, None, "GeoJSON data")
