"""Versioned layers: boundary and address versions, each made live by one pointer switch.

Every publish stores a new version (never changed afterwards) and moves the single ``live`` row
to it in the same transaction; a rollback moves the pointer back. A reader sees either the old
or the new version, never a mix. ``cyclemap.store.Store`` includes these methods.

>>> from cyclemap.store import Store
>>> store = Store("sqlite://")
>>> _ = store.upgrade()
>>> zones = {"type": "FeatureCollection", "features": []}
>>> store.publish_boundaries(zones, "alice", "first cut"), store.publish_boundaries(
...     zones, "bob", "move Sprigg St to Cycle 3")
(1, 2)
>>> store.rollback_boundaries(1, "carol")
>>> [(v.version, v.author, v.live) for v in store.boundary_history()]
[(2, 'bob', False), (1, 'alice', True)]
>>> store.live_boundaries().version
1
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from ..errors import InputError, NotFoundError
from . import schema as t
from .engine import StoreBase


@dataclass(frozen=True)
class VersionInfo:
    """One published boundary or address version (without its data)."""

    version: int
    author: str
    created: dt.datetime
    message: str
    effective: dt.date | None
    live: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (ISO dates)."""
        return {
            "version": self.version,
            "author": self.author,
            "created": self.created.isoformat(),
            "message": self.message,
            "effective": self.effective.isoformat() if self.effective else None,
            "live": self.live,
        }


class LiveBoundaries(NamedTuple):
    """The live boundary version and its GeoJSON (unpacks as ``version, geojson``)."""

    version: int
    geojson: dict


class LiveAddresses(NamedTuple):
    """The live address layer version, its bytes and their format (e.g. ``"csv"``)."""

    version: int
    data: bytes
    format: str


class VersionStore(StoreBase):
    """Boundary and address layer versions (see the module docstring)."""

    def _publish_boundaries(
        self,
        conn: sa.Connection,
        geojson: dict,
        author: str,
        message: str,
        effective: dt.date | None = None,
    ) -> int:
        if not isinstance(geojson, dict) or geojson.get("type") != "FeatureCollection":
            raise InputError("boundaries must be a GeoJSON FeatureCollection")
        try:
            text = json.dumps(geojson, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"boundaries cannot be stored as GeoJSON: {exc}") from exc
        version = conn.execute(
            t.boundary_versions.insert()
            .values(
                geojson=text,
                author=author,
                created=self.clock(),
                message=message,
                effective=effective,
            )
            .returning(t.boundary_versions.c.version)
        ).scalar_one()
        self._switch(conn, "boundary", version, author, "publish", message=message)
        return version

    def _switch(
        self, conn: sa.Connection, kind: str, version: int, author: str, action: str, **info: Any
    ) -> None:
        column = f"{kind}_version"
        old = conn.execute(
            sa.select(t.live.c[column]).where(t.live.c.id == 1).with_for_update()
        ).scalar_one()
        conn.execute(
            t.live.update()
            .where(t.live.c.id == 1)
            .values({column: version, "changed": self.clock()})
        )
        self._audit(
            conn,
            actor=author,
            action=action,
            entity="boundaries" if kind == "boundary" else "addresses",
            entity_id=version,
            before={"live_version": old},
            after={"live_version": version, **info},
        )

    def publish_boundaries(
        self, geojson: dict, author: str, message: str, effective: dt.date | None = None
    ) -> int:
        """Store a new boundary version and make it live, in one transaction; return its number.

        Validating the zones is the caller's job (``boundaries.validate_boundaries``).
        """
        if not message or not message.strip():
            raise InputError("say what changed: a publish needs a message")
        with self._write() as conn:
            return self._publish_boundaries(conn, geojson, author, message.strip(), effective)

    def live_boundary_version(self) -> int | None:
        """The live boundary version number (cheap; for processes polling for a switch)."""
        with self._read() as conn:
            return conn.scalar(sa.select(t.live.c.boundary_version).where(t.live.c.id == 1))

    def live_boundaries(self) -> LiveBoundaries | None:
        """``(version, geojson)`` of the live boundaries, or ``None`` before the first publish."""
        q = (
            sa.select(t.boundary_versions.c.version, t.boundary_versions.c.geojson)
            .select_from(t.live.join(t.boundary_versions))
            .where(t.live.c.id == 1)
        )
        with self._read() as conn:
            row = conn.execute(q).first()
        return None if row is None else LiveBoundaries(row.version, json.loads(row.geojson))

    def get_boundaries(self, version: int) -> dict:
        """The GeoJSON of one boundary version; ``NotFoundError`` when there is none."""
        q = sa.select(t.boundary_versions.c.geojson).where(t.boundary_versions.c.version == version)
        with self._read() as conn:
            text = conn.scalar(q)
        if text is None:
            raise NotFoundError(f"there is no boundary version {version}")
        return json.loads(text)

    def _history(self, table: sa.Table, column: str) -> list[VersionInfo]:
        q = sa.select(
            table.c.version, table.c.author, table.c.created, table.c.message, table.c.effective
        ).order_by(table.c.version.desc())
        with self._read() as conn:
            live_version = conn.scalar(sa.select(t.live.c[column]).where(t.live.c.id == 1))
            rows = conn.execute(q).all()
        return [
            VersionInfo(
                r.version, r.author, r.created, r.message, r.effective, r.version == live_version
            )
            for r in rows
        ]

    def boundary_history(self) -> list[VersionInfo]:
        """Every boundary version, newest first, with author, time, message and which is live."""
        return self._history(t.boundary_versions, "boundary_version")

    def _rollback(self, table: sa.Table, kind: str, version: int, author: str) -> None:
        with self._write() as conn:
            exists = conn.scalar(sa.select(table.c.version).where(table.c.version == version))
            if exists is None:
                raise NotFoundError(f"there is no {kind} version {version}")
            self._switch(conn, kind, version, author, "rollback")

    def rollback_boundaries(self, version: int, author: str) -> None:
        """Make an earlier (or any stored) boundary version live again, in one transaction."""
        self._rollback(t.boundary_versions, "boundary", version, author)

    def publish_addresses(
        self,
        data: bytes | str,
        *,
        author: str,
        message: str,
        format: str = "csv",
        effective: dt.date | None = None,
    ) -> int:
        """Store a new address layer version (the file's bytes) and make it live."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not data:
            raise InputError("the address layer is empty")
        if not message or not message.strip():
            raise InputError("say what changed: a publish needs a message")
        with self._write() as conn:
            version = conn.execute(
                t.address_versions.insert()
                .values(
                    data=data,
                    format=format,
                    author=author,
                    created=self.clock(),
                    message=message.strip(),
                    effective=effective,
                )
                .returning(t.address_versions.c.version)
            ).scalar_one()
            self._switch(conn, "address", version, author, "publish", message=message.strip())
        return version

    def live_addresses(self) -> LiveAddresses | None:
        """``(version, data, format)`` of the live address layer, or ``None``."""
        av = t.address_versions
        q = (
            sa.select(av.c.version, av.c.data, av.c.format)
            .select_from(t.live.join(av))
            .where(t.live.c.id == 1)
        )
        with self._read() as conn:
            row = conn.execute(q).first()
        return None if row is None else LiveAddresses(row.version, bytes(row.data), row.format)

    def address_history(self) -> list[VersionInfo]:
        """Every address layer version, newest first."""
        return self._history(t.address_versions, "address_version")

    def rollback_addresses(self, version: int, author: str) -> None:
        """Make a stored address layer version live again."""
        self._rollback(t.address_versions, "address", version, author)
