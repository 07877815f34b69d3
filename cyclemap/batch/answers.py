"""The batch answer for one row (``Assignment``) and the counts over a run (``Tally``)."""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..decide import Status
from ..geocode import MatchType

__all__ = ["FIELDS", "REJECT_FIELDS", "STATUSES", "Assignment", "Tally"]

#: the columns ``cyclemap assign`` adds to each row, in order (also the DataFrame's columns)
FIELDS = ("cycle", "status", "match_type", "score", "matched_address", "lon", "lat")
#: what a rejects file adds to each row it repeats
REJECT_FIELDS = ("line", "status", "reason")
#: every answer status, in the order summaries count them (``cyclemap.decide.Status``)
STATUSES: tuple[Status, ...] = tuple(Status)


# -- the answer -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Assignment:
    """The batch answer for one address: the fields ``cyclemap assign`` adds to a row.

    ``status`` is ``matched``, ``ambiguous``, ``not_found`` or ``outside_service_area`` as in a
    lookup answer; ``cycle`` is the cycle id (or None, as ``Answer.cycle_id``); ``match_type``,
    ``score``, ``matched_address``, ``lon`` and ``lat`` describe the location when there is one
    (None when there is not: ambiguous and not-found answers); ``reason`` says in a sentence why a
    row that is not ``matched`` needs a person ("" for matched rows).

    ``csv_fields`` holds the ``FIELDS`` as CSV text, made once per answer (rows of one address
    share one answer, so a million-row file formats each distinct address once).

    >>> a = Assignment(Status.MATCHED, "2", MatchType.EXACT, 1.0, "12 S SPRIGG ST", -89.52, 37.3)
    >>> a.to_row()
    ['2', 'matched', 'exact', '1.0', '12 S SPRIGG ST', '-89.52', '37.3']
    >>> Assignment(Status.NOT_FOUND, reason="no address in the layer is close").to_row()
    ['', 'not_found', '', '', '', '', '']
    """

    status: Status
    cycle: str | None = None
    match_type: MatchType | None = None
    score: float | None = None
    matched_address: str | None = None
    lon: float | None = None
    lat: float | None = None
    reason: str = ""
    csv_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "csv_fields", self._format())

    @property
    def needs_review(self) -> bool:
        """True when a person should look at the row (any status but ``matched``)."""
        return self.status != Status.MATCHED

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-ready data (``match_type`` as its string value)."""
        return {
            "cycle": self.cycle,
            "status": str(self.status),
            "match_type": self.match_type.value if self.match_type else None,
            "score": None if self.score is None else round(self.score, 3),
            "matched_address": self.matched_address,
            "lon": None if self.lon is None else round(self.lon, 7),
            "lat": None if self.lat is None else round(self.lat, 7),
            "reason": self.reason,
        }

    def to_row(self) -> list[str]:
        """The ``FIELDS`` as CSV text ("" for None; score to 3 decimals, lon/lat to 7)."""
        return list(self.csv_fields)

    def _format(self) -> tuple[str, ...]:
        return (
            self.cycle or "",
            str(self.status),  # the plain string, as every other field
            self.match_type._value_ if self.match_type else "",  # not .value: a Python property
            "" if self.score is None else repr(round(self.score, 3)),
            self.matched_address or "",
            "" if self.lon is None else repr(round(self.lon, 7)),
            "" if self.lat is None else repr(round(self.lat, 7)),
        )


@dataclass
class Tally:
    """Counts over a run: rows by status and by match type, distinct addresses, time taken.

    >>> t = Tally()
    >>> t.add(Assignment(Status.MATCHED, "1", MatchType.EXACT, 1.0, "1 A ST", 0.0, 0.0))
    >>> t.rows, t.by_status[Status.MATCHED], t.by_match_type["exact"]
    (1, 1, 1)
    """

    rows: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_match_type: Counter = field(default_factory=Counter)
    #: addresses geocoded (each distinct key once, unless the cache overflowed)
    geocoded: int = 0
    workers: int = 1
    seconds: float = 0.0

    def add(self, a: Assignment, n: int = 1) -> None:
        """Count ``n`` rows with this answer."""
        self.rows += n
        self.by_status[a.status] += n
        if a.match_type is not None:
            self.by_match_type[a.match_type.value] += n

    def add_many(self, answers: Sequence[Assignment]) -> None:
        """Count a chunk of answers (C-level passes, no Python loop per row)."""
        self.rows += len(answers)
        fields = list(map(_CSV_FIELDS, answers))
        # status and match type as their texts: str hashing in C (an enum's hash is Python's)
        for text, n in Counter(map(_SECOND, fields)).items():
            self.by_status[Status(text)] += n
        kinds = Counter(map(_THIRD, fields))
        kinds.pop("", None)
        self.by_match_type.update(kinds)

    @property
    def needs_review(self) -> int:
        """Rows whose status is not ``matched``."""
        return self.rows - self.by_status[Status.MATCHED]

    def to_dict(self) -> dict[str, Any]:
        """The counts as plain data."""
        return {
            "rows": self.rows,
            "by_status": {s: self.by_status[s] for s in STATUSES},
            "by_match_type": dict(self.by_match_type.most_common()),
            "geocoded": self.geocoded,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
        }


_CSV_FIELDS = operator.attrgetter("csv_fields")
_SECOND = operator.itemgetter(1)
_THIRD = operator.itemgetter(2)
