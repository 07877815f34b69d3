"""Generate the illustrative demo city data for Cape Girardeau, Missouri.

The city limits are real (US Census TIGER/Line 2019, copied into ``geodata/cape-girardeau/source``).
Everything else written here is ILLUSTRATIVE: a street grid, address points along it and four
billing-cycle zones that follow its streets. The output is deterministic (fixed seed, fixed
iteration order, hand-written JSON/CSV): running the script twice gives byte-identical files.

    .venv/bin/python scripts/make_demo_city.py [--out DIR] [--seed N]

Outputs (in ``--out``, default ``geodata/cape-girardeau``): ``city_limits.geojson``,
``cycles.geojson`` and ``addresses.csv``. See ``geodata/README.md`` for the rules.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping, shape

REPO = Path(__file__).resolve().parent.parent
CITY_DIR = REPO / "geodata" / "cape-girardeau"
SOURCE = CITY_DIR / "source" / "cape-girardeau_tiger2019_place_2911242.geojson"
SEED = 20200220  # the date of the city's billing notice
UTM = "EPSG:32616"
ORIGIN_LONLAT = (-89.5200, 37.3060)  # Broadway & Main St: the addressing baseline
ROTATION_DEG = 4.0  # the grid is turned slightly anticlockwise, as old river towns are
TARGET_HOUSES = 19_400  # houses before apartment units are added (aim: ~20,000 rows)
GRID_DECIMALS = 7  # zone coordinates; ~1 cm
POINT_DECIMALS = 6  # address coordinates; ~10 cm
MIN_PART_M2 = 10_000.0  # smaller detached bits of a zone are slivers, not billing areas
CITY = "CAPE GIRARDEAU"

# N/S street pairs: columns west of Main St (offset) and how many blocks each half runs.
NS_PAIRS = [  # (base name, column offset, blocks north, blocks south)
    ("MAIN ST", 0, 14, 10),
    ("SPANISH ST", 1, 12, 9),
    ("LORIMIER ST", 2, 12, 11),
    ("FREDERICK ST", 3, 14, 10),
    ("FOUNTAIN ST", 4, 16, 12),
    ("SPRIGG ST", 5, 22, 16),
    ("PACIFIC ST", 6, 18, 13),
    ("ELLIS ST", 7, 16, 13),
    ("HENDERSON AVE", 8, 20, 14),
    ("CLARK AVE", 10, 16, 12),
    ("WEST END BLVD", 12, 18, 15),
    ("KINGSHIGHWAY", 15, 42, 12),
]
# Other named runs placed by hand: (orientation, line offset, half, first block, last block, name).
# NS offsets count columns west of Main St; EW offsets count rows north of Broadway.
PLACED = [
    ("NS", 15, "S", 13, 60, "US HIGHWAY 61"),
    ("NS", -1, "N", 1, 8, "WATER ST"),
    ("NS", 18, "N", 1, 30, "CARUTHERS AVE"),
    ("NS", 20, "N", 1, 20, "MOUNT AUBURN RD"),
    ("NS", 20, "N", 21, 50, "PERRYVILLE RD"),
    ("NS", 20, "S", 1, 25, "SILVER SPRINGS RD"),
    ("NS", 24, "N", 1, 40, "VETERANS MEMORIAL DR"),
    ("NS", 24, "S", 1, 25, "KAGE RD"),
    ("NS", 27, "N", 1, 40, "SIEMERS DR"),
    ("NS", 27, "S", 1, 25, "CAPE WEST PKWY"),
    ("NS", -6, "N", 12, 40, "STATE HIGHWAY 177"),
    ("EW", 0, "W", 1, 26, "BROADWAY"),
    ("EW", 1, "W", 1, 10, "THEMIS ST"),
    ("EW", 2, "W", 1, 12, "BELLEVUE ST"),
    ("EW", 4, "W", 1, 20, "NORMAL AVE"),
    ("EW", 7, "W", 1, 16, "HARMONY ST"),
    ("EW", 9, "W", 1, 30, "HOPPER RD"),
    ("EW", 14, "W", 1, 40, "LEXINGTON AVE"),
    ("EW", 18, "W", 1, 40, "CAPE ROCK DR"),
    ("EW", 18, "E", 1, 20, "E CAPE ROCK DR"),
    ("EW", 22, "W", 1, 30, "BIG BEND RD"),
    ("EW", -2, "W", 1, 60, "INDEPENDENCE ST"),
    ("EW", -4, "W", 1, 60, "WILLIAM ST"),
    ("EW", -6, "W", 1, 16, "GOOD HOPE ST"),
    ("EW", -7, "W", 1, 14, "MERRIWETHER ST"),
    ("EW", -9, "W", 1, 18, "MORGAN OAK ST"),
    ("EW", -14, "W", 1, 40, "BLOOMFIELD RD"),
    ("EW", -16, "W", 1, 60, "STATE HIGHWAY 74"),
    ("EW", -18, "W", 1, 30, "SHAWNEE PKWY"),
]
# Real Cape Girardeau street names handed out first to the remaining runs, nearest to downtown.
REAL_POOL = (
    "JEFFERSON AVE|EMERALD ST|BERTLING ST|RODNEY ST|RODNEY VISTA BLVD|BOUTIN DR|SHERWOOD DR|"
    "KURRE LN|OLD HOPPER RD|GORDONVILLE RD|BROADVIEW ST|BRINK ST|WHITENER ST|NEW MADRID ST|"
    "PEMISCOT ST|SUNSET BLVD|GREENBRIAR DR|LOMBARDO DR|LINDEN ST|LUCE ST|OLIVE ST|"
    "THILENIUS ST|RANDOL AVE|LACEY ST|MIDDLE ST|MISSOURI AVE|MISSISSIPPI ST|"
    "PERRY AVE|BESSIE ST|HANOVER ST|MARQUETTE DR|CHERRY HILLS DR|COUNTRY CLUB DR|WESTWOOD DR|"
    "SCIVALLY ST|CAPAHA DR|RIDGE RD|LANDGRAF DR|BALDWIN DR|ALTA VISTA DR|HIGHLAND DR|"
    "COLLEGE ST|MAGNOLIA ST|KOCH ST|HOWELL ST|ASHER ST|NORTH ST|MERCHANT ST|SOUTH ST|"
    "HAWTHORN RD|PATTON ST|WHITELAW AVE|RUTH ST|PEARL ST|ROSEMARY ST|MONTGOMERY ST|NEW ST"
).split("|")
GENERIC_WORDS = """ABERDEEN ACADEMY ALBERT ALDEN AMBER ANDOVER ARDEN ARLINGTON ASHLEY ASPEN AUBURN
AUDUBON AVALON BARTON BEACON BEECH BENTON BIRCH BLUEBIRD BOXWOOD BRADFORD BRIARWOOD BRIGHTON
BROOKSIDE BURLINGTON CAMELLIA CAMBRIDGE CANDLEWOOD CARDINAL CARRIAGE CEDAR CENTER CHAPEL CHAUCER
CHERRY CHESTNUT CLEARVIEW CLOVER COBBLESTONE CONCORD COTTONWOOD CRESTVIEW CYPRESS DEERFIELD DOGWOOD
DOVER DUNKLIN EAGLE EASTWOOD EDGEWOOD ELM FAIRLANE FAIRWAY FALCON FERN FOREST FOXBORO GARDEN
GLENVIEW GOLFVIEW GRANDVIEW HACKBERRY HAMPTON HARRISON HAWTHORNE HEATHER HICKORY HILLCREST HOLLY
HOMESTEAD HUNTER IRIS IVY JACKSON JASMINE JUNIPER KENSINGTON KENTUCKY KINGSTON LAKEVIEW LAUREL
LILAC LINCOLN LOCUST MADISON MAPLE MARLIN MEADOW MEADOWBROOK MIMOSA MONROE MORNINGSIDE
MULBERRY NORWOOD OAK OAKLAWN OAKWOOD ORCHARD OXFORD PARK PECAN PINE PINEHURST PLEASANT POPLAR
PRINCETON QUAIL REDBUD RIVERVIEW ROBIN ROCKWOOD ROYAL SAGE SHADY SHADOWBROOK SOMERSET SPRING
STONEBRIDGE SUMMIT SUNNYSIDE SYCAMORE TANGLEWOOD TEXAS TIMBER TRAILS TULIP VALLEY VICTORIA VINE
WALNUT WASHINGTON WESTGATE WILLOW WILSON WINDSOR WOODLAND WREN YORK ADAMS BELMONT BLUFF CAROLINA
CHATEAU CLAYTON COLONIAL CORNELL DAVIS DELMAR EMERSON FILLMORE FRANKLIN GARFIELD GRANT HAYDEN
JUDSON KELLER LAFAYETTE LIBERTY MARION NEWBERRY NOTTINGHAM PARKVIEW PRESTON RAINTREE SHELBY
SPRINGDALE STODDARD TRUMAN VALLEYVIEW WAVERLY WEDGEWOOD WESTRIDGE WHITNEY WOODBRIAR""".split()
SUFFIXES = ["ST", "ST", "ST", "AVE", "AVE", "DR", "DR", "LN", "CT", "PL", "RD", "TER", "CIR"]


def reproject(transformer: Transformer, geom: shapely.Geometry) -> shapely.Geometry:
    """Geometry through a pyproj transformer (always_xy)."""
    return shapely.transform(geom, transformer.transform, interleaved=False)


@dataclass
class Grid:
    """Street grid in a local frame (u east, v north, metres), turned by ROTATION_DEG."""

    us: np.ndarray  # x positions of N-S streets, ascending; us[iu0] == 0 is Main St
    vs: np.ndarray  # y positions of E-W streets, ascending; vs[iv0] == 0 is Broadway
    iu0: int
    iv0: int
    origin: tuple[float, float]  # UTM position of the local origin
    cos: float = field(init=False)
    sin: float = field(init=False)

    def __post_init__(self) -> None:
        self.cos = math.cos(math.radians(ROTATION_DEG))
        self.sin = math.sin(math.radians(ROTATION_DEG))

    def to_world(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local (u, v) metres to UTM x, y."""
        return (
            self.origin[0] + u * self.cos - v * self.sin,
            self.origin[1] + u * self.sin + v * self.cos,
        )

    def to_local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """UTM x, y to local (u, v) metres."""
        dx, dy = x - self.origin[0], y - self.origin[1]
        return dx * self.cos + dy * self.sin, -dx * self.sin + dy * self.cos


@dataclass
class House:
    """One address point before naming: which street segment it faces and where it stands."""

    orient: str  # "NS" or "EW": the street it faces
    line: int  # index of that street in Grid.us (NS) or Grid.vs (EW)
    half: str  # "N"/"S" for NS streets, "E"/"W" for EW streets, split at the baseline
    k: int  # hundred block: 1 for the block next to the baseline
    number: int
    block: tuple[int, int]
    x: float  # UTM
    y: float


def make_positions(
    rng: np.random.Generator, lo: float, hi: float, low: float, high: float
) -> list[float]:
    """Street positions from 0 outward in both directions, random spacing in [low, high]."""
    pos = [0.0]
    while pos[-1] < hi:
        pos.append(pos[-1] + rng.uniform(low, high))
    neg = [0.0]
    while neg[-1] > lo:
        neg.append(neg[-1] - rng.uniform(low, high))
    return sorted(round(p, 1) for p in neg[1:] + pos)


def build_grid(rng: np.random.Generator, city: Polygon, origin: tuple[float, float]) -> Grid:
    """A jittered grid covering the city with one spare street beyond each side."""
    probe = Grid(np.zeros(1), np.zeros(1), 0, 0, origin)
    u, v = probe.to_local(*np.asarray(city.exterior.coords).T)
    us = make_positions(rng, u.min() - 300, u.max() + 300, 185.0, 255.0)  # N-S streets
    vs = make_positions(rng, v.min() - 250, v.max() + 250, 150.0, 205.0)  # E-W streets
    return Grid(np.array(us), np.array(vs), us.index(0.0), vs.index(0.0), origin)


def place_houses(
    rng: np.random.Generator, grid: Grid, city_inner: Polygon
) -> dict[tuple, list[House]]:
    """Candidate houses for every block: both faces of every street, 20-30 m apart.

    Houses stand 10-15 m from the centreline and at least 22 m from each cross street, so no
    point is ambiguous between two streets or two cycle zones (zone edges run on centrelines).
    House numbers come from the position along the block (0..98 across it, odd on the west or
    north side, even on the east or south side), so opposite houses have similar numbers.
    """
    shapely.prepare(city_inner)
    out: dict[tuple, list[House]] = {}
    nu, nv = len(grid.us) - 1, len(grid.vs) - 1
    for i in range(nu):
        for j in range(nv):
            spacing = rng.uniform(20.0, 30.0)
            faces = []
            # (orient, line, lo, hi of the segment along the street, street coord, inward sign)
            faces.append(("NS", i, grid.vs[j], grid.vs[j + 1], grid.us[i], +1))  # west face
            faces.append(("NS", i + 1, grid.vs[j], grid.vs[j + 1], grid.us[i + 1], -1))
            faces.append(("EW", j, grid.us[i], grid.us[i + 1], grid.vs[j], +1))  # south face
            faces.append(("EW", j + 1, grid.us[i], grid.us[i + 1], grid.vs[j + 1], -1))
            houses: list[House] = []
            for orient, line, a, b, c, inward in faces:
                skip = rng.random() < 0.12  # some faces stay empty: a church, a lot, a ditch
                length = b - a
                n = int((length - 44.0) // spacing) + 1
                t = 22.0 + (length - 44.0 - (n - 1) * spacing) / 2 + spacing * np.arange(n)
                t = np.clip(t + rng.uniform(-1.5, 1.5, n), 21.0, length - 21.0)
                off = rng.uniform(10.0, 15.0, n) * inward
                if skip:
                    continue
                if orient == "NS":
                    north = j >= grid.iv0
                    half, k = ("N", j - grid.iv0 + 1) if north else ("S", grid.iv0 - j)
                    frac = t / length if north else 1 - t / length
                    odd = inward == -1  # east face of this block = west side of street i+1
                    lu, lv = c + off, a + t
                else:
                    west = i < grid.iu0
                    half, k = ("W", grid.iu0 - i) if west else ("E", i - grid.iu0 + 1)
                    frac = 1 - t / length if west else t / length
                    odd = inward == +1  # south face of this block = north side of street j
                    lu, lv = a + t, c + off
                x, y = grid.to_world(lu, lv)
                keep = shapely.contains_xy(city_inner, x, y)
                slots = np.floor(frac * 49).astype(int)
                for m in np.nonzero(keep)[0]:
                    number = 100 * k + 2 * slots[m] + (1 if odd else 2)
                    houses.append(House(orient, line, half, k, int(number), (i, j), x[m], y[m]))
            out[(i, j)] = houses
    return out


def choose_developed(
    rng: np.random.Generator, grid: Grid, candidates: dict[tuple, list[House]]
) -> set[tuple[int, int]]:
    """Pick the built-up blocks: densest near downtown, in clusters, with parks left open.

    Blocks are taken in order of a priority (distance decay times a smooth random field plus
    noise) until TARGET_HOUSES houses are placed, so the total is stable whatever the seed.
    """
    bumps = [
        (
            rng.uniform(-9000, 1000),
            rng.uniform(-9000, 9000),
            rng.uniform(700, 1800),
            rng.uniform(-1, 1),
        )
        for _ in range(40)
    ]
    parks = []
    for _ in range(14):  # parks, fields, campus greens: 2-4 by 2-4 blocks left without houses
        i0 = int(rng.integers(grid.iu0 - 30, grid.iu0 - 1))
        j0 = int(rng.integers(grid.iv0 - 25, grid.iv0 + 30))
        parks.append((i0, i0 + int(rng.integers(2, 5)), j0, j0 + int(rng.integers(2, 5))))
    scored = []
    for (i, j), houses in candidates.items():
        noise = rng.random()
        if not houses or any(a <= i < b and c <= j < d for a, b, c, d in parks):
            continue
        u = (grid.us[i] + grid.us[i + 1]) / 2
        v = (grid.vs[j] + grid.vs[j + 1]) / 2
        dist = math.hypot(u + 1800.0, (v - 600.0) * 0.8)  # the population centre is inland
        field_ = sum(
            w * math.exp(-((u - bu) ** 2 + (v - bv) ** 2) / (2 * r * r)) for bu, bv, r, w in bumps
        )
        scored.append((math.exp(-dist / 4500.0) * (1.0 + 0.8 * field_) + 0.35 * noise, i, j))
    scored.sort(reverse=True)
    developed: set[tuple[int, int]] = set()
    total = 0
    for _, i, j in scored:
        if total >= TARGET_HOUSES:
            break
        developed.add((i, j))
        total += len(candidates[(i, j)])
    return developed


def name_streets(
    rng: np.random.Generator, grid: Grid, houses: list[House]
) -> dict[tuple[str, int, str, int], str]:
    """Give every built street segment a name: (orient, line, half, k) -> E911 street name.

    Hand-placed streets come first (the N/S pairs share a base name, as in the real city); the
    rest of each line is cut into runs of 10-24 blocks, each named once, real names closest to
    downtown. Runs never cross a baseline, so a name never repeats a house number.
    """
    names: dict[tuple[str, int, str, int], str] = {}

    def line_index(orient: str, offset: int) -> int:
        return grid.iu0 - offset if orient == "NS" else grid.iv0 + offset

    for base, offset, north, south in NS_PAIRS:
        for half, count in (("N", north), ("S", south)):
            for k in range(1, count + 1):
                names[("NS", line_index("NS", offset), half, k)] = f"{half} {base}"
    for orient, offset, half, k0, k1, name in PLACED:
        for k in range(k0, k1 + 1):
            names.setdefault((orient, line_index(orient, offset), half, k), name)
    built: dict[tuple[str, int, str], set[int]] = {}
    for h in houses:
        built.setdefault((h.orient, h.line, h.half), set()).add(h.k)
    runs = []
    for key in sorted(built):
        ks = built[key]
        k, kmax = 1, max(ks)
        while k <= kmax:
            if (*key, k) in names:
                k += 1
                continue
            run = []
            length = int(rng.integers(10, 25))
            while k <= kmax and len(run) < length and (*key, k) not in names:
                run.append(k)
                k += 1
            if ks.intersection(run):
                runs.append((key, run))

    # Real names go to the runs nearest downtown, then generic ones.
    def run_distance(item: tuple) -> tuple[float, tuple, list[int]]:
        (orient, line, half), run = item
        mid = (run[0] + run[-1]) / 2
        pos = grid.us[line] if orient == "NS" else grid.vs[line]
        along = mid * (180.0 if orient == "NS" else 220.0)
        return (math.hypot(pos, along), (orient, line, half), run)

    runs.sort(key=run_distance)
    used = set(names.values())
    pool = [n for n in REAL_POOL if n not in used]
    words = list(GENERIC_WORDS)
    rng.shuffle(words)
    pool += [f"{w} {SUFFIXES[int(rng.integers(len(SUFFIXES)))]}" for w in words]
    pool = [n for n in dict.fromkeys(pool) if n not in used]
    if len(runs) > len(pool):
        raise SystemExit(f"{len(runs)} street runs but only {len(pool)} names")
    for ((orient, line, half), run), base in zip(runs, pool, strict=False):
        name = f"E {base}" if half == "E" else base
        for k in run:
            names[(orient, line, half, k)] = name
    return names


@dataclass
class Row:
    """One output row of addresses.csv."""

    number: str
    street: str
    unit: str
    zip: str
    x: float
    y: float
    block: tuple[int, int]
    sort_number: tuple[int, str] = (0, "")


#: addresses the project's own documents use as examples (interface.md: "1234 n kingshighway apt
#: 5"), made real so that the examples answer exactly: (number, street, units)
FEATURED = [("1234", "N KINGSHIGHWAY", [f"APT {n}" for n in range(1, 9)])]


def add_featured(rows: list[Row], grid: Grid) -> list[Row]:
    """The FEATURED addresses, each placed between its real neighbours on its side of the street.

    Added after the zones are drawn (they do not move a boundary); the caller's checks then hold
    them to their block's zone like every other point.
    """
    added = []
    for number, street, units in FEATURED:
        value = int(number)
        side = sorted(
            (int(r.number), r.x, r.y)
            for r in rows
            if r.street == street and r.number.isdigit() and int(r.number) % 2 == value % 2
        )
        below = [t for t in side if t[0] < value]
        above = [t for t in side if t[0] > value]
        require(bool(below and above), f"{number} {street}: no neighbours to place it between")
        (n0, x0, y0), (n1, x1, y1) = below[-1], above[0]
        t = (value - n0) / (n1 - n0)
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        u, v = grid.to_local(np.array([x]), np.array([y]))
        block = (
            int(np.searchsorted(grid.us, u[0])) - 1,
            int(np.searchsorted(grid.vs, v[0])) - 1,
        )
        zip_ = next(r.zip for r in rows if r.street == street and int(r.number or 0) == n0)
        for unit in units:
            added.append(Row(number, street, unit, zip_, x, y, block, (value, "")))
    return rows + added


def make_rows(
    rng: np.random.Generator, grid: Grid, houses: list[House], names: dict, zip_row: int
) -> list[Row]:
    """Address rows: one per house, apartments split into units, a few fractional numbers."""
    rows: list[Row] = []
    order = rng.permutation(len(houses))
    apartments = set(order[:55].tolist())
    duplexes = set(order[55:140].tolist())
    # "58 1/2" and "12A": rear houses on the lots of old-town houses (within ~2.5 km of Main St)
    u, v = grid.to_local(np.array([h.x for h in houses]), np.array([h.y for h in houses]))
    old_town = set(np.nonzero(np.hypot(u, v) < 2500.0)[0].tolist())
    odd_ones = [idx for idx in order[140:].tolist() if idx in old_town][:30]
    for idx, h in enumerate(houses):
        street = names[(h.orient, h.line, h.half, h.k)]
        zip_ = "63703" if h.block[1] < zip_row else "63701"
        units = [""]
        if idx in apartments:
            units = [f"APT {n}" for n in range(1, int(rng.integers(4, 13)) + 1)]
        elif idx in duplexes:
            units = ["A", "B"]
        for unit in units:
            rows.append(Row(str(h.number), street, unit, zip_, h.x, h.y, h.block, (h.number, "")))
    for n, idx in enumerate(odd_ones):
        h = houses[idx]
        street = names[(h.orient, h.line, h.half, h.k)]
        zip_ = "63703" if h.block[1] < zip_row else "63701"
        suffix = " 1/2" if n % 2 == 0 else "A"
        # Stand the extra house 6 m further back from the street, still inside the same block.
        hu, hv = grid.to_local(np.array([h.x]), np.array([h.y]))
        i, j = h.block
        cu, cv = (grid.us[i] + grid.us[i + 1]) / 2, (grid.vs[j] + grid.vs[j + 1]) / 2
        if h.orient == "EW":
            hv += 6.0 * np.sign(cv - hv)
        else:
            hu += 6.0 * np.sign(cu - hu)
        x, y = grid.to_world(hu, hv)
        rows.append(
            Row(
                f"{h.number}{suffix}",
                street,
                "",
                zip_,
                float(x[0]),
                float(y[0]),
                h.block,
                (h.number, suffix),
            )
        )
    return rows


def staircase(
    rng: np.random.Generator, count: int, chunk: tuple[int, int], step: int
) -> np.ndarray:
    """Offsets that stay constant over chunks of chunk[0]..chunk[1] lines: a staircase edge."""
    out = np.zeros(count, dtype=int)
    pos = 0
    while pos < count:
        width = int(rng.integers(chunk[0], chunk[1] + 1))
        out[pos : pos + width] = int(rng.integers(-step, step + 1))
        pos += width
    return out


def assign_cycles(rng: np.random.Generator, grid: Grid, counts: np.ndarray) -> np.ndarray:
    """Cycle id (1-4) for every block: staircase quadrants balanced on address counts.

    A north/south staircase along E-W streets splits the rows in half by addresses, then each
    half is split east/west along N-S streets: Cycle 2 northwest (as the city says), Cycle 1
    northeast, Cycle 3 southwest, Cycle 4 southeast. One built-up pocket deep in Cycle 3 is
    billed with Cycle 4 (a detached part, as real billing routes have).
    """
    nu, nv = counts.shape
    jj = np.arange(nv)[None, :]
    ii = np.arange(nu)[:, None]
    total = counts.sum()

    def best(
        offsets: np.ndarray, axis_index: np.ndarray, mask: np.ndarray, goal: float, lo: int, hi: int
    ) -> int:
        results = [
            (abs(counts[(axis_index < b + offsets) & mask].sum() - goal), b) for b in range(lo, hi)
        ]
        return min(results)[1]

    ns = staircase(rng, nu, (3, 6), 3)[:, None]
    everywhere = np.ones_like(counts, dtype=bool)
    base = best(ns, jj, everywhere, total / 2, 0, nv)
    north = jj >= base + ns
    ew_n = staircase(rng, nv, (4, 8), 3)[None, :]
    cut_n = best(ew_n, ii, north, total / 4, 0, nu)
    ew_s = staircase(rng, nv, (4, 8), 3)[None, :]
    cut_s = best(ew_s, ii, ~north, total / 4, 0, nu)
    west_n = ii < cut_n + ew_n
    west_s = ii < cut_s + ew_s
    cycles = np.where(north, np.where(west_n, 2, 1), np.where(west_s, 3, 4))
    # Exclave: a built 2x2 pocket of Cycle 3 whose whole neighbourhood is Cycle 3 goes to Cycle 4.
    pockets = []
    for i in range(2, nu - 3):
        for j in range(2, nv - 3):
            ring = cycles[i - 2 : i + 4, j - 2 : j + 4]
            if (ring == 3).all() and counts[i : i + 2, j : j + 2].min() > 0:
                pockets.append((i, j))
    i, j = pockets[int(rng.integers(len(pockets)))]
    cycles[i : i + 2, j : j + 2] = 4
    return cycles


def build_zones(
    grid: Grid, cycles: np.ndarray, city_ll: Polygon, to_ll: Transformer, to_utm: Transformer
) -> dict[str, Polygon | MultiPolygon]:
    """Zones = city limits cut along the block edges where the cycle changes.

    Cutting each zone separately would round shared edges differently; instead the cut edges
    (each one street segment, both zones using the same two end points) and the city boundary
    are snap-rounded together on a 1e-7 degree grid and polygonized, and each face goes to the
    cycle of the block that holds it, so neighbouring zones share exactly the same vertices.
    """
    nu, nv = cycles.shape
    uu, vv = np.meshgrid(grid.us, grid.vs, indexing="ij")
    lon, lat = to_ll.transform(*grid.to_world(uu, vv))
    corner = np.stack([lon, lat], axis=-1)  # [i, j] -> lon/lat of street crossing (us[i], vs[j])
    cuts = [
        LineString([corner[i, j], corner[i, j + 1]])
        for i in range(1, nu)
        for j in range(nv)
        if cycles[i - 1, j] != cycles[i, j]
    ]
    cuts += [
        LineString([corner[i, j], corner[i + 1, j]])
        for i in range(nu)
        for j in range(1, nv)
        if cycles[i, j - 1] != cycles[i, j]
    ]
    grid_size = 10.0**-GRID_DECIMALS
    noded = shapely.union_all([city_ll.boundary, *cuts], grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    points = shapely.point_on_surface(faces)
    inside = shapely.contains(city_ll, points)
    u, v = grid.to_local(*to_utm.transform(shapely.get_x(points), shapely.get_y(points)))
    i = np.searchsorted(grid.us, u) - 1
    j = np.searchsorted(grid.vs, v) - 1
    owner = cycles[i, j]

    def unions() -> dict[int, shapely.Geometry]:
        return {
            c: shapely.union_all(faces[inside & (owner == c)], grid_size=grid_size)
            for c in (1, 2, 3, 4)
        }

    # Where a street cell barely clips the city limits it leaves a sliver of a zone (a few
    # hundred m2 between a hole and a cut): hand each one to the zone it shares most edge with.
    zones = unions()
    for c, zone in zones.items():
        for part in shapely.get_parts(zone):
            if reproject(to_utm, part).area >= MIN_PART_M2:
                continue
            edge = {o: part.boundary.intersection(z.boundary).length for o, z in zones.items()}
            edge.pop(c)
            if max(edge.values()) > 0:
                owner[inside & shapely.contains(part, points)] = max(edge, key=edge.get)
    return {str(c): zone for c, zone in unions().items()}


def round_coords(geom: Polygon | MultiPolygon, decimals: int) -> dict:
    """GeoJSON mapping with RFC 7946 ring order and rounded coordinates."""
    geom = shapely.orient_polygons(geom, exterior_cw=False)

    def rnd(obj: tuple) -> list:  # nested coordinate tuples of any depth
        if isinstance(obj[0], float):
            return [round(obj[0], decimals), round(obj[1], decimals)]
        return [rnd(o) for o in obj]

    gj = mapping(geom)
    return {"type": gj["type"], "coordinates": rnd(gj["coordinates"])}


def write_geojson(path: Path, features: list[dict]) -> None:
    """A FeatureCollection, one feature a line: stable bytes, readable diffs."""
    body = ",\n".join(json.dumps(f, separators=(",", ":"), ensure_ascii=False) for f in features)
    path.write_text(
        '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8"
    )


def require(condition: bool, message: str) -> None:
    """Stop with a message when a self-check fails (unlike assert, survives python -O)."""
    if not condition:
        raise SystemExit(f"make_demo_city: {message}")


def unit_key(unit: str) -> tuple[str, int]:
    """Sort "APT 2" before "APT 10"."""
    head, _, tail = unit.rpartition(" ")
    return (head, int(tail)) if tail.isdigit() else (unit, 0)


def check(zones: dict[str, Polygon | MultiPolygon], city_ll: Polygon, to_utm: Transformer) -> dict:
    """Validity, zero overlaps and exact cover of the city; returns the figures for the README."""
    project = reproject(to_utm, shapely.GeometryCollection(list(zones.values())))
    zones_utm = dict(zip(zones, shapely.get_parts(project), strict=True))
    require(all(z.is_valid for z in zones.values()), "invalid zone")
    overlap = max(
        zones_utm[a].intersection(zones_utm[b]).area for a in zones for b in zones if a < b
    )
    union = shapely.union_all(list(zones.values()))
    symdiff = reproject(to_utm, union.symmetric_difference(city_ll)).area
    # Only the 7-decimal rounding may show; it bends long city edges by < 1 cm.
    require(overlap < 1e-6 and symdiff < 25.0, f"overlap {overlap} m2, symdiff {symdiff} m2")
    return {
        "overlap_m2": overlap,
        "symdiff_m2": symdiff,
        "areas": {c: z.area / 1e6 for c, z in zones_utm.items()},
    }


def main() -> None:
    """Build everything and write the three files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=CITY_DIR, help="output folder (default: the demo city)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    to_utm = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)

    source = json.loads(SOURCE.read_text(encoding="utf-8"))["features"][0]
    city_ll = shape(source["geometry"])
    city_utm = reproject(to_utm, city_ll)
    origin = to_utm.transform(*ORIGIN_LONLAT)
    grid = build_grid(rng, city_utm, origin)
    candidates = place_houses(rng, grid, city_utm.buffer(-8.0))
    developed = choose_developed(rng, grid, candidates)
    houses = [h for key in sorted(developed) for h in candidates[key]]
    names = name_streets(rng, grid, houses)
    zip_row = grid.iv0 - 9  # ZIP 63703 south of Morgan Oak St
    rows = make_rows(rng, grid, houses, names, zip_row)

    counts = np.zeros((len(grid.us) - 1, len(grid.vs) - 1), dtype=int)
    for row in rows:
        counts[row.block] += 1
    cycles = assign_cycles(rng, grid, counts)
    zones = build_zones(grid, cycles, city_ll, to_ll, to_utm)
    figures = check(zones, city_ll, to_utm)
    rows = add_featured(rows, grid)

    args.out.mkdir(parents=True, exist_ok=True)
    props = source["properties"]
    write_geojson(
        args.out / "city_limits.geojson",
        [
            {
                "type": "Feature",
                "properties": {
                    "name": props["NAME"],
                    "geoid": props["GEOID"],
                    "source": "US Census Bureau TIGER/Line 2019, place 2911242 (public domain)",
                },
                "geometry": round_coords(city_ll, GRID_DECIMALS),
            }
        ],
    )
    write_geojson(
        args.out / "cycles.geojson",
        [
            {
                "type": "Feature",
                "properties": {"cycle": c, "name": f"Cycle {c}"},
                "geometry": round_coords(z, GRID_DECIMALS),
            }
            for c, z in zones.items()
        ],
    )

    xs = np.array([r.x for r in rows])
    ys = np.array([r.y for r in rows])
    lons, lats = to_ll.transform(xs, ys)
    lons, lats = np.round(lons, POINT_DECIMALS), np.round(lats, POINT_DECIMALS)
    located = np.zeros(len(rows), dtype=int)
    per_cycle = {}
    for c, z in zones.items():
        inside = shapely.contains_xy(z, lons, lats)
        located += inside
        per_cycle[c] = int(inside.sum())
        expected = np.array([cycles[r.block] == int(c) for r in rows])
        require((inside == expected).all(), f"cycle {c}: points off their block's zone")
    require((located == 1).all(), "a point is not in exactly one zone")
    seen = set()
    for r in rows:
        key = (r.number, r.street, r.unit, r.zip)
        require(key not in seen, f"duplicate address {key}")
        seen.add(key)

    order = sorted(
        range(len(rows)),
        key=lambda n: (rows[n].street, rows[n].sort_number, unit_key(rows[n].unit)),
    )
    with open(args.out / "addresses.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["house_number", "street", "unit", "city", "zip", "lon", "lat"])
        for n in order:
            r = rows[n]
            writer.writerow(
                [r.number, r.street, r.unit, CITY, r.zip, f"{lons[n]:.6f}", f"{lats[n]:.6f}"]
            )

    streets = sorted({r.street for r in rows})
    pairs = sorted({s[2:] for s in streets if s.startswith("N ") and "S " + s[2:] in streets})
    units = sum(1 for r in rows if r.unit)
    print(f"addresses: {len(rows)} ({units} unit rows), streets: {len(streets)}")
    print(f"per cycle: {per_cycle}")
    print(f"N/S pairs ({len(pairs)}): {', '.join(pairs)}")
    areas = figures["areas"]
    print("zones: " + ", ".join(f"{c} {zones[c].geom_type} {a:.2f} km2" for c, a in areas.items()))
    print(f"max pairwise overlap {figures['overlap_m2']:.3g} m2")
    print(f"union vs city limits: symmetric difference {figures['symdiff_m2']:.3g} m2")
    print(f"zip 63703: {sum(1 for r in rows if r.zip == '63703')} rows")
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
