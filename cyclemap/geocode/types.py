"""The geocoder's answers: small dataclasses (re-exported by ``cyclemap.geocode``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .normalize import ParsedAddress


class GeocodeStatus(enum.StrEnum):
    """What the geocoder made of the text: one place, several, or none.

    This is the geocoder's outcome, not the answer's status (``cyclemap.decide.Status``): only
    the zones can tell ``outside_service_area``, and a geocoder match between two cycles is an
    ambiguous answer. The answer statuses spell the three outcomes the same way (a test holds
    them to it), so a member is its string as there.

    >>> GeocodeStatus.NOT_FOUND == "not_found", [str(s) for s in GeocodeStatus]
    (True, ['matched', 'ambiguous', 'not_found'])
    """

    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"


class MatchType(enum.Enum):
    """How a candidate was found (its ``value`` is the ``match_type`` of the lookup JSON)."""

    #: the text, upper-cased with spaces collapsed, is an address of the layer as written
    EXACT = "exact"
    #: the normalized number and street (and unit) are an address point of the layer
    NORMALIZED = "normalized"
    #: the street name was misspelled; the number is an address point on the street it is closest to
    FUZZY = "fuzzy"
    #: no such address point: placed between its neighbours on the same street and side
    INTERPOLATED = "interpolated"
    #: a street without a number (or a point on it offered as a suggestion)
    STREET = "street"
    #: a point given as lon/lat (used by ``City.lookup(lon=, lat=)``; the geocoder never makes one)
    POINT = "point"


@dataclass(frozen=True)
class Candidate:
    """One place an address may be, with how it was found and how sure we are (0..1)."""

    matched_address: str
    lon: float
    lat: float
    match_type: MatchType
    score: float
    zip: str = ""
    city: str = ""
    #: the normalized street (``"N KINGSHIGHWAY"``) and house number of the match
    street: str = ""
    number: str = ""
    unit: str = ""
    #: the layer row the point comes from (None for an interpolated point)
    row: int | None = None
    #: what was assumed to get here, in words ("directional N added", "unit 5 not in the layer")
    notes: tuple[str, ...] = ()
    #: for an interpolated point, the two real addresses it was placed between (whoever knows
    #: the zones checks that they agree: a house between two cycles is not a confident answer)
    between: tuple[Candidate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The candidate as JSON-ready data."""
        return {
            "matched_address": self.matched_address,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "match_type": self.match_type.value,
            "score": round(self.score, 3),
            "zip": self.zip or None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class GeocodeResult:
    """The geocoder's answer: ``status`` (a ``GeocodeStatus``; its string is accepted too) is
    ``matched``, ``ambiguous`` or ``not_found``.

    ``candidates`` are best first: the match (``matched``), the places the text fits
    (``ambiguous``), or the closest suggestions (``not_found``, possibly empty). ``step`` names the
    cascade step that answered; ``message`` says in words why an answer is not a match.
    """

    status: GeocodeStatus
    candidates: list[Candidate] = field(default_factory=list)
    parsed: ParsedAddress | None = None
    query: str = ""
    step: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        # a plain string names its member (and a misspelt one fails here, not in a comparison)
        object.__setattr__(self, "status", GeocodeStatus(self.status))

    @property
    def best(self) -> Candidate | None:
        """The match when ``status`` is ``matched``, else None."""
        matched = self.status is GeocodeStatus.MATCHED
        return self.candidates[0] if matched and self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "status": self.status.value,
            "query": self.query,
            "step": self.step,
            "message": self.message,
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass(frozen=True)
class Suggestion:
    """A completion for what a resident is typing."""

    address: str
    lon: float
    lat: float

    def to_dict(self) -> dict[str, Any]:
        """``{"address", "lon", "lat"}`` as in ``/api/v1/suggest``."""
        return {"address": self.address, "lon": round(self.lon, 7), "lat": round(self.lat, 7)}
