"""A publisher puts new boundaries live and takes them back, in a real headless Chromium.

Sign in, upload a file that moves a block of addresses from Cycle 2 to Cycle 3, read the
preview (its count equals an independent shapely count over the address CSV), publish, see the
resident page and the API answer the new cycle, roll back, see the old cycle again. axe-core
finds nothing on the upload, preview and history pages, on a desktop and on a phone.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from cyclemap.config import DEFAULT_CITY

from .staff import PASSWORD, add_accounts
from .test_browser import ARGS, ARTIFACTS, CHROMIUM, Session, axe_violations, text
from .zones import demo_geojson, independent_changes, move_block

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    ),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, session_clock):
    from cyclemap.server import create_app

    app = create_app(
        {
            "TESTING": True,
            "CITY": str(DEFAULT_CITY),
            "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('pub') / 'cyclemap.sqlite'}",
            "CLOCK": session_clock,
            "RATELIMIT": "",
            "TILES": "none",
        }
    )
    add_accounts(app)
    return app


@pytest.fixture(scope="module")
def base_url(live_app) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def sign_in(s: Session, username: str) -> None:
    page = s.page
    s.goto("/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").first.wait_for()


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


def test_publish_a_moving_block_then_roll_it_back(browser, base_url, tmp_path):
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


def test_the_version_pages_on_a_phone(browser, base_url, tmp_path):
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
