"""What changed since a time, for integrators and feeds: ``ChangeStore``, read off the audit log.

Every change to notes, schedule exceptions and boundary versions is already an audit entry (in
the same transaction as the change), so "what changed since" is one indexed query on
``audit_log.at``. Only public facts leave here: who made a change is staff's business, and the
records are cut down to what residents see.

>>> import datetime as dt
>>> from cyclemap.store import Store
>>> store = Store("sqlite://")
>>> _ = store.upgrade()
>>> _ = store.add_note(title="Late bills", body="Soon.", cycles=["2"], author="clerk",
...                    today=dt.date(2020, 2, 20))
>>> [(c.kind, c.action, c.detail["title"]) for c in store.changes_since(dt.datetime.min)]
[('note', 'add', 'Late bills')]
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from . import schema as t
from .engine import StoreBase

#: audit entities that integrators see, with the name a change gives their kind
PUBLIC_ENTITIES = {"note": "note", "exception": "exception", "boundaries": "boundary_version"}
#: the fields of each kind's record that are public (what residents see anyway)
PUBLIC_FIELDS = {
    "note": ("title", "cycles", "posted", "updated", "starts", "ends", "expired"),
    "exception": ("kind", "date", "until", "new_date", "cycles", "text"),
    "boundary_version": ("live_version", "effective", "message"),
}
#: the most changes one answer lists (the caller asks again from the last one's time)
MAX_CHANGES = 1000


@dataclass(frozen=True)
class Change:
    """One change: when, to what (``kind`` and ``id``), which ``action``, and public details."""

    at: dt.datetime
    kind: str
    id: str | None
    action: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``{"at", "kind", "id", "action", "detail"}``."""
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "id": self.id,
            "action": self.action,
            "detail": self.detail,
        }


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment == dt.datetime.min:
        return dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class ChangeStore(StoreBase):
    """Public changes off the audit log (see the module's docstring)."""

    def changes_since(
        self, since: dt.datetime, limit: int = MAX_CHANGES, kinds: tuple[str, ...] | None = None
    ) -> list[Change]:
        """Changes to notes, exceptions and boundary versions strictly after ``since``, oldest
        first, at most ``limit``; ``kinds`` keeps some (``note``, ``exception``,
        ``boundary_version``)."""
        a = t.audit_log
        entities = [e for e, k in PUBLIC_ENTITIES.items() if kinds is None or k in kinds]
        q = (
            sa.select(a)
            .where(a.c.at > _aware(since), a.c.entity.in_(entities))
            .order_by(a.c.at, a.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            kind = PUBLIC_ENTITIES[r.entity]
            record = json.loads(r.after if r.after is not None else r.before or "null") or {}
            detail = {k: record[k] for k in PUBLIC_FIELDS[kind] if k in record}
            out.append(Change(r.at, kind, r.entity_id, r.action, detail))
        return out

    def newest_change(self, *entities: str) -> dt.datetime | None:
        """When the newest audited change to any of these entities was made (None: never)."""
        a = t.audit_log
        q = sa.select(sa.func.max(a.c.at)).where(a.c.entity.in_(entities))
        with self._read() as conn:
            value = conn.execute(q).scalar()
        return t.UTCDateTime().process_result_value(value, self.engine.dialect)
