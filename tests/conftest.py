"""Shared fixtures: the app and its client on a real SQLite file, a settable clock, fixture cities.

The demo city takes about a second to load, so read-only tests share one app per worker
(``app``/``client``); tests that write get their own (``fresh_app``).
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

from cyclemap.config import DEFAULT_CITY

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
#: the demo city's notices were posted 2020-02-20; tests read the world as of that week
DEMO_TODAY = dt.date(2020, 2, 21)


class Clock:
    """A clock the tests can set: ``clock.today = date(...)``."""

    def __init__(self, today: dt.date = DEMO_TODAY) -> None:
        self.today = today

    def __call__(self) -> dt.date:
        return self.today


def _make_app(db_path: Path, clock: Clock, **config):
    from cyclemap.server import create_app

    return create_app(
        {
            "TESTING": True,
            "CITY": str(config.pop("CITY", DEFAULT_CITY)),
            "DATABASE_URL": f"sqlite:///{db_path}",
            "CLOCK": clock,
            "RATELIMIT": "",
            **config,
        }
    )


@pytest.fixture(scope="session")
def session_clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def app(tmp_path_factory, session_clock):
    """One demo-city app per test worker, for tests that only read."""
    return _make_app(tmp_path_factory.mktemp("app") / "cyclemap.sqlite", session_clock)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def fresh_app(tmp_path, clock):
    """An app with its own database, for tests that write."""
    return _make_app(tmp_path / "cyclemap.sqlite", clock)


@pytest.fixture(scope="session")
def demo_city():
    """The bundled demo city opened without a store (file mode)."""
    import cyclemap

    return cyclemap.open_city(DEFAULT_CITY, clock=lambda: DEMO_TODAY)


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    """Polygon coordinates of an axis-aligned box (lon/lat)."""
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


#: a 2 x 2 grid of zones around (0.01, 0.01): ids 1 (SW), 2 (NW), 3 (NE), 4 (SE)
GRID_ZONES = {
    "1": square(0.0, 0.0, 0.01, 0.01),
    "2": square(0.0, 0.01, 0.01, 0.02),
    "3": square(0.01, 0.01, 0.02, 0.02),
    "4": square(0.01, 0.0, 0.02, 0.01),
}


def write_city(
    folder: Path,
    *,
    zones: dict[str, list] = GRID_ZONES,
    addresses: Iterable[tuple] = (),
    notes_toml: str = "",
    extra_toml: str = "",
) -> Path:
    """Write a tiny city folder: zones, address rows (number, street, unit, city, zip, lon, lat)."""
    folder.mkdir(parents=True, exist_ok=True)
    features = [
        {
            "type": "Feature",
            "properties": {"cycle": cid},
            "geometry": {"type": "Polygon", "coordinates": c},
        }
        for cid, c in zones.items()
    ]
    (folder / "cycles.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    lines = ["house_number,street,unit,city,zip,lon,lat"]
    lines += [",".join(str(v) for v in row) for row in addresses]
    (folder / "addresses.csv").write_text("\n".join(lines) + "\n")
    (folder / "notes.toml").write_text(notes_toml)
    cycles = "\n".join(
        f'[cycles.{cid}]\nname = "Cycle {cid}"\ncolor = "#00000{cid}"\n'
        f"[cycles.{cid}.schedule]\n"
        f'bill_rule = "DTSTART:20190101\\nRRULE:FREQ=MONTHLY;BYDAY=+{cid}WE"\n'
        "due_after_days = 21\npenalty_after_days = 7\ndisconnect_after_days = 7\n"
        for cid in zones
    )
    (folder / "city.toml").write_text(
        textwrap.dedent(
            """\
            [city]
            name = "Testville"
            state = "MO"
            timezone = "America/Chicago"
            zips = ["00001"]
            [map]
            center = [0.01, 0.01]
            zoom = 14
            tiles = "none"
            [boundaries]
            file = "cycles.geojson"
            [addresses]
            file = "addresses.csv"
            [addresses.columns]
            number = "house_number"
            street = "street"
            unit = "unit"
            city = "city"
            zip = "zip"
            lon = "lon"
            lat = "lat"
            """
        )
        + cycles
        + extra_toml
    )
    return folder


def swap_cycles(geojson: dict, a: str = "1", b: str = "2") -> dict:
    """The same zones with cycles ``a`` and ``b`` exchanged (a new boundary version to publish)."""
    swap = {a: b, b: a}
    features = []
    for f in geojson["features"]:
        cid = f["properties"]["cycle"]
        features.append({**f, "properties": {**f["properties"], "cycle": swap.get(cid, cid)}})
    return {**geojson, "features": features}
