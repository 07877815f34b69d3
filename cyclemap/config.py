"""Reading a city folder's ``city.toml`` into plain, frozen dataclasses.

A city is a folder: ``city.toml`` names the boundary file, the address point layer and its
column mapping, the cycles with their names, colours and schedule rules, the towns served and
the map defaults. Paths in the file are relative to the folder.

``load_city_config`` checks every key it reads and raises one ``ConfigError`` whose
``problems`` list each problem with its key (``[map] zoom must be a whole number...``), so a
clerk fixes them all in one go. ``open_city`` adds what needs the files themselves (schedules,
exceptions, the column mapping against the address file, cycle ids against the zones).

>>> from pathlib import Path
>>> cfg = load_city_config(DEFAULT_CITY)
>>> cfg.name, sorted(cfg.cycles), cfg.confirm_within_m
('Cape Girardeau, Missouri', ['1', '2', '3', '4'], 15.0)
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

#: the demo city, shipped inside the package (``geodata/cape-girardeau`` in a checkout links here)
DEFAULT_CITY = Path(__file__).resolve().parent / "demo" / "cape-girardeau"

#: ``[lookup] confirm_within_m``: how near another cycle's zone an approximate place is asked
#: to be confirmed on the map (interface.md, "Answers near a border")
DEFAULT_CONFIRM_WITHIN_M = 15.0

_ZIP = re.compile(r"^\d{5}$")


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a gettext no-op marker
    """Mark a string for ``pybabel extract`` without translating it here."""
    return message


#: the name of a cycle that ``city.toml`` does not name (``"Cycle 2"``); a page in another
#: language shows this message's translation (``"Ciclo 2"``) for a name of exactly this form
DEFAULT_CYCLE_NAME = N_("Cycle %(id)s")
#: the languages a cycle may be named in besides its ``name``: ``name_<lang>`` in city.toml
CYCLE_NAME_LANGUAGES = ("es",)


def default_cycle_name(cycle_id: str) -> str:
    """The English name of a cycle ``city.toml`` gives none: ``"Cycle <id>"``.

    >>> default_cycle_name("2")
    'Cycle 2'
    """
    return DEFAULT_CYCLE_NAME % {"id": cycle_id}


@dataclass(frozen=True)
class CycleName:
    """A cycle's name as one page shows it, and the language it is in (``"en"``: the city's
    own English name, which a page in another language marks as English)."""

    text: str
    language: str


def cycle_name_in(
    cycle_id: str,
    name: str,
    translations: Mapping[str, str],
    language: str,
    gettext: Callable[[str], str] = lambda message: message,
) -> CycleName:
    """A cycle's name for a page in ``language`` (a tag: ``es``, ``es-MX``).

    The city's own name in that language (``name_es``) when it gives one; else, for a name of
    exactly the default form ``"Cycle <id>"``, the translation of ``DEFAULT_CYCLE_NAME`` that
    ``gettext`` finds; else the name as written, in English. Nothing else is derived: a name
    such as "North Route" is the city's own words.

    >>> spanish = {DEFAULT_CYCLE_NAME: "Ciclo %(id)s"}.get
    >>> cycle_name_in("2", "Cycle 2", {}, "es-MX", lambda m: spanish(m, m))
    CycleName(text='Ciclo 2', language='es')
    >>> cycle_name_in("2", "North Route", {}, "es", lambda m: spanish(m, m))
    CycleName(text='North Route', language='en')
    >>> cycle_name_in("2", "North Route", {"es": "Ruta Norte"}, "es").text
    'Ruta Norte'
    """
    primary = language.replace("_", "-").split("-")[0].lower()
    if primary == "en":
        return CycleName(name, "en")
    if translations.get(primary):
        return CycleName(translations[primary], primary)
    if name == default_cycle_name(cycle_id):
        message = gettext(DEFAULT_CYCLE_NAME)
        if message != DEFAULT_CYCLE_NAME:  # a catalogue without it leaves the English name
            return CycleName(message % {"id": cycle_id}, primary)
    return CycleName(name, "en")


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
    """One billing cycle as the city names it, with its raw schedule table (see ``schedule``).

    ``schedule`` is None when ``city.toml`` has no ``[cycles.ID.schedule]``: the city publishes
    no dates for the cycle (yet), and answers say so.
    """

    id: str
    name: str
    color: str
    schedule: dict[str, Any] | None = None
    #: the cycle's name in Spanish (``name_es``), None when the city gives none
    name_es: str | None = None

    @property
    def has_schedule(self) -> bool:
        """Whether the cycle has a ``[cycles.ID.schedule]`` table."""
        return self.schedule is not None

    def translations(self) -> dict[str, str]:
        """The cycle's name in each language of ``CYCLE_NAME_LANGUAGES`` the city gives.

        >>> CycleConfig("2", "Cycle 2", "#000", name_es="Ciclo 2").translations()
        {'es': 'Ciclo 2'}
        """
        return {"es": self.name_es} if self.name_es else {}

    def name_in(
        self, language: str, gettext: Callable[[str], str] = lambda message: message
    ) -> CycleName:
        """The name a page (or calendar) in ``language`` shows: see ``cycle_name_in``."""
        return cycle_name_in(self.id, self.name, self.translations(), language, gettext)


@dataclass(frozen=True)
class Place:
    """A town (or city) the service area covers, with the other names residents write for it.

    >>> Place("Ashford", ("Ashford Center",)).names
    ('Ashford', 'Ashford Center')
    """

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The name, then the aliases."""
        return (self.name, *self.aliases)


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
    #: ``[city] places``: the towns served; empty means the city alone (its name, the layer's)
    places: tuple[Place, ...] = ()
    #: ``[lookup] confirm_within_m``
    confirm_within_m: float = DEFAULT_CONFIRM_WITHIN_M

    @property
    def place_names(self) -> tuple[str, ...]:
        """Every name a resident may write for a town served: the city's own name, each place
        and its aliases."""
        return (self.name, *(n for p in self.places for n in p.names))


class _Problems:
    """Collects what is wrong with ``city.toml``, each problem starting with its key."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, text: str) -> None:
        self.items.append(f"{key} {text}")

    def table(self, raw: dict, key: str) -> dict:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            self.add(f"[{key}]", "must be a table")
            return {}
        return value

    def text(
        self, table: dict, key: str, where: str, default: str | None = None, required: bool = False
    ) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.add(f"[{where}] {key}", "is missing: add it")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.add(f"[{where}] {key}", f"must be text in quotes, not {value!r}")
            return default
        return value

    def number(self, table: dict, key: str, where: str, default: float, lo: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= lo:
            self.add(f"[{where}] {key}", f"must be a number of at least {lo:g}, not {value!r}")
            return default
        return float(value)


def _places(value: Any, problems: _Problems) -> tuple[Place, ...]:
    """``[city] places``: a list of names or ``{name = "...", aliases = ["..."]}`` tables."""
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add("[city] places", 'must be a list, e.g. ["Ashford", "Brookfield"]')
        return ()
    out = []
    for i, item in enumerate(value, start=1):
        if isinstance(item, str) and item.strip():
            out.append(Place(item.strip()))
            continue
        if isinstance(item, dict):
            name, aliases = item.get("name"), item.get("aliases", [])
            if not isinstance(name, str) or not name.strip():
                problems.add(f"[city] places, entry {i}", 'needs name = "..." (the town)')
                continue
            if not isinstance(aliases, list) or not all(
                isinstance(a, str) and a.strip() for a in aliases
            ):
                problems.add(
                    f"[city] places, entry {i} ({name})", "aliases must be a list of names"
                )
                continue
            unknown = sorted(set(item) - {"name", "aliases"})
            if unknown:
                problems.add(
                    f"[city] places, entry {i} ({name})",
                    f"has unknown key(s) {', '.join(unknown)}; the keys are name and aliases",
                )
            out.append(Place(name.strip(), tuple(a.strip() for a in aliases)))
            continue
        problems.add(
            f"[city] places, entry {i}",
            f'must be a town name or {{name = "...", aliases = [...]}}, not {item!r}',
        )
    return tuple(out)


def _file(folder: Path, table: dict, key: str, where: str, problems: _Problems) -> Path:
    """A path the table names, resolved against the folder (whether the file is there is for
    whoever opens it: ``checks.open_folder``)."""
    name = problems.text(table, key, where, required=True)
    return folder / (name or f"<missing {key}>")


def _zips(value: Any, problems: _Problems) -> tuple[str, ...]:
    """``[city] zips``: 5-digit ZIP codes, in quotes or as whole numbers of 5 digits."""
    if not isinstance(value, list):
        problems.add("[city] zips", 'must be a list of 5-digit ZIP codes in quotes, e.g. ["63701"]')
        return ()
    texts = [
        str(z).strip() if isinstance(z, str | int) and not isinstance(z, bool) else ""
        for z in value
    ]
    bad = [z for z, t in zip(value, texts, strict=True) if not _ZIP.match(t)]
    if bad:
        problems.add(
            "[city] zips",
            f"must be 5-digit ZIP codes in quotes (a number loses its leading 0): {bad!r}",
        )
    return tuple(t for t in texts if _ZIP.match(t))


def _cycles(raw: dict, problems: _Problems) -> dict[str, CycleConfig]:
    cycles_tab = problems.table(raw, "cycles")
    if not cycles_tab:
        problems.add("[cycles.ID]", "tables are missing: name at least one cycle")
    cycles = {}
    for cid, tab in cycles_tab.items():
        cid = str(cid)
        where = f"cycles.{cid}"
        if not isinstance(tab, dict):
            problems.add(f"[{where}]", "must be a table with name and color")
            continue
        schedule = tab.get("schedule")
        if schedule is not None and not isinstance(schedule, dict):
            problems.add(f"[{where}] schedule", "must be a table: [cycles.ID.schedule]")
            schedule = None
        name_es = problems.text(tab, "name_es", where)
        cycles[cid] = CycleConfig(
            id=cid,
            name=problems.text(tab, "name", where) or default_cycle_name(cid),
            color=problems.text(tab, "color", where, "#666666") or "#666666",
            schedule=dict(schedule) if schedule is not None else None,
            # a blank name_es is none: the page shows the name, as when it is missing
            name_es=(name_es or "").strip() or None,
        )
    return cycles


def _center(map_: dict, problems: _Problems) -> tuple[float, float]:
    center = map_.get("center", [0.0, 0.0])
    ok = (
        isinstance(center, list)
        and len(center) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in center)
        and all(math.isfinite(v) for v in center)
    )
    if not ok or not (-180 <= center[0] <= 180 and -90 <= center[1] <= 90):
        problems.add("[map] center", f"must be [lon, lat] in decimal degrees, not {center!r}")
        return (0.0, 0.0)
    return (float(center[0]), float(center[1]))


def _timezone(value: str, problems: _Problems) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(
            "[city] timezone", f'must be an IANA time zone such as "America/Chicago", not {value!r}'
        )
        return "UTC"
    return value


def _exceptions(raw: dict, problems: _Problems) -> tuple[dict[str, Any], ...]:
    entries = raw.get("exceptions", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.add("[[exceptions]]", "must be tables, each starting with [[exceptions]]")
        return ()
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry.get("date"), dt.date):
            problems.add(f"[[exceptions]] {i}", "needs a date = YYYY-MM-DD (no quotes)")
    return tuple(dict(e) for e in entries)


def load_city_config(folder: str | Path) -> CityConfig:
    """Read ``folder/city.toml``; raise one ``ConfigError`` listing every problem by its key."""
    config, problems = read_city_config(folder)
    raise_problems(config.folder / "city.toml", problems)
    return config


def read_city_config(folder: str | Path) -> tuple[CityConfig, list[str]]:
    """``city.toml`` read as far as it can be, and the list of its problems (each with its key).

    Where a value is wrong the config holds its default, so that whoever checks more (``open_city``
    checks the files it names) can report every problem at once. Raises ``ConfigError`` only when
    there is no ``city.toml`` to read.
    """
    folder = Path(folder).expanduser().resolve()
    path = folder / "city.toml"
    if not path.is_file():
        raise ConfigError(f"{folder} is not a city folder: it has no city.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"city.toml cannot be read: {exc}") from exc

    p = _Problems()
    city = p.table(raw, "city")
    map_ = p.table(raw, "map")
    btab = p.table(raw, "boundaries")
    atab = p.table(raw, "addresses")
    lookup = p.table(raw, "lookup")
    notes = p.table(raw, "notes")

    name = p.text(city, "name", "city", "", required=True) or ""
    state = p.text(city, "state", "city", "") or ""
    timezone = _timezone(p.text(city, "timezone", "city", "UTC") or "UTC", p)
    zips = _zips(city.get("zips", []), p)
    places = _places(city.get("places"), p)
    center = _center(map_, p)
    zoom = map_.get("zoom", 13)
    if isinstance(zoom, bool) or not isinstance(zoom, int) or not 1 <= zoom <= 19:
        p.add("[map] zoom", f"must be a whole number from 1 to 19, not {zoom!r}")
        zoom = 13
    tiles = p.text(map_, "tiles", "map", "openstreetmap") or "openstreetmap"

    boundaries = BoundaryConfig(
        file=_file(folder, btab, "file", "boundaries", p),
        id_property=p.text(btab, "id_property", "boundaries", "cycle") or "cycle",
        crs=p.text(btab, "crs", "boundaries"),
        limits=_file(folder, btab, "limits", "boundaries", p) if "limits" in btab else None,
    )
    columns = atab.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        p.add("[addresses.columns]", 'must be a table of our field = "the file\'s column"')
        columns = {}
    addresses = AddressConfig(
        file=_file(folder, atab, "file", "addresses", p),
        crs=p.text(atab, "crs", "addresses", "EPSG:4326"),
        columns={str(k): str(v) for k, v in columns.items()},
    )
    cycles = _cycles(raw, p)
    exceptions = _exceptions(raw, p)
    confirm = p.number(lookup, "confirm_within_m", "lookup", DEFAULT_CONFIRM_WITHIN_M, 0)
    notes_file = folder / (p.text(notes, "file", "notes", "notes.toml") or "notes.toml")

    config = CityConfig(
        folder=folder,
        name=name,
        state=state,
        timezone=timezone,
        zips=zips,
        center=center,
        zoom=zoom,
        tiles=tiles,
        boundaries=boundaries,
        addresses=addresses,
        cycles=cycles,
        notes_file=notes_file,
        exceptions=exceptions,
        raw=raw,
        places=places,
        confirm_within_m=confirm,
    )
    return config, p.items


def raise_problems(where: str | Path, problems: Iterable[str]) -> None:
    """Raise one ``ConfigError`` listing ``problems`` (each starting with its key), if any.

    >>> raise_problems("city.toml", [])
    >>> raise_problems("city.toml", ["[map] zoom must be a whole number"])
    Traceback (most recent call last):
    ...
    cyclemap.errors.ConfigError: city.toml has 1 problem: [map] zoom must be a whole number
    """
    items = list(problems)
    if items:
        n = len(items)
        raise ConfigError(
            f"{where} has {n} problem{'s' if n != 1 else ''}: {items[0]}"
            + (f" (and {n - 1} more, listed below)" if n > 1 else ""),
            problems=items,
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
