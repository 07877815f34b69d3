"""The map pages: ``/map`` (full page), ``/embed`` (for an iframe) and ``/embed/snippet`` (the
code staff paste into the city website), and ``map_parts`` which the resident page uses too.

The maps are built by ``cyclemap.maps`` (folium) from the live zones, simplified for display
once per boundary version. A map without a marker is the same for every request of one language,
so its rendered parts are kept until the zones change; a map with a marker (the resident page's
answer) is rendered once per kind around a placeholder (``maps.marker_template``) and each
answer's marker put in its place (a few ms each otherwise). The tile server, if any, is added
to this response's CSP ``img-src``; ``/embed`` may be framed by ``FRAME_ANCESTORS`` (set in
``http.py``), every other page refuses framing.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, make_response, render_template, request
from flask_babel import get_locale, gettext

from ..errors import ConfigError
from ..maps import (
    MapParts,
    MapSpec,
    Marker,
    MarkerTemplate,
    build_map,
    city_zones,
    marker_template,
    render_parts,
    tile_spec,
)
from .context import current_city
from .http import csp_allow
from .i18n import lang_args, local_cycle_name

bp = Blueprint("maps", __name__)

_CACHE = "cyclemap.maps"
_LOCK = threading.Lock()
#: kept for a kind of map whose markers cannot share one rendering (``marker_template``: None)
_NO_TEMPLATE = "each marker its own rendering"

#: the iframe size the snippet suggests
EMBED_HEIGHT = 480


def tile_layer():
    """The tile layer from config ``TILES`` (else city.toml [map] tiles)."""
    config = current_city().config
    tiles = current_app.config.get("TILES") or config.tiles
    attribution = current_app.config.get("TILES_ATTRIBUTION") or config.raw.get("map", {}).get(
        "attribution"
    )
    return tile_spec(tiles, attribution)


def _zones() -> tuple[Any, dict]:
    """The live zones as display GeoJSON, and the cache of rendered maps that goes with them."""
    city = current_city()
    boundaries = city.boundaries
    cache = current_app.extensions.get(_CACHE)
    if cache is None or cache["boundaries"] is not boundaries:
        with _LOCK:
            cache = current_app.extensions.get(_CACHE)
            if cache is None or cache["boundaries"] is not boundaries:
                zones = city_zones(city, boundaries=boundaries)
                cache = {"boundaries": boundaries, "zones": zones, "parts": {}}
                current_app.extensions[_CACHE] = cache
    return cache["zones"], cache["parts"]


def map_parts(
    mode: str,
    *,
    marker: Marker | None = None,
    zoom: int | None = None,
    new_tab: bool = False,
    fit_city: bool = False,
    near: dict[str, Any] | None = None,
) -> MapParts:
    """The rendered map for this request (``mode``: ``page`` or ``map``), allowing its tiles."""
    config = current_city().config
    tiles = tile_layer()
    if tiles is not None:
        csp_allow("img-src", tiles.origin)
    zones, cache = _zones()
    lang = lang_args().get("lang", "")
    key = (mode, new_tab, str(get_locale()), lang, tiles)
    if marker is None and key in cache:
        return cache[key]
    spec = MapSpec(
        center=(marker.lon, marker.lat) if marker else config.center,
        zoom=zoom or config.zoom,
        tiles=tiles,
        mode=mode,
        marker=marker,
        new_tab=new_tab,
        fit_city=fit_city or marker is None,
        near=near,
        urls={
            "lookup_api": "/api/v1/lookup",
            "lookup_page": "/lookup",
            "lang": lang,
        },
    )
    names = {cid: local_cycle_name(ref) for cid, ref in current_city().cycle_refs.items()}
    if marker is not None and near is None:
        # one rendering per kind of map serves every marker (a few ms each otherwise)
        template_key = (*key, "marker", spec.zoom, spec.fit_city)
        template = cache.get(template_key)
        if template is None:
            template = marker_template(zones, spec, gettext=gettext, names=names)
            cache[template_key] = template if template is not None else _NO_TEMPLATE
        if isinstance(template, MarkerTemplate):
            return template.place(marker)
    parts = render_parts(build_map(zones, spec, gettext=gettext, names=names))
    if marker is None:
        cache[key] = parts
    return parts


@bp.get("/map")
def full_map() -> str:
    """The map on its own page: zones, legend, click to look a spot up, my location, full screen."""
    return render_template("map.html", map=map_parts("map"), city=current_city().config)


@bp.get("/embed")
def embed() -> str:
    """The compact, iframe-friendly map with an address box (framed by ``FRAME_ANCESTORS``)."""
    return render_template(
        "embed.html", map=map_parts("map", new_tab=True), city=current_city().config
    )


def check_public_url(value: Any) -> str | None:
    """``PUBLIC_URL`` (``CYCLEMAP_PUBLIC_URL``) without its trailing slash, or None when unset;
    ``ConfigError`` for anything but an ``http(s)://host[/path]`` address.

    >>> check_public_url("https://cycles.example.gov/billing/"), check_public_url("")
    ('https://cycles.example.gov/billing', None)
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "PUBLIC_URL (CYCLEMAP_PUBLIC_URL) must be the server's public address, such as "
            f"https://cycles.example.gov, not {text!r}"
        )
    return text.rstrip("/")


def _loopback(host: str) -> bool:
    name = urlsplit("//" + host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def public_base_url() -> str | None:
    """Where this server is for code pasted on another website: ``PUBLIC_URL`` when set.

    Otherwise the request's own address only when it cannot have been forged: Flask checked
    the ``Host`` header against ``TRUSTED_HOSTS``, or it names this machine (``localhost``).
    Else None: the snippet then uses relative addresses and says what to configure, because a
    ``Host`` header copied into the code would let anyone make it point at their own site.
    """
    configured = check_public_url(current_app.config.get("PUBLIC_URL"))
    if configured:
        return configured
    if current_app.config.get("TRUSTED_HOSTS") or _loopback(request.host):
        return request.host_url.rstrip("/")
    return None


@bp.get("/embed/snippet")
def embed_snippet() -> Response:
    """For website staff: the ``<iframe>`` to paste, a preview, and the no-iframe alternative."""
    base = public_base_url()
    html = render_template(
        "embed_snippet.html",
        city=current_city().config,
        embed_url=f"{base or ''}/embed",
        map_url=f"{base or ''}/map",
        relative=base is None,
        height=EMBED_HEIGHT,
        frame_ancestors=current_app.config.get("FRAME_ANCESTORS") or "'none'",
    )
    # /embed alone may be framed (http.py): this page is for staff and refuses framing
    return make_response(html)
