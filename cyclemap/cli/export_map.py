"""``cyclemap export-map OUT.html``: the whole cycle map in one file, for a website that cannot
show an iframe.

The file holds Leaflet, the zones (simplified for display), the legend and each cycle's current
notes; it needs no server. Only background tiles, when ``--tiles`` is not ``none``, come from the
tile server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click

from ..errors import InputError
from . import Context, handles_errors, main, pass_context

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


def translator(lang: str) -> tuple[Callable[[str], str], str]:
    """A ``gettext`` for ``lang`` from the app's catalogues, and the language it really speaks
    (English when there is no catalogue for ``lang``).

    >>> translator("en")[1], translator("xx")[1]
    ('en', 'en')
    """
    from babel.support import NullTranslations, Translations

    translations = Translations.load(str(TRANSLATIONS_DIR), [lang.replace("-", "_")])
    if type(translations) is NullTranslations:
        return translations.gettext, "en"
    return translations.gettext, lang


def day_writer(lang: str) -> Callable[[dt.date], str]:
    """How the page writes the day it was made: ISO in English (as before), else as ``lang``
    writes a date.

    >>> day_writer("es")(dt.date(2020, 2, 21)), day_writer("en")(dt.date(2020, 2, 21))
    ('21 de febrero de 2020', '2020-02-21')
    """
    if lang.split("-")[0] == "en":
        return dt.date.isoformat
    from babel.dates import format_date

    return lambda day: format_date(day, format="long", locale=lang.replace("-", "_"))


@main.command("export-map")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tiles",
    default=None,
    help="openstreetmap, none (no background map, fully offline) or a tile URL template; "
    "default: city.toml [map] tiles.",
)
@click.option("--lang", default="en", show_default=True, help="Language of the page.")
@click.option(
    "--date",
    "on_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The notes in force on this day (YYYY-MM-DD); default: today in the city "
    "(or CYCLEMAP_TODAY).",
)
@pass_context
@handles_errors
def export_map(ctx: Context, out: Path, tiles: str | None, lang: str, on_date) -> None:
    """Write a self-contained HTML map of the cycles to OUT (a .html file)."""
    from ..maps import export_html
    from ..server.assets import map_assets

    city = ctx.city()
    gettext, lang = translator(lang)
    today = on_date.date() if on_date else None
    html = export_html(
        city,
        assets=map_assets(),
        tiles=tiles,
        gettext=gettext,
        lang=lang,
        today=today,
        format_day=day_writer(lang),
    )
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot write {out}: {reason}") from None
    size = len(html.encode("utf-8"))
    click.echo(f"wrote {out} ({size / 1024:.0f} KB): {len(city.config.cycles)} cycles")
