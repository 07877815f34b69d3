"""Streaming CSV files in and out: encoding detection, dialect, atomic output.

A billing export is read row by row with the ``csv`` module and written the same way, so memory
stays flat however long the file is. What this module decides about a file:

* **Encoding**: a byte-order mark wins (UTF-8 or UTF-16); otherwise the whole file is checked as
  strict UTF-8 in blocks (C speed, about 1 GB/s) while its lines are counted for the progress bar,
  and a file that is not valid UTF-8 is read as Windows-1252 (Excel's "CSV" export on Windows).
  ``encoding=`` overrides the guess.
* **Dialect**: Excel's ``sep=;`` first line names the delimiter (and is written back first);
  otherwise the delimiter is the commonest of ``, ; TAB |`` in the header line (comma when
  none), and the line ending of the header line is the one written back, so that the original
  columns of a simple file come out byte for byte.
* **Rows**: every row is read, blank ones too (``Table.rows`` yields them; ``is_blank`` tells);
  only the guess of the address column (``sample``) leaves them out.
* **Output** is UTF-8, written to a temporary file beside the target and renamed over it at the
  end: a failed run never leaves half a file. ``atomic_writer(bom=True)`` starts it with a BOM,
  which Excel needs to read UTF-8 as UTF-8 (the caller decides: ``cyclemap assign`` writes one
  when the input had one or was not UTF-8 at all).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "in.csv"
>>> _ = path.write_bytes("name;address\\r\\nCaf\\xe9;12 MAIN ST\\r\\n".encode("cp1252"))
>>> table = open_table(path)
>>> table.encoding, table.delimiter, table.header, table.line_count
('cp1252', ';', ['name', 'address'], 2)
>>> list(table.rows())
[(['Café', '12 MAIN ST'], 2)]
"""

from __future__ import annotations

import codecs
import csv
import io
import operator
import os
import re
import sys
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from ..errors import InputError

#: how much is read at a time while checking the encoding and counting lines
BLOCK = 1 << 20
#: the fallback when a file is not UTF-8: what Excel writes on a Western-European Windows
FALLBACK_ENCODING = "cp1252"
DELIMITERS = (",", ";", "\t", "|")
#: Excel's first line naming the delimiter: ``sep=;``
SEP_LINE = re.compile(r"^sep=(.)\r?\n?$")

#: the most text read for the header record (a quote left open would otherwise read the file)
HEADER_LIMIT = 1 << 20
#: one field may hold a long free-text comment; the csv module's default limit is 128 KiB
FIELD_SIZE_LIMIT = min(sys.maxsize, 2**31 - 1)


def _reader(f: IO[str], delimiter: str) -> Any:
    """A ``csv.reader`` that accepts fields up to ``FIELD_SIZE_LIMIT``.

    The limit is the csv module's, for the whole process: it is raised when a table is read,
    never on import (a program importing cyclemap keeps its own setting until it reads one).
    """
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    return csv.reader(f, delimiter=delimiter)


@dataclass
class Table:
    """An input CSV file opened for streaming: what was decided about it, and its header.

    Make one with ``open_table``; iterate ``rows()`` once.
    """

    path: Path
    encoding: str
    bom: bool
    delimiter: str
    lineterminator: str
    header: list[str]
    #: physical lines in the file (a cheap estimate of rows + 1, for a progress bar)
    line_count: int
    #: the line before the header as it was (Excel's ``sep=;``), or ""
    preamble: str = ""

    @property
    def estimated_rows(self) -> int:
        """About how many data rows follow the header (exact unless fields hold newlines)."""
        return max(self.line_count - 1 - bool(self.preamble), 0)

    def sample(self, n: int = 200) -> list[list[str]]:
        """The first ``n`` data rows that are not blank (for guessing the address column)."""
        chunks = self.chunks(n)
        try:
            return [row for row in next(chunks, ([], None))[0] if not is_blank(row)]
        finally:
            chunks.close()

    def rows(self) -> Iterator[tuple[list[str], int]]:
        """Every data row with the line number where it starts (the header is line 1)."""
        for rows, lines in self.chunks(1000, lines=True):
            yield from zip(rows, lines or (), strict=True)

    def chunks(
        self, size: int, *, lines: bool = False
    ) -> Generator[tuple[list[list[str]], list[int] | None], None, None]:
        """The data rows in lists of up to ``size``, with their first lines when ``lines``.

        Blank lines are rows too (``[]``). ``InputError`` when the file stops decoding in the
        chosen encoding or is not CSV, naming the line.
        """
        with self.path.open("r", encoding=self.encoding, newline="") as f:
            reader = _reader(f, self.delimiter)
            try:
                if self.preamble:
                    next(reader, None)  # Excel's sep= line
                next(reader, None)  # the header
                if not lines:  # the fast path: the csv module's C loop, rows in slices
                    while chunk := list(islice(reader, size)):
                        yield chunk, None
                    return
                starts: list[int] = []
                chunk = []
                start = reader.line_num + 1
                for row in reader:
                    chunk.append(row)
                    starts.append(start)
                    if len(chunk) >= size:
                        yield chunk, starts
                        chunk, starts = [], []
                    start = reader.line_num + 1
                if chunk:
                    yield chunk, starts
            except UnicodeDecodeError:
                raise InputError(
                    f"{self.path.name} is not valid {self.encoding} near line {reader.line_num}; "
                    "give the file's encoding with --encoding (e.g. utf-8 or cp1252)"
                ) from None
            except csv.Error as exc:
                raise InputError(
                    f"{self.path.name} line {reader.line_num}: not CSV ({exc})"
                ) from None


def open_table(path: str | Path, encoding: str | None = None) -> Table:
    """Open a CSV file for streaming: choose its encoding and dialect and read its header.

    ``InputError`` (a message a clerk can act on) for a missing or unreadable file, an unknown
    encoding name, a file that does not decode, or an empty file.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise InputError(f"cannot read {path}: it {what}")
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(
                f"unknown encoding {encoding!r}; use e.g. utf-8, utf-8-sig or cp1252"
            ) from None
    try:
        detected, bom, lines = scan_file(path, encoding)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        with path.open("r", encoding=detected, newline="") as f:
            first = f.readline(1 << 20)
            sep = SEP_LINE.match(first)
            preamble = ""
            if sep:  # Excel's "sep=;": the delimiter, named; the header is the next line
                preamble, first = first, f.readline(1 << 20)
            # a quoted header cell may hold a line break: the header is the whole record
            while first.count('"') % 2 and len(first) < HEADER_LIMIT:
                more = f.readline(1 << 20)
                if not more:
                    break
                first += more
    except UnicodeDecodeError:
        raise InputError(
            f"{path.name} is not valid {detected} in its first line; "
            "give the file's encoding with --encoding (e.g. utf-8 or cp1252)"
        ) from None
    if not first.strip():
        raise InputError(f"{path.name} is empty: there is no header row and no data")
    delimiter = sep[1] if sep else sniff_delimiter(first)
    lineterminator = "\r\n" if first.endswith("\r\n") else "\n"
    header: list[str] = next(_reader(io.StringIO(first), delimiter), [])
    return Table(path, detected, bom, delimiter, lineterminator, header, lines, preamble)


def is_blank(row: list[str]) -> bool:
    """A row with nothing in it: an empty line, or only empty fields (``;;;``).

    >>> is_blank([]), is_blank(["", " "]), is_blank(["", "x"])
    (True, True, False)
    """
    return not any(cell.strip() for cell in row)


def scan_file(path: Path, encoding: str | None = None) -> tuple[str, bool, int]:
    """``(encoding, has_bom, line_count)`` of a file, in one pass over its bytes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b"\\xef\\xbb\\xbfa,b\\n1,2\\n")
    >>> scan_file(p)
    ('utf-8-sig', True, 2)
    >>> _ = p.write_bytes("a\\nM\\xfcller\\n".encode("cp1252"))
    >>> scan_file(p)
    ('cp1252', False, 2)
    """
    lines = 0
    last = b""
    with path.open("rb") as f:
        head = f.read(4)
        bom = _bom_encoding(head)
        chosen = encoding or bom or "utf-8"
        if encoding is None and bom is None:
            decoder = codecs.getincrementaldecoder("utf-8")("strict")
        else:
            decoder = None
        f.seek(0)
        while block := f.read(BLOCK):
            lines += block.count(b"\n")
            last = block[-1:]
            if decoder is not None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    decoder = None
                    chosen = FALLBACK_ENCODING
        if decoder is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                chosen = FALLBACK_ENCODING
    if last and last != b"\n":
        lines += 1
    if chosen == "utf-8" and encoding is not None and bom == "utf-8-sig":
        chosen = "utf-8-sig"  # --encoding utf-8 on a file with a BOM: do not keep the BOM as text
    return chosen, (bom is not None and chosen == bom), lines


def sniff_delimiter(header_line: str) -> str:
    """The commonest of ``, ; TAB |`` in a header line outside quotes (``,`` when none).

    >>> sniff_delimiter("account;service address;amount")
    ';'
    >>> sniff_delimiter('"Smith, J",address')
    ','
    """
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


class _RowEnds:
    """The file a ``csv.writer`` writes to when rows must end in ``"\\n"``.

    The csv module quotes a field holding a character of its ``lineterminator`` and no other
    line break: with ``"\\n"`` a field holding a bare ``"\\r"`` would be written unquoted, and
    every reader would end the row there. So the writer is given ``"\\r\\n"`` (it then quotes
    both) and each row's ending is put right here: the writer writes one row per ``write``.
    """

    __slots__ = ("_write", "_end")

    def __init__(self, f: IO[str], lineterminator: str) -> None:
        self._write = f.write
        self._end = lineterminator

    def write(self, line: str) -> int:
        """Write one row, its final ``"\\r\\n"`` replaced by the wanted line ending."""
        if line.endswith("\r\n"):
            line = line[:-2] + self._end
        return self._write(line)


def _csv_writer(f: IO[str], delimiter: str, lineterminator: str) -> Any:
    """A ``csv.writer`` on ``f`` whose output reads back as the same rows, line breaks in fields
    included (see ``_RowEnds``)."""
    if "\r" in lineterminator and "\n" in lineterminator:
        return csv.writer(f, delimiter=delimiter, lineterminator=lineterminator)
    return csv.writer(_RowEnds(f, lineterminator), delimiter=delimiter, lineterminator="\r\n")


class RowWriter:
    """A ``csv.writer`` (``writerow``, ``writerows``) that also writes rows each followed by
    added fields (``writerows_added``) where an export's rows share a few thousand answers: each
    distinct set of added fields is made CSV text once (its tail), not once a row.

    The csv module quotes each field by its own content and joins the fields with the
    delimiter, so a row's text followed by a tail is the text of the longer row, byte for byte
    (``tests/test_properties.py`` holds the two equal).

    >>> import io
    >>> f = io.StringIO()
    >>> w = RowWriter(f, ",", "\\n")
    >>> w.writerows_added([["1", "Smith, J"], ["2", "x"]], [("4", "a,b"), ("", "")])
    >>> f.getvalue()
    '1,"Smith, J",4,"a,b"\\n2,x,,\\n'
    """

    __slots__ = (
        "_f", "_writer", "_lines", "_render", "_delimiter", "_end", "_tails", "writerow",
        "writerows",
    )  # fmt: skip

    #: tails kept (the oldest half is forgotten when full)
    TAILS_KEPT = 200_000

    def __init__(self, f: IO[str], delimiter: str, lineterminator: str) -> None:
        self._f = f
        self._writer = _csv_writer(f, delimiter, lineterminator)
        self.writerow = self._writer.writerow
        self.writerows = self._writer.writerows
        self._lines: list[str] = []
        # the quoting of ``_csv_writer``'s rows: it always writes CR LF (see ``_RowEnds``)
        self._render = csv.writer(_Lines(self._lines), delimiter=delimiter, lineterminator="\r\n")
        self._delimiter = delimiter
        self._end = lineterminator
        self._tails: dict[tuple[str, ...], str] = {}

    def writerows_added(self, rows: Sequence[list[str]], added: Sequence[tuple[str, ...]]) -> None:
        """``writerows`` of each row followed by its added fields (a tuple of one or more)."""
        kept = self._tails
        tails = list(map(kept.get, added))
        if None in tails:
            if len(kept) > self.TAILS_KEPT:
                for old in list(kept)[: len(kept) - self.TAILS_KEPT // 2]:
                    del kept[old]
            for i, tail in enumerate(tails):
                if tail is None:
                    tails[i] = kept[added[i]] = self._tail(added[i])
        lines = self._lines
        lines.clear()
        self._render.writerows(rows)
        if [""] in rows or [] in rows:
            # a row of one empty field is written '""' (no blank line), and a row of none has
            # no delimiter before its first added field: such rows are written whole
            for i, row in enumerate(rows):
                if len(row) <= 1 and not any(row):
                    lines[i] = self._text([*row, *added[i]]) + "\r\n"
                    tails[i] = self._end
        self._f.write("".join(map(operator.add, map(_NO_END, lines), tails)))
        lines.clear()

    def _text(self, fields: list[str] | tuple[str, ...]) -> str:
        """One row's text, without its line ending."""
        self._render.writerow(fields)
        return self._lines.pop()[:-2]

    def _tail(self, fields: tuple[str, ...]) -> str:
        """What ``fields`` add after a row's last field: the delimiter, the fields as CSV text,
        and the line ending (one empty field alone is written '""', but not after another)."""
        if not fields:
            raise ValueError("added fields: one or more")
        text = "" if fields == ("",) else self._text(fields)
        return self._delimiter + text + self._end


class _Lines:
    """The file a renderer writes to: each row's text is kept in a list."""

    __slots__ = ("write",)

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


_NO_END = operator.itemgetter(slice(None, -2))


@contextmanager
def atomic_writer(
    target: str | Path,
    *,
    delimiter: str = ",",
    lineterminator: str = "\n",
    bom: bool = False,
    preamble: str = "",
) -> Iterator[RowWriter]:
    """A ``RowWriter`` on a temporary file that replaces ``target`` only when the block ends well.

    ``target`` ``"-"`` writes to standard output instead. The output is UTF-8 (``bom=True``
    writes a BOM first, as Excel likes); ``preamble`` (Excel's ``sep=;`` line) comes first.
    """
    if str(target) == "-":
        stream = io.TextIOWrapper(
            sys.stdout.buffer,
            encoding="utf-8-sig" if bom else "utf-8",
            newline="",
            write_through=False,
        )
        try:
            stream.write(preamble)
            yield RowWriter(stream, delimiter, lineterminator)
        finally:
            stream.flush()
            stream.detach()
        return
    target = Path(target)
    if target.is_dir():
        raise InputError(f"cannot write {target}: it is a folder")
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: the folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        f: IO[str] = tmp.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with f:
            f.write(preamble)
            yield RowWriter(f, delimiter, lineterminator)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
