"""Compact groupings for the address index: a million sites in a few flat numpy arrays.

A dict of a million small lists costs about 200 bytes an entry to keep and seconds to load from
the compiled city; these hold the same groups sorted, found by binary search (microseconds), and
load as raw buffers. Each answers exactly what the dict of lists answered, in the same order.

>>> groups = PairGroups(np.array([3, 1, 3, 1]), np.array([7, 5, 7, 6]))
>>> groups.get(3, 7), groups.get(1, 5), groups.get(2, 7)
([0, 2], [1], [])
>>> rows = RowGroups(np.array([0, 1, 0, 2]), 3)
>>> rows[0], rows[2], len(rows)
([0, 2], [3], 3)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class PairGroups:
    """Item indexes grouped by an integer pair key ``(a, b)``, each group in increasing order.

    The same as ``d.setdefault((a[i], b[i]), []).append(i)`` over ``i`` in order, then
    ``d.get((a, b), [])``.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        order = np.lexsort((np.arange(len(a)), b, a))
        self._a = a[order]
        self._b = b[order]
        self._items = order.astype(np.int64)

    def get(self, a: int, b: int) -> list[int]:
        """The items under ``(a, b)`` in increasing order; [] when there are none."""
        if not (_INT64_MIN <= a <= _INT64_MAX and _INT64_MIN <= b <= _INT64_MAX):
            return []  # a typed number no int64 holds is no key of ours
        keys = self._a
        lo = int(np.searchsorted(keys, a, "left"))
        hi = int(np.searchsorted(keys, a, "right"))
        if lo == hi:
            return []
        inner = self._b[lo:hi]
        i = lo + int(np.searchsorted(inner, b, "left"))
        j = lo + int(np.searchsorted(inner, b, "right"))
        return self._items[i:j].tolist()


class RowGroups:
    """The rows of each group (``group_of[row]``), each group's rows in increasing order.

    Reads like the list of lists ``rows[g]`` it replaces.
    """

    def __init__(self, group_of: np.ndarray, groups: int) -> None:
        group_of = np.asarray(group_of, dtype=np.int64)
        self._rows = np.argsort(group_of, kind="stable").astype(np.int64)
        self._starts = np.searchsorted(group_of[self._rows], np.arange(groups + 1)).astype(np.int64)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, group: int) -> list[int]:
        if not -len(self) <= group < len(self):
            raise IndexError(group)
        group %= len(self)
        return self._rows[self._starts[group] : self._starts[group + 1]].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        for g in range(len(self)):
            yield self[g]
