"""Signing in and out (``/staff/login``, ``/staff/logout``), with failed attempts rate-limited.

Failed sign-ins are counted per username (``STAFF_SIGNIN_LIMIT``) and per client address
(``STAFF_SIGNIN_CLIENT_LIMIT``) in a moving window, in the same storage as the API's rate limits
(``RATELIMIT_STORAGE_URL``: one Redis for several servers). Past either limit, sign-in is paused
for that username or client, with a message saying until when; the password is not even checked
then. A successful sign-in clears its username's count. Only failures count, so a clerk who
signs in many times a day is never locked out. These limits are on even when ``RATELIMIT`` (the
API's) is off.

When that storage cannot be reached (Redis is down), sign-in **fails closed**: the form answers
503 saying sign-in is paused for everyone until the counter answers again, and no password is
checked, so an outage of Redis (or an attacker who causes one) never opens unlimited guessing.
Clerks already signed in keep working (the session needs no Redis), and the CLI needs none
either. One warning is logged when this starts and one when sign-in works again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MovingWindowSupport, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from werkzeug.wrappers import Response as BaseResponse

from ..context import current_store
from ..errors import RETRY_AFTER_SECONDS
from ..http import redis_options
from .access import bp, current_staff, sign_in, sign_out
from .forms import LoginForm

_EXTENSION = "cyclemap.staff.signin"
_NAMESPACE = "cyclemap-staff-signin"

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LimitsUnavailable(Exception):
    """The storage of the sign-in counts cannot be reached: sign-in is refused meanwhile."""


class SignInLimits:
    """Counts failed sign-ins per username and per client; says when sign-in is paused.

    Every method raises ``LimitsUnavailable`` when the storage cannot be reached (fail closed).
    """

    def __init__(self, storage_url: str, per_user: str, per_client: str) -> None:
        url = storage_url or "memory://"
        storage = storage_from_string(url, **redis_options(url))
        self.strategy: RateLimiter = (
            MovingWindowRateLimiter(storage)
            if isinstance(storage, MovingWindowSupport)
            else FixedWindowRateLimiter(storage)
        )
        # what a storage raises when its server is down (redis.RedisError for Redis)
        found = storage.base_exceptions
        raised = found if isinstance(found, tuple) else (found,)
        self._storage_errors: tuple[type[Exception], ...] = (StorageError, *raised)
        self.per_user: RateLimitItem | None = parse(per_user) if per_user else None
        self.per_client: RateLimitItem | None = parse(per_client) if per_client else None
        self._down = False
        self._state = threading.Lock()

    def _call(self, action: Callable[..., T], *args: Any) -> T:
        """Run one storage action; a storage that is down is ``LimitsUnavailable`` (logged once
        when it goes down, once when it answers again)."""
        try:
            result = action(*args)
        except self._storage_errors as exc:
            with self._state:
                if not self._down:
                    self._down = True
                    reason = " ".join(str(exc).split()) or type(exc).__name__
                    logger.warning(
                        "staff sign-in is refused until the rate-limit storage answers: %s",
                        reason,
                    )
            raise LimitsUnavailable(str(exc)) from exc
        if self._down:
            with self._state:
                if self._down:
                    self._down = False
                    logger.warning("the rate-limit storage answers again: staff sign-in is open")
        return result

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
            if not self._call(self.strategy.test, item, _NAMESPACE, kind, key):
                stats = self._call(self.strategy.get_window_stats, item, _NAMESPACE, kind, key)
                return kind, max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def failed(self, username: str, client: str) -> None:
        """Count one failed sign-in."""
        for item, kind, key in self._checks(username, client):
            self._call(self.strategy.hit, item, _NAMESPACE, kind, key)

    def succeeded(self, username: str) -> None:
        """Forget the username's failures (the client's stay counted)."""
        if self.per_user is not None:
            user = username.strip().lower()
            self._call(self.strategy.clear, self.per_user, _NAMESPACE, "user", user)


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


#: the form's message while the sign-in counts cannot be reached (fail closed)
UNAVAILABLE_MESSAGE = (
    "Sign-in is paused for a moment: the server cannot reach the service that counts failed "
    "sign-ins, and it does not check passwords without it. Try again in a minute. Clerks who "
    "are signed in already can go on working."
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
def login() -> BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Sign in with a username and password; then go where the clerk was going."""
    form = LoginForm()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET" and current_staff() is not None:
        return redirect(target)
    status = 200
    if form.validate_on_submit():
        username = form.username.data or ""
        client = get_remote_address() or "unknown"
        try:
            status = _attempt(form, username, client)
        except LimitsUnavailable:
            form.form_errors_extra.append(UNAVAILABLE_MESSAGE)
            status = 503
        if status == 302:
            return redirect(target)
    elif request.method == "POST":
        status = 400
    form.password.data = ""
    html = render_template("staff/login.html", form=form, next=target, insecure=_insecure_warning())
    if status == 503:
        return html, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return html, status


def _attempt(form: LoginForm, username: str, client: str) -> int:
    """Check one sign-in against the limits and the password: 302 signed in, 429 paused, 401
    wrong; ``LimitsUnavailable`` when the counts cannot be reached (before any password check,
    or before a wrong one is answered)."""
    limits = limits_for(current_app)
    paused = limits.paused(username, client)
    if paused is not None:
        form.form_errors_extra.append(_paused_message(*paused))
        current_app.logger.warning("staff sign-in paused for %s (%s)", paused[0], client)
        return 429
    account = current_store().authenticate(username, form.password.data or "")
    if account is not None:
        try:
            limits.succeeded(username)
        except LimitsUnavailable:
            pass  # the attempt was counted and allowed; forgetting old failures can wait
        sign_in(account)
        flash(f"Signed in as {account.username} ({account.role}).", "done")
        return 302
    limits.failed(username, client)
    current_app.logger.info("failed staff sign-in for %r from %s", username, client)
    form.form_errors_extra.append(
        "The username or password is not right. Check them (passwords are case "
        "sensitive) and try again."
    )
    return 401


@bp.post("/logout")
def logout() -> BaseResponse:
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
