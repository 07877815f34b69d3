"""The staff path for the versioned layers: check an upload, see who moves, publish, undo.

| module | owns |
|---|---|
| ``uploads`` | vetting an uploaded file before GIS reads it (size, format, zip bombs) |
| ``impact`` | what new zones or a new address layer change, address by address |
| ``operations`` | diff, publish (now or from a date), history and rollback over a ``City`` |

The CLI (``cyclemap boundaries ...``, ``cyclemap addresses ...``) and the staff web pages are
thin layers over ``operations``.
"""

from .impact import ChangedAddress, CycleChange, LayerImpact, Move, ZoneImpact, changes_csv
from .operations import (
    AddressDiff,
    BoundaryDiff,
    PublishResult,
    address_history,
    boundary_history,
    diff_addresses,
    diff_boundaries,
    import_addresses,
    publish_boundaries,
    rollback_addresses,
    rollback_boundaries,
    validate_for_city,
)
from .uploads import MAX_UPLOAD_BYTES, vet_upload

__all__ = [
    "MAX_UPLOAD_BYTES",
    "AddressDiff",
    "BoundaryDiff",
    "ChangedAddress",
    "CycleChange",
    "LayerImpact",
    "Move",
    "PublishResult",
    "ZoneImpact",
    "address_history",
    "boundary_history",
    "changes_csv",
    "diff_addresses",
    "diff_boundaries",
    "import_addresses",
    "publish_boundaries",
    "rollback_addresses",
    "rollback_boundaries",
    "validate_for_city",
    "vet_upload",
]
