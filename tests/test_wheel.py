"""A built wheel works outside the checkout: ``cyclemap lookup`` and ``cyclemap serve`` on the
bundled demo city from a fresh virtualenv, with the instance folder where Flask puts it.

The wheel is built from a copy of the sources (so nothing of the checkout leaks into it) and
installed without its dependencies into a new virtualenv in ``tmp_path``; that virtualenv finds
the dependencies through a ``.pth`` line naming this environment's site-packages (so the test
needs no network). The commands run with ``tmp_path`` as their working directory and no
``CYCLEMAP_*`` variables, so only the installed package can answer.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: what a wheel is built from (README.md is the long description)
SOURCES = ("cyclemap", "setup.cfg", "pyproject.toml", "README.md")
#: a demo address and its cycle (geodata/cape-girardeau/addresses.csv)
ADDRESS = "111 Academy Ln"

pytestmark = pytest.mark.xdist_group("wheel")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that points back at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CYCLEMAP_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """A wheel of the sources, installed into a new virtualenv outside the checkout."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    dist = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--wheel-dir", str(dist), str(src)],
        capture_output=True,
        text=True,
        cwd=base,
        env=clean_env(),
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert "BuildBackendWarning" not in build.stderr, build.stderr
    (wheel,) = dist.glob("cyclemap-*.whl")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel],
        check=True,
        cwd=base,
        env=clean_env(),
    )
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the dependencies, from this environment (a path line: its .pth files, and so the
    # checkout's editable install, are not read)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_cyclemap_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    work = base / "work"
    work.mkdir()
    return {"wheel": wheel, "venv": env_dir, "bin": env_dir / "bin", "work": work}


def test_the_wheel_holds_the_web_files_and_the_demo_city(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for name in (
        "cyclemap/server/web/templates/base.html",
        "cyclemap/server/web/templates/staff/base.html",
        "cyclemap/server/web/static/cyclemap.css",
        "cyclemap/server/web/static/vendor/leaflet/leaflet.js",
        "cyclemap/server/web/static/vendor/leaflet/images/marker-icon.png",
        "cyclemap/demo/cape-girardeau/city.toml",
        "cyclemap/demo/cape-girardeau/addresses.csv",
        "cyclemap/demo/cape-girardeau/cycles.geojson",
        "cyclemap/demo/cape-girardeau/notes.toml",
        "cyclemap/store/migrations/env.py",
        "cyclemap/geocode/data/usps_suffixes.csv",
        "cyclemap/translations/messages.pot",
        "cyclemap/translations/es/LC_MESSAGES/messages.po",
        "cyclemap/translations/es/LC_MESSAGES/messages.mo",  # compiled: what the app reads
        "cyclemap/store/migrations/versions/0005_note_spanish.py",
    ):
        assert name in names, name
    assert not any(n.startswith(("tests/", "web/", "geodata/", "scripts/")) for n in names)
    print(f"wheel {installed['wheel'].name}: {installed['wheel'].stat().st_size / 1024:.0f} KB")


def test_the_installed_package_is_the_wheel(installed):
    out = subprocess.run(
        [installed["bin"] / "python", "-c", "import cyclemap; print(cyclemap.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed["work"],
        env=clean_env(),
    ).stdout
    assert Path(out.strip()).is_relative_to(installed["venv"])


def test_lookup_from_the_wheel(installed):
    result = subprocess.run(
        [installed["bin"] / "cyclemap", "lookup", ADDRESS, "--json"],
        capture_output=True,
        text=True,
        cwd=installed["work"],
        env=clean_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "matched"
    assert answer["cycle"]["id"] in {"1", "2", "3", "4"}
    # the CLI's store is in the instance folder Flask would pick for an installed package
    assert list((installed["venv"] / "var" / "cyclemap-instance").glob("cyclemap*.sqlite"))
    assert not (installed["work"] / "instance").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_serve_from_the_wheel(installed, tmp_path):
    port = free_port()
    instance = tmp_path / "instance"
    server = subprocess.Popen(
        [installed["bin"] / "cyclemap", "serve", "--port", str(port), "--workers", "1"],
        cwd=installed["work"],
        env=clean_env(CYCLEMAP_INSTANCE_PATH=str(instance), CYCLEMAP_TODAY="2020-02-21"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, page = get(base + "/")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(server.stdout.read().decode(errors="replace"))
                time.sleep(0.5)
        assert status == 200
        assert b"Cape Girardeau" in page
        status, css = get(base + "/static/cyclemap.css")
        assert status == 200 and css
        status, body = get(base + "/api/v1/lookup?address=" + ADDRESS.replace(" ", "+"))
        assert json.loads(body)["status"] == "matched"
        status, page = get(base + "/staff/login")
        assert status == 200
        # the Spanish catalogue came with the wheel
        status, page = get(base + "/?lang=es")
        assert status == 200 and '<html lang="es">' in page.decode()
        assert "Encuentre su ciclo de facturación" in page.decode()
        # CYCLEMAP_INSTANCE_PATH chose the instance folder
        assert list(instance.glob("cyclemap*.sqlite"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_export_map_from_the_wheel(installed, tmp_path):
    def export_map(name: str, *options: str) -> str:
        out = tmp_path / name
        result = subprocess.run(
            [installed["bin"] / "cyclemap", "export-map", str(out), "--tiles", "none", *options],
            capture_output=True,
            text=True,
            cwd=installed["work"],
            env=clean_env(CYCLEMAP_INSTANCE_PATH=str(tmp_path / "instance")),
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return out.read_text(encoding="utf-8")

    html = export_map("map.html")
    assert "L.map" in html or "leaflet" in html.lower()
    assert "data:image/png;base64," in html  # the stylesheet's images, inlined
    html = export_map("mapa.html", "--lang", "es", "--date", "2020-02-21")
    assert '<html lang="es">' in html and "Generado el 21 de febrero de 2020" in html


def test_the_default_instance_folder_is_the_one_flask_picks(tmp_path, monkeypatch):
    from flask import Flask

    from cyclemap.config import default_instance_path

    assert str(default_instance_path({})) == Flask("cyclemap").instance_path
    assert default_instance_path({"CYCLEMAP_INSTANCE_PATH": str(tmp_path)}) == tmp_path
    # the server and the CLI share it: CYCLEMAP_INSTANCE_PATH moves the app's too
    from cyclemap.server import create_app

    monkeypatch.setenv("CYCLEMAP_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path)
    assert list(tmp_path.glob("cyclemap*.sqlite"))
