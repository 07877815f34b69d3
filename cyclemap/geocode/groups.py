"""Compact groupings for the address index: a million sites in a few flat numpy arrays.

A dict of a million small lists costs about 200 bytes an entry to keep and seconds to load from
the compiled city; these hold the same groups sorted, found by binary search (microseconds), and
load as raw buffers (memory-mapped from the compiled file, see ``cyclemap.compiled``). Each
answers exactly what the dict of lists answered, in the same order: ``PairGroups`` (by an
integer pair), ``RowGroups`` (a site's rows), ``Slices`` (a list of arrays), ``KeyGroups`` (by a
text key, the exact index).

>>> groups = PairGroups(np.array([3, 1, 3, 1]), np.array([7, 5, 7, 6]))
>>> groups.get(3, 7), groups.get(1, 5), groups.get(2, 7)
([0, 2], [1], [])
>>> rows = RowGroups(np.array([0, 1, 0, 2]), 3)
>>> rows[0], rows[2], len(rows)
([0, 2], [3], 3)
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence

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
        keys = self._a  # (the arrays' own searchsorted: np.searchsorted's wrapper costs more)
        lo = int(keys.searchsorted(a, "left"))
        hi = int(keys.searchsorted(a, "right"))
        if lo == hi:
            return []
        inner = self._b[lo:hi]
        i = lo + int(inner.searchsorted(b, "left"))
        j = lo + int(inner.searchsorted(b, "right"))
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


class Slices:
    """A list of integer arrays kept as one flat array and where each starts.

    Reads like the list of arrays it replaces (``slices[i]`` is a view of the flat array); a
    million small arrays would cost ~100 bytes each to keep and to load one by one.

    >>> parts = Slices([np.array([4, 2]), np.array([], dtype=np.int64), np.array([7])])
    >>> parts[0].tolist(), parts[1].tolist(), parts[2].tolist(), len(parts)
    ([4, 2], [], [7], 3)
    """

    def __init__(self, parts: Iterable[np.ndarray]) -> None:
        arrays = [np.asarray(p, dtype=np.int64) for p in parts]
        sizes = np.array([len(a) for a in arrays], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._flat = np.concatenate(arrays) if arrays else np.empty(0, np.int64)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self._starts) - 1
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._flat[self._starts[i] : self._starts[i + 1]]


def text_digest(text: str) -> int:
    """A text's 64-bit digest, the same in every process (``hash()`` is not): its CRC-32 and
    Adler-32 side by side, as a signed int64. Quick (a build digests a million keys) rather
    than strong: two keys sharing one are told apart (``KeyGroups``).

    >>> text_digest("12 S SPRIGG ST") == text_digest("12 S SPRIGG ST") != text_digest("12 S")
    True
    """
    data = text.encode("utf-8", "surrogatepass")
    value = zlib.crc32(data) << 32 | zlib.adler32(data)
    return value - (1 << 64) if value >= 1 << 63 else value


class KeyGroups:
    """Items grouped by a text key (``d.setdefault(key, []).append(item)``), without the dict.

    Kept as the keys' 64-bit digests (``text_digest``), sorted and each once, with where each
    one's items start (three flat arrays); ``get(key, key_of)`` finds a digest by binary search
    and checks with ``key_of(item)`` that its first item has the key (a text that is no key may
    share a digest with one). Keys that share a digest (never seen: one chance in ~10^7 for a
    million keys) are kept in a small dict instead.

    >>> groups = KeyGroups(["B", "A", "B"], [10, 11, 12])
    >>> keys = {10: "B", 11: "A", 12: "B"}
    >>> groups.get("B", keys.__getitem__), groups.get("C", keys.__getitem__)
    ([10, 12], [])
    >>> same = KeyGroups(["B", "A", "B"], [10, 11, 12], digest=len)   # every key one digest
    >>> same.get("B", keys.__getitem__), same.get("A", keys.__getitem__)
    ([10, 12], [11])
    """

    def __init__(
        self,
        keys: Sequence[str],
        items: Iterable[int],
        digest: Callable[[str], int] = text_digest,
    ) -> None:
        self.digest = digest
        hashes = np.fromiter((digest(k) for k in keys), dtype=np.int64, count=len(keys))
        values = np.fromiter(items, dtype=np.int64, count=len(keys))
        order = np.lexsort((np.arange(len(hashes)), hashes))
        ordered = hashes[order]
        # digests two different keys share: those keys' items go to the dict instead
        clash: set[int] = set()
        for i in np.flatnonzero(ordered[1:] == ordered[:-1]).tolist():
            if keys[int(order[i])] != keys[int(order[i + 1])]:
                clash.add(int(ordered[i]))
        self._clash: dict[str, list[int]] = {}
        if clash:
            for i, h in enumerate(hashes.tolist()):
                if h in clash:
                    self._clash.setdefault(keys[i], []).append(int(values[i]))
            keep = ~np.isin(ordered, np.fromiter(clash, dtype=np.int64))
            order, ordered = order[keep], ordered[keep]
        self._clashing = frozenset(clash)
        first = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.zeros(0, bool)
        self._digests = ordered[first]
        self._starts = np.r_[np.flatnonzero(first), len(ordered)].astype(np.int64)
        self._items = values[order]

    def __len__(self) -> int:
        return len(self._items) + sum(len(v) for v in self._clash.values())

    def get(self, key: str, key_of: Callable[[int], str], digest: int | None = None) -> list[int]:
        """The items under ``key`` in the order they were given; [] when there are none.

        ``digest``: the key's ``digest(key)`` when the caller has it (one text, several groups).
        """
        h = self.digest(key) if digest is None else digest
        if h in self._clashing:
            return list(self._clash.get(key, ()))
        digests = self._digests
        i = int(digests.searchsorted(h))
        if i == len(digests) or digests[i] != h:
            return []
        items = self._items[self._starts[i] : self._starts[i + 1]].tolist()
        return items if key_of(items[0]) == key else []
