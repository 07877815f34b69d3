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
    """
    from .csvio import atomic_writer

    header = table.header
    width = len(header)
    replaced = width >= len(FIELDS) and tuple(header[-len(FIELDS) :]) == FIELDS
    keep = width - len(FIELDS) if replaced else width
    if isinstance(where, AddressColumns) and replaced and max(where.indexes) >= keep:
        raise InputError("the address column is one of the columns cyclemap assign writes")
    out_header = header[:keep] + output_names(header[:keep], FIELDS)
    assigner = Assigner.for_city(city, workers=workers)
    report = CsvReport(
        assigner.tally, "", table.encoding, out_header,
        boundary_version=assigner.boundary_version, replaced=replaced,
    )  # fmt: skip
    line_queue: deque[list[int] | None] = deque()

    def fitted() -> Iterator[list[list[str]]]:
        for rows, lines in table.chunks(assigner.chunk_rows, lines=rejects is not None):
            if min(map(len, rows)) < width:  # short rows get empty fields, so columns line up
                rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
            line_queue.append(lines)
            yield rows

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
    with atomic_writer(out, bom=table.bom, **dialect) as writer:
        writer.writerow(out_header)
        with _maybe_rejects(rejects, header[:keep], dialect, table.bom) as rejected:
            try:
                for rows, answers in answered:
                    lines = line_queue.popleft()
                    added = list(map(_CSV_FIELDS, answers))
                    if replaced or max(map(len, rows)) > width:
                        report.ragged += sum(len(r) > width for r in rows)
                        out_rows = [
                            [*r[:keep], *c, *r[width:]] for r, c in zip(rows, added, strict=True)
                        ]
                    else:
                        out_rows = rows
                        deque(map(list.extend, rows, added), maxlen=0)  # in place, at C speed
                    writer.writerows(out_rows)
                    if rejected is not None and lines is not None:
                        for i, a in enumerate(answers):
                            if a.status != "matched":
                                fields = rows[i][:keep]
                                rejected.writerow([lines[i], *fields, a.status, a.reason])
                                report.rejects += 1
                    if progress is not None:
                        progress(len(rows))
            finally:
                assigner.close()
    return report


class _NoRejects:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _maybe_rejects(path: str | Path | None, header: list[str], dialect: dict, bom: bool) -> Any:
    if path is None:
        return _NoRejects()
    from contextlib import contextmanager

    from .csvio import atomic_writer

    @contextmanager
    def opened() -> Iterator[Any]:
        with atomic_writer(path, bom=bom, **dialect) as w:
            line, status, reason = output_names(header, REJECT_FIELDS)
            w.writerow([line, *header, status, reason])
            yield w

    return opened()
