"""``cyclemap export-map``: one self-contained HTML file; and the display geometry it shares with
the web maps (simplified as a coverage: no gaps, no overlaps, lookups unaffected)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import shape

from cyclemap.cli import main
from cyclemap.config import DEFAULT_CITY
from cyclemap.errors import ConfigError
from cyclemap.maps import DISPLAY_TOLERANCE, city_zones, display_zones, tile_spec


def run(tmp_path, *args: str):
    db = f"sqlite:///{tmp_path / 'cyclemap.sqlite'}"
    return CliRunner().invoke(
        main, ["--city", str(DEFAULT_CITY), "--database-url", db, "export-map", *args]
    )


def test_export_writes_a_self_contained_page(tmp_path):
    out = tmp_path / "map.html"
    result = run(tmp_path, str(out), "--tiles", "none")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    # nothing to fetch: no script or stylesheet by URL, no tiles
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+rel=\"stylesheet\"", html)
    assert "L.tileLayer" not in html and "openstreetmap" not in html
    assert "url(images/" not in html and "url('icon-fullscreen.svg')" not in html
    # Leaflet, the plugin and our behaviour are inlined; the zones, legend and notes are there
    assert "Leaflet" in html and "L.control.fullscreen" in html and "cyclemap.attachMap" in html
    for n in range(1, 5):
        assert f"Cycle {n}" in html
    assert '"mode": "export"' in html
    assert len(html) < 600_000


def test_export_with_tiles_fetches_only_tiles(tmp_path):
    out = tmp_path / "map.html"
    assert run(tmp_path, str(out)).exit_code == 0  # city.toml: openstreetmap
    html = out.read_text(encoding="utf-8")
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # links inside code: not fetched
    assert re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", markup) == []
    assert re.findall(r"url\(\s*[\"']?https?://", html) == []


def test_export_carries_the_current_notes(demo_city):
    from cyclemap.maps import export_html
    from cyclemap.server.assets import map_assets

    html = export_html(
        demo_city, assets=map_assets(), tiles="none"
    )  # the demo city's clock: February 2020
    assert "February bills for Cycles 1 and 2" in html
    assert "Cycle 1 and Cycle 2 bills were not able to be sent in February" in html
    assert "Made on 2020-02-21" in html


def test_export_refuses_an_unwritable_path(tmp_path):
    result = run(tmp_path, str(tmp_path / "no" / "such" / "folder" / "map.html"))
    assert result.exit_code == 2
    assert "cannot write" in result.output and "map.html" in result.output
    assert "Traceback" not in result.output


def test_export_refuses_a_directory(tmp_path):
    result = run(tmp_path, str(tmp_path))
    assert result.exit_code == 2


def test_export_refuses_bad_tiles(tmp_path):
    result = run(tmp_path, str(tmp_path / "m.html"), "--tiles", "ftp://nope")
    assert result.exit_code == 2 and "tiles must be" in result.output


# -- display geometry ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_zones(demo_city):
    fc = demo_city.boundaries.to_geojson()
    exact = np.array([shape(f["geometry"]) for f in fc["features"]])
    simple = np.array([g for _, g in display_zones(fc, "cycle")])
    return exact, simple


def test_display_zones_are_simpler(demo_zones):
    exact, simple = demo_zones
    assert len(shapely.get_coordinates(simple)) < 0.9 * len(shapely.get_coordinates(exact))


def test_display_zones_open_no_gap_and_no_overlap(demo_zones):
    exact, simple = demo_zones
    assert shapely.coverage_is_valid(simple)  # no overlaps
    # no gap between neighbours: the zones still fit together into the same outline
    union_exact = shapely.coverage_union_all(exact)
    union_simple = shapely.coverage_union_all(simple)
    assert len(shapely.get_parts(union_simple)) == len(shapely.get_parts(union_exact))
    assert shapely.get_num_interior_rings(shapely.get_parts(union_simple)).sum() == (
        shapely.get_num_interior_rings(shapely.get_parts(union_exact)).sum()
    )
    # and it moved no edge by more than about the tolerance (a few metres)
    assert union_exact.hausdorff_distance(union_simple) < 3 * DISPLAY_TOLERANCE


def test_display_zones_fall_back_to_exact_when_not_a_coverage():
    overlapping = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"cycle": cid},
                "geometry": shapely.geometry.mapping(
                    shapely.box(x, 0, x + 1.5, 1).segmentize(0.01)
                ),
            }
            for cid, x in (("1", 0.0), ("2", 1.0))
        ],
    }
    zones = display_zones(overlapping, tolerance=0.1)
    originals = [shape(f["geometry"]) for f in overlapping["features"]]
    for (_, geom), original in zip(zones, originals, strict=True):
        assert geom.equals_exact(original, 0)


def test_lookups_use_the_exact_zones(demo_city):
    # a point just inside the exact edge of a zone is located by the exact geometry, whatever the
    # display geometry draws
    fc = demo_city.boundaries.to_geojson()
    geom = shape(fc["features"][0]["geometry"])
    inner = geom.buffer(-0.000005)
    x, y = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(inner)[0]))[0]
    assert (
        demo_city.lookup(lon=float(x), lat=float(y)).cycle_id
        == fc["features"][0]["properties"]["cycle"]
    )


@pytest.mark.parametrize(
    ("tiles", "origin"),
    [
        ("openstreetmap", "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("/tiles/{z}/{x}/{y}.png", "'self'"),
    ],
)
def test_tile_spec(tiles, origin):
    assert tile_spec(tiles).origin == origin


def test_tile_spec_rejects_nonsense():
    with pytest.raises(ConfigError):
        tile_spec("ftp://example.org/tiles")


def test_export_map_date_and_cyclemap_today(tmp_path):
    """``--date`` makes the page as of that day; without it, ``CYCLEMAP_TODAY`` is the day."""
    later = tmp_path / "later.html"
    result = run(tmp_path, str(later), "--tiles", "none", "--date", "2020-06-01")
    assert result.exit_code == 0, result.output
    html = later.read_text(encoding="utf-8")
    assert "Made on 2020-06-01" in html
    assert "February bills for Cycles 1 and 2" not in html
    demo = tmp_path / "demo.html"
    db = f"sqlite:///{tmp_path / 'cyclemap.sqlite'}"
    result = CliRunner().invoke(
        main,
        [
            "--city",
            str(DEFAULT_CITY),
            "--database-url",
            db,
            "export-map",
            str(demo),
            "--tiles",
            "none",
        ],
        env={"CYCLEMAP_TODAY": "2020-02-21"},
    )
    assert result.exit_code == 0, result.output
    html = demo.read_text(encoding="utf-8")
    assert "Made on 2020-02-21" in html and "February bills for Cycles 1 and 2" in html
    bad = run(tmp_path, str(tmp_path / "x.html"), "--date", "June 1")
    assert bad.exit_code == 2


def test_export_map_in_spanish(tmp_path):
    """``--lang es``: the page's words and the day it was made in Spanish; each note carries
    its Spanish text for the map's popups, which show it (or the English text, marked)."""
    out = tmp_path / "mapa.html"
    result = run(tmp_path, str(out), "--tiles", "none", "--lang", "es", "--date", "2020-02-21")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert '<html lang="es">' in html
    assert "Mapa de ciclos de facturación de servicios públicos de Cape Girardeau" in html
    assert "Generado el 21 de febrero de 2020." in html
    assert "Facturas de febrero de los ciclos 1 y 2" in html  # a note's Spanish title
    assert '"in_english": "(en ingl' in html  # the marker the popups put after English text
    assert "Made on" not in html and "Billing cycles" not in html


# -- one rendering for every marker (the resident page's map) ----------------------------------
_ELEMENT_ID = re.compile(r"([a-z]+)_[0-9a-f]{32}(?![0-9a-f])")


def _without_ids(text: str) -> str:
    # folium names each element by a random id: the same map renders alike but for them
    return _ELEMENT_ID.sub(r"\1_ID", text)


@pytest.mark.parametrize("tiles", [None, "openstreetmap"])
def test_a_marker_placed_in_the_shared_rendering_is_the_map_rendered_for_it(demo_city, tiles):
    from dataclasses import replace

    from cyclemap.maps import MapSpec, Marker, build_map, marker_template, render_parts

    zones = city_zones(demo_city)
    tile = tile_spec(tiles) if tiles else None
    spec = MapSpec(center=(0.0, 0.0), zoom=17, tiles=tile, mode="page", urls={"lang": ""})
    template = marker_template(zones, spec, gettext=str.upper)
    assert template is not None
    markers = [
        Marker(-89.531931, 37.304779, "117 S SPRIGG ST"),
        Marker(np.float64(-89.5), np.float64(37.25), "A \"q\" <b>&amp;</b> 'x' é \\ </script>"),
        Marker(-89.0, 37.0, ""),
        Marker(-1e-7, 1.23456789012345e-5, "Dirección 12 ½"),
    ]
    for marker in markers:
        placed = template.place(marker)
        at = replace(spec, marker=marker, center=(marker.lon, marker.lat))
        direct = render_parts(build_map(zones, at, gettext=str.upper))
        assert (placed.js, placed.css) == (direct.js, direct.css)
        assert _without_ids(placed.html) == _without_ids(direct.html)
        assert _without_ids(placed.script) == _without_ids(direct.script)
        assert "cyclemap-placeholder" not in placed.script


def test_a_map_fitted_around_its_marker_is_rendered_for_each(demo_city):
    from cyclemap.maps import MapSpec, marker_template

    spec = MapSpec(center=(0.0, 0.0), zoom=13, tiles=None, mode="page", fit_city=True)
    assert marker_template(city_zones(demo_city), spec) is None
