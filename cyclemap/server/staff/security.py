"""The workspace's protections: a shared secret key, a strict session cookie, CSRF on every form.

- ``SECRET_KEY`` signs the session cookie and the CSRF tokens. It comes from the configuration
  (``CYCLEMAP_SECRET_KEY``) when set; otherwise one is made once and kept in the database
  (``Store.session_secret``), so every server on that database accepts the others' sessions and
  a restart signs nobody out. It is never made per process.
- The session cookie is ``Secure``, ``HttpOnly`` and ``SameSite=Lax``, and lasts
  ``PERMANENT_SESSION_LIFETIME`` after the last request. Chromium keeps a ``Secure`` cookie
  on ``http://localhost`` and ``http://127.0.0.1`` (the browser tests check it), so the default
  works for a clerk trying the workspace on their own machine; on a closed network served over
  plain HTTP under another name, set ``CYCLEMAP_SESSION_COOKIE_SECURE=false``.
- Flask-WTF's ``CSRFProtect`` checks every POST (the token in the form, tied to the session);
  nothing is exempt. The resident pages and the API take no POST, so they are untouched. A
  refused form is answered 400 with a page that says nothing was changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Response
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..context import current_store
from .access import refusal

#: settings this package reads, with their defaults (``create_app`` applies them first, so the
#: instance config, ``CYCLEMAP_*`` and a test's config override them)
CONFIG_DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,  # None: made once and kept in the database
    "SESSION_COOKIE_NAME": "cyclemap_staff",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=8),
    # a form's token is good for as long as its session: a clerk may take an hour over a note
    "WTF_CSRF_TIME_LIMIT": None,
    # failed sign-ins allowed before sign-in is paused (flask-limiter strings; "" turns one off)
    "STAFF_SIGNIN_LIMIT": "5 per 15 minutes",
    "STAFF_SIGNIN_CLIENT_LIMIT": "20 per 15 minutes",
}

csrf = CSRFProtect()


def _csrf_refused(error: CSRFError) -> Response:
    """A form without a good CSRF token: refused, in words a clerk can act on."""
    return refusal(
        400,
        "This form could not be accepted",
        "The form was sent without its security token, or from a page that was open from an "
        "earlier session, so nothing was changed. Go back, reload the page, and send the form "
        "again.",
        reason=error.description,
    )


def init_app(app: Flask) -> None:
    """Set the secret key (config or database), the cookie defaults and CSRF protection."""
    for key, value in CONFIG_DEFAULTS.items():
        app.config.setdefault(key, value)
    if not app.config.get("SECRET_KEY"):
        with app.app_context():
            app.config["SECRET_KEY"] = current_store().session_secret()
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    if not isinstance(lifetime, dt.timedelta):  # seconds, from the environment
        app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=int(lifetime))
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)
