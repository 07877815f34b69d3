"""Languages: Flask-Babel for every resident-facing string, in templates and in Python.

Templates call ``_("...")`` (or ``gettext``/``ngettext``); Python calls ``flask_babel.gettext``
(or marks a constant with ``N_`` and translates it where it is shown). The catalogues live in
``cyclemap/translations/``: ``babel.cfg`` says what ``pybabel extract`` scans, ``messages.pot``
is the extracted template and ``<lang>/LC_MESSAGES/messages.po`` (with its compiled ``.mo``,
shipped in the wheel) each language. ``make translations`` extracts, updates every ``.po`` and
compiles them; the README says how to add a language.

The language of a resident's request is, in order: ``?lang=`` when it names an available
language (a page then remembers it in the ``cyclemap_lang`` cookie), else that cookie, else the
best match of ``Accept-Language``, else ``BABEL_DEFAULT_LOCALE`` (``en``). Every resident page
links to itself in the other languages (``language_links``), which works without JavaScript.
The staff workspace is in English whatever the browser asks. The JSON API is the same in every
language (a note carries its translations); the iCalendar feed follows the request's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

from flask import Flask, Response, current_app, request, url_for
from flask_babel import Babel, get_locale, gettext

from ..config import CycleName
from .http import is_api_path

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

_EXTENSION = "cyclemap.languages"

#: the cookie that remembers the language a resident chose with ``?lang=``
LANG_COOKIE = "cyclemap_lang"
#: how long the choice is remembered, in seconds (a year)
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
#: blueprints whose pages are always in the default language (the staff workspace)
ENGLISH_ONLY_BLUEPRINTS = frozenset({"staff"})
#: responses whose words follow the request's language (caches keep one copy per language)
LOCALIZED_MIMETYPES = frozenset({"text/html", "text/calendar"})

__all__ = [
    "LANG_COOKIE",
    "TRANSLATIONS_DIR",
    "LanguageLink",
    "available_languages",
    "current_language",
    "init_app",
    "lang_args",
    "language_links",
    "local_cycle_name",
    "page_language_args",
    "select_locale",
    "speaks",
]


def available_languages() -> tuple[str, ...]:
    """The language tags this app can answer in (the default first), e.g. ``("en", "es")``."""
    return current_app.extensions[_EXTENSION]


def _available(asked: str | None) -> str | None:
    """The available language ``asked`` names (``es``, ``es-MX``, ``ES``), or None."""
    asked = (asked or "").strip().replace("-", "_").lower()
    if not asked:
        return None
    for lang in available_languages():
        if lang.lower() == asked or lang.split("_")[0].lower() == asked.split("_")[0]:
            return lang
    return None


def select_locale() -> str:
    """The locale for this request: ``?lang=``, else the remembered choice (cookie), else
    ``Accept-Language``, else the default. Staff pages are always in the default language."""
    languages = available_languages()
    if request.blueprint in ENGLISH_ONLY_BLUEPRINTS:
        return languages[0]
    chosen = _available(request.args.get("lang")) or _available(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    best = request.accept_languages.best_match([lang.replace("_", "-") for lang in languages])
    return best.replace("-", "_") if best else languages[0]


def current_language() -> str:
    """The BCP 47 tag of this request's language, for ``<html lang>`` (e.g. ``en``, ``es-MX``)."""
    return str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")).replace(
        "_", "-"
    )


def speaks(tag: str) -> bool:
    """Whether this request's language is ``tag`` (``en`` matches ``en-US`` too): a page marks
    words in another language, such as a note the city wrote only in English, with ``lang``."""
    return current_language().split("-")[0].lower() == tag.replace("_", "-").split("-")[0].lower()


class NamedCycle(Protocol):
    """A cycle that can name itself in a language (``CycleRef``, ``CycleConfig``)."""

    def name_in(self, language: str, gettext: Callable[[str], str]) -> CycleName: ...


def local_cycle_name(cycle: NamedCycle) -> CycleName:
    """The cycle's name in this request's language: the city's ``name_es`` on a Spanish page,
    the catalogue's "Ciclo 2" for the default name "Cycle 2", else the name as written
    (``.language`` ``"en"``: a page in another language marks it ``lang="en"``)."""
    return cycle.name_in(current_language(), gettext)


def lang_args() -> dict[str, str]:
    """``{"lang": ...}`` when the request chose its language with ``?lang=`` (kept in links, so
    a page inside an iframe that may not keep cookies stays in its language): the language's
    own tag (``es`` for ``?lang=ES`` or ``es_x``), since the rendered maps are kept by it."""
    chosen = _available(request.args.get("lang"))
    return {"lang": chosen.replace("_", "-")} if chosen else {}


def page_language_args() -> dict[str, str]:
    """``{"lang": ...}`` when this page is not in the default language: for links that leave
    the page's cookie behind, such as a calendar a calendar program subscribes to."""
    lang = current_language()
    return {} if lang == available_languages()[0].replace("_", "-") else {"lang": lang}


@dataclass(frozen=True)
class LanguageLink:
    """This page in one available language: its tag, its name in itself, the address."""

    tag: str
    name: str
    href: str
    current: bool


def language_name(tag: str) -> str:
    """A language's name in that language, capitalized as a menu item ("Español", "English").

    >>> language_name("es"), language_name("en")
    ('Español', 'English')
    """
    from babel import Locale

    name = Locale.parse(tag.replace("-", "_")).get_display_name(tag.replace("-", "_")) or tag
    return name[:1].upper() + name[1:]


def language_links() -> list[LanguageLink]:
    """This very page (its path and query) in each available language, as ``?lang=`` links
    (none on a page that is English whatever is asked, such as a staff page's error)."""
    if request.blueprint in ENGLISH_ONLY_BLUEPRINTS:
        return []
    here = current_language()
    links = []
    for lang in available_languages():
        tag = lang.replace("_", "-")
        args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("lang", "fragment")]
        args.append(("lang", tag))
        if request.endpoint and request.url_rule is not None:
            path = url_for(request.endpoint, **(request.view_args or {}))
        else:  # an error page for an unknown address: the home page in that language
            path = url_for("public.index")
            args = [("lang", tag)]
        links.append(
            LanguageLink(
                tag=tag,
                name=language_name(lang),
                href=f"{path}?{urlencode(args)}",
                current=tag.split("-")[0] == here.split("-")[0],
            )
        )
    return links


def _remember_and_vary(response: Response) -> Response:
    """A page asked for with a valid ``?lang=`` sets the cookie; localized answers vary."""
    if response.mimetype not in LOCALIZED_MIMETYPES:
        return response  # JSON and the rest are the same in every language (and set no cookie)
    # a page's words follow Accept-Language and the cookie: caches keep one copy of each
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    chosen = _available(request.args.get("lang"))
    if (
        chosen
        and response.mimetype == "text/html"
        and request.blueprint not in ENGLISH_ONLY_BLUEPRINTS
        and not is_api_path(request.path)
        and request.cookies.get(LANG_COOKIE) != chosen
    ):
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_MAX_AGE,
            path="/",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def init_app(app: Flask) -> None:
    """Install Flask-Babel with our translations directory and locale selector."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel = Babel(app, locale_selector=select_locale)
    with app.app_context():
        found = [str(locale) for locale in babel.list_translations()]
    default = str(app.config["BABEL_DEFAULT_LOCALE"])
    app.extensions[_EXTENSION] = (default, *sorted(set(found) - {default}))
    app.after_request(_remember_and_vary)
    app.jinja_env.globals.update(
        current_language=current_language,
        lang_args=lang_args,
        available_languages=available_languages,
        language_links=language_links,
        local_cycle_name=local_cycle_name,
        page_language_args=page_language_args,
        speaks=speaks,
    )
