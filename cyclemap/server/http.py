"""HTTP behaviour shared by every route: security headers, CSP nonces, CORS, caching, limits.

``init_app(app)`` installs it once per app (the API blueprint calls it when it is registered, and
calling it again is harmless). What it does to every response:

- **Security headers**: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
  ``Permissions-Policy`` (``PERMISSIONS_POLICY``: no camera, microphone, payment...; the map's
  "use my location" needs ``geolocation=(self)``) and a strict ``Content-Security-Policy``
  (``default-src 'self'``, ``frame-ancestors 'none'``, no inline script, no ``'unsafe-inline'``
  anywhere). ``/embed`` may be framed by the origins in ``FRAME_ANCESTORS``; every other page
  refuses framing (also with ``X-Frame-Options: DENY`` for old browsers). The API's CSP allows
  nothing at all. These headers are built once per app from its config (``HeaderPlan``) and
  added by a small WSGI middleware to every response that lacks them, so the 404s, 405s, 413s
  and 500s get them too, and an API answer pays nothing per request beyond a list extension.
- **CSP nonces**: the only inline script left is Folium's map script (``map.script`` in
  ``base.html`` and ``embed.html``, generated per map); it carries ``nonce="{{ csp_nonce() }}"``.
  The first call makes a fresh random nonce for the request and the header then allows
  ``'nonce-…'`` for ``script-src`` and ``style-src``. A page that needs more (a tile server for
  ``img-src``) calls ``csp_allow("img-src", "https://tile.openstreetmap.org")`` while handling
  the request. Only such pages build a CSP per request.
- **CORS** for the read-only API (``/api/``, ``/healthz``, ``/readyz``): origins from
  ``CORS_ORIGINS`` (``*`` or a comma-separated list; ``Vary: Origin`` when it is a list);
  preflight ``OPTIONS`` requests are answered ``204`` with the allowed methods and headers.
- **Request size limits**: a query string over ``MAX_QUERY_BYTES`` is ``414``; a body over
  ``MAX_CONTENT_LENGTH`` (1 MiB) is ``413`` before it is read, except on views marked with
  ``body_limit`` (the staff uploads); form fields and parts are bounded by Flask's
  ``MAX_FORM_MEMORY_SIZE`` and ``MAX_FORM_PARTS``. Whole numbers in paths (``<int:id>``) stop at
  ``MAX_ID`` (the database's INTEGER), so a huge id is a 404, not an overflow.
- **Rate limits** through flask-limiter from ``RATELIMIT`` (empty: off) with its counters in
  ``RATELIMIT_STORAGE_URL``, per client address and route; ``/healthz``, ``/readyz``, static
  files and preflights are exempt. When that storage (Redis) cannot be reached, each process
  counts in its own memory instead (flask-limiter's in-memory fallback: lookups go on being
  served, a client is limited per process), logs one warning, checks the storage again with a
  growing pause (1 s up to 32 s) and goes back to it when it answers. Redis connections time
  out after ``REDIS_TIMEOUT_S`` and are not retried, so an unreachable Redis costs a request
  at most that. Behind a load balancer or reverse proxy, set ``TRUSTED_PROXIES`` to the
  number of proxies in front so that the client address comes from ``X-Forwarded-For``
  (werkzeug's ``ProxyFix``); otherwise every resident shares the proxy's one limit.

Views use ``cached_response`` to answer with an ``ETag`` (a hash of the exact body, so it moves
with the boundary version, the notes and the date alike), a ``Cache-Control`` max-age from
``API_CACHE_SECONDS`` and ``304 Not Modified`` for a matching ``If-None-Match``.

The header settings are read when the app is built: change ``CORS_ORIGINS``,
``FRAME_ANCESTORS``, ``REFERRER_POLICY`` or ``PERMISSIONS_POLICY`` in the config, not on a
running app.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.http import http_date
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

#: config keys this module reads, with their defaults (``create_app``'s DEFAULTS may set them too)
CONFIG_DEFAULTS: dict[str, Any] = {
    "CORS_ORIGINS": "*",
    "FRAME_ANCESTORS": "'self'",
    "RATELIMIT": "",
    "RATELIMIT_STORAGE_URL": "memory://",
    "API_CACHE_SECONDS": 60,
    # the origin only, even to this server: a page's own URL holds the resident's address, and
    # a Referer is what a proxy's or a CDN's log keeps of every asset the page loads
    "REFERRER_POLICY": "strict-origin",
    # the browser features a page may use: only the map's "use my location", on this origin
    "PERMISSIONS_POLICY": (
        "accelerometer=(), camera=(), geolocation=(self), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=()"
    ),
    "TRUSTED_PROXIES": 0,  # reverse proxies in front (their X-Forwarded-For is believed)
    # request size limits: a body (1 MiB unless a view says otherwise) and a query string
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_QUERY_BYTES": 16 * 1024,
}

#: the ``limits`` storage URL schemes of a plain Redis server (TCP, TLS, Unix socket)
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")
#: seconds a Redis connection or command may take before the limit storage counts as down
REDIS_TIMEOUT_S = 0.5

#: path prefixes of the read-only JSON API (CORS, problem+json, no-framing CSP)
API_PREFIXES = ("/api/", "/healthz", "/readyz")
#: paths that may be framed by ``FRAME_ANCESTORS``
EMBED_PATHS = frozenset({"/embed"})
#: methods the read-only API allows cross-origin
CORS_METHODS = "GET, HEAD, OPTIONS"
#: request headers a cross-origin caller may send
CORS_HEADERS = "Accept, Accept-Language, Content-Type, If-None-Match, If-Modified-Since"
#: response headers a cross-origin caller may read
CORS_EXPOSE = (
    "ETag, Last-Modified, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
)
#: the largest id the store's INTEGER columns hold (PostgreSQL's; SQLite holds more): a path part
#: (``<int:id>``) or a form's id above it is no id at all (404), not an overflow in the driver
MAX_ID = 2**31 - 1

#: the page policy before per-request additions; the order is the header's order
BASE_CSP: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "connect-src": ("'self'",),
    "font-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
#: what a JSON or iCalendar body needs: nothing at all
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_EXTENSION = "cyclemap.http"
_PLAN = "cyclemap.http.plan"
#: what a nonce stands for in a cached policy template (never a valid CSP source)
_NONCE_SLOT = "\x00nonce\x00"
#: the most per-request policies kept per app (one per distinct ``csp_allow`` set)
_POLICY_CACHE_SIZE = 64

F = TypeVar("F", bound=Callable[..., Any])


def is_api_path(path: str) -> bool:
    """True for the machine-readable routes (JSON API and health check).

    >>> is_api_path("/api/v1/lookup"), is_api_path("/healthz"), is_api_path("/lookup")
    (True, True, False)
    """
    return path.startswith(API_PREFIXES)


def is_embed_path(path: str) -> bool:
    """True for the iframe-friendly map page (exactly ``/embed``; staff pages under it are not).

    >>> is_embed_path("/embed"), is_embed_path("/embed/snippet"), is_embed_path("/embedded")
    (True, False, False)
    """
    return path in EMBED_PATHS


# -- CSP nonces ------------------------------------------------------------------------------
def csp_nonce() -> str:
    """This request's CSP nonce (made on first use; the CSP header then allows it).

    In a template: ``<script nonce="{{ csp_nonce() }}">…</script>``. The same value is returned
    for every call during one request, and a new one for each request.
    """
    nonce = g.get("_csp_nonce")
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(18)
    return nonce


def csp_allow(directive: str, *sources: str) -> None:
    """Add sources to one CSP directive for the current response only.

    >>> # in a view:  csp_allow("img-src", "https://tile.openstreetmap.org")

    Adding ``'unsafe-inline'`` to ``style-src`` (for ``style=""`` attributes) makes the header
    leave the nonce out of that directive, since browsers ignore ``'unsafe-inline'`` when a
    nonce is present.
    """
    extra: dict[str, list[str]] = g.setdefault("_csp_extra", {})
    extra.setdefault(directive, []).extend(sources)


def content_security_policy(
    *,
    nonce: str | None,
    frame_ancestors: str = "'none'",
    extra: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """Build a page's CSP header value.

    >>> content_security_policy(nonce=None).split("; ")[:2]
    ["default-src 'self'", "script-src 'self'"]
    >>> "script-src 'self' 'nonce-abc'" in content_security_policy(nonce="abc")
    True
    >>> "frame-ancestors https://city.example" in content_security_policy(
    ...     nonce=None, frame_ancestors="https://city.example")
    True
    """
    policy = {k: list(v) for k, v in BASE_CSP.items()}
    policy["frame-ancestors"] = frame_ancestors.split() or ["'none'"]
    for directive, sources in (extra or {}).items():
        current = policy.setdefault(directive, [])
        for source in sources:
            if source not in current:
                current.append(source)
    if nonce:
        for directive in ("script-src", "style-src"):
            if "'unsafe-inline'" not in policy[directive]:
                policy[directive].append(f"'nonce-{nonce}'")
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


# -- CORS ------------------------------------------------------------------------------------
def allowed_origins(setting: str | Iterable[str] | None) -> tuple[str, ...]:
    """Parse ``CORS_ORIGINS``: ``"*"``, ``"https://a.example, https://b.example"`` or a list.

    >>> allowed_origins("*"), allowed_origins(" https://a.example,https://b.example/ ")
    (('*',), ('https://a.example', 'https://b.example'))
    >>> allowed_origins("")
    ()
    """
    if setting is None:
        return ()
    items = setting.split(",") if isinstance(setting, str) else list(setting)
    origins = tuple(o.strip().rstrip("/") for o in items if o.strip())
    return ("*",) if "*" in origins else origins


def _apply_cors(response: Response, plan: HeaderPlan) -> None:
    """The CORS headers that depend on the request (a list of origins, a preflight); ``*`` on a
    plain request is all static and added by ``SecurityHeaders``."""
    origins = plan.cors_origins
    if not origins:
        return
    if origins == ("*",):
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        origin = request.headers.get("Origin")
        response.vary.add("Origin")
        if origin is None or origin.rstrip("/") not in origins:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
    if _is_preflight():
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    else:
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _before_request() -> Response | None:
    """Refuse an overlong query string (414), set this view's body limit, answer a preflight."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    plan: HeaderPlan = current_app.extensions[_PLAN]
    if len(req.query_string) > plan.max_query_bytes:
        raise RequestURITooLarge(
            f"The address of this request is too long (its query is over "
            f"{plan.max_query_bytes:,} bytes)."
        )
    method = req.method
    if method == "OPTIONS":
        if _is_preflight() and is_api_path(req.path) and req.url_rule is not None:
            return Response(status=204)
    elif method not in ("GET", "HEAD"):
        view = current_app.view_functions.get(req.endpoint or "")
        limit = getattr(view, "body_limit", None)
        if limit is not None:
            req.max_content_length = int(limit())
    return None


def body_limit(limit: Callable[[], int]) -> Callable[[F], F]:
    """Let one view accept a body up to ``limit()`` bytes instead of ``MAX_CONTENT_LENGTH``.

    >>> # @body_limit(lambda: current_app.config["STAFF_UPLOAD_MAX_BYTES"] + 1024 * 1024)

    The limit is set before anything reads the body (CSRF checks included), so a larger body is
    refused ``413`` without being spooled to disk. ``functools.wraps`` keeps the mark on a
    decorated view.
    """

    def mark(view: F) -> F:
        view.body_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


# -- caching ---------------------------------------------------------------------------------
def etag_for(body: bytes) -> str:
    """A strong entity tag for exact bytes (BLAKE2b, 16 bytes).

    >>> etag_for(b"{}")
    '2afb9b83f9314e5d029766197f539792'
    """
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def cached_response(
    body: bytes,
    mimetype: str,
    *,
    etag: str | None = None,
    weak: bool = False,
    max_age: int | None = None,
    headers: dict[str, str] | None = None,
    private: bool = False,
    last_modified: dt.datetime | None = None,
) -> Response:
    """A ``200`` response with an ``ETag`` and ``Cache-Control``, or ``304`` if the client has it.

    ``etag`` defaults to a hash of ``body``; ``max_age`` to ``API_CACHE_SECONDS``. The ETag is
    honest whatever the body depends on (boundary version, notes, today's date), because it is
    the body's own digest. ``weak=True`` marks a tag that covers what the body means rather than
    its exact bytes (``W/"..."``); ``If-None-Match`` compares weakly either way.

    ``private=True`` is for answers about what a resident typed (an address): the browser may
    keep them, a shared cache (a proxy, a CDN) may not.

    ``last_modified`` (an aware datetime: the newest change the body reflects) adds
    ``Last-Modified``, and a request with ``If-Modified-Since`` at or after it (and no
    ``If-None-Match``, which wins, RFC 9110 13.2.2) is answered ``304`` too.
    """
    tag = etag or etag_for(body)
    seconds = current_app.config["API_CACHE_SECONDS"] if max_age is None else max_age
    fields = {
        "ETag": f'W/"{tag}"' if weak else f'"{tag}"',
        "Cache-Control": f"{'private' if private else 'public'}, max-age={int(seconds)}",
    }
    if last_modified is not None:
        fields["Last-Modified"] = http_date(last_modified.astimezone(dt.UTC))
    if request.if_none_match:
        if request.if_none_match.contains_weak(tag):
            return Response(status=304, headers=fields)
    elif last_modified is not None and request.if_modified_since is not None:
        # HTTP dates have whole seconds: a change within the second is not "after"
        if last_modified.replace(microsecond=0) <= request.if_modified_since:
            return Response(status=304, headers=fields)
    return Response(body, mimetype=mimetype, headers={**fields, **(headers or {})})


# -- rate limits -----------------------------------------------------------------------------
def _exempt_from_limits() -> bool:
    return (
        request.method == "OPTIONS"
        or request.path in ("/healthz", "/readyz")
        or request.endpoint in (None, "static")
        or request.endpoint.endswith(".static")
    )


def redis_options(storage_url: str) -> dict[str, Any]:
    """Options for the Redis client of a ``limits`` storage URL: short timeouts and no retries,
    so that an unreachable Redis fails a call quickly (``{}`` for any other storage).

    >>> redis_options("redis+unix:///run/redis.sock")["socket_timeout"], redis_options("memory://")
    (0.5, {})
    """
    if not storage_url.startswith(REDIS_SCHEMES):
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": REDIS_TIMEOUT_S,
        "socket_connect_timeout": REDIS_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),
    }


class _ToCyclemapLog(logging.Handler):
    """Hands flask-limiter's records to cyclemap's log (``cyclemap.ratelimit``): flask-limiter
    logs to a logger of its own that ends in a ``NullHandler``, so that a Redis outage would
    otherwise leave no trace where the app's other messages go."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger("cyclemap.ratelimit").handle(record)


def _route_limiter_log() -> None:
    """Send flask-limiter's warnings and notices (storage down, recovered) to cyclemap's log,
    once per process."""
    logger = logging.getLogger("flask-limiter")
    if not any(isinstance(h, _ToCyclemapLog) for h in logger.handlers):
        logger.addHandler(_ToCyclemapLog())
        logger.setLevel(logging.INFO)  # "Rate limit storage recovered" is an INFO record
        logger.propagate = False  # its records reach the root through cyclemap's logger, once


def _make_limiter(app: Flask) -> Limiter:
    limit = (app.config.get("RATELIMIT") or "").strip()
    storage_url = app.config.get("RATELIMIT_STORAGE_URL") or "memory://"
    limiter = Limiter(
        get_remote_address,
        default_limits=[limit] if limit else [],
        default_limits_exempt_when=_exempt_from_limits,
        storage_uri=storage_url,
        storage_options=redis_options(storage_url),
        # a limit storage that is down must not take the lookups down with it: count in this
        # process's memory meanwhile (one warning), and go back to the storage when it answers
        in_memory_fallback_enabled=True,
        headers_enabled=True,
        # any other error of the limit store: serve unlimited and log
        swallow_errors=not app.testing,
        enabled=bool(limit),
        key_prefix="cyclemap",
    )
    limiter.init_app(app)
    _route_limiter_log()
    return limiter


def limiter_for(app: Flask) -> Limiter:
    """The app's flask-limiter instance (to add a route limit: ``limiter_for(app).limit(...)``)."""
    return app.extensions[_EXTENSION]


# -- headers on every response ---------------------------------------------------------------
Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HeaderPlan:
    """The security headers of one app, built once from its config (``HeaderPlan.of``).

    ``api``, ``page`` and ``embed`` are the fields every response of that kind gets when it
    lacks them; a page that asked for a nonce or ``csp_allow`` gets its own CSP from
    ``page_csp`` (built from a template kept per distinct request, then the nonce put in).
    """

    api: Fields
    page: Fields
    embed: Fields
    frame_ancestors: str
    cors_origins: tuple[str, ...]
    max_query_bytes: int
    _policies: dict[tuple[bool, tuple[tuple[str, tuple[str, ...]], ...]], str] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, config: Any) -> HeaderPlan:
        """The plan for an app's config (``CONFIG_DEFAULTS`` keys).

        >>> plan = HeaderPlan.of(CONFIG_DEFAULTS)
        >>> dict(plan.api)["X-Frame-Options"], dict(plan.embed).get("X-Frame-Options")
        ('DENY', None)
        """
        common = (
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", str(config["REFERRER_POLICY"])),
            ("Permissions-Policy", str(config["PERMISSIONS_POLICY"])),
        )
        ancestors = str(config.get("FRAME_ANCESTORS") or "'none'")
        origins = allowed_origins(config.get("CORS_ORIGINS"))
        cors: Fields = ()
        if origins == ("*",):
            cors = (
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Expose-Headers", CORS_EXPOSE),
            )
        page_csp = content_security_policy(nonce=None)
        return cls(
            api=(
                *common,
                ("Content-Security-Policy", API_CSP),
                ("X-Frame-Options", "DENY"),
                *cors,
            ),
            page=(*common, ("Content-Security-Policy", page_csp), ("X-Frame-Options", "DENY")),
            embed=(
                *common,
                (
                    "Content-Security-Policy",
                    content_security_policy(nonce=None, frame_ancestors=ancestors),
                ),
            ),
            frame_ancestors=ancestors,
            cors_origins=origins,
            max_query_bytes=int(config.get("MAX_QUERY_BYTES") or 16 * 1024),
        )

    def fields_for(self, path: str) -> Fields:
        """The static fields for a request path (``PATH_INFO``)."""
        if path.startswith(API_PREFIXES):
            return self.api
        if path in EMBED_PATHS:
            return self.embed
        return self.page

    def page_csp(self, *, embed: bool, nonce: str | None, extra: dict[str, list[str]]) -> str:
        """A page's CSP with this request's nonce and ``csp_allow`` additions."""
        key = (embed, tuple((k, tuple(v)) for k, v in extra.items()))
        template = self._policies.get(key)
        if template is None:
            template = content_security_policy(
                nonce=_NONCE_SLOT,
                frame_ancestors=self.frame_ancestors if embed else "'none'",
                extra=extra,
            )
            if len(self._policies) < _POLICY_CACHE_SIZE:
                self._policies[key] = template
        if nonce is None:  # no nonce asked for: leave the slots out, with their quotes
            return template.replace(f" 'nonce-{_NONCE_SLOT}'", "")
        return template.replace(_NONCE_SLOT, nonce)


class SecurityHeaders:
    """WSGI middleware: every response gets the plan's headers that it does not set itself.

    It sits outside Flask, so the answers Flask makes without our views (a 405 from routing, a
    413 from the body limit, a 500) carry the headers as well; a response that sets one of them
    (a page's own CSP with its nonce) keeps its own.
    """

    def __init__(self, app: Callable[..., Any], plan: HeaderPlan) -> None:
        self.app = app
        self.plan = plan
        # the lower-case names, once: the check per response is then one set of its names
        self._names = {
            id(fields): tuple((name.lower(), (name, value)) for name, value in fields)
            for fields in (plan.api, plan.page, plan.embed)
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        fields = self._names[id(self.plan.fields_for(environ.get("PATH_INFO") or "/"))]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend(pair for lower, pair in fields if lower not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def header_plan(app: Flask) -> HeaderPlan:
    """The app's security header plan (built by ``init_app``)."""
    return app.extensions[_PLAN]


def _finish_response(response: Response) -> Response:
    """The per-request part of the headers: CORS that depends on the request, a page's CSP
    with its nonce or additions. Everything else is static (``SecurityHeaders``)."""
    plan: HeaderPlan = current_app.extensions[_PLAN]
    path = request.path
    if path.startswith(API_PREFIXES):
        origins = plan.cors_origins
        # "*" on a plain request is static; a list of origins and a preflight are not
        if origins and (origins != ("*",) or _is_preflight()):
            _apply_cors(response, plan)
        return response
    nonce = g.get("_csp_nonce")
    extra = g.get("_csp_extra")
    if (nonce or extra) and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = plan.page_csp(
            embed=path in EMBED_PATHS, nonce=nonce, extra=extra or {}
        )
    return response


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` with an upper bound (``MAX_ID``) unless the rule gives its own."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Install the headers, CORS, nonce helper, size limits and rate limits on ``app`` (once)."""
    if _EXTENSION in app.extensions:
        return
    for key, value in CONFIG_DEFAULTS.items():
        app.config.setdefault(key, value)
    # before any blueprint adds its rules: every <int:...> is bounded
    app.url_map.converters["int"] = BoundedIntConverter
    proxies = int(app.config["TRUSTED_PROXIES"] or 0)
    if proxies > 0:
        # Flask's documented way to add WSGI middleware; its type hints declare a method
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    plan = app.extensions[_PLAN] = HeaderPlan.of(app.config)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, plan)  # type: ignore[method-assign]
    app.extensions[_EXTENSION] = _make_limiter(app)
    app.before_request(_before_request)
    app.after_request(_finish_response)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
