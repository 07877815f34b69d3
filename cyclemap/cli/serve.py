"""``cyclemap serve``: the web app under gunicorn (or Flask's reloader with ``--dev``).

Gunicorn is driven through its Python API with ``preload_app``: the master builds the app once
(migrating and seeding the store, loading the city's zones and address index) and the workers
are forked from it, sharing that memory. Database connections must not cross a fork, so the
master closes its pool before forking and each worker starts with an empty one. The master then
freezes what it built (``gc.freeze``): the city's hundred thousand and more objects live as long
as the server, so the workers' garbage collector never walks them again (a full collection of
them took ~0.1 s of a worker's time; the pages they sit on are not written by it, either).

Access logs leave out query strings: a lookup's query string is a resident's address. What
they do log (the path, method, protocol) is escaped by ``log_escape``: a path holding
``%0d%0a`` or ``%00`` cannot write a forged line or a NUL into the log. Gunicorn's own error
log names a request by its URI when it fails to handle one: ``QueryRedactor`` cuts the query
off there too (and from the development server's request lines with ``--dev``). The app's log
lines are ``server/privacy.py``'s.

Request size limits at the server: a request line of at most ``LIMIT_REQUEST_LINE`` bytes (the
most gunicorn allows), ``LIMIT_REQUEST_FIELDS`` header fields of at most
``LIMIT_REQUEST_FIELD_SIZE`` bytes each; gunicorn answers a larger request ``400`` (or ``414``)
itself, in plain HTML, before the app sees it. Bodies are bounded by the app
(``MAX_CONTENT_LENGTH``, ``server/http.py``).
"""

from __future__ import annotations

import gc
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import click

from . import Context, handles_errors, main, pass_context, resume_collector

#: gunicorn access log line without the query string (``%(U)s`` is the path alone) and without
#: the Referer (a page's Referer is its own URL, query and address included)
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
#: gunicorn's request limits (its defaults are 4094, 100 and 8190; 8190 is its largest line)
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 100
LIMIT_REQUEST_FIELD_SIZE = 8190

#: a URI's query string in a log line: from "?" to the next space, quote or end
_QUERY = re.compile(r"\?[^\s\"']*")
#: what a query string becomes in a log line
QUERY_WITHHELD = "?[query withheld]"
#: gunicorn's line for a request it refuses, which quotes the request line's text
_INVALID = re.compile(r"(Invalid request from ip=\S*: )(.*)", re.DOTALL)
#: what stands for the request text such a line quoted
REQUEST_TEXT_WITHHELD = "[request text withheld]"


def redact_queries(text: str) -> str:
    """``text`` with every URI's query string withheld (it may hold a resident's address), and
    the quoted request text of gunicorn's "Invalid request" lines.

    >>> redact_queries("Error handling request /lookup?address=12+S+Sprigg+St&lang=es")
    'Error handling request /lookup?[query withheld]'
    >>> redact_queries('"GET /api/v1/suggest?q=12%20s HTTP/1.1" 200 -')
    '"GET /api/v1/suggest?[query withheld] HTTP/1.1" 200 -'
    >>> redact_queries("Invalid request from ip=::1: Invalid HTTP Version: 'Sprigg St HTTP/1.1'")
    'Invalid request from ip=::1: Invalid HTTP Version: [request text withheld]'
    >>> redact_queries("Booting worker with pid: 12")
    'Booting worker with pid: 12'
    """
    invalid = _INVALID.match(text)
    if invalid:
        head, detail = invalid.groups()
        kept = re.split(r"['\"]", detail, maxsplit=1)[0]
        text = head + (kept if kept == detail else kept + REQUEST_TEXT_WITHHELD)
    return _QUERY.sub(QUERY_WITHHELD, text) if "?" in text else text


class QueryRedactor(logging.Filter):
    """A logging filter that withholds query strings from a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        message = record.getMessage()
        redacted = redact_queries(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_queries(record.exc_text)
        return True


def log_escape(text: str) -> str:
    r"""``text`` as printable ASCII for one log line: a backslash, a double quote, and every
    control or non-ASCII character are escaped (``\\``, ``\"``, ``\xNN``; ``\uNNNN`` above
    U+00FF), so a request cannot end the line, add a forged one, or write a NUL.

    >>> print(log_escape('/x\r\nFORGED "x" \x00 \\ é'))
    /x\x0d\x0aFORGED \"x\" \x00 \\ \xe9
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def access_logger_class() -> type:
    """Gunicorn's logger with every text atom of the access log passed through ``log_escape``."""
    from gunicorn.glogging import Logger, SafeAtoms

    class EscapedAtoms(SafeAtoms):
        def __init__(self, atoms: Mapping[str, Any]) -> None:
            dict.__init__(self)
            for key, value in atoms.items():
                self[key] = log_escape(value) if isinstance(value, str) else value

    class AccessLogger(Logger):
        atoms_wrapper_class = EscapedAtoms

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            self.error_log.addFilter(QueryRedactor())

    return AccessLogger


def app_config(ctx: Context, click_ctx: click.Context | None = None) -> dict[str, Any]:
    """The config the global options ask for: ``CITY``, ``DATABASE_URL`` and ``TODAY``.

    A value is passed only when the user gave it (option or environment), so that a default
    does not override the instance folder's ``config.py``.
    """
    config: dict[str, Any] = {}
    root = (click_ctx or click.get_current_context()).find_root()
    source = root.get_parameter_source("city_dir")
    if source is not None and source is not click.core.ParameterSource.DEFAULT:
        config["CITY"] = str(ctx.city_dir)
    if ctx.database_url:
        config["DATABASE_URL"] = ctx.database_url
    if ctx.today_text is not None:  # --today (or CYCLEMAP_TODAY, which Flask reads too)
        config["TODAY"] = ctx.today_text
    return config


def dispose_connections(flask_app: Any, *, close: bool) -> None:
    """Empty the store's connection pool (``close=False`` in a forked child: leave the parent's).

    The store has no method of its own for this, so its SQLAlchemy engine is used directly.
    """
    store = flask_app.extensions.get("cyclemap.store")
    engine = getattr(store, "engine", None)
    if engine is not None:
        engine.dispose(close=close)


def gunicorn_options(
    host: str,
    port: int,
    workers: int,
    threads: int,
    *,
    access_log: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Gunicorn settings for ``cyclemap serve``.

    >>> opts = gunicorn_options("::1", 8000, 2, 4)
    >>> opts["bind"], opts["worker_class"], opts["preload_app"]
    ('[::1]:8000', 'gthread', True)
    """
    bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    options: dict[str, Any] = {
        "bind": f"{bind_host}:{port}",
        "workers": workers,
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "preload_app": True,
        "proc_name": "cyclemap",
        "control_socket_disable": True,  # gunicorn >= 25: one fixed socket path per user
        "accesslog": "-" if access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": access_logger_class(),
        "errorlog": "-",
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 10,
        "post_fork": _post_fork,
    }
    options.update(extra or {})
    return options


def _post_fork(server: Any, worker: Any) -> None:
    dispose_connections(server.app.wsgi(), close=False)


def run_gunicorn(factory: Callable[[], Any], options: Mapping[str, Any]) -> None:
    """Serve the WSGI app that ``factory`` builds, with gunicorn and these settings."""
    from gunicorn.app.base import BaseApplication

    class CyclemapServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            app = factory()
            # preload: the master built the app; drop its connections before the fork
            dispose_connections(app, close=True)
            # the app's objects are the server's for good: out of every later collection
            gc.collect()
            gc.freeze()
            return app

    CyclemapServer(prog="cyclemap serve").run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option(
    "--workers",
    default=lambda: min(2 * (os.cpu_count() or 1) + 1, 9),
    show_default="2 x cores + 1, at most 9",
    type=click.IntRange(1, 64),
    help="Worker processes (gunicorn).",
)
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker (1: gunicorn's sync worker, without keep-alive).",
)
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log each request."
)
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader.")
@pass_context
@handles_errors
def serve(
    ctx: Context,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool,
    dev: bool,
) -> None:
    """Serve the resident pages and the API (gunicorn; --dev: Flask's reloader)."""
    from ..server import create_app

    resume_collector()  # a server runs for good: its collector must run (the app is frozen below)

    config = app_config(ctx)
    if dev:
        # the development server logs each request line, query string and all
        werkzeug_log = logging.getLogger("werkzeug")
        if not any(isinstance(f, QueryRedactor) for f in werkzeug_log.filters):
            werkzeug_log.addFilter(QueryRedactor())
        app = create_app(config)
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    # the app is built here, before gunicorn starts (gunicorn's preload builds it once in the
    # master anyway): a database that cannot be reached, or a wrong setting, is then one line
    # and exit status 2 (``handles_errors``), not a traceback from inside gunicorn
    app = create_app(config)
    options = gunicorn_options(host, port, workers, threads, access_log=access_log)
    run_gunicorn(lambda: app, options)
