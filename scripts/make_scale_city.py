"""Generate a big city for the scale benchmark: the real Cambridge, MA layer tiled into towns.

The City of Cambridge's address points (``DERIVED_addresses_parcel_point_truth.csv`` in the
shared data, 21,504 real addresses, PDDL) are copied onto a grid of tiles, each tile a town of
its own (``TOWN 01``, ZIP ``02101`` ...) shifted so that towns never overlap, until the layer
holds ``n`` points (1,000,000 by default: 47 towns). Streets repeat from town to town, as they do
in a county (a MAIN ST in every town), so an address without its town or ZIP is ambiguous.

The cycle zones are the city's 33 real ward precincts of every tile, each precinct given one of
four cycles, merged per cycle (four MultiPolygons of several hundred parts). ``city.toml`` and
``notes.toml`` are the demo city's with the name, state and ZIPs changed.

    .venv/bin/python -m scripts.make_scale_city /tmp/scale-city            # 1,000,000 points
    .venv/bin/python -m scripts.make_scale_city /tmp/small-city --points 20000
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/work/shared/data/cambridge-ma")
ADDRESSES = "DERIVED_addresses_parcel_point_truth.csv"
PRECINCTS = "ELECTIONS_WardsPrecincts.geojson"
DEMO = ROOT / "geodata" / "cape-girardeau"
COLUMNS = 7  # tiles per row of the grid
DX, DY = 0.11, 0.07  # tile spacing in degrees: wider and taller than Cambridge


def source_folder() -> Path:
    """Where the Cambridge files are (``CYCLEMAP_CAMBRIDGE_DATA`` overrides the shared copy)."""
    import os

    return Path(os.environ.get("CYCLEMAP_CAMBRIDGE_DATA", SOURCE))


def _tile_offset(k: int) -> tuple[float, float]:
    return (k % COLUMNS) * DX, -(k // COLUMNS) * DY


def _rows(folder: Path) -> list[tuple[str, str, float, float]]:
    """``(house number, street, lon, lat)`` of each usable Cambridge address point."""
    out = []
    with (folder / ADDRESSES).open(newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            number = (r["street_number"] + r["street_number_suffix"]).strip()
            street = " ".join(
                p for p in (r["street_name"], r["street_suffix"], r["dir_suffix"]) if p
            )
            if not number or not street or not r["lon"] or not r["lat"]:
                continue
            out.append((number, street.upper(), float(r["lon"]), float(r["lat"])))
    return out


def make_scale_city(folder: str | Path, points: int = 1_000_000) -> Path:
    """Write a city folder of ``points`` address points (see the module docstring)."""
    import shapely

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = source_folder()
    rows = _rows(data)
    tiles = -(-points // len(rows))
    zips = [f"{2101 + k:05d}" for k in range(tiles)]
    with (folder / "addresses.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["house_number", "street", "unit", "city", "zip", "lon", "lat"])
        written = 0
        for k in range(tiles):
            dx, dy = _tile_offset(k)
            town = f"TOWN {k + 1:02d}"
            for number, street, lon, lat in rows:
                if written == points:
                    break
                out.writerow(
                    [number, street, "", town, zips[k], f"{lon + dx:.7f}", f"{lat + dy:.7f}"]
                )
                written += 1
    precincts = json.loads((data / PRECINCTS).read_text(encoding="utf-8"))["features"]
    geoms = [shapely.from_geojson(json.dumps(p["geometry"])) for p in precincts]
    parts: dict[str, list] = {str(c): [] for c in range(1, 5)}
    for k in range(tiles):
        dx, dy = _tile_offset(k)
        for i, geom in enumerate(geoms):
            moved = shapely.transform(geom, lambda xy, dx=dx, dy=dy: xy + (dx, dy))
            parts[str((i + k) % 4 + 1)].append(shapely.make_valid(moved))
    features = []
    for cycle, polys in parts.items():
        zone = shapely.union_all(polys, grid_size=1e-7)
        features.append(
            {
                "type": "Feature",
                "properties": {"cycle": cycle},
                "geometry": json.loads(shapely.to_geojson(zone)),
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    (folder / "cycles.geojson").write_text(json.dumps(collection), encoding="utf-8")
    toml = (DEMO / "city.toml").read_text(encoding="utf-8")
    toml = toml.replace('name = "Cape Girardeau, Missouri"', 'name = "Scale County, Massachusetts"')
    toml = toml.replace('state = "MO"', 'state = "MA"')
    toml = re.sub(r"zips = \[[^\]]*\]", "zips = [" + ", ".join(f'"{z}"' for z in zips) + "]", toml)
    toml = re.sub(r'\nlimits = "[^"]*"[^\n]*', "", toml)
    toml = re.sub(r"center = \[[^\]]*\]", "center = [-70.8, 42.2]", toml)
    (folder / "city.toml").write_text(toml, encoding="utf-8")
    shutil.copy(DEMO / "notes.toml", folder / "notes.toml")
    return folder


def main(argv: list[str] | None = None) -> int:
    """Command line: ``make_scale_city FOLDER [--points N]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    make_scale_city(args.folder, args.points)
    print(f"wrote {args.folder} ({args.points} address points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
