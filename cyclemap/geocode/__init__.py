"""Offline geocoding against the city's own address points.

| module | owns |
|---|---|
| ``normalize`` + ``data/*.csv`` | USPS Pub 28 tables, parsing and normalizing address text |
| ``layer`` | reading the address point layer (``read_addresses -> AddressLayer``) |
| ``index`` | the lookups the cascade reads (``AddressIndex``) |
| ``steps`` | the matching cascade: named steps tried in order (``STEPS``) |
| ``suggest`` | completions as the resident types (``SuggestIndex``) |
| ``types`` | the answers: ``MatchType``, ``Candidate``, ``GeocodeResult``, ``Suggestion`` |
| ``geocoder`` | ``Geocoder(layer)``: ``geocode``, ``exact``, ``suggest``, ``street_points`` |
"""

from .geocoder import Geocoder
from .index import metres
from .layer import AddressLayer, ImportReport, read_addresses
from .normalize import (
    MAX_ADDRESS_LENGTH,
    ParsedAddress,
    correction_key,
    exact_key,
    load_parser,
    normalize_place,
    normalize_street,
    parse_address,
)
from .steps import STEPS
from .types import Candidate, GeocodeResult, GeocodeStatus, MatchType, Suggestion

__all__ = [
    "MAX_ADDRESS_LENGTH",
    "STEPS",
    "AddressLayer",
    "Candidate",
    "GeocodeResult",
    "GeocodeStatus",
    "Geocoder",
    "ImportReport",
    "MatchType",
    "ParsedAddress",
    "Suggestion",
    "normalize_place",
    "correction_key",
    "exact_key",
    "load_parser",
    "normalize_street",
    "parse_address",
    "metres",
    "read_addresses",
]
