"""Write ``tests/data/cambridge-ma/``: a real city folder (Cambridge, MA) for the tests.

From ``../shared/data/cambridge-ma/`` (City of Cambridge GIS, PDDL 1.0; see its README):

- ``cycles.geojson``: the 2022 wards (``ELECTIONS_WardsPrecincts.geojson``, 33 precincts) dissolved
  into 11 zones, one per ward, the ward number as the cycle id;
- ``addresses.csv``: the address points (``DERIVED_addresses_parcel_point_truth.csv``: the city's
  2021 Master Address Database, one point per parcel) inside a window over the west of the city,
  where wards 6 to 10 meet and LONGFELLOW RD and LONGFELLOW PK both are; only the columns
  the city folder maps;
- ``city.toml`` with 11 cycles named "Ward N" and NO schedules (most cities start like that).

Deterministic: running it again writes the same bytes.

    .venv/bin/python -m scripts.make_cambridge_city [--source ../shared/data/cambridge-ma]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "data" / "cambridge-ma"
TARGET = ROOT / "tests" / "data" / "cambridge-ma"

#: the window of address points kept: centre (lon, lat) and half sizes in degrees
WINDOW = (-71.126, 42.379, 0.012, 0.009)
COLUMNS = ["street_number", "street_number_suffix", "street_name", "street_suffix", "dir_suffix"]
#: 11 colours that tell neighbours apart (ColorBrewer Paired, darker half first)
COLORS = [
    "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928",
    "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6",
]  # fmt: skip

CITY_TOML = """\
# Cambridge, Massachusetts: a real city folder for the tests (scripts/make_cambridge_city.py).
# The wards stand in for billing cycles; there are no [cycles.N.schedule] tables on purpose:
# a city that publishes no dates yet.

[city]
name = "Cambridge, Massachusetts"
state = "MA"
timezone = "America/New_York"
zips = ["02138", "02139", "02140", "02141", "02142"]
places = ["Cambridge"]

[map]
center = [-71.118, 42.379]
zoom = 14
tiles = "none"

[boundaries]
file = "cycles.geojson"
id_property = "cycle"

[addresses]
file = "addresses.csv"
crs = "EPSG:4326"
[addresses.columns]
number = "street_number"
number_suffix = "street_number_suffix"
name = "street_name"
type = "street_suffix"
postdir = "dir_suffix"
lon = "lon"
lat = "lat"
"""


def main(argv: list[str] | None = None) -> int:
    """Write the folder; print what it holds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--target", type=Path, default=TARGET)
    args = ap.parse_args(argv)
    args.target.mkdir(parents=True, exist_ok=True)

    wards = geopandas.read_file(args.source / "ELECTIONS_WardsPrecincts.geojson")
    wards = wards.dissolve(by="Ward", as_index=False)[["Ward", "geometry"]]
    wards["geometry"] = shapely.make_valid(wards.geometry.to_numpy())
    wards = wards.sort_values("Ward", key=lambda s: s.astype(int))
    features = [
        {
            "type": "Feature",
            "properties": {"cycle": str(ward)},
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-7))),
        }
        for ward, geom in zip(wards["Ward"], wards.geometry, strict=True)
    ]
    fc = {"type": "FeatureCollection", "features": features}
    (args.target / "cycles.geojson").write_text(json.dumps(fc, separators=(",", ":")) + "\n")

    frame = pd.read_csv(
        args.source / "DERIVED_addresses_parcel_point_truth.csv",
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    cx, cy, hx, hy = WINDOW
    lon, lat = frame["lon"].astype(float), frame["lat"].astype(float)
    inside = ((lon - cx).abs() < hx) & ((lat - cy).abs() < hy)
    kept = frame.loc[inside, [*COLUMNS, "lon", "lat"]]
    kept = kept.sort_values(["street_name", "street_suffix", "dir_suffix", "street_number"])
    kept.to_csv(args.target / "addresses.csv", index=False, lineterminator="\n")

    cycles = "".join(
        f'\n[cycles.{f["properties"]["cycle"]}]\nname = "Ward {f["properties"]["cycle"]}"\n'
        f'color = "{COLORS[i % len(COLORS)]}"\n'
        for i, f in enumerate(features)
    )
    (args.target / "city.toml").write_text(CITY_TOML + cycles)
    print(f"{args.target}: {len(features)} zones, {len(kept)} address points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
