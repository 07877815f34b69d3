"""The resident pages on the test client: every lookup status, the no-JavaScript round trip,
assets served from our own /static, the CSP and framing headers, and Flask-Babel coverage."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cyclemap.config import DEFAULT_CITY

ROOT = Path(__file__).resolve().parent.parent


# -- helpers ---------------------------------------------------------------------------------
class Page(HTMLParser):
    """A tiny HTML reader: tags with attributes, visible text, and inline script bodies."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in: list[str] = []
        self._script_attrs: dict[str, str | None] | None = None
        self._script_body: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        self.tags.append((tag, attrs_d))
        if tag in ("script", "style", "textarea", "noscript"):
            self._in.append(tag)
        if tag == "script":
            self._script_attrs, self._script_body = attrs_d, []

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag == "script" and self._script_attrs is not None:
            self.scripts.append((self._script_attrs, "".join(self._script_body)))
            self._script_attrs = None

    def handle_data(self, data):
        if self._script_attrs is not None:
            self._script_body.append(data)
        elif not self._in and data.strip():
            self.text.append(" ".join(data.split()))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]

    @property
    def visible(self) -> str:
        return " ".join(self.text)


def get_page(client, url: str, status: int = 200) -> tuple[Page, object]:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True)), response


@pytest.fixture(scope="module")
def addresses(demo_city) -> dict[str, str]:
    """One real address of the demo city per cycle, that the city answers ``matched``."""
    found: dict[str, str] = {}
    with open(DEFAULT_CITY / "addresses.csv", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i % 97:
                continue
            text = f"{row['house_number']} {row['street']}"
            answer = demo_city.lookup(text)
            if answer.status == "matched" and answer.cycle_id not in found:
                found[answer.cycle_id] = text
            if len(found) == len(demo_city.config.cycles):
                break
    assert len(found) == 4, found
    return found


def _app(tmp_path, clock, **config):
    from cyclemap.server import create_app

    return create_app(
        {
            "TESTING": True,
            "CITY": str(DEFAULT_CITY),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cyclemap.sqlite'}",
            "CLOCK": clock,
            "RATELIMIT": "",
            **config,
        }
    )


# -- the resident page -----------------------------------------------------------------------
def test_index_has_form_map_and_every_cycle(client, demo_city):
    page, response = get_page(client, "/")
    forms = page.find("form", id="lookup-form")
    assert forms and forms[0]["action"] == "/lookup" and forms[0]["method"] == "get"
    assert page.find("label", **{"for": "address"})
    assert page.find("input", id="address", name="address")
    assert page.find("main", id="main") and page.find("header") and page.find("footer")
    assert page.find("div", **{"class": "folium-map"})
    text = page.visible
    for answer in demo_city.cycles():
        assert answer.cycle.name in text
        for note in answer.notes:
            assert note.title in text
        assert page.find("a", href=f"/api/v1/cycles/{answer.cycle.id}/calendar.ics")
    # notes for every cycle are shown once, not once per cycle
    assert text.count("Late fees / penalties") == 1
    assert "February bills for Cycles 1 and 2" in text


def test_pages_load_nothing_from_outside(client):
    for url in ("/", "/map", "/embed", "/embed/snippet", "/lookup?lon=-89.58&lat=37.34"):
        page, _ = get_page(client, url)
        for tag, attrs in page.tags:
            src = attrs.get("src") if tag in ("script", "img", "iframe") else None
            href = attrs.get("href") if tag == "link" else None
            if href is not None and attrs.get("rel") == "alternate":
                # a feed reader's link to our own notes feed: never loaded by the page
                assert re.fullmatch(r"/api/v1/(cycles/[^/]+/)?feed\.atom", href), (url, href)
                continue
            for ref in (src, href):
                if ref is not None and tag != "iframe":
                    assert ref.startswith("/static/"), (url, tag, ref)
        for _, body in page.scripts:
            # the only absolute URLs a map script holds are tile URLs and attribution links
            for found in re.findall(r"https?://[^\s\"'\\]+", body):
                assert "openstreetmap.org" in found, (url, found)
        html = client.get(url).get_data(as_text=True).lower()
        for word in ("cdn.", "jquery", "bootstrap", "fontawesome", "googleapis"):
            assert word not in html, (url, word)


def test_static_assets_are_served(client):
    page, _ = get_page(client, "/map")
    refs = [a["src"] for a, _ in page.scripts if a.get("src")]
    refs += [a["href"] for a in page.find("link", rel="stylesheet")]
    assert "/static/vendor/leaflet/leaflet.js" in refs
    assert "/static/vendor/leaflet/leaflet.css" in refs
    for ref in refs:
        assert client.get(ref).status_code == 200, ref
    assert client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200


def test_lookup_round_trip_without_javascript(client, addresses, demo_city):
    for cycle_id, address in addresses.items():
        page, _ = get_page(client, "/lookup?" + f"address={address.replace(' ', '+')}")
        expected = demo_city.lookup(address)
        name = expected.cycle.name
        text = page.visible
        assert f"Your billing cycle is {name}" in text
        assert page.find("h2", id="result-heading")
        answer = page.find("div", **{"data-status": "matched"})
        assert answer and answer[0]["data-lon"] and answer[0]["data-lat"]
        for note in expected.notes:
            assert note.title in text
        if cycle_id in ("1", "2"):
            assert "Cycle 1 and Cycle 2 bills were not able to be sent in February" in text
        assert page.find("a", href=f"/api/v1/cycles/{cycle_id}/calendar.ics")
        assert "Next bill" in text and "Payment due" in text
        assert page.find("input", id="address")[0]["value"] == address
        # the map is centred on the address, with a marker
        script = next(body for attrs, body in page.scripts if attrs.get("nonce"))
        assert "L.marker(" in script and "Your address" in script


def test_point_lookup_from_a_map_click(client):
    page, _ = get_page(client, "/lookup?lon=-89.58&lat=37.34")
    assert "Your billing cycle is Cycle 2" in page.visible
    assert "The place you picked on the map" in page.visible


def test_outside_service_area_says_so_with_the_phone(client):
    page, _ = get_page(client, "/lookup?lon=-89.0&lat=37.0")
    assert page.find("div", **{"data-status": "outside_service_area"})
    assert "not in any of the city's utility billing cycles" in page.visible
    assert "573-339-6300" in page.visible
    assert "Your billing cycle is" not in page.visible
    assert "Your next dates" not in page.visible


def test_not_found_offers_what_to_try(client):
    page, _ = get_page(client, "/lookup?address=99999+Zzyzx+Qwerty+Blvd")
    assert page.find("div", **{"data-status": "not_found"})
    text = page.visible
    assert "We could not find" in text and "What to try" in text
    assert "573-339-6300" in text
    assert "Your billing cycle is" not in text


def test_not_found_suggestions_are_links(client, demo_city):
    answer = demo_city.lookup("100 Kingshighway")
    assert answer.status == "not_found" and answer.candidates
    page, _ = get_page(client, "/lookup?address=100+Kingshighway")
    assert "Did you mean" in page.visible
    links = [a for a in page.find("a") if "data-lookup" in a]
    assert len(links) == min(len(answer.candidates), 10)
    for link, cand in zip(links, answer.candidates, strict=False):
        # the link also carries what was typed and the place offered: following it confirms
        # the choice (City.confirm_choice), which staff may make a correction
        assert parse_qs(urlsplit(link["href"]).query) == {
            "address": [cand.matched_address],
            "from": ["100 Kingshighway"],
            "chosen": [cand.matched_address],
        }


def test_ambiguous_street_in_the_demo_city(client, demo_city):
    answer = demo_city.lookup("Main St")
    assert answer.status == "ambiguous" and answer.cycle is None
    page, _ = get_page(client, "/lookup?address=Main+St")
    assert "Which one is your address?" in page.visible
    assert "Your billing cycle is" not in page.visible and "Your next dates" not in page.visible
    # a street without a number: the page asks for the house number, not a guess among samples
    assert "runs through more than one billing cycle" in page.visible
    first = next(a for a in page.find("a") if "data-lookup" in a)
    follow, _ = get_page(client, first["href"])
    expected = demo_city.lookup(answer.candidates[0].matched_address)
    assert f"Your billing cycle is {expected.cycle.name}" in follow.visible
    assert answer.candidates[0].matched_address in follow.visible


@pytest.fixture(scope="module")
def ambiguous_app(tmp_path_factory):
    """A fixture city with N MAIN ST (cycle 2) and S MAIN ST (cycle 1): "12 Main St" is both."""
    from .conftest import Clock, write_city

    folder = write_city(
        tmp_path_factory.mktemp("city") / "town",
        addresses=[
            (12, "N MAIN ST", "", "TESTVILLE", "00001", 0.005, 0.015),
            (12, "S MAIN ST", "", "TESTVILLE", "00001", 0.005, 0.005),
            (30, "OAK AVE", "", "TESTVILLE", "00001", 0.015, 0.015),
        ],
    )
    return _app(tmp_path_factory.mktemp("db"), Clock(), CITY=str(folder))


def test_ambiguous_lists_candidates_as_links(ambiguous_app):
    client = ambiguous_app.test_client()
    page, _ = get_page(client, "/lookup?address=12+Main+St")
    assert "runs through more than one billing cycle" not in page.visible  # a house, not a street
    city = ambiguous_app.extensions["cyclemap.city"]
    answer = city.lookup("12 Main St")
    assert answer.status == "ambiguous", answer.status
    page, _ = get_page(client, "/lookup?address=12+Main+St")
    assert page.find("div", **{"data-status": "ambiguous"})
    assert "Your billing cycle is" not in page.visible  # the cycles differ: no confident answer
    links = [a for a in page.find("a") if "data-lookup" in a]
    assert len(links) == len(answer.candidates) >= 2
    for link, cand in zip(links, answer.candidates, strict=True):
        assert cand.matched_address in page.visible
        query = parse_qs(urlsplit(link["href"]).query)
        # each link looks up exactly that candidate, and the answer is that candidate's cycle
        follow, _ = get_page(client, link["href"])
        assert f"Your billing cycle is Cycle {cand.cycle_id}" in follow.visible, query


def test_fragment_is_only_the_answer(client, addresses):
    address = addresses["3"]
    response = client.get(f"/lookup?address={address}&fragment=1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html
    page = Page(html)
    answer = page.find("div", **{"data-status": "matched"})[0]
    assert "Cycle 3" in answer["data-summary"]
    assert answer["data-lon"] and answer["data-label"]


@pytest.mark.parametrize(
    "query", ["", "?address=", "?address=+++", "?lon=abc&lat=1", "?lon=500&lat=1", "?lat=37"]
)
def test_bad_lookups_get_a_friendly_page(client, query):
    page, _ = get_page(client, "/lookup" + query, status=400)
    assert page.find("div", **{"data-status": "error"})
    assert page.find("form", id="lookup-form")
    assert "What to try" in page.visible


def test_overlong_address(client):
    page, _ = get_page(client, "/lookup?address=" + "1" * 300, status=400)
    assert "too long" in page.visible


def test_unknown_page_is_a_friendly_404(client):
    page, _ = get_page(client, "/no-such-page", status=404)
    assert "Page not found" in page.visible


# -- headers ---------------------------------------------------------------------------------
def _csp(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_refuse_framing_and_carry_a_nonce(client):
    for url in ("/", "/lookup?lon=-89.58&lat=37.34", "/map", "/embed/snippet"):
        page, response = get_page(client, url)
        csp = _csp(response)
        assert csp["frame-ancestors"] == ["'none'"], url
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert "'unsafe-inline'" not in csp["script-src"]
        inline = [attrs for attrs, body in page.scripts if not attrs.get("src") and body.strip()]
        for attrs in inline:
            assert f"'nonce-{attrs['nonce']}'" in csp["script-src"], url
        assert not any(attrs.get("on" + "click") for _, attrs in page.tags)
        assert not any("style" in attrs for _, attrs in page.tags), url


def test_embed_may_be_framed_by_the_configured_origins(tmp_path, clock):
    app = _app(tmp_path, clock, FRAME_ANCESTORS="https://www.cityofcape.example 'self'")
    response = app.test_client().get("/embed")
    assert response.status_code == 200
    assert _csp(response)["frame-ancestors"] == ["https://www.cityofcape.example", "'self'"]
    assert "X-Frame-Options" not in response.headers
    snippet = app.test_client().get("/embed/snippet")
    assert _csp(snippet)["frame-ancestors"] == ["'none'"]
    assert "https://www.cityofcape.example" in snippet.get_data(as_text=True)


def test_tiles_follow_config(client, tmp_path, clock):
    page, response = get_page(client, "/map")
    assert "https://tile.openstreetmap.org" in _csp(response)["img-src"]
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in page.scripts[-1][1]

    app = _app(tmp_path, clock, TILES="none")
    response = app.test_client().get("/map")
    html = response.get_data(as_text=True)
    assert "L.tileLayer" not in html and "openstreetmap" not in html
    assert _csp(response)["img-src"] == ["'self'", "data:"]

    custom = _app(tmp_path, clock, TILES="https://tiles.example.org/{z}/{x}/{y}.png")
    response = custom.test_client().get("/")
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in response.get_data(as_text=True)
    assert "https://tiles.example.org" in _csp(response)["img-src"]


def test_embed_page_is_compact_with_an_address_box(client):
    page, _ = get_page(client, "/embed")
    form = page.find("form", id="embed-form")[0]
    assert form["action"] == "/lookup" and form["target"] == "_blank"
    assert page.find("label", **{"for": "embed-address"})
    assert not page.find("header") and not page.find("footer")


def test_snippet_shows_the_iframe_code(client):
    page, response = get_page(client, "/embed/snippet")
    html = response.get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
    assert textarea.startswith("&lt;iframe src=&#34;http://localhost/embed&#34;")
    assert "export-map" in page.visible
    preview = page.find("iframe")[0]
    assert preview["src"] == "http://localhost/embed" and preview["title"]


# -- languages -------------------------------------------------------------------------------
def test_language_selection_falls_back_to_english(client):
    assert "Accept-Language" in client.get("/").headers["Vary"]
    html = client.get("/?lang=zz").get_data(as_text=True)
    assert '<html lang="en">' in html
    html = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en">' in html


@pytest.mark.parametrize("path", ["/map?", "/embed?", "/lookup?address=117+S+Sprigg+St&"])
def test_a_lang_value_of_its_own_makes_no_map_of_its_own(app, path):
    # ``?lang=es_<anything>`` is Spanish, and the rendered maps are kept per language: kept
    # per value as well, each made-up one held another ~90 kB rendering until the zones change
    from cyclemap.server.maps import _CACHE

    client = app.test_client()
    assert '<html lang="es">' in client.get(path + "lang=es").get_data(as_text=True)
    kept = len(app.extensions[_CACHE]["parts"])
    for made_up in ("es_1", "es-zz", "ES", "es_" + "x" * 500):
        html = client.get(path + "lang=" + made_up).get_data(as_text=True)
        assert '<html lang="es">' in html and "lang=es_" not in html
    assert len(app.extensions[_CACHE]["parts"]) == kept


def test_message_catalogue_is_extracted():
    pot = (ROOT / "cyclemap" / "translations" / "messages.pot").read_text(encoding="utf-8")
    assert (ROOT / "cyclemap" / "translations" / "babel.cfg").is_file()
    for text in (
        "Find your utility billing cycle",
        "Use my location",
        "Your billing cycle is %(name)s",
        "We could not find that address",
        "Put the billing cycle map on your website",
    ):
        assert f'msgid "{text}"' in pot, text


@pytest.fixture(scope="module")
def pseudo_app(tmp_path_factory):
    """An app whose Spanish catalogue is a pseudo-translation of messages.pot: ⟦text⟧."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from .conftest import Clock

    with open(ROOT / "cyclemap" / "translations" / "messages.pot", "rb") as f:
        catalog = read_po(f, locale="es")
    for message in catalog:
        if message.id:
            message.string = f"⟦{message.id}⟧"
    folder = tmp_path_factory.mktemp("translations")
    (folder / "es" / "LC_MESSAGES").mkdir(parents=True)
    with open(folder / "es" / "LC_MESSAGES" / "messages.mo", "wb") as f:
        write_mo(f, catalog)
    return _app(tmp_path_factory.mktemp("db"), Clock(), BABEL_TRANSLATION_DIRECTORIES=str(folder))


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/lookup?lon=-89.58&lat=37.34",
        "/lookup?lon=-89.0&lat=37.0",
        "/lookup?address=99999+Zzyzx+Qwerty+Blvd",
        "/lookup",
        "/map",
        "/embed",
        "/embed/snippet",
    ],
)
def test_every_resident_string_goes_through_babel(pseudo_app, demo_city, url):
    """With a pseudo-translation, every visible text is translated or is the city's own data."""
    client = pseudo_app.test_client()
    response = client.get(url, headers={"Accept-Language": "es"})
    page = Page(response.get_data(as_text=True))
    assert '<html lang="es">' in response.get_data(as_text=True)
    data = {demo_city.config.name, "573-339-6300", "cyclemap export-map billing-cycles-map.html"}
    data.update(str(e.get("text", "")) for e in demo_city.config.exceptions)
    data.update(("English", "Español"))  # the language links: each language's own name
    for answer in demo_city.cycles():
        data.add(answer.cycle.name)
        data.update(answer.cycle.translations().values())  # the city's name_es
        for note in answer.notes:  # the city's words, in English and in Spanish
            for text in (note.text_in("en"), note.text_in("es")):
                data.add(text.title)
                parts = re.split(r"<[^>]+>", text.html)
                data.update(" ".join(t.split()) for t in parts if t.strip())
    untranslated = []
    for text in page.text:
        if "⟦" in text or text in data or re.fullmatch(r"[\W\d]+", text):
            continue
        if re.search(r"\b20\d\d\b", text):  # a date, formatted by Babel for the locale
            continue
        if text.startswith(("http://", "'")):  # the embed URL, the FRAME_ANCESTORS value
            continue
        untranslated.append(text)
    assert not untranslated, (
        f"not translated: {untranslated}. Wrap them in _() and re-extract messages.pot "
        "(the command is in cyclemap/translations/babel.cfg)"
    )
    # attributes a screen reader reads are translated too
    for tag, attrs in page.tags:
        for name in ("aria-label", "title", "placeholder"):
            value = attrs.get(name)
            if value and tag != "iframe":
                assert "⟦" in value, (tag, name, value)
    for _, body in page.scripts:
        if '"text": {' in body:
            assert (
                '"locate": "\\u27e6Use my location\\u27e7"' in body or "⟦Use my location⟧" in body
            )


def test_a_nul_in_the_address_is_a_friendly_400_and_not_echoed(client):
    response = client.get("/lookup?address=12%00Main")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "cannot be part of an address" in page
    assert "\x00" not in page


def test_a_long_street_offers_a_choice_in_every_cycle_it_crosses(client, demo_city):
    answer = demo_city.lookup("kingshighway")
    crossed = {c.cycle_id for c in answer.candidates}
    assert len(crossed) > 1
    html = client.get("/lookup?address=kingshighway").get_data(as_text=True)
    choices = html[html.index('<ul class="choices">') :]
    choices = choices[: choices.index("</ul>")]
    shown = set(re.findall(r'class="choice__cycle">(Cycle \d)<', choices))
    assert shown == {f"Cycle {c}" for c in crossed}


# -- issue 20: the snippet never copies the Host header ---------------------------------------
def _snippet(client, **kwargs) -> tuple[str, str]:
    response = client.get("/embed/snippet", **kwargs)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    code = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
    return code, html


def test_snippet_ignores_a_forged_host_header(client):
    code, html = _snippet(client, headers={"Host": "evil.example"})
    assert "evil.example" not in html
    assert "&lt;iframe src=&#34;/embed&#34;" in code  # relative, and the page says what to set
    assert "CYCLEMAP_PUBLIC_URL" in html


def test_snippet_uses_the_configured_public_url(tmp_path, clock):
    app = _app(tmp_path, clock, PUBLIC_URL="https://cycles.example.gov/billing/")
    code, html = _snippet(app.test_client(), headers={"Host": "evil.example"})
    assert code.startswith("&lt;iframe src=&#34;https://cycles.example.gov/billing/embed&#34;")
    assert "https://cycles.example.gov/billing/map" in html
    assert "evil.example" not in html


def test_snippet_trusts_the_host_only_when_flask_checks_it(tmp_path, clock):
    app = _app(tmp_path, clock, TRUSTED_HOSTS=["cycles.example.gov"])
    client = app.test_client()
    code, _ = _snippet(client, headers={"Host": "cycles.example.gov"})
    assert code.startswith("&lt;iframe src=&#34;http://cycles.example.gov/embed&#34;")
    assert client.get("/embed/snippet", headers={"Host": "evil.example"}).status_code == 400


def test_a_public_url_that_is_not_a_url_is_refused(tmp_path, clock):
    from cyclemap.errors import ConfigError

    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        _app(tmp_path, clock, PUBLIC_URL="cycles.example.gov")


def test_readme_says_who_serves_the_tiles_and_how_to_avoid_them():
    """The default tiles are a third party's; the README says so and documents the choices."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Map tiles and residents' privacy")
    section = readme[start : readme.index("\n## ", start)]
    assert "third party" in section and "tile.openstreetmap.org" in section
    assert "zoom 16" in section
    for choice in ("`openstreetmap` (default)", "`/tiles/{z}/{x}/{y}.png`", "`none`"):
        assert choice in section, choice
    assert "CYCLEMAP_PUBLIC_URL" in readme and "TRUSTED_HOSTS" in readme


# -- issue 20: the resident page -----------------------------------------------------------------
def test_answer_comes_first_then_the_map_then_dates_and_notes(client, addresses):
    """In reading order (a phone's one column): what was found, the map, then the details."""
    html = client.get(f"/lookup?address={addresses['1'].replace(' ', '+')}").get_data(as_text=True)
    heading = html.index('id="result-heading"')
    map_at = html.index('class="folium-map"')
    dates = html.index('id="result-dates"')
    notes = html.index('id="result-notes"')
    assert heading < map_at < dates < notes < html.index('id="cycles"')
    # the fragment the page's script fetches carries both parts, each where it belongs
    fragment = client.get(f"/lookup?address={addresses['1']}&fragment=1").get_data(as_text=True)
    page = Page(fragment)
    assert page.find("div", **{"data-status": "matched"})
    assert any("data-details" in attrs for _, attrs in page.tags)
    assert fragment.index("data-status") < fragment.index("data-details")
    assert fragment.index("data-details") < fragment.index('id="result-dates"')


def test_the_page_shows_the_disconnect_date(client, demo_city, addresses):
    answer = demo_city.lookup(addresses["1"])
    disconnect = answer.schedule.next_disconnect_date
    assert disconnect is not None
    page, response = get_page(client, f"/lookup?address={addresses['1'].replace(' ', '+')}")
    html = response.get_data(as_text=True)
    details = html[html.index('id="result-dates"') : html.index('id="cycles"')]
    assert "Possible disconnection" in details
    assert f'<time datetime="{disconnect.isoformat()}">' in details
    # and on every cycle's card in the list of all cycles, for its current and its next bill
    cards = html[html.index('id="cycles"') :]
    bills = [
        bill
        for c in demo_city.cycles()
        for bill in (c.schedule.current_bill, c.schedule.next_bill)
        if bill is not None and bill.disconnect is not None
    ]
    assert len(bills) >= len(demo_city.config.cycles)
    assert cards.count("Possible disconnection") == len(bills)


def test_use_my_location_answers_with_the_nearest_address(client, demo_city):
    lon, lat = -89.53181, 37.30528  # a few metres from an address point, on the street
    near = demo_city.geocoder.nearest(lon, lat)
    assert near is not None
    expected = demo_city.lookup(near.matched_address)
    page, _ = get_page(client, f"/lookup?lon={lon}&lat={lat}&source=device")
    text = page.visible
    assert f"{near.matched_address} is in {expected.cycle.name}." in text
    assert "address nearest your location" in text
    assert "The place you picked on the map" not in text
    answer = page.find("div", **{"data-status": "matched"})[0]
    assert abs(float(answer["data-lon"]) - near.lon) < 1e-6
    # a click on the map is still that very spot
    clicked, _ = get_page(client, f"/lookup?lon={lon}&lat={lat}")
    assert "The place you picked on the map" in clicked.visible


def test_a_device_far_from_the_city_keeps_the_map_on_the_city(client):
    page, _ = get_page(client, "/lookup?lon=-100.0&lat=40.0&source=device")
    assert page.find("div", **{"data-status": "outside_service_area"})
    assert "Your location (40.00000, -100.00000)" in page.visible
    script = next(body for attrs, body in page.scripts if attrs.get("nonce"))
    fit = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", script, re.S).group(1)
    assert "-100" not in fit and "40.0" not in fit, fit  # the city, not the continent
    near, _ = get_page(client, "/lookup?lon=-89.45&lat=37.31")  # just east of the city
    script = next(body for attrs, body in near.scripts if attrs.get("nonce"))
    fit = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", script, re.S).group(1)
    assert "-89.45" in fit, fit  # near the city: the point is shown with it


def test_the_embed_box_offers_suggestions(client):
    page, _ = get_page(client, "/embed")
    form = page.find("form", id="embed-form")[0]
    assert form["data-suggest-url"] == "/api/v1/suggest"
    assert form["data-text-suggestions-label"]
    srcs = [a.get("src") for a, _ in page.scripts]
    assert srcs.index("/static/cyclemap-combobox.js") < srcs.index("/static/cyclemap-embed.js")
