"""Fetch the map's third-party browser assets from the npm registry into ``web/static/vendor/``.

The pages must work on a closed network and under a strict Content-Security-Policy, so nothing is
loaded from a CDN: Leaflet and the one plugin the map uses are vendored here, at pinned versions,
and served from our own ``/static``. Run it again only to change a version::

    .venv/bin/python -m scripts.vendor_assets

It runs ``npm pack NAME@VERSION`` (the ordinary npm client, no install, no scripts run), checks the
tarball against the registry's ``integrity`` digest, copies the listed files and writes
``web/static/vendor/README.md`` with versions, digests, sizes and licences.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "web" / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    """One npm package and the files of it that the pages need (paths inside ``package/``)."""

    name: str
    version: str
    licence: str
    homepage: str
    files: dict[str, str]  # path in the tarball -> path under vendor/<folder>/
    folder: str


PACKAGES = [
    Package(
        name="leaflet",
        version="1.9.4",
        licence="BSD-2-Clause",
        homepage="https://leafletjs.com/",
        folder="leaflet",
        files={
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.css": "leaflet.css",
            "dist/images/marker-icon.png": "images/marker-icon.png",
            "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "dist/images/marker-shadow.png": "images/marker-shadow.png",
            "dist/images/layers.png": "images/layers.png",
            "dist/images/layers-2x.png": "images/layers-2x.png",
            "LICENSE": "LICENSE",
        },
    ),
    Package(
        # folium.plugins.Fullscreen calls L.control.fullscreen from this plugin (brunob)
        name="leaflet.fullscreen",
        version="3.0.2",
        licence="MIT",
        homepage="https://github.com/brunob/leaflet.fullscreen",
        folder="leaflet.fullscreen",
        files={
            "Control.FullScreen.js": "Control.FullScreen.js",
            "Control.FullScreen.css": "Control.FullScreen.css",
            "icon-fullscreen.svg": "icon-fullscreen.svg",
            "LICENSE": "LICENSE",
        },
    ),
]


def npm_pack(pkg: Package, dest: Path) -> tuple[Path, dict]:
    """Download ``pkg``'s tarball with ``npm pack`` and return its path and npm's metadata."""
    out = subprocess.run(
        ["npm", "pack", f"{pkg.name}@{pkg.version}", "--json", "--pack-destination", str(dest)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    meta = json.loads(out)[0]
    tarball = dest / meta["filename"]
    algo, _, expected = meta["integrity"].partition("-")
    digest = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{tarball.name}: integrity mismatch ({algo})")
    return tarball, meta


def copy_files(pkg: Package, tarball: Path) -> list[tuple[str, int]]:
    """Copy the wanted files out of the tarball; return (vendor path, size) pairs."""
    target = VENDOR / pkg.folder
    if target.exists():
        shutil.rmtree(target)
    copied = []
    with tarfile.open(tarball) as tar:
        for src, dst in pkg.files.items():
            member = tar.getmember(f"package/{src}")
            data = tar.extractfile(member).read()
            path = target / dst
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            copied.append((f"{pkg.folder}/{dst}", len(data)))
    return copied


def write_readme(rows: list[tuple[Package, dict, list[tuple[str, int]]]]) -> None:
    """Record what was vendored, from where, and under which licence."""
    lines = [
        "# Vendored browser assets",
        "",
        "Served from our own `/static` so that the map works on a closed network and under a",
        "strict Content-Security-Policy (no CDN). Written by `scripts/vendor_assets.py`, which",
        "runs `npm pack NAME@VERSION`, checks the tarball against the registry's integrity",
        "digest and copies the files below unchanged. Do not edit them by hand.",
        "",
        "| package | version | licence | tarball integrity |",
        "|---|---|---|---|",
    ]
    for pkg, meta, _ in rows:
        lines.append(
            f"| [{pkg.name}]({pkg.homepage}) | {pkg.version} | {pkg.licence} "
            f"(`{pkg.folder}/LICENSE`) | `{meta['integrity']}` |"
        )
    lines += ["", "| file | bytes |", "|---|---|"]
    for _, _, copied in rows:
        lines += [f"| `{path}` | {size:,} |" for path, size in copied]
    lines += [
        "",
        "folium's own defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are not used:",
        "`cyclemap/maps.py` replaces folium's asset lists with the files above.",
        "",
    ]
    (VENDOR / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    """Vendor every package in ``PACKAGES``."""
    VENDOR.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in PACKAGES:
            tarball, meta = npm_pack(pkg, Path(tmp))
            rows.append((pkg, meta, copy_files(pkg, tarball)))
            print(f"{pkg.name}@{pkg.version}: {len(pkg.files)} files")
    write_readme(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
