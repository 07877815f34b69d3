"""The real city (Cambridge, MA, no schedules) and a three-town city in headless Chromium: the
answer near a ward border asks to confirm on the map, which shows both wards there; choices in
several towns say their town. Screenshots go to ``test-artifacts/`` (see test_browser.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest

from .conftest import DATA, Clock
from .test_browser import (
    ARGS,
    ARTIFACTS,
    BROWSER_MARKS,
    CHROMIUM,
    Session,
    axe_violations,
    map_point,
    text,
    wait_for_map,
)
from .test_towns import PLACES_TOML, towns_city

#: a spot in ward 9, 2.6 m from ward 8 (the border between them runs north-south here)
NEAR_BORDER = (-71.1291643, 42.3775968)

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def serve(app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def make_app(city: str, db) -> object:
    from cyclemap.server import create_app

    return create_app(
        {
            "TESTING": True,
            "CITY": city,
            "DATABASE_URL": f"sqlite:///{db}",
            "CLOCK": Clock(),
            "RATELIMIT": "",
            "TILES": "none",
        }
    )


@pytest.fixture(scope="module")
def cambridge_url(tmp_path_factory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("cambridge") / "c.sqlite"
    yield from serve(make_app(str(DATA / "cambridge-ma"), db))


@pytest.fixture(scope="module")
def towns_url(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("towns") / "city"
    towns_city(folder, PLACES_TOML)
    yield from serve(make_app(str(folder), folder.parent / "t.sqlite"))


def near_layer(page) -> dict:
    """What the map draws for an answer near a border: dashed outlines and names on the map."""
    return page.evaluate(
        """() => ({
            dashed: document.querySelectorAll('path[stroke-dasharray="6 4"]').length,
            names: Array.from(document.querySelectorAll('.cm-zone-label--near'))
                .map(e => e.textContent.trim()).sort(),
            zoom: cyclemap.map.map.getZoom(),
        })"""
    )


def test_a_click_near_a_ward_border_asks_to_confirm_and_shows_both_wards(chromium, cambridge_url):
    session = Session(chromium, cambridge_url, viewport={"width": 1280, "height": 900})
    page = session.page
    session.goto("/")
    wait_for_map(page)
    page.evaluate(
        "([lon, lat]) => cyclemap.map.map.setView([lat, lon], 18, {animate: false})",
        list(NEAR_BORDER),
    )
    page.locator(".folium-map").click(position=map_point(page, *NEAR_BORDER))
    heading = page.locator("#result-heading")
    heading.wait_for()
    assert text(heading) == "Your billing cycle is Ward 9"
    caution = page.locator("[data-confirm]")
    caution.wait_for()
    # the click lands on a whole pixel (half a metre here): about 2 or 3 m from ward 8
    assert re.match(
        r"Please confirm on the map: this place is only about [23] m from Ward 8\. ", text(caution)
    ), text(caution)
    page.wait_for_function("() => cyclemap.map.map.getZoom() === 18")
    wait_for_map(page)
    drawn = near_layer(page)
    assert drawn["dashed"] == 1 and drawn["names"] == ["Ward 8", "Ward 9"], drawn
    # no schedule for this city: the details say so instead of dates
    details = page.locator("[data-details]")
    assert "No billing dates are published for Ward 9 yet." in text(details)
    assert page.get_by_role("link", name="Add Ward 9 dates to my calendar").count() == 0
    assert axe_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "confirm-near-border.png"), full_page=True)

    # the same answer rendered by the server (a shared link, JavaScript on)
    session.goto(f"/lookup?lon={NEAR_BORDER[0]}&lat={NEAR_BORDER[1]}")
    wait_for_map(page)
    drawn = near_layer(page)
    assert drawn == {"dashed": 1, "names": ["Ward 8", "Ward 9"], "zoom": 18}, drawn
    # an exact address point is not asked about: the map goes back to the usual view
    page.get_by_role("combobox", name="Street address").fill("10 Longfellow Rd")
    page.get_by_role("combobox", name="Street address").press("Enter")
    page.locator("#result-heading").get_by_text("Ward 9").wait_for()
    page.wait_for_function("() => !document.querySelector('[data-confirm]')")
    assert near_layer(page)["dashed"] == 0
    session.check()
    session.close()


def test_on_a_phone_the_confirmation_comes_before_the_map(chromium, cambridge_url):
    session = Session(
        chromium, cambridge_url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = session.page
    session.goto(f"/lookup?lon={NEAR_BORDER[0]}&lat={NEAR_BORDER[1]}")
    wait_for_map(page)
    caution = page.locator("[data-confirm]").bounding_box()
    mapbox = page.locator(".folium-map").bounding_box()
    assert caution["y"] + caution["height"] <= mapbox["y"]
    assert near_layer(page)["names"] == ["Ward 8", "Ward 9"]
    page.screenshot(path=str(ARTIFACTS / "confirm-near-border-phone.png"), full_page=True)
    session.check()
    session.close()


def test_choices_in_three_towns_say_their_town_and_lead_to_it(chromium, towns_url):
    session = Session(chromium, towns_url, viewport={"width": 1280, "height": 900})
    page = session.page
    session.goto("/")
    field = page.get_by_role("combobox", name="Street address")
    field.fill("101 Main St")
    field.press("Escape")
    field.press("Enter")
    page.locator("#result-heading").get_by_text("Which one is your address?").wait_for()
    choices = [" ".join(t.split()) for t in page.locator(".choice").all_inner_texts()]
    assert choices == [
        "101 MAIN ST, ASHFORD 00001 Cycle 1",
        "101 MAIN ST, BROOKFIELD 00002 Cycle 2",
        "101 MAIN ST, CARLTON 00003 Cycle 3",
    ], choices
    assert axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "three-towns-choices.png"), full_page=True)
    page.get_by_role("link", name="101 MAIN ST, BROOKFIELD 00002").click()
    heading = page.locator("#result-heading")
    heading.get_by_text("Cycle 2").wait_for()
    assert "101 MAIN ST, BROOKFIELD 00002 is in Cycle 2." in text(page.locator(".answer__lead"))
    # typed with its town, the address is matched at once
    field.fill("101 Main St, Carlton")
    field.press("Escape")
    field.press("Enter")
    heading.get_by_text("Cycle 3").wait_for()
    page.screenshot(path=str(ARTIFACTS / "three-towns-typed-town.png"), full_page=True)
    session.check()
    session.close()
