"""The server's web files: templates and static assets shipped inside this package (``web/``).

The app serves them (``create_app`` points Flask's template and static folders here), and
``map_assets`` hands the ones a self-contained map needs to the core (``maps.export_html``),
which reads no web file itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..maps import MapAssets

WEB_DIR = Path(__file__).resolve().parent / "web"
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


def read_static(path: str) -> bytes:
    """The bytes of ``path`` under the static folder; ``FileNotFoundError`` for a path outside it.

    >>> read_static("vendor/leaflet/leaflet.css")[:2]
    b'/*'
    >>> read_static("../templates/base.html")
    Traceback (most recent call last):
    ...
    FileNotFoundError: not a static file: ../templates/base.html
    """
    target = (STATIC_DIR / path).resolve()
    if STATIC_DIR.resolve() not in target.parents or not target.is_file():
        raise FileNotFoundError(f"not a static file: {path}")
    return target.read_bytes()


def map_assets() -> MapAssets:
    """The files ``maps.export_html`` inlines into a self-contained map page."""
    from ..maps import MapAssets

    return MapAssets(
        static=read_static,
        export_template=(TEMPLATE_DIR / "export_map.html").read_text(encoding="utf-8"),
    )
