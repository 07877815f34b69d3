"""The staff operations on a city's versioned layers: diff, publish, history, rollback.

Each takes an opened ``City`` over a ``Store`` and plain values, and returns small dataclasses;
the CLI (``cyclemap boundaries ...``, ``cyclemap addresses ...``) and the staff web pages are
thin layers over these. A boundary file is validated first (``validate_boundaries`` with the
city's own facts), then compared with the version in force, address by address; ``publish``
refuses an invalid file (``RefusedError``: nothing changes) and stores a valid one as a new
version, in force now or from a later day (city time), in one transaction.

>>> import cyclemap, tempfile, json, pathlib
>>> from cyclemap.store import Store
>>> city = cyclemap.open_city(store=Store("sqlite://").start(), clock=lambda: DEMO_DAY)
>>> same = pathlib.Path(tempfile.mkdtemp()) / "same.geojson"
>>> _ = same.write_text(json.dumps(city.boundaries.to_geojson()))
>>> diff = diff_boundaries(city, same)
>>> diff.valid, diff.live_version, diff.impact.addresses_changing
(True, 1, 0)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..boundaries import BoundarySet, read_boundaries, validate_boundaries
from ..errors import AddressFileError, BoundaryFileError, InputError, RefusedError
from .impact import LayerImpact, ZoneImpact, changes_csv, layer_impact, zone_impact

if TYPE_CHECKING:
    from ..boundaries import ValidationReport
    from ..city import City
    from ..store import Store, VersionInfo

#: the demo's notices' week (for the examples in docstrings)
DEMO_DAY = dt.date(2020, 2, 21)
#: an address layer is refused when more than this share of its rows cannot be used, or when
#: more than this share of its points fall outside every zone (a wrong CRS or the wrong file)
MAX_BAD_SHARE = 0.5
#: address layer formats kept as uploaded (the file's suffix)
ADDRESS_FORMATS = ("csv", "tsv", "txt", "gpkg", "geojson", "json", "zip", "shp", "kml")


@dataclass(frozen=True)
class BoundaryDiff:
    """A boundary file checked and compared with the version in force today."""

    source: str
    live_version: int
    validation: ValidationReport
    impact: ZoneImpact | None  # None when the file could not be read into zones
    before: BoundarySet
    after: BoundarySet | None

    @property
    def valid(self) -> bool:
        """Whether the file may be published (read, and no validation problem)."""
        return self.validation.valid and self.after is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``boundaries diff --json`` (interface.md)."""
        impact = self.impact
        return {
            "live_version": self.live_version,
            "addresses_compared": impact.addresses_compared if impact else 0,
            "addresses_changing": impact.addresses_changing if impact else 0,
            "moves": [m.to_dict() for m in impact.moves] if impact else [],
            "cycles": [c.to_dict() for c in impact.cycles] if impact else [],
            "validation": self.validation.to_dict(),
        }

    def csv_text(self) -> str:
        """Every changing address: ``address, from_cycle, to_cycle, lon, lat``."""
        return changes_csv(self.impact.changes if self.impact else ())


@dataclass(frozen=True)
class PublishResult:
    """A version made (or scheduled to be) the one in force."""

    version: int
    effective: dt.date | None  # None: in force now
    addresses_changing: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``boundaries publish --json``."""
        return {
            "version": self.version,
            "effective": self.effective.isoformat() if self.effective else None,
            "addresses_changing": self.addresses_changing,
        }


def _store(city: City) -> Store:
    if city.store is None:
        raise InputError("this city was opened without a store: there are no versions to change")
    return city.store


def validate_for_city(city: City, path: str | Path) -> ValidationReport:
    """The validation report of a boundary file against everything the city knows: its id
    property, CRS and limits, its cycle ids (unknown or missing ones are errors), the address
    points in force (a file that leaves most of them outside, or has its axes swapped, is
    refused) and its map centre."""
    b = city.config.boundaries
    layer = city.geocoder.layer
    return validate_boundaries(
        path,
        b.id_property,
        b.crs,
        limits=b.limits,
        known_cycles=list(city.config.cycles),
        address_points=(layer.lon, layer.lat),
        map_center=city.config.center,
    )


def diff_boundaries(city: City, path: str | Path) -> BoundaryDiff:
    """Validate a boundary file, then classify every live address point under both versions.

    An unreadable file gives a diff whose ``validation.readable`` is false and no impact.
    """
    report = validate_for_city(city, path)
    version, before = city.boundaries_on(city.today())
    after = None
    impact = None
    if report.readable:
        b = city.config.boundaries
        try:
            after = read_boundaries(path, b.id_property, b.crs)
        except BoundaryFileError:
            after = None  # the report says why
    if after is not None:
        impact = zone_impact(city.geocoder.layer, before, after)
    return BoundaryDiff(str(path), version, report, impact, before, after)


def _check_effective(city: City, effective: dt.date | None) -> dt.date | None:
    today = city.today()
    if effective is None or effective == today:
        return None
    if effective < today:
        raise InputError(
            f"the effective date {effective.isoformat()} is in the past (today is "
            f"{today.isoformat()}): publish now, or give a later date"
        )
    return effective


def _refuse(report: ValidationReport, what: str) -> None:
    if not report.readable:
        message = report.problems[0].message if report.problems else f"{what} cannot be read"
        raise BoundaryFileError(message, problems=report.problems)
    count = len(report.problems)
    raise RefusedError(
        f"{report.source} was not published: {count} problem{'s' if count != 1 else ''} "
        "to fix first; the live version is unchanged",
        problems=report.problems,
        report=report,
    )


def publish_boundaries(
    city: City,
    path: str | Path,
    *,
    author: str,
    message: str,
    effective: dt.date | None = None,
) -> PublishResult:
    """Validate a boundary file and store it as a new version, live now or from ``effective``.

    Refuses an unreadable file (``BoundaryFileError``), an invalid one (``RefusedError``), a
    missing message or an effective date in the past (``InputError``); the version in force
    is untouched then. The new version and its activation are one transaction.
    """
    if not message or not message.strip():
        raise InputError("say what changed: a publish needs a message (-m)")
    effective = _check_effective(city, effective)
    diff = diff_boundaries(city, path)
    if not diff.valid or diff.after is None:
        _refuse(diff.validation, str(path))
    assert diff.after is not None and diff.impact is not None
    version = _store(city).publish_boundaries(
        diff.after.to_geojson(), author, message, effective, today=city.today()
    )
    city.refresh()
    return PublishResult(version, effective, diff.impact.addresses_changing)


def rollback_boundaries(
    city: City, version: int, *, author: str, message: str | None = None
) -> PublishResult:
    """Make a stored boundary version the one in force from today (a new history entry)."""
    store = _store(city)
    before = city.boundaries_on(city.today())[1]
    after = BoundarySet.from_geojson(
        store.get_boundaries(version), id_property=city.config.boundaries.id_property
    )
    impact = zone_impact(city.geocoder.layer, before, after)
    store.rollback_boundaries(version, author, message, today=city.today())
    city.refresh()
    return PublishResult(version, None, impact.addresses_changing)


def boundary_history(city: City) -> list[VersionInfo]:
    """Every publish and rollback of the boundaries, newest first, with its state today."""
    return _store(city).boundary_history(today=city.today())


# ---------------------------------------------------------------------- address layers
@dataclass(frozen=True)
class AddressDiff:
    """An address layer file checked and compared with the layer in force."""

    source: str
    live_version: int  # 0: the city folder's own file
    report: Any  # addresses.ImportReport of the new file
    impact: LayerImpact
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """Whether the layer may be imported."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``addresses diff --json``."""
        return {
            "live_version": self.live_version,
            **self.impact.to_dict(),
            "validation": {
                "valid": self.valid,
                "problems": list(self.problems),
                "import": self.report.to_dict(),
            },
        }

    def csv_text(self) -> str:
        """Every address whose cycle changes (added and removed ones included)."""
        return changes_csv(c for c in self.impact.changes if c.from_cycle != c.to_cycle)


def _address_format(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ADDRESS_FORMATS:
        known = ", ".join(f".{f}" for f in ADDRESS_FORMATS)
        raise AddressFileError(f"{path.name}: not an address layer format cyclemap reads ({known})")
    return fmt


def diff_addresses(city: City, path: str | Path) -> AddressDiff:
    """Read an address layer with the city's column mapping and compare it with the live one.

    ``AddressFileError`` when the file cannot be read or has no usable row.
    """
    from ..city import read_address_bytes

    path = Path(path)
    fmt = _address_format(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AddressFileError(f"cannot read {path}: {exc}") from exc
    layer = read_address_bytes(data, fmt, city.config)
    zones = city.boundaries_on(city.today())[1]
    impact = layer_impact(city.geocoder.layer, layer, zones)
    problems = []
    report = layer.report
    if report.rows_read and report.rows_rejected / report.rows_read > MAX_BAD_SHARE:
        problems.append(
            f"{report.rows_rejected:,} of {report.rows_read:,} rows cannot be used "
            f"({report.summary()}): is the column mapping in city.toml right for this file?"
        )
    located = zones.locate_xy(layer.lon, layer.lat)
    outside = int((located == "").sum())
    if len(layer) and outside / len(layer) > MAX_BAD_SHARE:
        problems.append(
            f"{outside:,} of {len(layer):,} points are outside every cycle: is this the right "
            "city's file, and are its coordinates in the CRS city.toml names?"
        )
    return AddressDiff(str(path), city.address_version, report, impact, tuple(problems))


def import_addresses(city: City, path: str | Path, *, author: str, message: str) -> PublishResult:
    """Check an address layer and make it the one in force now (every server within seconds)."""
    if not message or not message.strip():
        raise InputError("say what changed: an import needs a message (-m)")
    diff = diff_addresses(city, path)
    if not diff.valid:
        raise RefusedError(
            f"{Path(path).name} was not imported; the live address layer is unchanged",
            problems=list(diff.problems),
        )
    path = Path(path)
    version = _store(city).publish_addresses(
        path.read_bytes(),
        author=author,
        message=message,
        format=_address_format(path),
        today=city.today(),
    )
    city.refresh()
    return PublishResult(version, None, diff.impact.changing_cycle)


def rollback_addresses(
    city: City, version: int, *, author: str, message: str | None = None
) -> PublishResult:
    """Make a stored address layer version the one in force again, from today."""
    from ..city import read_address_bytes

    store = _store(city)
    stored = store.get_addresses(version)  # NotFoundError first
    layer = read_address_bytes(stored.data, stored.format, city.config)
    zones = city.boundaries_on(city.today())[1]
    impact = layer_impact(city.geocoder.layer, layer, zones)
    store.rollback_addresses(version, author, message, today=city.today())
    city.refresh()
    return PublishResult(version, None, impact.changing_cycle)


def address_history(city: City) -> list[VersionInfo]:
    """Every import and rollback of the address layer, newest first."""
    return _store(city).address_history(today=city.today())
