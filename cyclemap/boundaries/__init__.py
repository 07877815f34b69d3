"""Cycle zones: reading boundary files, locating points in zones, validating before publishing.

| module | owns |
|---|---|
| ``geometry`` | cycle ids and their order, the local metric CRS, reprojection, polygonal parts |
| ``read`` | opening a file (any GDAL format) and examining its features; ``Problem`` |
| ``locate`` | ``read_boundaries`` and ``BoundarySet`` (``locate``, ``locate_xy``, GeoJSON in/out) |
| ``validate`` | coverage checks (overlaps, gaps, slivers) and the ``ValidationReport`` |
| ``cityfacts`` | the zones against the city: its cycle ids, address points and map centre |
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .geometry import cycle_id_text, cycle_sort_key, local_metric_crs
from .locate import BoundarySet, read_boundaries

if TYPE_CHECKING:
    from .read import Problem
    from .validate import ValidationReport, validate_boundaries

#: names whose module loads on first use: reading and validating files is the staff's and the
#: CLI's work, and a lookup over compiled zones (a cold ``cyclemap lookup``) needs neither
_LAZY = {"Problem": ".read", "ValidationReport": ".validate", "validate_boundaries": ".validate"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BoundarySet",
    "Problem",
    "ValidationReport",
    "cycle_id_text",
    "cycle_sort_key",
    "local_metric_crs",
    "read_boundaries",
    "validate_boundaries",
]
