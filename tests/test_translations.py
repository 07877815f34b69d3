"""The resident pages in Spanish: the catalogue is complete and shipped compiled, every resident
page in Spanish keeps no English UI string, the language follows ``?lang=`` (remembered in a
cookie), then ``Accept-Language``; notes in Spanish, or in English marked "(en inglés)"; the
calendar in Spanish; the JSON API the same in every language; staff pages stay English.

The real catalogue is used (``cyclemap/translations/es``); ``test_pages.py`` holds every visible
string to Flask-Babel with a pseudo-translation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from .conftest import DEMO_TODAY, write_city

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "cyclemap" / "translations"
SPANISH_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
SPANISH_MO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo"
#: what `make translations` asks pybabel for (Babel's default keywords include N_)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}

MONTHS_EN = "January|February|March|April|May|June|July|August|September|October|November|December"
MONTHS_ES = (
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)

pytestmark = pytest.mark.xdist_group("translations")


# -- the catalogue ----------------------------------------------------------------------------
def extracted() -> dict[str, set[str]]:
    """Every message the code and templates mark, as ``pybabel extract`` with babel.cfg finds
    them, with the flags a translator needs (``python-format``)."""
    with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, set[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        found.setdefault(ids[0], set()).add(filename)
    return found


@pytest.fixture(scope="module")
def messages() -> dict[str, set[str]]:
    return extracted()


@pytest.fixture(scope="module")
def spanish():
    with open(SPANISH_PO, "rb") as f:
        return read_po(f, locale="es")


def test_babel_cfg_finds_the_resident_strings_and_not_the_staff_ones(messages):
    assert "Find your utility billing cycle" in messages  # a template
    assert "Your billing cycle is %(name)s" in messages  # server/public.py
    assert "Use my location" in messages  # maps.py, marked with N_
    assert "%(cycle)s: payment due" in messages  # billing/schedule.py, marked with N_
    # the staff workspace is English and marks nothing
    files = {f for where in messages.values() for f in where}
    assert not [f for f in files if "staff" in Path(f).parts], files


def test_the_template_is_up_to_date(messages):
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        pot = {m.id for m in read_po(f) if m.id}
    assert pot == set(messages), (
        f"messages.pot is stale: new {sorted(set(messages) - pot)}, gone "
        f"{sorted(pot - set(messages))}. Run `make translations`."
    )


def test_every_resident_string_has_a_spanish_translation(messages, spanish):
    """The test that fails on any resident string left untranslated (or fuzzy, or with its
    placeholders changed)."""
    missing = []
    for msgid in sorted(messages):
        entry = spanish.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
    assert not missing, (
        f"no Spanish for {missing}: run `make translations`, translate them in {SPANISH_PO.name} "
        "(remove any fuzzy flag) and run it again"
    )
    problems = [(m.id, [str(e) for e in errors]) for m, errors in spanish.check()]
    assert not problems, problems
    for entry in spanish:  # {name} placeholders (python-brace-format: Babel does not check)
        if entry.id and "python-brace-format" in entry.flags:
            assert set(re.findall(r"\{\w+\}", entry.id)) == set(
                re.findall(r"\{\w+\}", entry.string)
            ), entry.id


def test_the_shipped_catalogue_is_compiled_from_the_po(spanish):
    with open(SPANISH_MO, "rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    translated = {m.id: m.string for m in spanish if m.id and m.string and not m.fuzzy}
    assert compiled == translated, "messages.mo is stale: run `make translations`"


def test_the_spanish_is_spanish(spanish):
    """A translation copied from the English (or left half-done) is no translation."""
    same = [
        m.id
        for m in spanish
        if m.id and m.string == m.id and re.sub(r"%\(\w+\)[sd]|[\W\d]", "", m.id)
    ]
    assert same == [], same
    assert spanish.get("Your billing cycle is %(name)s").string == (
        "Su ciclo de facturación es %(name)s"
    )
    assert spanish.get("Payment due").string == "Fecha de vencimiento"
    assert spanish.get("(in English)").string == "(en inglés)"


# -- pages in Spanish --------------------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
#: attributes a person sees or a screen reader reads
READ_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "data-summary", "data-label")


class LangPage(HTMLParser):
    """Visible text and read attributes of a page, each with the language it is marked in."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang = ""
        self.text: list[tuple[str, str]] = []  # (lang, text)
        self.attributes: list[tuple[str, str, str]] = []  # (lang, name, value)
        self.scripts: list[str] = []
        self._stack: list[tuple[str, str]] = []
        self._raw: str | None = None
        self.feed(html)

    @property
    def lang(self) -> str:
        return self._stack[-1][1] if self._stack else self.html_lang

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang") or ""
        lang = a.get("lang") or self.lang
        for name, value in a.items():
            if value and (name in READ_ATTRIBUTES or name.startswith("data-text-")):
                self.attributes.append((lang, name, value))
        if tag in ("script", "style", "textarea"):
            self._raw = ""
        if tag not in VOID:
            self._stack.append((tag, lang))

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea") and self._raw is not None:
            if tag == "script":
                self.scripts.append(self._raw)
            self._raw = None
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if self._raw is not None:
            self._raw += data
        elif data.strip():
            self.text.append((self.lang, " ".join(data.split())))

    def unmarked(self, page_lang: str) -> list[str]:
        """The words of the page's own language: text and read attributes not marked as
        another language (such as the city's own English words, ``lang="en"``)."""
        mine = page_lang.split("-")[0]
        words = [t for lang, t in self.text if lang.split("-")[0] == mine]
        words += [v for lang, _n, v in self.attributes if lang.split("-")[0] == mine]
        return words


def english_patterns(spanish) -> list[tuple[str, re.Pattern]]:
    """A pattern for each English UI string (placeholders match anything): every message with
    words besides its placeholders."""
    out = []
    for m in spanish:
        if not m.id or not re.sub(r"%\(\w+\)(?:\.\d+)?[sdf]|\{\w+\}|[\W\d]", "", m.id):
            continue
        parts = re.split(r"%\(\w+\)(?:\.\d+)?[sdf]|\{\w+\}", m.id)
        pattern = ".+?".join(re.escape(p) for p in parts)
        # whole words only: "Map" is English, "Mapa" is not
        out.append((m.id, re.compile(rf"(?<!\w){pattern}(?!\w)")))
    return out


@pytest.fixture(scope="module")
def english(spanish):
    return english_patterns(spanish)


def assert_no_english(page: LangPage, english, where: str) -> None:
    words = page.unmarked("es")
    for body in page.scripts:  # the map's words, handed to the script
        at = body.find('"text": {')
        if at >= 0:
            text, _end = json.JSONDecoder().raw_decode(body, at + len('"text": '))
            words += list(text.values())
    left = sorted({msgid for msgid, pattern in english for w in words if pattern.search(w)})
    assert not left, f"{where}: English left on the Spanish page: {left}"
    months = [w for w in words if re.search(rf"\b({MONTHS_EN})\b", w)]
    assert not months, f"{where}: an English date on the Spanish page: {months}"


@pytest.fixture(scope="module")
def matched_address(app) -> str:
    city = app.extensions["cyclemap.city"]
    for text in ("111 Academy Ln", "1234 N Kingshighway"):
        if city.lookup(text).status == "matched":
            return text
    raise AssertionError("no matched demo address")


SPANISH_PAGES = [
    "/",
    "/lookup?address={matched}",
    "/lookup?address=Main+St",  # ambiguous: a street through several cycles
    "/lookup?address=99999+Zzyzx+Qwerty+Blvd",  # not found, with suggestions maybe
    "/lookup?lon=-89.58&lat=37.34",  # a point picked on the map
    "/lookup?lon=-89.0&lat=37.0",  # outside every cycle
    "/lookup",  # nothing asked: a friendly 400
    "/lookup?address={matched}&fragment=1",  # the part the page's script puts in place
    "/map",
    "/embed",
    "/embed/snippet",
    "/no/such/page",  # 404
]


@pytest.mark.parametrize("url", SPANISH_PAGES)
@pytest.mark.parametrize("how", ["accept-language", "lang"])
def test_spanish_pages_keep_no_english_ui_string(client, english, matched_address, url, how):
    url = url.format(matched=matched_address.replace(" ", "+"))
    if how == "lang":
        response = client.get(url + ("&" if "?" in url else "?") + "lang=es")
    else:
        response = client.get(url, headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    html = response.get_data(as_text=True)
    page = LangPage(html)
    if "fragment=1" not in url:
        assert page.html_lang == "es", url
    assert_no_english(page, english, url)
    # every resident page (but the fragment) has the language switch, to the same page
    if "fragment=1" not in url:
        (switch,) = re.findall(r'<a class="language-switch__link" href="([^"]+)"[^>]*>', html)
        target = urlsplit(switch.replace("&amp;", "&"))
        query = parse_qs(target.query)
        assert query["lang"] == ["en"]
        if response.status_code != 404:
            assert target.path == urlsplit(url).path
            asked = {k: v for k, v in parse_qs(urlsplit(url).query).items() if k != "fragment"}
            assert {k: v for k, v in query.items() if k != "lang"} == asked
        assert re.search(r'<a class="language-switch__link"[^>]* lang="en"[^>]*>English<', html)


def test_a_spanish_answer_in_spanish_words_and_dates(client, matched_address):
    html = client.get(f"/lookup?lang=es&address={matched_address}").get_data(as_text=True)
    page = LangPage(html)
    visible = " ".join(page.unmarked("es"))
    assert "Su ciclo de facturación es Ciclo" in visible  # the demo city's name_es
    assert "Fecha de vencimiento" in visible and "Posible corte de servicio" in visible
    # Babel's Spanish dates: "miércoles, 4 de marzo de 2020"
    assert re.search(rf"\w+, \d{{1,2}} de ({MONTHS_ES}) de 2020", visible), visible
    assert "Agregar las fechas de Ciclo" in visible
    calendar = re.search(r'href="(/api/v1/cycles/[^"]+/calendar\.ics[^"]*)"', html).group(1)
    assert calendar.endswith("?lang=es")  # a subscription keeps the page's language


# -- choosing the language --------------------------------------------------------------------
def test_lang_sets_a_cookie_that_is_remembered(app):
    client = app.test_client()
    first = client.get("/?lang=es")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("cyclemap_lang=es;") and "Max-Age=31536000" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    # the next page, with no ?lang= and an English browser: still Spanish
    again = client.get("/map", headers={"Accept-Language": "en-US"})
    assert '<html lang="es">' in again.get_data(as_text=True)
    assert "Set-Cookie" not in again.headers  # nothing new to remember
    assert {"Accept-Language", "Cookie"} <= set(again.vary)
    # switching back is remembered too
    client.get("/?lang=en")
    later = client.get("/", headers={"Accept-Language": "es"})
    assert '<html lang="en">' in later.get_data(as_text=True)


def test_accept_language_without_a_choice(client):
    es = client.get("/", headers={"Accept-Language": "es-US,es;q=0.9"})
    assert '<html lang="es">' in es.get_data(as_text=True)
    assert "Set-Cookie" not in es.headers  # only a choice made on the page is remembered
    en = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    assert '<html lang="en">' in en.get_data(as_text=True)
    # an unknown ?lang= is ignored: the browser's language
    zz = client.get("/?lang=zz", headers={"Accept-Language": "es"})
    assert '<html lang="es">' in zz.get_data(as_text=True) and "Set-Cookie" not in zz.headers


def test_an_english_page_links_to_spanish(client):
    html = client.get("/lookup?address=Main+St").get_data(as_text=True)
    link = re.search(r'<a class="language-switch__link" href="([^"]+)"[^>]*>([^<]+)<', html)
    assert link.group(2) == "Español"
    assert parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query) == {
        "address": ["Main St"],
        "lang": ["es"],
    }
    assert 'lang="es" hreflang="es"' in html


def test_links_keep_a_language_chosen_with_lang(client, matched_address):
    html = client.get("/?lang=es").get_data(as_text=True)
    assert 'href="/map?lang=es"' in html
    assert '<input type="hidden" name="lang" value="es">' in html  # the form keeps it


def test_a_staff_error_page_is_english_without_a_language_switch(fresh_app):
    from .staff import add_accounts, sign_in

    add_accounts(fresh_app)
    client = fresh_app.test_client()
    assert sign_in(client, "eve").status_code == 302
    response = client.get("/staff/notes/99999", headers={"Accept-Language": "es"})
    assert response.status_code == 404
    assert '<html lang="en">' in response.text and "Page not found" in response.text
    assert 'class="language-switch' not in response.text


def test_staff_pages_stay_english(app):
    client = app.test_client()
    client.get("/?lang=es")  # the resident's cookie says Spanish
    login = client.get("/staff/login", headers={"Accept-Language": "es"})
    html = login.get_data(as_text=True)
    assert '<html lang="en">' in html and "Username" in html
    assert "Set-Cookie" not in login.headers or "cyclemap_lang" not in login.headers["Set-Cookie"]
    assert 'class="language-switch' not in html


# -- notes ------------------------------------------------------------------------------------
NOTES = """\
[[notes]]
title = "Disconnects"
body = "No services will be **disconnected** on 2/26/20."
title_es = "Cortes de servicio"
body_es = "No se cortará **ningún** servicio el 26 de febrero de 2020."
cycles = "all"
posted = 2020-02-20

[[notes]]
title = "Water main work"
body = "Bills for Cycle 1 may come late."
cycles = ["1"]
posted = 2020-02-20
"""


@pytest.fixture(scope="module")
def notes_app(tmp_path_factory):
    from cyclemap.server import create_app

    from .conftest import Clock

    folder = write_city(
        tmp_path_factory.mktemp("city") / "town",
        addresses=[(12, "MAIN ST", "", "TESTVILLE", "00001", 0.005, 0.005)],
        notes_toml=NOTES,
    )
    return create_app(
        {
            "TESTING": True,
            "CITY": str(folder),
            "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'c.sqlite'}",
            "CLOCK": Clock(DEMO_TODAY),
            "RATELIMIT": "",
        }
    )


def note_articles(html: str) -> list[str]:
    return re.findall(r'<article class="note">.*?</article>', html, flags=re.S)


def test_a_spanish_page_shows_the_spanish_note(notes_app):
    html = notes_app.test_client().get("/lookup?address=12+Main+St&lang=es").text
    # in the answer's notes, then in the list of every cycle's
    spanish, *_ = [a for a in note_articles(html) if "Cortes de servicio" in a]
    assert '<h3 class="note__title">Cortes de servicio</h3>' in spanish
    assert "No se cortará <strong>ningún</strong> servicio" in spanish
    assert "Disconnects" not in "".join(note_articles(html)) and "(en inglés)" not in spanish
    assert re.search(rf"Actualizado el 20 de ({MONTHS_ES}) de 2020", spanish)


def test_a_note_without_spanish_is_the_english_note_marked(notes_app):
    html = notes_app.test_client().get("/lookup?address=12+Main+St&lang=es").text
    english, *_ = [a for a in note_articles(html) if "Water main work" in a]
    assert (
        '<span lang="en">Water main work</span> <span class="lang-marker">(en inglés)</span>'
        in english
    )
    assert '<div class="note__body" lang="en"><p>Bills for Cycle 1 may come late.</p>' in english
    # the page's own words around it stay Spanish (not marked)
    assert "Actualizado el" in english
    page = LangPage(html)
    assert ("en", "Water main work") in page.text and ("es", "(en inglés)") in page.text


def test_an_english_page_shows_the_english_notes_unmarked(notes_app):
    html = notes_app.test_client().get("/lookup?address=12+Main+St").text
    titles = re.findall(r'<h3 class="note__title">([^<]+)</h3>', html)
    assert "Disconnects" in titles and "Water main work" in titles
    notes = "".join(note_articles(html))
    assert "Cortes de servicio" not in notes and "inglés" not in notes and "lang=" not in notes


def test_the_api_is_the_same_in_every_language(notes_app):
    client = notes_app.test_client()
    for url in (
        "/api/v1/lookup?address=12+Main+St",
        "/api/v1/cycles",
        "/api/v1/cycles/1",
        "/api/v1/suggest?q=12+ma",
        "/api/v1/boundaries.geojson",
        "/api/v1/openapi.json",
        "/healthz",
    ):
        plain = client.get(url)
        spanish = client.get(url + "&lang=es" if "?" in url else url + "?lang=es")
        asked = client.get(url, headers={"Accept-Language": "es"})
        assert plain.status_code == spanish.status_code == asked.status_code == 200, url
        assert plain.data == spanish.data == asked.data, url
        assert plain.headers.get("ETag") == asked.headers.get("ETag"), url
        assert "Set-Cookie" not in spanish.headers, url
    notes = client.get("/api/v1/cycles/1").json["notes"]
    by_title = {n["title"]: n for n in notes}
    assert by_title["Disconnects"]["translations"] == {
        "es": {
            "title": "Cortes de servicio",
            "html": "<p>No se cortará <strong>ningún</strong> servicio el 26 de febrero de "
            "2020.</p>\n",
        }
    }
    assert by_title["Water main work"]["translations"] == {}
    # problems too: an error in Spanish is still the same problem+json
    bad = client.get("/api/v1/lookup", headers={"Accept-Language": "es"})
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert bad.json["detail"] == client.get("/api/v1/lookup").json["detail"]


# -- cycle names ------------------------------------------------------------------------------
def name_cycles(folder: Path, extra: dict[str, str]) -> Path:
    """``write_city``'s city.toml with lines added or changed in cycle tables (``{"1": 'name =
    "North Route"'}``): the line replaces the default name when it sets ``name``."""
    path = folder / "city.toml"
    text = path.read_text()
    for cid, line in extra.items():
        default = f'name = "Cycle {cid}"\n'
        replacement = f"{line}\n" if line.startswith("name ") else f"{default}{line}\n"
        text = text.replace(f"[cycles.{cid}]\n{default}", f"[cycles.{cid}]\n{replacement}", 1)
    path.write_text(text)
    return folder


@pytest.fixture(scope="module")
def names_app(tmp_path_factory):
    from cyclemap.server import create_app

    from .conftest import Clock

    folder = write_city(
        tmp_path_factory.mktemp("city") / "town",
        addresses=[(12, "MAIN ST", "", "TESTVILLE", "00001", 0.005, 0.005)],
    )
    # cycle 1: a name of the city's own, in English only; cycle 2: the default "Cycle 2";
    # cycle 3: a name with its Spanish name
    name_cycles(
        folder,
        {"1": 'name = "North Route"', "3": 'name = "East Side"\nname_es = "Lado Este"'},
    )
    return create_app(
        {
            "TESTING": True,
            "CITY": str(folder),
            "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'c.sqlite'}",
            "CLOCK": Clock(DEMO_TODAY),
            "RATELIMIT": "",
        }
    )


def map_legend(html: str) -> dict[str, tuple[str, str]]:
    """The legend ``maps.build_map`` hands the map's script: each cycle's name and its language."""
    for body in LangPage(html).scripts:
        at = body.find('"legend": [')
        if at >= 0:
            legend = json.JSONDecoder().raw_decode(body, at + len('"legend": '))[0]
            return {c["id"]: (c["name"], c["lang"]) for c in legend}
    raise AssertionError("no map legend on the page")


def test_the_demo_city_in_spanish_names_its_cycles_in_spanish(client, matched_address):
    home = client.get("/?lang=es").text
    page = LangPage(home)
    words = page.unmarked("es")
    assert "Ciclo 2" in words  # a cycle card's heading
    assert not [w for w in words if re.search(r"\bCycle \d", w)], words
    assert "Agregar las fechas de Ciclo 2 a mi calendario" in words
    legend = map_legend(home)
    assert legend["2"] == ("Ciclo 2", "es")
    html = client.get(f"/lookup?lang=es&address={matched_address}").text
    heading = re.search(r'<h2 id="result-heading"[^>]*>(.*?)</h2>', html, flags=re.S).group(1)
    assert re.fullmatch(r"Su ciclo de facturación es Ciclo \d", re.sub(r"<[^>]+>", "", heading))
    assert 'lang="en"' not in heading
    assert not [w for w in LangPage(html).unmarked("es") if re.search(r"\bCycle \d", w)]
    # the English page keeps the city's English names
    english = client.get("/?lang=en").text
    assert "<span>Cycle 2</span>" in english and "Ciclo" not in english


def test_a_cycle_named_only_in_english_is_shown_as_written_marked(names_app):
    client = names_app.test_client()
    html = client.get("/lookup?address=12+Main+St&lang=es").text
    assert '<span lang="en">North Route</span></span>' in html  # the heading's name, marked
    assert "Su ciclo de facturación es" in html
    page = LangPage(html)
    assert ("en", "North Route") in page.text
    # in the page's text it is always marked; only the <title> and attributes (which cannot
    # mark part of their words) carry it unmarked, inside Spanish words
    title, *body = [(lang, t) for lang, t in page.text if "North Route" in t]
    assert title == ("es", "North Route: 12 MAIN ST · Testville")
    assert len(body) > 3 and set(body) == {("en", "North Route")}
    cards = re.findall(r'<h3 class="cycle-card__title">(.*?)</h3>', html, flags=re.S)
    names = [re.sub(r"<svg.*?</svg>", "", c) for c in cards]
    assert names == [
        '<span class="cycle-name"><span lang="en">North Route</span></span>',
        '<span class="cycle-name"><span>Ciclo 2</span></span>',  # "Cycle 2": the catalogue's
        '<span class="cycle-name"><span>Lado Este</span></span>',  # its name_es
        '<span class="cycle-name"><span>Ciclo 4</span></span>',
    ]
    legend = map_legend(html)
    assert legend == {
        "1": ("North Route", "en"),
        "2": ("Ciclo 2", "es"),
        "3": ("Lado Este", "es"),
        "4": ("Ciclo 4", "es"),
    }
    # in English: the names as written, unmarked
    plain = names_app.test_client().get("/lookup?address=12+Main+St").text  # no cookie
    assert "Lado Este" not in plain and "Ciclo" not in plain and '<span lang="en">' not in plain
    assert "<span>East Side</span>" in plain


def test_a_cycle_name_in_the_api_and_the_calendar(names_app):
    client = names_app.test_client()
    cycles = {c["id"]: c for c in client.get("/api/v1/cycles").json["cycles"]}
    assert cycles["3"]["name"] == "East Side"
    assert cycles["3"]["translations"] == {"es": {"name": "Lado Este"}}
    assert cycles["1"]["translations"] == cycles["2"]["translations"] == {}
    for url in ("/api/v1/cycles", "/api/v1/cycles/3", "/api/v1/lookup?address=12+Main+St"):
        sep = "&" if "?" in url else "?"
        assert client.get(url).data == client.get(f"{url}{sep}lang=es").data, url
    spanish = calendar_texts(client.get("/api/v1/cycles/3/calendar.ics?lang=es").data)
    assert spanish[0] == "Testville: fechas de facturación de Lado Este"
    assert all(s.startswith("Lado Este: ") for s in spanish[1])
    assert calendar_texts(client.get("/api/v1/cycles/2/calendar.ics?lang=es").data)[0] == (
        "Testville: fechas de facturación de Ciclo 2"
    )
    # a name of the city's own, without name_es, as written
    north = calendar_texts(client.get("/api/v1/cycles/1/calendar.ics?lang=es").data)
    assert north[0] == "Testville: fechas de facturación de North Route"
    english = calendar_texts(client.get("/api/v1/cycles/3/calendar.ics").data)
    assert english[0] == "Testville: East Side billing dates"


@pytest.mark.parametrize("value", ["5", "true", '["Ciclo 2"]'])
def test_a_name_es_that_is_not_text_is_a_config_error(tmp_path, value):
    from cyclemap.config import load_city_config
    from cyclemap.errors import ConfigError

    folder = name_cycles(write_city(tmp_path / "town"), {"2": f"name_es = {value}"})
    with pytest.raises(ConfigError) as caught:
        load_city_config(folder)
    assert caught.value.problems == [
        f"[cycles.2] name_es must be text in quotes, not {value_repr(value)}"
    ]


def value_repr(toml_value: str) -> str:
    import tomllib

    return repr(tomllib.loads(f"v = {toml_value}")["v"])


# -- the calendar -----------------------------------------------------------------------------
def calendar_texts(body: bytes) -> tuple[str, list[str], list[str]]:
    import icalendar

    cal = icalendar.Calendar.from_ical(body)
    events = cal.walk("VEVENT")
    return (
        str(cal["x-wr-calname"]),
        [str(e["summary"]) for e in events],
        [str(e["description"]) for e in events],
    )


@pytest.mark.parametrize(
    "ask",
    [{"query_string": {"lang": "es"}}, {"headers": {"Accept-Language": "es-419,es;q=0.9"}}],
    ids=["lang", "accept-language"],
)
def test_the_calendar_in_spanish(client, ask):
    response = client.get("/api/v1/cycles/3/calendar.ics", **ask)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    name, summaries, descriptions = calendar_texts(response.data)
    assert name == "Cape Girardeau, Missouri: fechas de facturación de Ciclo 3"
    assert "Ciclo 3: fecha de vencimiento del pago" in summaries
    assert "Ciclo 3: posible corte de servicio por facturas no pagadas" in summaries
    assert all(s.startswith("Ciclo 3: ") for s in summaries)
    assert any(
        re.match(rf"Factura de Ciclo 3 del \d+ de ({MONTHS_ES}) de 20\d\d\.", d)
        for d in descriptions
    ), descriptions
    assert b"SUMMARY;LANGUAGE=es:" in response.data
    english = calendar_texts(client.get("/api/v1/cycles/3/calendar.ics").data)
    assert "Cycle 3: payment due" in english[1]
    assert english[0] == "Cape Girardeau, Missouri: Cycle 3 billing dates"
    assert b"LANGUAGE=" not in client.get("/api/v1/cycles/3/calendar.ics").data


def test_a_calendar_without_dates_says_so_in_spanish(tmp_path):
    from cyclemap.billing import CalendarWords, calendar_ics
    from cyclemap.config import load_city_config

    folder = write_city(tmp_path / "town")
    config = load_city_config(folder)
    with open(SPANISH_MO, "rb") as f:
        catalogue = {m.id: m.string for m in read_mo(f) if m.id}
    body = calendar_ics(
        config.cycles["1"],
        None,
        city_name="Testville",
        timezone="America/Chicago",
        start=dt.date(2020, 2, 1),
        now=dt.datetime(2020, 2, 21, tzinfo=dt.UTC),
        words=CalendarWords(gettext=lambda m: catalogue.get(m, m), language="es"),
    )
    import icalendar

    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["x-wr-caldesc"]) == (
        "Todavía no se han publicado fechas de facturación para Ciclo 1."  # "Cycle 1", derived
    )


# -- error pages ------------------------------------------------------------------------------
def test_a_page_that_is_not_there_in_spanish(client):
    response = client.get("/nada", headers={"Accept-Language": "es"})
    assert response.status_code == 404
    assert "<h1>Página no encontrada</h1>" in response.text
    assert 'href="/?lang=en"' in response.text  # the language link leads home, in English


def test_too_many_requests_in_spanish(tmp_path):
    from cyclemap.server import create_app

    from .conftest import Clock

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite'}",
            "CLOCK": Clock(),
            "RATELIMIT": "1/minute",
        }
    )
    client = app.test_client()
    client.get("/lookup?address=1+Main&lang=es")
    response = client.get("/lookup?address=2+Main&lang=es")
    assert response.status_code == 429
    assert "<h1>Demasiadas solicitudes</h1>" in response.text
    assert "Espere un minuto" in response.text
