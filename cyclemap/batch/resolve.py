r"""Resolving distinct addresses: geocode a batch, locate all its points in one call, decide.

Each answer is a ``Resolved`` tuple (the fields of ``Assignment``), small enough to cross a
process boundary; the decision is ``cyclemap.decide.decide``, the one ``City.lookup`` uses.

An export writes one address several ways that the exact step tells apart but the parser does
not: ``117 S Sprigg St.`` and ``117 S SPRIGG ST`` (an exact match) and ``117 s. sprigg st``
(case, periods, apostrophes and most punctuation). Past the exact step the cascade reads a text
only through its parse (``parse_key``: what ``parse_address`` reads of it), except for the length
and the characters no address holds (``steps.NOT_ADDRESS_CHARS``), which the ``unusable`` step
checks on the text itself. So for a text of at most ``MAX_ADDRESS_LENGTH`` characters without
those, which the exact step does not answer, the answer is that of any other such text with the
same parse key: the resolver keeps answers by parse key (``Resolver.by_parse``) and geocodes each
parse key once.

The houses of a street parse alike but for their number (``Resolver.parse``): a parse key
that starts with a run of digits (not a zero) parses as the key with that run written as its
class (``geocode.tagging.feature_class``: ``117`` -> ``111``), the number put back. The parser
reads those characters only as digits (its patterns' ``\d``, ``isdigit``, ``int``, whose text
of a number without a leading zero is the number), and usaddress labels a class as the run
(``geocode.tagging``); the town names (``places``) must hold no digit, and the class's parse
must read it as the house number and nothing else, or the text is parsed as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..decide import Status, candidate_points, decide, place_label
from ..errors import InputError
from ..geocode import MAX_ADDRESS_LENGTH, Candidate, GeocodeResult, MatchType, exact_key
from ..geocode.normalize import ParsedAddress, parse_key
from ..geocode.steps import NOT_ADDRESS_CHARS
from ..geocode.tagging import feature_class

if TYPE_CHECKING:
    from ..boundaries import BoundarySet
    from ..geocode import Geocoder
    from ..geocode.steps import StreetMemo

__all__ = ["Resolved", "Resolver", "normalize_key"]


# -- keys -----------------------------------------------------------------------------------
#: the cache key of an address: the geocoder's exact-match key, so that two texts with one key
#: get one geocoding and the batch answer equals ``City.lookup``'s (``geocode.exact_key``)
normalize_key = exact_key


# -- resolving distinct addresses ----------------------------------------------------------
#: one resolved address as it crosses a process boundary (the fields of ``Assignment``)
Resolved = tuple


class Resolver:
    """Geocode a batch of distinct addresses and locate all their points in one call.

    The decision from a geocode result to an answer is ``cyclemap.decide.decide``, the one
    ``City.lookup`` uses (the tests hold the two to the same answers for hundreds of
    addresses, street-level answers included).
    """

    def __init__(
        self, geocoder: Geocoder, boundaries: BoundarySet, *, keep_by_parse: bool = True
    ) -> None:
        self.geocoder = geocoder
        self.boundaries = boundaries
        #: answers by parse key, for texts the exact step did not answer (see the module's doc);
        #: ``keep_by_parse=False`` geocodes every text (the tests' reference)
        self.by_parse: dict[str, Resolved] = {}
        self.keep_by_parse = keep_by_parse
        #: street lookups remembered across the batch's texts (``geocode.steps.Query``)
        self.streets: StreetMemo = {}
        #: parses of parse keys with their house number written as its class (``parse``)
        self.by_class: dict[str, ParsedAddress | None] = {}
        index = geocoder.index
        self._classes = not any(ch.isdigit() for place in index.places for ch in place)

    def parse(self, text: str, key: str) -> ParsedAddress:
        """``index.parse(text)``, for a text whose parse key is ``key`` (see the module's doc).

        >>> import cyclemap
        >>> city = cyclemap.open_city()
        >>> r = Resolver(city.geocoder, city.boundaries)
        >>> r.parse("117 s Sprigg St.", "117 S SPRIGG ST").number
        '117'
        >>> r.parse("243 S Sprigg", "243 S SPRIGG").street_key, list(r.by_class)
        ('S SPRIGG', ['111 S SPRIGG ST', '111 S SPRIGG'])
        """
        index = self.geocoder.index
        number, _, rest = key.partition(" ")
        if not (self._classes and rest and number.isdigit() and number.isascii()):
            return index.parse(text)
        if number[0] == "0":
            return index.parse(text)
        cls = feature_class(number)
        template = f"{cls} {rest}"
        if template in self.by_class:
            known = self.by_class[template]
        else:
            known = index.parse(template) if parse_key(template) == template else None
            if known is not None and not _number_alone(known, cls):
                known = None
            self.by_class[template] = known
        if known is None:
            return index.parse(text)
        return replace(known, number=number)

    def resolve(self, texts: Sequence[str]) -> list[Resolved]:
        """One ``Resolved`` tuple per address text, in order."""
        # per text: a geocode result, a reason it is not found, a known answer (a tuple), or
        # the position of an earlier text of this batch with its parse key (an int)
        results: list[GeocodeResult | str | Resolved | int] = []
        firsts: dict[str, int] = {}  # parse key -> the position of its first text in this batch
        xs: list[float] = []
        ys: list[float] = []
        geocoder, by_parse = self.geocoder, self.by_parse
        for text in texts:
            if not text or not text.strip():
                results.append("the address is empty")
                continue
            try:
                fast = self.keep_by_parse and isinstance(text, str)
                result = geocoder.exact(text) if fast else None
                if result is None:
                    key = _parse_key(text) if fast else None
                    if key is not None:
                        known = by_parse.get(key)
                        if known is None and key in firsts:
                            results.append(firsts[key])
                            continue
                        if known is not None:
                            results.append(known)
                            continue
                        firsts[key] = len(results)
                    result = geocoder.geocode(
                        text,
                        exact_missed=fast,
                        streets=self.streets if fast else None,
                        parsed=self.parse(text, key) if key is not None else None,
                    )
            except InputError as exc:  # the geocoder refuses the input (not text)
                results.append(exc.message)
                continue
            results.append(result)
            for c in candidate_points(result):
                xs.append(c.lon)
                ys.append(c.lat)
        ids = self.boundaries.locate_xy(np.array(xs, float), np.array(ys, float)).tolist()
        out: list[Resolved] = []
        k = 0
        for r in results:
            if isinstance(r, int):
                out.append(out[r])
            elif isinstance(r, tuple):
                out.append(r)
            elif isinstance(r, str):
                out.append((Status.NOT_FOUND, None, None, None, None, None, None, r))
            else:
                n = len(candidate_points(r))
                out.append(self._decide(r, ids[k : k + n]))
                k += n
        for key, i in firsts.items():
            by_parse[key] = out[i]
        _forget_oldest_half(by_parse)
        _forget_oldest_half(self.streets)
        _forget_oldest_half(self.by_class)
        return out

    def _decide(self, result: GeocodeResult, cycle_ids: list[str]) -> Resolved:
        """A result and its candidates' cycles -> an answer (``decide``) with the reason why."""
        d = decide(result, cycle_ids, self.geocoder, self.boundaries)
        cands = result.candidates
        if d.place is not None:
            return _at(d.place, d.cycle_id or "")
        if d.status is Status.NOT_FOUND:
            why = result.message or "no address of the layer matches"
            if cands:
                why += "; closest: " + _listing(cands, cycle_ids)
            return (Status.NOT_FOUND, None, None, None, None, None, None, why)
        if d.choices:
            lo, hi = (c.matched_address for c in d.choices)
            why = f"the house number lies between {lo} and {hi}, and a cycle boundary runs there"
            return (Status.AMBIGUOUS, d.cycle_id, None, None, None, None, None, why)
        fits = result.message or f"the address fits {len(cands)} places"
        if d.street_leaves_cycle:
            fits += f"; the points listed are in cycle {d.cycle_id}, but the street leaves it"
        elif d.cycle_id:
            fits += f", all in cycle {d.cycle_id}"
        else:
            fits += ", in different cycles"
        why = f"{fits}: {_listing(cands, cycle_ids)}"
        return (Status.AMBIGUOUS, d.cycle_id, None, None, None, None, None, why)

    def resolve_points(self, lons: np.ndarray, lats: np.ndarray) -> list[Resolved]:
        """Answers for points, as ``City.lookup(lon=..., lat=...)`` gives them (NaN: no point)."""
        ok = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
        ids = self.boundaries.locate_xy(lons[ok], lats[ok]).tolist()
        out: list[Resolved] = []
        k = 0
        for good, x, y in zip(ok.tolist(), lons.tolist(), lats.tolist(), strict=True):
            if not good:
                out.append(_NO_POINT)
                continue
            cand = Candidate("", x, y, MatchType.POINT, 1.0)
            out.append(_at(cand, ids[k]))
            k += 1
        return out


#: answers kept by parse key (a few hundred bytes each)
PARSE_MEMO_SIZE = 200_000


def _number_alone(parsed: ParsedAddress, cls: str) -> bool:
    """Whether a parse read ``cls`` as the house number and put it nowhere else."""
    if parsed.number != cls:
        return False
    others = (parsed.predir, parsed.name, parsed.suffix, parsed.postdir, parsed.unit,
              parsed.city, parsed.state, parsed.zip, parsed.raw_name)  # fmt: skip
    return not any(cls in text for text in others)


def _forget_oldest_half(kept: dict) -> None:
    """Keep a memo under ``PARSE_MEMO_SIZE``: forget its oldest half when it is full."""
    if len(kept) > PARSE_MEMO_SIZE:
        for old in list(kept)[: len(kept) - PARSE_MEMO_SIZE // 2]:
            del kept[old]


def _parse_key(text: str) -> str | None:
    """The parse key a text's answer may be kept by (past the exact step), or None when the
    text itself decides something: too long, or holding a character no address holds."""
    if len(text) > MAX_ADDRESS_LENGTH or NOT_ADDRESS_CHARS.search(text):
        return None
    return parse_key(text)


_NO_POINT: Resolved = (
    Status.NOT_FOUND, None, None, None, None, None, None,
    "lon/lat missing or not decimal degrees within -180..180 and -90..90",
)  # fmt: skip


def _at(c: Candidate, cycle_id: str) -> Resolved:
    """Matched at a place: in a zone, or outside every zone (``City._answer_at``)."""
    label = place_label(c)
    if cycle_id:
        return (Status.MATCHED, cycle_id, c.match_type, c.score, label, c.lon, c.lat, "")
    where = label or f"{c.lon:.6f}, {c.lat:.6f}"
    why = f"found at {where}, which is outside every cycle zone"
    return (
        Status.OUTSIDE,
        None,
        c.match_type,
        c.score,
        label,
        c.lon,
        c.lat,
        why,
    )


def _listing(cands: Sequence[Candidate], cycle_ids: Sequence[str], limit: int = 3) -> str:
    parts = [
        f"{c.matched_address} ({'cycle ' + cid if cid else 'outside'})"
        for c, cid in zip(cands[:limit], cycle_ids, strict=False)
    ]
    more = f" and {len(cands) - limit} more" if len(cands) > limit else ""
    return "; ".join(parts) + more
