"""A column of texts with few distinct values: house numbers, units, towns, ZIP codes.

A million-row layer writes its ZIP a million times but has a few dozen ZIPs, a few thousand house
numbers. ``TextColumn`` keeps each distinct text once and a flat array of codes, one per row: a
few megabytes instead of a million Python strings (about 60 bytes each), and in the compiled
city the codes are a raw buffer, memory-mapped rather than unpickled (``cyclemap.compiled``).
It reads like the list it replaces.

>>> zips = TextColumn.of(["63701", "63703", "63701", ""])
>>> zips[0], zips[3], len(zips), list(zips), zips.values
('63701', '', 4, ['63701', '63703', '63701', ''], ('63701', '63703', ''))
>>> zips.code("63703"), zips.code("99999")
(1, None)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np


class TextColumn(Sequence[str]):
    """Texts by row: ``values[codes[row]]``; distinct texts in order of first appearance."""

    __slots__ = ("_codes", "_code_of", "_values")

    def __init__(self, values: Sequence[str], codes: np.ndarray) -> None:
        self._values = tuple(values)
        self._codes = np.asarray(codes, dtype=np.int32)
        self._code_of: dict[str, int] | None = None

    @classmethod
    def of(cls, texts: Iterable[str]) -> TextColumn:
        """The column of these texts, in order."""
        code_of: dict[str, int] = {}
        codes = np.fromiter((code_of.setdefault(t, len(code_of)) for t in texts), dtype=np.int32)
        column = cls(list(code_of), codes)
        column._code_of = code_of
        return column

    @property
    def values(self) -> tuple[str, ...]:
        """The distinct texts (a code is an index into these)."""
        return self._values

    @property
    def codes(self) -> np.ndarray:
        """Each row's code (int32)."""
        return self._codes

    def code(self, text: str) -> int | None:
        """The code of a text, None when no row has it."""
        code_of = self._code_of
        if code_of is None:  # after a load: built on first use (thousands of texts, a millisecond)
            code_of = self._code_of = {t: i for i, t in enumerate(self._values)}
        return code_of.get(text)

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: Any) -> Any:
        try:
            return self._values[self._codes[i]]
        except TypeError:  # not a row number (checked after: rows are asked millions of times)
            if isinstance(i, slice):
                return [self._values[c] for c in self._codes[i].tolist()]
            raise

    def __iter__(self) -> Iterator[str]:
        values = self._values
        return (values[c] for c in self._codes.tolist())

    def take(self, rows: Any) -> list[str]:
        """The texts of many rows at once (an array or list of row numbers)."""
        values = self._values
        return [values[c] for c in self._codes[np.asarray(rows, dtype=np.int64)].tolist()]

    def __repr__(self) -> str:
        return f"<TextColumn {len(self)} rows, {len(self._values)} distinct>"

    def __getstate__(self) -> tuple[tuple[str, ...], np.ndarray]:
        return self._values, self._codes

    def __setstate__(self, state: tuple[tuple[str, ...], np.ndarray]) -> None:
        self._values, self._codes = state
        self._code_of = None
