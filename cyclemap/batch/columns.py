"""Which column of an input table holds the address: named, guessed from the header, or sniffed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..errors import InputError

__all__ = [
    "ADDRESS_NAMES",
    "NUMBER_NAMES",
    "STREET_NAMES",
    "UNIT_NAMES",
    "AddressColumns",
    "address_likeness",
    "column_index",
    "find_address_columns",
    "output_names",
]

# -- which column is the address ------------------------------------------------------------
#: header names that hold a whole address, best first (compared after ``_slug``)
ADDRESS_NAMES = (
    "service_address", "svc_address", "svc_addr", "service_addr", "serv_addr", "srv_addr",
    "service_location", "premise_address", "premises_address", "site_address",
    "property_address", "location_address", "full_address", "fulladdress", "street_address",
    "address", "addr", "address1", "address_1", "address_line_1", "addr1", "street_address_1",
    "location", "situs_address", "situs",
)  # fmt: skip
NUMBER_NAMES = (
    "house_number", "house_no", "house_num", "housenumber", "house_nbr", "hse_nbr", "hse_no",
    "street_number", "street_no", "street_num", "st_num", "st_no", "addr_num", "address_number",
    "add_number", "number", "num",
)  # fmt: skip
STREET_NAMES = (
    "street",
    "street_name",
    "streetname",
    "st_name",
    "full_street",
    "street_full",
    "road",
)
UNIT_NAMES = ("unit", "apt", "apartment", "unit_number", "unit_no", "suite", "apt_no")
_NOT_ADDRESS = re.compile(
    r"mail|bill|email|e_mail|city|zip|state|postal|country|line_2|2$|_id$|^id_"
)
_LOOKS_LIKE = re.compile(r"^\s*\d+[A-Za-z]?(?:[- ]\d+/\d+)?\s+[A-Za-z0-9]")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def address_likeness(values: Iterable[str]) -> float:
    """The share of non-empty values that start like a street address ("12 MAIN...").

    >>> address_likeness(["12 Main St", "4 Oak Ave Apt 2", "", "PO BOX 4"])
    0.6666666666666666
    """
    seen = hits = 0
    for v in values:
        if v and v.strip():
            seen += 1
            hits += bool(_LOOKS_LIKE.match(v)) and any(ch.isalpha() for ch in v)
    return hits / seen if seen else 0.0


@dataclass(frozen=True)
class AddressColumns:
    """Where a table's addresses are: one column, or parts joined with spaces (number, street…)."""

    names: tuple[str, ...]
    indexes: tuple[int, ...]
    guessed: bool = False

    def describe(self) -> str:
        """``service_address`` or ``house_number + street`` (with "(guessed)")."""
        text = " + ".join(self.names)
        return f"{text} (guessed)" if self.guessed else text

    def getter(self) -> Callable[[Sequence[str]], str]:
        """A function from a row (a list of fields) to its address text."""
        if len(self.indexes) == 1:
            (i,) = self.indexes

            def one(row: Sequence[str]) -> str:
                return row[i] if i < len(row) else ""

            return one
        idx = self.indexes

        def joined(row: Sequence[str]) -> str:
            return " ".join(p for p in (row[i].strip() if i < len(row) else "" for i in idx) if p)

        return joined


def find_address_columns(
    header: Sequence[str], sample: Sequence[Sequence[str]], requested: Sequence[str] = ()
) -> AddressColumns:
    """The address column(s) of a table: the ones ``requested``, or a guess.

    The guess takes, in order: a header named like an address (``ADDRESS_NAMES``) whose sample
    values look like addresses; number + street (+ unit) columns; the column whose values look most
    like addresses. ``InputError`` when nothing fits or a requested name is not a column.

    >>> find_address_columns(["acct", "Service Address"], [["1", "12 MAIN ST"]]).names
    ('Service Address',)
    >>> find_address_columns(["acct", "House No", "Street"], [["1", "12", "MAIN ST"]]).names
    ('House No', 'Street')
    >>> find_address_columns(["a", "b"], [["x", "12 Elm St"], ["y", "3 Oak Ave"]]).names
    ('b',)
    """
    header = list(header)
    if requested:
        idx = [column_index(header, name) for name in requested]
        return AddressColumns(tuple(header[i] for i in idx), tuple(idx))
    slugs = [_slug(h) for h in header]

    def values(i: int) -> list[str]:
        return [r[i] for r in sample if i < len(r)]

    def usable(i: int) -> bool:
        return not sample or address_likeness(values(i)) >= 0.3

    ranked = sorted((ADDRESS_NAMES.index(s), i) for i, s in enumerate(slugs) if s in ADDRESS_NAMES)
    ranked += [
        (len(ADDRESS_NAMES), i)
        for i, s in enumerate(slugs)
        if "addr" in s and s not in ADDRESS_NAMES and not _NOT_ADDRESS.search(s)
    ]
    for _, i in ranked:
        if usable(i):
            return AddressColumns((header[i],), (i,), guessed=True)
    number = _first(slugs, NUMBER_NAMES)
    street = _first(slugs, STREET_NAMES)
    if number is not None and street is not None:
        parts = [number, street]
        unit = _first(slugs, UNIT_NAMES)
        if unit is not None:
            parts.append(unit)
        return AddressColumns(tuple(header[i] for i in parts), tuple(parts), guessed=True)
    scores = [(address_likeness(values(i)), -i) for i in range(len(header))]
    if scores:
        best, neg = max(scores)
        if best >= 0.5:
            return AddressColumns((header[-neg],), (-neg,), guessed=True)
    shown = ", ".join(header) if header else "(none)"
    raise InputError(
        "no column looks like an address; the columns are: "
        f"{shown}. Name it with --address-column (or give --lon-column and --lat-column)"
    )


def _first(slugs: list[str], names: Sequence[str]) -> int | None:
    found = [(names.index(s), i) for i, s in enumerate(slugs) if s in names]
    return min(found)[1] if found else None


def column_index(header: list[str], name: str) -> int:
    if name in header:
        return header.index(name)
    folded = [i for i, h in enumerate(header) if h.strip().casefold() == name.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(header) if header else "(none)"
    raise InputError(f"there is no column {name!r}; the columns are: {shown}")


def output_names(header: Sequence[str], added: Sequence[str]) -> list[str]:
    """Names for added columns that do not clash with the header (``status`` -> ``status_1``).

    >>> output_names(["account", "status"], ["cycle", "status"])
    ['cycle', 'status_1']
    """
    taken = set(header)
    names = []
    for name in added:
        new, n = name, 0
        while new in taken:
            n += 1
            new = f"{name}_{n}"
        taken.add(new)
        names.append(new)
    return names
