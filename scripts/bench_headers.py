"""Benchmark what the app adds to every response, in-process (no sockets): the security headers.

Three WSGI callables answer the same small JSON body, each timed as the best of several rounds:

- ``hello``: a bare Flask app with one route (the ceiling of Flask itself);
- ``/healthz`` through the whole cyclemap app (session, locale, CSRF and limiter hooks, CORS and
  the security headers);
- the same without the ``SecurityHeaders`` middleware (the headers' own cost is the difference).

Target (issue 17): the headers cost a few microseconds per response, not the ~40 us that
setting them one by one on werkzeug's ``Headers`` did (issue 16 measured the API at 0.59x a
hello-world route over HTTP, the headers ~0.7 ms of it under load).

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

    from flask import Flask

    from cyclemap.server import create_app
    from cyclemap.server.http import SecurityHeaders

    hello = Flask("hello")
    hello.get("/healthz")(lambda: {"status": "ok", "boundary_version": 1})
    with tempfile.TemporaryDirectory(prefix="cyclemap-bench-") as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
                "CACHE_DIR": str(Path(tmp) / "cache"),
                "RATELIMIT": "",
                "TODAY": "2020-02-21",
            }
        )
        full = app.wsgi_app
        assert isinstance(full, SecurityHeaders)
        healthz = timed(
            {"bare": hello.wsgi_app, "ours": full, "without": full.app}, "/healthz", args.requests
        )
        bare, ours, without = healthz["bare"], healthz["ours"], healthz["without"]
        lookup = timed({"cycle": full}, "/api/v1/cycles/2", args.requests)["cycle"]
    headers = ours - without
    print(f"hello-world Flask route      {bare:8.1f} us/request")
    print(f"/healthz, whole app          {ours:8.1f} us/request  ({bare / ours:.2f}x hello)")
    print(f"/healthz without the headers {without:8.1f} us/request")
    print(f"/api/v1/cycles/2, whole app  {lookup:8.1f} us/request  ({bare / lookup:.2f}x hello)")
    print(
        f"security headers: {headers:.1f} us/response; target <= {TARGET_HEADERS_US:g} us "
        f"{'OK' if headers <= TARGET_HEADERS_US else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
