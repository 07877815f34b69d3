"""Versioned layers: boundary and address versions on a timeline of activations.

Every publish stores a new version (never changed afterwards) and adds an *activation* saying
from which day (city time) it is in force; a rollback adds an activation of an older version.
The version in force on a day is the activation with the latest ``(effective, id)`` whose
``effective`` is on or before that day. So a version scheduled for a future date goes live on
that date, on every server, without anyone acting; and a publish is one transaction (the version
row and its activation), so a reader sees either the old or the new version, never a mix.
``cyclemap.store.Store`` includes these methods.

>>> import datetime as dt
>>> from cyclemap.store import Store
>>> store = Store("sqlite://")
>>> _ = store.upgrade()
>>> zones = {"type": "FeatureCollection", "features": []}
>>> day = dt.date(2020, 2, 21)
>>> store.publish_boundaries(zones, "alice", "first cut", today=day), store.publish_boundaries(
...     zones, "bob", "move Sprigg St to Cycle 3", effective=dt.date(2020, 3, 1), today=day)
(1, 2)
>>> store.live_boundary_version(on=day), store.live_boundary_version(on=dt.date(2020, 3, 1))
(1, 2)
>>> [(h.version, h.author, h.state) for h in store.boundary_history(today=day)]
[(2, 'bob', 'scheduled'), (1, 'alice', 'live')]
>>> store.rollback_boundaries(1, "carol", today=dt.date(2020, 3, 2))
>>> [(h.version, h.action, h.state) for h in store.boundary_history(today=dt.date(2020, 3, 2))]
[(1, 'rollback', 'live'), (2, 'publish', 'past'), (1, 'publish', 'past')]
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa

from ..errors import InputError, NotFoundError
from . import schema as t
from .engine import StoreBase

#: the effective day of versions in force "since always" (the seed, versions from before 0003)
SINCE_ALWAYS = dt.date(1, 1, 1)

Kind = Literal["boundary", "address"]
_TABLES = {"boundary": t.boundary_versions, "address": t.address_versions}


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a layer's history: a publish or a rollback of a version (without its data).

    ``effective`` is the day the entry takes (or took) effect, None for an entry in force since
    always (the seed); ``state`` is ``live`` (in force today), ``scheduled`` (takes effect on a
    later day) or ``past``; ``action`` is ``seed``, ``publish`` or ``rollback``.
    """

    version: int
    author: str
    created: dt.datetime
    message: str
    effective: dt.date | None
    state: str
    action: str = "publish"
    entry: int = 0

    @property
    def live(self) -> bool:
        """Whether this entry is the one in force today."""
        return self.state == "live"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (ISO dates), as ``boundaries history --json`` prints them."""
        return {
            "version": self.version,
            "author": self.author,
            "created": self.created.isoformat(),
            "effective": self.effective.isoformat() if self.effective else None,
            "message": self.message,
            "state": self.state,
            "action": self.action,
        }


class Activation(NamedTuple):
    """One row of the timeline: ``version`` is in force from ``effective`` (ties: higher ``id``)."""

    id: int
    version: int
    effective: dt.date


class LiveBoundaries(NamedTuple):
    """The boundary version in force and its GeoJSON (unpacks as ``version, geojson``)."""

    version: int
    geojson: dict


class LiveAddresses(NamedTuple):
    """The address layer version in force, its bytes and their format (e.g. ``"csv"``)."""

    version: int
    data: bytes
    format: str


def in_force(timeline: list[Activation], on: dt.date) -> int | None:
    """The version in force on a day, from a timeline in ``(effective, id)`` order.

    >>> tl = [Activation(1, 1, SINCE_ALWAYS), Activation(3, 1, dt.date(2020, 3, 2)),
    ...       Activation(2, 2, dt.date(2020, 3, 1))]
    >>> tl.sort(key=lambda a: (a.effective, a.id))
    >>> [in_force(tl, dt.date(2020, 2, d)) for d in (28, 29)], in_force(tl, dt.date(2020, 3, 1))
    ([1, 1], 2)
    >>> in_force(tl, dt.date(2020, 3, 2)), in_force([], dt.date(2020, 3, 2))
    (1, None)
    """
    version = None
    for act in timeline:
        if act.effective > on:
            break
        version = act.version
    return version


def upcoming(timeline: list[Activation], after: dt.date) -> list[tuple[dt.date, int]]:
    """``(day, version)`` for each later day on which the version in force changes.

    >>> tl = [Activation(1, 1, SINCE_ALWAYS), Activation(2, 2, dt.date(2020, 3, 1))]
    >>> upcoming(tl, dt.date(2020, 2, 21)), upcoming(tl, dt.date(2020, 3, 1))
    ([(datetime.date(2020, 3, 1), 2)], [])
    """
    current = in_force(timeline, after)
    changes: list[tuple[dt.date, int]] = []
    for act in timeline:
        if act.effective <= after:
            continue
        if changes and changes[-1][0] == act.effective:
            changes.pop()  # several entries on one day: the last one is in force
        previous = changes[-1][1] if changes else current
        if act.version != previous:
            changes.append((act.effective, act.version))
    return changes


class VersionStore(StoreBase):
    """Boundary and address layer versions and their timeline (see the module docstring)."""

    def _today(self, today: dt.date | None) -> dt.date:
        # the store knows no time zone: the city's day is passed, or bound as ``self.today``;
        # the clock's UTC date is the fallback for scripts
        if today is not None:
            return today
        return self.today() if self.today is not None else self.clock().date()

    def _activate(
        self,
        conn: sa.Connection,
        kind: Kind,
        version: int,
        *,
        effective: dt.date,
        action: str,
        author: str,
        message: str,
    ) -> None:
        conn.execute(
            t.version_activations.insert().values(
                kind=kind,
                version=version,
                effective=effective,
                action=action,
                author=author,
                created=self.clock(),
                message=message,
            )
        )
        # the ``live`` row stays the newest activation (kept for the schema's foreign keys and
        # the audit's before/after); what is in force on a day is read from the timeline
        column = f"{kind}_version"
        old = conn.execute(
            sa.select(t.live.c[column]).where(t.live.c.id == 1).with_for_update()
        ).scalar_one()
        conn.execute(
            t.live.update()
            .where(t.live.c.id == 1)
            .values({column: version, "changed": self.clock()})
        )
        after: dict[str, Any] = {"live_version": version, "effective": effective.isoformat()}
        if message:
            after["message"] = message
        self._audit(
            conn,
            actor=author,
            action=action,
            entity="boundaries" if kind == "boundary" else "addresses",
            entity_id=version,
            before={"live_version": old},
            after=after,
        )

    def _publish_boundaries(
        self,
        conn: sa.Connection,
        geojson: dict,
        author: str,
        message: str,
        effective: dt.date,
        action: str = "publish",
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
                effective=None if effective == SINCE_ALWAYS else effective,
            )
            .returning(t.boundary_versions.c.version)
        ).scalar_one()
        self._activate(
            conn,
            "boundary",
            version,
            effective=effective,
            action=action,
            author=author,
            message=message,
        )
        return version

    def publish_boundaries(
        self,
        geojson: dict,
        author: str,
        message: str,
        effective: dt.date | None = None,
        *,
        today: dt.date | None = None,
    ) -> int:
        """Store a new boundary version in force from ``effective`` (default: ``today``).

        One transaction: the version and its activation. Returns the version number.
        Validating the zones is the caller's job (``cyclemap.publishing`` does it).
        """
        message = _message(message)
        with self._write() as conn:
            return self._publish_boundaries(
                conn, geojson, author, message, effective or self._today(today)
            )

    def timeline(self, kind: Kind) -> list[Activation]:
        """Every activation of a layer in ``(effective, id)`` order (cheap: a few rows)."""
        a = t.version_activations
        q = (
            sa.select(a.c.id, a.c.version, a.c.effective)
            .where(a.c.kind == kind)
            .order_by(a.c.effective, a.c.id)
        )
        with self._read() as conn:
            return [Activation(r.id, r.version, r.effective) for r in conn.execute(q)]

    def live_boundary_version(self, on: dt.date | None = None) -> int | None:
        """The boundary version in force on a day (default: the store clock's date), or None."""
        return in_force(self.timeline("boundary"), self._today(on))

    def live_boundaries(self, on: dt.date | None = None) -> LiveBoundaries | None:
        """``(version, geojson)`` of the boundaries in force on a day, or None before any."""
        version = self.live_boundary_version(on)
        return None if version is None else LiveBoundaries(version, self.get_boundaries(version))

    def get_boundaries(self, version: int) -> dict:
        """The GeoJSON of one boundary version; ``NotFoundError`` when there is none."""
        q = sa.select(t.boundary_versions.c.geojson).where(t.boundary_versions.c.version == version)
        with self._read() as conn:
            text = conn.scalar(q)
        if text is None:
            raise NotFoundError(f"there is no boundary version {version}")
        return json.loads(text)

    def _history(self, kind: Kind, today: dt.date | None) -> list[VersionInfo]:
        a = t.version_activations
        q = (
            sa.select(
                a.c.id, a.c.version, a.c.author, a.c.created, a.c.message, a.c.effective, a.c.action
            )
            .where(a.c.kind == kind)
            .order_by(a.c.effective, a.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        day = self._today(today)
        live_entry = None
        for r in rows:
            if r.effective <= day:
                live_entry = r.id
        entries = [
            VersionInfo(
                version=r.version,
                author=r.author,
                created=r.created,
                message=r.message,
                effective=None if r.effective == SINCE_ALWAYS else r.effective,
                state="live"
                if r.id == live_entry
                else "scheduled"
                if r.effective > day
                else "past",
                action=r.action,
                entry=r.id,
            )
            for r in rows
        ]
        # newest first on the timeline: scheduled entries on top, then the one in force
        return sorted(entries, key=lambda e: (e.effective or SINCE_ALWAYS, e.entry), reverse=True)

    def boundary_history(self, today: dt.date | None = None) -> list[VersionInfo]:
        """Every publish and rollback of the boundaries, newest first, with its state today."""
        return self._history("boundary", today)

    def _rollback(
        self, kind: Kind, version: int, author: str, message: str | None, today: dt.date | None
    ) -> None:
        table = _TABLES[kind]
        with self._write() as conn:
            exists = conn.scalar(sa.select(table.c.version).where(table.c.version == version))
            if exists is None:
                raise NotFoundError(f"there is no {kind} version {version}")
            self._activate(
                conn,
                kind,
                version,
                effective=self._today(today),
                action="rollback",
                author=author,
                message=(message or "").strip() or f"rollback to version {version}",
            )

    def rollback_boundaries(
        self,
        version: int,
        author: str,
        message: str | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        """Make a stored boundary version the one in force from ``today``, as a new entry.

        A version scheduled for a later day still takes effect on its day.
        """
        self._rollback("boundary", version, author, message, today)

    def publish_addresses(
        self,
        data: bytes | str,
        *,
        author: str,
        message: str,
        format: str = "csv",
        effective: dt.date | None = None,
        today: dt.date | None = None,
    ) -> int:
        """Store a new address layer version (the file's bytes) in force from ``effective``."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not data:
            raise InputError("the address layer is empty")
        message = _message(message)
        with self._write() as conn:
            version = conn.execute(
                t.address_versions.insert()
                .values(
                    data=data,
                    format=format,
                    author=author,
                    created=self.clock(),
                    message=message,
                    effective=effective,
                )
                .returning(t.address_versions.c.version)
            ).scalar_one()
            self._activate(
                conn,
                "address",
                version,
                effective=effective or self._today(today),
                action="publish",
                author=author,
                message=message,
            )
        return version

    def live_address_version(self, on: dt.date | None = None) -> int | None:
        """The address layer version in force on a day, or None (the city folder's layer)."""
        return in_force(self.timeline("address"), self._today(on))

    def live_addresses(self, on: dt.date | None = None) -> LiveAddresses | None:
        """``(version, data, format)`` of the address layer in force on a day, or None."""
        version = self.live_address_version(on)
        return None if version is None else self.get_addresses(version)

    def get_addresses(self, version: int) -> LiveAddresses:
        """One stored address layer version; ``NotFoundError`` when there is none."""
        av = t.address_versions
        q = sa.select(av.c.version, av.c.data, av.c.format).where(av.c.version == version)
        with self._read() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise NotFoundError(f"there is no address version {version}")
        return LiveAddresses(row.version, bytes(row.data), row.format)

    def address_history(self, today: dt.date | None = None) -> list[VersionInfo]:
        """Every publish and rollback of the address layer, newest first."""
        return self._history("address", today)

    def rollback_addresses(
        self,
        version: int,
        author: str,
        message: str | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        """Make a stored address layer version the one in force from ``today``."""
        self._rollback("address", version, author, message, today)


class StagedUpload(NamedTuple):
    """An upload checked and previewed, waiting to be published."""

    token: str
    kind: str
    filename: str
    data: bytes
    author: str
    created: dt.datetime


class StagingStore(StoreBase):
    """Uploads kept between their preview and their publish, on any server."""

    def stage_upload(self, kind: str, filename: str, data: bytes, *, author: str) -> str:
        """Keep an upload for a later publish; return its token. Old ones are dropped."""
        import secrets

        token = secrets.token_urlsafe(24)
        now = self.clock()
        su = t.staged_uploads
        with self._write() as conn:
            conn.execute(su.delete().where(su.c.created < now - STAGED_FOR))
            conn.execute(
                su.insert().values(
                    token=token,
                    kind=kind,
                    filename=filename[:200],
                    data=data,
                    author=author,
                    created=now,
                )
            )
        return token

    def staged_upload(self, token: str, kind: str) -> StagedUpload:
        """An upload kept by ``stage_upload``; ``NotFoundError`` when unknown or too old."""
        su = t.staged_uploads
        q = sa.select(su).where(su.c.token == str(token)[:64], su.c.kind == kind)
        with self._read() as conn:
            row = conn.execute(q).first()
        if row is None or row.created < self.clock() - STAGED_FOR:
            raise NotFoundError("this upload is no longer kept: upload the file again")
        return StagedUpload(row.token, row.kind, row.filename, bytes(row.data), row.author,
                            row.created)  # fmt: skip

    def drop_staged(self, token: str) -> None:
        """Forget a staged upload (after its publish)."""
        with self._write() as conn:
            conn.execute(t.staged_uploads.delete().where(t.staged_uploads.c.token == token))


#: how long an upload waits for its publish
STAGED_FOR = dt.timedelta(hours=24)


def _message(message: str) -> str:
    if not message or not message.strip():
        raise InputError("say what changed: a publish needs a message")
    return message.strip()
