"""The matching cascade: named steps with one signature, tried in order.

Each step takes the index and the query and returns a ``GeocodeResult`` when it can answer, or
None to pass the query on. ``STEPS`` is the order: ``exact`` (the key looked up before any parsing),
``unusable`` (empty text, a PO Box, a ZIP alone...), ``elsewhere`` (a ZIP, state or city that is
not this city's), ``corrected`` (an address staff corrected, see ``AddressIndex.with_aliases``),
``normalized``, ``fuzzy``, ``interpolated``, ``street``, and ``not_found`` last
(always answers, with the closest suggestions).

Where the text fits several places the answer is ``ambiguous`` with every place as a candidate;
no step ever picks one of several silently. A real point with the house number is no answer by
itself when the street had to be assumed (a directional added, a suffix read as another, a
misspelled name) and another street the text fits as well has the number within its range: the
number placed there is a candidate too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property

import numpy as np

from .index import SAME_PLACE_M, AddressIndex, StreetMatch, metres
from .normalize import (
    MAX_ADDRESS_LENGTH,
    ParsedAddress,
    correction_key,
    exact_key,
    normalize_number,
)
from .types import Candidate, GeocodeResult, GeocodeStatus, MatchType

# Scores (0..1) by how a candidate was found; assumptions multiply them down.
SCORE_EXACT = 1.0
SCORE_NORMALIZED = 0.95
SCORE_FUZZY = 0.9  # times the name similarity
SCORE_INTERPOLATED = 0.8
SCORE_STREET = 0.5
SCORE_SUGGESTION = 0.3
UNIT_NOT_FOUND = 0.95  # a unit the layer does not have: the building instead
OTHER_NUMBER_SUFFIX = 0.9  # "12B" when the layer has only 12 (same lot)
ZIP_DIFFERS = 0.95

#: a fuzzy street with the house number is accepted from this name similarity (times assumptions)
FUZZY_ACCEPT = 0.6
#: without the number as evidence (interpolation, street level) the name must be this close
FUZZY_ACCEPT_WITHOUT_NUMBER = 0.8
#: streets offered as suggestions with a not_found answer score at least this
FUZZY_SUGGEST = 0.6
#: names scoring within this of the best are "about the same" (about one letter in a short name):
#: the house number must tell them apart, or the answer is ambiguous
FUZZY_MARGIN = 0.1
#: scores are products of decimal factors: compare them with this much slack
_EPS = 1e-9
#: ``place_sites`` compares this many sites one by one, more with numpy
FEW_SITES = 8
#: candidates of this many sites or more are made at once (``_site_candidates``)
BULK_SITES = 4


#: what a batch keeps of street lookups across queries (``Query(streets=...)``), by the parsed
#: street: the street words, and for fuzzy lookups the typed ZIP and town (``_scoped``)
StreetMemo = dict[tuple[str, ...], list[StreetMatch]]


class Query:
    """One text being geocoded; parsing and street lookups happen once, when a step asks.

    ``streets``: a memo of street lookups shared by the queries of a batch against one index
    (``AddressIndex.exact_streets`` and ``fuzzy_streets`` read only the parsed street words,
    ZIP and town, and the index's own tables); every house on a street looks the street up once.
    """

    def __init__(self, index: AddressIndex, text: str, streets: StreetMemo | None = None) -> None:
        self.index = index
        self.text = text
        #: the exact step's key (``exact_key``)
        self.key = exact_key(text)
        self.streets = streets

    @cached_property
    def parsed(self) -> ParsedAddress:
        return self.index.parse(self.text)

    def _street_words(self) -> tuple[str, ...]:
        p = self.parsed
        return (p.raw_name, p.predir, p.name, p.suffix, p.postdir)

    @cached_property
    def exact_streets(self) -> list[StreetMatch]:
        if not self.parsed.name:
            return []
        if self.streets is None:
            return self.index.exact_streets(self.parsed)
        key = ("exact", *self._street_words())
        found = self.streets.get(key)
        if found is None:
            found = self.streets[key] = self.index.exact_streets(self.parsed)
        return found

    @cached_property
    def fuzzy_streets(self) -> list[StreetMatch]:
        if not self.parsed.name or self.exact_streets:
            return []
        return self._fuzzy()

    def _fuzzy(self) -> list[StreetMatch]:
        if self.streets is None:
            return self.index.fuzzy_streets(self.parsed)
        key = ("fuzzy", *self._street_words(), self.parsed.zip, self.parsed.city)
        found = self.streets.get(key)
        if found is None:
            found = self.streets[key] = self.index.fuzzy_streets(self.parsed)
        return found

    @cached_property
    def near_streets(self) -> list[StreetMatch]:
        """Other names about as close as exact names that needed an assumption.

        ``720 SAGE RD`` finds ``SAGE AVE`` only by reading the suffix RD as AVE (score 0.85);
        ``KAGE RD``, one letter off with the typed suffix (0.75), fits about as well. Empty when
        an exact name needed no assumption (or there is none: then see ``fuzzy_streets``).
        """
        exact = self.exact_streets
        if not exact:
            return []
        best = max(m.score for m in exact)
        if best >= 1.0:
            return []
        floor = max(best - FUZZY_MARGIN, FUZZY_ACCEPT) - _EPS
        known = {m.sid for m in exact}
        return [m for m in self._fuzzy() if m.sid not in known and m.score >= floor]

    def result(
        self, status: GeocodeStatus, candidates: list[Candidate], step: str, message: str = ""
    ) -> GeocodeResult:
        parsed = self.__dict__.get("parsed")
        return GeocodeResult(status, candidates, parsed, self.text, step, message)


Step = Callable[[AddressIndex, Query], GeocodeResult | None]


# -- helpers -------------------------------------------------------------------------------------
def _site_candidate(
    index: AddressIndex,
    site: int,
    query: Query,
    match_type: MatchType,
    score: float,
    notes: tuple[str, ...] = (),
) -> list[Candidate]:
    """The candidate(s) for a site: the typed unit's row if the layer has it, else the building.

    A building whose unit points lie far apart (more than ``SAME_PLACE_M``) is several places.
    """
    wanted = query.parsed.unit_id if "parsed" in query.__dict__ else ""
    if wanted:
        row = index.site_unit_row(site, wanted)
        if row is not None:
            return [_candidate(index, row, match_type, score, notes, unit=True)]
        score *= UNIT_NOT_FOUND
        notes = (*notes, f"unit {query.parsed.unit} not in the layer: the building")
    if index.site_spread_m(site) > SAME_PLACE_M:
        return [
            _candidate(index, r, match_type, score, notes, unit=True) for r in index.site_rows[site]
        ]
    return [_candidate(index, int(index.site_row[site]), match_type, score, notes, unit=False)]


def _site_candidates(
    index: AddressIndex,
    sites: list[int],
    query: Query,
    match_type: MatchType,
    score: float,
    notes: tuple[str, ...] = (),
) -> list[Candidate]:
    """``_site_candidate`` of each site, in order: when no unit is typed and no site is several
    places, one candidate per site made at once (an address typed without its town may be a
    site in each of dozens of towns)."""
    wanted = query.parsed.unit_id if "parsed" in query.__dict__ else ""
    picked = np.asarray(sites, dtype=np.int64) if len(sites) >= BULK_SITES else None
    if wanted or picked is None or (index.site_spread[picked] > SAME_PLACE_M).any():
        return [
            c for s in sites for c in _site_candidate(index, s, query, match_type, score, notes)
        ]
    return _candidates(index, index.site_row[picked], match_type, score, notes, unit=False)


def _candidates(
    index: AddressIndex,
    rows: Sequence[int] | np.ndarray,
    match_type: MatchType,
    score: float,
    notes: tuple[str, ...],
    *,
    unit: bool,
) -> list[Candidate]:
    """``_candidate`` of each row, in order, every column read for all rows at once."""
    layer = index.layer
    picked = np.asarray(rows, dtype=np.int64)
    sids = layer.street_id[picked].tolist()
    numbers = layer.number.take(picked)
    units = layer.unit.take(picked) if unit else [""] * len(picked)
    zips = layer.zip.take(picked)
    cities = layer.city.take(picked)
    lons = layer.lon[picked].tolist()
    lats = layer.lat[picked].tolist()
    labels, keys = layer.street_labels, index.street_keys
    rounded = round(min(score, 1.0), 4)
    make = Candidate.at_row
    out = []
    for k, row in enumerate(picked.tolist()):
        sid, number, unit_text = sids[k], numbers[k], units[k]
        address = f"{number} {labels[sid]}"
        matched = f"{address} {unit_text}" if unit_text else address
        out.append(
            make(
                matched,
                lons[k],
                lats[k],
                match_type,
                rounded,
                zips[k],
                cities[k],
                keys[sid],
                number,
                unit_text,
                row,
                notes,
            )
        )
    return out


def _candidate(
    index: AddressIndex,
    row: int,
    match_type: MatchType,
    score: float,
    notes: tuple[str, ...],
    *,
    unit: bool,
) -> Candidate:
    layer = index.layer
    sid = int(layer.street_id[row])
    number = layer.number[row]
    unit_text = layer.unit[row] if unit else ""
    # ``layer.address(row, unit=unit)``, with each column read once (a lookup may make dozens)
    address = f"{number} {layer.street_labels[sid]}"
    return Candidate.at_row(
        f"{address} {unit_text}" if unit_text else address,
        float(layer.lon[row]),
        float(layer.lat[row]),
        match_type,
        round(min(score, 1.0), 4),
        layer.zip[row],
        layer.city[row],
        index.street_keys[sid],
        number,
        unit_text,
        row,
        notes,
    )


def place_sites(
    index: AddressIndex, zip_code: str, city: str, sites: list[int]
) -> tuple[list[int], float, tuple[str, ...]]:
    """Keep the sites in the typed ZIP (and city) when any are; else all, a little less sure.

    A typed ZIP and town that name different places ("Ashford 00002" when 00002 is Brookfield's)
    keep the sites of both: which one the resident meant is theirs to say.
    """
    factor = 1.0
    notes: tuple[str, ...] = ()
    if not sites or not zip_code and not (city and len(sites) > 1):
        return sites, factor, notes
    layer = index.layer
    if len(sites) <= FEW_SITES:
        return _place_few_sites(index, zip_code, city, sites)
    # the sites' ZIPs and towns as codes of the layer's columns, compared all at once
    picked = np.asarray(sites, dtype=np.int64)
    rep = index.site_row[picked]
    zips, towns = layer.zip.codes[rep], layer.city.codes[rep]
    in_zip = zips == _code(layer.zip.code(zip_code) if zip_code else None)
    in_city = towns == _code(layer.city.code(city) if city else None)
    if zip_code and city and len(sites) > 1:
        if in_zip.any() and in_city.any() and not (in_zip & in_city).any():
            return picked[in_zip | in_city].tolist(), factor, notes
    if zip_code:
        if in_zip.any():
            picked, in_city = picked[in_zip], in_city[in_zip]
        elif (zips != _code(layer.zip.code(""))).any():
            factor, notes = ZIP_DIFFERS, (f"ZIP {zip_code} differs from the layer's",)
    if city and len(picked) > 1 and in_city.any():
        picked = picked[in_city]
    return picked.tolist(), factor, notes


def _place_few_sites(
    index: AddressIndex, zip_code: str, city: str, sites: list[int]
) -> tuple[list[int], float, tuple[str, ...]]:
    """``place_sites`` site by site (fewer numpy calls: quicker for a handful of sites)."""
    factor = 1.0
    notes: tuple[str, ...] = ()
    layer = index.layer
    zips = [layer.zip[int(index.site_row[s])] for s in sites]
    towns = [layer.city[int(index.site_row[s])] for s in sites] if city else []
    if zip_code and city and len(sites) > 1:
        zip_set = {s for s, z in zip(sites, zips, strict=True) if z == zip_code}
        city_set = {s for s, t in zip(sites, towns, strict=True) if t == city}
        if zip_set and city_set and not zip_set & city_set:
            return [s for s in sites if s in zip_set | city_set], factor, notes
    if zip_code:
        keep = [k for k, z in enumerate(zips) if z == zip_code]
        if keep:
            sites, towns = [sites[k] for k in keep], [towns[k] for k in keep] if city else []
        elif any(zips):
            factor, notes = ZIP_DIFFERS, (f"ZIP {zip_code} differs from the layer's",)
    if city and len(sites) > 1:
        in_city = [s for s, t in zip(sites, towns, strict=True) if t == city]
        if in_city:
            sites = in_city
    return list(sites), factor, notes


def _code(code: int | None) -> int:
    """A column's code for comparing, -1 for a text no row has (no code equals it)."""
    return -1 if code is None else code


def _filter_place(
    index: AddressIndex, query: Query, sites: list[int]
) -> tuple[list[int], float, tuple[str, ...]]:
    """``place_sites`` for the query's ZIP and city."""
    return place_sites(index, query.parsed.zip, query.parsed.city, sites)


def _decide(query: Query, candidates: list[Candidate], step: str) -> GeocodeResult:
    """``matched`` when every candidate is one place, else ``ambiguous`` with all of them."""
    candidates = sorted(candidates, key=lambda c: -c.score)
    first = candidates[0]
    same_place = all(
        metres(first.lon, first.lat, c.lon, c.lat) <= SAME_PLACE_M
        and c.matched_address == first.matched_address
        for c in candidates[1:]
    )
    if same_place:
        return query.result(GeocodeStatus.MATCHED, [first], step)
    message = f"the address fits {len(candidates)} places"
    return query.result(GeocodeStatus.AMBIGUOUS, candidates, step, message)


def _number_kind(number: str) -> str:
    """What follows a house number's digits: ``"/"`` (a fraction), ``"A"`` (letters), ``""``."""
    rest = number.lstrip("0123456789").strip()
    if "/" in rest:
        return "/"
    return "A" if rest.isalpha() else rest and "-"


def _number_sites(
    index: AddressIndex, query: Query, matches: list[StreetMatch]
) -> list[tuple[StreetMatch, int, float, tuple[str, ...]]]:
    """Real sites with the typed house number on the given streets (same-lot number next)."""
    p = query.parsed
    found: list[tuple[StreetMatch, int, float, tuple[str, ...]]] = []
    for m in matches:
        for s in index.sites_for(m.sid, p.number):
            found.append((m, s, 1.0, ()))
    if not found and p.number_value is not None:
        # "12B" or "12 1/2" when the layer has 12 (or only 12A): the same lot, less sure
        for m in matches:
            sites = index.sites_for_value(m.sid, p.number_value)
            plain = [
                s
                for s in sites
                if index.layer.number[int(index.site_row[s])] == str(p.number_value)
            ]
            # "12A" when the layer has 12 and 12B as separate addresses (a suffix of the same
            # kind: letters, or a fraction): any of them, not 12
            kind = _number_kind(p.number)
            siblings = any(
                _number_kind(index.layer.number[int(index.site_row[s])]) == kind for s in sites
            )
            for s in sites if siblings else plain or sites:
                instead = index.layer.number[int(index.site_row[s])]
                note = f"house number {p.number} not in the layer: {instead}"
                found.append((m, s, OTHER_NUMBER_SUFFIX, (note,)))
    if not found:
        return []
    sites, factor, notes = _filter_place(index, query, [s for _, s, _, _ in found])
    keep = set(sites)
    return [(m, s, f * factor, n + notes) for m, s, f, n in found if s in keep]


def _interpolated_candidate(index: AddressIndex, query: Query, m: StreetMatch) -> Candidate | None:
    """The typed number placed between its real neighbours on street ``m``, or None."""
    p = query.parsed
    if p.number_value is None:
        return None
    point = index.interpolate(m.sid, p.number_value)
    if point is None:
        return None
    lon, lat, lo, hi = point
    street = index.streets[m.sid]
    label = index.layer.street_labels[m.sid]
    row = int(index.site_row[lo])
    low = index.layer.number[row]
    high = index.layer.number[int(index.site_row[hi])]
    return Candidate(
        matched_address=f"{p.number} {label}",
        lon=lon,
        lat=lat,
        match_type=MatchType.INTERPOLATED,
        score=round(SCORE_INTERPOLATED * m.score, 4),
        zip=index.layer.zip[row],
        city=index.layer.city[row],
        street=street.key,
        number=p.number,
        notes=(*m.notes, f"placed between {low} and {high}"),
        between=tuple(
            _candidate(
                index,
                int(index.site_row[s]),
                MatchType.STREET,
                SCORE_SUGGESTION,
                m.notes,
                unit=False,
            )
            for s in (lo, hi)
        ),
    )


def _street_in_place(index: AddressIndex, query: Query, m: StreetMatch) -> bool:
    """Whether street ``m`` has points in the typed ZIP and city (True when none is typed)."""
    p = query.parsed
    for wanted, table in ((p.zip, index.zip_sids), (p.city, index.city_sids)):
        if wanted and wanted in table and m.sid not in table[wanted]:
            return False
    return True


def _rivals(
    index: AddressIndex, query: Query, rivals: list[StreetMatch], taken: set[int]
) -> list[Candidate]:
    """Candidates on other streets the text fits about as well (not in ``taken``): the real
    point with the number, or the number placed between its neighbours there.

    The typed ZIP and city are evidence: a rival whose point (or whose neighbours) lie elsewhere
    is no candidate.
    """
    p = query.parsed
    out: list[Candidate] = []
    seen = set(taken)
    for m in rivals:
        if m.sid in seen or not _street_in_place(index, query, m):
            continue
        seen.add(m.sid)
        sites = index.sites_for(m.sid, p.number)
        if sites:
            sites, factor, _ = _filter_place(index, query, sites)
            if factor < 1.0:
                continue  # the number is a real point there, but not in the typed ZIP
            kind, base = (
                (MatchType.NORMALIZED, SCORE_NORMALIZED)
                if m.sim >= 1.0
                else (MatchType.FUZZY, SCORE_FUZZY)
            )
            for s in sites:
                out += _site_candidate(index, s, query, kind, base * m.score, m.notes)
            continue
        c = _interpolated_candidate(index, query, m)
        if c is not None and not _placed_elsewhere(query, c):
            out.append(c)
    return out


def _placed_elsewhere(query: Query, c: Candidate) -> bool:
    """Whether both neighbours of an interpolated point are outside the typed ZIP (or city)."""
    p = query.parsed
    return bool(
        p.zip
        and all(b.zip and b.zip != p.zip for b in c.between)
        or p.city
        and all(b.city and b.city != p.city for b in c.between)
    )


def _unit_confirms(index: AddressIndex, query: Query, found: list) -> bool:
    """Whether the typed unit is in the layer at every site found (evidence for those sites)."""
    wanted = query.parsed.unit_id
    return bool(wanted) and all(index.site_unit_row(s, wanted) is not None for _, s, _, _ in found)


def _found_candidates(
    index: AddressIndex,
    query: Query,
    found: list[tuple[StreetMatch, int, float, tuple[str, ...]]],
    match_type: MatchType,
    base: float,
) -> list[Candidate]:
    out: list[Candidate] = []
    # runs of sites with one score and notes (one street, the same number in many towns) at once
    run: list[int] = []
    said: tuple[float, tuple[str, ...]] | None = None
    for m, s, f, notes in found:
        these = (base * m.score * f, m.notes + notes)
        if these != said and run:
            assert said is not None
            out += _site_candidates(index, run, query, match_type, *said)
            run = []
        said = these
        run.append(s)
    if run:
        assert said is not None
        out += _site_candidates(index, run, query, match_type, *said)
    return out


# -- the steps -----------------------------------------------------------------------------------
def exact(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """The text is an address of the layer as written (upper case, spaces collapsed)."""
    digest = index.exact.digest(query.key)  # one digest for both tables
    sites = index.exact_sites(query.key, digest)
    if sites:
        cands = _site_candidates(index, sites, query, MatchType.EXACT, SCORE_EXACT)
        return _decide(query, cands, "exact")
    rows = index.exact_unit_rows(query.key, digest)
    if rows:
        cands = _candidates(index, rows, MatchType.EXACT, SCORE_EXACT, (), unit=True)
        return _decide(query, cands, "exact")
    return None


#: characters no street address holds: text after one of them was pasted, not typed (a shell
#: command, markup, a formula), so the address before it is only a suggestion
NOT_ADDRESS_CHARS = re.compile(r"[;<>{}\[\]|`$\\=*~^@%]")


def unusable(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """Text that is no street address: too long, empty, a PO Box, a ZIP or a number alone, or
    an address followed by characters no address holds ("111 Academy Ln; rm -rf /": the
    address before them is offered as a suggestion, never matched with confidence), or street
    words without a name (a street type, a directional, symbols) that are no street of the
    layer: never fuzzy-matched to one."""
    if len(query.text) > MAX_ADDRESS_LENGTH:
        return query.result(
            GeocodeStatus.NOT_FOUND,
            [],
            "unusable",
            f"the text is too long to be an address ({len(query.text)} characters; "
            f"at most {MAX_ADDRESS_LENGTH})",
        )
    junk = NOT_ADDRESS_CHARS.search(query.text)
    if junk:
        head = query.text[: junk.start()].strip(" ,")
        cands = []
        if head:
            inner = run(index, head)
            cands = [
                replace(c, score=round(min(c.score, SCORE_SUGGESTION), 4)) for c in inner.candidates
            ]
        return query.result(
            GeocodeStatus.NOT_FOUND,
            cands,
            "unusable",
            f"the text holds {junk.group()!r}, which is no part of an address: type the "
            "street address alone",
        )
    p = query.parsed
    if p.kind == "po_box":
        return query.result(
            GeocodeStatus.NOT_FOUND,
            [],
            "unusable",
            "a PO Box is not a place: type the street address",
        )
    if p.kind == "empty" or not p.name and not p.number:
        what = "a ZIP code alone is" if p.zip else "the text is"
        return query.result(GeocodeStatus.NOT_FOUND, [], "unusable", f"{what} not a street address")
    if not p.name:
        cands = _same_number_elsewhere(index, p)
        return query.result(
            GeocodeStatus.NOT_FOUND, cands, "unusable", "a house number needs a street"
        )
    if not p.has_street_name and not query.exact_streets:
        # "12 Ave", "5 ★ St": a street type alone is no street, and no name is close to it
        return query.result(GeocodeStatus.NOT_FOUND, [], "unusable", "the text names no street")
    return None


def elsewhere(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """A typed ZIP, state or city that is not this city's: ``not_found`` saying so, with what
    the rest of the cascade makes of the address here as suggestions ("did you mean...")."""
    why = index.foreign_place(query.parsed)
    if not why:
        return None
    here = Query(index, query.text, query.streets)
    here.__dict__["parsed"] = replace(query.parsed, zip="", state="", city="")
    later = [step for name, step in STEPS[STEPS.index(("elsewhere", elsewhere)) + 1 :]]
    inner = next(r for step in later if (r := step(index, here)) is not None)
    note = "the address in this city"
    cands = [
        replace(c, score=round(min(c.score, SCORE_SUGGESTION), 4), notes=(*c.notes, note))
        for c in inner.candidates
    ]
    return query.result(GeocodeStatus.NOT_FOUND, cands, "elsewhere", why)


def corrected(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """An address staff corrected (house number and normalized street, see ``correction_key``):
    the place they named, as sure as a normalized match; the typed unit is kept when the
    layer has it there."""
    if not index.corrections:
        return None
    sites = index.corrections.get(correction_key(query.parsed))
    if not sites:
        return None
    note = ("a staff correction of this address",)
    cands = [
        c
        for s in sites
        for c in _site_candidate(index, s, query, MatchType.NORMALIZED, SCORE_NORMALIZED, note)
    ]
    return _decide(query, cands, "corrected")


def normalized(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """The normalized number and street are a real address point (any of the best streets)."""
    p = query.parsed
    if not p.number or not query.exact_streets:
        return None
    found = _number_sites(index, query, query.exact_streets)
    if not found:
        return None
    cands = _found_candidates(index, query, found, MatchType.NORMALIZED, SCORE_NORMALIZED)
    if any(m.factor < 1.0 for m, _, _, _ in found) and not _unit_confirms(index, query, found):
        # the street had to be assumed: other streets the text fits may have the number too
        taken = {m.sid for m, _, _, _ in found}
        cands += _rivals(index, query, [*query.exact_streets, *query.near_streets], taken)
    return _decide(query, cands, "normalized")


def fuzzy(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """A misspelled street whose closest names have the house number as a real point.

    Names scoring about the same as the best (within ``FUZZY_MARGIN``) are all considered; the
    number tells them apart, or the answer is ambiguous. A name that has the number but scores
    clearly below a name that has not is never taken, nor one below ``FUZZY_ACCEPT``. Where an
    exact name needed an assumption (``720 SAGE RD`` as SAGE AVE), the names about as close
    (``KAGE RD``) are tried too. Every name considered that has not the number as a real point
    but has it within its range is a candidate too (the number placed there).
    """
    p = query.parsed
    if not p.number:
        return None
    exact = query.exact_streets
    matches = query.near_streets if exact else query.fuzzy_streets
    if not matches:
        return None
    top = max([matches[0].score, *(m.score for m in exact)])
    near = [m for m in matches if m.score >= max(top - FUZZY_MARGIN, FUZZY_ACCEPT) - _EPS]
    found = _number_sites(index, query, near)
    if not found:
        return None
    cands = _found_candidates(index, query, found, MatchType.FUZZY, SCORE_FUZZY)
    if not _unit_confirms(index, query, found):
        taken = {m.sid for m, _, _, _ in found}
        cands += _rivals(index, query, [*exact, *near], taken)
    return _decide(query, cands, "fuzzy")


def _confident_streets(query: Query) -> list[StreetMatch]:
    """The streets a query names without a house number to confirm them: exact names, or one
    fuzzy name clearly ahead of the rest."""
    if query.exact_streets:
        return [*query.exact_streets, *query.near_streets]
    matches = query.fuzzy_streets
    if not matches or matches[0].score < FUZZY_ACCEPT_WITHOUT_NUMBER:
        return []
    name = query.index.streets[matches[0].sid].name
    rivals = [
        m
        for m in matches
        if query.index.streets[m.sid].name != name and m.score >= matches[0].score - FUZZY_MARGIN
    ]
    if rivals:
        return []
    return [m for m in matches if query.index.streets[m.sid].name == name]


def interpolated(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """No such address point: place the number between its real neighbours on the same street
    and side, on every street the text may name (never beyond the street's numbers)."""
    p = query.parsed
    if not p.number or p.number_value is None:
        return None
    streets = _confident_streets(query)
    cands = [c for m in streets if (c := _interpolated_candidate(index, query, m)) is not None]
    if not cands:
        return None
    if not query.exact_streets:
        # a misspelled name placed by interpolation alone is no better evidence than another
        # acceptable name that has the number as a real point ("1311 SROTH ST": SOUTH ST
        # placed, 1311 NORTH ST real)
        taken = {m.sid for m in streets}
        others = [
            m
            for m in query.fuzzy_streets
            if m.sid not in taken
            and m.score >= FUZZY_ACCEPT - _EPS
            and _street_in_place(index, query, m)
        ]
        found = _number_sites(index, query, others)
        cands += _found_candidates(index, query, found, MatchType.FUZZY, SCORE_FUZZY)
    return _decide(query, cands, "interpolated")


def street(index: AddressIndex, query: Query) -> GeocodeResult | None:
    """A street without a number: points spread along it (and along every street it may name)."""
    p = query.parsed
    if p.number:
        return None
    matches = _confident_streets(query)
    if not matches:
        return None
    cands = []
    total = 0
    for m in matches:
        # every site of the street in the typed ZIP and city, then a sample of them: a single
        # site is a match, more are candidates (whoever knows the zones checks them all with
        # ``Geocoder.street_points``)
        sites, _, _ = _filter_place(index, query, index.street_all[m.sid].tolist())
        total += len(sites)
        for s in index.spread_sites(m.sid, sites=sites):
            row = int(index.site_row[s])
            c = _candidate(
                index, row, MatchType.STREET, SCORE_STREET * m.score, m.notes, unit=False
            )
            cands.append(c)
    if not cands:
        return None
    if total == 1:
        return query.result(GeocodeStatus.MATCHED, cands, "street")
    return query.result(
        GeocodeStatus.AMBIGUOUS,
        cands,
        "street",
        "a street without a house number: points along it",
    )


def not_found(index: AddressIndex, query: Query) -> GeocodeResult:
    """Nothing fits: the closest real addresses on the street, or the closest street names."""
    p = query.parsed
    cands: list[Candidate] = []
    streets = _confident_streets(query)
    if streets and p.number_value is not None:
        for m in streets:
            for s in index.nearest_sites(m.sid, p.number_value):
                row = int(index.site_row[s])
                cands.append(
                    _candidate(
                        index,
                        row,
                        MatchType.STREET,
                        SCORE_SUGGESTION * m.score,
                        m.notes,
                        unit=False,
                    )
                )
        label = index.layer.street_labels[streets[0].sid]
        message = f"there is no {p.number} on {label} (nor between two of its addresses)"
    else:
        seen: set[str] = set()
        for m in query.fuzzy_streets:
            name = index.streets[m.sid].name
            if name in seen or m.score < FUZZY_SUGGEST or len(seen) >= 5:
                continue
            seen.add(name)
            spread = index.spread_sites(m.sid)
            row = int(index.site_row[spread[len(spread) // 2]])
            cands.append(
                _candidate(
                    index, row, MatchType.STREET, SCORE_SUGGESTION * m.score, m.notes, unit=False
                )
            )
        if not p.name:
            message = "no street in the text"
        elif query.fuzzy_streets and query.fuzzy_streets[0].score >= FUZZY_ACCEPT:
            message = "no street named like that has this house number"
        else:
            message = "no street of that name"
    return query.result(GeocodeStatus.NOT_FOUND, cands, "not_found", message)


def _same_number_elsewhere(index: AddressIndex, p: ParsedAddress, k: int = 5) -> list[Candidate]:
    parsed_number = normalize_number(p.number) if p.number else None
    if parsed_number is None:
        return []
    out = []
    for sid in range(len(index.streets)):
        for s in index.sites_for(sid, parsed_number[0]):
            row = int(index.site_row[s])
            out.append(_candidate(index, row, MatchType.STREET, SCORE_SUGGESTION, (), unit=False))
            if len(out) >= k:
                return out
    return out


#: the cascade, in order; ``not_found`` always answers
STEPS: tuple[tuple[str, Step], ...] = (
    ("exact", exact),
    ("unusable", unusable),
    ("elsewhere", elsewhere),
    ("corrected", corrected),
    ("normalized", normalized),
    ("fuzzy", fuzzy),
    ("interpolated", interpolated),
    ("street", street),
    ("not_found", not_found),
)


def run(
    index: AddressIndex,
    text: str,
    *,
    after_exact: bool = False,
    streets: StreetMemo | None = None,
    parsed: ParsedAddress | None = None,
) -> GeocodeResult:
    """Try each step in ``STEPS`` until one answers (``after_exact``: all but the first, for a
    text whose ``exact`` step was tried and did not answer; ``streets``: see ``Query``;
    ``parsed``: ``index.parse(text)``, when the caller has it)."""
    query = Query(index, text, streets)
    if parsed is not None:
        query.__dict__["parsed"] = parsed
    for _name, step in STEPS[1:] if after_exact else STEPS:
        result = step(index, query)
        if result is not None:
            return result
    raise AssertionError("not_found always answers")  # pragma: no cover


__all__ = ["STEPS", "Query", "Step", "StreetMemo", "place_sites", "run"]
