"""Offline geocoding against the city's own address points: the matching cascade and suggest.

``Geocoder(layer)`` precomputes its lookups once (well under a second for 20,000 points).
``geocode(text)`` runs the cascade of named steps (``cyclemap.geocode.steps.STEPS``): ``exact``,
``normalized``, ``fuzzy``, ``interpolated``, ``street``, and answers a ``GeocodeResult`` whose
``status`` is a ``GeocodeStatus``:

- ``matched``: one place; ``candidates[0]`` with its ``match_type`` and ``score``;
- ``ambiguous``: the text fits several places (``101 MAIN ST`` when both N and S MAIN ST have a
  101; the same address in two ZIPs; a street without a number; two misspelled names that score
  about the same): every place is a candidate, none is picked;
- ``not_found``: with the closest suggestions as candidates when there are any.

Any string is accepted and none raises: text longer than ``MAX_ADDRESS_LENGTH`` (200) characters,
empty text, emoji, punctuation, a ZIP or a number alone, a PO Box are all ``not_found`` with a
``message`` saying why. Only a non-string raises (``InputError``).

>>> from cyclemap.geocode.layer import AddressLayer
>>> layer = AddressLayer.from_records([
...     {"number": n, "street": s, "lon": x, "lat": y}
...     for n, s, x, y in [(101, "N MAIN ST", 0.0051, 0.012), (105, "N MAIN ST", 0.0051, 0.014),
...                        (101, "S MAIN ST", 0.0051, 0.008), (12, "OAK AVE", 0.002, 0.002)]])
>>> g = Geocoder(layer)
>>> r = g.geocode("101 n main street")
>>> r.status, r.candidates[0].matched_address, r.candidates[0].match_type.value
(<GeocodeStatus.MATCHED: 'matched'>, '101 N MAIN ST', 'normalized')
>>> g.geocode("101 Main St").status                   # N or S?
<GeocodeStatus.AMBIGUOUS: 'ambiguous'>
>>> g.geocode("103 N Main St").candidates[0].match_type.value
'interpolated'
>>> g.geocode("12 Oak Avneue").candidates[0].matched_address
'12 OAK AVE'
>>> [s.address for s in g.suggest("10 n m")]
['101 N MAIN ST', '105 N MAIN ST']
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

import numpy as np

from ..errors import InputError
from .index import AddressIndex
from .layer import AddressLayer
from .normalize import MAX_ADDRESS_LENGTH, ParsedAddress, correction_key, parse_street
from .steps import STEPS, Query, StreetMemo, exact, place_sites, run
from .suggest import SuggestIndex
from .types import Candidate, GeocodeResult, GeocodeStatus, MatchType, Suggestion

__all__ = [
    "MAX_ADDRESS_LENGTH",
    "STEPS",
    "Candidate",
    "GeocodeResult",
    "GeocodeStatus",
    "Geocoder",
    "MatchType",
    "Suggestion",
]


class Geocoder:
    """Geocodes addresses against one address layer; safe to share between threads.

    ``aliases`` maps other names of streets to the layer's (``{"KINGS HWY": "KINGSHIGHWAY"}``,
    ``{"MLK": "MARTIN LUTHER KING JR DR"}``); both sides are normalized. ``places`` are extra
    city names that residents may write after the street (the layer's own city column is always
    known), so that ``... KINGSHIGHWAY CAPE GIRARDEAU`` is read as street + city.

    ``state`` (``"MO"``) and ``zips`` (beside the layer's own) say where the city is: an address
    typed with another state, a ZIP that is neither the layer's nor one of ``zips``, or a city
    that is none of the places is ``not_found`` (the address here is offered as a suggestion).
    ``place_aliases`` maps other names of the towns to them (``{"Ashford Center": "Ashford"}``):
    a typed alias picks the town's addresses, as its name does.
    """

    def __init__(
        self,
        layer: AddressLayer,
        aliases: Mapping[str, str] | None = None,
        *,
        places: Iterable[str] | None = None,
        state: str = "",
        zips: Iterable[str] = (),
        place_aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.layer = layer
        self.index = AddressIndex(
            layer, aliases, places, state=state, zips=zips, place_aliases=place_aliases
        )
        self._suggest = SuggestIndex(self.index)

    def __repr__(self) -> str:
        return f"<Geocoder {len(self.layer)} points, {len(self.index.streets)} streets>"

    @property
    def several_towns(self) -> bool:
        """Whether the layer's addresses are in more than one town (its city column): then an
        answer names the town and ZIP of every place, so that no two read the same."""
        return len(self.index.cities) > 1

    def with_aliases(
        self, streets: Mapping[str, str] | None = None, corrections: Mapping[str, str] | None = None
    ) -> tuple[Geocoder, list[str]]:
        """This geocoder also reading staff's aliases, and what could not be applied.

        ``streets`` maps another name of a street to a layer street (``{"MLK BLVD": "MARTIN
        LUTHER KING JR BLVD"}``, ``{"OLD JACKSON RD": "N KINGSHIGHWAY"}``); ``corrections`` maps
        an address (number and street) to a layer address. Nothing is rebuilt: the copy shares
        this geocoder's tables (see ``AddressIndex.with_aliases``), so a new alias set costs
        milliseconds. An alias whose target is not in this layer (a street renamed in a newer
        layer version) is left out and named in the list returned, with why.

        >>> from cyclemap.geocode.layer import AddressLayer
        >>> g = Geocoder(AddressLayer.from_records([
        ...     {"number": "12", "street": "N KINGSHIGHWAY", "lon": 0.0, "lat": 0.0},
        ...     {"number": "14", "street": "OAK AVE", "lon": 0.001, "lat": 0.0}]))
        >>> g2, problems = g.with_aliases({"Old Jackson Rd": "Kingshighway"},
        ...                               {"99 Elm St": "14 Oak Ave"})
        >>> [str(x.geocode("12 Old Jackson Rd").status) for x in (g, g2)]
        ['not_found', 'matched']
        >>> g2.geocode("99 elm street").candidates[0].matched_address, problems
        ('14 OAK AVE', [])
        """
        index = self.index
        problems: list[str] = []
        street_sids: dict[str, list[int]] = {}
        for source, target in (streets or {}).items():
            key = parse_street(source).key
            sids = index.alias_sids(target)
            if not key or not sids:
                problems.append(f"street alias {source} -> {target}: no such street in the layer")
                continue
            street_sids[key] = sids
        site_sids: dict[str, list[int]] = {}
        for source, target in (corrections or {}).items():
            key = correction_key(index.parse(source))
            found = run(index, target)
            rows = [c.row for c in found.candidates if c.row is not None]
            if not key or found.status != GeocodeStatus.MATCHED or not rows:
                problems.append(f"correction {source} -> {target}: not one address of the layer")
                continue
            site_sids[key] = sorted({int(index.row_site[r]) for r in rows})
        if not street_sids and not site_sids:
            return self, problems
        aliased = copy.copy(self)
        aliased.index = index.with_aliases(street_sids, site_sids)
        return aliased, problems

    def miss_keys(self, text: str) -> tuple[str, str]:
        """What a missed lookup is counted by: ``(street, address)``, the normalized street
        alone (no house number) and ``correction_key`` (number and street; kept only when the
        resident confirms a place). ``("", "")`` for text without a street.

        >>> from cyclemap.geocode.layer import AddressLayer
        >>> g = Geocoder(AddressLayer.from_records(
        ...     [{"number": "12", "street": "OAK AVE", "lon": 0.0, "lat": 0.0}]))
        >>> g.miss_keys("12 old jackson road apt 3")
        ('OLD JACKSON RD', '12 OLD JACKSON RD')
        """
        if not isinstance(text, str) or len(text) > MAX_ADDRESS_LENGTH:
            return "", ""
        parsed = self.index.parse(text)
        if parsed.kind != "street" or not parsed.name:
            return "", ""
        return parsed.street_key, correction_key(parsed)

    def geocode(
        self,
        text: str,
        *,
        exact_missed: bool = False,
        streets: StreetMemo | None = None,
        parsed: ParsedAddress | None = None,
    ) -> GeocodeResult:
        """Where ``text`` is: ``matched``, ``ambiguous`` or ``not_found`` with candidates.

        For a batch (the answer is the same): ``exact_missed``, ``exact(text)`` was asked and
        answered None, so the cascade starts at the step after it; ``streets``, a dict the
        batch keeps for this geocoder, where street lookups are remembered (``steps.Query``);
        ``parsed``, the text's ``index.parse``, made by the batch.
        """
        if not isinstance(text, str):
            raise InputError(f"an address must be text, not {type(text).__name__}")
        return run(self.index, text, after_exact=exact_missed, streets=streets, parsed=parsed)

    def exact(self, text: str) -> GeocodeResult | None:
        """The batch fast path: the answer when ``text`` is a layer address as written, else None.

        A lookup of the text upper-cased with spaces collapsed (``exact_key``); no parsing.
        """
        return exact(self.index, Query(self.index, text)) if isinstance(text, str) else None

    def geocode_many(self, texts: Iterable[str]) -> list[GeocodeResult]:
        """``geocode`` for many texts; repeated texts are geocoded once."""
        seen: dict[str, GeocodeResult] = {}
        out = []
        for text in texts:
            result = seen.get(text)
            if result is None:
                result = seen[text] = self.geocode(text)
            out.append(result)
        return out

    def street_points(
        self, rows: Iterable[int], *, zip_code: str = "", city: str = ""
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every address point (lons, lats) on the streets of the given layer rows.

        A street-level answer lists a sample of points along the street; whoever must be
        sure the whole street lies in one zone checks all of them with this. With the typed
        ``zip_code`` and ``city`` (``result.parsed.zip``, ``.city``), only the points of each street
        that the street step kept for them (all of a street that has none in that ZIP).
        """
        index = self.index
        sids = sorted({int(index.site_sid[index.row_site[r]]) for r in rows})
        if not sids:
            return np.empty(0), np.empty(0)
        parts = [
            np.asarray(
                place_sites(index, zip_code, city, index.street_all[sid].tolist())[0], np.int64
            )
            for sid in sids
        ]
        sites = np.concatenate(parts)
        return index.site_lon[sites], index.site_lat[sites]

    def nearest(self, lon: float, lat: float, within_m: float = 75.0) -> Candidate | None:
        """The address point nearest (lon, lat), if one is within ``within_m`` metres, else None.

        For a device's location ("use my location"): the answer names the resident's likely
        address rather than a bare coordinate. The address is as the layer writes it, without
        a unit (``matched_address``), with ``match_type`` ``exact`` and the layer ``row``.

        >>> from cyclemap.geocode.layer import AddressLayer
        >>> g = Geocoder(AddressLayer.from_records([
        ...     {"number": "12", "street": "OAK AVE", "lon": 0.0, "lat": 0.0},
        ...     {"number": "14", "street": "OAK AVE", "lon": 0.001, "lat": 0.0}]))
        >>> g.nearest(0.0008, 0.0001).matched_address          # about 25 m from number 14
        '14 OAK AVE'
        >>> g.nearest(0.5, 0.5) is None                         # 78 km away
        True
        """
        layer = self.layer
        if not len(layer) or not (np.isfinite(lon) and np.isfinite(lat)):
            return None
        # an equirectangular distance, exact enough at the scale of a street
        kx = 111_320.0 * np.cos(np.radians(lat))
        dx = (layer.lon - lon) * kx
        dy = (layer.lat - lat) * 110_574.0
        d2 = dx * dx + dy * dy
        i = int(np.argmin(d2))
        if not d2[i] <= within_m * within_m:
            return None
        return Candidate(
            matched_address=layer.address(i, unit=False),
            lon=float(layer.lon[i]),
            lat=float(layer.lat[i]),
            match_type=MatchType.EXACT,
            score=1.0,
            zip=layer.zip[i],
            city=layer.city[i],
            street=layer.street_label(i),
            number=layer.number[i],
            row=i,
            notes=(f"the address nearest the point, {float(np.sqrt(d2[i])):.0f} m away",),
        )

    def suggest(self, query: str, limit: int = 10) -> list[Suggestion]:
        """Completions for a partial address (``"1234 kin"``, ``"12 s spr"``), best first.

        House numbers that start with the typed number on streets that start with the typed
        street, the exact number first; a street alone gives streets. Never raises for text;
        returns [] for text that cannot start an address.
        """
        return self._suggest.suggest(query, limit)
