"""The cycle of every address point of a layer, located once per address layer and zone set.

Most places an answer names are address points of the layer: an exact or normalized match, and
each town's copy of an address typed without its town (47 of them in a county of 47 towns).
Locating each in the zones costs tens of microseconds against zones of thousands of vertices.
``PointCycles`` locates every point of the layer in one vectorized ``BoundarySet.locate_xy``
call (a few seconds for a million points, once: ``City`` keeps it in the compiled cache, keyed
by the content of both) and then answers a candidate standing on a layer point by an array
lookup; any other place (a number placed between its neighbours, a point given as lon/lat) is
located with ``locate_xy`` as before. ``locate_xy`` locates each point alone, so the answer is
the same either way.

>>> from shapely.geometry import box
>>> from cyclemap.boundaries import BoundarySet
>>> from cyclemap.geocode import AddressLayer, Candidate, MatchType
>>> zones = BoundarySet(["1", "2"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
>>> layer = AddressLayer.from_records([{"number": 1, "street": "Main St", "lon": 1.5, "lat": 0.5}])
>>> table = PointCycles.build(zones, layer)
>>> on_point = Candidate("1 MAIN ST", 1.5, 0.5, MatchType.EXACT, 1.0, row=0)
>>> placed = Candidate("3 MAIN ST", 0.5, 0.5, MatchType.INTERPOLATED, 0.8)
>>> table.cycles_of([on_point, placed])
['2', '1']
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .boundaries import BoundarySet
from .geocode import AddressLayer, Candidate

__all__ = ["PointCycles", "locate_codes", "zones_digest"]

#: up to this many candidates, ``cycles_of`` loops in Python instead of building arrays
FEW_CANDIDATES = 8


class PointCycles:
    """The zone of each point of an address layer (``codes[row]`` indexes ``zones.ids``; one
    past the last: outside every zone), and the cycles of candidates from it."""

    def __init__(self, zones: BoundarySet, layer: AddressLayer, codes: np.ndarray) -> None:
        if len(codes) != len(layer):
            raise ValueError("one zone code a point of the layer")
        self.zones = zones
        self.layer = layer
        self.codes = codes
        self._labels = np.array([*zones.ids, ""])
        self._label_list = [*zones.ids, ""]

    @classmethod
    def build(cls, zones: BoundarySet, layer: AddressLayer) -> PointCycles:
        """Locate every point of ``layer`` in ``zones`` (one vectorized call)."""
        return cls(zones, layer, locate_codes(zones, layer))

    def cycles_of(self, cands: Sequence[Candidate]) -> list[str]:
        """The cycle ("" = none) of each candidate's place, in order (``locate_xy``'s answer)."""
        n = len(cands)
        if not n:
            return []
        if n <= FEW_CANDIDATES:
            return self._few_cycles_of(cands)
        rows = np.fromiter((-1 if c.row is None else c.row for c in cands), np.int64, n)
        xs = np.fromiter((c.lon for c in cands), np.float64, n)
        ys = np.fromiter((c.lat for c in cands), np.float64, n)
        safe = np.where(rows >= 0, rows, 0)
        # a candidate stands on its row's point unless it was placed elsewhere
        on_point = (rows >= 0) & (self.layer.lon[safe] == xs) & (self.layer.lat[safe] == ys)
        out = self._labels[self.codes[safe]]
        if not on_point.all():
            off = ~on_point
            out[off] = self.zones.locate_xy(xs[off], ys[off])
        return out.tolist()

    def _few_cycles_of(self, cands: Sequence[Candidate]) -> list[str]:
        """``cycles_of`` for a few candidates (a lookup's usual one or two): the same test and
        table, element by element, since numpy's per-call cost outweighs a short loop."""
        lon, lat, codes, labels = self.layer.lon, self.layer.lat, self.codes, self._label_list
        out: list[str] = []
        off: list[int] = []
        for k, c in enumerate(cands):
            row = c.row
            if row is not None and row >= 0 and lon[row] == c.lon and lat[row] == c.lat:
                out.append(labels[int(codes[row])])
            else:
                out.append("")
                off.append(k)
        if off:
            found = _placed_elsewhere(self.zones, [cands[k] for k in off])
            for k, cid in zip(off, found, strict=True):
                out[k] = cid
        return out


def _placed_elsewhere(zones: BoundarySet, cands: Sequence[Candidate]) -> list[str]:
    xs = np.fromiter((c.lon for c in cands), np.float64, len(cands))
    ys = np.fromiter((c.lat for c in cands), np.float64, len(cands))
    return [str(cid) for cid in zones.locate_xy(xs, ys).tolist()]


def locate_codes(zones: BoundarySet, layer: AddressLayer) -> np.ndarray:
    """The zone code of each point of ``layer``: its index in ``zones.ids``, ``len(zones)``
    outside every zone (int16)."""
    found = zones.locate_xy(layer.lon, layer.lat)
    position = {cid: k for k, cid in enumerate(zones.ids)}
    position[""] = len(zones.ids)
    labels, inverse = np.unique(found, return_inverse=True)
    lookup = np.array([position[str(label)] for label in labels], dtype=np.int16)
    return lookup[inverse.reshape(-1)] if len(found) else np.empty(0, np.int16)


def zones_digest(zones: BoundarySet) -> str:
    """A digest of zones: their ids in order and their shapes (what a point's zone depends on)."""
    import shapely

    h = hashlib.sha256(b"zones")
    for cid, geom in zip(zones.ids, zones.geometries, strict=True):
        h.update(cid.encode() + b"\0")
        h.update(shapely.to_wkb(geom))
    return h.hexdigest()
