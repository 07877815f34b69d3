"""Small pieces the staff pages share: times in the city's zone, version states, audit entries in
words, and paging.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from ...billing import ALL_CYCLES, Note
from ...store import AuditEntry
from ..context import current_city

#: the entities of the audit log in words
ENTITY_LABELS = {
    "note": "Note",
    "exception": "Schedule exception",
    "boundaries": "Boundary version",
    "addresses": "Address layer version",
    "staff": "Staff account",
}
#: the actions of the audit log in words
ACTION_LABELS = {
    "add": "added",
    "seed": "added from the city folder",
    "edit": "changed",
    "expire": "expired",
    "remove": "removed",
    "publish": "published",
    "rollback": "rolled back to",
    "role": "role changed",
    "deactivate": "deactivated",
    "activate": "reactivated",
    "password": "password changed",
}
#: an exception's kind in words
EXCEPTION_KIND_LABELS = {
    "no_bill": "No bill on a scheduled bill date",
    "bill_moved": "A bill went out on another date",
    "no_penalty": "No late penalty",
    "no_disconnect": "No disconnections",
}
#: longest value shown in the audit log before it is cut
MAX_VALUE_CHARS = 300


def today() -> dt.date:
    """Today in the city (the app's clock)."""
    return current_city().today()


def local_time(value: dt.datetime | None) -> str:
    """An aware time as the city reads it, e.g. ``Feb 21, 2020, 3:00:00 AM``."""
    if value is None:
        return ""
    zone = ZoneInfo(current_city().config.timezone)
    return format_datetime(value.astimezone(zone), "medium", locale="en_US")


def long_date(value: dt.date | None) -> str:
    """A date in words, e.g. ``February 21, 2020`` (empty for None)."""
    return format_date(value, "long", locale="en_US") if value else ""


def cycles_label(cycles: Any) -> str:
    """``All cycles`` or ``Cycle 1, Cycle 2`` (the city's names)."""
    if cycles == ALL_CYCLES:
        return "All cycles"
    refs = current_city().cycle_refs
    return ", ".join(refs[c].name if c in refs else str(c) for c in cycles)


def note_state(note: Note, day: dt.date) -> str:
    """``shown``, ``scheduled`` (starts later), ``ended`` or ``expired`` on ``day``."""
    if note.expired:
        return "expired"
    if note.starts is not None and day < note.starts:
        return "scheduled"
    if note.ends is not None and day > note.ends:
        return "ended"
    return "shown"


@dataclass(frozen=True)
class Change:
    """One field of an audit entry: its name and its value before and after, in words."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditLine:
    """One audit entry ready to show."""

    entry: AuditEntry
    when: str
    what: str
    action: str
    changes: list[Change]


def _words(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_words(v)}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _field(name: str) -> str:
    return name.replace("_", " ")


def changes(before: Any, after: Any) -> list[Change]:
    """The fields an entry changed (all of them for an addition or a removal), in words.

    >>> [(c.field, c.before, c.after) for c in changes({"title": "A", "id": 3},
    ...                                                {"title": "B", "id": 3})]
    [('title', 'A', 'B')]
    >>> [(c.field, c.after) for c in changes(None, {"cycles": ["1", "2"], "expired": False,
    ...                                             "until": None})]
    [('cycles', '1, 2'), ('expired', 'no')]
    """
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before is None and after is None:
            return []
        return [Change("value", _words(before), _words(after))]
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    names = list(dict.fromkeys([*old, *new]))
    skip = {"id"}
    out = []
    for name in names:
        if name in skip:
            continue
        if before is not None and after is not None and old.get(name) == new.get(name):
            continue
        if (
            (before is None or after is None)
            and old.get(name) in (None, "", [])
            and new.get(name) in (None, "", [])
        ):
            continue  # an addition or removal: its empty fields say nothing
        out.append(
            Change(
                _field(name),
                _words(old.get(name)) if before is not None else "",
                _words(new.get(name)) if after is not None else "",
            )
        )
    return out


def _what(entry: AuditEntry) -> str:
    label = ENTITY_LABELS.get(entry.entity, entry.entity)
    record = entry.after if isinstance(entry.after, dict) else entry.before
    if entry.entity == "note" and isinstance(record, dict) and record.get("title"):
        return f"{label} {entry.entity_id}: {record['title']}"
    if entry.entity == "exception" and isinstance(record, dict) and record.get("date"):
        kind_id = str(record.get("kind") or "")
        kind = EXCEPTION_KIND_LABELS.get(kind_id, kind_id)
        return f"{label} {entry.entity_id} ({kind.lower()}, {record['date']})"
    return f"{label} {entry.entity_id}" if entry.entity_id else label


def audit_line(entry: AuditEntry) -> AuditLine:
    """An audit entry in words: when (city time), what, which action, and what changed."""
    return AuditLine(
        entry=entry,
        when=local_time(entry.at),
        what=_what(entry),
        action=ACTION_LABELS.get(entry.action, entry.action),
        changes=changes(entry.before, entry.after),
    )


@dataclass(frozen=True)
class Pages:
    """Where one page sits in a paged list (``number`` counts from 1)."""

    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size

    @classmethod
    def of(cls, asked: str | None, size: int, total: int) -> Pages:
        """The page asked for (``?page=``), kept within the pages there are.

        >>> Pages.of("3", 50, 120).offset, Pages.of("x", 50, 120).number
        (100, 1)
        >>> Pages.of("9", 50, 1).number
        1
        """
        try:
            number = int(asked or 1)
        except ValueError:
            number = 1
        pages = cls(1, size, total)
        return cls(min(max(1, number), pages.count), size, total)


def register_filters(app: Any) -> None:
    """The filters staff templates use: ``staff_time``, ``staff_date``, ``cycles_label``."""
    app.jinja_env.filters.update(
        staff_time=local_time, staff_date=long_date, cycles_label=cycles_label
    )
