"""Helpers for tests that run cyclemap in a subprocess (``cyclemap serve``, CLI commands) and
talk to it over HTTP: the command line, its environment, starting and stopping a server, a tiny
HTTP client that keeps a session cookie, and one reply type for it and Flask's test client.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from .conftest import ROOT


@dataclass
class Reply:
    """One HTTP answer, from a server in a subprocess or from Flask's test client."""

    status: int
    mimetype: str
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


Get = Callable[..., Reply]


def flask_get(client) -> Get:
    """``get(path, headers=None) -> Reply`` over a Flask test client."""

    def get(path: str, headers: dict | None = None) -> Reply:
        r = client.get(path, headers=headers or {})
        return Reply(r.status_code, r.mimetype, r.headers, r.data)

    return get


class Http:
    """A tiny HTTP client for a server in a subprocess, keeping its session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie: str | None = None

    def request(
        self, method: str, path: str, *, form: dict | None = None, headers: dict | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        sent = dict(headers or {})
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            sent["Cookie"] = self.cookie
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return Reply(response.status, response.headers.get_content_type(), response.headers, data)

    def get(self, path: str, headers: dict | None = None) -> Reply:
        """A GET."""
        return self.request("GET", path, headers=headers)


def without_root_powers() -> list[str]:
    """A command prefix that makes root obey file permissions (as a service account does)."""
    if os.geteuid() != 0:
        return []
    return [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ]


def cli_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This environment without any ``CYCLEMAP_*``, with an instance folder in ``tmp_path``,
    the demo day, this checkout on the path, and ``settings`` (``CYCLEMAP_RATELIMIT=...``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLEMAP_")}
    env.update(
        CYCLEMAP_INSTANCE_PATH=str(tmp_path / "instance"),
        CYCLEMAP_TODAY="2020-02-21",
        PYTHONPATH=str(ROOT),
        **settings,
    )
    return env


def cyclemap_cmd(city: Path, url: str, *args: str, powers: bool = False) -> list[str]:
    """``python -m cyclemap --city CITY --database-url URL ARGS...``; run as root without the
    power to ignore file permissions unless ``powers``."""
    return [
        *([] if powers else without_root_powers()),
        sys.executable,
        "-m",
        "cyclemap",
        "--city",
        str(city),
        "--database-url",
        url,
        *args,
    ]


def serve(
    tmp_path: Path, city: Path, url: str, port: int, log: Path, **settings: str
) -> subprocess.Popen:
    """Start ``cyclemap serve`` (one worker, no access log) with its output in ``log``."""
    cmd = cyclemap_cmd(city, url, "serve", "--port", str(port), "--workers", "1", "--no-access-log")
    with log.open("w") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=cli_env(tmp_path, **settings), stdout=out, stderr=subprocess.STDOUT
        )


def wait_started(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Wait until the server answers ``/healthz`` (fail with its log if it exits or hangs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            Http(port).get("/healthz")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server (SIGTERM, then SIGKILL after 20 s)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
