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
  nothing is exempt. The resident pages and the API take no POST, so they are untouched (the
  check looks at the method before anything else, so a GET pays nothing for it). A refused
  form is answered 400 with a page that says nothing was changed.
- The session is Flask's signed cookie (``StaffSessionInterface``), with its serializer built
  once per secret key rather than per request, and nothing done for a request that carries no
  session cookie and leaves the session alone (every resident page and API call).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import URLSafeTimedSerializer

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

#: the most signing serializers kept (one per secret key and fallbacks; a key rarely changes)
SERIALIZER_CACHE_SIZE = 8


class StaffSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without the work a request that has no session does.

    Flask builds an itsdangerous serializer (key derivation and all) on every request, to read
    a cookie most requests do not carry: a resident's page or an API call. Here the serializer
    is built once per secret key (and ``SECRET_KEY_FALLBACKS``), a request without the cookie
    gets a new empty session without one, and a session nobody touched is not saved. What is
    signed, read and written is Flask's own.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer for the app's keys, kept (it holds nothing per request)."""
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        found = self._serializers.get(key)
        if found is None:
            found = super().get_signing_serializer(app)
            if len(self._serializers) >= SERIALIZER_CACHE_SIZE:
                self._serializers.clear()
            self._serializers[key] = found
        return found

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The session from its cookie; a new empty one when there is no cookie (as Flask)."""
        if app.secret_key and (
            # no Cookie header at all (a resident, an API client): nothing to parse
            "HTTP_COOKIE" not in request.environ
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Flask's save, skipped for an empty session nobody read or changed (Flask itself
        would only add ``Vary: Cookie`` for a read one and delete a cookie for a changed one)."""
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


class StaffCSRFProtect(CSRFProtect):
    """Flask-WTF's ``CSRFProtect`` that looks at the method first: a GET, HEAD or OPTIONS is
    never checked, so it skips the exemption look-ups Flask-WTF makes for every request."""

    def protect(self, apply_exemptions: bool = False) -> None:
        """Validate the request's CSRF token when its method is one that is checked."""
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions=apply_exemptions)


csrf = StaffCSRFProtect()


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
    app.session_interface = StaffSessionInterface()
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)
