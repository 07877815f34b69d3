"""Lookup misses and the aliases staff attach to them: ``AliasStore``.

A *miss* is a lookup that ended ``not_found`` or ``ambiguous``. Misses are counted by a
normalized key that the caller makes (``cyclemap.misses``): the normalized street alone (kind
``street``: no house number, so no resident's address is kept), or, when the resident confirmed
one of the places offered, the normalized typed address with the place chosen (kind
``address``). Counting is not a staff change: it is neither audited nor counted in ``writes``.

An *alias* is a street alias (``MLK BLVD`` is ``MARTIN LUTHER KING JR BLVD``) or a correction
of one address (``12 OLD JACKSON RD`` is ``12 N KINGSHIGHWAY``). Aliases are versioned: an edit
retires the row in force and adds the next version of the same ``alias_id``; retiring one
retires its row. Every change is in the audit log (entity ``alias``). Which names are streets of
the layer is the geocoder's to say (``City.add_alias`` checks): the store keeps text.

>>> import datetime as dt
>>> from cyclemap.store import Store
>>> store = Store("sqlite://")
>>> _ = store.upgrade()
>>> a = store.add_alias("street", "MLK BLVD", "MARTIN LUTHER KING JR BLVD", author="clerk")
>>> b = store.edit_alias(a.alias_id, "N KINGSHIGHWAY", author="pat")
>>> (b.alias_id, b.version), [x.target for x in store.list_aliases()]
((1, 2), ['N KINGSHIGHWAY'])
>>> [e.action for e in store.alias_history(a.alias_id)]
['add', 'edit']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import InputError, NotFoundError
from . import schema as t
from .engine import AuditEntry, StoreBase

#: the kinds of alias (and of miss): another name of a street, a correction of one address
ALIAS_KINDS = ("street", "address")
#: what staff may say about a miss
MISS_STATUSES = ("open", "aliased", "dismissed")
#: the longest alias side (a street or an address, normalized)
MAX_ALIAS_TEXT = 200
#: PostgreSQL advisory lock key (transaction scoped) held while miss counts are added, so that
#: two servers adding the first count of one key do not both insert it
_PG_MISS_LOCK = 0x6379_636C_0003


@dataclass(frozen=True)
class Alias:
    """One version of an alias: ``source`` (normalized) is read as ``target``."""

    id: int
    alias_id: int
    version: int
    kind: str
    source: str
    target: str
    message: str
    author: str
    created: dt.datetime
    retired: dt.datetime | None = None
    retired_by: str | None = None

    @property
    def active(self) -> bool:
        """Whether this version is in force (not retired)."""
        return self.retired is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the audit log's record too)."""
        return {
            "alias_id": self.alias_id,
            "version": self.version,
            "kind": self.kind,
            "source": self.source,
            "target": self.target,
            "message": self.message,
            "author": self.author,
            "created": self.created.isoformat(),
            "retired": self.retired.isoformat() if self.retired else None,
        }


@dataclass(frozen=True)
class MissTally:
    """Counts of one miss key gathered in one process since its last flush."""

    kind: str
    key: str
    chosen: str
    not_found: int
    ambiguous: int
    first_seen: dt.datetime
    last_seen: dt.datetime

    @property
    def count(self) -> int:
        """Every miss counted."""
        return self.not_found + self.ambiguous


@dataclass(frozen=True)
class Miss:
    """A miss key with its counts across every server."""

    id: int
    kind: str
    key: str
    chosen: str
    count: int
    not_found: int
    ambiguous: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    status: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "chosen": self.chosen or None,
            "count": self.count,
            "not_found": self.not_found,
            "ambiguous": self.ambiguous,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "status": self.status,
        }


def _alias(row: Any) -> Alias:
    return Alias(
        id=row.id,
        alias_id=row.alias_id,
        version=row.version,
        kind=row.kind,
        source=row.source,
        target=row.target,
        message=row.message,
        author=row.author,
        created=row.created,
        retired=row.retired,
        retired_by=row.retired_by,
    )


def _miss(row: Any) -> Miss:
    return Miss(
        id=row.id,
        kind=row.kind,
        key=row.key,
        chosen=row.chosen,
        count=row.count,
        not_found=row.not_found,
        ambiguous=row.ambiguous,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        status=row.status,
    )


def _checked(kind: str, source: str, target: str) -> tuple[str, str]:
    if kind not in ALIAS_KINDS:
        raise InputError(f"an alias is of kind street or address, not {kind!r}")
    source, target = " ".join(str(source).split()), " ".join(str(target).split())
    if not source or not target:
        raise InputError("an alias needs both the name residents type and what it stands for")
    if max(len(source), len(target)) > MAX_ALIAS_TEXT:
        raise InputError(f"an alias side is at most {MAX_ALIAS_TEXT} characters")
    if source == target:
        raise InputError(f"{source!r} is already its own name: an alias must name another")
    return source, target


class AliasStore(StoreBase):
    """Miss counts and versioned, audited aliases (see the module's docstring)."""

    # ------------------------------------------------------------------ misses
    def record_misses(self, tallies: Iterable[MissTally]) -> int:
        """Add counts gathered by one process; return the keys written.

        One transaction for the whole batch; not audited and not counted in ``writes`` (no
        cached answer depends on a count).
        """
        tallies = [x for x in tallies if x.count > 0]
        if not tallies:
            return 0
        m = t.lookup_misses
        with self._write(lock=_PG_MISS_LOCK, counted=False) as conn:
            for x in tallies:
                where = sa.and_(m.c.kind == x.kind, m.c.key == x.key, m.c.chosen == x.chosen)
                done = conn.execute(
                    m.update()
                    .where(where)
                    .values(
                        count=m.c.count + x.count,
                        not_found=m.c.not_found + x.not_found,
                        ambiguous=m.c.ambiguous + x.ambiguous,
                        last_seen=sa.case(
                            (m.c.last_seen < x.last_seen, x.last_seen), else_=m.c.last_seen
                        ),
                    )
                ).rowcount
                if not done:
                    conn.execute(
                        m.insert().values(
                            kind=x.kind,
                            key=x.key,
                            chosen=x.chosen,
                            count=x.count,
                            not_found=x.not_found,
                            ambiguous=x.ambiguous,
                            first_seen=x.first_seen,
                            last_seen=x.last_seen,
                            status="open",
                        )
                    )
        return len(tallies)

    def list_misses(
        self, status: str | None = "open", kind: str | None = None, limit: int | None = 100
    ) -> list[Miss]:
        """Misses ranked by count (most first, then the latest seen), optionally of one status
        (``open``, ``aliased``, ``dismissed``; None: any) and kind (``street``, ``address``)."""
        m = t.lookup_misses
        q = sa.select(m).order_by(m.c.count.desc(), m.c.last_seen.desc(), m.c.id)
        if status is not None:
            q = q.where(m.c.status == status)
        if kind is not None:
            q = q.where(m.c.kind == kind)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as conn:
            return [_miss(r) for r in conn.execute(q)]

    def get_miss(self, miss_id: int) -> Miss:
        """One miss by id; ``NotFoundError`` when there is none."""
        with self._read() as conn:
            row = conn.execute(sa.select(t.lookup_misses).where(t.lookup_misses.c.id == miss_id))
            found = row.first()
        if found is None:
            raise NotFoundError(f"there is no miss {miss_id}")
        return _miss(found)

    def set_miss_status(self, miss_id: int, status: str, *, author: str) -> Miss:
        """Mark a miss ``open``, ``aliased`` or ``dismissed`` (audited, entity ``miss``)."""
        if status not in MISS_STATUSES:
            raise InputError(f"a miss is {', '.join(MISS_STATUSES)}, not {status!r}")
        m = t.lookup_misses
        with self._write() as conn:
            row = conn.execute(sa.select(m).where(m.c.id == miss_id).with_for_update()).first()
            if row is None:
                raise NotFoundError(f"there is no miss {miss_id}")
            if row.status != status:
                conn.execute(m.update().where(m.c.id == miss_id).values(status=status))
                self._audit(
                    conn,
                    actor=author,
                    action="status",
                    entity="miss",
                    entity_id=miss_id,
                    before={"key": row.key, "status": row.status},
                    after={"key": row.key, "status": status},
                )
        return self.get_miss(miss_id)

    # ------------------------------------------------------------------ aliases
    def list_aliases(self, include_retired: bool = False) -> list[Alias]:
        """The aliases in force (``include_retired``: every version), by kind and source."""
        a = t.aliases
        q = sa.select(a).order_by(a.c.kind, a.c.source, a.c.alias_id, a.c.version)
        if not include_retired:
            q = q.where(a.c.retired.is_(None))
        with self._read() as conn:
            return [_alias(r) for r in conn.execute(q)]

    def get_alias(self, alias_id: int) -> Alias:
        """The latest version of an alias (retired or not); ``NotFoundError`` when none."""
        a = t.aliases
        q = sa.select(a).where(a.c.alias_id == alias_id).order_by(a.c.version.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise NotFoundError(f"there is no alias {alias_id}")
        return _alias(row)

    def add_alias(
        self, kind: str, source: str, target: str, *, author: str, message: str = ""
    ) -> Alias:
        """A new alias in force now; ``InputError`` when one for ``source`` is already in force
        (edit that one instead). ``source`` and ``target`` are kept as given, spaces collapsed:
        normalize them first (``City.add_alias`` does)."""
        source, target = _checked(kind, source, target)
        a = t.aliases
        with self._write() as conn:
            self._refuse_duplicate(conn, kind, source)
            new_id = conn.execute(
                a.insert()
                .values(
                    alias_id=0,
                    version=1,
                    kind=kind,
                    source=source,
                    target=target,
                    message=message.strip(),
                    author=str(author)[:100],
                    created=self.clock(),
                )
                .returning(a.c.id)
            ).scalar_one()
            conn.execute(a.update().where(a.c.id == new_id).values(alias_id=new_id))
            row = conn.execute(sa.select(a).where(a.c.id == new_id)).one()
            alias = _alias(row)
            self._audit(
                conn,
                actor=author,
                action="add",
                entity="alias",
                entity_id=new_id,
                after=alias.to_dict(),
            )
        return alias

    def edit_alias(self, alias_id: int, target: str, *, author: str, message: str = "") -> Alias:
        """The next version of an alias, with a new ``target``; the version in force retires."""
        a = t.aliases
        with self._write() as conn:
            old = self._locked_alias(conn, alias_id)
            _, target = _checked(old.kind, old.source, target)
            now = self.clock()
            conn.execute(
                a.update().where(a.c.id == old.id).values(retired=now, retired_by=str(author)[:100])
            )
            new_id = conn.execute(
                a.insert()
                .values(
                    alias_id=alias_id,
                    version=old.version + 1,
                    kind=old.kind,
                    source=old.source,
                    target=target,
                    message=message.strip(),
                    author=str(author)[:100],
                    created=now,
                )
                .returning(a.c.id)
            ).scalar_one()
            alias = _alias(conn.execute(sa.select(a).where(a.c.id == new_id)).one())
            self._audit(
                conn,
                actor=author,
                action="edit",
                entity="alias",
                entity_id=alias_id,
                before=old.to_dict(),
                after=alias.to_dict(),
            )
        return alias

    def retire_alias(self, alias_id: int, *, author: str) -> Alias:
        """Take an alias out of force (kept, with its versions and history)."""
        a = t.aliases
        with self._write() as conn:
            old = self._locked_alias(conn, alias_id)
            conn.execute(
                a.update()
                .where(a.c.id == old.id)
                .values(retired=self.clock(), retired_by=str(author)[:100])
            )
            alias = _alias(conn.execute(sa.select(a).where(a.c.id == old.id)).one())
            self._audit(
                conn,
                actor=author,
                action="retire",
                entity="alias",
                entity_id=alias_id,
                before=old.to_dict(),
                after=alias.to_dict(),
            )
        return alias

    def alias_history(self, alias_id: int) -> list[AuditEntry]:
        """Every recorded change to an alias, oldest first."""
        return self.audit_log(entity="alias", entity_id=alias_id, limit=None)[::-1]

    def _locked_alias(self, conn: sa.Connection, alias_id: int) -> Alias:
        """The version in force of an alias, its row locked; ``NotFoundError`` if none."""
        a = t.aliases
        row = conn.execute(
            sa.select(a).where(a.c.alias_id == alias_id, a.c.retired.is_(None)).with_for_update()
        ).first()
        if row is None:
            raise NotFoundError(f"there is no alias {alias_id} in force")
        return _alias(row)

    def _refuse_duplicate(self, conn: sa.Connection, kind: str, source: str) -> None:
        a = t.aliases
        row = conn.execute(
            sa.select(a.c.alias_id, a.c.target).where(
                a.c.kind == kind, a.c.source == source, a.c.retired.is_(None)
            )
        ).first()
        if row is not None:
            raise InputError(
                f"{source!r} is already an alias of {row.target!r} (alias {row.alias_id}): "
                "edit or retire that one"
            )
