"""The live store: notes, schedule exceptions, boundary and address versions, staff, audit log.

One database named by a SQLAlchemy URL: an SQLite file by default (nothing to install; WAL mode,
foreign keys on, a busy timeout, writers serialized by ``BEGIN IMMEDIATE``), or PostgreSQL through
psycopg 3 (``postgresql+psycopg://user@host/db``) when several servers share it. The same Core
queries run on both. The schema is made only by the Alembic migrations in
``store/migrations/versions/`` (``Store.upgrade()``, ``cyclemap db upgrade``, and on start).

Every write is one transaction, and every change to notes, exceptions, versions or staff adds a
row to the audit log (who, when, what, before, after) in that same transaction.

>>> import datetime as dt
>>> store = Store("sqlite://")                      # in memory, for the example
>>> store.upgrade()
'0006'
>>> nid = store.add_note(title="Disconnects", body="No services will be disconnected on 2/26/20.",
...                      cycles="all", author="clerk", today=dt.date(2020, 2, 20))
>>> [n.title for n in store.list_notes(dt.date(2020, 2, 21), cycle="3")]
['Disconnects']
>>> [(e.action, e.actor) for e in store.note_history(nid)]
[('add', 'clerk')]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..billing.notes import (
    ALL_CYCLES,
    Cycles,
    Note,
    normalize_cycles,
    parse_date,
    read_notes_toml,
    sort_notes,
)
from ..billing.schedule import ScheduleException
from ..config import DEFAULT_CITY, CityConfig
from ..errors import ConfigError, InputError, NotFoundError
from . import schema as t
from .aliases import AliasStore
from .changes import ChangeStore
from .engine import SQLITE_BUSY_TIMEOUT_S, AuditEntry, StoreBase, _dump
from .staff import StaffStore, hash_password, verify_password
from .versions import (
    SINCE_ALWAYS,
    Activation,
    LiveAddresses,
    LiveBoundaries,
    StagedUpload,
    StagingStore,
    VersionInfo,
    VersionStore,
)

__all__ = [
    "SEED_AUTHOR",
    "SINCE_ALWAYS",
    "Activation",
    "StagedUpload",
    "SQLITE_BUSY_TIMEOUT_S",
    "AuditEntry",
    "LiveAddresses",
    "LiveBoundaries",
    "Store",
    "StoreBase",
    "VersionInfo",
    "default_database_url",
    "hash_password",
    "verify_password",
]

#: PostgreSQL advisory lock key (transaction scoped) held while seeding
_PG_SEED_LOCK = 0x6379_636C_0002
#: the author recorded for rows seeded from the city folder
SEED_AUTHOR = "city folder (seed)"
_NOTE_FIELDS = ("title", "body", "title_es", "body_es", "cycles", "starts", "ends", "display_order")


def default_database_url(instance_path: str | Path, city_folder: str | Path | None = None) -> str:
    """The default store: an SQLite file in the instance folder, one per city folder.

    The bundled demo city (or no folder named) uses ``cyclemap.sqlite``; any other city folder
    gets a file of its own, named after the folder and a digest of its path, so that
    ``cyclemap --city ./other lookup`` never serves the demo city's live zones and notes.

    >>> default_database_url("/srv/cyclemap/instance")
    'sqlite:////srv/cyclemap/instance/cyclemap.sqlite'
    >>> default_database_url("/srv/i", "/data/springfield")  # doctest: +ELLIPSIS
    'sqlite:////srv/i/cyclemap-springfield-....sqlite'
    """
    name = "cyclemap.sqlite"
    if city_folder is not None:
        folder = Path(city_folder).expanduser().resolve()
        if folder != DEFAULT_CITY.resolve():
            slug = re.sub(r"[^a-z0-9]+", "-", folder.name.lower()).strip("-") or "city"
            digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
            name = f"cyclemap-{slug}-{digest}.sqlite"
    return f"sqlite:///{Path(instance_path).expanduser().resolve() / name}"


def _note_columns(note: Note) -> dict[str, Any]:
    """The columns an edit may change, as stored (the inverse of ``Store._row_note``)."""
    return {
        "title": note.title,
        "body": note.body_markdown,
        "title_es": note.title_es,
        "body_es": note.body_es,
        "cycles": _cycles_text(note.cycles),
        "updated": note.updated,
        "starts": note.starts,
        "ends": note.ends,
        "display_order": note.display_order,
    }


def _cycles_text(cycles: Cycles) -> str:
    return ALL_CYCLES if cycles == ALL_CYCLES else json.dumps(list(cycles))


def _cycles_value(text: str) -> Cycles:
    return ALL_CYCLES if text == ALL_CYCLES else tuple(json.loads(text))


class Store(VersionStore, StagingStore, StaffStore, AliasStore, ChangeStore):
    """The database of one city, over a SQLAlchemy URL (SQLite file or PostgreSQL).

    Notes, schedule exceptions and seeding here; boundary and address versions from
    ``VersionStore``; staff accounts from ``StaffStore``; lookup misses and aliases from
    ``AliasStore``; what changed since a time from ``ChangeStore``; connections, migrations
    and the audit log from ``StoreBase``.
    ``clock`` (in the constructor) returns the current aware datetime; tests may set it.
    """

    def start(
        self,
        config: CityConfig | None = None,
        boundary_geojson: dict | Callable[[], dict] | None = None,
    ) -> Store:
        """What a server or command does on start: ``upgrade()``, then ``seed_from_city``.

        >>> from cyclemap.config import load_city_config, DEFAULT_CITY
        >>> store = Store("sqlite://").start(load_city_config(DEFAULT_CITY))
        >>> store.revision(), len(store.list_notes(dt.date(2020, 2, 21), cycle="1"))
        ('0006', 6)
        """
        self.upgrade()
        if config is not None:
            self.seed_from_city(config, boundary_geojson)
        return self

    def seed_from_city(
        self, config: CityConfig, boundary_geojson: dict | Callable[[], dict] | None = None
    ) -> dict[str, int]:
        """Seed an empty store from the city folder; return what was seeded, by part.

        Parts are ``notes`` (from ``notes.toml``), ``exceptions`` (``city.toml``'s
        ``[[exceptions]]``) and, when ``boundary_geojson`` is given, ``boundaries`` (version 1;
        given as a function, it is called only when the boundaries are seeded now). Each part
        is seeded once in the database's life: a ``meta`` row records it, in the same
        transaction, under a lock, so later calls, and two processes starting at once, never
        duplicate nor overwrite what staff changed since. A store seeded already (every start
        but the first) is only read: no write transaction, so a command's start never waits
        for another process's write lock. The folder's notes and exceptions are checked
        either way.

        >>> from cyclemap.config import load_city_config, DEFAULT_CITY
        >>> store = Store("sqlite://")
        >>> _ = store.upgrade()
        >>> store.seed_from_city(load_city_config(DEFAULT_CITY))
        {'notes': 7, 'exceptions': 6}
        >>> store.seed_from_city(load_city_config(DEFAULT_CITY))
        {}
        """
        seed_notes = read_notes_toml(config.notes_file)
        for note in seed_notes:
            try:
                note.validated(known_cycles=config.cycles)
            except InputError as exc:
                raise ConfigError(f"{config.notes_file.name}: {note.title}: {exc}") from exc
        try:
            seed_exceptions = [ScheduleException.from_mapping(e) for e in config.exceptions]
        except InputError as exc:
            raise ConfigError(f"city.toml: [[exceptions]]: {exc}") from exc

        parts = {"seeded:notes", "seeded:exceptions"}
        if boundary_geojson is not None:
            parts.add("seeded:boundaries")
        with self._read() as conn:
            if self._seeded_parts(conn, config) >= parts:
                return {}
        done: dict[str, int] = {}
        with self._write(lock=_PG_SEED_LOCK) as conn:
            seeded = self._seeded_parts(conn, config)  # again: another process may have seeded

            def claim(part: str, count: int) -> bool:
                if f"seeded:{part}" in seeded:
                    return False
                value = _dump({"city": config.name, "count": count})
                conn.execute(
                    t.meta.insert().values(key=f"seeded:{part}", value=value, created=self.clock())
                )
                done[part] = count
                return True

            if claim("notes", len(seed_notes)):
                for note in seed_notes:
                    self._insert_note(conn, note, SEED_AUTHOR, action="seed")
            if claim("exceptions", len(seed_exceptions)):
                for exception in seed_exceptions:
                    self._insert_exception(conn, exception, SEED_AUTHOR, action="seed")
            if boundary_geojson is not None:
                exists = conn.scalar(sa.select(sa.func.count()).select_from(t.boundary_versions))
                if claim("boundaries", 0 if exists else 1) and not exists:
                    self._publish_boundaries(
                        conn,
                        boundary_geojson() if callable(boundary_geojson) else boundary_geojson,
                        SEED_AUTHOR,
                        "initial boundaries from the city folder",
                        effective=SINCE_ALWAYS,
                        action="seed",
                    )
        return done

    def _seeded_parts(self, conn: sa.Connection, config: CityConfig) -> set[str]:
        """The ``seeded:PART`` keys in ``meta``; ``ConfigError`` when another city seeded them."""
        rows = conn.execute(
            sa.select(t.meta.c.key, t.meta.c.value).where(t.meta.c.key.like("seeded:%"))
        ).all()
        owners = {json.loads(row.value).get("city") for row in rows if row.value} - {None}
        if owners and owners != {config.name}:
            raise ConfigError(
                f"the database {self.url} holds the live state of {sorted(owners)[0]!r}, "
                f"not of {config.name!r}: give this city its own database "
                "(--database-url or CYCLEMAP_DATABASE_URL)"
            )
        return {row.key for row in rows}

    # ------------------------------------------------------------------ notes
    @staticmethod
    def _row_note(row: Any) -> Note:
        return Note(
            id=row.id,
            title=row.title,
            body_markdown=row.body,
            cycles=_cycles_value(row.cycles),
            posted=row.posted,
            updated=row.updated,
            starts=row.starts,
            ends=row.ends,
            display_order=row.display_order,
            expired=row.expired_at is not None,
            title_es=row.title_es,
            body_es=row.body_es,
        )

    def _insert_note(self, conn: sa.Connection, note: Note, author: str, action: str) -> int:
        new_id = conn.execute(
            t.notes.insert()
            .values(
                **_note_columns(note),
                posted=note.posted,
                expired_at=self.clock() if note.expired else None,
                created=self.clock(),
            )
            .returning(t.notes.c.id)
        ).scalar_one()
        self._audit(
            conn,
            actor=author,
            action=action,
            entity="note",
            entity_id=new_id,
            after=replace(note, id=new_id).to_record(),
        )
        return new_id

    def list_notes(
        self, today: dt.date, cycle: str | None = None, include_all: bool = False
    ) -> list[Note]:
        """The notes shown on ``today`` (to ``cycle``, or to anyone), in display order.

        ``include_all`` lists every note, expired and future ones too (for staff).
        """
        with self._read() as conn:
            notes = [self._row_note(r) for r in conn.execute(sa.select(t.notes))]
        notes = [n for n in notes if n.applies_to(cycle) and (include_all or n.shown_on(today))]
        return sort_notes(notes)

    def get_note(self, note_id: int) -> Note:
        """One note by id; ``NotFoundError`` when there is none."""
        with self._read() as conn:
            row = conn.execute(sa.select(t.notes).where(t.notes.c.id == note_id)).first()
        if row is None:
            raise NotFoundError(f"there is no note {note_id}")
        return self._row_note(row)

    def add_note(
        self,
        *,
        title: str,
        body: str,
        cycles: Cycles | Iterable[str],
        author: str,
        today: dt.date,
        starts: dt.date | str | None = None,
        ends: dt.date | str | None = None,
        display_order: int = 0,
        known_cycles: Iterable[str] | None = None,
        title_es: str | None = None,
        body_es: str | None = None,
    ) -> int:
        """Add a note posted ``today``; return its id. ``InputError`` says what is wrong
        (an empty ``body`` is refused, as is a ``display_order`` outside ``notes.MIN_ORDER`` ..
        ``notes.MAX_ORDER``, or a Spanish title without a Spanish body and the reverse).

        ``known_cycles`` (the city's cycle ids), when given, rejects notes for unknown cycles.
        """
        note = Note(
            id=None,
            title=title,
            body_markdown=body,
            cycles=normalize_cycles(cycles),
            posted=today,
            updated=today,
            starts=parse_date(starts, "starts"),
            ends=parse_date(ends, "ends"),
            display_order=display_order,
            title_es=title_es,
            body_es=body_es,
        ).validated(known_cycles)
        note.require_body()
        with self._write() as conn:
            return self._insert_note(conn, note, author, action="add")

    def edit_note(
        self,
        note_id: int,
        *,
        author: str,
        today: dt.date,
        known_cycles: Iterable[str] | None = None,
        **changes: Any,
    ) -> Note:
        """Change fields of a note (``title``, ``body``, ``title_es``, ``body_es``, ``cycles``,
        ``starts``, ``ends``, ``display_order``); ``updated`` becomes ``today``. Returns the note
        as changed. An empty ``title_es`` and ``body_es`` take the Spanish text away.

        >>> store = Store("sqlite://")
        >>> _ = store.upgrade()
        >>> nid = store.add_note(title="Bills late", body="Soon.", cycles=["3"], author="alice",
        ...                      today=dt.date(2020, 2, 20))
        >>> store.edit_note(nid, author="bob", today=dt.date(2020, 2, 21), cycles="all").updated
        datetime.date(2020, 2, 21)
        >>> [(e.actor, e.before and e.before["cycles"]) for e in store.note_history(nid)]
        [('alice', None), ('bob', ['3'])]
        """
        unknown = sorted(set(changes) - set(_NOTE_FIELDS))
        if unknown:
            raise InputError(f"a note has no field {', '.join(unknown)}")
        if not changes:
            raise InputError("nothing to change: give at least one new value")
        if "body" in changes:
            changes["body_markdown"] = changes.pop("body")
        if "cycles" in changes and not isinstance(changes["cycles"], str):
            changes["cycles"] = tuple(changes["cycles"])
        with self._write() as conn:
            before = self._locked_note(conn, note_id)
            after = replace(before, **changes, updated=today).validated(known_cycles)
            if "body_markdown" in changes:
                after.require_body()
            conn.execute(
                t.notes.update().where(t.notes.c.id == note_id).values(**_note_columns(after))
            )
            self._audit_note(conn, author, "edit", before, after)
        return after

    def expire_note(self, note_id: int, *, author: str) -> Note:
        """Take a note down now. It is kept, with its history; expiring twice changes nothing.

        >>> store = Store("sqlite://")
        >>> _ = store.upgrade()
        >>> today = dt.date(2020, 2, 20)
        >>> nid = store.add_note(title="t", body="b", cycles="all", author="a", today=today)
        >>> store.expire_note(nid, author="a").expired, store.list_notes(today)
        (True, [])
        >>> [n.id for n in store.list_notes(today, include_all=True)] == [nid]
        True
        """
        with self._write() as conn:
            before = self._locked_note(conn, note_id)
            if before.expired:
                return before
            conn.execute(
                t.notes.update().where(t.notes.c.id == note_id).values(expired_at=self.clock())
            )
            after = replace(before, expired=True)
            self._audit_note(conn, author, "expire", before, after)
        return after

    def _locked_note(self, conn: sa.Connection, note_id: int) -> Note:
        """The note, its row locked for the rest of the write; ``NotFoundError`` if none."""
        row = conn.execute(
            sa.select(t.notes).where(t.notes.c.id == note_id).with_for_update()
        ).first()
        if row is None:
            raise NotFoundError(f"there is no note {note_id}")
        return self._row_note(row)

    def _audit_note(
        self, conn: sa.Connection, author: str, action: str, before: Note, after: Note
    ) -> None:
        self._audit(
            conn,
            actor=author,
            action=action,
            entity="note",
            entity_id=before.id,
            before=before.to_record(),
            after=after.to_record(),
        )

    def note_history(self, note_id: int) -> list[AuditEntry]:
        """Every recorded change to a note, oldest first."""
        return self.audit_log(entity="note", entity_id=note_id, limit=None)[::-1]

    # ------------------------------------------------------------------ schedule exceptions
    def _insert_exception(
        self, conn: sa.Connection, exc: ScheduleException, author: str, action: str
    ) -> int:
        new_id = conn.execute(
            t.schedule_exceptions.insert()
            .values(
                kind=exc.kind,
                date=exc.date,
                until=exc.until,
                new_date=exc.new_date,
                cycles=_cycles_text(exc.cycles),
                text=exc.text,
                created=self.clock(),
            )
            .returning(t.schedule_exceptions.c.id)
        ).scalar_one()
        self._audit(
            conn,
            actor=author,
            action=action,
            entity="exception",
            entity_id=new_id,
            after=exc.to_mapping(),
        )
        return new_id

    def list_exceptions(self) -> list[ScheduleException]:
        """Every schedule exception, by date (give them to ``schedule.schedules_for``)."""
        q = sa.select(t.schedule_exceptions).order_by(
            t.schedule_exceptions.c.date, t.schedule_exceptions.c.id
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [
            ScheduleException(
                kind=r.kind,
                date=r.date,
                cycles=_cycles_value(r.cycles),
                text=r.text,
                until=r.until,
                new_date=r.new_date,
                id=r.id,
            )
            for r in rows
        ]

    def add_exception(
        self, exception: ScheduleException | Mapping[str, Any], *, author: str
    ) -> int:
        """Add a schedule exception (an object or an ``[[exceptions]]``-style mapping).

        >>> store = Store("sqlite://")
        >>> _ = store.upgrade()
        >>> eid = store.add_exception({"kind": "no_disconnect", "date": "2020-02-26",
        ...     "cycles": "all", "text": "No services will be disconnected on 2/26/20."},
        ...     author="clerk")
        >>> [(e.id, e.kind, e.date.isoformat()) for e in store.list_exceptions()] == [
        ...     (eid, "no_disconnect", "2020-02-26")]
        True
        """
        if not isinstance(exception, ScheduleException):
            exception = ScheduleException.from_mapping(exception)
        with self._write() as conn:
            return self._insert_exception(conn, exception, author, action="add")

    def remove_exception(self, exception_id: int, *, author: str) -> None:
        """Delete a schedule exception (the audit log keeps what it was)."""
        table = t.schedule_exceptions
        with self._write() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == exception_id)).first()
            if row is None:
                raise NotFoundError(f"there is no schedule exception {exception_id}")
            conn.execute(table.delete().where(table.c.id == exception_id))
            before = {k: v for k, v in row._mapping.items() if k not in ("id", "created")}
            self._audit(
                conn,
                actor=author,
                action="remove",
                entity="exception",
                entity_id=exception_id,
                before=before,
            )
