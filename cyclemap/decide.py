"""From a geocode result and the cycles of its candidates to the answer's status.

One rule, shared by ``City.lookup`` and the batch ``Assigner`` so that ``cyclemap assign``
says exactly what ``cyclemap lookup`` says of every address:

- the geocoder matched one place: ``matched`` in the cycle there, or ``outside_service_area``;
  except a house number placed between two real neighbours (interpolated) when the neighbours
  and the placed point are not all in one cycle: a boundary runs between them, the position is a
  guess, so the answer is ``ambiguous`` between the two real neighbours;
- it found nothing: ``not_found`` (its candidates are suggestions);
- it found several places: ``ambiguous``, naming the cycle only when every candidate shares it,
  except a street named without a number that lies wholly in one cycle (every address point of
  it, not only the sample of candidates): then the cycle is certain though the house is not,
  and the answer is ``matched`` at street level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from .boundaries import BoundarySet
from .geocode import Candidate, Geocoder, GeocodeResult, GeocodeStatus, MatchType


class Status(StrEnum):
    """The status of an answer: the one list that lookups, batch rows, the CLI's exit codes and
    the OpenAPI document are made from. A member is its string (``Status.MATCHED == "matched"``),
    so JSON and templates see the plain value. ``decide`` makes it from the geocoder's outcome
    (``GeocodeStatus``, spelt the same for the three they share) and the zones.

    >>> [str(s) for s in Status]
    ['matched', 'ambiguous', 'not_found', 'outside_service_area']
    >>> Status.OUTSIDE.label
    'outside service area'
    """

    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"
    OUTSIDE = "outside_service_area"

    @property
    def label(self) -> str:
        """The status in words, for a clerk's summary."""
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class Decision:
    """What an answer says: its status, where it stands and which cycle it names."""

    status: Status
    place: Candidate | None = None  # the place a matched/outside answer stands on
    cycle_id: str | None = None  # the cycle, or the one every ambiguous candidate shares
    street_leaves_cycle: bool = False  # street-level candidates share a cycle, the street not
    #: when set, the choices to offer instead of the geocoder's candidates, with their cycles
    choices: tuple[Candidate, ...] = ()
    choice_cycles: tuple[str, ...] = ()


def place_label(c: Candidate) -> str:
    """What an answer says it found: the address, or for a street-level answer the street alone
    (its point is one house along it, which is not the resident's house)."""
    if c.match_type is MatchType.STREET and c.street:
        return c.street
    return c.matched_address


def town_label(c: Candidate) -> str:
    """The town and ZIP of a candidate as an answer adds them (``"ASHFORD 00001"``; "" for
    neither)."""
    return " ".join(p for p in (c.city, c.zip) if p)


def place_labels(
    cands: Sequence[Candidate], several_towns: bool = False, *, located: bool = False
) -> list[str]:
    """What an answer calls each of its places: the address (``located``: the ``place_label`` of
    the place it stands on), with the town and ZIP when the city has several towns or when two
    places would otherwise read the same.

    >>> from cyclemap.geocode import Candidate, MatchType
    >>> c = [Candidate("101 MAIN ST", 0, 0, MatchType.EXACT, 1, zip=z, city=t)
    ...      for t, z in (("ASHFORD", "00001"), ("BROOKFIELD", "00002"))]
    >>> place_labels(c)
    ['101 MAIN ST, ASHFORD 00001', '101 MAIN ST, BROOKFIELD 00002']
    >>> place_labels(c[:1]), place_labels(c[:1], several_towns=True)
    (['101 MAIN ST'], ['101 MAIN ST, ASHFORD 00001'])
    """
    base = [place_label(c) if located else c.matched_address for c in cands]
    if not several_towns and len(set(base)) == len(base):
        return base
    return [f"{b}, {t}" if (t := town_label(c)) else b for b, c in zip(base, cands, strict=True)]


def candidate_points(result: GeocodeResult) -> list[Candidate]:
    """The candidates whose cycles ``decide`` needs: the first for a match, else all."""
    cands = result.candidates
    return cands[:1] if result.status is GeocodeStatus.MATCHED and cands else list(cands)


def decide(
    result: GeocodeResult, cycle_ids: Sequence[str], geocoder: Geocoder, boundaries: BoundarySet
) -> Decision:
    """Decide the answer; ``cycle_ids`` holds the cycle ("" = none) of each of
    ``candidate_points(result)``, in order.

    >>> from cyclemap.geocode import GeocodeResult
    >>> decide(GeocodeResult(GeocodeStatus.NOT_FOUND, []), [], None, None).status
    <Status.NOT_FOUND: 'not_found'>
    """
    cands = result.candidates
    if result.status is GeocodeStatus.MATCHED and cands:
        best, cid = cands[0], cycle_ids[0]
        if best.between:
            around = [str(c) for c in boundaries.locate_xy(*candidate_xy(best.between))]
            if set(around) != {cid}:
                shared = around[0] if len(set(around)) == 1 and around[0] else None
                return Decision(
                    Status.AMBIGUOUS,
                    None,
                    shared,
                    choices=best.between,
                    choice_cycles=tuple(around),
                )
        return Decision(Status.MATCHED if cid else Status.OUTSIDE, best, cid or None)
    if result.status is GeocodeStatus.NOT_FOUND or not cands:
        return Decision(Status.NOT_FOUND)
    ids = set(cycle_ids)
    shared = next(iter(ids)) if len(ids) == 1 and "" not in ids else None
    if shared and all(c.match_type is MatchType.STREET for c in cands):
        typed = result.parsed
        lons, lats = geocoder.street_points(
            (c.row for c in cands if c.row is not None),  # a street point is a layer row
            zip_code=typed.zip if typed else "",
            city=typed.city if typed else "",
        )
        if set(boundaries.locate_xy(lons, lats).tolist()) == {shared}:
            return Decision(Status.MATCHED, cands[len(cands) // 2], shared)
        return Decision(Status.AMBIGUOUS, None, shared, street_leaves_cycle=True)
    return Decision(Status.AMBIGUOUS, None, shared)


def candidate_xy(cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' longitudes and latitudes as two arrays (for ``locate_xy``)."""
    return np.array([c.lon for c in cands], float), np.array([c.lat for c in cands], float)
