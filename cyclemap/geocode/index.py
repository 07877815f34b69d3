"""What the geocoder precomputes from an address layer, and the street and number lookups on it.

Built once per layer (well under a second for 20,000 points):

- *sites*: one per house number on a street in a ZIP (a building's unit rows are one site), with
  the row that stands for it (the row without a unit, else the first unit row);
- per street and side (odd/even), its sites sorted by number, for interpolation;
- the street name vocabulary, also per ZIP, for fuzzy matching (names are few: ~200);
- the exact index: each row's own text, upper case with spaces collapsed.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from ..errors import ConfigError
from .groups import KeyGroups, PairGroups, RowGroups, Slices
from .layer import AddressLayer
from .normalize import (
    HIGHWAY_NAMES,
    ParsedAddress,
    Street,
    clean_text,
    exact_key,
    generic_highway,
    normalize_place,
    normalize_zip,
    parse_address,
    parse_street,
    tables,
    unit_id,
)
from .texts import TextColumn

#: neighbours further apart than this are not interpolated between (metres)
MAX_INTERPOLATION_GAP_M = 400.0
#: units of one building further apart than this are separate places (metres)
SAME_PLACE_M = 50.0
#: fuzzy name similarity below which a name is not considered at all
FUZZY_FLOOR = 0.5
#: a fuzzy name search keeps to the typed ZIP or city unless its best there scores this much
#: below the best elsewhere
FUZZY_MARGIN_SCOPE = 0.1
#: the similarity given to a name that the typed one abbreviates (KINGSHWY for KINGSHIGHWAY)
ABBREVIATION_SIM = 0.85

# score factors for what the reading of a street had to assume
DIRECTIONAL_ADDED = 0.97  # "1234 Kingshighway" -> N KINGSHIGHWAY
DIRECTIONAL_EXTRA = 0.9  # "12 N William St" -> WILLIAM ST
DIRECTIONAL_MOVED = 0.99  # "Kingshighway N" -> N KINGSHIGHWAY
SUFFIX_ADDED = 0.99  # "12 S Sprigg" -> S SPRIGG ST
SUFFIX_EXTRA = 0.95  # "1234 N Kingshighway St" -> N KINGSHIGHWAY
SUFFIX_OTHER = 0.85  # "12 William Ave" -> WILLIAM ST
OTHER_READING = 0.98  # "West End Blvd" read as WEST END + BLVD


#: a typed city name this close to one of the city's places is taken for it (a typo)
PLACE_SIMILAR = 0.8


@functools.lru_cache(maxsize=1024)
def _place_key(place: str) -> str:
    """A city name compared in one form: ``"St. Louis, Missouri"`` -> ``"ST LOUIS"`` (kept:
    a city has few town names, asked of every address that names one)."""
    return normalize_place(clean_text(place).split(",")[0])


_ROUTE_TAIL = re.compile(r"^(\D+?) (\d{1,4}[A-Z]?)$")
#: a misspelled highway word before a route number is read as one from this similarity
FUZZY_ACCEPT_HIGHWAY = 0.7


@functools.cache
def _highway_prefixes() -> list[str]:
    return [" ".join(variant) for variant, _ in tables().highways]


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance between two nearby points (equirectangular; exact enough under a few km).

    >>> round(metres(-89.55, 37.31, -89.55, 37.311))
    111
    """
    kx = 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * 110_574.0)


@dataclass(frozen=True)
class StreetMatch:
    """A layer street that the typed street may be, with what that assumes."""

    sid: int
    #: name similarity, 1.0 for an exact (normalized) name
    sim: float
    #: product of the assumption factors (directional/suffix added, dropped, changed)
    factor: float
    #: lower is better: (directional tier, suffix tier); only the best tier is kept
    tier: tuple[int, int]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """Name similarity times assumptions."""
        return self.sim * self.factor


def compat(typed: Street, street: Street) -> tuple[tuple[int, int], float, tuple[str, ...]] | None:
    """How a typed street's directional and suffix fit a layer street; None if they conflict.

    >>> compat(Street("", "KINGSHIGHWAY", "ST"), Street("N", "KINGSHIGHWAY"))
    ((0, 1), 0.9215, ('directional N added', 'suffix ST not in the layer'))
    >>> compat(Street("E", "KINGSHIGHWAY"), Street("N", "KINGSHIGHWAY")) is None
    True
    """
    factor = 1.0
    notes: list[str] = []
    typed_dirs = [d for d in (typed.predir, typed.postdir) if d]
    street_dirs = [d for d in (street.predir, street.postdir) if d]
    if not typed_dirs:
        dir_tier = 0
        if street_dirs:
            factor *= DIRECTIONAL_ADDED
            notes.append(f"directional {' '.join(street_dirs)} added")
    elif not street_dirs:
        dir_tier = 1
        factor *= DIRECTIONAL_EXTRA
        notes.append(f"directional {' '.join(typed_dirs)} not in the layer")
    elif set(typed_dirs) <= set(street_dirs):
        dir_tier = 0
        if (typed.predir, typed.postdir) != (street.predir, street.postdir):
            factor *= DIRECTIONAL_MOVED
    else:
        return None
    if not typed.suffix:
        suffix_tier = 0
        if street.suffix:
            factor *= SUFFIX_ADDED
    elif typed.suffix == street.suffix:
        suffix_tier = 0
    elif not street.suffix:
        suffix_tier = 1
        factor *= SUFFIX_EXTRA
        notes.append(f"suffix {typed.suffix} not in the layer")
    else:
        suffix_tier = 2
        factor *= SUFFIX_OTHER
        notes.append(f"suffix {typed.suffix} read as {street.suffix}")
    return (dir_tier, suffix_tier), round(factor, 4), tuple(notes)


def best_tier(matches: Iterable[StreetMatch]) -> list[StreetMatch]:
    """Keep one match per street (the best), then only the streets in the best tier."""
    best: dict[int, StreetMatch] = {}
    for m in matches:
        old = best.get(m.sid)
        if old is None or (m.tier, -m.score) < (old.tier, -old.score):
            best[m.sid] = m
    if not best:
        return []
    top = min(m.tier for m in best.values())
    return sorted((m for m in best.values() if m.tier == top), key=lambda m: -m.score)


def is_abbreviation(short: str, name: str) -> bool:
    """Whether ``short`` abbreviates ``name`` by leaving letters out (``KINGSHWY``).

    Same first letter, every letter in order, at least 4 letters and half the name's length.

    >>> is_abbreviation("KINGSHWY", "KINGSHIGHWAY"), is_abbreviation("KNGS", "KINGSHIGHWAY")
    (True, False)
    """
    if len(short) < 4 or len(short) * 2 < len(name) or len(short) >= len(name):
        return False
    if short[0] != name[0] or short[-1] != name[-1]:
        return False
    it = iter(name)
    return all(ch in it for ch in short)


class AddressIndex:
    """The lookups the cascade steps use, built once from an ``AddressLayer``.

    ``with_aliases`` makes a light copy that also reads staff's street aliases and address
    corrections (kept in the store, not compiled): the big tables are shared, not rebuilt.
    """

    #: street aliases from the store: a whole normalized street -> the layer streets it names
    street_aliases: Mapping[str, list[int]] = MappingProxyType({})
    #: address corrections from the store: ``correction_key`` -> the sites it names
    corrections: Mapping[str, list[int]] = MappingProxyType({})

    def __init__(
        self,
        layer: AddressLayer,
        aliases: Mapping[str, str] | None = None,
        places: Iterable[str] | None = None,
        *,
        state: str = "",
        zips: Iterable[str] = (),
        place_aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.layer = layer
        place_aliases = dict(place_aliases or {})
        extra_zips = tuple(zips)
        self.streets: list[Street] = list(layer.streets)
        #: each street's normalized key (``Street.key``, joined once here, not per candidate)
        self.street_keys: list[str] = [st.key for st in self.streets]
        n = len(layer)
        lon, lat = layer.lon, layer.lat
        sid_arr = layer.street_id.astype(np.int64)
        number_codes = layer.number.codes.astype(np.int64)
        zip_codes = layer.zip.codes.astype(np.int64)

        # -- sites: (street, number, ZIP) -> rows, numbered in order of their first row ----------
        order = np.lexsort((np.arange(n), zip_codes, number_codes, sid_arr))
        keys = (sid_arr[order], number_codes[order], zip_codes[order])
        same = np.zeros(n, dtype=bool)  # as the row before in ``order``
        same[1:] = True
        for k in keys:
            same[1:] &= k[1:] == k[:-1]
        first = ~same
        group = np.cumsum(first) - 1  # of each row in ``order``
        m = int(group[-1]) + 1 if n else 0
        site_of_group = np.empty(m, dtype=np.int64)
        site_of_group[np.argsort(order[first], kind="stable")] = np.arange(m)
        row_site = np.empty(n, dtype=np.int64)
        row_site[order] = site_of_group[group]
        self.row_site = row_site
        #: each site's rows, in row order (``site_rows[s]`` reads like a list)
        self.site_rows = RowGroups(row_site, m)
        # the row that stands for a site: its first row without a unit, else its first row
        blank = layer.unit.code("")
        has_unit = layer.unit.codes != blank if blank is not None else np.ones(n, dtype=bool)
        by_site = np.lexsort((np.arange(n), has_unit, row_site))
        starts = np.flatnonzero(np.r_[True, row_site[by_site][1:] != row_site[by_site][:-1]])
        rep = by_site[starts].astype(np.int64)
        self.site_row = rep
        self.site_sid = sid_arr[rep]
        self.site_value = layer.number_value[rep].astype(np.int64)
        self.site_lon = lon[rep]
        self.site_lat = lat[rep]
        #: how far apart each site's rows (units) are, in metres (``site_spread_m``): the
        #: corners of their box, found for all sites at once, measured by ``metres`` one by one
        self.site_spread = np.zeros(m, dtype=np.float64)
        several = np.flatnonzero(np.bincount(row_site, minlength=m) > 1)
        if len(several):
            in_site = np.argsort(row_site, kind="stable")
            first_rows = np.searchsorted(row_site[in_site], np.arange(m))
            xs, ys = lon[in_site], lat[in_site]
            box = [
                f.reduceat(v, first_rows)[several].tolist()
                for f, v in ((np.minimum, xs), (np.minimum, ys), (np.maximum, xs), (np.maximum, ys))
            ]
            for s, x0, y0, x1, y1 in zip(several.tolist(), *box, strict=True):
                self.site_spread[s] = metres(x0, y0, x1, y1)
        # sites by (street, number text) and by (street, integer part), compactly (groups.py)
        self.by_number = PairGroups(self.site_sid, number_codes[rep])
        self.by_value = PairGroups(self.site_sid, self.site_value)

        # -- per street and side, sites sorted by number -------------------------------------------
        order = np.lexsort((self.site_value, self.site_value % 2, self.site_sid))
        sides: list[np.ndarray] = []  # even sites, odd sites of street 0, then of street 1...
        every: list[np.ndarray] = []
        bounds = np.searchsorted(self.site_sid[order], np.arange(len(self.streets) + 1))
        for sid in range(len(self.streets)):
            chunk = order[bounds[sid] : bounds[sid + 1]]
            par = self.site_value[chunk] % 2
            sides += [chunk[par == 0], chunk[par == 1]]
            every.append(chunk[np.argsort(self.site_value[chunk], kind="stable")])
        self._sides = Slices(sides)
        #: each street's sites in number order (``street_all[sid]``: an array)
        self.street_all = Slices(every)

        # -- names -----------------------------------------------------------------------------
        self.by_name: dict[str, list[int]] = {}
        self.by_raw_name: dict[str, list[int]] = {}
        for sid, st in enumerate(self.streets):
            self.by_name.setdefault(st.name, []).append(sid)
            raw = parse_street(layer.street_labels[sid]).raw_name or st.name
            self.by_raw_name.setdefault(raw, []).append(sid)
        # a highway's system-less name ("HIGHWAY 61") finds it too
        own_names = set(self.by_name)
        for sid, st in enumerate(self.streets):
            generic = generic_highway(st.name)
            if generic and generic not in own_names:
                self.by_name.setdefault(generic, []).append(sid)
        for alias, target in (aliases or {}).items():
            self._add_alias(alias, target)
        self.names = sorted(self.by_name)
        self.raw_names = sorted(self.by_raw_name)
        # names with their suffix, for a misspelled suffix read as part of the name ("OAK AVNEUE")
        self.by_full_name: dict[str, list[int]] = {}
        for sid, st in enumerate(self.streets):
            full = " ".join(p for p in (st.name, st.suffix) if p)
            self.by_full_name.setdefault(full, []).append(sid)
        self.full_names = sorted(self.by_full_name)
        self._by_initial: dict[tuple[int, str], list[tuple[str, str]]] = {}
        for which, names in enumerate((self.names, self.raw_names, self.full_names)):
            for name in names:
                self._by_initial.setdefault((which, name[:1]), []).append(
                    (name, name.replace(" ", ""))
                )
        self.zip_sids = self._sids_by(layer.zip, rep)
        self.city_sids = self._sids_by(layer.city, rep)
        self.cities = tuple(sorted({c for c in layer.city.values if c}, key=len, reverse=True))
        self.places = tuple(
            sorted(
                {
                    *self.cities,
                    *(p.strip().upper() for p in [*(places or ()), *place_aliases] if p),
                    # "Cambridge, Massachusetts" is written "Cambridge" too
                    *(p.split(",")[0].strip().upper() for p in places or () if "," in p),
                },
                key=len,
            )
        )
        # each name a town is written by (its key), to the layer's own spelling of the town
        self.town_of: dict[str, str] = {_place_key(c): c for c in self.cities}
        for alias, town in place_aliases.items():
            alias_key = _place_key(alias)
            if alias_key:
                self.town_of.setdefault(
                    alias_key, self.town_of.get(_place_key(town), clean_text(town))
                )
        # what the city is, to tell a typed ZIP, state or city that is somewhere else
        self.state = tables().states.get(clean_text(state), "") if state else ""
        self.zips = frozenset(
            {z for z in self.zip_sids if z}
            | {z for z in (normalize_zip(z) for z in extra_zips) if z}
        )
        self.place_keys = frozenset(k for k in (_place_key(p) for p in self.places) if k)

        # -- exact index: each row's own text --------------------------------------------------
        #: sites by the ``exact_key`` of their address without a unit (``exact_sites``)
        self.exact = KeyGroups(list(map(exact_key, self.site_addresses())), range(m))
        unit_rows = np.flatnonzero(has_unit)
        #: rows with a unit by the ``exact_key`` of their address (``exact_unit_rows``)
        unit_texts = [
            f"{number} {layer.street_labels[sid]} {unit}"
            for number, sid, unit in zip(
                layer.number.take(unit_rows),
                layer.street_id[unit_rows].tolist(),
                layer.unit.take(unit_rows),
                strict=True,
            )
        ]
        self.exact_unit = KeyGroups(list(map(exact_key, unit_texts)), unit_rows.tolist())

    def site_addresses(self) -> list[str]:
        """Each site's address without a unit, as the layer writes it (``layer.address(row,
        unit=False)`` of its row), all made at once."""
        labels = self.layer.street_labels
        numbers = self.layer.number.take(self.site_row)
        return [
            f"{n} {labels[sid]}" for n, sid in zip(numbers, self.site_sid.tolist(), strict=True)
        ]

    def _sids_by(self, column: TextColumn, rep: np.ndarray) -> dict[str, set[int]]:
        """The streets with a site of each text of a column (each ZIP's, each town's)."""
        width = len(self.streets) + 1
        pairs = np.unique(column.codes[rep].astype(np.int64) * width + self.site_sid)
        out: dict[str, set[int]] = {}
        for code, sid in zip((pairs // width).tolist(), (pairs % width).tolist(), strict=True):
            out.setdefault(column.values[code], set()).add(sid)
        return out

    def _site_key(self, site: int) -> str:
        return exact_key(self.layer.address(int(self.site_row[site]), unit=False))

    def _row_key(self, row: int) -> str:
        return exact_key(self.layer.address(row))

    def exact_sites(self, key: str, digest: int | None = None) -> list[int]:
        """The sites whose address (without a unit) has this ``exact_key``, in site order
        (``digest``: the key's ``text_digest``, when the caller has it)."""
        return self.exact.get(key, self._site_key, digest)

    def exact_unit_rows(self, key: str, digest: int | None = None) -> list[int]:
        """The rows with a unit whose address has this ``exact_key``, in row order."""
        return self.exact_unit.get(key, self._row_key, digest)

    def alias_sids(self, target: str) -> list[int]:
        """The layer streets a street alias's target names: every street of that name, or
        only the one with the target's directional when it has one."""
        t = parse_street(target)
        return [
            sid
            for sid, st in enumerate(self.streets)
            if st.name == t.name
            and (not (t.predir or t.postdir) or st.key == t.key)
            and (not t.suffix or not st.suffix or st.suffix == t.suffix)
        ]

    def with_aliases(
        self, streets: Mapping[str, list[int]], corrections: Mapping[str, list[int]]
    ) -> AddressIndex:
        """A copy of this index that also reads ``streets`` (a whole normalized street -> the
        layer streets it is another name of) and ``corrections`` (``correction_key`` -> sites).

        Only the name table is copied (a few thousand entries): a street alias's name finds its
        streets as a layer name does, so ``12 MLK`` and ``12 N MLK BLVD`` read the alias too.
        """
        copy = object.__new__(AddressIndex)
        copy.__dict__.update(self.__dict__)
        by_name = dict(self.by_name)
        for source, sids in streets.items():
            name = parse_street(source).name
            if name and sids:
                by_name[name] = sorted(set(by_name.get(name, ())) | set(sids))
        copy.by_name = by_name
        copy.street_aliases = {k: list(v) for k, v in streets.items() if v}
        copy.corrections = {k: list(v) for k, v in corrections.items() if v}
        return copy

    def _add_alias(self, alias: str, target: str) -> None:
        a = parse_street(alias)
        t = parse_street(target)
        sids = [
            sid
            for sid, st in enumerate(self.streets)
            if st.name == t.name and (not (t.predir or t.postdir) or st.key == t.key)
        ]
        if not a.name or not sids:
            known = ", ".join(self.layer.street_labels[:5])
            raise ConfigError(
                f"street alias {alias!r} -> {target!r}: {target!r} is not a street of the address"
                f" layer (streets are written like {known}...)"
            )
        self.by_name.setdefault(a.name, [])
        self.by_name[a.name] = sorted(set(self.by_name[a.name]) | set(sids))

    # -- parsing --------------------------------------------------------------------------------
    def parse(self, text: str) -> ParsedAddress:
        """``parse_address`` knowing this layer's city names; a typed town is given as the layer
        spells it (an alias, an abbreviation or a misspelling of one town is that town)."""
        parsed = parse_address(text, self.places)
        if parsed.city:
            town = self.canonical_town(parsed.city)
            if town != parsed.city:
                parsed = replace(parsed, city=town)
        return parsed

    def canonical_town(self, city: str) -> str:
        """The layer's spelling of a typed town (itself, the town of an alias, or the one town
        it abbreviates or misspells); else the text as typed.

        >>> rows = [{"number": 1, "street": "Main St", "city": c, "lon": x, "lat": 0}
        ...         for c, x in (("Ashford", 0), ("Brookfield", 1))]
        >>> ix = AddressIndex(AddressLayer.from_records(rows),
        ...                   place_aliases={"Ashford Center": "Ashford"})
        >>> [ix.canonical_town(c) for c in ("ashford center", "BROOKFEILD", "X")]
        ['ASHFORD', 'BROOKFIELD', 'X']
        """
        key = _place_key(city)
        if not key:
            return city
        if key in self.town_of:
            return self.town_of[key]
        # rapidfuzz (like usaddress) loads with the first text that is no exact match: a cold
        # ``cyclemap lookup`` of an address as the layer writes it never needs it
        from rapidfuzz import fuzz

        hits = {
            town
            for known, town in self.town_of.items()
            if known.startswith(key + " ")
            or key.startswith(known + " ")
            or fuzz.ratio(key, known) >= PLACE_SIMILAR * 100
        }
        return hits.pop() if len(hits) == 1 else city

    def foreign_place(self, parsed: ParsedAddress) -> str:
        """Why the typed ZIP, state or city is not this city's, in words; "" when it may be.

        A ZIP is this city's when the layer or the configured ZIPs have it; a state when it is the
        configured one; a city when it is (or starts, or is one letter or so off) a city name of
        the layer or a configured place. Whatever is unknown (no ZIPs, no state) is never foreign.
        """
        if parsed.zip and self.zips and parsed.zip not in self.zips:
            return f"that address is in ZIP {parsed.zip}, which is not in this city's service area"
        if parsed.state and self.state and parsed.state != self.state:
            return f"that address is in {parsed.state}; this city is in {self.state}"
        if parsed.city and self.place_keys and not self.known_place(parsed.city):
            return f"that address is in {parsed.city}, which is not a place this city serves"
        return ""

    def known_place(self, city: str) -> bool:
        """Whether a typed city name is (or abbreviates, or misspells) one of the city's places.

        >>> one = [{"number": 1, "street": "Main St", "city": "Cape Girardeau", "lon": 0, "lat": 0}]
        >>> ix = AddressIndex(AddressLayer.from_records(one), places=["Saint Louis, Missouri"])
        >>> [ix.known_place(c) for c in ("CAPE GIRARDEAU", "CAPE", "CAPE GIRARDUE", "ST LOUIS")]
        [True, True, True, True]
        >>> ix.known_place("JACKSON")
        False
        """
        key = _place_key(city)
        if not key or key in self.place_keys:
            return True
        from rapidfuzz import fuzz

        for known in self.place_keys:
            if known.startswith(key + " ") or key.startswith(known + " "):
                return True
            if fuzz.ratio(key, known) >= PLACE_SIMILAR * 100:
                return True
        return False

    # -- streets --------------------------------------------------------------------------------
    def exact_streets(self, parsed: ParsedAddress) -> list[StreetMatch]:
        """Layer streets whose normalized name equals a reading of the typed one (best tier)."""
        found: list[StreetMatch] = []
        for ri, reading in enumerate(parsed.readings):
            for sid in self.street_aliases.get(reading.key, ()):
                # staff said this whole street is that one: nothing is assumed
                label = self.layer.street_labels[sid]
                note = f"street alias: {reading.key} is {label}"
                found.append(StreetMatch(sid, 1.0, OTHER_READING if ri else 1.0, (0, 0), (note,)))
            sids = self.by_name.get(reading.name)
            if sids is None:
                generic = generic_highway(reading.name)
                sids = self.by_name.get(generic, []) if generic else []
            for sid in sids:
                c = compat(reading, self.streets[sid])
                if c is None:
                    continue
                tier, factor, notes = c
                if ri:
                    factor *= OTHER_READING
                found.append(StreetMatch(sid, 1.0, factor, tier, notes))
        return best_tier(found)

    def fuzzy_streets(self, parsed: ParsedAddress, limit: int = 6) -> list[StreetMatch]:
        """Layer streets whose names are close to a reading of the typed one, best first.

        rapidfuzz ``fuzz.ratio`` over the normalized names and over the names as the layer writes
        them, plus abbreviations (``KINGSHWY``) and misspelled highway words (``RUUTE 74``). One
        match per street, best tier per name, kept to the typed ZIP or city (see ``_scoped``).
        """
        from rapidfuzz import fuzz, process

        sims: dict[int, tuple[float, int]] = {}
        vocab = self.names
        asked: set[tuple[str, int]] = set()
        for ri, reading in enumerate(parsed.readings):
            queries = [(reading.name, 0), (reading.raw_name, 1)]
            if ri == 0 and not reading.suffix:  # a misspelled suffix stays in the name
                queries.append((reading.name, 2))
            for q, which in queries:
                if not q or (q, which) in asked:
                    continue
                asked.add((q, which))
                names, table = (
                    (vocab, self.by_name),
                    (self.raw_names, self.by_raw_name),
                    (self.full_names, self.by_full_name),
                )[which]
                best = 0.0
                for name, score, _ in process.extract(
                    q, names, scorer=fuzz.ratio, limit=limit, score_cutoff=FUZZY_FLOOR * 100
                ):
                    best = max(best, score / 100)
                    for sid in table[name]:
                        if sims.get(sid, (0.0, 0))[0] < score / 100:
                            sims[sid] = (score / 100, ri)
                if best >= ABBREVIATION_SIM or which == 2:
                    continue
                short = q.replace(" ", "")
                for name, squeezed in self._by_initial.get((which, q[:1]), ()):
                    if len(short) < len(squeezed) <= 2 * len(short) and is_abbreviation(
                        short, squeezed
                    ):
                        for sid in table[name]:
                            if sims.get(sid, (0.0, 0))[0] < ABBREVIATION_SIM:
                                sims[sid] = (ABBREVIATION_SIM, ri)
            self._fuzzy_highway(reading, ri, sims)
        readings = parsed.readings
        out: list[StreetMatch] = []
        by_name: dict[str, list[StreetMatch]] = {}
        for sid, (sim, ri) in sims.items():
            c = compat(readings[ri], self.streets[sid])
            if c is None:
                continue
            tier, factor, notes = c
            if ri:
                factor *= OTHER_READING
            by_name.setdefault(self.streets[sid].name, []).append(
                StreetMatch(
                    sid,
                    sim,
                    factor,
                    tier,
                    (f"street name read as {self.streets[sid].name}", *notes),
                )
            )
        for matches in by_name.values():
            out.extend(best_tier(matches))
        out.sort(key=lambda m: -m.score)
        return self._scoped(parsed, out)

    def _scoped(self, parsed: ParsedAddress, matches: list[StreetMatch]) -> list[StreetMatch]:
        """Only the streets in the typed ZIP (then city), unless that drops the best by more
        than ``FUZZY_MARGIN_SCOPE`` (then the ZIP or city is more likely wrong than the name)."""
        for wanted, table in ((parsed.zip, self.zip_sids), (parsed.city, self.city_sids)):
            if not matches or not wanted or wanted not in table:
                continue
            inside = [m for m in matches if m.sid in table[wanted]]
            if inside and inside[0].score >= matches[0].score - FUZZY_MARGIN_SCOPE:
                matches = inside
        return matches

    def _fuzzy_highway(self, reading: Street, ri: int, sims: dict[int, tuple[float, int]]) -> None:
        """A misspelled highway word before a route number (``RUUTE 74``, ``STAET HWY 74``)."""
        from rapidfuzz import fuzz, process

        m = _ROUTE_TAIL.match(reading.raw_name or reading.name)
        if m is None or reading.name.startswith(HIGHWAY_NAMES):
            return
        words, route = m.groups()
        hit = process.extractOne(
            words, _highway_prefixes(), scorer=fuzz.ratio, score_cutoff=FUZZY_ACCEPT_HIGHWAY * 100
        )
        if hit is None:
            return
        variant, score, _ = hit
        canonical = dict(tables().highways)[tuple(variant.split())]
        sids = self.by_name.get(f"{canonical} {route}") or self.by_name.get(f"HIGHWAY {route}", [])
        for sid in sids:
            if sims.get(sid, (0.0, 0))[0] < score / 100:
                sims[sid] = (score / 100, ri)

    # -- numbers -------------------------------------------------------------------------------
    def sites_for(self, sid: int, number: str) -> list[int]:
        """Sites with this exact house number on a street (one per ZIP)."""
        code = self.layer.number.code(number)
        return [] if code is None else self.by_number.get(sid, code)

    def sites_for_value(self, sid: int, value: int) -> list[int]:
        """Sites whose number has this integer part (``12``, ``12A``, ``12 1/2``)."""
        return self.by_value.get(sid, value)

    def interpolate(self, sid: int, value: int) -> tuple[float, float, int, int] | None:
        """A point for a number between two real neighbours on the same side of a street.

        Returns ``(lon, lat, low_site, high_site)``, or None when the number is outside the
        street's numbers on that side, or the neighbours are too far apart to trust a line
        between them (``MAX_INTERPOLATION_GAP_M``).
        """
        side = self._sides[2 * sid + value % 2]
        if len(side) < 2:
            return None
        values = self.site_value[side]
        i = int(values.searchsorted(value))
        if i == 0 or i >= len(side) or values[i] == value:
            return None
        lo, hi = int(side[i - 1]), int(side[i])
        vlo, vhi = int(values[i - 1]), int(values[i])
        x0, y0, x1, y1 = self.site_lon[lo], self.site_lat[lo], self.site_lon[hi], self.site_lat[hi]
        if metres(x0, y0, x1, y1) > MAX_INTERPOLATION_GAP_M:
            return None
        t = (value - vlo) / (vhi - vlo)
        return float(x0 + t * (x1 - x0)), float(y0 + t * (y1 - y0)), lo, hi

    def nearest_sites(self, sid: int, value: int, k: int = 3) -> list[int]:
        """The ``k`` sites of a street whose numbers are closest to ``value``."""
        sites = self.street_all[sid]
        if len(sites) == 0:
            return []
        order = np.argsort(np.abs(self.site_value[sites] - value), kind="stable")[:k]
        return [int(s) for s in sites[order]]

    def spread_sites(
        self, sid: int, most: int = 24, sites: Iterable[int] | None = None
    ) -> list[int]:
        """Sites spread along a street, in number order: both ends and the middle one of each
        hundred-block (at most ``most``, always keeping the ends). ``sites``: only these sites
        of the street (in number order), not all of them."""
        sites = self.street_all[sid] if sites is None else np.asarray(list(sites), dtype=np.int64)
        if len(sites) == 0:
            return []
        blocks = self.site_value[sites] // 100
        starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
        ends = np.r_[starts[1:], len(sites)]
        positions = {0, len(sites) - 1}
        positions.update(int((a + b - 1) // 2) for a, b in zip(starts, ends, strict=True))
        picks = [int(sites[i]) for i in sorted(positions)]
        if len(picks) > most:
            idx = np.unique(np.linspace(0, len(picks) - 1, most).round().astype(int))
            picks = [picks[i] for i in idx]
        return picks

    def site_unit_row(self, site: int, wanted: str) -> int | None:
        """The row of a site whose unit identifier is ``wanted`` (``5`` for ``APT 5``/``#5``)."""
        for r in self.site_rows[site]:
            u = self.layer.unit[r]
            if u and (unit_id(u) == wanted or u == wanted):
                return r
        return None

    def site_spread_m(self, site: int) -> float:
        """How far apart a site's rows (units) are, in metres (measured once, at build)."""
        return float(self.site_spread[site])
