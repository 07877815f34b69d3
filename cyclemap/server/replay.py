"""Repeated ``/api/v1/lookup`` requests answered again without Flask: the same bytes, faster.

A city's website asks the API the same few thousand addresses over and over. Each answer is
already kept by the city (``City.lookup`` hands out the same frozen answer for the same query,
day and snapshot) and its JSON body by the API (``api._answer_body``); what is left of a
repeated request is the web framework itself: Flask's request context, routing, hooks and
response object cost a request about twice what the lookup does (measured under gunicorn:
``scripts.bench_api``). ``LookupReplay`` is a WSGI middleware in front of the app that keeps,
per query string and host, the response Flask made (status, headers, body) beside the answer
it was made of (a weak reference), and serves a repeated request with those bytes once it has asked
the city again and been handed **that same answer object**. So nothing it serves can be stale:
a publish, a note edited, a new day or a new snapshot make a new answer, the check fails and
the request goes through Flask, which keeps the new response.

It only ever replays what is sure to be the same, and sends everything else to Flask:

- only ``GET /api/v1/lookup`` with no ``Cookie``, ``Authorization``, ``If-None-Match`` or
  ``If-Modified-Since`` (a conditional request may be a ``304``; a cookie may be a session);
- only a ``200`` whose headers have no ``Set-Cookie`` and no ``Vary`` (a CORS list of origins
  answers each ``Origin`` its own way) and that the view offered (``offer``): the answer is not
  a miss, so recording it (``record=True``: a miss is counted for staff) does nothing, and
  asking the city again without ``record`` is exactly what Flask's view would have done;
- never with rate limits on (``RATELIMIT``): every request must reach flask-limiter;
- only to a request naming the host the kept one named (``Host``, ``X-Forwarded-Host``...:
  ``_HOST_KEYS``): Flask refuses a host outside ``TRUSTED_HOSTS`` with a ``400``;
- only for a query string of at most ``REPLAY_MAX_QUERY_BYTES``: one may be 16 KiB of
  parameters the view never reads (``MAX_QUERY_BYTES``), and the kept must stay small.

The kept responses are this process's own (at most ``REPLAY_SIZE``, forgotten all at once when
full), derived from the shared store's state like the city's own answer cache: several servers
each keep theirs, and none can serve what its city would not.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

from ..misses import MISS_STATUSES

#: the route replayed
LOOKUP_PATH = "/api/v1/lookup"
#: the most responses kept per process (as many as the city keeps answers)
REPLAY_SIZE = 4096
#: the longest query string kept (the longest address the API takes, 400 ASCII characters, each
#: one percent-encoded, is 1,208 bytes): what is kept stays within REPLAY_SIZE times this and a body
REPLAY_MAX_QUERY_BYTES = 2048
#: where the view leaves its offer for this request (the WSGI environ)
OFFER_KEY = "cyclemap.replay.offer"
#: request headers that may change the answer's HTTP form (WSGI names): such requests go to Flask
_PERSONAL = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
#: what Flask checks the host against ``TRUSTED_HOSTS`` with, before and after ``ProxyFix``
#: (WSGI names): a replayed response was made for the same values
_HOST_KEYS = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO",
)
#: response headers that make a response depend on more than the query string
_UNREPEATABLE = frozenset({"set-cookie", "vary"})

Call = dict[str, Any]
Key = tuple[Any, ...]
Kept = tuple[Call, weakref.ref, str, tuple[tuple[str, str], ...], bytes]


def offer(environ: dict[str, Any], call: Call, answer: Any) -> None:
    """Offer this request's response for replay: ``call`` is the keyword arguments the view gave
    ``City.lookup`` (without ``record``) and ``answer`` what it returned. A miss is not offered
    (each one is counted)."""
    if answer.status not in MISS_STATUSES:
        environ[OFFER_KEY] = (call, answer)


class LookupReplay:
    """WSGI middleware: a repeated lookup is answered with the response Flask made the first
    time, after the city has confirmed that the answer behind it is still the one it gives.

    ``lookup`` is ``City.lookup`` (a bound method of the app's city). ``hits`` counts the
    requests served so, ``kept`` is the number of responses held.
    """

    def __init__(self, app: Callable[..., Any], lookup: Callable[..., Any]) -> None:
        self.app = app
        self.lookup = lookup
        self.hits = 0
        self._kept: dict[Key, Kept] = {}

    @property
    def kept(self) -> int:
        """How many responses are held for replay."""
        return len(self._kept)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            environ.get("PATH_INFO") != LOOKUP_PATH
            or environ.get("REQUEST_METHOD") != "GET"
            or any(name in environ for name in _PERSONAL)
        ):
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        if len(query) > REPLAY_MAX_QUERY_BYTES:
            return self.app(environ, start_response)
        key = (query, *[environ.get(name) for name in _HOST_KEYS])
        kept = self._kept.get(key)
        if kept is not None:
            call, ref, status, headers, body = kept
            answer = ref()
            if answer is not None and self._still(call, answer):
                self.hits += 1
                start_response(status, list(headers))
                return [body]
        return self._through_flask(key, environ, start_response)

    def _still(self, call: Call, answer: Any) -> bool:
        try:
            return self.lookup(**call) is answer
        except Exception:  # whatever it is, Flask's view meets it again and answers it properly
            return False

    def _through_flask(
        self, key: Key, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Any:
        seen: list[Any] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen[:] = (status, headers)
            return start_response(status, headers, exc_info)

        result = self.app(environ, start)
        offered = environ.get(OFFER_KEY)
        if offered is None or not seen or not seen[0].startswith("200 "):
            return result
        status, headers = seen
        if any(name.lower() in _UNREPEATABLE for name, _ in headers):
            return result
        body = _read(result)
        call, answer = offered
        if len(self._kept) >= REPLAY_SIZE:
            self._kept.clear()
        self._kept[key] = (call, weakref.ref(answer), status, tuple(headers), body)
        return [body]


def _read(result: Iterable[bytes]) -> bytes:
    """A WSGI response's whole body, the iterable closed as the server would close it."""
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
