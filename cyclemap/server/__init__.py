"""The Flask app: HTTP only. Parse the request, call the core, render.

``create_app`` reads configuration in this order (later wins): the defaults below, the
instance folder's ``config.py`` (if any), ``CYCLEMAP_*`` environment variables (Flask's
``from_prefixed_env``: ``CYCLEMAP_DATABASE_URL`` -> ``DATABASE_URL``), then ``test_config``.
Nothing is read at import time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from ..config import DEFAULT_CITY, default_instance_path, fixed_clock
from .assets import STATIC_DIR, TEMPLATE_DIR

#: the app's own settings; the HTTP ones (CORS_ORIGINS, FRAME_ANCESTORS, RATELIMIT,
#: RATELIMIT_STORAGE_URL, API_CACHE_SECONDS, REFERRER_POLICY, TRUSTED_PROXIES) are in
#: ``http.CONFIG_DEFAULTS`` and the staff workspace's (SECRET_KEY, SESSION_COOKIE_*,
#: STAFF_SIGNIN_*) in ``staff.CONFIG_DEFAULTS``, beside the code that reads them
DEFAULTS: dict[str, Any] = {
    "CITY": str(DEFAULT_CITY),
    "DATABASE_URL": None,  # None: sqlite file in the instance folder
    "TILES": None,  # override city.toml [map] tiles: "openstreetmap", "none" or a URL template
    "CLOCK": None,  # tests: a callable returning today's date
    "TODAY": None,  # an ISO date to serve the city as of that day (the demo: its notices' week)
    "PUBLIC_URL": None,  # the server's public address, for the code /embed/snippet hands out
    "BABEL_DEFAULT_LOCALE": "en",
    # where compiled address and zone tables are kept (None: cache/ in the instance folder)
    "CACHE_DIR": None,
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app for one city: open the store (migrating and seeding it) and the city."""
    app = Flask(
        "cyclemap",
        instance_path=str(default_instance_path()),
        instance_relative_config=True,
        template_folder=str(TEMPLATE_DIR),
        static_folder=str(STATIC_DIR),
    )
    from . import http, staff

    app.config.from_mapping({**http.CONFIG_DEFAULTS, **staff.CONFIG_DEFAULTS, **DEFAULTS})
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CYCLEMAP")
    if test_config:
        app.config.from_mapping(test_config)

    from ..city import open_city
    from ..store import Store, default_database_url

    url = app.config["DATABASE_URL"] or default_database_url(
        Path(app.instance_path), app.config["CITY"]
    )
    store = Store(url)
    store.upgrade()
    clock: Callable[[], dt.date] | None = app.config["CLOCK"]
    if clock is None and app.config["TODAY"]:
        clock = fixed_clock(str(app.config["TODAY"]))
    app.extensions["cyclemap.store"] = store
    cache_dir = app.config["CACHE_DIR"] or Path(app.instance_path) / "cache"
    app.extensions["cyclemap.city"] = open_city(
        app.config["CITY"], store=store, clock=clock, cache_dir=cache_dir
    )
    from ..geocode import load_parser

    load_parser()  # before the workers fork: no resident's first lookup waits for it

    from . import api, errors, i18n, maps, public

    maps.check_public_url(app.config["PUBLIC_URL"])  # a wrong value fails at start, not later

    http.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(maps.bp)
    staff.init_app(app)
    return app
