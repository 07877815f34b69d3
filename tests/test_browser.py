"""The resident's path in a real headless Chromium, against the real app on a loopback port.

Debian's Chromium (``/usr/lib/chromium/chromium``) driven by Playwright; tiles are ``none`` (no
network here). Every page must: load nothing from outside the server, raise no script error and
no CSP violation, and have zero axe-core violations (axe runs only where JavaScript is on: it
hangs otherwise). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cyclemap.config import DEFAULT_CITY

CHROMIUM = Path("/usr/lib/chromium/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
#: the map page's budget before tiles (there are none here), in bytes
MAP_PAGE_BUDGET = 300 * 1024
#: a point in the northwest of the demo city: Cycle 2
NORTHWEST = (-89.58, 37.34)

#: every browser test module's marks: one xdist group (one Chromium at a time on two cores),
#: skipped with the reason where Chromium is not installed
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
    ),
]
pytestmark = BROWSER_MARKS


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live_app(tmp_path_factory, session_clock):
    from cyclemap.server import create_app

    return create_app(
        {
            "TESTING": True,
            "CITY": str(DEFAULT_CITY),
            "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('live') / 'cyclemap.sqlite'}",
            "CLOCK": session_clock,
            "RATELIMIT": "",
            "TILES": "none",
        }
    )


@pytest.fixture(scope="module")
def base_url(live_app) -> Iterator[str]:
    """The app served by werkzeug on a free loopback port, in a thread."""
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


class Session:
    """A browser context that records every request, script error and console complaint."""

    def __init__(self, browser, base_url: str, **options) -> None:
        self.base_url = base_url
        self.context = browser.new_context(**options)
        self.context.set_default_timeout(10_000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        return page

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, (path, response and response.status)
        return response

    def check(self) -> None:
        """Nothing came from outside the server; no script error, no CSP complaint."""
        outside = [u for u in self.requests if not u.startswith((self.base_url + "/", "data:"))]
        assert not outside, outside
        assert not self.errors, self.errors

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def session(browser, base_url) -> Iterator[Session]:
    s = Session(browser, base_url, viewport={"width": 1280, "height": 900})
    yield s
    s.close()


@pytest.fixture(scope="module")
def sample(live_app) -> dict[str, str]:
    """Real addresses of the demo city that are matched, with their cycle name."""
    city = live_app.extensions["cyclemap.city"]
    with open(DEFAULT_CITY / "addresses.csv", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i % 131:
                continue
            text = f"{row['house_number']} {row['street']}"
            answer = city.lookup(text)
            if answer.status == "matched" and answer.cycle_id == "1":
                return {"address": text, "cycle": answer.cycle.name}
    raise AssertionError("no matched address in Cycle 1")


def axe_violations(page, **options) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"], **options})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:3])
        for v in results.response["violations"]
    ]


def text(locator) -> str:
    """A locator's text with its white space collapsed."""
    return " ".join(locator.inner_text().split())


def wait_for_map(page) -> None:
    """Until the map has stopped moving (a screenshot mid-zoom shows blurred, scaled lines)."""
    page.wait_for_function(
        "() => window.cyclemap && cyclemap.map && !cyclemap.map.map._animatingZoom"
    )
    page.wait_for_timeout(400)


def map_point(page, lon: float, lat: float) -> dict[str, float]:
    """Where (lon, lat) is inside the map container, in pixels."""
    x, y = page.evaluate(
        "([lon, lat]) => { const p = cyclemap.map.map.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lon, lat],
    )
    return {"x": x, "y": y}


# -- the resident's path ---------------------------------------------------------------------
def test_type_pick_a_suggestion_and_see_the_cycle(session, sample, live_app):
    page = session.page
    session.goto("/")
    field = page.get_by_role("combobox", name="Street address")
    field.press_sequentially(sample["address"][:-2].lower(), delay=20)
    listbox = page.get_by_role("listbox")
    listbox.wait_for()
    assert field.get_attribute("aria-expanded") == "true"
    field.press("ArrowDown")
    active = page.locator(".combobox__option.is-active")
    assert active.get_attribute("aria-selected") == "true"
    assert field.get_attribute("aria-activedescendant") == active.get_attribute("id")
    chosen = active.inner_text()
    field.press("Enter")
    heading = page.locator("#result-heading")
    heading.wait_for()
    expected = live_app.extensions["cyclemap.city"].lookup(chosen)
    assert expected.status == "matched"
    assert text(heading) == f"Your billing cycle is {expected.cycle.name}"
    for note in expected.notes:
        assert page.get_by_role("heading", name=note.title).first.is_visible()
    assert page.locator("#result-status").inner_text() == f"{chosen} is in {expected.cycle.name}."
    assert "/lookup?address=" in page.url
    # the map moved to the address and shows the marker
    page.wait_for_function("() => cyclemap.map.marker !== null && cyclemap.map.map.getZoom() >= 16")
    assert axe_violations(page) == []

    # typed in full and submitted with the button: the same answer
    session.goto("/")
    page.get_by_role("combobox", name="Street address").fill(sample["address"])
    page.get_by_role("button", name="Look up").click()
    page.locator("#result-heading").wait_for()
    assert sample["cycle"] in text(page.locator("#result-heading"))

    ARTIFACTS.mkdir(exist_ok=True)
    wait_for_map(page)
    page.screenshot(path=str(ARTIFACTS / "result-desktop.png"))
    session.check()


def test_result_page_on_a_phone(browser, base_url, sample):
    s = Session(
        browser,
        base_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        s.goto("/lookup?address=" + sample["address"].replace(" ", "+"))
        page = s.page
        assert sample["cycle"] in text(page.locator("#result-heading"))
        wait_for_map(page)
        # mobile first: nothing wider than the screen
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "result-mobile.png"))
        page.screenshot(path=str(ARTIFACTS / "result-mobile-full.png"), full_page=True)
        assert axe_violations(page) == []
        s.check()
    finally:
        s.close()


def test_click_the_map_to_look_up_a_spot(session):
    page = session.page
    session.goto("/")
    page.wait_for_function("() => window.cyclemap && cyclemap.map")
    page.locator(".folium-map").click(position=map_point(page, *NORTHWEST))
    heading = page.locator("#result-heading")
    heading.wait_for()
    assert text(heading) == "Your billing cycle is Cycle 2"
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Cycle 2" in popup.inner_text()

    # the full-page map answers in a popup, with the notes
    session.goto("/map")
    page.wait_for_function("() => window.cyclemap && cyclemap.map")
    page.locator(".folium-map").click(position=map_point(page, *NORTHWEST))
    popup = page.locator(".leaflet-popup-content")
    popup.get_by_text("This spot is in Cycle 2.").wait_for()
    assert (
        "February bills for Cycles 1 and 2" in page.locator(".leaflet-popup-content").inner_text()
    )
    link = page.get_by_role("link", name="Full details for this spot")
    assert "/lookup?lon=" in link.get_attribute("href")
    # outside the city
    page.locator(".folium-map").click(position={"x": 5, "y": 300})
    popup.get_by_text("This spot is outside the city's billing cycles.").wait_for()
    assert (
        page.locator("#map-status").inner_text()
        == "This spot is outside the city's billing cycles."
    )
    # with the keyboard: Enter on the map looks up its middle
    page.keyboard.press("Escape")
    page.locator(".folium-map").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-popup').length === 1")
    page.get_by_role("link", name="Full details for this spot").wait_for()
    session.check()


def test_embed_address_box(session, sample):
    page = session.page
    session.goto("/embed")
    page.wait_for_function("() => window.cyclemap && cyclemap.map")
    page.get_by_label("Find your billing cycle: street address").fill(sample["address"])
    page.keyboard.press("Enter")
    status = page.locator("#embed-result")
    status.get_by_text(f"is in {sample['cycle']}.").wait_for()
    link = status.get_by_role("link")
    assert link.get_attribute("target") == "_blank"
    assert "/lookup?address=" in link.get_attribute("href")
    page.wait_for_function("() => cyclemap.map.marker !== null")
    session.check()


def test_keyboard_starts_with_the_skip_link(session):
    page = session.page
    session.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "address"


def test_use_my_location(browser, base_url):
    s = Session(
        browser,
        base_url,
        viewport={"width": 1280, "height": 900},
        geolocation={"longitude": NORTHWEST[0], "latitude": NORTHWEST[1]},
        permissions=["geolocation"],
    )
    try:
        s.goto("/")
        s.page.get_by_role("button", name="Use my location").click()
        s.page.locator("#result-heading").wait_for()
        assert text(s.page.locator("#result-heading")) == "Your billing cycle is Cycle 2"
        s.check()
    finally:
        s.close()


def test_works_with_javascript_off(browser, base_url, sample):
    s = Session(browser, base_url, java_script_enabled=False)
    try:
        s.goto("/")
        page = s.page
        page.get_by_label("Street address").fill(sample["address"])
        page.get_by_role("button", name="Look up").click()
        page.wait_for_url("**/lookup?address=*")
        assert text(page.locator("#result-heading")) == f"Your billing cycle is {sample['cycle']}"
        assert page.get_by_role(
            "link", name=f"Add {sample['cycle']} dates to my calendar"
        ).first.is_visible()
        assert page.get_by_text("The map needs JavaScript").first.is_visible()
        # every cycle is listed in text for people who cannot use the map
        for n in range(1, 5):
            assert page.get_by_role("heading", name=f"Cycle {n}", exact=True).count() == 1
        s.check()
    finally:
        s.close()


PUBLIC_PAGES = [
    "/",
    "/lookup?address=99999+Zzyzx+Qwerty+Blvd",
    "/lookup?lon=-89.0&lat=37.0",
    "/lookup?lon=-89.58&lat=37.34",
    "/lookup",
    "/map",
    "/embed",
    "/embed/snippet",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_axe_finds_no_violations(session, path):
    page = session.page
    page.goto(session.base_url + path)
    page.wait_for_load_state("load")
    if path in ("/", "/map", "/embed") or path.startswith("/lookup?lon"):
        page.wait_for_function("() => window.cyclemap && cyclemap.map")
    violations = axe_violations(page, iframes=False)
    assert violations == [], violations
    if path == "/lookup":  # no address given: the page answers 400 on purpose
        session.errors = [e for e in session.errors if "status of 400" not in e]
    session.check()


def test_axe_on_an_ambiguous_answer(session, live_app):
    city = live_app.extensions["cyclemap.city"]
    query = _ambiguous_query(city)
    if query is None:
        pytest.skip("the demo city has no ambiguous address to show")
    page = session.page
    page.goto(session.base_url + "/lookup?address=" + query.replace(" ", "+"))
    assert page.locator("[data-status=ambiguous]").count() == 1
    assert axe_violations(page) == []
    # picking a candidate looks up exactly that place
    first = page.locator("a[data-lookup]").first
    first.click()
    page.locator("[data-status=matched]").wait_for()
    session.check()


def _ambiguous_query(city) -> str | None:
    for query in ("100 Main St", "200 Main", "1 Broadway", "Main St", "100 Kingshighway"):
        if city.lookup(query).status == "ambiguous":
            return query
    return None


def test_map_page_weight(browser, base_url):
    s = Session(browser, base_url, viewport={"width": 1280, "height": 900})
    try:
        s.goto("/map")
        s.page.wait_for_load_state("networkidle")
        sizes = s.page.evaluate(
            "() => [performance.getEntriesByType('navigation')[0],"
            " ...performance.getEntriesByType('resource')]"
            ".map(e => [e.name, e.transferSize, e.encodedBodySize])"
        )
        total = sum(t for _, t, _ in sizes)
        print(f"\n/map: {len(sizes)} requests, {total / 1024:.1f} KB transferred (no tiles)")
        for name, transferred, _ in sizes:
            print(f"  {transferred / 1024:7.1f} KB  {name.replace(base_url, '')}")
        assert 0 < total < MAP_PAGE_BUDGET, total
        s.check()
    finally:
        s.close()


def test_exported_map_works_from_a_file(browser, base_url, live_app, tmp_path):
    from cyclemap.maps import export_html
    from cyclemap.server.assets import map_assets

    path = tmp_path / "map.html"
    path.write_text(
        export_html(live_app.extensions["cyclemap.city"], assets=map_assets(), tiles="none"),
        "utf-8",
    )
    s = Session(browser, base_url, viewport={"width": 1000, "height": 800})
    try:
        page = s.page
        page.goto(path.as_uri())
        page.wait_for_function("() => window.cyclemap && cyclemap.map")
        assert page.locator("path.leaflet-interactive").count() >= 4
        assert page.locator(".cm-legend li").count() == 4
        page.locator(".folium-map").click(position=map_point(page, *NORTHWEST))
        page.locator(".leaflet-popup-content").wait_for()
        assert "Cycle 2" in page.locator(".leaflet-popup-content").inner_text()
        page.wait_for_timeout(400)  # the popup fades in: axe would measure a half-drawn text
        assert [u for u in s.requests if not u.startswith(("file://", "data:"))] == []
        assert not s.errors, s.errors
        assert axe_violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "export-map.png"))
    finally:
        s.close()


# -- issue 20: the resident page as a new user tries it ------------------------------------------
def _top(page, selector: str) -> float:
    return page.evaluate(
        "(s) => document.querySelector(s).getBoundingClientRect().top + window.scrollY", selector
    )


def _phone(browser, base_url, **options) -> Session:
    return Session(
        browser,
        base_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        **options,
    )


def test_on_a_phone_the_answer_comes_first_and_the_map_next(browser, base_url, sample):
    s = _phone(browser, base_url)
    try:
        s.goto("/lookup?address=" + sample["address"].replace(" ", "+"))
        page = s.page
        wait_for_map(page)
        heading, map_top = _top(page, "#result-heading"), _top(page, ".map-frame--page")
        dates = _top(page, "#result-dates")
        assert heading < map_top < dates, (heading, map_top, dates)
        assert map_top < 844 * 1.25, map_top  # the map starts about a screen down, not 3,000 px
        # the same order after a lookup without a reload
        page.get_by_role("combobox", name="Street address").fill(sample["address"])
        page.get_by_role("button", name="Look up").click()
        page.locator("#result-details #result-dates").wait_for()
        assert _top(page, ".map-frame--page") < _top(page, "#result-dates")
        # the map moves to the answer and fades its popup in: what is checked is where it ends
        # (axe reads a link's colour mid-fade as too faint)
        wait_for_map(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "result-mobile-order.png"))
        assert axe_violations(page) == []
        s.check()
    finally:
        s.close()


def _map_view(page) -> dict:
    return page.evaluate(
        "() => { const m = cyclemap.map.map, b = m.getBounds(), z = cyclemap.map.zones.getBounds();"
        " return {zoom: m.getZoom(), marker: cyclemap.map.marker !== null,"
        " showsCity: b.pad(0.05).contains(z), center: [m.getCenter().lng, m.getCenter().lat],"
        " city: [z.getWest(), z.getSouth(), z.getEast(), z.getNorth()]}; }"
    )


def test_the_map_follows_an_answer_without_one_place(session, sample, live_app):
    page = session.page
    session.goto("/lookup?address=" + sample["address"].replace(" ", "+"))
    wait_for_map(page)
    assert _map_view(page)["zoom"] >= 16
    field = page.get_by_role("combobox", name="Street address")
    field.fill("99999 Zzyzx Qwerty Blvd")
    page.get_by_role("button", name="Look up").click()
    page.locator("[data-status=not_found]").wait_for()
    page.wait_for_function("() => cyclemap.map.map.getZoom() < 16")
    wait_for_map(page)
    view = _map_view(page)
    assert view["showsCity"] and not view["marker"], view  # not left on the last address
    # a street typed without a number: the map shows the places to choose from
    city = live_app.extensions["cyclemap.city"]
    answer = city.lookup("Main St")
    assert answer.status == "ambiguous" and answer.location is None
    session.goto("/lookup?address=" + sample["address"].replace(" ", "+"))
    wait_for_map(page)
    page.get_by_role("combobox", name="Street address").fill("Main St")
    page.get_by_role("button", name="Look up").click()
    page.locator("[data-status=ambiguous]").wait_for()
    page.wait_for_function("() => cyclemap.map.marker === null")
    wait_for_map(page)
    inside = page.evaluate(
        "(pts) => pts.every(([lon, lat]) => cyclemap.map.map.getBounds().contains([lat, lon]))",
        [[c.lon, c.lat] for c in answer.candidates],
    )
    assert inside
    session.check()


def test_a_device_far_from_the_city_does_not_zoom_into_a_blank_map(browser, base_url):
    s = Session(
        browser,
        base_url,
        viewport={"width": 1280, "height": 900},
        geolocation={"longitude": -100.0, "latitude": 40.0},
        permissions=["geolocation"],
    )
    try:
        page = s.page
        for path in ("/", "/map"):
            s.goto(path)
            page.wait_for_function("() => window.cyclemap && cyclemap.map")
            page.get_by_role("button", name="Use my location").click()
            if path == "/":
                page.locator("[data-status=outside_service_area]").wait_for()
                assert "Your location (40.00000, -100.00000)" in text(page.locator("#result"))
            else:
                page.locator(".leaflet-popup-content").get_by_text("far from the city").wait_for()
            wait_for_map(page)
            view = _map_view(page)
            west, south, east, north = view["city"]
            lon, lat = view["center"]
            assert west <= lon <= east and south <= lat <= north, view
            assert view["showsCity"], view
        s.check()
    finally:
        s.close()


def test_use_my_location_names_the_nearest_address(browser, base_url, live_app):
    lon, lat = -89.53181, 37.30528
    near = live_app.extensions["cyclemap.city"].geocoder.nearest(lon, lat)
    s = Session(
        browser,
        base_url,
        viewport={"width": 1280, "height": 900},
        geolocation={"longitude": lon, "latitude": lat},
        permissions=["geolocation"],
    )
    try:
        s.goto("/")
        s.page.get_by_role("button", name="Use my location").click()
        s.page.locator("[data-status=matched]").wait_for()
        lead = text(s.page.locator(".answer__lead"))
        assert lead.startswith(f"{near.matched_address} is in Cycle "), lead
        assert "address nearest your location" in text(s.page.locator("#result"))
        assert "source=device" in s.page.url
        s.check()
    finally:
        s.close()


def test_the_embedded_map_suggests_addresses(session, sample):
    page = session.page
    session.goto("/embed")
    page.wait_for_function("() => window.cyclemap && cyclemap.map")
    field = page.get_by_role("combobox", name="Find your billing cycle: street address")
    field.press_sequentially(sample["address"][:-2].lower(), delay=20)
    page.get_by_role("listbox").wait_for()
    assert field.get_attribute("aria-expanded") == "true"
    field.press("ArrowDown")
    chosen = page.locator(".combobox__option.is-active").inner_text()
    field.press("Enter")
    page.locator("#embed-result").get_by_text(" is in ").wait_for()
    assert chosen in page.locator("#embed-result").inner_text()
    page.wait_for_function("() => cyclemap.map.marker !== null")
    assert axe_violations(page) == []
    session.check()
