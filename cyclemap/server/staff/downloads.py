"""Publisher downloads: any stored boundary version as GeoJSON (``GET
/staff/boundaries/<version>.geojson``), to compare with a new file or to edit and upload again.

A scheduled version is not public yet (the API serves only the live one), so this is for
publishers only.
"""

from __future__ import annotations

import json

from flask import Response

from ..context import current_city, current_store
from .access import bp, login_required


@bp.get("/boundaries/<int:version>.geojson")
@login_required("publisher")
def boundary_geojson(version: int) -> Response:
    """One stored boundary version as a GeoJSON file (404 when there is no such version)."""
    geojson = current_store().get_boundaries(version)
    body = json.dumps(geojson, separators=(",", ":"))
    slug = "".join(c if c.isalnum() else "-" for c in current_city().config.name.lower())
    filename = f"{slug.strip('-')}-boundaries-v{version}.geojson"
    return Response(
        body,
        mimetype="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
