"""A city: its configuration, zones, address layer, notes and schedules, loaded once.

``open_city(folder)`` reads everything a city folder holds and answers lookups with plain
dataclasses. It needs no database: notes come from ``notes.toml`` and schedule exceptions from
``city.toml``. Given a ``Store`` (the web app and the CLI pass one), the live boundary version,
notes and exceptions come from the store instead, and ``refresh()`` swaps in a newly published
boundary version without a restart. One lookup reads one snapshot, so an answer never mixes
versions. When the store cannot be read (the database is down), the city goes on answering from
the last snapshot it read (``City.degraded`` says since when), logs one line when that starts
and one when the store answers again, and recovers by itself.

>>> city = open_city()                                   # the bundled demo city
>>> city.lookup(lon=-89.58, lat=37.33).cycle_id           # the northwest is Cycle 2
'2'
>>> city.lookup(lon=-89.0, lat=37.0).status               # a Status, equal to its string
<Status.OUTSIDE: 'outside_service_area'>
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from . import compiled
from .billing.notes import Note, notes_for, read_notes_toml
from .billing.schedule import CalendarWords, CycleSchedule, ScheduleAnswer, calendar_ics
from .boundaries import BoundarySet, cycle_sort_key, read_boundaries
from .checks import open_folder
from .config import (
    DEFAULT_CITY,
    CityConfig,
    CycleConfig,
    CycleName,
    cycle_name_in,
    default_cycle_name,
    default_instance_path,
)
from .decide import Status, candidate_points, candidate_xy, decide, place_labels
from .errors import InputError, NotFoundError, StoreUnavailableError
from .geocode import (
    AddressLayer,
    Geocoder,
    GeocodeResult,
    GeocodeStatus,
    MatchType,
    Suggestion,
    correction_key,
    normalize_street,
    read_addresses,
)
from .located import PointCycles, locate_codes, zones_digest
from .misses import MISS_STATUSES, MissCounter

if TYPE_CHECKING:
    from .billing.feed import Feed, NoteEvent
    from .store import Alias, Change, Store
    from .store.versions import Activation

logger = logging.getLogger(__name__)

#: how long a process trusts its copy of the live boundary pointer before asking the store again
REFRESH_SECONDS = 2.0
#: boundary versions kept prepared in memory besides the live one (for ``date=`` and upcoming)
ZONE_CACHE_SIZE = 8
#: answers kept per snapshot: an answer depends only on the query, the day and the snapshot (a
#: publish, a note edited or a new day makes a new snapshot, so a kept answer is never stale)
ANSWER_CACHE_SIZE = 4096
#: tables of the zone of every address point (``cyclemap.located``) kept, one per address layer
#: and zone set in use
POINT_TABLES = 4


@dataclass(frozen=True)
class CycleRef:
    """A cycle as an answer names it (``name_es``: its Spanish name, when city.toml gives one)."""

    id: str
    name: str
    color: str
    name_es: str | None = None

    @classmethod
    def of(cls, cycle: CycleConfig) -> CycleRef:
        """The cycle of ``city.toml`` as answers name it."""
        return cls(cycle.id, cycle.name, cycle.color, cycle.name_es)

    def translations(self) -> dict[str, str]:
        """The cycle's name in each other language the city gives, by language tag."""
        return {"es": self.name_es} if self.name_es else {}

    def name_in(
        self, language: str, gettext: Callable[[str], str] = lambda message: message
    ) -> CycleName:
        """The name a page in ``language`` shows (``config.cycle_name_in``: the city's own
        translation, "Ciclo 2" for the default "Cycle 2", else the name as written)."""
        return cycle_name_in(self.id, self.name, self.translations(), language, gettext)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of interface.md: ``{"id", "name", "color"}`` (a lookup's ``cycle``,
        an effective change's). The city's names in other languages are in the cycles API
        (``CycleAnswer.to_dict``: ``translations``), so an answer keeps its documented shape.

        >>> CycleRef("2", "Cycle 2", "#d95f02", "Ciclo 2").to_dict()
        {'id': '2', 'name': 'Cycle 2', 'color': '#d95f02'}
        """
        return {"id": self.id, "name": self.name, "color": self.color}

    def translations_dict(self) -> dict[str, dict[str, str]]:
        """``{"es": {"name": "Ciclo 2"}}``: the city's own names in other languages by language
        tag, ``{}`` when it gives none (as a note's ``translations``).

        >>> CycleRef("2", "Cycle 2", "#d95f02", "Ciclo 2").translations_dict()
        {'es': {'name': 'Ciclo 2'}}
        """
        return {lang: {"name": name} for lang, name in self.translations().items()}


@dataclass(frozen=True)
class Location:
    """Where an address was found and how sure we are."""

    lon: float
    lat: float
    matched_address: str
    match_type: MatchType
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The lookup answer's ``location`` object."""
        return {
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "matched_address": self.matched_address,
            "match_type": self.match_type.value,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class Choice:
    """One candidate place for an ambiguous or unfound address, with its cycle ("" = none)."""

    matched_address: str
    lon: float
    lat: float
    cycle_id: str
    score: float
    match_type: MatchType

    def to_dict(self) -> dict[str, Any]:
        """The lookup answer's candidate object."""
        return {
            "matched_address": self.matched_address,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "cycle_id": self.cycle_id or None,
            "score": round(self.score, 3),
            "match_type": self.match_type.value,
        }


#: how a place was located when it is not an address point itself: near a border, such a place
#: may be on the other side, so the answer asks the resident to confirm it on the map
APPROXIMATE = frozenset({MatchType.INTERPOLATED, MatchType.STREET, MatchType.POINT})


@dataclass(frozen=True)
class Confirm:
    """Why a matched answer asks the resident to confirm the place on the map.

    ``reason`` is ``near_boundary``: the place is approximate (placed between neighbours, a
    point along the street, a map click or a device location) and the zones of
    ``other_cycles`` are within ``[lookup] confirm_within_m``, the nearest ``distance_m`` away.
    """

    reason: str
    distance_m: float
    other_cycles: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"reason", "distance_m", "other_cycles"}``."""
        return {
            "reason": self.reason,
            "distance_m": round(self.distance_m, 1),
            "other_cycles": list(self.other_cycles),
        }


@dataclass(frozen=True)
class EffectiveChange:
    """A scheduled boundary version that puts the answer's place in another cycle from a day."""

    date: dt.date
    cycle: CycleRef | None  # None: outside every zone from that day

    def to_dict(self) -> dict[str, Any]:
        """``{"date": ISO, "cycle": {"id", "name", "color"} | null}``."""
        return {
            "date": self.date.isoformat(),
            "cycle": self.cycle.to_dict() if self.cycle else None,
        }


@dataclass(frozen=True)
class Answer:
    """The answer to one lookup; ``to_dict()`` is the JSON of interface.md."""

    status: Status
    query: dict[str, Any]
    location: Location | None
    cycle: CycleRef | None
    notes: tuple[Note, ...]
    schedule: ScheduleAnswer | None
    candidates: tuple[Choice, ...]
    boundary_version: int
    effective_changes: tuple[EffectiveChange, ...] = ()
    as_of: dt.date | None = None
    #: set on a matched answer whose approximate place is near another cycle's zone
    confirm: Confirm | None = None

    @property
    def cycle_id(self) -> str | None:
        """The cycle id, or None when the answer names no cycle."""
        return self.cycle.id if self.cycle else None

    def to_dict(self) -> dict[str, Any]:
        """The lookup answer as plain JSON-ready data."""
        return {
            "status": str(self.status),
            "query": dict(self.query),
            "location": self.location.to_dict() if self.location else None,
            "cycle": self.cycle.to_dict() if self.cycle else None,
            "notes": [note.to_dict() for note in self.notes],
            "schedule": self.schedule.to_dict() if self.schedule else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "boundary_version": self.boundary_version,
            "effective_changes": [e.to_dict() for e in self.effective_changes],
            "confirm": self.confirm.to_dict() if self.confirm else None,
        }


@dataclass(frozen=True)
class CycleAnswer:
    """A cycle with its notes and schedule today (``/api/v1/cycles/{id}``)."""

    cycle: CycleRef
    notes: tuple[Note, ...]
    #: None when the city publishes no dates for the cycle (no ``[cycles.ID.schedule]``)
    schedule: ScheduleAnswer | None

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "name", "color", "translations", "notes", "schedule"}`` (``schedule`` null:
        no dates; ``translations``: the city's names in other languages, the same in every
        language asked, as a note's)."""
        return {
            **self.cycle.to_dict(),
            "translations": self.cycle.translations_dict(),
            "notes": [note.to_dict() for note in self.notes],
            "schedule": self.schedule.to_dict() if self.schedule else None,
        }


@dataclass(frozen=True)
class Degraded:
    """Why a city answers from an older snapshot: its store could not be read.

    ``since`` is the first refresh that failed, ``snapshot_at`` when the snapshot still served
    was read (both UTC), ``reason`` the database's one-line message (for the log: it may name
    hosts and paths).
    """

    since: dt.datetime
    snapshot_at: dt.datetime
    reason: str

    def summary(self) -> str:
        """What ``/healthz`` tells anyone: what is wrong and since when, no hosts or paths.

        >>> t = dt.datetime(2020, 2, 21, 15, 4, 5, tzinfo=dt.UTC)
        >>> print(Degraded(t, t - dt.timedelta(seconds=3), "connection refused").summary())
        the database cannot be read since 2020-02-21T15:04:05Z: answering from the live data
        read at 2020-02-21T15:04:02Z
        """
        return (
            f"the database cannot be read since {_utc_text(self.since)}: answering from the "
            f"live data read at {_utc_text(self.snapshot_at)}"
        )


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Snapshot:
    """The live state one lookup reads from start to end: zones, addresses, notes, exceptions.

    Built once for one city day and then only read, so an answer never mixes two boundary (or
    address) versions; the memo of next dates lives with the snapshot, so a new snapshot starts
    it afresh. ``timeline`` is the boundary versions' activations, for answers on other days;
    ``upcoming`` the prepared zones of each scheduled version, so that a snapshot holds all a
    lookup needs even while the store cannot be read (a scheduled version reaching its day then
    included).
    """

    version: int
    boundaries: BoundarySet
    notes: tuple[Note, ...]  # every note, expired and future ones too
    exceptions: tuple[Any, ...]
    geocoder: Geocoder
    day: dt.date | None = None
    address_version: int = 0
    timeline: tuple[Activation, ...] = ()
    #: the aliases in force (street aliases, address corrections) that ``geocoder`` reads, over
    #: ``base_geocoder`` (the compiled one, without them); what could not be applied, and why
    aliases: tuple[Alias, ...] = ()
    base_geocoder: Geocoder | None = None
    alias_problems: tuple[str, ...] = ()
    checked_at: float = field(default_factory=time.monotonic)
    #: when the store was read for this snapshot (UTC wall clock, for ``Degraded``)
    read_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    writes_seen: int = 0
    upcoming: dict[int, BoundarySet] = field(default_factory=dict, repr=False)
    _schedules: dict[str, CycleSchedule] = field(default_factory=dict, repr=False)
    _next: dict[tuple[str, dt.date], ScheduleAnswer] = field(default_factory=dict, repr=False)
    #: answers already given from this snapshot, by query and day (see ``ANSWER_CACHE_SIZE``)
    _answers: dict[tuple[Any, ...], Answer] = field(default_factory=dict, repr=False)
    #: the miss key (normalized street) of each address that missed, from its geocoding's own
    #: parse, so that counting a miss never parses the text again
    _miss_keys: dict[str, str] = field(default_factory=dict, repr=False)


def _same_state(old: _Snapshot, new: _Snapshot) -> bool:
    """Whether two snapshots hold the same live state (so ``old``'s memos answer for ``new``):
    the same prepared zones and geocoders (the objects: each version is prepared once), equal
    notes, exceptions, aliases and timeline, the same day."""
    return (
        old.version == new.version
        and old.boundaries is new.boundaries
        and old.geocoder is new.geocoder
        and old.base_geocoder is new.base_geocoder
        and old.day == new.day
        and old.address_version == new.address_version
        and old.timeline == new.timeline
        and old.notes == new.notes
        and old.exceptions == new.exceptions
        and old.aliases == new.aliases
        and old.alias_problems == new.alias_problems
        and old.upcoming.keys() == new.upcoming.keys()
        and all(old.upcoming[v] is zones for v, zones in new.upcoming.items())
    )


class City:
    """A loaded city. Build it with ``open_city``; it is safe to share between threads."""

    def __init__(
        self,
        config: CityConfig,
        boundaries: BoundarySet,
        geocoder: Geocoder,
        *,
        store: Store | None = None,
        clock: Callable[[], dt.date] | None = None,
        boundary_version: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.store = store
        #: where compiled zones and geocoders are kept (None: nowhere), see ``cyclemap.compiled``
        self.cache_dir = cache_dir
        self._clock = clock
        self._lock = threading.Lock()
        self._zones: OrderedDict[int, BoundarySet] = OrderedDict()
        #: answers locate address points with a table of each point's zone (``point_cycles``);
        #: False locates every candidate in the zones instead (the same answers, slower)
        self.point_tables = True
        self._tables: OrderedDict[tuple[int, int], tuple[Any, Any, PointCycles]] = OrderedDict()
        self._tables_lock = threading.Lock()
        self._degraded: Degraded | None = None
        self._folder_geocoder = geocoder
        #: lookups that missed, counted for staff (``lookup(record=True)``); None without a store
        self.misses: MissCounter | None = MissCounter(store) if store is not None else None
        if store is None:
            path = config.notes_file
            notes = tuple(read_notes_toml(path)) if path.is_file() else ()
            self._snapshot = _Snapshot(
                boundary_version, boundaries, notes, config.exceptions, geocoder
            )
        else:
            empty = _Snapshot(boundary_version, boundaries, (), (), geocoder, writes_seen=-1)
            self._snapshot = self._load_snapshot(store, empty)
        self.cycle_refs = {cid: CycleRef.of(c) for cid, c in config.cycles.items()}

    # -- time and versions -------------------------------------------------------------------
    def today(self) -> dt.date:
        """Today's date in the city's time zone (or the clock given to ``open_city``)."""
        if self._clock is not None:
            return self._clock()
        return dt.datetime.now(ZoneInfo(self.config.timezone)).date()

    @property
    def boundaries(self) -> BoundarySet:
        """The zones in force today (EPSG:4326)."""
        return self._zones_on(self._current(), self.today())[1]

    @property
    def boundary_version(self) -> int:
        """The boundary version in force today (0 when read from the folder without a store)."""
        return self._zones_on(self._current(), self.today())[0]

    @property
    def degraded(self) -> Degraded | None:
        """Why answers come from an older snapshot (the store could not be read), else None.

        As of the last refresh: lookups, ``boundaries`` and ``boundary_version`` refresh when
        one is due, so ask one of them first for a fresh verdict.
        """
        return self._degraded

    @property
    def geocoder(self) -> Geocoder:
        """The geocoder over the address layer in force (the store's, else the folder's)."""
        return self._current().geocoder

    @property
    def address_version(self) -> int:
        """The address layer version in force (0: the city folder's own file)."""
        return self._current().address_version

    def boundaries_on(self, day: dt.date) -> tuple[int, BoundarySet]:
        """``(version, zones)`` in force on a day: scheduled versions count from their day."""
        snapshot = self._current()
        return self._zones_on(snapshot, day)

    def refresh(self) -> bool:
        """Re-read the live state from the store now; True if the boundary version moved.

        Lookups call this by themselves at most every ``REFRESH_SECONDS`` (at once after a
        write through this process's store, and when the city's day changes), so a version
        published by any server, a scheduled version reaching its day, or a note edited
        anywhere, is live everywhere within seconds and without a restart.

        When the store cannot be read, the snapshot already held stays (see ``degraded``) and
        this answers False; the next refresh due tries again.
        """
        if self.store is None:
            return False
        with self._lock:
            return self._refresh_locked(self.store)

    def _refresh_locked(self, store: Store) -> bool:
        old = self._snapshot
        writes = store.writes
        try:
            new = self._load_snapshot(store, old)
        except StoreUnavailableError as exc:
            # keep answering from what was read last; try again when the next refresh is due
            self._snapshot = replace(old, checked_at=time.monotonic(), writes_seen=writes)
            if self._degraded is None:
                self._degraded = Degraded(dt.datetime.now(dt.UTC), old.read_at, exc.message)
                logger.warning(
                    "cyclemap: the store cannot be read, so answers come from the live data "
                    "read at %s until it can: %s",
                    _utc_text(old.read_at),
                    exc.message,
                )
            return False
        self._snapshot = new
        if self._degraded is not None:
            down = (new.read_at - self._degraded.since).total_seconds()
            logger.warning(
                "cyclemap: the store can be read again after %.0f s: answers come from the "
                "live data again",
                down,
            )
            self._degraded = None
        return new.version != old.version

    def _load_snapshot(self, store: Store, old: _Snapshot) -> _Snapshot:
        writes = store.writes  # read first: a write racing this load triggers another load
        day = self.today()
        timeline = tuple(store.timeline("boundary"))
        version, boundaries = old.version, old.boundaries
        live_version = _in_force(timeline, day)
        if live_version is not None and live_version != version:
            version, boundaries = live_version, self._zones_for(live_version, old.boundaries)
        upcoming = {v: self._zones_for(v, boundaries) for _, v in _upcoming(timeline, day)}
        base, address_version = old.base_geocoder or old.geocoder, old.address_version
        live_addresses = store.live_address_version(on=day) or 0
        if live_addresses != address_version:
            base = self._geocoder_for(store, live_addresses)
            address_version = live_addresses
        aliases = tuple(store.list_aliases())
        geocoder, problems = old.geocoder, old.alias_problems
        if aliases != old.aliases or base is not (old.base_geocoder or old.geocoder):
            # a light copy that reads the aliases: the compiled tables are not rebuilt
            geocoder, found = _with_aliases(base, aliases)
            problems = tuple(found)
        new = _Snapshot(
            version,
            boundaries,
            tuple(store.list_notes(dt.date.min, include_all=True)),
            tuple(store.list_exceptions()),
            geocoder,
            day=day,
            address_version=address_version,
            timeline=timeline,
            aliases=aliases,
            base_geocoder=base,
            alias_problems=problems,
            writes_seen=writes,
            upcoming=upcoming,
        )
        if _same_state(old, new):
            # nothing a lookup reads has changed: keep the snapshot, and with it the answers
            # and next dates it has memoized (they are keyed by its content, never by time)
            return replace(old, checked_at=new.checked_at, read_at=new.read_at, writes_seen=writes)
        return new

    def _zones_for(self, version: int, like: BoundarySet) -> BoundarySet:
        """One stored boundary version, prepared once and kept among the last few used."""
        zones = self._zones.get(version)
        if zones is None:
            assert self.store is not None
            geojson = self.store.get_boundaries(version)
            zones = compiled_zones_from_geojson(geojson, like.id_property, self.cache_dir)
            self._zones[version] = zones
            while len(self._zones) > ZONE_CACHE_SIZE:
                self._zones.popitem(last=False)
        else:
            self._zones.move_to_end(version)
        return zones

    def _zones_on(self, snapshot: _Snapshot, day: dt.date) -> tuple[int, BoundarySet]:
        if day == snapshot.day or not snapshot.timeline:
            return snapshot.version, snapshot.boundaries
        version = _in_force(snapshot.timeline, day)
        if version is None or version == snapshot.version:
            return snapshot.version, snapshot.boundaries
        if version in snapshot.upcoming:  # a scheduled version's day came (the store not asked)
            return version, snapshot.upcoming[version]
        with self._lock:
            return version, self._zones_for(version, snapshot.boundaries)

    def _geocoder_for(self, store: Store, version: int) -> Geocoder:
        """A geocoder over a stored address layer version (0: the folder's own layer)."""
        if version == 0:
            return self._folder_geocoder
        stored = store.get_addresses(version)
        key = compiled.key_for(
            "geocoder",
            compiled.bytes_digest(stored.data),
            {**geocoder_settings(self.config), "format": stored.format},
        )
        return compiled.load_or_build(
            self.cache_dir,
            "geocoder",
            key,
            lambda: make_geocoder(
                read_address_bytes(stored.data, stored.format, self.config), self.config
            ),
        )

    def point_cycles(self, geocoder: Geocoder, zones: BoundarySet) -> PointCycles:
        """The zone of every address point of ``geocoder`` in ``zones``, located once (and kept
        in the compiled cache; see ``cyclemap.located``)."""
        key = (id(geocoder), id(zones))  # the entry holds both, so neither id is reused
        kept = self._tables.get(key)
        if kept is None:
            with self._tables_lock:
                kept = self._tables.get(key)
                if kept is None:
                    table = compiled_point_cycles(zones, geocoder.layer, self.cache_dir)
                    kept = self._tables[key] = (geocoder, zones, table)
                    while len(self._tables) > POINT_TABLES:
                        self._tables.popitem(last=False)
        return kept[2]

    def _current(self) -> _Snapshot:
        snapshot, store = self._snapshot, self.store
        if store is None:
            return snapshot
        due = time.monotonic() - snapshot.checked_at > REFRESH_SECONDS
        if self._degraded is not None:
            # the store is down: try it again every REFRESH_SECONDS beside the requests, so
            # that no lookup waits on a database that may take seconds to refuse
            if due and self._lock.acquire(blocking=False):
                threading.Thread(target=self._retry, args=(store,), daemon=True).start()
            return snapshot
        wrote = store.writes != snapshot.writes_seen
        if not (due or wrote or self.today() != snapshot.day):
            return snapshot
        # this process's own write is read back before answering (so wait for a refresh under
        # way in another thread); otherwise that refresh is not waited for: a slow or
        # unreachable store must not hold every lookup up, and its snapshot serves the next
        if self._lock.acquire(blocking=wrote):
            try:
                self._refresh_locked(store)
            finally:
                self._lock.release()
        return self._snapshot

    def _retry(self, store: Store) -> None:
        """One refresh while the store is down, in a thread of its own (holding the lock)."""
        try:
            self._refresh_locked(store)
        finally:
            self._lock.release()

    # -- notes and schedules -----------------------------------------------------------------
    def notes(self, cycle_id: str | None, today: dt.date | None = None) -> tuple[Note, ...]:
        """The notes shown today for a cycle (or for every cycle when ``cycle_id`` is None)."""
        return tuple(notes_for(self._current().notes, cycle_id, today or self.today()))

    def schedule(self, cycle_id: str) -> CycleSchedule | None:
        """The schedule rules of one cycle with the exceptions in force (None: no dates are
        published for the cycle)."""
        cycle = self._cycle_config(cycle_id)
        if not cycle.has_schedule:
            return None
        snapshot = self._current()
        schedule = snapshot._schedules.get(cycle.id)
        if schedule is None:
            schedule = CycleSchedule.from_config(cycle, snapshot.exceptions)
            snapshot._schedules[cycle.id] = schedule
        return schedule

    def cycle(self, cycle_id: str, today: dt.date | None = None) -> CycleAnswer:
        """One cycle with its notes and next dates; ``NotFoundError`` for an unknown id."""
        today = today or self.today()
        ref = self._cycle_ref(cycle_id)
        return CycleAnswer(ref, self.notes(ref.id, today), self._next_dates(ref.id, today))

    def cycles(self, today: dt.date | None = None) -> list[CycleAnswer]:
        """Every cycle, in id order, with its notes and next dates."""
        today = today or self.today()
        return [self.cycle(cid, today) for cid in sorted(self.cycle_refs, key=_id_sort_key)]

    def calendar_ics(
        self,
        cycle_id: str,
        today: dt.date | None = None,
        months: int = 12,
        words: CalendarWords | None = None,
    ) -> bytes:
        """The cycle's bill, due, penalty and disconnect dates as an iCalendar feed (without
        events, saying so, for a cycle whose dates are not published), worded by ``words``
        (default: English)."""
        today = today or self.today()
        cycle = self._cycle_config(cycle_id)
        return calendar_ics(
            cycle,
            self.schedule(cycle.id),
            city_name=self.config.name,
            timezone=self.config.timezone,
            start=today.replace(day=1),
            months=months,
            now=dt.datetime.now(dt.UTC),
            words=words,
        )

    def calendar_modified(self, today: dt.date | None = None) -> dt.datetime:
        """When the calendars last changed: the newest schedule exception change, or the start
        of this month (city time; a calendar runs from the first of the month), later first."""
        today = today or self.today()
        month = dt.datetime.combine(today.replace(day=1), dt.time(), ZoneInfo(self.config.timezone))
        changed = self.store.newest_change("exception") if self.store is not None else None
        return max(month.astimezone(dt.UTC), changed or month)

    # -- feeds and changes -------------------------------------------------------------------
    def note_events(self, cycle_id: str | None = None, limit: int | None = None) -> list[NoteEvent]:
        """The latest notes posted, updated or expired (for ``cycle_id``, else any), newest
        first: off the store's audit log, or ``notes.toml``'s dates without a store; at most
        ``limit`` (default ``billing.feed.FEED_ENTRIES``)."""
        # the feed's module loads with the first feed asked for, not with every lookup's city
        from .billing.feed import FEED_ENTRIES, NoteEvent

        limit = FEED_ENTRIES if limit is None else limit
        if cycle_id is not None:
            cycle_id = self._cycle_ref(cycle_id).id
        if self.store is None:
            events = [
                NoteEvent(
                    dt.datetime.combine(n.updated or n.posted, dt.time(), dt.UTC),
                    "add" if n.updated == n.posted else "edit",
                    {**n.to_record(), "id": n.id or i + 1},
                )
                for i, n in enumerate(self._current().notes)
            ]
        else:
            # several events per note at most, and a cycle's notes among every cycle's: look
            # further back than ``limit`` so that a cycle's own feed is full too
            found = self.store.audit_log(entity="note", limit=limit * 20)
            events = [
                NoteEvent(e.at, e.action, e.after or e.before or {}, e.before)
                for e in found
                if e.action in ("seed", "add", "edit", "expire")
            ]
        events = [e for e in events if e.concerns(cycle_id)]
        events.sort(key=lambda e: e.at, reverse=True)
        return events[:limit]

    def note_feed(self, cycle_id: str | None = None, *, link: str, self_link: str) -> Feed:
        """The Atom feed of notes posted, updated and expired, for one cycle or all.

        ``link`` is the resident page, ``self_link`` the feed's own address; the feed's
        ``updated`` is its newest event (the HTTP layer's Last-Modified).
        """
        from .billing.feed import TAG_AUTHORITY, Feed, city_slug, note_entries

        events = self.note_events(cycle_id)
        name = self.config.name
        if cycle_id is None:
            title, path = f"Billing notices · {name}", "notes"
        else:
            ref = self._cycle_ref(cycle_id)
            title, path = f"{ref.name} billing notices · {name}", f"cycles/{ref.id}/notes"
        updated = events[0].at if events else dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        return Feed(
            id=f"tag:{TAG_AUTHORITY}:{city_slug(name)}/{path}",
            title=title,
            updated=updated,
            link=link,
            self_link=self_link,
            entries=note_entries(events, city=name, link=link),
            subtitle="Notices about utility bills: new, updated and taken down.",
        )

    def changes_since(self, since: dt.datetime, limit: int = 1000) -> list[Change]:
        """What changed after ``since`` (notes, schedule exceptions, boundary versions), oldest
        first; ``InputError`` for a city without a store (nothing is kept to compare)."""
        if self.store is None:
            raise InputError("changes are kept in the store: open the city with one")
        return self.store.changes_since(since, limit=limit)

    # -- lookups -----------------------------------------------------------------------------
    def lookup(
        self,
        address: str | None = None,
        *,
        lon: float | str | None = None,
        lat: float | str | None = None,
        today: dt.date | None = None,
        date: dt.date | None = None,
        record: bool = False,
    ) -> Answer:
        """Geocode an address (or take a point) and say which cycle it is in on a day.

        ``date`` (or its older name ``today``; default: today in the city) picks the boundary
        version in force that day, the notes shown and the next dates. An answer for today
        lists in ``effective_changes`` each scheduled version that moves this place to
        another cycle. ``record=True`` (a resident's lookup: the pages and the API) counts an
        address that ends ``not_found`` or ``ambiguous`` for staff (``misses``; never fails the
        lookup). ``InputError`` when neither an address nor both coordinates are given,
        when the address is empty (bad input everywhere: the API's 400, the CLI's exit 2), or
        when the coordinates are not numbers in range (they may be given as text, as a query
        string has them).
        """
        if date is not None and today is not None and date != today:
            raise InputError("give the day once: date or today")
        today = date or today or self.today()
        base = self._current()
        point: tuple[float, float] | None = None  # the checked (lon, lat) when no address
        if address is not None:
            if lon is not None or lat is not None:
                raise InputError("give either an address or lon and lat, not both")
            if isinstance(address, str) and not address.strip():
                raise InputError("the address is empty: give a street address, such as 12 Main St")
            key: tuple[Any, ...] = ("address", address, today)
        else:
            point = _check_point(lon, lat)
            key = ("point", *point, today)
        answers = base._answers
        kept = answers.get(key) if isinstance(address, str | None) else None
        if kept is not None:
            if record:
                self._count_miss(base, address, kept)
            return kept
        snapshot = base
        version, zones = self._zones_on(snapshot, today)
        if version != snapshot.version:
            snapshot = replace(snapshot, version=version, boundaries=zones)
        if address is not None:
            result = snapshot.geocoder.geocode(address)
            answer = self._answer_for_geocode({"address": address}, result, snapshot, today)
            parsed = result.parsed
            if parsed is not None and answer.status in MISS_STATUSES:
                keys = base._miss_keys
                if len(keys) >= ANSWER_CACHE_SIZE:
                    keys.clear()
                keys[address] = parsed.street_key if parsed.kind == "street" and parsed.name else ""
        else:
            assert point is not None  # checked above: no address means a point
            x, y = point
            location = Location(x, y, "", MatchType.POINT, 1.0)
            answer = self._answer_at({"lon": x, "lat": y}, location, snapshot, today)
        if len(answers) >= ANSWER_CACHE_SIZE:
            answers.clear()
        answers[key] = answer
        if record:
            self._count_miss(base, address, answer)
        return answer

    # -- misses and aliases ------------------------------------------------------------------
    def _count_miss(self, snapshot: _Snapshot, address: Any, answer: Answer) -> None:
        """Count a resident's address lookup that missed, by its street alone (best effort)."""
        if self.misses is None or not isinstance(address, str):
            return
        if answer.status not in MISS_STATUSES:
            return
        try:
            street = snapshot._miss_keys.get(address)
            if street is None:
                street, _ = snapshot.geocoder.miss_keys(address)
            self.misses.count("street", street, str(answer.status))
        except Exception:  # pragma: no cover - counting must never fail a lookup
            return

    def confirm_choice(self, typed: str, chosen: str) -> bool:
        """A resident who got ``not_found`` or ``ambiguous`` for ``typed`` picked ``chosen``
        (one of the places offered): count the pair, so staff may make it a correction.

        Only then is a whole address kept (the typed one as ``correction_key``, the one chosen
        as the layer writes it). Returns whether it was counted: ``chosen`` must be one of the
        answer's candidates, and the answer a miss.
        """
        if self.misses is None or not isinstance(typed, str) or not typed.strip():
            return False
        try:
            answer = self.lookup(typed)
        except InputError:
            return False
        if answer.status not in MISS_STATUSES:
            return False
        if chosen not in {c.matched_address for c in answer.candidates}:
            return False
        _, key = self._current().geocoder.miss_keys(typed)
        if not key:
            return False
        self.misses.count("address", key, str(answer.status), chosen=chosen)
        return True

    @property
    def aliases(self) -> tuple[Alias, ...]:
        """The aliases in force that the geocoder reads (street aliases, address corrections)."""
        return self._current().aliases

    @property
    def alias_problems(self) -> tuple[str, ...]:
        """Aliases in force that the address layer in force cannot apply, each with why."""
        return self._current().alias_problems

    def check_alias(self, kind: str, source: str, target: str) -> tuple[str, str]:
        """An alias as it is kept, normalized and checked against the address layer in force:
        ``(source, target)``, else ``InputError`` saying what is wrong.

        A street alias (``kind`` street) is from a whole street to a layer street
        (``"MLK Blvd"`` -> ``("MLK BLVD", "MARTIN LUTHER KING JR BLVD")``); a correction
        (``kind`` address) from a number and street to one address of the layer, kept as the
        layer writes it.
        """
        snapshot = self._current()
        base = snapshot.base_geocoder or snapshot.geocoder
        if kind == "street":
            key, goal = normalize_street(source or ""), normalize_street(target or "")
            if not key:
                raise InputError("type the street residents write, such as MLK Blvd")
            if not base.index.alias_sids(goal):
                raise InputError(
                    f"{target!r} is not a street of the address layer: type it as the layer "
                    "writes it, such as N KINGSHIGHWAY"
                )
            if key in _layer_street_keys(base):
                raise InputError(f"{key} is already a street of the address layer")
            return key, goal
        if kind == "address":
            key = correction_key(base.index.parse(source or ""))
            if not key:
                raise InputError("type the address residents write, with its house number")
            found = base.geocode(target or "")
            if found.status != GeocodeStatus.MATCHED or found.candidates[0].row is None:
                raise InputError(
                    f"{target!r} is not one address of the layer: type an address that a "
                    "lookup finds (matched)"
                )
            return key, found.candidates[0].matched_address
        raise InputError(f"an alias is of kind street or address, not {kind!r}")

    def add_alias(
        self, kind: str, source: str, target: str, *, author: str, message: str = ""
    ) -> Alias:
        """Check an alias (``check_alias``) and keep it in the store: every server's geocoder
        reads it within ``REFRESH_SECONDS`` (this one at its next lookup)."""
        if self.store is None:
            raise InputError("aliases are kept in the store: open the city with one")
        key, goal = self.check_alias(kind, source, target)
        return self.store.add_alias(kind, key, goal, author=author, message=message)

    def edit_alias(self, alias_id: int, target: str, *, author: str, message: str = "") -> Alias:
        """A new version of an alias with another target (checked as ``add_alias`` does)."""
        if self.store is None:
            raise InputError("aliases are kept in the store: open the city with one")
        old = self.store.get_alias(alias_id)
        _, goal = self.check_alias(old.kind, old.source, target)
        return self.store.edit_alias(alias_id, goal, author=author, message=message)

    def suggest(self, query: str, limit: int = 10) -> list[Suggestion]:
        """Address completions for what a resident has typed so far, best first."""
        if not 1 <= limit <= 50:
            raise InputError("limit must be between 1 and 50")
        return self.geocoder.suggest(query, limit=limit)

    def locate(self, lons: Iterable[float], lats: Iterable[float]) -> np.ndarray:
        """Cycle ids for arrays of points ("" outside every zone)."""
        return self.boundaries.locate_xy(np.asarray(lons, float), np.asarray(lats, float))

    # -- helpers -----------------------------------------------------------------------------
    def _answer_for_geocode(
        self, query: dict, result: GeocodeResult, snapshot: _Snapshot, today: dt.date
    ) -> Answer:
        points = candidate_points(result)
        if self.point_tables:
            table = self.point_cycles(snapshot.geocoder, snapshot.boundaries)
            cycle_ids = table.cycles_of(points)
        else:
            cycle_ids = [str(c) for c in snapshot.boundaries.locate_xy(*candidate_xy(points))]
        decision = decide(result, cycle_ids, snapshot.geocoder, snapshot.boundaries)
        several = snapshot.geocoder.several_towns
        if decision.place is not None:
            c = decision.place
            label = place_labels([c], several, located=True)[0]
            place = Location(c.lon, c.lat, label, c.match_type, c.score)
            return self._answer_at(query, place, snapshot, today, decision.cycle_id or "")
        if decision.choices:
            points, cycle_ids = list(decision.choices), list(decision.choice_cycles)
        labels = place_labels(points, several)
        choices = tuple(
            Choice(label, c.lon, c.lat, cid, c.score, c.match_type)
            for c, cid, label in zip(points, cycle_ids, labels, strict=True)
        )
        if decision.status is Status.NOT_FOUND:
            return Answer(Status.NOT_FOUND, query, None, None, (), None, choices, snapshot.version)
        shared = decision.cycle_id
        if shared:
            return Answer(
                Status.AMBIGUOUS,
                query,
                None,
                self.cycle_refs.get(shared),
                tuple(notes_for(snapshot.notes, shared, today)),
                self._next_dates(shared, today, snapshot),
                choices,
                snapshot.version,
            )
        return Answer(Status.AMBIGUOUS, query, None, None, (), None, choices, snapshot.version)

    def _answer_at(
        self,
        query: dict,
        location: Location,
        snapshot: _Snapshot,
        today: dt.date,
        cycle_id: str | None = None,
    ) -> Answer:
        if cycle_id is None:
            cycle_id = snapshot.boundaries.locate(location.lon, location.lat)
        if not cycle_id:
            return Answer(Status.OUTSIDE, query, location, None, (), None, (), snapshot.version)
        ref = self._ref(cycle_id)
        return Answer(
            Status.MATCHED,
            query,
            location,
            ref,
            tuple(notes_for(snapshot.notes, cycle_id, today)),
            self._next_dates(cycle_id, today, snapshot),
            (),
            snapshot.version,
            self._effective_changes(snapshot, today, location, cycle_id),
            today,
            confirm=self._confirm(location, snapshot.boundaries),
        )

    def _confirm(self, location: Location, zones: BoundarySet) -> Confirm | None:
        """A ``near_boundary`` confirmation for an approximate place near another cycle."""
        if location.match_type not in APPROXIMATE:
            return None
        near = zones.other_zones_within_m(location.lon, location.lat, self.config.confirm_within_m)
        if not near:
            return None
        return Confirm("near_boundary", near[0][1], tuple(cid for cid, _ in near))

    def _ref(self, cycle_id: str) -> CycleRef:
        return self.cycle_refs.get(cycle_id) or CycleRef(
            cycle_id, default_cycle_name(cycle_id), "#666666"
        )

    def _effective_changes(
        self, snapshot: _Snapshot, today: dt.date, location: Location, cycle_id: str
    ) -> tuple[EffectiveChange, ...]:
        """Each later day on which a scheduled version puts this place in another cycle."""
        if not snapshot.timeline:
            return ()
        changes = []
        current = cycle_id
        for day, version in _upcoming(snapshot.timeline, today):
            zones = snapshot.upcoming.get(version)
            if zones is None:  # upcoming as of another day than the snapshot's
                with self._lock:
                    zones = self._zones_for(version, snapshot.boundaries)
            then = zones.locate(location.lon, location.lat)
            if then != current:
                changes.append(EffectiveChange(day, self._ref(then) if then else None))
                current = then
        return tuple(changes)

    def _next_dates(
        self, cycle_id: str, today: dt.date, snapshot: _Snapshot | None = None
    ) -> ScheduleAnswer | None:
        cycle = self.config.cycles.get(cycle_id)
        if cycle is None or not cycle.has_schedule:
            return None  # no dates are published for this cycle
        memo = (snapshot or self._current())._next
        key = (cycle_id, today)
        if key not in memo:  # walking the rule costs ~2 ms; the answer only changes daily
            schedule = self.schedule(cycle_id)
            assert schedule is not None
            memo[key] = schedule.next_dates(today)
        return memo[key]

    def _cycle_ref(self, cycle_id: str) -> CycleRef:
        ref = self.cycle_refs.get(str(cycle_id))
        if ref is None:
            known = ", ".join(sorted(self.cycle_refs, key=_id_sort_key))
            raise NotFoundError(f"there is no cycle {cycle_id!r}; the cycles are {known}")
        return ref

    def _cycle_config(self, cycle_id: str) -> CycleConfig:
        return self.config.cycles[self._cycle_ref(cycle_id).id]

    def assign(self, addresses: Any, *, column: Any = None, workers: int | None = None) -> Any:
        """Cycles for many addresses at once; each answer equals ``lookup`` for that address.

        Given a pandas Series, returns a DataFrame on its index with the columns ``cycle``,
        ``status``, ``match_type``, ``score``, ``matched_address``, ``lon``, ``lat``, ``reason``;
        given a DataFrame, a copy with those columns added (the address column is ``column`` or
        guessed). Given any other iterable of strings, returns a lazy iterator of
        ``cyclemap.batch.Assignment`` in input order. Each distinct address is geocoded once;
        ``workers`` as in ``cyclemap.batch.Assigner`` (None: decide; 1: serial).

        >>> [a.cycle for a in open_city().assign(["117 S SPRIGG ST", "117 s sprigg st", ""])]
        ['4', '4', None]
        """
        from .batch import assign_addresses

        return assign_addresses(self, addresses, column=column, workers=workers)


def _with_aliases(base: Geocoder, aliases: tuple[Alias, ...]) -> tuple[Geocoder, list[str]]:
    """``base`` reading the aliases in force (see ``Geocoder.with_aliases``)."""
    streets = {a.source: a.target for a in aliases if a.kind == "street"}
    corrections = {a.source: a.target for a in aliases if a.kind == "address"}
    return base.with_aliases(streets, corrections)


def _layer_street_keys(geocoder: Geocoder) -> set[str]:
    return {st.key for st in geocoder.index.streets}


def _in_force(timeline: tuple[Activation, ...], day: dt.date) -> int | None:
    from .store.versions import in_force

    return in_force(list(timeline), day)


def _upcoming(timeline: tuple[Activation, ...], day: dt.date) -> list[tuple[dt.date, int]]:
    from .store.versions import upcoming

    return upcoming(list(timeline), day)


def _id_sort_key(cycle_id: str) -> tuple[int, int, str]:
    return cycle_sort_key(cycle_id)


def _check_point(lon: Any, lat: Any) -> tuple[float, float]:
    if lon is None or lat is None:
        raise InputError("give an address, or both lon and lat")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InputError("lon and lat must be decimal degrees, e.g. lon=-89.55&lat=37.31") from None
    if not (np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise InputError("lon must be within -180..180 and lat within -90..90")
    return x, y


def open_city(
    folder: str | Path | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], dt.date] | None = None,
    cache_dir: str | Path | bool = True,
) -> City:
    """Open a city folder: read ``city.toml``, the zones and the address layer, once.

    Everything ``city.toml`` says is checked now, against the files it names (see
    ``cyclemap.checks``): one ``ConfigError`` lists every problem with its key, and nothing in
    the configuration can fail later, inside a lookup. With a ``store``, the live boundary
    version comes from it (seeded from the folder when the store is empty), and so do notes
    and schedule exceptions.

    The zones and the geocoder are compiled once per content of their files (and of stored
    versions) into ``cache_dir`` (see ``cyclemap.compiled``): True (the default) is ``cache/``
    in the instance folder, a path is that folder, False keeps nothing on disk. A second open
    of the same layers reads the compiled tables instead of building them.
    """
    if cache_dir is True:
        cache: Path | None = compiled.default_cache_dir(default_instance_path())
    elif cache_dir is False:
        cache = None
    else:
        cache = Path(cache_dir)
    found: dict[str, Geocoder] = {}

    def read_layer(config: CityConfig) -> AddressLayer:
        # a compiled geocoder holds the layer; else the file is read (and compiled below,
        # once every check has passed)
        kept = compiled.load(cache, "geocoder", geocoder_key(config))
        if isinstance(kept, Geocoder):
            found["geocoder"] = kept
            return kept.layer
        a = config.addresses
        return read_addresses(a.file, a.columns, a.crs)

    config, boundaries, layer = open_folder(
        folder if folder is not None else DEFAULT_CITY,
        read_zones=lambda config: compiled_zones(config, cache),
        read_layer=read_layer,
    )
    geocoder = found.get("geocoder") or compiled.load_or_build(
        cache, "geocoder", geocoder_key(config), lambda: make_geocoder(layer, config)
    )
    if store is not None:
        # the first start on an empty store publishes the folder's zones as version 1;
        # afterwards the store's live version (read by City) wins over the folder's file
        store.seed_from_city(config, boundary_geojson=boundaries.to_geojson)
    city = City(config, boundaries, geocoder, store=store, clock=clock, cache_dir=cache)
    if store is None:
        city.point_cycles(geocoder, boundaries)  # located (or read) now, not in a first lookup
    if store is not None and store.today is None:
        # versions published "now" through this store count from the city's day, the same day
        # its lookups are answered for (a clock the tests or CYCLEMAP_TODAY set included)
        store.today = city.today
    return city


def compiled_zones(config: CityConfig, cache_dir: Path | None) -> BoundarySet:
    """The city folder's zones, read once per content of the boundary file into ``cache_dir``."""
    b = config.boundaries
    key = compiled.key_for(
        "zones",
        compiled.file_digest(b.file) if Path(b.file).is_file() else f"missing:{b.file}",
        {"id_property": b.id_property, "crs": b.crs, "name": Path(b.file).name},
    )
    return compiled.load_or_build(
        cache_dir,
        "zones",
        key,
        lambda: read_boundaries(b.file, id_property=b.id_property, crs=b.crs),
    )


def compiled_zones_from_geojson(
    geojson: dict[str, Any], id_property: str, cache_dir: Path | None
) -> BoundarySet:
    """Zones of a stored boundary version (GeoJSON), prepared once per content in ``cache_dir``."""
    import json

    text = json.dumps(geojson, sort_keys=True, separators=(",", ":"))
    key = compiled.key_for(
        "zones", compiled.bytes_digest(text.encode()), {"id_property": id_property, "geojson": 1}
    )
    return compiled.load_or_build(
        cache_dir,
        "zones",
        key,
        lambda: BoundarySet.from_geojson(geojson, id_property=id_property),
    )


def compiled_point_cycles(
    zones: BoundarySet, layer: AddressLayer, cache_dir: Path | None
) -> PointCycles:
    """The zone of every point of an address layer, located once per content of both (the
    layer's points and the zones' shapes) into ``cache_dir``."""
    key = compiled.key_for("cycles", f"{layer.points_digest}|{zones_digest(zones)}", {})
    codes = compiled.load_or_build(cache_dir, "cycles", key, lambda: locate_codes(zones, layer))
    return PointCycles(zones, layer, codes)


def geocoder_settings(config: CityConfig) -> dict[str, Any]:
    """What besides the layer's bytes shapes the city's geocoder (part of its cache key)."""
    a = config.addresses
    return {
        "columns": dict(a.columns),
        "crs": a.crs,
        "places": list(config.place_names),
        "place_aliases": sorted((alias, p.name) for p in config.places for alias in p.aliases),
        "state": config.state,
        "zips": list(config.zips),
    }


def geocoder_key(config: CityConfig) -> str:
    """The cache key of the geocoder over the city folder's address file."""
    path = Path(config.addresses.file)
    digest = compiled.file_digest(path) if path.is_file() else f"missing:{path}"
    return compiled.key_for(
        "geocoder", digest, {**geocoder_settings(config), "name": path.suffix.lower()}
    )


def make_geocoder(layer: AddressLayer, config: CityConfig) -> Geocoder:
    """The city's geocoder over an address layer.

    The city's own name, its towns (``[city] places`` and their aliases), state and ZIPs let
    the geocoder tell an address elsewhere ("Jackson, MO 63755") from one of ours written with
    a typo, and pick the town a resident typed.
    """
    return Geocoder(
        layer,
        places=config.place_names,
        state=config.state,
        zips=config.zips,
        place_aliases={alias: p.name for p in config.places for alias in p.aliases},
    )


def read_address_bytes(data: bytes, format: str, config: CityConfig) -> AddressLayer:
    """Read an address layer kept as bytes (a stored version or an upload) with the city's mapping.

    ``format`` is the file's suffix without the dot (``csv``, ``gpkg``, ``geojson``, ``zip``).
    """
    suffix = "." + (format or "csv").lower().lstrip(".")
    with tempfile.TemporaryDirectory(prefix="cyclemap-addresses-") as folder:
        path = Path(folder) / f"addresses{suffix}"
        path.write_bytes(data)
        return read_addresses(path, config.addresses.columns, config.addresses.crs)
