"""The interactive cycle map, built with folium from a City: plain Python, no Flask.

The web pages (``cyclemap.server.maps``) and ``cyclemap export-map`` share this module. It makes
a ``folium.Map`` with one coloured zone per cycle (display geometry simplified as a coverage, so
no gaps open between neighbours), the cycle names as labels and tooltips, a legend, "use my
location", full screen, and an optional marker; and it renders that map either as parts for a
page template (``render_parts``) or as one self-contained HTML file (``export_html``).

Nothing is loaded from a CDN: folium's default asset lists (Leaflet from jsDelivr, jQuery,
Bootstrap, Font Awesome) are replaced by the files vendored under the server's
``web/static/vendor`` (see ``scripts/vendor_assets.py``), and ``render_parts`` refuses any asset it
does not know. This module reads no web file: ``export_html`` is handed the page's assets
(``MapAssets``) by its caller (``cyclemap.server.assets.map_assets()``). The map's
script is returned apart from the markup, so a page can give it a CSP nonce; no markup carries an
inline event handler or a ``style`` attribute.

Resident-facing words are English here, marked with ``N_`` for ``pybabel extract``; callers pass
a ``gettext`` that translates them.

>>> zones = {"type": "FeatureCollection", "features": [
...     {"type": "Feature", "properties": {"cycle": "1"}, "geometry": {"type": "Polygon",
...      "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]}
>>> [(cid, geom.area) for cid, geom in display_zones(zones, "cycle")]
[('1', 1.0)]
>>> tile_spec("none") is None
True
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from posixpath import normpath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import folium
import numpy as np
import shapely
from branca.element import CssLink, Figure, JavascriptLink, MacroElement
from folium import plugins
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps
from shapely.geometry import mapping, shape

from .boundaries import cycle_sort_key
from .config import CycleName

if TYPE_CHECKING:
    from .boundaries import BoundarySet
    from .city import City


#: display simplification tolerance, in degrees (about 3 m); lookups never use display geometry
DISPLAY_TOLERANCE = 0.00003
#: decimals kept in display coordinates (6 decimals: about 0.1 m)
DISPLAY_DECIMALS = 6

#: the scripts and stylesheets a map page needs, as paths under the static folder, in order
MAP_JS = (
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet.fullscreen/Control.FullScreen.js",
    "cyclemap-map.js",
)
MAP_CSS = (
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet.fullscreen/Control.FullScreen.css",
)

#: the marker of a static path inside folium's asset lists, replaced when rendering
_STATIC = "cyclemap-static:"

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a gettext no-op marker
    """Mark a string for ``pybabel extract`` without translating it here."""
    return message


#: every word the map shows; translated by the caller's ``gettext``
MAP_TEXT: dict[str, str] = {
    "legend": N_("Billing cycles"),
    "map_label": N_(
        "Map of the billing cycles. Select a spot to find its cycle, or press Enter to look up "
        "the middle of the map."
    ),
    "locate": N_("Use my location"),
    "locating": N_("Finding your location…"),
    "locate_error": N_("Your location is not available. Please type your address instead."),
    "looking_up": N_("Looking up this spot…"),
    "lookup_error": N_("Sorry, this spot could not be looked up. Please type your address."),
    "in_cycle": N_("This spot is in {name}."),
    "outside": N_("This spot is outside the city's billing cycles."),
    "not_sure": N_("We cannot tell which cycle this spot is in. Please type your address."),
    "details": N_("Full details for this spot"),
    "see_details": N_("See the details"),
    "your_address": N_("Your address"),
    "your_location": N_("Your location"),
    "far_location": N_(
        "Your location is far from the city, so the map stays on the city. Please type your "
        "address instead."
    ),
    "picked": N_("The place you picked"),
    "fullscreen": N_("Full screen"),
    "zoom_in": N_("Zoom in"),
    "zoom_out": N_("Zoom out"),
    "close": N_("Close"),
    "exit_fullscreen": N_("Exit full screen"),
    "updated": N_("Updated {date}"),
    "notices": N_("Notices"),
    # after a note the city wrote only in English, on a map in another language
    "in_english": N_("(in English)"),
    "approximate": N_(
        "Map areas are drawn simplified. Near a boundary, look up your address to be sure."
    ),
}


# -- display geometry -----------------------------------------------------------------------------
def display_zones(
    geojson: Mapping[str, Any], id_property: str = "cycle", tolerance: float = DISPLAY_TOLERANCE
) -> list[tuple[str, shapely.Geometry]]:
    """The zones of a FeatureCollection, one geometry per cycle id, simplified for display.

    Zones are simplified together as a coverage (``shapely.coverage_simplify``), so edges shared
    by two zones stay shared and no gap or overlap opens between them. When the zones are not a
    valid coverage (overlaps, slivers), they are returned unsimplified rather than risk gaps.

    >>> fc = {"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"cycle": "2"}, "geometry": {"type": "Polygon",
    ...      "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0.5], [1, 0]]]}},
    ...     {"type": "Feature", "properties": {"cycle": "1"}, "geometry": {"type": "Polygon",
    ...      "coordinates": [[[0, 0], [1, 0], [1, 0.5], [1, 1], [0, 1], [0, 0]]]}}]}
    >>> [(cid, len(shapely.get_coordinates(g))) for cid, g in display_zones(fc, tolerance=0.01)]
    [('1', 5), ('2', 5)]
    """
    by_id: dict[str, list[shapely.Geometry]] = {}
    for feature in geojson.get("features", []):
        props = feature.get("properties") or {}
        cid = props.get(id_property, props.get("cycle", props.get("id")))
        if cid is None or not feature.get("geometry"):
            continue
        by_id.setdefault(str(cid), []).append(shape(feature["geometry"]))
    ids = sorted(by_id, key=cycle_sort_key)
    geoms = np.array(
        [shapely.union_all(by_id[cid]) if len(by_id[cid]) > 1 else by_id[cid][0] for cid in ids],
        dtype=object,
    )
    if len(geoms) and tolerance > 0 and _is_coverage(geoms):
        geoms = shapely.coverage_simplify(geoms, tolerance, simplify_boundary=True)
    return list(zip(ids, geoms, strict=True))


def _is_coverage(geoms: np.ndarray) -> bool:
    try:
        return bool(shapely.coverage_is_valid(geoms))
    except (AttributeError, shapely.errors.GEOSException):  # shapely < 2.1, or bad input
        return False


def _round_coords(obj: Any, decimals: int = DISPLAY_DECIMALS) -> Any:
    """Coordinates (or a GeoJSON geometry) with every number rounded.

    >>> _round_coords({"type": "Point", "coordinates": (1.23456789, 2.0)}, 3)
    {'type': 'Point', 'coordinates': [1.235, 2.0]}
    """
    if isinstance(obj, dict):
        return {k: _round_coords(v, decimals) if k == "coordinates" else v for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, decimals)
    if isinstance(obj, list | tuple):
        return [_round_coords(v, decimals) for v in obj]
    return obj


def label_point(geom: shapely.Geometry) -> tuple[float, float]:
    """Where to write a zone's name: a point inside its largest part, as (lon, lat).

    >>> label_point(shapely.box(0, 0, 2, 1))
    (1.0, 0.5)
    """
    parts = list(getattr(geom, "geoms", [geom]))
    largest = max(parts, key=lambda g: g.area)
    point = largest.point_on_surface()
    return (round(point.x, DISPLAY_DECIMALS), round(point.y, DISPLAY_DECIMALS))


#: how far around a place a map that asks to confirm it draws the exact zones (metres)
BORDER_DETAIL_M = 60.0
#: how close such a map zooms (about 0.6 m a pixel at 42° N: a house and the border beside it)
NEAR_ZOOM = 18


def border_detail(
    boundaries: BoundarySet,
    info: Mapping[str, ZoneInfo],
    lon: float,
    lat: float,
    cycle_ids: Sequence[str],
    radius_m: float = BORDER_DETAIL_M,
) -> dict[str, Any]:
    """What a map shows around a place near a border so the resident can confirm their side:
    the exact (not simplified) edge of the place's zone (``cycle_ids[0]``) within ``radius_m``,
    as GeoJSON lines, and each cycle's name written inside its zone, near the place.

    >>> from cyclemap.boundaries import BoundarySet
    >>> zones = BoundarySet(["1", "2"], [shapely.box(0, 0, 0.01, 0.01),
    ...                                  shapely.box(0.01, 0, 0.02, 0.01)])
    >>> info = {"1": ZoneInfo("1", "Cycle 1", "#111"), "2": ZoneInfo("2", "Cycle 2", "#222")}
    >>> d = border_detail(zones, info, 0.00995, 0.005, ["1", "2"])
    >>> [shapely.geometry.shape(f["geometry"]).bounds for f in d["edges"]["features"]]
    [(0.01, 0.004457, 0.01, 0.005543)]
    >>> [(label["name"], label["lon"] < 0.01) for label in d["labels"]]
    [('Cycle 1', True), ('Cycle 2', False)]
    """
    dlat = radius_m / 110_574.0
    dlon = radius_m / (111_320.0 * max(np.cos(np.radians(lat)), 0.01))
    window = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    geoms = dict(zip(boundaries.ids, boundaries.geometries, strict=True))
    edges, labels = [], []
    for i, cid in enumerate(c for c in cycle_ids if c in geoms):
        zone = info.get(cid) or ZoneInfo(cid, cid, "#666666")
        if i == 0:
            edge = shapely.intersection(geoms[cid].boundary, window)
            if not edge.is_empty:
                props = {"cycle": cid, "name": zone.name}
                geometry = _round_coords(mapping(edge))
                edges.append({"type": "Feature", "properties": props, "geometry": geometry})
        part = shapely.intersection(geoms[cid], window)
        if part.is_empty or part.area == 0:
            continue
        x, y = label_point(part)
        labels.append({"name": zone.name, "lon": x, "lat": y})
    return {"edges": {"type": "FeatureCollection", "features": edges}, "labels": labels}


@dataclass(frozen=True)
class ZoneInfo:
    """A cycle as the map shows it."""

    id: str
    name: str
    color: str
    notes: tuple[dict[str, Any], ...] = ()  # {"title", "html", "updated"}: export only


def zones_feature_collection(
    zones: Sequence[tuple[str, shapely.Geometry]], info: Mapping[str, ZoneInfo]
) -> dict[str, Any]:
    """GeoJSON for the map: each zone with ``cycle``, ``name``, ``color`` (and ``notes``)."""
    features = []
    for cid, geom in zones:
        zone = info.get(cid) or ZoneInfo(cid, cid, "#666666")
        props: dict[str, Any] = {"cycle": cid, "name": zone.name, "color": zone.color}
        if zone.notes:
            props["notes"] = list(zone.notes)
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": _round_coords(mapping(geom)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def named_zones(zones: Mapping[str, Any], names: Mapping[str, CycleName]) -> dict[str, Any]:
    """The zones (from ``zones_feature_collection``) with each cycle's name in a page's language
    (``names``, by cycle id) and that name's language as ``lang``; a cycle not in ``names`` keeps
    its name. The geometries are shared, not copied (the zones are kept for every language).

    >>> fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None,
    ...       "properties": {"cycle": "2", "name": "Cycle 2", "color": "#222"}}]}
    >>> named_zones(fc, {"2": CycleName("Ciclo 2", "es")})["features"][0]["properties"]
    {'cycle': '2', 'name': 'Ciclo 2', 'color': '#222', 'lang': 'es'}
    """
    features = []
    for feature in zones["features"]:
        found = names.get(feature["properties"]["cycle"])
        if found is not None:
            props = {**feature["properties"], "name": found.text, "lang": found.language}
            feature = {**feature, "properties": props}
        features.append(feature)
    return {**zones, "features": features}


# -- tiles ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileSpec:
    """A tile layer: URL template and attribution (HTML)."""

    url: str
    attribution: str

    @property
    def origin(self) -> str:
        """``scheme://host`` of the tiles (for a Content-Security-Policy ``img-src``);
        ``'self'`` for tiles served by this server (a path such as ``/tiles/{z}/{x}/{y}.png``)."""
        if self.url.startswith("/") and not self.url.startswith("//"):
            return "'self'"
        parts = urlsplit(self.url.replace("{s}", "a"))
        host = parts.netloc
        if "{s}" in self.url:
            host = "*." + host.split(".", 1)[1] if "." in host else host
        return f"{parts.scheme}://{host}"


def tile_spec(tiles: str | None, attribution: str | None = None) -> TileSpec | None:
    """What ``tiles`` means: ``openstreetmap`` (default), ``none`` (no tiles at all: no request
    leaves the page) or a URL template such as ``https://tiles.example.org/{z}/{x}/{y}.png``.

    >>> tile_spec("openstreetmap").url
    'https://tile.openstreetmap.org/{z}/{x}/{y}.png'
    >>> tile_spec("https://t.example.org/{z}/{x}/{y}.png").origin
    'https://t.example.org'
    """
    value = (tiles or "openstreetmap").strip()
    if value.lower() in {"none", "off", "false", ""}:
        return None
    if value.lower() in {"openstreetmap", "osm"}:
        return TileSpec(OSM_URL, attribution or OSM_ATTRIBUTION)
    if "{z}" not in value or not value.startswith(("https://", "http://", "/")):
        from .errors import ConfigError

        raise ConfigError(
            f"tiles must be 'openstreetmap', 'none' or a URL template with {{z}}/{{x}}/{{y}}, "
            f"not {value!r}"
        )
    host = urlsplit(value).netloc or "this server"
    return TileSpec(value, attribution or html.escape(f"Map tiles: {host}"))


# -- the folium map -------------------------------------------------------------------------------
class _Map(folium.Map):
    """folium's Map with Leaflet from our static folder and nothing else (no jQuery/Bootstrap)."""

    default_js = [("leaflet", _STATIC + MAP_JS[0])]
    default_css = [("leaflet_css", _STATIC + MAP_CSS[0])]


class _Fullscreen(plugins.Fullscreen):
    """folium's full-screen button with the vendored leaflet.fullscreen plugin."""

    default_js = [("Control.Fullscreen.js", _STATIC + MAP_JS[1])]
    default_css = [("Control.FullScreen.css", _STATIC + MAP_CSS[1])]


class _Behaviour(MacroElement):
    """Hands the map, its zones and its options to ``cyclemap-map.js`` (legend, labels, clicks)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            cyclemap.attachMap({{ this._parent.get_name() }}, {{ this.zones.get_name() }},
                {{ this.options|tojson }}, {{ this.marker.get_name() if this.marker else "null" }});
        {% endmacro %}
        """
    )

    default_js = [("cyclemap_map_js", _STATIC + MAP_JS[2])]

    def __init__(self, zones: folium.GeoJson, options: dict, marker: folium.Marker | None):
        super().__init__()
        self._name = "CyclemapBehaviour"
        self.zones = zones
        self.options = options
        self.marker = marker

    def render(self, **kwargs):
        """Add the behaviour script's link, then the call."""
        figure = self.get_root()
        for name, url in self.default_js:
            figure.header.add_child(JavascriptLink(url), name=name)
        super().render(**kwargs)


@dataclass(frozen=True)
class Marker:
    """A marker to show: where, and the label read out for it."""

    lon: float
    lat: float
    label: str


@dataclass(frozen=True)
class MapSpec:
    """What a map shows and how it behaves.

    ``mode`` is ``page`` (the resident page: a click looks the spot up into the page's result),
    ``map`` (the full-page map and ``/embed``: a click shows the answer in a popup), or
    ``export`` (no server: a click on a zone shows its notes from the file itself).
    """

    center: tuple[float, float]  # lon, lat
    zoom: int
    tiles: TileSpec | None
    mode: str = "map"
    marker: Marker | None = None
    urls: Mapping[str, str] = field(default_factory=dict)  # lookup_api, lookup_page, ...
    locate: bool = True
    fullscreen: bool = True
    new_tab: bool = False  # links in popups open a new tab (the iframe)
    #: fit the view to the whole city (and the marker, if any) instead of ``center``/``zoom``
    fit_city: bool = False
    #: the exact zones around a place near a border (``border_detail``), drawn on top
    near: Mapping[str, Any] | None = None


def zones_bounds(zones: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of a FeatureCollection, or None when it is empty.

    >>> zones_bounds({"features": [{"geometry": {"type": "Point", "coordinates": [1, 2]}}]})
    (1.0, 2.0, 1.0, 2.0)
    """
    geoms = [shape(f["geometry"]) for f in zones.get("features", []) if f.get("geometry")]
    if not geoms:
        return None
    west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object)).tolist()
    return west, south, east, north


def near_bounds(
    bounds: tuple[float, float, float, float], lon: float, lat: float, pad: float = 0.5
) -> bool:
    """Whether (lon, lat) is within ``bounds`` grown by ``pad`` times its size on every side
    (as Leaflet's ``LatLngBounds.pad`` in ``cyclemap-map.js``).

    >>> near_bounds((0, 0, 1, 1), 1.4, 0.5), near_bounds((0, 0, 1, 1), 3.0, 0.5)
    (True, False)
    """
    west, south, east, north = bounds
    dx, dy = (east - west) * pad, (north - south) * pad
    return west - dx <= lon <= east + dx and south - dy <= lat <= north + dy


def build_map(
    zones: Mapping[str, Any],
    spec: MapSpec,
    *,
    gettext: Callable[[str], str] = lambda s: s,
    names: Mapping[str, CycleName] | None = None,
) -> folium.Map:
    """A folium map of the zones (a FeatureCollection from ``zones_feature_collection``).

    ``names``: each cycle's name in the page's language (``CycleRef.name_in``), for the legend,
    the labels, the tooltips and the popups; each then says its language (``lang``), so the
    script marks a name the city gives only in English on a page in another language.
    """
    if names:
        zones = named_zones(zones, names)
    lon, lat = spec.center
    m = _Map(
        location=[lat, lon],
        zoom_start=spec.zoom,
        tiles=None,
        control_scale=True,
        max_zoom=19,
    )
    if spec.tiles is not None:
        folium.TileLayer(
            tiles=spec.tiles.url, attr=spec.tiles.attribution, max_zoom=19, name="tiles"
        ).add_to(m)
    bounds = zones_bounds(zones) if spec.fit_city else None
    if bounds is not None:
        west, south, east, north = bounds
        # a marker near the city is shown with it; one far away (a device in another town)
        # would shrink the city to a dot, so the map stays on the city
        if spec.marker is not None and near_bounds(bounds, spec.marker.lon, spec.marker.lat):
            west, east = min(west, spec.marker.lon), max(east, spec.marker.lon)
            south, north = min(south, spec.marker.lat), max(north, spec.marker.lat)
        m.fit_bounds([[south, west], [north, east]], padding=(16, 16), max_zoom=spec.zoom + 1)
    colors = {f["properties"]["cycle"]: f["properties"]["color"] for f in zones["features"]}
    layer = folium.GeoJson(
        zones,
        name="cycles",
        style_function=lambda f: {
            "color": "#1f2933",
            "weight": 1.5,
            "fillColor": colors.get(f["properties"]["cycle"], "#666666"),
            "fillOpacity": 0.35,
        },
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.55},
        smooth_factor=0.5,
    )
    layer.add_to(m)  # (not chained: branca types add_to as returning a plain Element)
    marker = None
    if spec.marker is not None:
        marker = folium.Marker(
            [spec.marker.lat, spec.marker.lon],
            alt=spec.marker.label,
            title=spec.marker.label,
            keyboard=False,
            interactive=False,
        )
        marker.add_to(m)
    if spec.fullscreen:
        _Fullscreen(
            position="topleft",
            title=gettext(MAP_TEXT["fullscreen"]),
            title_cancel=gettext(MAP_TEXT["exit_fullscreen"]),
        ).add_to(m)
    labels = []
    for feature in zones["features"]:
        geom = shape(feature["geometry"])
        if not geom.is_empty:
            x, y = label_point(geom)
            props = feature["properties"]
            labels.append({"name": props["name"], "lang": props.get("lang"), "lon": x, "lat": y})
    options = {
        "mode": spec.mode,
        "urls": dict(spec.urls),
        "locate": spec.locate and spec.mode != "export",
        "newTab": spec.new_tab,
        "legend": [
            {
                "id": f["properties"]["cycle"],
                "name": f["properties"]["name"],
                "color": f["properties"]["color"],
                "lang": f["properties"].get("lang"),
            }
            for f in zones["features"]
        ],
        "labels": labels,
        "near": dict(spec.near) if spec.near else None,
        "nearZoom": NEAR_ZOOM,
        "tiles": spec.tiles is not None,
        "text": {key: gettext(value) for key, value in MAP_TEXT.items()},
    }
    _Behaviour(layer, options, marker).add_to(m)
    return m


# -- rendering ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapParts:
    """A rendered map, in pieces a page template places itself.

    ``html`` is the map's container; ``script`` the JavaScript that builds the map (put it in one
    ``<script>`` with the page's CSP nonce, after the ``js`` files); ``js`` and ``css`` are paths
    under the static folder.
    """

    html: str
    script: str
    js: tuple[str, ...]
    css: tuple[str, ...]


def render_parts(m: folium.Map) -> MapParts:
    """Render a map built by ``build_map`` into parts; refuse any asset not vendored here."""
    figure = m.get_root()
    assert isinstance(figure, Figure)  # a folium.Map puts itself in a Figure when made
    figure.render()
    js: list[str] = []
    css: list[str] = []
    for child in figure.header._children.values():
        if isinstance(child, JavascriptLink | CssLink):
            url = child.url
            if not url.startswith(_STATIC):
                raise RuntimeError(f"the map asks for an asset that is not vendored: {url}")
            (js if isinstance(child, JavascriptLink) else css).append(url[len(_STATIC) :])
    js = [p for p in MAP_JS if p in js] + [p for p in js if p not in MAP_JS]
    css = [p for p in MAP_CSS if p in css] + [p for p in css if p not in MAP_CSS]
    body = figure.html.render()
    script = figure.script.render()
    return MapParts(html=body.strip(), script=script.strip(), js=tuple(js), css=tuple(css))


# -- one rendering for every marker --------------------------------------------------------------
#: the marker a map is rendered with once (``marker_template``) before each answer's place is put
#: in its stead: a place in the Southern Ocean and a label that no address has
PLACEHOLDER = Marker(lon=-123.4567891234, lat=-76.5432198765, label="cyclemap-placeholder-label")


def _js(value: Any) -> str:
    # as folium writes a value into the map's script (Jinja's ``tojson``)
    return str(htmlsafe_json_dumps(value))


@dataclass(frozen=True)
class MarkerTemplate:
    """A map rendered once around ``PLACEHOLDER``, into which ``place`` puts any marker.

    Rendering a folium map takes milliseconds (branca compiles every element's output as a
    template); the resident page shows one per answer, which differs from the next only in
    where the map is centred and where its marker stands, and what the marker is called.
    """

    parts: MapParts

    def place(self, marker: Marker) -> MapParts:
        """The parts ``render_parts`` would give for a map centred on ``marker``, showing it."""
        here = _js([float(marker.lat), float(marker.lon)])
        script = self.parts.script.replace(_PLACEHOLDER_AT, here)
        script = script.replace(_PLACEHOLDER_LABEL, _js(str(marker.label)))
        return replace(self.parts, script=script)


_PLACEHOLDER_AT = _js([PLACEHOLDER.lat, PLACEHOLDER.lon])
_PLACEHOLDER_LABEL = _js(PLACEHOLDER.label)


def marker_template(
    zones: Mapping[str, Any],
    spec: MapSpec,
    *,
    gettext: Callable[[str], str] = lambda s: s,
    names: Mapping[str, CycleName] | None = None,
) -> MarkerTemplate | None:
    """``spec``'s map rendered once for every marker (``MarkerTemplate.place``), or None when its
    marker changes more than the map's centre and the marker itself: a map fitted to the city
    around its marker (``fit_city``), or one whose rendering does not hold the placeholder where
    expected (the map's centre and the marker's place, the marker's two labels)."""
    if spec.fit_city:
        return None
    around = replace(spec, marker=PLACEHOLDER, center=(PLACEHOLDER.lon, PLACEHOLDER.lat))
    parts = render_parts(build_map(zones, around, gettext=gettext, names=names))
    found = (parts.script.count(_PLACEHOLDER_AT), parts.script.count(_PLACEHOLDER_LABEL))
    placed_only_there = PLACEHOLDER.label not in parts.html and str(PLACEHOLDER.lat) not in (
        parts.script.replace(_PLACEHOLDER_AT, "")
    )
    if found != (2, 2) or not placed_only_there:
        return None
    return MarkerTemplate(parts)


# -- the self-contained export --------------------------------------------------------------------
def city_zones(
    city: City,
    *,
    boundaries: BoundarySet | None = None,
    with_notes: bool = False,
    today: dt.date | None = None,
) -> dict:
    """The city's live zones (or ``boundaries``) as display GeoJSON, with names and colours
    (and each cycle's current notes, with their translations)."""
    config = city.config
    notes: dict[str, tuple[dict[str, Any], ...]] = {}
    if with_notes:
        for answer in city.cycles(today):
            notes[answer.cycle.id] = tuple(
                {
                    "title": n.title,
                    "html": n.html,
                    "updated": n.updated_on.isoformat(),
                    # the popups show the page's language when the note has it
                    "translations": n.to_dict()["translations"],
                }
                for n in answer.notes
            )
    info = {
        cid: ZoneInfo(cid, c.name, c.color, notes.get(cid, ())) for cid, c in config.cycles.items()
    }
    zones = display_zones(
        (boundaries or city.boundaries).to_geojson(), config.boundaries.id_property
    )
    return zones_feature_collection(zones, info)


@dataclass(frozen=True)
class MapAssets:
    """The web files a self-contained map is made of, handed to ``export_html`` by the server.

    ``static(path)`` returns the bytes of a file under the static folder (``path`` like
    ``"vendor/leaflet/leaflet.css"``) and raises ``FileNotFoundError`` for any other;
    ``export_template`` is the Jinja source of the export page.
    """

    static: Callable[[str], bytes]
    export_template: str


def export_html(
    city: City,
    *,
    assets: MapAssets,
    tiles: str | None = None,
    attribution: str | None = None,
    gettext: Callable[[str], str] = lambda s: s,
    lang: str = "en",
    today: dt.date | None = None,
    format_day: Callable[[dt.date], str] = dt.date.isoformat,
) -> str:
    """One HTML file with the whole map: assets inlined, zones, legend, notes; no server needed.

    With tiles other than ``none`` the file fetches map tiles from their server; everything else
    is inside the file. ``gettext`` and ``format_day`` word it in ``lang`` (the notes carry
    their translations; the map shows the one in ``lang``, else the English text, marked).
    """
    import jinja2

    config = city.config
    names = {cid: c.name_in(lang, gettext) for cid, c in config.cycles.items()}
    page = lang.replace("_", "-").split("-")[0].lower()
    spec = MapSpec(
        center=config.center,
        zoom=config.zoom,
        tiles=tile_spec(tiles if tiles is not None else config.tiles, attribution),
        mode="export",
        locate=False,
        fit_city=True,
    )
    parts = render_parts(
        build_map(
            city_zones(city, with_notes=True, today=today), spec, gettext=gettext, names=names
        )
    )
    css = "\n".join(_inline_css(assets, path) for path in (*parts.css, "cyclemap.css"))
    js = "\n".join(_safe_script(assets.static(path).decode("utf-8")) for path in parts.js)
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"export_map.html": assets.export_template}),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # added by the jinja2.ext.i18n extension at run time, so unknown to jinja2's type hints
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, lambda s, p, n: gettext(s if n == 1 else p), newstyle=True
    )
    template = env.get_template("export_map.html")
    return template.render(
        city=config,
        lang=lang,
        css=css,
        js=js,
        map_html=parts.html,
        map_script=_safe_script(parts.script),
        tiles=spec.tiles,
        # (id, name, colour, the name's language when it is not the page's: marked lang=)
        cycles=[
            (
                cid,
                names[cid].text,
                c.color,
                None if names[cid].language == page else names[cid].language,
            )
            for cid, c in sorted(config.cycles.items(), key=lambda kv: cycle_sort_key(kv[0]))
        ],
        generated=format_day(today or city.today()),
    )


_URL_RE = re.compile(r"url\((['\"]?)([^'\")]+)\1\)")


def _inline_css(assets: MapAssets, path: str) -> str:
    """A stylesheet with its relative ``url(...)`` images turned into ``data:`` URIs."""
    import base64
    import mimetypes

    text = assets.static(path).decode("utf-8")
    folder = path.rpartition("/")[0]

    def replace(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#", "/")) or "//" in ref:
            return match.group(0)
        target = normpath(f"{folder}/{ref}" if folder else ref)
        if target.startswith(".."):
            return match.group(0)
        try:
            data = assets.static(target)
        except FileNotFoundError:
            return match.group(0)
        mime = mimetypes.guess_type(target)[0] or "application/octet-stream"
        return f'url("data:{mime};base64,{base64.b64encode(data).decode()}")'

    return _URL_RE.sub(replace, text).replace("</style", "<\\/style")


def _safe_script(text: str) -> str:
    """Script text that cannot close its ``<script>`` element early."""
    return re.sub(r"</(script)", r"<\\/\\1", text, flags=re.IGNORECASE)


# -- the staff preview: live and new zones on one map ----------------------------------------------
#: at most this many changing addresses are drawn on a preview map (all are in its CSV)
PREVIEW_POINTS = 3000


@dataclass(frozen=True)
class PreviewPoint:
    """A spot on a preview map: a validation problem or an address that changes cycle."""

    lon: float
    lat: float
    label: str
    color: str = "#b2182b"


def build_preview_map(
    before: Mapping[str, Any],
    after: Mapping[str, Any] | None,
    *,
    center: tuple[float, float],
    zoom: int,
    tiles: TileSpec | None,
    problems: Sequence[PreviewPoint] = (),
    changes: Sequence[PreviewPoint] = (),
) -> folium.Map:
    """The live zones (dashed outlines) and the new ones (filled) on one map, with each located
    validation problem (a red ring and its message) and the addresses that change cycle.

    ``before`` and ``after`` are display FeatureCollections (``city_zones``); the page lists
    the same facts as text, so the map is a picture of them, not their only place.
    """
    lon, lat = center
    m = _Map(location=[lat, lon], zoom_start=zoom, tiles=None, control_scale=True, max_zoom=19)
    if tiles is not None:
        folium.TileLayer(
            tiles=tiles.url, attr=tiles.attribution, max_zoom=19, name="tiles", control=False
        ).add_to(m)
    if after is not None:
        colors = {f["properties"]["cycle"]: f["properties"]["color"] for f in after["features"]}
        folium.GeoJson(
            after,
            name="New zones",
            style_function=lambda f: {
                "color": "#1f2933",
                "weight": 1.5,
                "fillColor": colors.get(f["properties"]["cycle"], "#666666"),
                "fillOpacity": 0.4,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(m)
    folium.GeoJson(
        before,
        name="Live zones",
        style_function=lambda f: {
            "color": "#111111",
            "weight": 2.5,
            "dashArray": "6 4",
            "fillOpacity": 0.0 if after is not None else 0.25,
        },
        interactive=after is None,
    ).add_to(m)
    if changes:
        group = folium.FeatureGroup(name="Addresses that change cycle").add_to(m)
        for p in changes[:PREVIEW_POINTS]:
            folium.CircleMarker(
                [p.lat, p.lon],
                radius=3,
                color=p.color,
                weight=1,
                fill=True,
                fill_opacity=0.9,
                tooltip=html.escape(p.label),
            ).add_to(group)
    if problems:
        group = folium.FeatureGroup(name="Problems").add_to(m)
        for p in problems:
            folium.CircleMarker(
                [p.lat, p.lon],
                radius=10,
                color="#b2182b",
                weight=3,
                fill=False,
                tooltip=html.escape(p.label),
            ).add_to(group)
    bounds = zones_bounds(after or before)
    if bounds is not None:
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]], padding=(16, 16))
    folium.LayerControl(collapsed=False).add_to(m)
    return m
