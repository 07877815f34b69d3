"""Signing in and out (``/staff/login``, ``/staff/logout``), with failed attempts rate-limited.

Failed sign-ins are counted per username (``STAFF_SIGNIN_LIMIT``) and per client address
(``STAFF_SIGNIN_CLIENT_LIMIT``) in a moving window, in the same storage as the API's rate limits
(``RATELIMIT_STORAGE_URL``: one Redis for several servers). Past either limit, sign-in is paused
for that username or client, with a message saying until when; the password is not even checked
then. A successful sign-in clears its username's count. Only failures count, so a clerk who
signs in many times a day is never locked out. These limits are on even when ``RATELIMIT`` (the
API's) is off.
"""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.storage import MovingWindowSupport, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

from ..context import current_store
from .access import bp, current_staff, sign_in, sign_out
from .forms import LoginForm

_EXTENSION = "cyclemap.staff.signin"
_NAMESPACE = "cyclemap-staff-signin"


class SignInLimits:
    """Counts failed sign-ins per username and per client; says when sign-in is paused."""

    def __init__(self, storage_url: str, per_user: str, per_client: str) -> None:
        storage = storage_from_string(storage_url or "memory://")
        self.strategy: RateLimiter = (
            MovingWindowRateLimiter(storage)
            if isinstance(storage, MovingWindowSupport)
            else FixedWindowRateLimiter(storage)
        )
        self.per_user: RateLimitItem | None = parse(per_user) if per_user else None
        self.per_client: RateLimitItem | None = parse(per_client) if per_client else None

    def _checks(self, username: str, client: str) -> list[tuple[RateLimitItem, str, str]]:
        checks = []
        if self.per_user is not None:
            checks.append((self.per_user, "user", username.strip().lower()))
        if self.per_client is not None:
            checks.append((self.per_client, "client", client))
        return checks

    def paused(self, username: str, client: str) -> tuple[str, int] | None:
        """``(what, seconds)`` when sign-in is paused for this username or client, else None."""
        for item, kind, key in self._checks(username, client):
            if not self.strategy.test(item, _NAMESPACE, kind, key):
                stats = self.strategy.get_window_stats(item, _NAMESPACE, kind, key)
                return kind, max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def failed(self, username: str, client: str) -> None:
        """Count one failed sign-in."""
        for item, kind, key in self._checks(username, client):
            self.strategy.hit(item, _NAMESPACE, kind, key)

    def succeeded(self, username: str) -> None:
        """Forget the username's failures (the client's stay counted)."""
        if self.per_user is not None:
            self.strategy.clear(self.per_user, _NAMESPACE, "user", username.strip().lower())


def limits_for(app: Flask) -> SignInLimits:
    """The app's sign-in limits."""
    return app.extensions[_EXTENSION]


def _paused_message(kind: str, seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    who = "this username" if kind == "user" else "this computer"
    return (
        f"Too many failed sign-ins for {who}, so sign-in is paused for it. For your security, "
        f"wait {wait} and try again. If you have forgotten your password, ask an administrator "
        "to set a new one."
    )


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the workspace, never another site."""
    default = url_for("staff.dashboard")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return default
    if parts.path.startswith(url_for("staff.login")):
        return default
    return target


def _insecure_warning() -> str | None:
    """Why the browser would drop the session cookie on this page, when it would."""
    if request.is_secure or not current_app.config.get("SESSION_COOKIE_SECURE"):
        return None
    host = (request.host or "").rsplit(":", 1)[0].strip("[]")
    if host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost"):
        return None
    return (
        "This page was opened over plain HTTP, so your browser will not keep the sign-in. "
        "Open it with https:// instead. (On a closed network without HTTPS, the server's "
        "administrator can set CYCLEMAP_SESSION_COOKIE_SECURE=false.)"
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    """Sign in with a username and password; then go where the clerk was going."""
    form = LoginForm()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET" and current_staff() is not None:
        return redirect(target)
    status = 200
    if form.validate_on_submit():
        username = form.username.data or ""
        client = get_remote_address() or "unknown"
        limits = limits_for(current_app)
        paused = limits.paused(username, client)
        if paused is not None:
            form.form_errors_extra.append(_paused_message(*paused))
            current_app.logger.warning("staff sign-in paused for %s (%s)", paused[0], client)
            status = 429
        else:
            account = current_store().authenticate(username, form.password.data or "")
            if account is not None:
                limits.succeeded(username)
                sign_in(account)
                flash(f"Signed in as {account.username} ({account.role}).", "done")
                return redirect(target)
            limits.failed(username, client)
            current_app.logger.info("failed staff sign-in for %r from %s", username, client)
            form.form_errors_extra.append(
                "The username or password is not right. Check them (passwords are case "
                "sensitive) and try again."
            )
            status = 401
    elif request.method == "POST":
        status = 400
    form.password.data = ""
    html = render_template("staff/login.html", form=form, next=target, insecure=_insecure_warning())
    return html, status


@bp.post("/logout")
def logout() -> Response:
    """Sign out (a POST with the form's CSRF token, so no other site can sign a clerk out)."""
    was = current_staff()
    sign_out()
    if was is not None:
        flash("You are signed out.", "done")
    return redirect(url_for("staff.login"))


def init_app(app: Flask) -> None:
    """Make the app's sign-in limits from its configuration."""
    app.extensions[_EXTENSION] = SignInLimits(
        app.config.get("RATELIMIT_STORAGE_URL") or "memory://",
        str(app.config.get("STAFF_SIGNIN_LIMIT") or ""),
        str(app.config.get("STAFF_SIGNIN_CLIENT_LIMIT") or ""),
    )
