"""Reading a city's address point layer into columns the geocoder can match against.

The layer is the city's E911/GIS address points: a house number, a street, maybe a unit, city
and ZIP, and a point. ``city.toml`` maps its columns to ours (``[addresses.columns]``)::

    number, street, unit, city, zip, lon, lat      # the usual
    predir, name, type, postdir                    # instead of street: the street in parts
    number_suffix                                  # a separate "A" / "1/2" column
    full                                           # instead of all of it: one address column

``lon``/``lat`` are x/y in the file's CRS; leave both out for a point-geometry file (GeoPackage,
shapefile, GeoJSON...). A CSV is read with pandas, anything else through pyogrio (OGR). Points
are reprojected to EPSG:4326 in one vectorized pyproj call.

A row that cannot be used is never dropped silently: ``AddressLayer.report`` counts rejected rows
by reason and keeps a few examples of each.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> rows = ["num,street,lon,lat", "12,S Sprigg St,-89.52,37.30", ",Main St,-89.5,37.3",
...         "14,S Sprigg St,x,37.3"]
>>> _ = (folder / "a.csv").write_text("\\n".join(rows))
>>> layer = read_addresses(folder / "a.csv", {"number": "num", "street": "street",
...                                           "lon": "lon", "lat": "lat"})
>>> len(layer), layer.address(0), layer.report.rejected
(1, '12 S SPRIGG ST', {'no house number': 1, 'coordinates missing or not numbers': 1})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AddressFileError, ConfigError
from .normalize import (
    Street,
    clean_text,
    normalize_number,
    normalize_unit,
    normalize_zip,
    parse_address,
    parse_street,
    street_tokens,
)

#: our field names, as ``[addresses.columns]`` in city.toml uses them
FIELDS = (
    "number",
    "number_suffix",
    "street",
    "predir",
    "name",
    "type",
    "postdir",
    "unit",
    "city",
    "zip",
    "lon",
    "lat",
    "full",
)

# Reasons a row is rejected (the keys of ``ImportReport.rejected``).
NO_NUMBER = "no house number"
BAD_NUMBER = "house number is not a number"
NO_STREET = "no street name"
BAD_FULL = "full address cannot be parsed into a number and a street"
BAD_COORDINATES = "coordinates missing or not numbers"
OUT_OF_RANGE = "point outside valid lon/lat (wrong CRS?)"
NO_GEOMETRY = "no geometry"
NOT_A_POINT = "geometry is not a point"
DUPLICATE = "duplicate of an earlier row (same address, unit, ZIP and point)"

#: how many example rows the report keeps per reason
EXAMPLES_PER_REASON = 3

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RejectedRow:
    """One example of a rejected row: its 1-based data row number (header not counted)."""

    row: int
    reason: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """``{"row", "reason", "text"}``."""
        return {"row": self.row, "reason": self.reason, "text": self.text}


@dataclass
class ImportReport:
    """What an import read, used and rejected (by reason, with a few examples of each)."""

    source: str
    rows_read: int
    rows_used: int
    rejected: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[RejectedRow]] = field(default_factory=dict)
    crs: str = ""

    @property
    def rows_rejected(self) -> int:
        """Rows not used, whatever the reason."""
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "source": self.source,
            "crs": self.crs,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rejected": dict(self.rejected),
            "examples": {k: [e.to_dict() for e in v] for k, v in self.examples.items()},
        }

    def summary(self) -> str:
        """A few lines a clerk can read: counts, then each reason with example rows."""
        lines = [f"{self.source}: {self.rows_read} rows read, {self.rows_used} used"]
        for reason, count in sorted(self.rejected.items(), key=lambda kv: -kv[1]):
            rows = ", ".join(f"row {e.row} ({e.text})" for e in self.examples.get(reason, []))
            lines.append(f"  {count} rejected: {reason}" + (f"; e.g. {rows}" if rows else ""))
        return "\n".join(lines)


@dataclass
class AddressLayer:
    """Address points in columns (numpy arrays and lists), with normalized streets for matching.

    Row ``i`` is the address ``number[i]`` on ``streets[street_id[i]]`` (normalized parts; the
    layer's own spelling is ``street_labels[street_id[i]]``), unit ``unit[i]``, at
    ``lon[i], lat[i]`` (EPSG:4326). ``source_row[i]`` is its 1-based row in the file.
    """

    number: list[str]
    number_value: np.ndarray
    street_id: np.ndarray
    streets: list[Street]
    street_labels: list[str]
    unit: list[str]
    city: list[str]
    zip: list[str]
    lon: np.ndarray
    lat: np.ndarray
    source_row: np.ndarray
    report: ImportReport

    def __len__(self) -> int:
        return len(self.number)

    def street_label(self, i: int) -> str:
        """Row ``i``'s street as the layer writes it (upper case): ``"N KINGSHIGHWAY"``."""
        return self.street_labels[int(self.street_id[i])]

    def address(self, i: int, *, unit: bool = True) -> str:
        """Row ``i`` in one line as the layer writes it: ``"1234 N KINGSHIGHWAY APT 5"``."""
        text = f"{self.number[i]} {self.street_label(i)}"
        return f"{text} {self.unit[i]}" if unit and self.unit[i] else text

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], crs: str | None = "EPSG:4326"
    ) -> AddressLayer:
        """A layer from dicts keyed by our field names (``number``, ``street``, ``lon``...).

        >>> layer = AddressLayer.from_records([
        ...     {"number": "12", "street": "S Sprigg St", "lon": -89.52, "lat": 37.30},
        ...     {"number": "14", "street": "S Sprigg St", "lon": -89.52, "lat": 37.31},
        ... ])
        >>> len(layer), layer.streets[0].key
        (2, 'S SPRIGG ST')
        """
        import pandas as pd

        frame = pd.DataFrame.from_records(list(records))
        if frame.empty:
            frame = pd.DataFrame(columns=["number", "street", "lon", "lat"])
        mapping = {f: f for f in FIELDS if f in frame.columns}
        return addresses_from_frame(frame, mapping, crs, source="records")


def _check_mapping(columns: Mapping[str, str]) -> dict[str, str]:
    mapping = {str(k): str(v) for k, v in columns.items() if v not in (None, "")}
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"[addresses.columns] has unknown field(s) {', '.join(unknown)}; "
            f"the fields are {', '.join(FIELDS)}"
        )
    if ("lon" in mapping) != ("lat" in mapping):
        raise ConfigError("[addresses.columns] needs both lon and lat, or neither (point geometry)")
    if "full" not in mapping:
        if "number" not in mapping:
            raise ConfigError("[addresses.columns] needs number (or full = one address column)")
        if "street" not in mapping and "name" not in mapping:
            raise ConfigError(
                "[addresses.columns] needs street, or name (with predir/type/postdir), or full"
            )
    return mapping


def _resolve_columns(mapping: dict[str, str], available: list[str], source: str) -> dict[str, str]:
    """Our field -> the frame's column, matching names exactly, else ignoring case."""
    by_lower: dict[str, list[str]] = {}
    for col in available:
        by_lower.setdefault(col.strip().lower(), []).append(col)
    resolved = {}
    missing = []
    for ours, theirs in mapping.items():
        if theirs in available:
            resolved[ours] = theirs
        elif len(by_lower.get(theirs.strip().lower(), [])) == 1:
            resolved[ours] = by_lower[theirs.strip().lower()][0]
        else:
            missing.append((ours, theirs))
    if missing:
        names = ", ".join(f"'{theirs}' (for {ours})" for ours, theirs in missing)
        raise AddressFileError(
            f"{source}: no column {names}; the file has columns: "
            + ", ".join(repr(c) for c in available),
            problems=[{"field": ours, "column": theirs} for ours, theirs in missing],
        )
    return resolved


def _as_text(series: pd.Series) -> pd.Series:
    """A column as stripped strings ("" for missing); integral floats lose their ".0"."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        out = np.where(
            np.isfinite(values) & (np.mod(values, 1) == 0),
            np.char.mod("%d", np.nan_to_num(values).astype(np.int64)),
            series.astype(str),
        )
        out = np.where(np.isnan(values), "", out)
        return pd.Series(out, index=series.index, dtype=object)
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def read_addresses(
    path: str | Path, columns: Mapping[str, str], crs: str | None = "EPSG:4326"
) -> AddressLayer:
    """Read an address point file (CSV or any OGR format) with the ``[addresses.columns]`` mapping.

    ``crs`` is used when the file declares none (a CSV never does); None means EPSG:4326.
    (An example is in the module docstring.)
    Raises ``AddressFileError`` when the file cannot be read, lacks a mapped column (the message
    names it and the columns the file has) or has no usable row; ``ConfigError`` for an
    impossible mapping.
    """
    path = Path(path)
    mapping = _check_mapping(columns)
    if not path.is_file():
        raise AddressFileError(f"address file {path} does not exist")
    declared = None
    try:
        if path.suffix.lower() in _CSV_SUFFIXES:
            frame = _read_csv(path)
        else:
            import pyogrio

            frame = pyogrio.read_dataframe(path)
            declared = frame.crs.to_string() if getattr(frame, "crs", None) is not None else None
    except AddressFileError:
        raise
    except Exception as exc:  # pyogrio/pandas raise many types for a file they cannot read
        raise AddressFileError(f"{path.name} cannot be read as an address file: {exc}") from exc
    return addresses_from_frame(frame, mapping, declared or crs, source=path.name)


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise AddressFileError(f"{path.name}: text encoding not UTF-8 or Windows-1252")


def _transformer(crs: str | None):
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        src = CRS.from_user_input(crs or "EPSG:4326")
    except CRSError as exc:
        raise ConfigError(f"[addresses] crs {crs!r} is not a coordinate reference system") from exc
    if src == CRS.from_epsg(4326):
        return None, src
    return Transformer.from_crs(src, "EPSG:4326", always_xy=True), src


def addresses_from_frame(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    crs: str | None = "EPSG:4326",
    *,
    source: str = "addresses",
) -> AddressLayer:
    """Build an ``AddressLayer`` from a (Geo)DataFrame with the column mapping (see module doc).

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"ADDR": ["12 S Sprigg St Apt 2", "PO Box 5"],
    ...                       "X": [-89.52, -89.5], "Y": [37.30, 37.3]})
    >>> layer = addresses_from_frame(frame, {"full": "ADDR", "lon": "X", "lat": "Y"})
    >>> layer.address(0), layer.report.rows_used, layer.report.rows_read
    ('12 S SPRIGG ST APT 2', 1, 2)
    """
    import pandas as pd

    mapping = _check_mapping(columns)
    available = [str(c) for c in frame.columns if str(c) != "geometry"]
    cols = _resolve_columns(mapping, available, source)
    n = len(frame)
    reasons = np.full(n, "", dtype=object)
    texts: dict[int, str] = {}

    kept: dict[str, int] = {}

    def reject(mask: np.ndarray, reason: str, text: Any = None) -> None:
        mask = np.asarray(mask, bool) & (reasons == "")
        reasons[mask] = reason
        room = EXAMPLES_PER_REASON - kept.get(reason, 0)
        for i in np.flatnonzero(mask)[: max(room, 0)]:
            texts[int(i)] = "" if text is None else str(text[i])
            kept[reason] = kept.get(reason, 0) + 1

    def col(field_name: str) -> np.ndarray:
        if field_name not in cols:
            return np.full(n, "", dtype=object)
        return _as_text(frame[cols[field_name]]).to_numpy(dtype=object)

    # -- points -------------------------------------------------------------------------------
    if "lon" in cols:
        xs = pd.to_numeric(frame[cols["lon"]], errors="coerce").to_numpy(dtype=float)
        ys = pd.to_numeric(frame[cols["lat"]], errors="coerce").to_numpy(dtype=float)
        raw_xy = [f"{a}, {b}" for a, b in zip(col("lon"), col("lat"), strict=True)]
        bad = ~(np.isfinite(xs) & np.isfinite(ys))
        reject(bad, BAD_COORDINATES, raw_xy)
    else:
        import shapely

        if "geometry" not in frame.columns:
            raise AddressFileError(
                f"{source} has no point geometry: map lon and lat to its coordinate columns"
                " in [addresses.columns]; the file has columns: "
                + ", ".join(repr(c) for c in available)
            )
        geoms = np.asarray(frame["geometry"].array, dtype=object)
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        reject(missing, NO_GEOMETRY, ["(none)"] * n)
        kinds = shapely.get_type_id(geoms)
        # a MultiPoint of one point is a point
        single = (kinds == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
        kinds = np.where(single, 0, kinds)
        reject((kinds != 0) & ~missing, NOT_A_POINT, shapely.to_wkt(geoms, rounding_precision=3))
        xs = np.full(n, np.nan)
        ys = np.full(n, np.nan)
        ok = kinds == 0
        xs[ok] = shapely.get_x(geoms[ok])
        ys[ok] = shapely.get_y(geoms[ok])
        raw_xy = [f"{a}, {b}" for a, b in zip(xs, ys, strict=True)]

    transformer, src_crs = _transformer(crs)
    lon, lat = xs.copy(), ys.copy()
    finite = np.isfinite(xs) & np.isfinite(ys)
    if transformer is not None and finite.any():
        lon[finite], lat[finite] = transformer.transform(xs[finite], ys[finite])
    in_range = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0)
    reject(finite & ~in_range, OUT_OF_RANGE, raw_xy)

    # -- address parts ------------------------------------------------------------------------
    unit = _map_unique(col("unit"), normalize_unit)
    city = _map_unique(col("city"), clean_text)
    zips = _map_unique(col("zip"), normalize_zip)
    numbers = np.full(n, "", dtype=object)
    values = np.zeros(n, dtype=np.int64)
    street_keys: list[tuple[Street, str] | None] = [None] * n

    if "full" in cols:
        full = col("full")
        parsed_cache: dict[str, Any] = {}
        for i, text in enumerate(full):
            if reasons[i]:
                continue
            p = parsed_cache.get(text)
            if p is None:
                p = parsed_cache[text] = parse_address(text)
            num = normalize_number(p.number) if p.number else None
            if num is None or not p.name:
                reject(_one(n, i), BAD_FULL, full)
                continue
            numbers[i], values[i] = num
            street_keys[i] = (p.street, p.street_key)
            if p.unit and not unit[i]:
                unit[i] = p.unit
            if p.zip and not zips[i]:
                zips[i] = p.zip
            if p.city and not city[i]:
                city[i] = p.city
    else:
        raw_numbers = col("number")
        if "number_suffix" in cols:
            suffixes = col("number_suffix")
            raw_numbers = np.array(
                [f"{a} {b}".strip() for a, b in zip(raw_numbers, suffixes, strict=True)],
                dtype=object,
            )
        reject(raw_numbers == "", NO_NUMBER, raw_numbers)
        number_cache: dict[str, tuple[str, int] | None] = {}
        for i, text in enumerate(raw_numbers):
            if reasons[i]:
                continue
            if text not in number_cache:
                number_cache[text] = normalize_number(text)
            parsed_number = number_cache[text]
            if parsed_number is None:
                reject(_one(n, i), BAD_NUMBER, raw_numbers)
                continue
            numbers[i], values[i] = parsed_number

        if "street" in cols:
            labels = np.array([clean_text(s) for s in col("street")], dtype=object)
            street_cache: dict[str, Street] = {}
            for label in set(labels):
                street_cache[label] = parse_street(label) if label else Street()
            for i, label in enumerate(labels):
                street = street_cache[label]
                if street.name:
                    street_keys[i] = (street, label)
        else:
            parts = [col(f) for f in ("predir", "name", "type", "postdir")]
            parts_cache: dict[tuple[str, ...], tuple[Street, str]] = {}
            for i, combo in enumerate(zip(*parts, strict=True)):
                if combo not in parts_cache:
                    parts_cache[combo] = _street_from_parts(*combo)
                street, label = parts_cache[combo]
                if street.name:
                    street_keys[i] = (street, label)
        no_street = np.array([k is None for k in street_keys])
        street_text = col("street") if "street" in cols else col("name")
        reject(no_street, NO_STREET, street_text)

    # -- exact duplicates -----------------------------------------------------------------------
    keep = reasons == ""
    idx = np.flatnonzero(keep)
    seen: dict[tuple, int] = {}
    dup_of: dict[int, int] = {}
    for i in idx.tolist():
        street_key = street_keys[i]
        assert street_key is not None  # a row without a street was rejected above
        key = (
            numbers[i],
            street_key[0].key,
            unit[i],
            zips[i],
            round(lon[i], 7),
            round(lat[i], 7),
        )
        if key in seen:
            dup_of[int(i)] = seen[key]
        else:
            seen[key] = int(i)
    if dup_of:
        dup_mask = np.zeros(n, bool)
        dup_mask[list(dup_of)] = True
        dup_text = np.full(n, "", dtype=object)
        for i, first in dup_of.items():
            dup_text[i] = f"same as row {first + 1}"
        reject(dup_mask, DUPLICATE, dup_text)

    # -- report and columns ---------------------------------------------------------------------
    used = np.flatnonzero(reasons == "")
    rejected: dict[str, int] = {}
    examples: dict[str, list[RejectedRow]] = {}
    for reason in reasons[reasons != ""]:
        rejected[reason] = rejected.get(reason, 0) + 1
    for i, text in sorted(texts.items()):
        examples.setdefault(reasons[i], []).append(RejectedRow(i + 1, reasons[i], text))
    report = ImportReport(
        source=source,
        rows_read=n,
        rows_used=len(used),
        rejected=rejected,
        examples=examples,
        crs=src_crs.to_string(),
    )
    if len(used) == 0:
        detail = report.summary()
        raise AddressFileError(
            f"{source}: no usable address rows\n{detail}",
            problems=[{"reason": r, "rows": c} for r, c in rejected.items()],
        )

    # one street per normalized key, labelled the way most of its rows write it
    streets: list[Street] = []
    label_counts: list[dict[str, int]] = []
    street_index: dict[str, int] = {}
    street_id = np.empty(len(used), dtype=np.int32)
    for j, i in enumerate(used.tolist()):
        street_key = street_keys[i]
        assert street_key is not None  # a row without a street was rejected above
        street, label = street_key
        sid = street_index.get(street.key)
        if sid is None:
            sid = street_index[street.key] = len(streets)
            streets.append(street)
            label_counts.append({})
        label_counts[sid][label] = label_counts[sid].get(label, 0) + 1
        street_id[j] = sid
    labels_out = [max(counts, key=lambda k: (counts[k], k)) for counts in label_counts]
    return AddressLayer(
        number=_shared([str(numbers[i]) for i in used]),
        number_value=values[used],
        street_id=street_id,
        streets=streets,
        street_labels=labels_out,
        unit=_shared([str(unit[i]) for i in used]),
        city=_shared([str(city[i]) for i in used]),
        zip=_shared([str(zips[i]) for i in used]),
        lon=lon[used].astype(float),
        lat=lat[used].astype(float),
        source_row=used.astype(np.int64) + 1,
        report=report,
    )


def _shared(texts: list[str]) -> list[str]:
    """The same texts, equal ones as one object (a ZIP repeated a million times is kept once,
    and the compiled city stores it once)."""
    seen: dict[str, str] = {}
    return [seen.setdefault(t, t) for t in texts]


def _map_unique(values: np.ndarray, fn) -> np.ndarray:
    """``fn`` of each value, computed once per distinct value ("" stays "")."""
    done = {"": ""}
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        r = done.get(v)
        if r is None:
            r = done[v] = fn(v)
        out[i] = r
    return out


def _one(n: int, i: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[i] = True
    return mask


def _street_from_parts(predir: str, name: str, kind: str, postdir: str) -> tuple[Street, str]:
    """A street from separate columns, joined and read like any street (so ``EAST`` in a name
    column is a directional exactly as in what a resident types)."""
    label = " ".join(" ".join(street_tokens(p)) for p in (predir, name, kind, postdir) if p)
    label = " ".join(label.split())
    if not street_tokens(name):
        return Street(), label
    return parse_street(label), label
