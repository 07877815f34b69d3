"""What the app writes to its log about a resident's request: never the address.

A resident's address is in the query string of ``/lookup`` and ``/api/v1/lookup``
(``?address=``) and, as it is typed, of ``/api/v1/suggest`` (``?q=``). The access log leaves
query strings out (``cli/serve.py``); this module covers the app's own log lines. An error while
answering a request that carries an address is logged with

- the method and the path (no query string);
- ``query_digest`` of the address: a keyed hash (HMAC-SHA256 under the app's ``SECRET_KEY``) of
  its exact-match key (``geocode.exact_key``), so that the lines of one query can be counted
  and told apart ("12 s sprigg st" and "12 S SPRIGG ST" have one digest) but not read, and
  nobody without the key can test a guess against them;
- the traceback with every exception's message withheld, since a message may quote the text it
  failed on (its frames, file names and line numbers are kept: they say where, not what).

A request without an address keeps the whole traceback (messages included).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import traceback
from typing import Any

from flask import current_app, request

from ..geocode import exact_key

#: the query parameters that hold what a resident typed as their address
ADDRESS_PARAMS = ("address", "q")
#: hex digits of a digest in a log line (64 bits: enough to tell queries apart)
DIGEST_CHARS = 16
#: what stands in a traceback for an exception's message
WITHHELD = "[message withheld: the request carried an address]"


def query_digest(text: str, key: str | bytes) -> str:
    """A keyed hash of an address as the geocoder's exact-match key reads it.

    >>> query_digest("12 s  sprigg st", "k") == query_digest("12 S SPRIGG ST", "k")
    True
    >>> query_digest("12 S SPRIGG ST", "k") == query_digest("12 S SPRIGG ST", "other key")
    False
    >>> len(query_digest("12 S SPRIGG ST", b"k"))
    16
    """
    secret = key if isinstance(key, bytes) else key.encode("utf-8")
    message = exact_key(text).encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def request_addresses() -> list[str]:
    """The addresses the current request carries (empty outside a request or without one)."""
    if not request:
        return []
    return [value for name in ADDRESS_PARAMS for value in request.args.getlist(name) if value]


def withheld_traceback(error: BaseException) -> str:
    """``error``'s traceback (and its causes') with each exception's message left out.

    >>> typed = "12 S " + "SPRIGG ST"
    >>> try:
    ...     raise ValueError(f"{typed} is odd")
    ... except ValueError as exc:
    ...     text = withheld_traceback(exc)
    >>> typed in text, text.splitlines()[-1]
    (False, 'ValueError: [message withheld: the request carried an address]')
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        name = type(current).__qualname__
        parts.append(f"Traceback (most recent call last):\n{frames}{name}: {WITHHELD}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    # the cause first, as Python prints a chain
    return "\n\nThe above exception led to the following exception:\n\n".join(reversed(parts))


def log_exception(
    message: str, *args: Any, error: BaseException, logger: logging.Logger | None = None
) -> None:
    """Log an error with its traceback; on a request that carries an address, the address's
    digest in place of the address and the traceback without its messages."""
    log = logger or current_app.logger
    addresses = request_addresses()
    if not addresses:
        log.error(message, *args, exc_info=(type(error), error, error.__traceback__))
        return
    key = current_app.config.get("SECRET_KEY") or _process_key()
    digests = ", ".join(query_digest(a, key) for a in addresses)
    log.error(f"{message} [address digest {digests}]\n%s", *args, withheld_traceback(error))


@functools.cache
def _process_key() -> bytes:
    """A random key for this process, for an app without ``SECRET_KEY`` (never in practice:
    the staff workspace sets one)."""
    return secrets.token_bytes(32)
