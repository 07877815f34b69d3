"""The read-only JSON API, ``/api/v1/...``, ``/healthz`` and ``/readyz`` (interface.md, HTTP).

Views are thin: parse the query string (a bad value is an ``InputError``, hence a 400 problem),
call the ``City``, serialize. Bodies go through ``http.cached_response`` for ``ETag`` and
``Cache-Control``; errors become problem+json in ``errors.py``. The OpenAPI document in
``openapi.py`` describes every route here, and the tests hold the real answers to it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import weakref
from typing import Any
from urllib.parse import quote

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from flask_babel import format_date, gettext

from ..billing import CalendarWords
from ..errors import InputError, NotFoundError
from ..geocode import MAX_ADDRESS_LENGTH
from . import http, replay
from .context import current_city
from .errors import PROBLEMS, problem_type
from .i18n import current_language, speaks
from .openapi import document

bp = Blueprint("api", __name__)

#: the longest address or suggest query accepted (a real address is well under 100 characters)
MAX_QUERY_CHARS = MAX_ADDRESS_LENGTH
#: suggest's ``limit``: default and the largest value accepted (``City.suggest`` checks 1..50 too)
DEFAULT_SUGGEST_LIMIT = 10
MAX_SUGGEST_LIMIT = 50

#: an iCalendar DTSTAMP line (the time the feed was generated)
_DTSTAMP = re.compile(rb"^DTSTAMP:[^\r\n]*\r?\n", re.MULTILINE)

JSON = "application/json"
GEOJSON = "application/geo+json"
ICALENDAR = "text/calendar"
ATOM = "application/atom+xml"
#: the most changes one ``/api/v1/changes`` answer lists
MAX_CHANGES = 1000


#: the app's ``replay.LookupReplay`` (absent when rate limits are on)
REPLAY = "cyclemap.api.replay"
#: the most lookup answers' JSON bodies kept per app (as many as ``City.lookup`` keeps answers)
ANSWER_BODY_CACHE_SIZE = 4096


@bp.record_once
def _install_http(state: BlueprintSetupState) -> None:
    # The API brings the app-wide HTTP behaviour with it (headers, CORS, rate limits);
    # ``http.init_app`` is idempotent, so ``create_app`` may also call it directly.
    assert isinstance(state.app, Flask)  # Flask types a blueprint's app as its base class
    http.init_app(state.app)
    state.app.extensions.setdefault("cyclemap.api.bodies", {})
    _install_replay(state.app)


def _install_replay(app: Flask) -> None:
    # outside every other middleware (the security headers are in what it keeps), and only
    # while nothing counts requests one by one: with rate limits on, each goes to the limiter
    city = app.extensions.get("cyclemap.city")
    if city is None or http.limiter_for(app).enabled or REPLAY in app.extensions:
        return
    app.extensions[REPLAY] = app.wsgi_app = replay.LookupReplay(  # type: ignore[method-assign]
        app.wsgi_app, city.lookup
    )


# -- parsing ---------------------------------------------------------------------------------
def _arg(name: str) -> str | None:
    """The query parameter's first value, or None. Werkzeug's ``args.get`` makes an
    exception object for every absent key, and a lookup asks for three that are usually
    absent (lon, lat, date)."""
    args = request.args
    return args.get(name) if name in args else None


def _required_text_arg(name: str) -> str:
    value = _text_arg(name)
    if value is None:
        raise InputError(f"the query parameter '{name}' is required")
    return value


def _text_arg(name: str) -> str | None:
    value = _arg(name)
    if value is None:
        return None
    if len(value) > MAX_QUERY_CHARS:
        raise InputError(
            f"'{name}' is too long ({len(value)} characters; at most {MAX_QUERY_CHARS})"
        )
    if "\x00" in value:
        raise InputError(f"'{name}' contains a NUL character")
    return value


def _float_arg(name: str) -> float | None:
    raw = _arg(name)
    if raw is None:
        return None
    try:
        value = float(raw) if len(raw) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"'{name}' must be a number in decimal degrees, e.g. lon=-89.55&lat=37.31")
    return value


def _date_arg(name: str) -> dt.date | None:
    raw = _arg(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"'{name}' must be a date like 2020-03-01") from None


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = _arg(name)
    if raw is None:
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 9):
        raise InputError(f"'{name}' must be a whole number from {lo} to {hi}")
    value = int(raw)
    if not lo <= value <= hi:
        raise InputError(f"'{name}' must be from {lo} to {hi} (got {value})")
    return value


#: orjson's options for every API body: keys sorted (as Flask's encoder sorts them: one answer,
#: one body and ETag on every server), and dates, dataclasses and non-text keys handed to
#: Flask's own ``default`` so they read as they always have (an HTTP date, a dict, a text key)
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_NON_STR_KEYS
)


def _dumps(data: Any) -> bytes:
    # orjson, not the json module: a lookup answer is ~6 kB (its notes' HTML), and encoding
    # it took ~55 us of a first lookup's ~550 us in the server; orjson takes ~4 us. Non-ASCII
    # text is written as UTF-8 (the body is application/json, UTF-8), not as \u escapes.
    default = current_app.json.default  # type: ignore[attr-defined]  # DefaultJSONProvider's
    return orjson.dumps(data, default=default, option=_ORJSON_OPTIONS)


def _json(data: Any, mimetype: str = JSON, **kwargs: Any) -> Response:
    return http.cached_response(_dumps(data), mimetype, **kwargs)


# -- routes ----------------------------------------------------------------------------------
@bp.get(replay.LOOKUP_PATH)
def lookup() -> Response:
    """Which cycle is this address (``address``) or point (``lon`` and ``lat``) in."""
    address = _text_arg("address")
    lon, lat = _float_arg("lon"), _float_arg("lat")
    if address is None and lon is None and lat is None:
        raise InputError("give an address (?address=12 S Sprigg St) or a point (?lon=..&lat=..)")
    call: dict[str, Any] = {"address": address, "lon": lon, "lat": lat, "date": _date_arg("date")}
    answer = current_city().lookup(**call, record=address is not None)
    replay.offer(request.environ, call, answer)  # asked again, it is served without Flask
    body, etag = _answer_body(answer)
    # an address is what a resident typed: no shared cache keeps it (a point may be shared)
    return http.cached_response(body, JSON, etag=etag, private=address is not None)


def _answer_body(answer: Any) -> tuple[bytes, str]:
    """An answer's JSON body and its ETag, made once per answer object: ``City.lookup`` hands
    out the same frozen answer for the same query, day and snapshot, and a new snapshot (a
    publish, a note edited) makes new ones, so a kept body is never stale. An entry lasts as
    long as its answer (a weak reference: the city's cache decides), and there are at most
    ``ANSWER_BODY_CACHE_SIZE``."""
    bodies: dict[int, tuple[weakref.ref, bytes, str]] = current_app.extensions[
        "cyclemap.api.bodies"
    ]
    key = id(answer)
    kept = bodies.get(key)
    if kept is not None and kept[0]() is answer:
        return kept[1], kept[2]
    body = _dumps(answer.to_dict())
    etag = http.etag_for(body)
    if len(bodies) >= ANSWER_BODY_CACHE_SIZE:
        bodies.clear()

    def forget(_: weakref.ref) -> None:
        # the entry goes when its answer does (before another object can take its id)
        bodies.pop(key, None)

    bodies[key] = (weakref.ref(answer, forget), body, etag)
    return body, etag


@bp.get("/api/v1/suggest")
def suggest() -> Response:
    """Address completions for what a resident has typed so far, best first."""
    query = _required_text_arg("q")
    limit = _int_arg("limit", DEFAULT_SUGGEST_LIMIT, 1, MAX_SUGGEST_LIMIT)
    found = current_city().suggest(query, limit=limit) if query.strip() else []
    suggestions = [{"address": s.address, "lon": s.lon, "lat": s.lat} for s in found]
    return _json({"query": query, "suggestions": suggestions}, private=True)


@bp.get("/api/v1/cycles")
def cycles() -> Response:
    """Every cycle with its current notes and schedule."""
    return _json({"cycles": [c.to_dict() for c in current_city().cycles()]})


@bp.get("/api/v1/cycles/<cycle_id>")
def cycle(cycle_id: str) -> Response:
    """One cycle with its current notes and schedule."""
    return _json(current_city().cycle(cycle_id).to_dict())


def calendar_words() -> CalendarWords:
    """The calendar's words in the request's language (``?lang=``, the cookie or
    ``Accept-Language``, as a page's): its texts translated, its dates written the local way."""
    if speaks("en"):
        return CalendarWords()  # the words as written, unmarked
    return CalendarWords(
        gettext=gettext,
        date=lambda day: format_date(day, format="long"),
        language=current_language(),
    )


@bp.get("/api/v1/cycles/<cycle_id>/calendar.ics")
def calendar(cycle_id: str) -> Response:
    """The cycle's bill, due, penalty and disconnect dates as an iCalendar feed, worded in the
    request's language (the JSON routes are the same in every language)."""
    city = current_city()
    body = city.calendar_ics(cycle_id, words=calendar_words())
    ref = city.cycle_refs[str(cycle_id)]
    filename = f"cycle-{ref.id}.ics" if ref.id.isalnum() else "cycle.ics"
    # DTSTAMP is the time of this very response, so the bytes differ every second: the tag is
    # weak, over the calendar without its DTSTAMP lines (the same events, the same tag)
    return http.cached_response(
        body,
        ICALENDAR,  # Werkzeug adds "; charset=utf-8" to text/* itself
        etag=http.etag_for(_DTSTAMP.sub(b"", body)),
        weak=True,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
        last_modified=city.calendar_modified(),
    )


def feed_url(cycle_id: str | None = None) -> str:
    """The Atom feed of notes for one cycle (``/api/v1/cycles/{id}/feed.atom``) or all."""
    if cycle_id is None:
        return "/api/v1/feed.atom"
    return f"/api/v1/cycles/{quote(str(cycle_id), safe='')}/feed.atom"


def _feed(cycle_id: str | None) -> Response:
    city = current_city()
    root = request.url_root
    feed = city.note_feed(cycle_id, link=root, self_link=root.rstrip("/") + feed_url(cycle_id))
    body = feed.to_atom()
    return http.cached_response(body, ATOM, last_modified=feed.updated)


@bp.get("/api/v1/feed.atom")
def feed_all() -> Response:
    """Every cycle's notes posted, updated and expired, as an Atom feed."""
    return _feed(None)


@bp.get("/api/v1/cycles/<cycle_id>/feed.atom")
def feed_cycle(cycle_id: str) -> Response:
    """One cycle's notes (and those for every cycle) posted, updated and expired, as Atom."""
    return _feed(cycle_id)


def _time_arg(name: str) -> dt.datetime:
    raw = _arg(name)
    if raw is None:
        raise InputError(
            f"the query parameter '{name}' is required, e.g. {name}=2020-02-20T00:00:00Z"
        )
    # a "+hh:mm" offset left unescaped in a query string arrives as " hh:mm"; RFC 3339 allows
    # a lower-case "t" and "z"
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw.strip()).upper()
    earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        if len(raw) > 40:
            raise ValueError
        if text.startswith("0000-"):  # RFC 3339's year 0, before any datetime: the beginning
            dt.datetime.fromisoformat("0001" + text[4:])  # still a valid time otherwise
            return earliest
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"'{name}' must be an ISO 8601 time like 2020-02-20T15:00:00Z (or a date)"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # within a day of year 1 or 9999: the beginning or the end of time
        return earliest if moment.year == 1 else dt.datetime.max.replace(tzinfo=dt.UTC)


@bp.get("/api/v1/changes")
def changes() -> Response:
    """What changed after ``since`` (notes, schedule exceptions, boundary versions), oldest
    first, at most ``limit`` (``more`` says whether to ask again from ``next_since``)."""
    since = _time_arg("since")
    limit = _int_arg("limit", MAX_CHANGES, 1, MAX_CHANGES)
    found = current_city().changes_since(since, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    body = {
        "since": since.isoformat(),
        "changes": [c.to_dict() for c in found],
        "more": more,
        # ask again from here: every change after it (the next page, or those yet to come)
        "next_since": found[-1].at.isoformat() if found else since.isoformat(),
    }
    return _json(body, last_modified=found[-1].at if found else None)


_geojson_lock = threading.Lock()


@bp.get("/api/v1/boundaries.geojson")
def boundaries() -> Response:
    """The live cycle zones as an RFC 7946 FeatureCollection (serialized once per version)."""
    zones = current_city().boundaries
    cache = current_app.extensions.setdefault("cyclemap.api.geojson", {})
    if cache.get("zones") is not zones:
        with _geojson_lock:
            if cache.get("zones") is not zones:
                body = _dumps(zones.to_geojson())
                cache.update(zones=zones, body=body, etag=http.etag_for(body))
    return http.cached_response(cache["body"], GEOJSON, etag=cache["etag"])


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return _json(document())


@bp.get("/api/v1/problems/<code>")
def problem_kind(code: str) -> Response:
    """What one problem ``type`` means (the problem ``type`` URIs point here)."""
    for cls, (status, title) in PROBLEMS.items():
        if cls.code == code:
            doc = (cls.__doc__ or title).strip().splitlines()[0]
            return _json(
                {"type": problem_type(code), "title": title, "status": status, "description": doc}
            )
    raise NotFoundError(f"there is no problem type {code!r}")


def health() -> dict[str, Any]:
    """``{"status": "ok", "boundary_version": N}``, or ``"degraded"`` with a ``reason`` while
    the city answers from an older snapshot because the database cannot be read."""
    city = current_city()
    version = city.boundary_version  # refreshes when one is due: the verdict below is current
    degraded = city.degraded
    body: dict[str, Any] = {"status": "degraded" if degraded else "ok", "boundary_version": version}
    if degraded is not None:
        body["reason"] = degraded.summary()
    return body


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: 200 while this server answers, ``degraded`` and why (never cached).

    A load balancer should use this one: during a database outage every server answers
    lookups from its snapshot, and would all be taken out together by ``/readyz``.
    """
    return Response(_dumps(health()), mimetype=JSON, headers={"Cache-Control": "no-store"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: 200 when the live data could be read, 503 (the same body) while degraded."""
    body = health()
    headers = {"Cache-Control": "no-store"}
    if body["status"] == "ok":
        return Response(_dumps(body), mimetype=JSON, headers=headers)
    headers["Retry-After"] = "5"
    return Response(_dumps(body), status=503, mimetype=JSON, headers=headers)
