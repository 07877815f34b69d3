"""The store's engine and plumbing: connections, transactions, migrations, the audit log.

``StoreBase`` opens the database named by a SQLAlchemy URL: an SQLite file (WAL mode, foreign keys
on, a busy timeout, write transactions started with ``BEGIN IMMEDIATE`` so that writers queue
instead of failing midway) or PostgreSQL through psycopg 3. ``cyclemap.store.Store`` builds the
city's data on it; use that.

A database that cannot be reached or read (a stopped server, a refused or timed-out connection,
an SQLite file that cannot be opened) raises ``StoreUnavailableError`` with a one-line reason,
from every read and write alike; nothing is retried here (``City`` keeps serving its snapshot
and tries again later). A pooled SQLite connection is checked against its file each time it
is taken from the pool: a file made unreadable, removed or replaced (a backup restored) closes
it and a new one is opened, so the change is noticed at once rather than read past through a
file the connection still holds open.

>>> base = StoreBase("sqlite://")
>>> base.revision() is None, base.upgrade(), base.revision()
(True, '0006', '0006')
>>> base.audit_log()
[]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import ConfigError, InputError, StoreError, StoreUnavailableError
from . import schema as t

#: how long an SQLite writer waits for another one before giving up
SQLITE_BUSY_TIMEOUT_S = 30.0
#: how long a PostgreSQL connection attempt may take (unless the URL sets ``connect_timeout``):
#: an unreachable host then fails in seconds, not after the system's TCP timeout (minutes)
PG_CONNECT_TIMEOUT_S = 5
#: PostgreSQL advisory lock key (transaction scoped) held while migrating
_PG_MIGRATE_LOCK = 0x6379_636C_0001
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class AuditEntry:
    """One change: who, when, what action on which entity, and the record before and after."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
        }


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class StoreBase:
    """A database over a SQLAlchemy URL (SQLite file or PostgreSQL), migrated by Alembic.

    ``clock`` returns the current aware datetime (audit times, version times); tests may set
    it. ``today`` returns the city's day, which decides from when a version published "now"
    is in force; without it the clock's UTC date is used (``open_city`` binds the city's own
    clock to a store that has none). Safe to use from several threads and processes at once.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        self.clock = clock or _utcnow
        self.today = today
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError(f"not a database URL: {url!r}") from exc
        self.backend = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        sqlite_file: Path | None = None
        if self.backend == "sqlite":
            db = parsed.database
            if db and db != ":memory:" and not db.startswith("file:"):
                Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
                sqlite_file = Path(db).expanduser()
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        else:
            kwargs["pool_pre_ping"] = True
            libpq = ("postgresql", "postgresql+psycopg", "postgresql+psycopg2")
            if parsed.drivername in libpq and "connect_timeout" not in parsed.query:
                kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        # a statement's parameters are what residents typed (miss keys) and what staff wrote:
        # they stay out of error messages, and so out of every log that prints one
        kwargs["hide_parameters"] = True
        try:
            self.engine = sa.create_engine(parsed, **kwargs)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigError(f"cannot use database URL {self.safe_url(url)}: {exc}") from exc
        if self.backend == "sqlite":
            _sqlite_setup(self.engine, sqlite_file)
        self._writer = self.engine.execution_options(cyclemap_write=True)
        #: committed writes made through this object; readers that cache (``City``) compare it
        #: to see this process's own changes at once
        self.writes = 0

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def safe_url(url: str) -> str:
        """The URL with any password masked, for messages.

        >>> StoreBase.safe_url("postgresql+psycopg://app:s3cret@db/cyclemap")
        'postgresql+psycopg://app:***@db/cyclemap'
        """
        try:
            return sa.engine.make_url(url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            return "<unreadable URL>"

    @property
    def url(self) -> str:
        """The database URL, password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self, lock: int | None = None, *, counted: bool = True) -> Iterator[sa.Connection]:
        """One write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: optional lock).

        ``counted=False``: a write no cached reader depends on (miss counts), so ``writes``
        stays put and no ``City`` reloads its snapshot for it.
        """
        try:
            with self._writer.begin() as conn:
                if lock is not None and self.backend == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
                yield conn
        except sa.exc.DBAPIError as exc:
            if not is_unavailable(exc):
                raise
            raise StoreUnavailableError(
                f"the database ({self.url}) cannot be used right now, so nothing was changed: "
                f"{one_line(exc)}"
            ) from exc
        finally:
            if counted:
                self.writes += 1

    @contextlib.contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            if not is_unavailable(exc):
                raise
            raise StoreUnavailableError(
                f"the database ({self.url}) cannot be read right now: {one_line(exc)}"
            ) from exc

    def _audit(
        self,
        conn: sa.Connection,
        *,
        actor: str,
        action: str,
        entity: str,
        entity_id: Any = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        if not actor or not str(actor).strip():
            raise InputError("every change needs an author")
        conn.execute(
            t.audit_log.insert().values(
                at=self.clock(),
                actor=str(actor)[:100],
                action=action,
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                before=_dump(before),
                after=_dump(after),
            )
        )

    # ------------------------------------------------------------------ schema
    def upgrade(self, revision: str = "head") -> str | None:
        """Apply pending migrations up to ``revision``; return the revision now current.

        Safe when several processes start at once: the migration runs in one transaction that
        holds a lock (SQLite's write lock, a PostgreSQL advisory lock).
        """
        if revision == "head":
            current = self._current_if_head()
            if current is not None:
                return current  # nothing to apply: a CLI call need not load Alembic at all
        from alembic import command
        from alembic.util import CommandError

        cfg = _alembic_config(self.engine.url.render_as_string(hide_password=False))
        try:
            with self._write(lock=_PG_MIGRATE_LOCK) as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except CommandError as exc:
            raise StoreError(
                f"cannot migrate {self.url} to {revision}: {exc} (is the database from a newer "
                "version of cyclemap?)"
            ) from exc
        except StoreUnavailableError as exc:  # what every command and the server do first
            cause = exc.__cause__ or exc
            raise StoreUnavailableError(
                f"cannot open the database ({self.url}): {one_line(cause)}"
            ) from cause
        return self.revision()

    def _current_if_head(self) -> str | None:
        """The database's revision when it is already the newest this code knows, else None.

        Read with one plain query, the head from the migration files' ``revision`` and
        ``down_revision`` lines; anything unexpected answers None (then Alembic decides).
        """
        head = _head_from_files()
        if head is None:
            return None
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        except sa.exc.SQLAlchemyError:
            return None
        return head if [r[0] for r in rows] == [head] else None

    def revision(self) -> str | None:
        """The schema revision of the database (``None`` before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision this code knows.

        >>> StoreBase.head_revision()
        '0006'
        """
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
        assert head is not None, "store/migrations has no revision"
        return head

    # ------------------------------------------------------------------ audit
    def audit_log(
        self,
        entity: str | None = None,
        entity_id: Any = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Recorded changes, newest first, optionally for one entity (``"note"``, ...).

        ``limit`` and ``offset`` page through them (``audit_count`` says how many there are).
        """
        a = t.audit_log
        q = _audit_filter(sa.select(a), entity, entity_id).order_by(a.c.id.desc())
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [
            AuditEntry(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                entity=r.entity,
                entity_id=r.entity_id,
                before=None if r.before is None else json.loads(r.before),
                after=None if r.after is None else json.loads(r.after),
            )
            for r in rows
        ]

    def audit_count(self, entity: str | None = None, entity_id: Any = None) -> int:
        """How many changes ``audit_log`` would list without a limit."""
        q = _audit_filter(sa.select(sa.func.count()).select_from(t.audit_log), entity, entity_id)
        with self._read() as conn:
            return conn.scalar(q)


def is_unavailable(exc: sa.exc.DBAPIError) -> bool:
    """True when a database error says the database cannot be reached or read (the server is
    down or gone, the connection failed or broke, the SQLite file cannot be opened or is not a
    database), rather than that one statement was refused (a constraint, bad SQL).

    >>> is_unavailable(sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused")))
    True
    >>> is_unavailable(sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE failed")))
    False
    """
    return (
        isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
        or exc.connection_invalidated
        or type(exc) is sa.exc.DatabaseError  # SQLite: "file is not a database"
    )


def one_line(exc: BaseException) -> str:
    """The driver's message of a database error on one line (psycopg's span several).

    >>> one_line(sa.exc.OperationalError("x", {}, Exception("connection failed:\\n\\tIs it up?")))
    'connection failed: Is it up?'
    """
    text = str(getattr(exc, "orig", None) or exc)
    flat = " ".join(text.split())
    return flat if len(flat) <= 300 else flat[:297] + "..."


def _audit_filter(q: sa.Select, entity: str | None, entity_id: Any) -> sa.Select:
    if entity is not None:
        q = q.where(t.audit_log.c.entity == entity)
    if entity_id is not None:
        q = q.where(t.audit_log.c.entity_id == str(entity_id))
    return q


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (once: the mode is kept in the file).

    Switching needs the database to itself, and SQLite answers "database is locked" at once,
    without waiting for the busy timeout, while another process holds a lock, as happens when
    two servers start on a new file together: so look first, and retry briefly.
    """
    for attempt in range(100):
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if mode.lower() not in ("wal", "memory"):
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def _file_id(path: Path) -> tuple[int, int] | None:
    """The file's identity (device, inode) when this process may read it, else None (a file
    that is only read-only still counts: reads go on, writes fail with the database's error)."""
    try:
        found = path.stat()
    except OSError:
        return None
    if not os.access(path, os.R_OK):
        return None
    return found.st_dev, found.st_ino


def _sqlite_setup(engine: sa.Engine, path: Path | None = None) -> None:
    """Pragmas on every new SQLite connection, transactions begun by us, and (for a file,
    ``path``) a check of the file each time a pooled connection is taken.

    pysqlite's own transaction handling is turned off so that a write transaction can start
    with ``BEGIN IMMEDIATE``: it takes the write lock up front (waiting up to the busy timeout)
    instead of failing midway when two processes both read then write.

    A connection keeps its file open, so it would go on reading a file made unreadable, or
    the old copy of one replaced, and never notice; the check (a ``stat``, microseconds) makes
    the pool open a new connection instead, which then fails (or reads the new file).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        if path is not None:
            record.info["cyclemap_file"] = _file_id(path)
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    if path is not None:

        @event.listens_for(engine, "checkout")
        def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            kept = record.info.get("cyclemap_file")
            if kept is not None and _file_id(path) != kept:
                raise sa.exc.DisconnectionError(f"{path} changed or cannot be read")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("cyclemap_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@functools.cache
def _head_from_files() -> str | None:
    """The newest revision in ``migrations/versions`` read from the files' text (no Alembic):
    the one revision no other names as its ``down_revision``; None when that is not one.

    >>> _head_from_files() == StoreBase.head_revision()
    True
    """
    import re

    revisions, downs = set(), set()
    folder = Path(__file__).resolve().parent / "migrations" / "versions"
    for path in folder.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']", text, re.M)
        down = re.search(r"^down_revision\b[^=]*=\s*(.+)$", text, re.M)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        downs.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None
