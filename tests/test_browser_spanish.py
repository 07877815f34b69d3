"""The resident pages in Spanish, in a real headless Chromium against the real app.

A browser that asks for Spanish (``locale="es-MX"``: ``Accept-Language: es-MX``) gets every
resident page in Spanish with zero axe-core violations, on a desktop and on a phone; the
language switch works with JavaScript off and is remembered; a lookup made without a reload
keeps its answer across the switch; the map's popups show a note's Spanish text, or its English
text marked "(en inglés)". Screenshots of the home page, an answer and an ambiguous choice, on a
desktop and a phone, go to ``test-artifacts/es-*.png``.
"""

from __future__ import annotations

import pytest

from .test_browser import (  # noqa: F401  (the resident pages' live app, server and browser)
    ARTIFACTS,
    BROWSER_MARKS,
    CHROMIUM,
    NORTHWEST,
    Session,
    axe_violations,
    base_url,
    browser,
    live_app,
    map_point,
    sample,
    text,
    wait_for_map,
)

pytestmark = BROWSER_MARKS

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
#: a Spanish-speaking resident's browser
SPANISH = {"locale": "es-MX"}
#: a street through several cycles: the page asks which address
AMBIGUOUS = "Main St"


def spanish_session(browser, base_url, **options) -> Session:  # noqa: F811
    return Session(browser, base_url, **SPANISH, **{**DESKTOP, **options})


def pages(sample) -> dict[str, str]:  # noqa: F811
    return {
        "home": "/",
        "answer": "/lookup?address=" + sample["address"].replace(" ", "+"),
        "ambiguous": "/lookup?address=" + AMBIGUOUS.replace(" ", "+"),
        "not-found": "/lookup?address=99999+Zzyzx+Qwerty+Blvd",
        "outside": "/lookup?lon=-89.0&lat=37.0",
        "point": "/lookup?lon=-89.58&lat=37.34",
        "map": "/map",
        "embed": "/embed",
        "snippet": "/embed/snippet",
    }


@pytest.mark.parametrize("device", ["desktop", "phone"])
@pytest.mark.parametrize(
    "name", ["home", "answer", "ambiguous", "not-found", "outside", "point", "map", "embed"]
)
def test_spanish_pages_have_no_axe_violations(browser, base_url, sample, name, device):  # noqa: F811
    s = spanish_session(browser, base_url, **(PHONE if device == "phone" else {}))
    try:
        s.goto(pages(sample)[name])
        page = s.page
        page.wait_for_function("() => window.cyclemap && cyclemap.map")
        wait_for_map(page)
        # Accept-Language: es-MX asks for Spanish; the page says which Spanish it is
        assert page.evaluate("() => document.documentElement.lang") == "es"
        if device == "phone":
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        violations = axe_violations(page, iframes=False)
        assert violations == [], violations
        s.check()
    finally:
        s.close()


def test_the_snippet_page_in_spanish_has_no_axe_violations(browser, base_url, sample):  # noqa: F811
    s = spanish_session(browser, base_url)
    try:
        s.goto("/embed/snippet")
        s.page.wait_for_load_state("load")
        assert s.page.get_by_role("heading", level=1).inner_text() == (
            "Ponga el mapa de los ciclos de facturación en su sitio web"
        )
        assert axe_violations(s.page, iframes=False) == []
        s.check()
    finally:
        s.close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_screenshots_of_the_spanish_pages(browser, base_url, sample, live_app, device):  # noqa: F811
    """The pages a Spanish-speaking resident sees, saved for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    s = spanish_session(browser, base_url, **(PHONE if device == "phone" else {}))
    city = live_app.extensions["cyclemap.city"]
    try:
        page = s.page
        s.goto("/")
        wait_for_map(page)
        assert text(page.get_by_role("heading", level=1)) == (
            "Encuentre su ciclo de facturación de servicios públicos"
        )
        assert page.get_by_role("link", name="English").is_visible()
        page.screenshot(path=str(ARTIFACTS / f"es-home-{device}.png"))
        page.screenshot(path=str(ARTIFACTS / f"es-home-{device}-full.png"), full_page=True)

        s.goto(pages(sample)["answer"])
        wait_for_map(page)
        cycle = city.lookup(sample["address"]).cycle.name_in("es").text  # name_es: "Ciclo N"
        assert text(page.locator("#result-heading")) == f"Su ciclo de facturación es {cycle}"
        assert page.get_by_text("Fecha de vencimiento").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / f"es-answer-{device}.png"))
        page.screenshot(path=str(ARTIFACTS / f"es-answer-{device}-full.png"), full_page=True)

        s.goto(pages(sample)["ambiguous"])
        wait_for_map(page)
        assert text(page.locator("#result-heading")) == "¿Cuál es su dirección?"
        assert page.locator("a[data-lookup]").count() >= 2
        page.screenshot(path=str(ARTIFACTS / f"es-ambiguous-{device}.png"))
        page.screenshot(path=str(ARTIFACTS / f"es-ambiguous-{device}-full.png"), full_page=True)
        s.check()
    finally:
        s.close()


def test_the_language_switch_works_without_javascript(browser, base_url, sample):  # noqa: F811
    s = Session(browser, base_url, java_script_enabled=False, locale="en-US", **DESKTOP)
    try:
        page = s.page
        s.goto("/")
        page.get_by_role("link", name="Español").click()
        page.wait_for_url("**/?lang=es")
        assert page.evaluate("() => document.documentElement.lang") == "es"
        page.get_by_label("Dirección (número y calle)").fill(sample["address"])
        page.get_by_role("button", name="Buscar", exact=True).click()
        page.wait_for_url("**/lookup?address=*")
        assert text(page.locator("#result-heading")).startswith("Su ciclo de facturación es")
        # remembered: a page asked for without ?lang= (and an English browser) is Spanish
        s.goto("/map")
        assert page.evaluate("() => document.documentElement.lang") == "es"
        assert page.get_by_text("El mapa necesita JavaScript.").first.is_visible()
        page.get_by_role("link", name="English").click()
        assert page.evaluate("() => document.documentElement.lang") == "en"
        s.goto("/")
        assert page.evaluate("() => document.documentElement.lang") == "en"
        s.check()
    finally:
        s.close()


def test_a_lookup_keeps_its_answer_across_the_switch(browser, base_url, sample):  # noqa: F811
    s = spanish_session(browser, base_url)
    try:
        page = s.page
        s.goto("/")
        page.wait_for_function("() => window.cyclemap && cyclemap.map")
        page.get_by_role("combobox", name="Dirección (número y calle)").fill(sample["address"])
        page.get_by_role("button", name="Buscar", exact=True).click()
        page.wait_for_url("**/lookup?address=*")
        heading = page.locator("#result-heading")
        heading.wait_for()
        assert text(heading).startswith("Su ciclo de facturación es")
        page.get_by_role("link", name="English").click()
        page.wait_for_url("**/lookup?address=*&lang=en")
        assert text(page.locator("#result-heading")) == (f"Your billing cycle is {sample['cycle']}")
        s.check()
    finally:
        s.close()


def test_the_map_shows_notes_in_spanish_or_marked_english(browser, base_url):  # noqa: F811
    s = spanish_session(browser, base_url)
    try:
        page = s.page
        s.goto("/map")
        page.wait_for_function("() => window.cyclemap && cyclemap.map")
        page.locator(".folium-map").click(position=map_point(page, *NORTHWEST))
        popup = page.locator(".leaflet-popup-content")
        popup.get_by_text("Este lugar está en Ciclo 2.").wait_for()
        assert popup.get_by_text("Facturas de febrero de los ciclos 1 y 2").is_visible()
        # the demo's one note without Spanish: English, marked, with lang="en"
        english = popup.locator('span[lang="en"]', has_text="Cyber Issue - Current Impacts")
        assert english.count() == 1
        marker = english.locator("xpath=following-sibling::span[1]")
        assert marker.inner_text() == "(en inglés)"
        page.wait_for_timeout(400)  # the popup fades in
        page.screenshot(path=str(ARTIFACTS / "es-map-popup.png"))
        assert axe_violations(page, iframes=False) == []
        s.check()
    finally:
        s.close()


def test_the_exported_map_in_spanish(browser, base_url, live_app, tmp_path):  # noqa: F811
    from cyclemap.cli.export_map import day_writer, translator
    from cyclemap.maps import export_html
    from cyclemap.server.assets import map_assets

    gettext, lang = translator("es")
    assert lang == "es"
    path = tmp_path / "mapa.html"
    path.write_text(
        export_html(
            live_app.extensions["cyclemap.city"],
            assets=map_assets(),
            tiles="none",
            gettext=gettext,
            lang=lang,
            format_day=day_writer(lang),
        ),
        "utf-8",
    )
    s = Session(browser, base_url, **DESKTOP)  # an English browser: the file is Spanish
    try:
        page = s.page
        page.goto(path.as_uri())
        page.wait_for_function("() => window.cyclemap && cyclemap.map")
        page.locator(".folium-map").click(position=map_point(page, *NORTHWEST))
        popup = page.locator(".leaflet-popup-content")
        popup.get_by_text("Facturas de febrero de los ciclos 1 y 2").wait_for()
        english = popup.locator('span[lang="en"]', has_text="Cyber Issue - Current Impacts")
        assert english.count() == 1
        page.wait_for_timeout(400)  # the popup fades in
        assert axe_violations(page) == []
        assert not s.errors, s.errors
    finally:
        s.close()
