"""A publisher puts new boundaries live and takes them back, in a real headless Chromium.

Sign in, upload a file that moves a block of addresses from Cycle 2 to Cycle 3, read the
preview (its count equals an independent shapely count over the address CSV), publish, see the
resident page and the API answer the new cycle, roll back, see the old cycle again. axe-core
finds nothing on the upload, preview and history pages, on a desktop and on a phone.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json

from .test_browser import ARTIFACTS, BROWSER_MARKS, Session, axe_violations, text
from .test_browser_staff import (  # noqa: F401  (the workspace's live app, server and browser)
    base_url,
    browser,
    server_port,
    sign_in,
    staff_live_app,
)
from .zones import demo_geojson, independent_changes, move_block

pytestmark = BROWSER_MARKS

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


def no_violations(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"staff-{name}.png"), full_page=True)
    found = axe_violations(page)
    assert found == [], (name, found)


def resident_cycle(s: Session, address: str) -> str:
    """What the resident page says for an address (typed and submitted with the button)."""
    page = s.page
    s.goto("/")
    page.get_by_role("combobox", name="Street address").fill(address)
    page.get_by_role("button", name="Look up").click()
    heading = page.locator("#result-heading")
    heading.wait_for()
    return text(heading)


def test_publish_a_moving_block_then_roll_it_back(browser, base_url, tmp_path):  # noqa: F811
    moved = move_block(demo_geojson())
    changes = independent_changes(demo_geojson(), moved)
    address = sorted(changes)[0]
    path = tmp_path / "new-cycles.geojson"
    path.write_text(json.dumps(moved))

    resident = Session(browser, base_url, viewport={"width": 1280, "height": 900})
    assert resident_cycle(resident, address) == "Your billing cycle is Cycle 2"

    s = Session(browser, base_url, viewport={"width": 1280, "height": 900})
    page = s.page
    sign_in(s, "pat")
    page.get_by_role("link", name="Boundaries").click()
    page.get_by_role("link", name="Upload a new boundary file").click()
    no_violations(page, "boundaries-upload")
    page.get_by_label("Boundary file").set_input_files(str(path))
    page.get_by_role("button", name="Check this file").click()
    page.get_by_role("heading", name="Check new-cycles.geojson").wait_for()
    impact = text(page.locator("#impact-heading + p"))
    assert impact == f"{len(changes):,} of 19,897 addresses change cycle."
    page.locator(".folium-map .leaflet-interactive").first.wait_for()  # the map drew the zones
    no_violations(page, "boundaries-preview")

    page.get_by_label("What changed").fill("Oaklawn block to Cycle 3")
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Published version 2 of the boundaries").wait_for()
    no_violations(page, "boundaries-history")

    assert resident_cycle(resident, address) == "Your billing cycle is Cycle 3"
    api = resident.page.request.get(f"{base_url}/api/v1/lookup?address={address}").json()
    assert (api["cycle"]["id"], api["boundary_version"]) == ("3", 2)

    row = page.locator("tr", has=page.get_by_text("from the city folder"))
    row.get_by_role("button", name="Roll back to this version").click()
    page.get_by_text("Version 1 of the boundaries is live again").wait_for()
    assert resident_cycle(resident, address) == "Your billing cycle is Cycle 2"
    s.check()
    resident.check()
    s.close()
    resident.close()


def test_the_version_pages_on_a_phone(browser, base_url, tmp_path):  # noqa: F811
    path = tmp_path / "phone.geojson"
    path.write_text(json.dumps(move_block(demo_geojson())))
    s = Session(browser, base_url, **PHONE)
    page = s.page
    sign_in(s, "pat")
    for url, name in (
        ("/staff/boundaries", "phone-history"),
        ("/staff/addresses/new", "phone-upload"),
    ):
        s.goto(url)
        no_violations(page, name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    s.goto("/staff/boundaries/new")
    page.get_by_label("Boundary file").set_input_files(str(path))
    page.get_by_role("button", name="Check this file").click()
    page.get_by_role("heading", name="Check phone.geojson").wait_for()
    no_violations(page, "phone-preview")
    # the tables fit the phone (stacked): nothing makes the page wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    s.check()
    s.close()
