"""cyclemap: find the utility billing cycle for an address, offline.

>>> import cyclemap
>>> city = cyclemap.open_city()            # the bundled demo city
>>> city.lookup("117 S Sprigg St").cycle_id
'4'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .city import City

__all__ = ["open_city"]


def open_city(folder: str | Path | None = None, **kwargs) -> City:
    """Open a city folder (default: the bundled demo city). See ``cyclemap.city.open_city``."""
    from .city import open_city as _open_city

    return _open_city(folder, **kwargs)
