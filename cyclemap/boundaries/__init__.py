"""Cycle zones: reading boundary files, locating points in zones, validating before publishing.

| module | owns |
|---|---|
| ``geometry`` | cycle ids and their order, the local metric CRS, reprojection, polygonal parts |
| ``read`` | opening a file (any GDAL format) and examining its features; ``Problem`` |
| ``locate`` | ``read_boundaries`` and ``BoundarySet`` (``locate``, ``locate_xy``, GeoJSON in/out) |
| ``validate`` | coverage checks (overlaps, gaps, slivers) and the ``ValidationReport`` |
| ``cityfacts`` | the zones against the city: its cycle ids, address points and map centre |
"""

from .geometry import cycle_id_text, cycle_sort_key, local_metric_crs
from .locate import BoundarySet, read_boundaries
from .read import Problem
from .validate import ValidationReport, validate_boundaries

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
