"""The store's tables as SQLAlchemy Core objects, for building queries.

The schema itself is made by the Alembic migrations in ``store/migrations/versions/``; these
definitions mirror the head revision (a test compares the two) and are never used to create
tables.

>>> sorted(metadata.tables)
['address_versions', 'aliases', 'audit_log', 'boundary_versions', 'live', 'lookup_misses', \
'meta', 'notes', 'schedule_exceptions', 'staff', 'staged_uploads', 'version_activations']
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()


class UTCDateTime(TypeDecorator):
    """An aware UTC timestamp on every backend (SQLite keeps no offset: it is added back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps stored must be aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: one row per fact about the database itself, e.g. ``seeded:notes``
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # "all" or a JSON list of cycle ids
    sa.Column("cycles", sa.Text, nullable=False),
    sa.Column("posted", sa.Date, nullable=False),
    sa.Column("updated", sa.Date, nullable=False),
    sa.Column("starts", sa.Date, nullable=True),
    sa.Column("ends", sa.Date, nullable=True),
    sa.Column("expired_at", UTCDateTime, nullable=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("display_order", sa.Integer, nullable=False, server_default=sa.text("0")),
    # the note's Spanish text (both or neither; migration 0005)
    sa.Column("title_es", sa.String(200), nullable=True),
    sa.Column("body_es", sa.Text, nullable=True),
)

schedule_exceptions = sa.Table(
    "schedule_exceptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("until", sa.Date, nullable=True),
    sa.Column("new_date", sa.Date, nullable=True),
    sa.Column("cycles", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
)

boundary_versions = sa.Table(
    "boundary_versions",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("geojson", sa.Text, nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("effective", sa.Date, nullable=True),
)

address_versions = sa.Table(
    "address_versions",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("effective", sa.Date, nullable=True),
)

#: the single row (id = 1) pointing at the live boundary and address versions
live = sa.Table(
    "live",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "boundary_version",
        sa.Integer,
        sa.ForeignKey("boundary_versions.version", name="fk_live_boundary_version"),
        nullable=True,
    ),
    sa.Column(
        "address_version",
        sa.Integer,
        sa.ForeignKey("address_versions.version", name="fk_live_address_version"),
        nullable=True,
    ),
    sa.Column("changed", UTCDateTime, nullable=True),
    sa.CheckConstraint("id = 1", name="ck_live_single_row"),
)

#: every publish and rollback: which version is in force from which day (city time); the one in
#: force on a day is the activation with the latest (effective, id) on or before it
version_activations = sa.Table(
    "version_activations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # boundary | address
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("effective", sa.Date, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # seed | publish | rollback
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.CheckConstraint("kind IN ('boundary', 'address')", name="ck_activation_kind"),
    sa.Index("ix_version_activations_kind_effective", "kind", "effective", "id"),
)

#: a checked upload waiting for its publish (kept here so that any server can publish it)
staged_uploads = sa.Table(
    "staged_uploads",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Index("ix_staged_uploads_created", "created"),
)

#: lookups that ended not_found or ambiguous, by normalized query: ``kind`` street keys the
#: normalized street alone (no house number, no resident's address); ``kind`` address keys the
#: normalized typed address with the place the resident confirmed (``chosen``)
lookup_misses = sa.Table(
    "lookup_misses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # street | address
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("chosen", sa.String(200), nullable=False, server_default=""),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("not_found", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("ambiguous", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.UniqueConstraint("kind", "key", "chosen", name="uq_lookup_misses_key"),
    sa.CheckConstraint("kind IN ('street', 'address')", name="ck_lookup_misses_kind"),
    sa.Index("ix_lookup_misses_status_count", "status", "count"),
)

#: street aliases and single-address corrections; one row per version of an alias (an edit
#: retires the row and adds the next version of the same ``alias_id``)
aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alias_id", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # street | address
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("retired", UTCDateTime, nullable=True),
    sa.Column("retired_by", sa.String(100), nullable=True),
    sa.UniqueConstraint("alias_id", "version", name="uq_aliases_version"),
    sa.CheckConstraint("kind IN ('street', 'address')", name="ck_aliases_kind"),
    sa.Index("ix_aliases_retired", "retired"),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # editor | publisher | admin (see interface.md, "Roles")
    sa.Column("role", sa.String(16), nullable=False, server_default="editor"),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("username", name="uq_staff_username"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=True),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Index("ix_audit_log_entity", "entity", "entity_id"),
    sa.Index("ix_audit_log_at", "at"),
)
