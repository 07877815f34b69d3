"""``cyclemap serve``: the real gunicorn server in a subprocess, and the options it passes on."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from cyclemap.cli import main
from cyclemap.cli import serve as serve_module

from .conftest import ROOT, write_city
from .test_api import TINY_NOTES, TINY_ROWS


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen, timeout: float = 40.0) -> dict:
    """Poll ``/healthz`` until the server answers (or fail with its output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, _ = proc.communicate()
            pytest.fail(f"the server exited with {proc.returncode}:\n{out[-3000:]}")
        try:
            return get(port, "/healthz")[1]
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the server did not answer within {timeout} s:\n{proc.communicate()[0][-3000:]}")


def get(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture()
def city_dir(tmp_path) -> Path:
    return write_city(tmp_path / "testville", addresses=TINY_ROWS, notes_toml=TINY_NOTES)


def test_serve_starts_gunicorn_answers_and_stops(tmp_path, city_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLEMAP_")}
    cmd = [
        sys.executable,
        "-m",
        "cyclemap",
        "--city",
        str(city_dir),
        "--database-url",
        f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        health = wait_for(port, proc)
        assert health["status"] == "ok" and health["boundary_version"] >= 1
        for _ in range(6):  # several connections: both workers answer from their own pool
            status, body = get(port, "/api/v1/lookup?address=101+N+MAIN+ST")
            assert status == 200
            assert (body["status"], body["cycle"]["id"]) == ("matched", "2")
        status, problem = get(port, "/api/v1/cycles/9")
        assert status == 404 and problem["status"] == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-3000:]
    assert "/api/v1/lookup" in out  # the access log names the route...
    assert "MAIN" not in out  # ...but never the resident's address


def test_serve_passes_city_and_database_to_the_app(monkeypatch, tmp_path, city_dir):
    seen = {}

    def fake_run(factory, options):
        seen["options"] = options
        seen["app"] = factory()

    monkeypatch.setattr(serve_module, "run_gunicorn", fake_run)
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    result = CliRunner().invoke(
        main,
        [
            "--city",
            str(city_dir),
            "--database-url",
            url,
            "serve",
            "--port",
            "9123",
            "--workers",
            "3",
        ],
        env={"CYCLEMAP_CITY": None, "CYCLEMAP_DATABASE_URL": None},
    )
    assert result.exit_code == 0, result.output
    app = seen["app"]
    assert app.config["CITY"] == str(city_dir)
    assert app.config["DATABASE_URL"] == url
    options = seen["options"]
    assert options["bind"] == "127.0.0.1:9123" and options["workers"] == 3
    assert options["preload_app"] is True and callable(options["post_fork"])
    assert "%(U)s" in options["access_log_format"] and "%(r)s" not in options["access_log_format"]


def test_serve_dev_uses_flasks_reloader(monkeypatch, tmp_path, city_dir):
    calls = []
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.append((self, kw)))
    url = f"sqlite:///{tmp_path / 'dev.sqlite'}"
    result = CliRunner().invoke(
        main,
        ["--city", str(city_dir), "--database-url", url, "serve", "--dev", "--port", "5001"],
        env={"CYCLEMAP_CITY": None, "CYCLEMAP_DATABASE_URL": None},
    )
    assert result.exit_code == 0, result.output
    ((app, kwargs),) = calls
    assert kwargs == {"host": "127.0.0.1", "port": 5001, "debug": True, "use_reloader": True}
    assert app.config["DATABASE_URL"] == url


def test_as_a_program_serve_runs_with_the_collector_on(tmp_path, city_dir):
    # the program pauses the collector while a command starts (``LazyGroup.__call__``); a
    # server runs for good, so by the time it serves the collector runs again
    code = f"""
import gc, json, sys
from flask import Flask
seen = []
Flask.run = lambda self, **kw: seen.append(gc.isenabled())
from cyclemap.cli import main
try:
    main(["--city", {str(city_dir)!r}, "--database-url", {f"sqlite:///{tmp_path / 'g.sqlite'}"!r},
          "serve", "--dev"])
except SystemExit as exit:
    seen.append(exit.code)
print(json.dumps(seen))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLEMAP_")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [True, 0], done.stdout


def test_post_fork_empties_the_pool_without_closing_the_parents(tmp_path, city_dir):
    from cyclemap.server import create_app

    app = create_app(
        {"TESTING": True, "CITY": str(city_dir), "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    )
    engine = app.extensions["cyclemap.store"].engine
    pool_before = engine.pool
    serve_module.dispose_connections(app, close=False)
    assert engine.pool is not pool_before
    assert app.test_client().get("/healthz").status_code == 200  # a new pool opens on demand


def _serve(tmp_path, city_dir, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLEMAP_")}
    cmd = [
        sys.executable,
        "-m",
        "cyclemap",
        "--city",
        str(city_dir),
        "--database-url",
        f"sqlite:///{tmp_path / 'serve.sqlite'}",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_access_log_lines_cannot_be_forged(tmp_path, city_dir):
    """CR, LF, NUL (and any other control or non-ASCII byte) in a path are escaped in the log."""
    port = free_port()
    proc = _serve(tmp_path, city_dir, port)
    try:
        wait_for(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for path in ("/x%0d%0a127.0.0.1 - FORGED 200", "/nul%00here", "/tab%09%1b[31m%c3%a9"):
            conn.request("GET", path.replace(" ", "%20"))
            conn.getresponse().read()
        conn.close()
    finally:
        out = _stop(proc)
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("127.0.0.1 - FORGED")], out[-2000:]
    assert "\x00" not in out and "\x1b" not in out and "\t" not in out
    assert any("/x\\x0d\\x0a127.0.0.1 - FORGED 200" in line for line in lines), out[-2000:]
    assert any("/nul\\x00here" in line for line in lines), out[-2000:]
    assert any("/tab\\x09\\x1b[31m\\xc3\\xa9" in line for line in lines), out[-2000:]
