"""The OpenAPI 3.1 description of the JSON API, served at ``/api/v1/openapi.json``.

The document is built from plain dicts here so that its pieces are shared rather than copied.
Its schemas are strict (``additionalProperties: false`` and every field required where the
shape is fixed) and ``tests/test_openapi.py`` validates real answers of every status against
them, so a change to an answer's shape fails a test until this file says the same.

>>> doc = document()
>>> doc["openapi"], sorted(doc["components"]["schemas"])[:3]
('3.1.0', ['Answer', 'AnswerAmbiguous', 'AnswerMatched'])
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from ..billing import EXCEPTION_KINDS as _KINDS
from ..billing import NOTE_LANGUAGES
from ..config import CYCLE_NAME_LANGUAGES
from ..decide import Status
from ..geocode import MAX_ADDRESS_LENGTH, MatchType

API_VERSION = "1.0.0"

#: the enums, from the one place each is defined
MATCH_TYPES = [m.value for m in MatchType]
STATUSES = [s.value for s in Status]
EXCEPTION_KINDS = list(_KINDS)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None, **extra: Any) -> dict:
    """A closed object schema: ``required`` fields must be present, nothing else is allowed."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


LON = {"type": "number", "minimum": -180, "maximum": 180, "description": "Longitude, WGS 84"}
LAT = {"type": "number", "minimum": -90, "maximum": 90, "description": "Latitude, WGS 84"}
DATE = {"type": "string", "format": "date"}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
EMPTY_ARRAY = {"type": "array", "maxItems": 0}

#: a cycle's name in other languages, as city.toml gives it (``name_es``): notes' pattern
CYCLE_TRANSLATIONS = {
    "type": "object",
    "description": (
        "The cycle's name in other languages, by language tag (`es`), as the city gives it; "
        "`{}` when it gives none. `name` is English; the answer is the same whatever "
        "`Accept-Language` asks"
    ),
    "propertyNames": {"enum": list(CYCLE_NAME_LANGUAGES)},
    "additionalProperties": _obj({"name": {"type": "string"}}),
}

SCHEMAS: dict[str, Any] = {
    "CycleRef": _obj(
        {
            "id": {"type": "string", "description": 'The cycle id, e.g. "2"'},
            "name": {"type": "string"},
            "color": {"type": "string", "description": "A CSS colour for maps and legends"},
        },
        description="A cycle as an answer names it (its names in other languages: `Cycle`).",
    ),
    "Location": _obj(
        {
            "lon": LON,
            "lat": LAT,
            "matched_address": {
                "type": "string",
                "description": "The address as the city's layer spells it (empty for a point)",
            },
            "match_type": {"type": "string", "enum": MATCH_TYPES},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
        },
        description="Where the address was found and how sure the match is.",
    ),
    "Candidate": _obj(
        {
            "matched_address": {
                "type": "string",
                "description": (
                    "The address; with its town and ZIP (`101 MAIN ST, ASHFORD 00001`) when the "
                    "city has several towns or two candidates would otherwise read the same"
                ),
            },
            "lon": LON,
            "lat": LAT,
            "cycle_id": {
                "type": ["string", "null"],
                "description": "The candidate's cycle, null outside every cycle",
            },
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "match_type": {"type": "string", "enum": MATCH_TYPES},
        },
        description="One possible place for an ambiguous or unfound address.",
    ),
    "Note": _obj(
        {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "html": {"type": "string", "description": "The body as sanitized HTML"},
            "updated": NULLABLE_DATE,
            "cycles": {
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"const": "all"},
                ]
            },
            "translations": {
                "type": "object",
                "description": (
                    "The note in other languages, by language tag (`es`); `{}` when it has "
                    "none. `title` and `html` are English; the answer is the same whatever "
                    "`Accept-Language` asks"
                ),
                "propertyNames": {"enum": list(NOTE_LANGUAGES)},
                "additionalProperties": _obj(
                    {"title": {"type": "string"}, "html": {"type": "string"}}
                ),
            },
        },
        description="A billing-status note shown today.",
    ),
    "ScheduleException": _obj(
        {
            "date": DATE,
            "kind": {"type": "string", "enum": EXCEPTION_KINDS},
            "text": {"type": "string"},
        },
        description="A one-off change to the schedule that is in force.",
    ),
    "Bill": _obj(
        {
            "bill_date": DATE,
            "due_date": NULLABLE_DATE,
            "penalty_date": NULLABLE_DATE,
            "disconnect_date": NULLABLE_DATE,
        },
        description=(
            "One bill and the dates that follow from it (null: waived or not part of the "
            "schedule), in the order they fall."
        ),
    ),
    "Schedule": _obj(
        {
            "next_bill_date": NULLABLE_DATE,
            "next_due_date": NULLABLE_DATE,
            "next_penalty_date": NULLABLE_DATE,
            "next_disconnect_date": NULLABLE_DATE,
            "exceptions": {"type": "array", "items": _ref("ScheduleException")},
            "current_bill": _nullable(_ref("Bill")),
            "next_bill": _nullable(_ref("Bill")),
        },
        description=(
            "The next dates that apply to a cycle, each an ISO date or null; the bill last "
            "mailed (current_bill, its past dates too) and the one to come (next_bill)."
        ),
    ),
    "Confirm": _obj(
        {
            "reason": {"const": "near_boundary"},
            "distance_m": {"type": "number", "minimum": 0},
            "other_cycles": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        description=(
            "The place is approximate (interpolated, street level, a map click or a device "
            "location) and other cycles' zones are within [lookup] confirm_within_m: ask the "
            "resident to confirm the place on the map."
        ),
    ),
    "Cycle": _obj(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "color": {"type": "string"},
            "translations": CYCLE_TRANSLATIONS,
            "notes": {"type": "array", "items": _ref("Note")},
            "schedule": _nullable(_ref("Schedule")),
        },
        description=(
            "A cycle with its current notes and schedule (null: the city publishes no dates "
            "for this cycle)."
        ),
    ),
    "CycleList": _obj({"cycles": {"type": "array", "items": _ref("Cycle")}}),
    "Query": {
        "description": "What was asked: an address or a point.",
        "oneOf": [
            _obj({"address": {"type": "string"}}),
            _obj({"lon": LON, "lat": LAT}),
        ],
    },
    "EffectiveChange": _obj(
        {"date": DATE, "cycle": _nullable(_ref("CycleRef"))},
        description=(
            "A boundary version scheduled to take effect on ``date`` puts this place in another "
            "cycle (null: outside every cycle) from that day."
        ),
    ),
    "AnswerMatched": _obj(
        {
            "status": {"const": Status.MATCHED.value},
            "query": _ref("Query"),
            "location": _ref("Location"),
            "cycle": _ref("CycleRef"),
            "notes": {"type": "array", "items": _ref("Note")},
            "schedule": _nullable(_ref("Schedule")),
            "candidates": EMPTY_ARRAY,
            "boundary_version": {"type": "integer", "minimum": 0},
            "effective_changes": {"type": "array", "items": _ref("EffectiveChange")},
            "confirm": _nullable(_ref("Confirm")),
        },
        description=(
            "The address (or point) is in one cycle; schedule null when the city publishes no "
            "dates for it; confirm set when the place is approximate and near another cycle."
        ),
    ),
    "AnswerAmbiguous": _obj(
        {
            "status": {"const": Status.AMBIGUOUS.value},
            "query": _ref("Query"),
            "location": {"type": "null"},
            "cycle": _nullable(_ref("CycleRef")),
            "notes": {"type": "array", "items": _ref("Note")},
            "schedule": _nullable(_ref("Schedule")),
            "candidates": {"type": "array", "items": _ref("Candidate"), "minItems": 1},
            "boundary_version": {"type": "integer", "minimum": 0},
            "effective_changes": EMPTY_ARRAY,
            "confirm": {"type": "null"},
        },
        description=(
            "Several places match: pick one of the candidates. The cycle is given only when "
            "every candidate is in the same cycle."
        ),
    ),
    "AnswerNotFound": _obj(
        {
            "status": {"const": Status.NOT_FOUND.value},
            "query": _ref("Query"),
            "location": {"type": "null"},
            "cycle": {"type": "null"},
            "notes": EMPTY_ARRAY,
            "schedule": {"type": "null"},
            "candidates": {"type": "array", "items": _ref("Candidate")},
            "boundary_version": {"type": "integer", "minimum": 0},
            "effective_changes": EMPTY_ARRAY,
            "confirm": {"type": "null"},
        },
        description="No such address; the candidates are suggestions when any are close.",
    ),
    "AnswerOutside": _obj(
        {
            "status": {"const": Status.OUTSIDE.value},
            "query": _ref("Query"),
            "location": _ref("Location"),
            "cycle": {"type": "null"},
            "notes": EMPTY_ARRAY,
            "schedule": {"type": "null"},
            "candidates": EMPTY_ARRAY,
            "boundary_version": {"type": "integer", "minimum": 0},
            "effective_changes": EMPTY_ARRAY,
            "confirm": {"type": "null"},
        },
        description="Located, but in no cycle (outside the service area).",
    ),
    "Answer": {
        "description": "The answer to one lookup; its shape depends on ``status``.",
        "oneOf": [
            _ref("AnswerMatched"),
            _ref("AnswerAmbiguous"),
            _ref("AnswerNotFound"),
            _ref("AnswerOutside"),
        ],
        "discriminator": {
            "propertyName": "status",
            "mapping": {
                Status.MATCHED.value: "#/components/schemas/AnswerMatched",
                Status.AMBIGUOUS.value: "#/components/schemas/AnswerAmbiguous",
                Status.NOT_FOUND.value: "#/components/schemas/AnswerNotFound",
                Status.OUTSIDE.value: "#/components/schemas/AnswerOutside",
            },
        },
    },
    "Suggestion": _obj({"address": {"type": "string"}, "lon": LON, "lat": LAT}),
    "SuggestionList": _obj(
        {
            "query": {"type": "string"},
            "suggestions": {"type": "array", "items": _ref("Suggestion"), "maxItems": 50},
        }
    ),
    "Change": _obj(
        {
            "at": {"type": "string", "format": "date-time", "description": "When (UTC)"},
            "kind": {"enum": ["note", "exception", "boundary_version"]},
            "id": {
                "type": ["string", "null"],
                "description": "The note's or exception's id, or the boundary version",
            },
            "action": {
                "type": "string",
                "description": "seed, add, edit, expire (notes); add, remove (exceptions); "
                "seed, publish, rollback (boundary versions)",
            },
            "detail": {
                "type": "object",
                "description": "What residents see of the thing after the change (before it, "
                "for a removal): a note's title, cycles, dates; an exception's kind, dates, "
                "cycles and text; a boundary version's live_version, effective day, message.",
            },
        }
    ),
    "ChangeList": _obj(
        {
            "since": {"type": "string", "format": "date-time"},
            "changes": {"type": "array", "items": _ref("Change")},
            "more": {
                "type": "boolean",
                "description": "true: more changes than ``limit``; ask again from next_since",
            },
            "next_since": {
                "type": "string",
                "format": "date-time",
                "description": "The time of the last change listed (else since): the next "
                "call's since",
            },
        }
    ),
    "Health": {
        "oneOf": [
            _obj(
                {"status": {"const": "ok"}, "boundary_version": {"type": "integer", "minimum": 0}}
            ),
            _obj(
                {
                    "status": {"const": "degraded"},
                    "boundary_version": {"type": "integer", "minimum": 0},
                    "reason": {"type": "string", "minLength": 1},
                },
                description=(
                    "The database cannot be read: lookups, suggest, the pages and the map are "
                    "answered from the live data read last (the reason says since when); "
                    "changes and staff pages answer 503 until it is back."
                ),
            ),
        ],
        "description": "Whether this server answers from live data.",
    },
    "Problem": _obj(
        {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "minLength": 1},
            "instance": {"type": "string", "format": "uri-reference"},
        },
        {
            "code": {"type": "string", "description": "The core error's slug"},
            "problems": {"type": "array", "description": "Evidence, e.g. each boundary problem"},
        },
        description="An error (RFC 9457, application/problem+json).",
    ),
    "ProblemType": _obj(
        {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "description": {"type": "string"},
        },
        description="What a problem type means.",
    ),
    "Position": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3},
    "Polygon": _obj(
        {
            "type": {"const": "Polygon"},
            "coordinates": {
                "type": "array",
                "items": {"type": "array", "minItems": 4, "items": _ref("Position")},
            },
        },
        {"bbox": {"type": "array", "items": {"type": "number"}}},
    ),
    "MultiPolygon": _obj(
        {
            "type": {"const": "MultiPolygon"},
            "coordinates": {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {"type": "array", "minItems": 4, "items": _ref("Position")},
                },
            },
        },
        {"bbox": {"type": "array", "items": {"type": "number"}}},
    ),
    "Zone": {
        "type": "object",
        "description": "One cycle's zone; ``properties`` holds the cycle id (``cycle``) and "
        "whatever else the city's file carried.",
        "properties": {
            "type": {"const": "Feature"},
            "properties": {"type": "object"},
            "geometry": {"oneOf": [_ref("Polygon"), _ref("MultiPolygon")]},
        },
        "required": ["type", "properties", "geometry"],
    },
    "ZoneCollection": {
        "type": "object",
        "description": "The live zones, an RFC 7946 FeatureCollection in WGS 84.",
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": _ref("Zone")},
        },
        "required": ["type", "features"],
        "not": {"required": ["crs"]},
    },
}

_HEADERS = {
    "ETag": {
        "description": "A digest of the body: it changes with the boundary version, the notes "
        "and the date. Send it back in If-None-Match to get 304.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"schema": {"type": "string"}},
}
#: the headers of an answer that also says when it last changed (feeds, calendars, changes)
_DATED_HEADERS = {
    **_HEADERS,
    "Last-Modified": {
        "description": "When the newest change the body reflects was made. Send it back in "
        "If-Modified-Since to get 304 (If-None-Match wins when both are sent).",
        "schema": {"type": "string"},
    },
}

RESPONSES: dict[str, Any] = {
    "BadRequest": {
        "description": "A parameter is missing or unusable",
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
    "NotFound": {
        "description": "No such thing",
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
    "TooManyRequests": {
        "description": "Rate limit exceeded (when the server has one)",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
    "UriTooLong": {
        "description": "The query string is longer than the server accepts (MAX_QUERY_BYTES)",
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
    "ServerError": {
        "description": "An error on the server (logged there)",
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
    "Unavailable": {
        "description": (
            "The database cannot be reached right now; nothing was changed (answers that need "
            "it, such as a lookup for a day whose zones this server has not read)"
        ),
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    },
    "NotModified": {
        "description": "The client's copy (If-None-Match, or If-Modified-Since where the "
        "answer has a Last-Modified) is still current"
    },
}

PARAMETERS: dict[str, Any] = {
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "An ETag from an earlier answer: 304 if it is still current.",
    },
    "IfModifiedSince": {
        "name": "If-Modified-Since",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "A Last-Modified from an earlier answer: 304 if nothing changed since.",
        "example": "Thu, 20 Feb 2020 15:00:00 GMT",
    },
    "CycleId": {
        "name": "cycle_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "A cycle id, e.g. 2",
        "example": "2",
    },
}


def _ok(schema: str, mimetype: str = "application/json", description: str = "OK") -> dict:
    return {
        "description": description,
        "headers": _HEADERS,
        "content": {mimetype: {"schema": _ref(schema)}},
    }


def _errors(*names: str) -> dict[str, Any]:
    codes = {"BadRequest": "400", "NotFound": "404", "TooManyRequests": "429"}
    out = {codes[n]: {"$ref": f"#/components/responses/{n}"} for n in names}
    # any request may carry a query string, and one too long is refused before the route runs
    out["414"] = {"$ref": "#/components/responses/UriTooLong"}
    out["500"] = {"$ref": "#/components/responses/ServerError"}
    return out


def _get(
    summary: str,
    ok: dict,
    *,
    params: list | None = None,
    errors: tuple[str, ...] = (),
    cached: bool = True,
    limited: bool = True,
    unavailable: dict | None = None,
) -> dict:
    responses: dict[str, Any] = {"200": ok}
    parameters = list(params or [])
    if cached:
        responses["304"] = {"$ref": "#/components/responses/NotModified"}
        parameters.append({"$ref": "#/components/parameters/IfNoneMatch"})
    responses.update(_errors(*errors, *(("TooManyRequests",) if limited else ())))
    if unavailable is not None:
        responses["503"] = unavailable
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


#: what a resident types: up to the geocoder's limit, and never a NUL (refused: 400)
_QUERY_TEXT = {"type": "string", "maxLength": MAX_ADDRESS_LENGTH, "pattern": "^[^\\u0000]*$"}
_IF_MODIFIED_SINCE = {"$ref": "#/components/parameters/IfModifiedSince"}
_ATOM = {
    "description": "An Atom feed",
    "headers": _DATED_HEADERS,
    "content": {"application/atom+xml": {"schema": {"type": "string"}}},
}

PATHS: dict[str, Any] = {
    "/api/v1/lookup": _get(
        "Which cycle is an address or a point in",
        _ok("Answer"),
        params=[
            {
                # one exploded object, because the parameters depend on each other: an address,
                # or a point (lon with lat), never both; other parameters are ignored
                "name": "place",
                "in": "query",
                "required": True,
                "style": "form",
                "explode": True,
                "description": (
                    "Either `address` (a street address, e.g. `12 S Sprigg St`) or `lon` and "
                    "`lat` (a point in WGS 84), never both; with an optional `date` to answer as "
                    "of that day (ISO date: the boundary version in force, the notes and the "
                    "dates of that day; default: today in the city). Other query parameters "
                    "are ignored."
                ),
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "title": "An address",
                            "properties": {
                                "address": {**_QUERY_TEXT, "minLength": 1},
                                "date": DATE,
                                "lon": False,
                                "lat": False,
                            },
                            "required": ["address"],
                        },
                        {
                            "type": "object",
                            "title": "A point",
                            "properties": {"lon": LON, "lat": LAT, "date": DATE, "address": False},
                            "required": ["lon", "lat"],
                        },
                    ]
                },
                "examples": {
                    "address": {"value": {"address": "12 S Sprigg St"}},
                    "point": {"value": {"lon": -89.52, "lat": 37.305, "date": "2020-03-01"}},
                },
            },
        ],
        errors=("BadRequest",),
        unavailable={"$ref": "#/components/responses/Unavailable"},
    ),
    "/api/v1/suggest": _get(
        "Address completions as a resident types, best first",
        _ok("SuggestionList"),
        params=[
            {
                "name": "q",
                "in": "query",
                "required": True,
                "schema": _QUERY_TEXT,
                "description": "What the resident has typed so far",
                "example": "117 s spr",
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                "description": "How many completions at most",
                "example": 5,
            },
        ],
        errors=("BadRequest",),
    ),
    "/api/v1/cycles": _get("Every cycle with its notes and schedule", _ok("CycleList")),
    "/api/v1/cycles/{cycle_id}": _get(
        "One cycle with its notes and schedule",
        _ok("Cycle"),
        params=[{"$ref": "#/components/parameters/CycleId"}],
        errors=("NotFound",),
    ),
    "/api/v1/cycles/{cycle_id}/calendar.ics": _get(
        "The cycle's bill, due, penalty and disconnect dates (iCalendar, RFC 5545)",
        {
            "description": "An iCalendar feed",
            "headers": _DATED_HEADERS,
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        params=[{"$ref": "#/components/parameters/CycleId"}, _IF_MODIFIED_SINCE],
        errors=("NotFound",),
    ),
    "/api/v1/cycles/{cycle_id}/feed.atom": _get(
        "The cycle's notes (and those for every cycle) posted, updated and expired (Atom, "
        "RFC 4287; entry ids are tag: URIs that never change)",
        _ATOM,
        params=[{"$ref": "#/components/parameters/CycleId"}, _IF_MODIFIED_SINCE],
        errors=("NotFound",),
    ),
    "/api/v1/feed.atom": _get(
        "Every cycle's notes posted, updated and expired (Atom, RFC 4287)",
        _ATOM,
        params=[_IF_MODIFIED_SINCE],
    ),
    "/api/v1/changes": _get(
        "What changed after a time: notes, schedule exceptions, boundary versions (oldest first)",
        {**_ok("ChangeList"), "headers": _DATED_HEADERS},
        params=[
            {
                "name": "since",
                "in": "query",
                "required": True,
                "schema": {
                    "type": "string",
                    "maxLength": 40,
                    "anyOf": [{"format": "date-time"}, {"format": "date"}],
                },
                "description": "An ISO 8601 time (UTC when it has no offset) or date: "
                "changes strictly after it",
                "example": "2020-02-20T15:00:00Z",
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
                "example": 100,
            },
        ],
        errors=("BadRequest",),
    ),
    "/api/v1/boundaries.geojson": _get(
        "The live cycle zones (RFC 7946, WGS 84)", _ok("ZoneCollection", "application/geo+json")
    ),
    "/api/v1/openapi.json": _get(
        "This document",
        {
            "description": "OpenAPI 3.1",
            "headers": _HEADERS,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    ),
    "/api/v1/problems/{code}": _get(
        "What a problem type means (the target of a problem's type URI)",
        _ok("ProblemType"),
        params=[
            {
                "name": "code",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "example": "invalid-input",
            }
        ],
        errors=("NotFound",),
    ),
    "/healthz": _get(
        "Liveness and the live boundary version: 200 while the server answers (degraded too)",
        _ok("Health"),
        cached=False,
        limited=False,
    ),
    "/readyz": _get(
        "Readiness: 200 when the live data can be read, 503 while answering from older data",
        _ok("Health"),
        cached=False,
        limited=False,
        unavailable={
            "description": "Degraded: the database cannot be read (the same body as /healthz)",
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ref("Health")}},
        },
    ),
}


@functools.cache
def _build() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "cyclemap API",
            "version": API_VERSION,
            "summary": "Find the utility billing cycle of an address, with its notes and dates.",
            "description": (
                "A read-only API: any origin may call it unless the server is configured "
                "otherwise (CORS). Errors are application/problem+json (RFC 9457) with a "
                "human-readable detail; invalid parameters are 400. Answers carry an ETag "
                "and a short Cache-Control max-age."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "responses": RESPONSES, "parameters": PARAMETERS},
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy the caller may change)."""
    return copy.deepcopy(_build())
