"""A hello-world Flask JSON app served the way ``cyclemap serve`` serves cyclemap: the baseline
of ``scripts.bench_api`` (what the web stack alone costs a request: gunicorn, WSGI, Flask's
request context and routing, ``jsonify``).

It uses ``cli.serve``'s own ``gunicorn_options`` and ``run_gunicorn``, so the worker class,
threads, keep-alive, request limits and logger are those of the real server, whatever they become.

    python -m scripts.hello_app HOST PORT WORKERS THREADS
"""

from __future__ import annotations

import sys

from flask import Flask, Response, jsonify


def create_hello_app() -> Flask:
    """``GET /`` answers ``{"ok": true}``; nothing else is installed."""
    app = Flask(__name__)

    @app.get("/")
    def hello() -> Response:
        return jsonify(ok=True)

    return app


def main(argv: list[str]) -> int:
    """Serve the hello app under gunicorn with ``cyclemap serve``'s settings (no access log)."""
    from cyclemap.cli.serve import gunicorn_options, run_gunicorn

    host, port, workers, threads = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    app = create_hello_app()
    run_gunicorn(lambda: app, gunicorn_options(host, port, workers, threads, access_log=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
