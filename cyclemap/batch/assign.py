"""Batch cycle assignment: many addresses (or points) in, one small answer per row out, in order.

The billing office's export holds every service address, most of them several times (one row per
bill) and spelt with small differences of case and spacing. ``Assigner`` answers them in chunks:

1. each address gets a **key**: upper case, whitespace collapsed (``normalize_key``, the geocoder's
   own exact-step key); an address whose key was seen before is answered from a bounded cache,
   so each distinct address is geocoded once (a text seen before as written is answered before
   its key is even made: most rows of an export repeat an earlier row's text);
2. new addresses are geocoded: the cascade's first step is the exact-match lookup of that
   key, before any parsing, so most rows of a clean export never reach ``usaddress``; past it,
   texts that parse alike are answered once (``resolve``: answers by parse key);
3. the points of a whole batch are located with one vectorized ``BoundarySet.locate_xy`` call;
4. with ``workers`` > 1 (or by default, once the geocoding has proved heavy) batches of new
   addresses go to a pool of forked processes that inherit the loaded city copy-on-write, while the
   calling process reads and writes rows. Results arrive in input order either way, and the
   serial and parallel paths run the same code, so their output is identical.

Each answer equals what ``City.lookup`` says of the same address, reduced to the fields a billing
row needs (``Assignment``): status, cycle, match type, score, matched address, lon, lat, and for
rows that need a person, the reason.

``City.assign`` is the notebook-facing door, ``assign_csv`` the ``cyclemap assign`` command's:

>>> import cyclemap
>>> city = cyclemap.open_city()                                    # the bundled demo city
>>> for a in city.assign(["117 S SPRIGG ST", "117 s  sprigg st.", "", "SPRIGG ST"]):
...     print(a.status, a.cycle, a.match_type and a.match_type.value, a.score)
matched 4 exact 1.0
matched 4 normalized 0.95
not_found None None None
ambiguous None None None
"""

from __future__ import annotations

import gc
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from ..errors import InputError
from ..geocode import exact_key, load_parser
from .answers import FIELDS, STATUSES, Assignment, Tally
from .columns import find_address_columns, output_names
from .resolve import Resolver
from .workers import Job, fork_available, start_pool, stop_pool, to_assignment, worker_resolve

if TYPE_CHECKING:
    import pandas as pd

    from ..boundaries import BoundarySet
    from ..geocode import Geocoder

__all__ = [
    "AUTO_PARALLEL_AFTER",
    "CACHE_SIZE",
    "CHUNK_ROWS",
    "FIELDS",
    "STATUSES",
    "TASK_SIZE",
    "Assigner",
    "Assignment",
    "LoadedCity",
    "assign_addresses",
]

R = TypeVar("R")

#: rows read, keyed and answered together
CHUNK_ROWS = 4000
#: answers kept for addresses seen before, by key (about 400 bytes each; the oldest half is
#: forgotten when full, and geocoded again if seen again)
CACHE_SIZE = 500_000
#: ``workers=None`` starts a process pool once serial geocoding has taken this long (seconds):
#: about 50,000 exactly spelt distinct addresses, or 1,000 that need parsing. Measured on the
#: demo city's exports (2 cores, same run): 0.1 against 0.25 s took 8,000 rows 0.73 -> 0.68 s,
#: 10^5 rows 1.40 -> 1.30 s, 10^6 rows 8.1 -> 8.0 s; 3,000 rows stay serial either way
AUTO_PARALLEL_AFTER = 0.1
#: new addresses sent to a worker at a time
TASK_SIZE = 500


class LoadedCity(Protocol):
    """What the batch needs of a city (``cyclemap.City`` is one): its geocoder and live zones."""

    @property
    def geocoder(self) -> Geocoder: ...

    @property
    def boundaries(self) -> BoundarySet: ...

    @property
    def boundary_version(self) -> int: ...


# -- the engine -----------------------------------------------------------------------------
class Assigner:
    """Answer many addresses against one loaded city, chunk by chunk, in input order.

    ``workers``: 1 runs everything in this process; N > 1 geocodes new addresses in N forked
    processes; None (the default) starts serial and forks ``os.cpu_count()`` workers once the
    geocoding has taken ``AUTO_PARALLEL_AFTER`` seconds (a file of repeated, exactly spelt
    addresses never pays for a pool). Where 'fork' is not available the work stays serial.
    ``tally`` counts what was answered. An assigner is for one run at a time.

    >>> import cyclemap
    >>> assigner = Assigner.for_city(cyclemap.open_city(), workers=1)
    >>> [str(a.status) for a in assigner.assign(["117 S SPRIGG ST", "117 S SPRIGG ST", ""])]
    ['matched', 'matched', 'not_found']
    >>> assigner.tally.rows, assigner.tally.geocoded
    (3, 2)
    """

    def __init__(
        self,
        geocoder: Geocoder,
        boundaries: BoundarySet,
        *,
        workers: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        cache_size: int = CACHE_SIZE,
        boundary_version: int = 0,
    ) -> None:
        if workers is not None and workers < 1:
            raise InputError("workers must be 1 or more (or None to decide by itself)")
        self._resolver = Resolver(geocoder, boundaries)
        self.boundary_version = boundary_version
        self.workers = workers
        self.chunk_rows = max(1, chunk_rows)
        self.cache_size = max(1, cache_size)
        self._cache: dict[str, Assignment] = {}
        #: answers by the text as written (most rows repeat an earlier row's text exactly: a
        #: dict lookup, before the key is even made), bounded as the cache by key is
        self._by_text: dict[str, Assignment] = {}
        self._pool: Any = None
        self._frozen = False  # whether this run took objects out of the collector's view
        self._serial_seconds = 0.0
        self.tally = Tally()

    @classmethod
    def for_city(cls, city: LoadedCity, **options: Any) -> Assigner:
        """An assigner over a city's geocoder and its live zones (one boundary version per run)."""
        return cls(
            city.geocoder, city.boundaries, boundary_version=city.boundary_version, **options
        )

    # public entry points ------------------------------------------------------------------
    def assign(self, addresses: Iterable[str | None]) -> Iterator[Assignment]:
        """One ``Assignment`` per address, in order (None and "" are ``not_found``)."""
        texts = _chunked(map(_text, addresses), self.chunk_rows)
        for _chunk, answers in self.assign_chunks(texts):
            yield from answers

    def assign_rows(
        self, rows: Iterable[R], address: Callable[[R], str]
    ) -> Iterator[tuple[R, Assignment]]:
        """Each row with the answer for ``address(row)``, in order, streamed chunk by chunk."""
        for chunk, answers in self.assign_chunks(_chunked(rows, self.chunk_rows), address):
            yield from zip(chunk, answers, strict=True)

    def assign_chunks(
        self, chunks: Iterable[Sequence[R]], address: Callable[[R], str] | None = None
    ) -> Iterator[tuple[Sequence[R], list[Assignment]]]:
        """Each chunk of rows with the list of its answers, in order (the CLI's path).

        ``address(row)`` is the row's address text (None: the rows are the texts). New keys of
        later chunks are sent to the workers while earlier chunks wait for theirs.
        """
        started = time.perf_counter()
        pending: deque[tuple[Sequence[R], list[Any], list[tuple[int, str, Job, str]]]] = deque()
        inflight: dict[str, Job] = {}
        self._freeze()
        try:
            for chunk in chunks:
                pending.append(self._plan(chunk, address, inflight))
                while pending and (len(pending) > self._lookahead() or _jobs_ready(pending[0][2])):
                    yield self._finish(*pending.popleft(), inflight)
            while pending:
                yield self._finish(*pending.popleft(), inflight)
        finally:
            self.close()
            self.tally.seconds += time.perf_counter() - started

    def assign_points(
        self, rows: Iterable[R], point: Callable[[R], tuple[Any, Any]]
    ) -> Iterator[tuple[R, Assignment]]:
        """Each row with the answer for its ``point(row) -> (lon, lat)`` (text or numbers)."""
        for chunk, answers in self.assign_point_chunks(_chunked(rows, self.chunk_rows), point):
            yield from zip(chunk, answers, strict=True)

    def assign_point_chunks(
        self, chunks: Iterable[Sequence[R]], point: Callable[[R], tuple[Any, Any]]
    ) -> Iterator[tuple[Sequence[R], list[Assignment]]]:
        """``assign_chunks`` for points: one vectorized ``locate_xy`` per chunk, no geocoding."""
        started = time.perf_counter()
        self._freeze()
        try:
            for chunk in chunks:
                pts = [_floats(point(r)) for r in chunk]
                lons = np.array([p[0] for p in pts], float)
                lats = np.array([p[1] for p in pts], float)
                answers = [Assignment(*r) for r in self._resolver.resolve_points(lons, lats)]
                self.tally.add_many(answers)
                yield chunk, answers
        finally:
            self.close()
            self.tally.seconds += time.perf_counter() - started

    def close(self) -> None:
        """Stop the worker processes, if any were started, and give the collector back what
        the run took from its view (``_freeze``)."""
        if self._pool is not None:
            stop_pool(self._pool)
            self._pool = None
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    def _freeze(self) -> None:
        """Take everything alive now (the loaded city: millions of objects) out of the
        collector's view for the run: a run makes a million rows, and the full collections
        they set off no longer walk the city each time (a fifth of the calling process's time
        at 10^6 rows). Not when something else froze objects already (``close`` would give
        back theirs too)."""
        if not self._frozen and gc.get_freeze_count() == 0:
            gc.freeze()
            self._frozen = True

    # the pipeline -------------------------------------------------------------------------
    def _lookahead(self) -> int:
        return 0 if self._pool is None else 2 * self.tally.workers + 2

    def _plan(
        self,
        chunk: Sequence[R],
        address: Callable[[R], str] | None,
        inflight: dict[str, Job],
    ) -> tuple[Sequence[R], list[Any], list[tuple[int, str, Job, str]]]:
        # whole-chunk list operations: the per-row work stays in C where it can
        texts: list[Any] = list(chunk) if address is None else list(map(address, chunk))
        answers: list[Any] = list(map(self._by_text.get, texts))
        misses = [i for i, a in enumerate(answers) if a is None]
        if not misses:
            return chunk, answers, []
        unseen = [texts[i] for i in misses]
        keys = list(map(exact_key, unseen))
        waiting: list[tuple[int, str, str]] = []
        new: dict[str, str] = {}
        for i, text, key, known in zip(
            misses, unseen, keys, map(self._cache.get, keys), strict=True
        ):
            if known is not None:  # another text with this key was answered
                answers[i] = self._by_text[text] = known
                continue
            if key not in inflight and key not in new:
                new[key] = text
            waiting.append((i, key, text))
        if new:
            for job in self._submit(new):
                for key in job.keys:
                    inflight[key] = job
        return chunk, answers, [(i, key, inflight[key], text) for i, key, text in waiting]

    def _submit(self, new: dict[str, str]) -> list[Job]:
        keys, texts = list(new), list(new.values())
        self.tally.geocoded += len(keys)
        if self._pool is None and self._want_pool():
            self._start_pool()
        if self._pool is None:
            t0 = time.perf_counter()
            resolved = self._resolver.resolve(texts)
            self._serial_seconds += time.perf_counter() - t0
            return [Job(keys, results=dict(zip(keys, map(to_assignment, resolved), strict=True)))]
        jobs = []
        for lo in range(0, len(keys), TASK_SIZE):
            task = self._pool.submit(worker_resolve, texts[lo : lo + TASK_SIZE])
            jobs.append(Job(keys[lo : lo + TASK_SIZE], task))
        return jobs

    def _finish(
        self,
        chunk: Sequence[R],
        answers: list[Any],
        waits: list[tuple[int, str, Job, str]],
        inflight: dict[str, Job],
    ) -> tuple[Sequence[R], list[Assignment]]:
        cache, by_text = self._cache, self._by_text
        # the answers of every job this chunk waits for, in one dict (a few jobs, many waits)
        got: dict[str, Assignment] = {}
        for job in {id(job): job for _, _, job, _ in waits}.values():
            got.update(job.get())
            for key in job.keys:
                if inflight.get(key) is job:
                    del inflight[key]
        cache.update(got)  # every key of those jobs is answered now (not only this chunk's)
        for i, key, _job, text in waits:
            answers[i] = by_text[text] = got[key]
        for kept in (cache, by_text):
            if len(kept) > self.cache_size:  # forget the oldest half: geocoded again if seen
                for old in list(islice(kept, len(kept) - self.cache_size // 2)):
                    del kept[old]
        self.tally.add_many(answers)
        return chunk, answers

    def _want_pool(self) -> bool:
        if self.workers == 1 or not fork_available():
            return False
        if self.workers is None:
            return (os.cpu_count() or 1) > 1 and self._serial_seconds >= AUTO_PARALLEL_AFTER
        return True

    def _start_pool(self) -> None:
        n = self.workers or os.cpu_count() or 1
        # The resolver is handed over before the workers fork (they inherit it) and kept while
        # the pool lives: the executor forks its workers on the first submits, not here.
        # Everything alive now (the loaded city: millions of objects) leaves the collector's
        # view while the pool lives: full collections no longer walk it, and the forked
        # workers do not write to its pages (copy-on-write stays shared); ``close`` gives it
        # back. Frozen again now: what the run made so far stays shared too.
        load_parser()  # loaded once here and shared, not once in every worker
        gc.freeze()
        self._frozen = True
        self._pool = start_pool(self._resolver, n)
        self.tally.workers = n


def _jobs_ready(waits: list[tuple[int, str, Job, str]]) -> bool:
    return all(job.ready() for _, _, job, _ in waits)


def _chunked(items: Iterable[R], size: int) -> Iterator[list[R]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    return str(value)


def _floats(pair: tuple[Any, Any]) -> tuple[float, float]:
    try:
        return float(pair[0]), float(pair[1])
    except (TypeError, ValueError, IndexError):
        return float("nan"), float("nan")


# -- notebooks: City.assign -----------------------------------------------------------------
def assign_addresses(
    city: LoadedCity,
    addresses: Iterable[str | None] | pd.Series | pd.DataFrame,
    *,
    column: str | Sequence[str] | None = None,
    workers: int | None = None,
) -> Iterator[Assignment] | pd.DataFrame:
    """What ``City.assign`` returns: a DataFrame for pandas input, else an iterator.

    A Series gives a DataFrame of ``FIELDS`` + ``reason`` on the Series' index; a DataFrame gives
    a copy with those columns added (the address is ``column``, or the column(s)
    ``find_address_columns`` guesses). Any other iterable of strings gives a lazy iterator of
    ``Assignment`` in the same order (wrap it in ``list()``), so a generator over millions of
    addresses streams.
    """
    assigner = Assigner.for_city(city, workers=workers)
    kind = type(addresses).__name__
    if kind in {"Series", "DataFrame"} and type(addresses).__module__.startswith("pandas"):
        return _assign_frame(assigner, addresses, column)
    if column is not None:
        raise InputError("column= applies to a pandas DataFrame only")
    if isinstance(addresses, str):
        raise InputError("give a list (or other iterable) of addresses, not one string")
    return assigner.assign(addresses)


def _assign_frame(assigner: Assigner, data: Any, column: str | Sequence[str] | None) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        header = [str(c) for c in data.columns]
        requested = [column] if isinstance(column, str) else list(column or ())
        sample = data.head(200).astype(str).where(data.head(200).notna(), "").values.tolist()
        cols = find_address_columns(header, sample, requested)
        if len(cols.indexes) == 1:
            texts: Iterable[Any] = data.iloc[:, cols.indexes[0]]
        else:
            parts = data.iloc[:, list(cols.indexes)]
            texts = (
                " ".join(_text(v).strip() for v in row if _text(v).strip())
                for row in parts.itertuples(index=False, name=None)
            )
    else:
        texts = data
    answers = list(assigner.assign(texts))
    added = pd.DataFrame(
        {
            "cycle": [a.cycle for a in answers],
            "status": [a.status for a in answers],
            "match_type": [a.match_type.value if a.match_type else None for a in answers],
            "score": [a.score for a in answers],
            "matched_address": [a.matched_address for a in answers],
            "lon": [a.lon for a in answers],
            "lat": [a.lat for a in answers],
            "reason": [a.reason for a in answers],
        },
        index=data.index,
    )
    added["score"] = added["score"].astype(float)
    added["lon"] = added["lon"].astype(float)
    added["lat"] = added["lat"].astype(float)
    if isinstance(data, pd.DataFrame):
        names = output_names([str(c) for c in data.columns], list(added.columns))
        return pd.concat([data, added.set_axis(names, axis=1)], axis=1)
    return added
