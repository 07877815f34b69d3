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
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from .errors import BoundaryFileError, InputError

if TYPE_CHECKING:
    from .boundary_validation import ValidationReport

__all__ = [
    "BoundarySet",
    "Problem",
    "cycle_id_text",
    "cycle_sort_key",
    "local_metric_crs",
    "read_boundaries",
    "validate_boundaries",
]

_POLYGONAL = ("Polygon", "MultiPolygon")
_ZIP_MEMBERS = ((".shp",), (".gpkg",), (".geojson", ".json"), (".kml",))
_REASON_XY = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a boundary file, located as precisely as the check allows.

    ``kind`` is a short slug (``unreadable``, ``no-features``, ``no-crs``, ``bad-coordinates``,
    ``non-polygon``, ``invalid-geometry``, ``missing-id``, ``duplicate-id``, ``overlap``, ``gap``,
    ``sliver``; warnings also use ``crs-ignored`` and ``outside-limits``). ``feature_index`` is
    the 0-based position of the feature in the file; ``location`` is (lon, lat) in EPSG:4326;
    ``area_m2`` is measured in a local metric CRS; ``reason`` is GEOS's ``explain_validity``.

    >>> p = Problem("gap", "A hole", location=(-89.5, 37.3), area_m2=12.5)
    >>> str(p), p.to_dict()["location"]
    ('A hole', [-89.5, 37.3])
    """

    kind: str
    message: str
    cycle_ids: tuple[str, ...] = ()
    feature_index: int | None = None
    location: tuple[float, float] | None = None
    area_m2: float | None = None
    reason: str | None = None

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data."""
        return {
            "kind": self.kind,
            "message": self.message,
            "cycle_ids": list(self.cycle_ids),
            "feature_index": self.feature_index,
            "location": list(self.location) if self.location is not None else None,
            "area_m2": self.area_m2,
            "reason": self.reason,
        }


def cycle_sort_key(cycle_id: str) -> tuple[int, int, str]:
    """The order of cycle ids: numeric ids by value first, then the others alphabetically.

    This order also settles the border rule: of the zones covering a point, the first wins.

    >>> sorted(["10", "2", "B", "1", "A"], key=cycle_sort_key)
    ['1', '2', '10', 'A', 'B']
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
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if -80.0 <= lat <= 84.0:
        zone = int((lon + 180.0) // 6.0) % 60 + 1
        return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
    return CRS.from_proj4(f"+proj=laea +lat_0={lat:.4f} +lon_0={lon:.4f} +datum=WGS84 +units=m")


def _metric_transformer(crs: CRS) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _transform_geoms(geoms: Sequence[BaseGeometry], transformer: Transformer) -> np.ndarray:
    """Reproject shapely geometries with a pyproj transformer (one vectorized call each)."""

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(list(geoms), dtype=object), _apply)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _crs_label(crs: CRS | None) -> str | None:
    """``EPSG:2263`` when the CRS has an authority code, else its name."""
    if crs is None:
        return None
    authority = crs.to_authority(min_confidence=70)
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def _json_safe(value: Any) -> Any:
    """A property value as something ``json.dumps`` takes (dates as ISO text, NaN as null)."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int | str | bool):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
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


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """The areal part of any geometry (what ``make_valid`` returns may hold lines and points)."""
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL]
    if not parts:
        return shapely.MultiPolygon()
    return shapely.union_all(parts)


# --- reading --------------------------------------------------------------------------------


@dataclass
class _Layer:
    frame: Any  # geopandas.GeoDataFrame, in the file's CRS
    source: str
    driver: str | None
    layer: str | None


@dataclass
class _Feature:
    index: int
    cycle_id: str | None
    geometry: BaseGeometry | None  # polygonal, 2D, EPSG:4326 (file coordinates if no CRS)
    valid: bool
    properties: dict[str, Any]


@dataclass
class _Examined:
    layer: _Layer
    id_property: str
    features: list[_Feature] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    crs: CRS | None = None
    crs_from: str | None = None  # "file" or "caller"
    lonlat: bool = False  # geometries are trustworthy EPSG:4326


def _unreadable(source: str, why: str) -> BoundaryFileError:
    message = f"{source} cannot be read as a boundary file: {why}"
    return BoundaryFileError(message, problems=[Problem("unreadable", message)])


def _gdal_source(path: Path) -> str:
    """The path GDAL should open: for a .zip, the one boundary file inside it."""
    if path.suffix.lower() != ".zip":
        return str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n]
    except (OSError, zipfile.BadZipFile) as exc:
        raise _unreadable(path.name, f"it is not a readable zip archive ({exc})") from exc
    for suffixes in _ZIP_MEMBERS:
        found = [n for n in names if n.lower().endswith(suffixes)]
        if len(found) > 1:
            listed = ", ".join(found)
            raise _unreadable(path.name, f"it holds several {suffixes[0]} files ({listed})")
        if found:
            return f"/vsizip/{path.resolve()}/{found[0]}"
    raise _unreadable(path.name, "the archive holds no .shp, .gpkg, .geojson or .kml file")


def _open(source: str | Path | io.BytesIO, name: str | None = None) -> _Layer:
    """Read the zone layer with pyogrio; raise ``BoundaryFileError`` (kind unreadable)."""
    import pandas as pd
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    if isinstance(source, io.BytesIO):
        name = name or "GeoJSON data"
        gdal: str | io.BytesIO = source
    else:
        path = Path(source)
        name = name or path.name
        if not path.exists():
            raise _unreadable(name, f"there is no file at {path}")
        if path.is_dir() and path.suffix.lower() != ".gdb":
            raise _unreadable(name, f"{path} is a folder, not a file")
        gdal = _gdal_source(path)
    try:
        if isinstance(gdal, io.BytesIO):  # GeoJSON data: one layer
            frames, names, driver = [pyogrio.read_dataframe(gdal)], [], "GeoJSON"
        else:
            layers = pyogrio.list_layers(gdal)
            driver = pyogrio.read_info(gdal, layer=str(layers[0][0])).get("driver")
            if len(layers) == 1 or driver in ("KML", "LIBKML"):
                names = [str(row[0]) for row in layers]  # KML: a layer per folder; read all
            else:
                areal = [r for r in layers if "Polygon" in str(r[1]) or str(r[1]) == "Unknown"]
                names = [str(r[0]) for r in areal]
                if len(names) != 1:
                    listed = ", ".join(str(row[0]) for row in layers)
                    why = f"it holds several layers ({listed}); keep only the zones"
                    raise _unreadable(name, why)
            frames = [pyogrio.read_dataframe(gdal, layer=layer) for layer in names]
    except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError) as exc:
        why = str(exc).split("; It might help")[0]
        raise _unreadable(name, f"GDAL says: {why}") from exc
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if len(frames) > 1:
        frame = frame.set_crs(frames[0].crs, allow_override=True)
    frame = frame.reset_index(drop=True)
    return _Layer(frame, name, driver, names[0] if len(names) == 1 else None)


def _examine(layer: _Layer, id_property: str, crs: str | CRS | None) -> _Examined:
    """Check what must hold for every feature; reproject to EPSG:4326 when the CRS is known."""
    out = _Examined(layer, id_property)
    frame, source = layer.frame, layer.source
    caller_crs = None
    if crs is not None:
        try:
            caller_crs = CRS.from_user_input(crs)
        except CRSError as exc:
            raise InputError(f"{crs!r} is not a coordinate reference system: {exc}") from exc
    if len(frame) == 0:
        msg = f"{source} holds no features: it needs one Polygon or MultiPolygon per cycle zone"
        out.problems.append(Problem("no-features", msg))
        return out

    if frame.crs is not None:
        out.crs, out.crs_from = frame.crs, "file"
        if caller_crs is not None and not caller_crs.equals(frame.crs):
            out.warnings.append(
                Problem(
                    "crs-ignored",
                    f"{source} declares {_crs_label(frame.crs)}; the {_crs_label(caller_crs)} "
                    "you named is used only for files that declare no CRS",
                )
            )
    elif caller_crs is not None:
        out.crs, out.crs_from = caller_crs, "caller"
        frame = frame.set_crs(caller_crs)
    else:
        msg = (
            f"{source} declares no coordinate reference system, so its coordinates cannot be "
            "placed on the map: add the .prj file, or name the CRS (--crs EPSG:XXXX, or "
            "[boundaries] crs in city.toml)"
        )
        out.problems.append(Problem("no-crs", msg))

    if out.crs is not None:
        if not out.crs.equals(CRS.from_epsg(4326)):
            frame = frame.to_crs("EPSG:4326")
        bounds = shapely.bounds(np.asarray(frame.geometry.values, dtype=object))
        known = bounds[~np.isnan(bounds).all(axis=1)]
        lon_ok = np.isfinite(known).all() and (np.abs(known[:, [0, 2]]) <= 180).all()
        if not (lon_ok and (np.abs(known[:, [1, 3]]) <= 90).all()):
            msg = (
                f"{source}: the coordinates do not fall on the Earth when read as "
                f"{_crs_label(out.crs)}; the declared CRS is probably wrong (feet or metres "
                "read as degrees?)"
            )
            out.problems.append(Problem("bad-coordinates", msg))
        else:
            out.lonlat = True

    columns = [c for c in frame.columns if c != frame.geometry.name]
    if id_property not in columns:
        listed = ", ".join(map(str, columns)) or "none"
        msg = (
            f"{source} has no '{id_property}' property to hold the cycle ids; its properties "
            f"are: {listed}. Name the right one with --id-property (or [boundaries] id_property)"
        )
        out.problems.append(Problem("missing-id", msg))

    records = frame[columns].to_dict("records")
    for index, (geom, props) in enumerate(zip(frame.geometry.values, records, strict=True)):
        nth = f"the {_ordinal(index + 1)} feature"
        cid = cycle_id_text(props.get(id_property)) if id_property in columns else None
        who = f"Cycle {cid} ({nth})" if cid is not None else nth[0].upper() + nth[1:]
        if cid is None and id_property in columns:
            msg = f"{who} has no '{id_property}' value: every zone needs its cycle id"
            out.problems.append(Problem("missing-id", msg, feature_index=index))
        area = _polygonal(geom)
        valid = True
        if area is None:
            what = "no geometry" if geom is None or geom.is_empty else f"a {geom.geom_type}"
            msg = f"{who} has {what}, not a Polygon or MultiPolygon: a cycle zone is an area"
            ids = (cid,) if cid else ()
            out.problems.append(Problem("non-polygon", msg, ids, index))
        elif not shapely.is_valid(area):
            valid = False
            reason = shapely.is_valid_reason(area)
            out.problems.append(_invalid_problem(who, cid, index, reason, out.lonlat))
        props = {str(k): _json_safe(v) for k, v in props.items() if k != id_property}
        out.features.append(_Feature(index, cid, area, valid, props))

    seen: dict[str, list[int]] = {}
    for feature in out.features:
        if feature.cycle_id is not None:
            seen.setdefault(feature.cycle_id, []).append(feature.index)
    for cid, indexes in seen.items():
        if len(indexes) > 1:
            which = ", ".join(_ordinal(i + 1) for i in indexes)
            msg = (
                f"Cycle {cid} is the id of {len(indexes)} features (the {which}): if they are "
                "parts of one zone, merge them into one MultiPolygon feature (the repaired copy "
                "the report offers does that); otherwise correct the wrong id"
            )
            out.problems.append(Problem("duplicate-id", msg, (cid,), indexes[1]))
    return out


def _invalid_problem(who: str, cid: str | None, index: int, reason: str, lonlat: bool) -> Problem:
    location = None
    match = _REASON_XY.search(reason)
    where = ""
    if match and lonlat:
        location = (round(float(match[1]), 7), round(float(match[2]), 7))
        where = f" near ({location[0]:.6f}, {location[1]:.6f})"
    what = reason.split("[")[0].strip() or reason
    msg = (
        f"{who} has an invalid shape: {what}{where}. Fix it in a GIS (QGIS: Fix Geometries) "
        "or use the repaired copy the report offers"
    )
    return Problem("invalid-geometry", msg, (cid,) if cid else (), index, location, None, reason)


def _load(
    source: str | Path | io.BytesIO, id_property: str, crs: str | CRS | None, name: str | None
) -> BoundarySet:
    examined = _examine(_open(source, name), id_property, crs)
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
        [f.cycle_id for f in features],
        [f.geometry for f in features],
        id_property=id_property,
        properties=[f.properties for f in features],
        source_crs=_crs_label(examined.crs) or "EPSG:4326",
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


def validate_boundaries(
    path: str | Path, id_property: str = "cycle", crs: str | None = None, **options: Any
) -> ValidationReport:
    """Check a boundary file before it goes live; see :mod:`cyclemap.boundary_validation`.

    >>> validate_boundaries("/no/such/file.geojson").problems[0].kind
    'unreadable'
    """
    from .boundary_validation import validate_boundaries as _validate

    return _validate(path, id_property, crs, **options)


def __getattr__(name: str) -> Any:
    if name == "ValidationReport":
        from .boundary_validation import ValidationReport

        return ValidationReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the zones ------------------------------------------------------------------------------


def _edges(zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ring segment of the zones as a 2-point LineString, and the zone index of each."""
    parts, part_zone = shapely.get_parts(zones, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same = coord_ring[1:] == coord_ring[:-1]
    pairs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    return shapely.linestrings(pairs), part_zone[ring_part[coord_ring[:-1][same]]]


class BoundarySet:
    """Cycle zones in EPSG:4326, prepared for point location.

    Zones are kept in :func:`cycle_sort_key` order of their ids. Each is a prepared shapely
    geometry with its bounding box: ``locate_xy`` tests, zone by zone, only the points inside the
    box that no earlier zone took, with the vectorized ``shapely.intersects_xy`` (for a point,
    ``intersects`` is ``covers``), so a point on a shared border goes to the first zone in id
    order. Each zone's edges, in a local metric CRS (:func:`local_metric_crs`) and in an STRtree,
    serve distances.

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
        geoms = [_polygonal(g) for g in geometries]
        if any(g is None for g in geoms):
            raise InputError("every zone must be a non-empty Polygon or MultiPolygon")
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
        self._scan = [
            (*map(float, box), geom, cid)
            for box, geom, cid in zip(self._boxes, self._geoms, self._ids, strict=True)
        ]
        self.metric_crs = local_metric_crs(self.bounds)
        self._to_metric = _metric_transformer(self.metric_crs)
        metric = _transform_geoms(self._geoms, self._to_metric)
        self._metric_boxes = shapely.bounds(metric)
        edges, edge_zone = _edges(metric)
        self._edge_trees = [shapely.STRtree(edges[edge_zone == k]) for k in range(len(metric))]

    def __len__(self) -> int:
        return len(self._ids)

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
        px, py = self._to_metric.transform(x, y)
        point = shapely.Point(px, py)
        boxes = self._metric_boxes  # no zone is nearer than its bounding box
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
            _, dist = self._edge_trees[k].query_nearest(point, return_distance=True)
            best = min(best, float(dist[0]))
        return best

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
