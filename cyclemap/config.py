"""Reading a city folder's ``city.toml`` into plain, frozen dataclasses.

A city is a folder: ``city.toml`` names the boundary file, the address point layer and its
column mapping, the cycles with their names, colours and schedule rules, and the map defaults.
Paths in the file are relative to the folder.

>>> from pathlib import Path
>>> cfg = load_city_config(DEFAULT_CITY)
>>> cfg.name, sorted(cfg.cycles)
('Cape Girardeau, Missouri', ['1', '2', '3', '4'])
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: the demo city, shipped inside the package (``geodata/cape-girardeau`` in a checkout links here)
DEFAULT_CITY = Path(__file__).resolve().parent / "demo" / "cape-girardeau"


def default_instance_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the live state lives by default: ``CYCLEMAP_INSTANCE_PATH`` when set, else the
    folder Flask picks for the app's instance folder.

    That is ``instance/`` beside the package in a checkout (an editable install) and
    ``<prefix>/var/cyclemap-instance`` when the package is installed (a wheel in a virtualenv
    or the system). The web app and the CLI both use it, so ``cyclemap notes add`` and
    ``cyclemap serve`` share one SQLite file without any configuration.

    >>> default_instance_path({"CYCLEMAP_INSTANCE_PATH": "/srv/cyclemap"})
    PosixPath('/srv/cyclemap')
    """
    environ = os.environ if environ is None else environ
    if value := environ.get("CYCLEMAP_INSTANCE_PATH", "").strip():
        return Path(value).expanduser()
    prefix = _install_prefix(Path(__file__).resolve().parent.parent)
    if prefix is None:
        return Path(__file__).resolve().parent.parent / "instance"
    return prefix / "var" / "cyclemap-instance"


def _install_prefix(package_parent: Path) -> Path | None:
    """The prefix the package is installed under, as Flask's ``find_package`` decides; None when
    it is not installed (a checkout)."""
    prefix = Path(os.path.abspath(sys.prefix))
    if package_parent.is_relative_to(prefix):
        return prefix
    if package_parent.name.lower() == "site-packages":
        parent = package_parent.parent
        if parent.name.lower() == "lib":  # Windows: prefix/Lib/site-packages
            return parent.parent
        if parent.parent.name.lower() == "lib":  # prefix/lib/pythonX.Y/site-packages
            return parent.parent.parent
        return parent
    return None


def fixed_today(value: str | dt.date | None, source: str = "CYCLEMAP_TODAY") -> dt.date | None:
    """The day a city is served as of (``CYCLEMAP_TODAY``): None when unset or empty.

    The server and every CLI command read it the same way; a value that is not an ISO date is
    a ``ConfigError`` naming ``source``.

    >>> fixed_today("2020-02-21"), fixed_today(""), fixed_today(None)
    (datetime.date(2020, 2, 21), None, None)
    >>> fixed_today("2/21/20")
    Traceback (most recent call last):
    ...
    cyclemap.errors.ConfigError: CYCLEMAP_TODAY must be a date like 2020-02-21, not '2/21/20'
    """
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{source} must be a date like 2020-02-21, not {text!r}") from None


@dataclass(frozen=True)
class CycleConfig:
    """One billing cycle as the city names it, with its raw schedule table (see ``schedule``)."""

    id: str
    name: str
    color: str
    schedule: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BoundaryConfig:
    """Where the cycle zones are and how to read them."""

    file: Path
    id_property: str = "cycle"
    crs: str | None = None
    #: the city limits (optional): validation then reports uncovered area inside them as gaps
    limits: Path | None = None


@dataclass(frozen=True)
class AddressConfig:
    """Where the address points are, their CRS when the file declares none, and column mapping."""

    file: Path
    crs: str | None = "EPSG:4326"
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CityConfig:
    """Everything ``city.toml`` says, with paths resolved against the city folder."""

    folder: Path
    name: str
    state: str
    timezone: str
    zips: tuple[str, ...]
    center: tuple[float, float]  # lon, lat
    zoom: int
    tiles: str
    boundaries: BoundaryConfig
    addresses: AddressConfig
    cycles: dict[str, CycleConfig]
    notes_file: Path
    exceptions: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _require(table: dict, key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"city.toml: [{where}] needs a '{key}' entry")
    return table[key]


def load_city_config(folder: str | Path) -> CityConfig:
    """Read ``folder/city.toml``; raise ``ConfigError`` naming what is missing or wrong."""
    folder = Path(folder).expanduser().resolve()
    path = folder / "city.toml"
    if not path.is_file():
        raise ConfigError(f"{folder} is not a city folder: it has no city.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"city.toml cannot be read: {exc}") from exc

    city = raw.get("city", {})
    map_ = raw.get("map", {})
    btab = raw.get("boundaries", {})
    atab = raw.get("addresses", {})
    cycles_tab = raw.get("cycles", {})
    if not cycles_tab:
        raise ConfigError("city.toml: no [cycles.ID] tables; name at least one cycle")

    cycles = {}
    for cid, tab in cycles_tab.items():
        cid = str(cid)
        cycles[cid] = CycleConfig(
            id=cid,
            name=str(tab.get("name", f"Cycle {cid}")),
            color=str(tab.get("color", "#666666")),
            schedule=dict(tab.get("schedule", {})),
        )
    center = map_.get("center", [0.0, 0.0])
    if len(center) != 2:
        raise ConfigError("city.toml: [map] center must be [lon, lat]")
    exceptions = tuple(dict(e) for e in raw.get("exceptions", []))
    for entry in exceptions:
        if not isinstance(entry.get("date"), dt.date):
            raise ConfigError("city.toml: every [[exceptions]] entry needs a date = YYYY-MM-DD")

    return CityConfig(
        folder=folder,
        name=str(_require(city, "name", "city")),
        state=str(city.get("state", "")),
        timezone=str(city.get("timezone", "UTC")),
        zips=tuple(str(z) for z in city.get("zips", [])),
        center=(float(center[0]), float(center[1])),
        zoom=int(map_.get("zoom", 13)),
        tiles=str(map_.get("tiles", "openstreetmap")),
        boundaries=BoundaryConfig(
            file=folder / _require(btab, "file", "boundaries"),
            id_property=str(btab.get("id_property", "cycle")),
            crs=btab.get("crs"),
            limits=folder / btab["limits"] if btab.get("limits") else None,
        ),
        addresses=AddressConfig(
            file=folder / _require(atab, "file", "addresses"),
            crs=atab.get("crs", "EPSG:4326"),
            columns={str(k): str(v) for k, v in atab.get("columns", {}).items()},
        ),
        cycles=cycles,
        notes_file=folder / str(raw.get("notes", {}).get("file", "notes.toml")),
        exceptions=exceptions,
        raw=raw,
    )


def fixed_clock(iso_date: str) -> Callable[[], dt.date]:
    """A clock stopped on one day (``CYCLEMAP_TODAY``), refusing a date that is not ISO.

    >>> fixed_clock("2020-02-21")()
    datetime.date(2020, 2, 21)
    """
    day = fixed_today(iso_date)
    if day is None:
        raise ConfigError("CYCLEMAP_TODAY must be a date like 2020-02-21, not empty")
    return lambda: day
