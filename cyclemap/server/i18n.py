"""Languages: Flask-Babel for every resident-facing string, in templates and in Python.

Templates call ``_("...")`` (or ``gettext``/``ngettext``); Python calls ``flask_babel.gettext``.
The catalogues live in ``cyclemap/translations/`` (``babel.cfg`` says what to scan and
``messages.pot`` is the extracted template). To add a language::

    .venv/bin/pybabel extract -F cyclemap/translations/babel.cfg -k N_ \\
        -o cyclemap/translations/messages.pot .
    .venv/bin/pybabel init -i cyclemap/translations/messages.pot -d cyclemap/translations -l es
    # translate cyclemap/translations/es/LC_MESSAGES/messages.po, then
    .venv/bin/pybabel compile -d cyclemap/translations

The locale of a request is ``?lang=`` when it names an available language, else the best match
of the ``Accept-Language`` header, else ``BABEL_DEFAULT_LOCALE`` (``en``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_babel import Babel, get_locale

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

_EXTENSION = "cyclemap.languages"


def available_languages() -> tuple[str, ...]:
    """The language tags this app can answer in (the default first), e.g. ``("en", "es")``."""
    return current_app.extensions[_EXTENSION]


def select_locale() -> str:
    """The locale for this request: ``?lang=``, else ``Accept-Language``, else the default."""
    languages = available_languages()
    asked = (request.args.get("lang") or "").strip().replace("-", "_")
    if asked:
        for lang in languages:
            if lang.lower() == asked.lower() or lang.split("_")[0].lower() == asked.lower():
                return lang
    best = request.accept_languages.best_match([lang.replace("_", "-") for lang in languages])
    return best.replace("-", "_") if best else languages[0]


def current_language() -> str:
    """The BCP 47 tag of this request's language, for ``<html lang>`` (e.g. ``en``, ``es-MX``)."""
    return str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")).replace(
        "_", "-"
    )


def lang_args() -> dict[str, str]:
    """``{"lang": ...}`` when the request chose its language with ``?lang=`` (kept in links)."""
    lang = request.args.get("lang")
    return {"lang": lang} if lang and lang.replace("_", "-") in _tags() else {}


def _tags() -> set[str]:
    return {lang.replace("_", "-") for lang in available_languages()} | set(available_languages())


def _vary_on_language(response: Response) -> Response:
    # a page's words follow Accept-Language: caches must keep one copy per language
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
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
    app.after_request(_vary_on_language)
    app.jinja_env.globals.update(
        current_language=current_language,
        lang_args=lang_args,
        available_languages=available_languages,
    )
