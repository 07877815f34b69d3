"""Files: ``cyclemap assign``'s path, an input CSV streamed through a city into an output CSV."""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .answers import FIELDS, REJECT_FIELDS, Assignment, Tally
from .assign import Assigner, LoadedCity
from .columns import AddressColumns, column_index, find_address_columns, output_names

if TYPE_CHECKING:
    from .csvio import Table

__all__ = ["CsvReport", "assign_csv", "plan_csv"]

_FIRST = operator.itemgetter(0)
_CSV_FIELDS = operator.attrgetter("csv_fields")


# -- files: cyclemap assign -----------------------------------------------------------------
@dataclass
class CsvReport:
    """What ``assign_csv`` did: the counts, where the addresses came from, what was written."""

    tally: Tally
    source: str
    encoding: str
    columns: list[str]
    rejects: int = 0
    boundary_version: int = 0
    replaced: bool = False
    ragged: int = 0
    #: the output starts with a UTF-8 BOM (the input had one, or was not UTF-8: Excel needs it)
    bom: bool = False
    #: rows kept as they were without a lookup: blank ones, and repeats of the header row
    blank_rows: int = 0
    header_rows: int = 0


def plan_csv(
    path: str | Path,
    *,
    address_columns: Sequence[str] = (),
    lon_column: str | None = None,
    lat_column: str | None = None,
    encoding: str | None = None,
) -> tuple[Table, AddressColumns | tuple[int, int]]:
    """Open an input CSV and decide where its addresses (or points) are; ``InputError`` if nowhere.

    Returns the opened ``Table`` and either ``AddressColumns`` or ``(lon index, lat index)``.
    """
    from .csvio import open_table

    if (lon_column is None) != (lat_column is None):
        raise InputError("give both --lon-column and --lat-column, or neither")
    if lon_column is not None and address_columns:
        raise InputError("give either --address-column or --lon-column/--lat-column, not both")
    table = open_table(path, encoding)
    if lon_column is not None and lat_column is not None:
        return table, (
            column_index(table.header, lon_column),
            column_index(table.header, lat_column),
        )
    return table, find_address_columns(table.header, table.sample(), address_columns)


def assign_csv(
    city: LoadedCity,
    table: Table,
    where: AddressColumns | tuple[int, int],
    out: str | Path,
    *,
    rejects: str | Path | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> CsvReport:
    """Stream ``table`` through the city into ``out`` (rows needing a person also to ``rejects``).

    Every input row and column is kept in order; ``FIELDS`` are added at the end (renamed
    ``status_1``… when the header already uses a name). A file that ends with exactly ``FIELDS``
    (an earlier output) has them replaced instead, so a re-run after a boundary change updates
    it. ``progress(n)`` is called with the number of rows done after each chunk.

    Rows that are no address are kept in their place and not looked up: a blank row stays
    blank (its added fields empty), and a row that repeats the header (two exports pasted
    together) is written as the output's header row again. The output has a UTF-8 BOM when the
    input had one or was not UTF-8 (a Windows-1252 export): Excel then reads it right.
    """
    from .csvio import atomic_writer, is_blank

    header = table.header
    width = len(header)
    replaced = width >= len(FIELDS) and tuple(header[-len(FIELDS) :]) == FIELDS
    keep = width - len(FIELDS) if replaced else width
    if isinstance(where, AddressColumns) and replaced and max(where.indexes) >= keep:
        raise InputError("the address column is one of the columns cyclemap assign writes")
    out_header = header[:keep] + output_names(header[:keep], FIELDS)
    assigner = Assigner.for_city(city, workers=workers)
    bom = table.bom or not table.encoding.replace("_", "-").lower().startswith("utf")
    report = CsvReport(
        assigner.tally, "", table.encoding, out_header,
        boundary_version=assigner.boundary_version, replaced=replaced, bom=bom,
    )  # fmt: skip
    # per chunk given to the assigner: its rows' first lines, and the rows kept without a
    # lookup that come before each of its rows (index -> rows), or after the last
    line_queue: deque[tuple[list[int] | None, dict[int, list[list[str]]]]] = deque()
    header_key = [name.strip().casefold() for name in header]
    held: list[list[str]] = []  # kept rows waiting for the next chunk (or the end)

    first_key = header_key[0] if header_key else ""

    def kept_as_is(row: list[str]) -> list[str] | None:
        """What to write for a row that is no address, or None for a row to look up."""
        # the common row's first cell is not blank and not the header's: that decides it
        # (the full tests below give the same answer, cell by cell)
        if row and (cell := row[0].strip()) and cell.casefold() != first_key:
            return None
        if is_blank(row):
            report.blank_rows += 1
            return row if not row else [*row, *[""] * (len(out_header) - len(row))]
        if len(row) >= width and [c.strip().casefold() for c in row[:width]] == header_key:
            report.header_rows += 1
            return out_header
        return None

    def all_looked_up(rows: list[list[str]]) -> bool:
        """Whether every row of a chunk is to be looked up (``kept_as_is`` of each is None): no
        row is empty and every first cell is neither blank nor the header's. In C-level passes:
        the usual chunk needs no Python loop over its rows."""
        if not rows or min(map(len, rows)) == 0:
            return False
        firsts = list(map(str.strip, map(_FIRST, rows)))
        return all(firsts) and first_key not in set(map(str.casefold, firsts))

    def fitted() -> Iterator[list[list[str]]]:
        for rows, lines in table.chunks(assigner.chunk_rows, lines=rejects is not None):
            before: dict[int, list[list[str]]] = {}
            looked: list[list[str]] = []
            starts: list[int] | None = [] if lines is not None else None
            if all_looked_up(rows):
                if held:
                    before[0] = held[:]
                    held.clear()
                looked = rows
                starts = lines
                rows = []
            for i, row in enumerate(rows):
                as_is = kept_as_is(row)
                if as_is is not None:
                    held.append(as_is)
                    continue
                if held:
                    before[len(looked)] = held[:]
                    held.clear()
                looked.append(row)
                if starts is not None and lines is not None:
                    starts.append(lines[i])
            if not looked:
                continue
            if min(map(len, looked)) < width:  # short rows get empty fields, so columns line up
                looked = [r + [""] * (width - len(r)) if len(r) < width else r for r in looked]
            line_queue.append((starts, before))
            yield looked

    answered: Iterator[tuple[Sequence[list[str]], list[Assignment]]]
    if isinstance(where, AddressColumns):
        report.source = where.describe()
        # rows are at least header-wide (``fitted``): one column is a C-level item lookup
        (first,) = where.indexes[:1]
        get = operator.itemgetter(first) if len(where.indexes) == 1 else where.getter()
        answered = assigner.assign_chunks(fitted(), get)
    else:
        lon_i, lat_i = where
        report.source = f"{header[lon_i]}, {header[lat_i]} (points)"
        answered = assigner.assign_point_chunks(fitted(), operator.itemgetter(lon_i, lat_i))
    dialect = {"delimiter": table.delimiter, "lineterminator": table.lineterminator}
    with atomic_writer(out, bom=bom, preamble=table.preamble, **dialect) as writer:
        writer.writerow(out_header)
        with _maybe_rejects(rejects, header[:keep], dialect, bom, table.preamble) as rejected:
            try:
                for rows, answers in answered:
                    lines, before = line_queue.popleft()
                    added = list(map(_CSV_FIELDS, answers))
                    out_rows: Sequence[list[str]]
                    if replaced or max(map(len, rows)) > width:
                        report.ragged += sum(len(r) > width for r in rows)
                        out_rows = [
                            [*r[:keep], *c, *r[width:]] for r, c in zip(rows, added, strict=True)
                        ]
                    elif not before:  # the usual chunk: each answer's fields made text once
                        writer.writerows_added(rows, added)
                        out_rows = ()
                    else:
                        out_rows = [[*r, *c] for r, c in zip(rows, added, strict=True)]
                    if before:
                        out_rows = _with_kept_rows(out_rows, before)
                    writer.writerows(out_rows)
                    if rejected is not None and lines is not None:
                        for i, a in enumerate(answers):
                            if a.needs_review:
                                fields = rows[i][:keep]
                                rejected.writerow([lines[i], *fields, a.status, a.reason])
                                report.rejects += 1
                    if progress is not None:
                        progress(len(rows))
                writer.writerows(held)  # kept rows after the last row looked up
            finally:
                assigner.close()
    return report


def _with_kept_rows(
    rows: Sequence[list[str]], before: dict[int, list[list[str]]]
) -> list[list[str]]:
    """``rows`` with the rows kept without a lookup put back in front of the ones they preceded.

    >>> _with_kept_rows([["a"], ["b"]], {1: [[]]})
    [['a'], [], ['b']]
    """
    out: list[list[str]] = []
    for i, row in enumerate(rows):
        out.extend(before.get(i, ()))
        out.append(row)
    return out


class _NoRejects:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _maybe_rejects(
    path: str | Path | None, header: list[str], dialect: dict, bom: bool, preamble: str
) -> Any:
    if path is None:
        return _NoRejects()
    from contextlib import contextmanager

    from .csvio import atomic_writer

    @contextmanager
    def opened() -> Iterator[Any]:
        with atomic_writer(path, bom=bom, preamble=preamble, **dialect) as w:
            line, status, reason = output_names(header, REJECT_FIELDS)
            w.writerow([line, *header, status, reason])
            yield w

    return opened()
