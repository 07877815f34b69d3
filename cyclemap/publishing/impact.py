"""What a new boundary file or address layer changes, address by address.

Plain computations over the core's own objects, no database: ``zone_impact`` classifies every
address point under the zones in force and under new zones and counts each move (from, to);
``layer_impact`` compares two address layers (added, removed, moved, changing cycle). The staff
commands (``cyclemap.publishing``) add validation and the store around them.

>>> from shapely.geometry import box
>>> from cyclemap.geocode import AddressLayer
>>> from cyclemap.boundaries import BoundarySet
>>> layer = AddressLayer.from_records([
...     {"number": "1", "street": "Main St", "lon": 0.002, "lat": 0.005},
...     {"number": "3", "street": "Main St", "lon": 0.008, "lat": 0.005},
... ])
>>> before = BoundarySet(["1", "2"], [box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)])
>>> after = BoundarySet(["1", "2"], [box(0, 0, 0.005, 0.01), box(0.005, 0, 0.02, 0.01)])
>>> impact = zone_impact(layer, before, after)
>>> impact.addresses_changing, [m.to_dict() for m in impact.moves]
(1, [{'from': '1', 'to': '2', 'addresses': 1}])
>>> impact.changes[0].address
'3 MAIN ST'
>>> [(c.id, c.addresses_before, c.addresses_after) for c in impact.cycles]
[('1', 2, 1), ('2', 0, 1)]
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..boundaries import cycle_sort_key
from ..geocode import metres

if TYPE_CHECKING:
    from ..boundaries import BoundarySet
    from ..geocode import AddressLayer

#: an address point that moved less than this (metres) between two layers has not "moved"
MOVED_M = 5.0
#: the columns of the changing-addresses CSV (interface.md)
CSV_FIELDS = ("address", "from_cycle", "to_cycle", "lon", "lat")


@dataclass(frozen=True)
class Move:
    """``addresses`` points go from cycle ``from_cycle`` to ``to_cycle`` ("" = outside)."""

    from_cycle: str
    to_cycle: str
    addresses: int

    def to_dict(self) -> dict[str, Any]:
        """``{"from", "to", "addresses"}`` (null for outside every zone)."""
        return {
            "from": self.from_cycle or None,
            "to": self.to_cycle or None,
            "addresses": self.addresses,
        }


@dataclass(frozen=True)
class CycleChange:
    """One cycle's area and address count before and after."""

    id: str
    area_m2_before: float
    area_m2_after: float
    addresses_before: int
    addresses_after: int

    def to_dict(self) -> dict[str, Any]:
        """The ``cycles`` item of ``boundaries diff --json``."""
        return {
            "id": self.id,
            "area_m2_before": round(self.area_m2_before, 1),
            "area_m2_after": round(self.area_m2_after, 1),
            "addresses_before": self.addresses_before,
            "addresses_after": self.addresses_after,
        }


@dataclass(frozen=True)
class ChangedAddress:
    """One address whose cycle changes ("" = outside every zone)."""

    address: str
    from_cycle: str
    to_cycle: str
    lon: float
    lat: float
    change: str = "cycle"  # cycle | added | removed | moved (address layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "address": self.address,
            "from_cycle": self.from_cycle or None,
            "to_cycle": self.to_cycle or None,
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "change": self.change,
        }


@dataclass(frozen=True)
class ZoneImpact:
    """What new zones change for the live address points."""

    addresses_compared: int
    moves: tuple[Move, ...]
    cycles: tuple[CycleChange, ...]
    changes: tuple[ChangedAddress, ...]

    @property
    def addresses_changing(self) -> int:
        """How many address points change cycle."""
        return len(self.changes)


def zone_areas_m2(zones: BoundarySet) -> dict[str, float]:
    """Each zone's geodesic area in m² (WGS 84 ellipsoid), independent of any projection.

    >>> from shapely.geometry import box
    >>> from cyclemap.boundaries import BoundarySet
    >>> round(zone_areas_m2(BoundarySet(["1"], [box(0, 0, 0.01, 0.01)]))["1"])
    1230907
    """
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    return {
        cid: abs(geod.geometry_area_perimeter(geom)[0])
        for cid, geom in zip(zones.ids, zones.geometries, strict=True)
    }


def zone_impact(layer: AddressLayer, before: BoundarySet, after: BoundarySet) -> ZoneImpact:
    """Classify every address point under ``before`` and ``after`` zones; count each move."""
    lons, lats = np.asarray(layer.lon, float), np.asarray(layer.lat, float)
    old = before.locate_xy(lons, lats)
    new = after.locate_xy(lons, lats)
    changing = np.flatnonzero(old != new)
    pairs = Counter(zip(old[changing].tolist(), new[changing].tolist(), strict=True))
    moves = tuple(
        Move(a, b, n)
        for (a, b), n in sorted(pairs.items(), key=lambda kv: (-kv[1], _key(kv[0][0]), kv[0][1]))
    )
    changes = tuple(
        sorted(
            (
                ChangedAddress(layer.address(int(i)), str(old[i]), str(new[i]), lons[i], lats[i])
                for i in changing
            ),
            key=lambda c: (_key(c.from_cycle), _key(c.to_cycle), c.address),
        )
    )
    areas_before, areas_after = zone_areas_m2(before), zone_areas_m2(after)
    counts_before, counts_after = Counter(old.tolist()), Counter(new.tolist())
    ids = sorted(set(before.ids) | set(after.ids), key=cycle_sort_key)
    cycles = tuple(
        CycleChange(
            cid,
            areas_before.get(cid, 0.0),
            areas_after.get(cid, 0.0),
            counts_before.get(cid, 0),
            counts_after.get(cid, 0),
        )
        for cid in ids
    )
    return ZoneImpact(len(lons), moves, cycles, changes)


@dataclass(frozen=True)
class LayerImpact:
    """What a new address layer changes: points added, removed, moved, changing cycle."""

    addresses_before: int
    addresses_after: int
    added: int
    removed: int
    moved: int
    changing_cycle: int
    changes: tuple[ChangedAddress, ...]

    def to_dict(self) -> dict[str, Any]:
        """The counts (``changes`` are listed separately, they can be many)."""
        return {
            "addresses_before": self.addresses_before,
            "addresses_after": self.addresses_after,
            "added": self.added,
            "removed": self.removed,
            "moved": self.moved,
            "changing_cycle": self.changing_cycle,
        }


def _address_keys(layer: AddressLayer) -> dict[str, int]:
    """One key per address (number, street, unit, ZIP); the first point of a repeated one."""
    keys: dict[str, int] = {}
    for i in range(len(layer)):
        key = f"{layer.address(i)}|{layer.zip[i]}".upper()
        keys.setdefault(key, i)
    return keys


def layer_impact(before: AddressLayer, after: AddressLayer, zones: BoundarySet) -> LayerImpact:
    """Compare two address layers under the zones in force.

    An address is *added* or *removed* by its
    number, street, unit and ZIP; *moved* when its point moved more than ``MOVED_M`` metres;
    *changing cycle* when its cycle under ``zones`` differs (added and removed points count
    there too when they are inside a zone).
    """
    old_keys, new_keys = _address_keys(before), _address_keys(after)
    old_cycle = zones.locate_xy(np.asarray(before.lon, float), np.asarray(before.lat, float))
    new_cycle = zones.locate_xy(np.asarray(after.lon, float), np.asarray(after.lat, float))
    changes: list[ChangedAddress] = []
    moved = 0
    for key, j in new_keys.items():
        i = old_keys.get(key)
        lon, lat = float(after.lon[j]), float(after.lat[j])
        label = after.address(j)
        if i is None:
            changes.append(ChangedAddress(label, "", str(new_cycle[j]), lon, lat, "added"))
            continue
        if metres(float(before.lon[i]), float(before.lat[i]), lon, lat) > MOVED_M:
            moved += 1
            if old_cycle[i] == new_cycle[j]:
                changes.append(
                    ChangedAddress(label, str(old_cycle[i]), str(new_cycle[j]), lon, lat, "moved")
                )
        if old_cycle[i] != new_cycle[j]:
            changes.append(
                ChangedAddress(label, str(old_cycle[i]), str(new_cycle[j]), lon, lat, "cycle")
            )
    for key, i in old_keys.items():
        if key not in new_keys:
            lon, lat = float(before.lon[i]), float(before.lat[i])
            changes.append(
                ChangedAddress(before.address(i), str(old_cycle[i]), "", lon, lat, "removed")
            )
    changes.sort(key=lambda c: (c.change, c.address))
    counts = Counter(c.change for c in changes)
    changing = sum(1 for c in changes if c.from_cycle != c.to_cycle)
    return LayerImpact(
        len(old_keys), len(new_keys), counts["added"], counts["removed"], moved, changing,
        tuple(changes),
    )  # fmt: skip


def changes_csv(changes: Iterable[ChangedAddress]) -> str:
    """The changing addresses as CSV text: ``address, from_cycle, to_cycle, lon, lat``.

    >>> print(changes_csv([ChangedAddress("3 MAIN ST", "1", "2", 0.008, 0.005)]).strip())
    address,from_cycle,to_cycle,lon,lat
    3 MAIN ST,1,2,0.008,0.005
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for c in changes:
        writer.writerow([c.address, c.from_cycle, c.to_cycle, round(c.lon, 7), round(c.lat, 7)])
    return out.getvalue()


def _key(cycle_id: str) -> tuple:
    return cycle_sort_key(cycle_id) if cycle_id else (9, 0, "")
