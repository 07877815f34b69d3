"""One translator from errors to HTTP: ``application/problem+json`` (RFC 9457) for the API.

``init_app(app)`` registers three handlers:

- every ``CyclemapError`` the core raises gets its status from ``PROBLEMS``, the one table of
  the web layer, and its message as the problem's ``detail``;
- every werkzeug ``HTTPException`` (an unknown route, a wrong method, a rate limit) keeps its
  status and headers (``Allow``, ``Retry-After``);
- any other exception is a bug: it is logged with its traceback and answered ``500`` with a
  detail that says nothing about the code. On a request that carries a resident's address the
  log line has the address's keyed digest instead and the traceback's messages are withheld
  (``privacy.py``).

On ``/api/``, ``/healthz`` and ``/readyz`` the body is problem+json, and on any other path
for a client that asks for JSON rather than HTML (``Accept: application/problem+json`` or
``application/json``); a 503 for an unreachable database is problem+json on every path unless
the client names ``text/html`` (a browser). Otherwise the path is a page for a person: the
handler renders the template ``error.html`` when there is one (it receives ``status``,
``title``, ``detail`` and ``problem``, the same dict the API would send), else plain text.

``StoreUnavailableError`` (the database cannot be reached or read) is ``503`` with a
``Retry-After`` header and a detail saying that nothing was changed; its real message (which
names the database) goes to the log only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, json, render_template, request
from flask_babel import gettext as _
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, NotFound, TooManyRequests
from werkzeug.sansio.response import Response as BaseResponse

from ..errors import (
    AddressFileError,
    BoundaryFileError,
    ConfigError,
    CyclemapError,
    InputError,
    NotFoundError,
    RefusedError,
    StoreError,
    StoreUnavailableError,
)
from . import privacy
from .http import is_api_path

#: the characters a URI path may hold as they are (RFC 3986 pchar and "/"); others are encoded
PATH_SAFE = "/:@!$&'()*+,;=-._~"

PROBLEM_MIMETYPE = "application/problem+json"

#: core error class -> (HTTP status, problem title); the most specific class in the MRO wins
PROBLEMS: dict[type[CyclemapError], tuple[int, str]] = {
    InputError: (400, "Invalid request"),
    NotFoundError: (404, "Not found"),
    StoreError: (409, "Conflict with the live data"),
    StoreUnavailableError: (503, "Service unavailable"),
    BoundaryFileError: (422, "Unusable boundary file"),
    AddressFileError: (422, "Unusable address file"),
    RefusedError: (422, "Refused: the file fails validation"),
    ConfigError: (500, "Server configuration error"),
    CyclemapError: (500, "Internal server error"),
}

#: the ``detail`` of every 5xx answer: the real message goes to the log, not to the caller
SERVER_ERROR_DETAIL = "Something went wrong on the server. The error has been logged."
#: seconds a client is asked to wait (``Retry-After``) when the database cannot be reached
RETRY_AFTER_SECONDS = 30
#: what a problem+json answer is sent as (and what a client asks for to get one on any path)
JSON_TYPES = (PROBLEM_MIMETYPE, "application/json")


def status_for(error: CyclemapError) -> tuple[int, str]:
    """The HTTP status and problem title for a core error.

    >>> status_for(InputError("limit must be between 1 and 50"))
    (400, 'Invalid request')
    >>> status_for(NotFoundError("there is no cycle '9'"))[0]
    404
    """
    for cls in type(error).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return 500, "Internal server error"


def problem_type(code: str | None) -> str:
    """The problem ``type`` URI: ``about:blank`` for plain HTTP errors, else a per-code reference.

    >>> problem_type(None), problem_type("invalid-input")
    ('about:blank', '/api/v1/problems/invalid-input')
    """
    return "about:blank" if code is None else f"/api/v1/problems/{code}"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str | None = None,
    problems: list[Any] | None = None,
) -> dict[str, Any]:
    """The problem object (RFC 9457) for the current request."""
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        # a URI reference (RFC 3986): the decoded path percent-encoded again (h%C2%94)
        "instance": quote(request.path, safe=PATH_SAFE),
    }
    if code is not None:
        body["code"] = code
    if problems:
        body["problems"] = [_jsonable(p) for p in problems]
    return body


def _jsonable(item: Any) -> Any:
    if isinstance(item, str | int | float | bool | dict) or item is None:
        return item
    to_dict = getattr(item, "to_dict", None)
    return to_dict() if callable(to_dict) else str(item)


def problem_response(
    body: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
    *,
    json_unless_page_asked: bool = False,
) -> Response:
    """Render a problem: problem+json on API paths, the ``error.html`` page (or text) elsewhere.

    ``json_unless_page_asked``: problem+json on every path unless the client asks for HTML by
    name (a browser's ``Accept: text/html,...``), for answers scripts must read too.
    """
    status = body["status"]
    json_body = wants_json() or (json_unless_page_asked and not wants_page())
    if is_api_path(request.path) or json_body:
        text = json.dumps(body, separators=(",", ":"))
        response = Response(text, status=status, mimetype=PROBLEM_MIMETYPE)
    else:
        response = _page(body)
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_json() -> bool:
    """True when the client asks for JSON rather than HTML (``Accept``, the most specific and
    best match); no ``Accept``, ``*/*`` and a browser's ``text/html,...`` get the page."""
    return request.accept_mimetypes.best_match(("text/html", *JSON_TYPES)) in JSON_TYPES


def wants_page() -> bool:
    """True when the client names ``text/html`` in ``Accept`` and prefers it to JSON."""
    accept = request.accept_mimetypes
    return "text/html" in accept.values() and not wants_json()


def _page(body: dict[str, Any]) -> Response:
    status = body["status"]
    try:
        html = render_template(
            "error.html", status=status, title=body["title"], detail=body["detail"], problem=body
        )
    except TemplateNotFound:
        text = f"{status} {body['title']}\n\n{body['detail']}\n"
        return Response(text, status=status, mimetype="text/plain")
    except Exception as error:  # the error page itself failed: log it and fall back to text
        privacy.log_exception("error.html failed to render a %s page", status, error=error)
        text = f"{status} {body['title']}\n\n{body['detail']}\n"
        return Response(text, status=status, mimetype="text/plain")
    return Response(html, status=status, mimetype="text/html")


def handle_cyclemap_error(error: CyclemapError) -> Response:
    """A core error: its status from ``PROBLEMS``, its message as ``detail``."""
    status, title = status_for(error)
    if isinstance(error, StoreUnavailableError):
        # a state of the database, not a bug: one line (its message names the database)
        current_app.logger.error(
            "%s %s answered 503: %s", request.method, request.path, error.message
        )
        detail = _(
            "The database cannot be reached right now, so nothing was changed. Try again in "
            "a minute."
        )
        headers = [("Retry-After", str(RETRY_AFTER_SECONDS))]
        # problem+json for scripts and load balancers; a page for a clerk's browser
        return problem_response(
            problem(status, title, detail, code=error.code), headers, json_unless_page_asked=True
        )
    if status >= 500:
        name = type(error).__name__
        if privacy.request_addresses():  # the message might quote the address: not logged
            privacy.log_exception("%s on %s %s", name, request.method, request.path, error=error)
        else:
            current_app.logger.error(
                "%s on %s %s: %s", name, request.method, request.path, error.message
            )
        return problem_response(problem(status, title, SERVER_ERROR_DETAIL, code=error.code))
    return problem_response(
        problem(status, title, error.message, code=error.code, problems=error.problems)
    )


def handle_http_exception(exc: HTTPException) -> BaseResponse | HTTPException:
    """A werkzeug HTTP error (404, 405, 429...) as a problem, keeping its headers."""
    if exc.code is None or exc.code < 400:
        return exc
    if exc.response is not None:
        return exc.response
    title = exc.name
    detail = exc.description or title
    if isinstance(exc, NotFound) and is_api_path(request.path):
        detail = (
            f"There is no API route {request.path}. The API is described at /api/v1/openapi.json."
        )
    elif isinstance(exc, TooManyRequests):
        limit = f" (the limit is {exc.description})" if exc.description else ""
        detail = f"Too many requests{limit}. Wait a little and try again."
    elif exc.code >= 500:
        detail = SERVER_ERROR_DETAIL
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return problem_response(problem(exc.code, title, detail), headers)


def handle_unexpected(error: Exception) -> Response:
    """A bug: log the traceback, answer 500 without it (the debugger shows it in dev mode)."""
    if current_app.debug and not is_api_path(request.path):
        raise error
    privacy.log_exception("unhandled error on %s %s", request.method, request.path, error=error)
    return problem_response(problem(500, "Internal server error", SERVER_ERROR_DETAIL))


def init_app(app: Flask) -> None:
    """Register the handlers: core errors, HTTP errors and unexpected exceptions."""
    app.register_error_handler(CyclemapError, handle_cyclemap_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
