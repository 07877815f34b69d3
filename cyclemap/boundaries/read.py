"""Opening a boundary file and examining its features: what every zone must satisfy.

:func:`open_layer` reads the zone layer of any file GDAL reads (GeoJSON, GeoPackage, a Shapefile
in a ``.zip``, KML); :func:`examine` checks each feature (an area, a valid shape, a distinct cycle
id, a CRS) and reprojects to EPSG:4326, collecting every :class:`Problem` instead of stopping at
the first. :func:`cyclemap.boundaries.read_boundaries` refuses a file with problems;
:func:`cyclemap.boundaries.validate_boundaries` reports them.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import BoundaryFileError, InputError
from .geometry import crs_label, cycle_id_text, polygonal

if TYPE_CHECKING:  # pyproj loads when a file is read (geometry.py says why)
    from pyproj import CRS

__all__ = ["Examined", "Feature", "Layer", "Problem", "examine", "open_layer"]

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


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


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


@dataclass
class Layer:
    """A zone layer as read from a file: the features and where they came from.

    ``broken`` maps the position of each feature whose shape GEOS could not even build (a ring
    that does not close) to GEOS's words; its geometry in ``frame`` is the closed ring when GDAL
    could close it, else None.
    """

    frame: Any  # geopandas.GeoDataFrame, in the file's CRS
    source: str
    driver: str | None
    layer: str | None
    broken: dict[int, str] = field(default_factory=dict)


@dataclass
class Feature:
    """One feature of a layer as :func:`examine` saw it (its shape checked, its id as text)."""

    index: int
    cycle_id: str | None
    geometry: BaseGeometry | None  # polygonal, 2D, EPSG:4326 (file coordinates if no CRS)
    valid: bool
    properties: dict[str, Any]

    @property
    def checked_id(self) -> str:
        """The cycle id of a feature :func:`examine` let through (a missing id is a
        ``missing-id`` problem there, and no repair is offered for it)."""
        if self.cycle_id is None:
            raise InputError(f"the {_ordinal(self.index + 1)} feature has no cycle id")
        return self.cycle_id


@dataclass
class Examined:
    """What :func:`examine` found: the features, their problems and warnings, the CRS."""

    layer: Layer
    id_property: str
    features: list[Feature] = field(default_factory=list)
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


def open_layer(source: str | Path | io.BytesIO, name: str | None = None) -> Layer:
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
        if isinstance(gdal, io.BytesIO):  # GeoJSON data: one layer (read below)
            names, driver = [], "GeoJSON"
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
            frames = [_read_frame(gdal, layer) for layer in names]
        if isinstance(gdal, io.BytesIO):
            frames = [_read_frame(gdal, None)]
    except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError) as exc:
        why = str(exc).split("; It might help")[0]
        raise _unreadable(name, f"GDAL says: {why}") from exc
    broken: dict[int, str] = {}
    offset = 0
    for part, part_broken in frames:
        broken.update({offset + i: why for i, why in part_broken.items()})
        offset += len(part)
    parts = [part for part, _ in frames]
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(parts) > 1:
        frame = frame.set_crs(parts[0].crs, allow_override=True)
    frame = frame.reset_index(drop=True)
    return Layer(frame, name, driver, names[0] if len(names) == 1 else None, broken)


def _read_frame(gdal: str | io.BytesIO, layer: str | None) -> tuple[Any, dict[int, str]]:
    """One layer as a GeoDataFrame, and the features whose shape GEOS cannot build.

    A shape GEOS refuses outright (a ring whose last point is not its first) would raise while
    the layer is read; then the layer is read again with such rings closed where GDAL can, and
    each refused feature is named with GEOS's reason, so that the report can say which.
    """
    import warnings

    import pyogrio
    from pyogrio.raw import read as read_raw

    def again() -> None:
        if isinstance(gdal, io.BytesIO):
            gdal.seek(0)

    with warnings.catch_warnings():
        # GDAL's own "Non closed ring detected": the report says it in words
        warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
        try:
            again()
            return pyogrio.read_dataframe(gdal, layer=layer), {}
        except shapely.errors.GEOSException:
            pass
        again()
        wkbs = read_raw(gdal, layer=layer, columns=[])[2]
        broken: dict[int, str] = {}
        for i, wkb in enumerate(wkbs):
            if wkb is None:
                continue
            try:
                shapely.from_wkb(wkb)
            except shapely.errors.GEOSException as exc:
                broken[i] = str(exc).split(": ", 1)[-1]
        again()
        frame = pyogrio.read_dataframe(gdal, layer=layer, on_invalid="fix")
    return frame, broken


def examine(layer: Layer, id_property: str, crs: str | CRS | None) -> Examined:
    """Check what must hold for every feature; reproject to EPSG:4326 when the CRS is known."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    out = Examined(layer, id_property)
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
                    f"{source} declares {crs_label(frame.crs)}; the {crs_label(caller_crs)} "
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
                f"{crs_label(out.crs)}; the declared CRS is probably wrong (feet or metres "
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
        area = polygonal(geom)
        valid = True
        if index in layer.broken:
            valid = False
            out.problems.append(
                _broken_problem(who, cid, index, layer.broken[index], area, out.lonlat)
            )
        elif area is None:
            what = "no geometry" if geom is None or geom.is_empty else f"a {geom.geom_type}"
            msg = f"{who} has {what}, not a Polygon or MultiPolygon: a cycle zone is an area"
            ids = (cid,) if cid else ()
            out.problems.append(Problem("non-polygon", msg, ids, index))
        elif not shapely.is_valid(area):
            valid = False
            reason = shapely.is_valid_reason(area)
            out.problems.append(_invalid_problem(who, cid, index, reason, out.lonlat))
        props = {str(k): _json_safe(v) for k, v in props.items() if k != id_property}
        out.features.append(Feature(index, cid, area, valid, props))

    seen: dict[str, list[int]] = {}
    for feature in out.features:
        if feature.cycle_id is not None:
            seen.setdefault(feature.cycle_id, []).append(feature.index)
    for cid, indexes in seen.items():
        if len(indexes) > 1:
            which = ", ".join(_ordinal(i + 1) for i in indexes)
            msg = (
                f"Cycle {cid} is the id of {len(indexes)} features (the {which}): if they are "
                "parts of one zone, merge them into one MultiPolygon feature; otherwise correct "
                "the wrong id"
            )
            out.problems.append(Problem("duplicate-id", msg, (cid,), indexes[1]))
    return out


def _broken_problem(
    who: str, cid: str | None, index: int, reason: str, area: BaseGeometry | None, lonlat: bool
) -> Problem:
    """A shape GEOS could not build at all (read with its rings closed, if GDAL could)."""
    location = None
    where = ""
    if area is not None and lonlat:
        x, y = shapely.get_coordinates(area)[0]
        location = (round(float(x), 7), round(float(y), 7))
        where = f" (it starts at {location[0]:.6f}, {location[1]:.6f})"
    if "closed" in reason.lower():
        what = "a ring that does not close: its last point is not its first"
    else:
        what = f"a shape that cannot be built ({reason})"
    msg = f"{who} has {what}{where}. Fix it in a GIS (QGIS: Fix Geometries)"
    return Problem("invalid-geometry", msg, (cid,) if cid else (), index, location, None, reason)


def _invalid_problem(who: str, cid: str | None, index: int, reason: str, lonlat: bool) -> Problem:
    location = None
    match = _REASON_XY.search(reason)
    where = ""
    if match and lonlat:
        location = (round(float(match[1]), 7), round(float(match[2]), 7))
        where = f" near ({location[0]:.6f}, {location[1]:.6f})"
    what = reason.split("[")[0].strip() or reason
    msg = f"{who} has an invalid shape: {what}{where}. Fix it in a GIS (QGIS: Fix Geometries)"
    return Problem("invalid-geometry", msg, (cid,) if cid else (), index, location, None, reason)
