"""Benchmark what the app adds to every response, in-process (no sockets): the security headers.

- the headers alone: ``SecurityHeaders`` (the plan built once per app, added to the response's
  header list) around a bare WSGI app, against the bare app, and against setting the same
  headers one by one on a werkzeug ``Response`` (``headers.setdefault``, as ``http.py`` did
  before issue 17);
- for scale, whole requests: a bare Flask hello-world route, ``/healthz`` and
  ``/api/v1/cycles/2`` through the whole cyclemap app (session, locale, CSRF and limiter hooks,
  CORS and the headers). Each figure is the best of several rounds taken in turns.

Target (issue 17): the headers cost a few microseconds per response (issue 16 measured the API
at 0.59x a hello-world route over HTTP, about 0.7 ms of it the headers under load).

    python -m scripts.bench_headers [--requests 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

#: the most the headers may cost per response, in microseconds
TARGET_HEADERS_US = 10.0


def timed(wsgis: dict[str, Callable[..., Any]], path: str, requests: int, rounds: int = 9):
    """Microseconds per request through each of ``wsgis``, the best of ``rounds`` taken in
    turns (so that a noisy moment of the machine falls on all of them alike)."""
    environ = EnvironBuilder(path=path).get_environ()

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        return None

    def call(wsgi: Callable[..., Any]) -> None:
        body = wsgi(dict(environ), start_response)
        b"".join(body)
        close = getattr(body, "close", None)
        if close:
            close()

    best = dict.fromkeys(wsgis, float("inf"))
    for wsgi in wsgis.values():
        for _ in range(200):
            call(wsgi)
    for _ in range(rounds):
        for name, wsgi in wsgis.items():
            started = time.perf_counter()
            for _ in range(requests):
                call(wsgi)
            best[name] = min(best[name], (time.perf_counter() - started) / requests * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its numbers (always 0: a benchmark informs, it does not fail)."""
    parser = argparse.ArgumentParser(prog="bench_headers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args(argv if argv is not None else [])

    from flask import Flask, Response

    from cyclemap.server import create_app
    from cyclemap.server.http import CONFIG_DEFAULTS, HeaderPlan, SecurityHeaders

    hello = Flask("hello")
    hello.get("/healthz")(lambda: {"status": "ok", "boundary_version": 1})
    plan = HeaderPlan.of(CONFIG_DEFAULTS)

    def bare(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    def one_by_one(environ: dict, start_response: Callable[..., Any]) -> Any:
        response = Response(b"{}", mimetype="application/json")
        for name, value in plan.api:  # what http.py did per response before
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def planned(environ: dict, start_response: Callable[..., Any]) -> Any:
        return Response(b"{}", mimetype="application/json")(environ, start_response)

    alone = timed(
        {"bare": bare, "middleware": SecurityHeaders(bare, plan)}, "/api/v1/x", args.requests * 4
    )
    werkzeug = timed(
        {"one_by_one": one_by_one, "planned": SecurityHeaders(planned, plan), "plain": planned},
        "/api/v1/x",
        args.requests,
    )
    with tempfile.TemporaryDirectory(prefix="cyclemap-bench-") as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
                "CACHE_DIR": str(Path(tmp) / "cache"),
                "RATELIMIT": "",
                "TODAY": "2020-02-21",
            }
        )
        whole = timed({"hello": hello.wsgi_app, "healthz": app.wsgi_app}, "/healthz", args.requests)
        cycle = timed({"cycle": app.wsgi_app}, "/api/v1/cycles/2", args.requests)["cycle"]
    cost = alone["middleware"] - alone["bare"]
    old = werkzeug["one_by_one"] - werkzeug["plain"]
    new = werkzeug["planned"] - werkzeug["plain"]
    print(f"headers by the middleware, bare WSGI app    {cost:6.2f} us/response")
    print(f"headers on a werkzeug Response, one by one  {old:6.2f} us/response (before issue 17)")
    print(f"headers on a werkzeug Response, middleware  {new:6.2f} us/response")
    print(f"before / now: {old / max(cost, new, 0.1):.0f}x")
    print(f"hello-world Flask route      {whole['hello']:7.1f} us/request")
    print(
        f"/healthz, whole app          {whole['healthz']:7.1f} us/request "
        f"({whole['hello'] / whole['healthz']:.2f}x hello)"
    )
    ratio = whole["hello"] / cycle
    print(f"/api/v1/cycles/2, whole app  {cycle:7.1f} us/request ({ratio:.2f}x hello)")
    print(
        f"target: headers <= {TARGET_HEADERS_US:g} us/response "
        f"{'OK' if max(cost, new) <= TARGET_HEADERS_US else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
