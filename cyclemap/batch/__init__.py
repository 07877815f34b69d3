"""Batch cycle assignment: many addresses (or points) in, one small answer per row out, in order.

| module | owns |
|---|---|
| ``answers`` | ``Assignment`` (one row's answer), ``Tally`` (counts over a run), ``FIELDS`` |
| ``resolve`` | ``normalize_key``; geocoding a batch of distinct addresses and deciding each |
| ``workers`` | the pool of forked workers that inherit the loaded city |
| ``assign`` | ``Assigner`` (chunks, the cache, in-order results) and ``assign_addresses`` |
| ``columns`` | which column holds the address (``find_address_columns``) |
| ``csvio`` | streaming CSV in any encoding/delimiter, atomic output |
| ``csvjob`` | ``plan_csv`` / ``assign_csv``: the ``cyclemap assign`` command's path |

The batch sits beside ``City``: ``City.assign`` calls it, and it takes a city only as a
``LoadedCity`` (its geocoder and live zones), never importing ``cyclemap.city``.
"""

from .answers import FIELDS, REJECT_FIELDS, STATUSES, Assignment, Tally
from .assign import Assigner, LoadedCity, assign_addresses
from .columns import AddressColumns, address_likeness, find_address_columns, output_names
from .csvio import Table, atomic_writer, open_table
from .csvjob import CsvReport, assign_csv, plan_csv
from .resolve import normalize_key
from .workers import fork_available

__all__ = [
    "FIELDS",
    "REJECT_FIELDS",
    "STATUSES",
    "AddressColumns",
    "Assigner",
    "Assignment",
    "CsvReport",
    "LoadedCity",
    "Table",
    "Tally",
    "address_likeness",
    "assign_addresses",
    "assign_csv",
    "atomic_writer",
    "find_address_columns",
    "fork_available",
    "normalize_key",
    "open_table",
    "output_names",
    "plan_csv",
]
