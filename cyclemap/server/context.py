"""Request-time access to the city and store that ``create_app`` opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from ..city import City
    from ..store import Store


def current_city() -> City:
    """The city this app serves."""
    return current_app.extensions["cyclemap.city"]


def current_store() -> Store:
    """The live store (notes, versions, audit)."""
    return current_app.extensions["cyclemap.store"]
