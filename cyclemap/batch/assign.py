"""Batch cycle assignment: many addresses (or points) in, one small answer per row out, in order.

The billing office's export holds every service address, most of them several times (one row per
bill) and spelt with small differences of case and spacing. ``Assigner`` answers them in chunks:

1. each address gets a **key**: upper case, whitespace collapsed (``normalize_key``, the geocoder's
   own exact-step key); an address whose key was seen before is answered from a bounded cache,
   so each distinct address is geocoded once;
2. new addresses are geocoded: the cascade's first step is the exact-match dict lookup on that
   key, before any parsing, so most rows of a clean export never reach ``usaddress``;
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
import multiprocessing
import operator
import os
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .decide import candidate_points, decide, place_label
from .errors import CyclemapError, InputError
from .geocode import MAX_ADDRESS_LENGTH, Candidate, GeocodeResult, MatchType

if TYPE_CHECKING:
    import pandas as pd

    from .boundaries import BoundarySet
    from .city import City
    from .csvio import Table
    from .geocode import Geocoder

R = TypeVar("R")

#: the columns ``cyclemap assign`` adds to each row, in order (also the DataFrame's columns)
FIELDS = ("cycle", "status", "match_type", "score", "matched_address", "lon", "lat")
#: what a rejects file adds to each row it repeats
REJECT_FIELDS = ("line", "status", "reason")
STATUSES = ("matched", "ambiguous", "not_found", "outside_service_area")

#: rows read, keyed and answered together
CHUNK_ROWS = 4000
#: answers kept for addresses seen before, by key (about 400 bytes each; the oldest half is
#: forgotten when full, and geocoded again if seen again)
CACHE_SIZE = 500_000
#: ``workers=None`` starts a process pool once serial geocoding has taken this long (seconds)
AUTO_PARALLEL_AFTER = 0.25
#: new addresses sent to a worker at a time
TASK_SIZE = 500


# -- the answer -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Assignment:
    """The batch answer for one address: the fields ``cyclemap assign`` adds to a row.

    ``status`` is ``matched``, ``ambiguous``, ``not_found`` or ``outside_service_area`` as in a
    lookup answer; ``cycle`` is the cycle id (or None, as ``Answer.cycle_id``); ``match_type``,
    ``score``, ``matched_address``, ``lon`` and ``lat`` describe the location when there is one
    (None when there is not: ambiguous and not-found answers); ``reason`` says in a sentence why a
    row that is not ``matched`` needs a person ("" for matched rows).

    ``csv_fields`` holds the ``FIELDS`` as CSV text, made once per answer (rows of one address
    share one answer, so a million-row file formats each distinct address once).

    >>> a = Assignment("matched", "2", MatchType.EXACT, 1.0, "12 S SPRIGG ST", -89.52, 37.3)
    >>> a.to_row()
    ['2', 'matched', 'exact', '1.0', '12 S SPRIGG ST', '-89.52', '37.3']
    >>> Assignment("not_found", reason="no address in the layer is close").to_row()
    ['', 'not_found', '', '', '', '', '']
    """

    status: str
    cycle: str | None = None
    match_type: MatchType | None = None
    score: float | None = None
    matched_address: str | None = None
    lon: float | None = None
    lat: float | None = None
    reason: str = ""
    csv_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "csv_fields", self._format())

    @property
    def needs_review(self) -> bool:
        """True when a person should look at the row (any status but ``matched``)."""
        return self.status != "matched"

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-ready data (``match_type`` as its string value)."""
        return {
            "cycle": self.cycle,
            "status": self.status,
            "match_type": self.match_type.value if self.match_type else None,
            "score": None if self.score is None else round(self.score, 3),
            "matched_address": self.matched_address,
            "lon": None if self.lon is None else round(self.lon, 7),
            "lat": None if self.lat is None else round(self.lat, 7),
            "reason": self.reason,
        }

    def to_row(self) -> list[str]:
        """The ``FIELDS`` as CSV text ("" for None; score to 3 decimals, lon/lat to 7)."""
        return list(self.csv_fields)

    def _format(self) -> tuple[str, ...]:
        return (
            self.cycle or "",
            self.status,
            self.match_type.value if self.match_type else "",
            "" if self.score is None else repr(round(self.score, 3)),
            self.matched_address or "",
            "" if self.lon is None else repr(round(self.lon, 7)),
            "" if self.lat is None else repr(round(self.lat, 7)),
        )


@dataclass
class Tally:
    """Counts over a run: rows by status and by match type, distinct addresses, time taken.

    >>> t = Tally()
    >>> t.add(Assignment("matched", "1", MatchType.EXACT, 1.0, "1 A ST", 0.0, 0.0))
    >>> t.rows, t.by_status["matched"], t.by_match_type["exact"]
    (1, 1, 1)
    """

    rows: int = 0
    by_status: Counter = field(default_factory=Counter)
    by_match_type: Counter = field(default_factory=Counter)
    #: addresses geocoded (each distinct key once, unless the cache overflowed)
    geocoded: int = 0
    workers: int = 1
    seconds: float = 0.0

    def add(self, a: Assignment, n: int = 1) -> None:
        """Count ``n`` rows with this answer."""
        self.rows += n
        self.by_status[a.status] += n
        if a.match_type is not None:
            self.by_match_type[a.match_type.value] += n

    def add_many(self, answers: Sequence[Assignment]) -> None:
        """Count a chunk of answers (two C-level passes, no Python loop per row)."""
        self.rows += len(answers)
        self.by_status.update(map(_STATUS, answers))
        kinds = Counter(map(_THIRD, map(_CSV_FIELDS, answers)))  # match_type as text: C hashing
        kinds.pop("", None)
        self.by_match_type.update(kinds)

    @property
    def needs_review(self) -> int:
        """Rows whose status is not ``matched``."""
        return self.rows - self.by_status["matched"]

    def to_dict(self) -> dict[str, Any]:
        """The counts as plain data."""
        return {
            "rows": self.rows,
            "by_status": {s: self.by_status[s] for s in STATUSES},
            "by_match_type": dict(self.by_match_type.most_common()),
            "geocoded": self.geocoded,
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
        }


_STATUS = operator.attrgetter("status")
_CSV_FIELDS = operator.attrgetter("csv_fields")
_THIRD = operator.itemgetter(2)


# -- keys -----------------------------------------------------------------------------------
def normalize_key(text: str) -> str:
    """The cache key of an address: upper case with whitespace collapsed.

    Two texts with one key get one geocoding, so the key folds exactly what the geocoder ignores:
    its exact step looks the same key up, and its parser starts from ``clean_text``, which is a
    function of this key for ASCII text. Punctuation is *not* trimmed: ``12 S SPRIGG ST.`` is a
    ``normalized`` match (score 0.95) where ``12 S SPRIGG ST`` is ``exact`` (1.0), and the batch
    answer must equal ``City.lookup``'s. Text that is not ASCII or is longer than the geocoder
    reads is its own key.

    >>> normalize_key("  12 s  Sprigg\tst ")
    '12 S SPRIGG ST'
    >>> normalize_key("12 S SPRIGG ST.") == normalize_key("12 S SPRIGG ST")
    False
    >>> normalize_key("12 Peña St")
    '12 Peña St'
    """
    if not text.isascii() or len(text) > MAX_ADDRESS_LENGTH:
        return text
    return " ".join(text.upper().split())


# -- resolving distinct addresses ----------------------------------------------------------
#: one resolved address as it crosses a process boundary (the fields of ``Assignment``)
Resolved = tuple


class _Resolver:
    """Geocode a batch of distinct addresses and locate all their points in one call.

    The decision from a geocode result to an answer is ``cyclemap.decide.decide``, the one
    ``City.lookup`` uses (the tests hold the two to the same answers for hundreds of
    addresses, street-level answers included).
    """

    def __init__(self, geocoder: Geocoder, boundaries: BoundarySet) -> None:
        self.geocoder = geocoder
        self.boundaries = boundaries

    def resolve(self, texts: Sequence[str]) -> list[Resolved]:
        """One ``Resolved`` tuple per address text, in order."""
        results: list[GeocodeResult | str] = []
        xs: list[float] = []
        ys: list[float] = []
        for text in texts:
            if not text or not text.strip():
                results.append("the address is empty")
                continue
            try:
                result = self.geocoder.geocode(text)
            except InputError as exc:  # the geocoder refuses the input (not text)
                results.append(exc.message)
                continue
            results.append(result)
            for c in candidate_points(result):
                xs.append(c.lon)
                ys.append(c.lat)
        ids = self.boundaries.locate_xy(np.array(xs, float), np.array(ys, float)).tolist()
        out: list[Resolved] = []
        k = 0
        for r in results:
            if isinstance(r, str):
                out.append(("not_found", None, None, None, None, None, None, r))
                continue
            n = len(candidate_points(r))
            out.append(self._decide(r, ids[k : k + n]))
            k += n
        return out

    def _decide(self, result: GeocodeResult, cycle_ids: list[str]) -> Resolved:
        """A result and its candidates' cycles -> an answer (``decide``) with the reason why."""
        d = decide(result, cycle_ids, self.geocoder, self.boundaries)
        cands = result.candidates
        if d.place is not None:
            return _at(d.place, d.cycle_id or "")
        if d.status == "not_found":
            why = result.message or "no address of the layer matches"
            if cands:
                why += "; closest: " + _listing(cands, cycle_ids)
            return ("not_found", None, None, None, None, None, None, why)
        if d.choices:
            lo, hi = (c.matched_address for c in d.choices)
            why = f"the house number lies between {lo} and {hi}, and a cycle boundary runs there"
            return ("ambiguous", d.cycle_id, None, None, None, None, None, why)
        fits = result.message or f"the address fits {len(cands)} places"
        if d.street_leaves_cycle:
            fits += f"; the points listed are in cycle {d.cycle_id}, but the street leaves it"
        elif d.cycle_id:
            fits += f", all in cycle {d.cycle_id}"
        else:
            fits += ", in different cycles"
        why = f"{fits}: {_listing(cands, cycle_ids)}"
        return ("ambiguous", d.cycle_id, None, None, None, None, None, why)

    def resolve_points(self, lons: np.ndarray, lats: np.ndarray) -> list[Resolved]:
        """Answers for points, as ``City.lookup(lon=..., lat=...)`` gives them (NaN: no point)."""
        ok = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
        ids = self.boundaries.locate_xy(lons[ok], lats[ok]).tolist()
        out: list[Resolved] = []
        k = 0
        for good, x, y in zip(ok.tolist(), lons.tolist(), lats.tolist(), strict=True):
            if not good:
                out.append(_NO_POINT)
                continue
            cand = Candidate("", x, y, MatchType.POINT, 1.0)
            out.append(_at(cand, ids[k]))
            k += 1
        return out


_NO_POINT: Resolved = (
    "not_found", None, None, None, None, None, None,
    "lon/lat missing or not decimal degrees within -180..180 and -90..90",
)  # fmt: skip


def _at(c: Candidate, cycle_id: str) -> Resolved:
    """Matched at a place: in a zone, or outside every zone (``City._answer_at``)."""
    label = place_label(c)
    if cycle_id:
        return ("matched", cycle_id, c.match_type, c.score, label, c.lon, c.lat, "")
    where = label or f"{c.lon:.6f}, {c.lat:.6f}"
    why = f"found at {where}, which is outside every cycle zone"
    return (
        "outside_service_area",
        None,
        c.match_type,
        c.score,
        label,
        c.lon,
        c.lat,
        why,
    )


def _listing(cands: Sequence[Candidate], cycle_ids: Sequence[str], limit: int = 3) -> str:
    parts = [
        f"{c.matched_address} ({'cycle ' + cid if cid else 'outside'})"
        for c, cid in zip(cands[:limit], cycle_ids, strict=False)
    ]
    more = f" and {len(cands) - limit} more" if len(cands) > limit else ""
    return "; ".join(parts) + more


# -- the process pool -----------------------------------------------------------------------
#: the resolver a forked worker inherits (set in the parent just before the pool forks)
_WORKER_RESOLVER: _Resolver | None = None


def _worker_resolve(texts: list[str]) -> list[Resolved]:
    assert _WORKER_RESOLVER is not None, "worker started without a resolver"
    return _WORKER_RESOLVER.resolve(texts)


def fork_available() -> bool:
    """True where worker processes can inherit the loaded city (the 'fork' start method)."""
    return "fork" in multiprocessing.get_all_start_methods()


class _Job:
    """A batch of new keys being resolved, in this process (done at once) or in a worker."""

    __slots__ = ("keys", "pending", "results")

    def __init__(self, keys: list[str], pending: Any = None, results: Any = None) -> None:
        self.keys = keys
        self.pending = pending
        self.results: dict[str, Assignment] | None = results

    def ready(self) -> bool:
        return self.results is not None or self.pending.done()

    def get(self) -> dict[str, Assignment]:
        if self.results is None:
            try:
                resolved = self.pending.result()
            except BrokenProcessPool:
                raise CyclemapError(
                    "a geocoding worker process stopped unexpectedly (out of memory?); "
                    "run again with --workers 1"
                ) from None
            self.results = dict(zip(self.keys, map(_assignment, resolved), strict=True))
            self.pending = None
        return self.results


def _assignment(r: Resolved) -> Assignment:
    return Assignment(*r)


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
    >>> [a.status for a in assigner.assign(["117 S SPRIGG ST", "117 S SPRIGG ST", ""])]
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
        self._resolver = _Resolver(geocoder, boundaries)
        self.boundary_version = boundary_version
        self.workers = workers
        self.chunk_rows = max(1, chunk_rows)
        self.cache_size = max(1, cache_size)
        self._cache: dict[str, Assignment] = {}
        self._pool: Any = None
        self._serial_seconds = 0.0
        self.tally = Tally()

    @classmethod
    def for_city(cls, city: City, **options: Any) -> Assigner:
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
        # Everything alive now (the loaded city: millions of objects) leaves the collector's
        # view for the run: full collections no longer walk it, and forked workers do not
        # write to its pages (copy-on-write stays shared).
        gc.freeze()
        pending: deque[tuple[Sequence[R], list[Any], list[tuple[int, str, _Job]]]] = deque()
        inflight: dict[str, _Job] = {}
        try:
            for chunk in chunks:
                pending.append(self._plan(chunk, address, inflight))
                while pending and (len(pending) > self._lookahead() or _jobs_ready(pending[0][2])):
                    yield self._finish(*pending.popleft(), inflight)
            while pending:
                yield self._finish(*pending.popleft(), inflight)
        finally:
            self.close()
            gc.unfreeze()
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
        try:
            for chunk in chunks:
                pts = [_floats(point(r)) for r in chunk]
                lons = np.array([p[0] for p in pts], float)
                lats = np.array([p[1] for p in pts], float)
                answers = [Assignment(*r) for r in self._resolver.resolve_points(lons, lats)]
                self.tally.add_many(answers)
                yield chunk, answers
        finally:
            self.tally.seconds += time.perf_counter() - started

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        global _WORKER_RESOLVER
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            _WORKER_RESOLVER = None

    # the pipeline -------------------------------------------------------------------------
    def _lookahead(self) -> int:
        return 0 if self._pool is None else 2 * self.tally.workers + 2

    def _plan(
        self,
        chunk: Sequence[R],
        address: Callable[[R], str] | None,
        inflight: dict[str, _Job],
    ) -> tuple[Sequence[R], list[Any], list[tuple[int, str, _Job]]]:
        # whole-chunk list operations: the per-row work stays in C where it can
        texts: list[Any] = list(chunk) if address is None else list(map(address, chunk))
        keys = [
            " ".join(t.upper().split()) if t.isascii() and len(t) <= MAX_ADDRESS_LENGTH else t
            for t in texts
        ]  # normalize_key, inlined
        answers: list[Any] = list(map(self._cache.get, keys))
        misses = [i for i, a in enumerate(answers) if a is None]
        if not misses:
            return chunk, answers, []
        new: dict[str, str] = {}
        for i in misses:
            key = keys[i]
            if key not in inflight and key not in new:
                new[key] = texts[i]
        if new:
            for job in self._submit(new):
                for key in job.keys:
                    inflight[key] = job
        return chunk, answers, [(i, keys[i], inflight[keys[i]]) for i in misses]

    def _submit(self, new: dict[str, str]) -> list[_Job]:
        keys, texts = list(new), list(new.values())
        self.tally.geocoded += len(keys)
        if self._pool is None and self._want_pool():
            self._start_pool()
        if self._pool is None:
            t0 = time.perf_counter()
            resolved = self._resolver.resolve(texts)
            self._serial_seconds += time.perf_counter() - t0
            return [_Job(keys, results=dict(zip(keys, map(_assignment, resolved), strict=True)))]
        jobs = []
        for lo in range(0, len(keys), TASK_SIZE):
            task = self._pool.submit(_worker_resolve, texts[lo : lo + TASK_SIZE])
            jobs.append(_Job(keys[lo : lo + TASK_SIZE], task))
        return jobs

    def _finish(
        self,
        chunk: Sequence[R],
        answers: list[Any],
        waits: list[tuple[int, str, _Job]],
        inflight: dict[str, _Job],
    ) -> tuple[Sequence[R], list[Assignment]]:
        cache = self._cache
        for i, key, job in waits:
            a = job.get()[key]
            answers[i] = a
            cache[key] = a
            if inflight.get(key) is job:
                del inflight[key]
        if len(cache) > self.cache_size:  # forget the oldest half; they are geocoded again if seen
            for key in list(islice(cache, len(cache) - self.cache_size // 2)):
                del cache[key]
        self.tally.add_many(answers)
        return chunk, answers

    def _want_pool(self) -> bool:
        if self.workers == 1 or not fork_available():
            return False
        if self.workers is None:
            return (os.cpu_count() or 1) > 1 and self._serial_seconds >= AUTO_PARALLEL_AFTER
        return True

    def _start_pool(self) -> None:
        global _WORKER_RESOLVER
        n = self.workers or os.cpu_count() or 1
        # Set before the workers fork (they inherit it) and kept while the pool lives: the
        # executor forks its workers on the first submits, not here.
        _WORKER_RESOLVER = self._resolver
        self._pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork"))
        self.tally.workers = n


def _jobs_ready(waits: list[tuple[int, str, _Job]]) -> bool:
    return all(job.ready() for _, _, job in waits)


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


# -- which column is the address ------------------------------------------------------------
#: header names that hold a whole address, best first (compared after ``_slug``)
ADDRESS_NAMES = (
    "service_address", "svc_address", "svc_addr", "service_addr", "serv_addr", "srv_addr",
    "service_location", "premise_address", "premises_address", "site_address",
    "property_address", "location_address", "full_address", "fulladdress", "street_address",
    "address", "addr", "address1", "address_1", "address_line_1", "addr1", "street_address_1",
    "location", "situs_address", "situs",
)  # fmt: skip
NUMBER_NAMES = (
    "house_number", "house_no", "house_num", "housenumber", "house_nbr", "hse_nbr", "hse_no",
    "street_number", "street_no", "street_num", "st_num", "st_no", "addr_num", "address_number",
    "add_number", "number", "num",
)  # fmt: skip
STREET_NAMES = (
    "street",
    "street_name",
    "streetname",
    "st_name",
    "full_street",
    "street_full",
    "road",
)
UNIT_NAMES = ("unit", "apt", "apartment", "unit_number", "unit_no", "suite", "apt_no")
_NOT_ADDRESS = re.compile(
    r"mail|bill|email|e_mail|city|zip|state|postal|country|line_2|2$|_id$|^id_"
)
_LOOKS_LIKE = re.compile(r"^\s*\d+[A-Za-z]?(?:[- ]\d+/\d+)?\s+[A-Za-z0-9]")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def address_likeness(values: Iterable[str]) -> float:
    """The share of non-empty values that start like a street address ("12 MAIN...").

    >>> address_likeness(["12 Main St", "4 Oak Ave Apt 2", "", "PO BOX 4"])
    0.6666666666666666
    """
    seen = hits = 0
    for v in values:
        if v and v.strip():
            seen += 1
            hits += bool(_LOOKS_LIKE.match(v)) and any(ch.isalpha() for ch in v)
    return hits / seen if seen else 0.0


@dataclass(frozen=True)
class AddressColumns:
    """Where a table's addresses are: one column, or parts joined with spaces (number, street…)."""

    names: tuple[str, ...]
    indexes: tuple[int, ...]
    guessed: bool = False

    def describe(self) -> str:
        """``service_address`` or ``house_number + street`` (with "(guessed)")."""
        text = " + ".join(self.names)
        return f"{text} (guessed)" if self.guessed else text

    def getter(self) -> Callable[[Sequence[str]], str]:
        """A function from a row (a list of fields) to its address text."""
        if len(self.indexes) == 1:
            (i,) = self.indexes

            def one(row: Sequence[str]) -> str:
                return row[i] if i < len(row) else ""

            return one
        idx = self.indexes

        def joined(row: Sequence[str]) -> str:
            return " ".join(p for p in (row[i].strip() if i < len(row) else "" for i in idx) if p)

        return joined


def find_address_columns(
    header: Sequence[str], sample: Sequence[Sequence[str]], requested: Sequence[str] = ()
) -> AddressColumns:
    """The address column(s) of a table: the ones ``requested``, or a guess.

    The guess takes, in order: a header named like an address (``ADDRESS_NAMES``) whose sample
    values look like addresses; number + street (+ unit) columns; the column whose values look most
    like addresses. ``InputError`` when nothing fits or a requested name is not a column.

    >>> find_address_columns(["acct", "Service Address"], [["1", "12 MAIN ST"]]).names
    ('Service Address',)
    >>> find_address_columns(["acct", "House No", "Street"], [["1", "12", "MAIN ST"]]).names
    ('House No', 'Street')
    >>> find_address_columns(["a", "b"], [["x", "12 Elm St"], ["y", "3 Oak Ave"]]).names
    ('b',)
    """
    header = list(header)
    if requested:
        idx = [_column_index(header, name) for name in requested]
        return AddressColumns(tuple(header[i] for i in idx), tuple(idx))
    slugs = [_slug(h) for h in header]

    def values(i: int) -> list[str]:
        return [r[i] for r in sample if i < len(r)]

    def usable(i: int) -> bool:
        return not sample or address_likeness(values(i)) >= 0.3

    ranked = sorted((ADDRESS_NAMES.index(s), i) for i, s in enumerate(slugs) if s in ADDRESS_NAMES)
    ranked += [
        (len(ADDRESS_NAMES), i)
        for i, s in enumerate(slugs)
        if "addr" in s and s not in ADDRESS_NAMES and not _NOT_ADDRESS.search(s)
    ]
    for _, i in ranked:
        if usable(i):
            return AddressColumns((header[i],), (i,), guessed=True)
    number = _first(slugs, NUMBER_NAMES)
    street = _first(slugs, STREET_NAMES)
    if number is not None and street is not None:
        parts = [number, street]
        unit = _first(slugs, UNIT_NAMES)
        if unit is not None:
            parts.append(unit)
        return AddressColumns(tuple(header[i] for i in parts), tuple(parts), guessed=True)
    scores = [(address_likeness(values(i)), -i) for i in range(len(header))]
    if scores:
        best, neg = max(scores)
        if best >= 0.5:
            return AddressColumns((header[-neg],), (-neg,), guessed=True)
    shown = ", ".join(header) if header else "(none)"
    raise InputError(
        "no column looks like an address; the columns are: "
        f"{shown}. Name it with --address-column (or give --lon-column and --lat-column)"
    )


def _first(slugs: list[str], names: Sequence[str]) -> int | None:
    found = [(names.index(s), i) for i, s in enumerate(slugs) if s in names]
    return min(found)[1] if found else None


def _column_index(header: list[str], name: str) -> int:
    if name in header:
        return header.index(name)
    folded = [i for i, h in enumerate(header) if h.strip().casefold() == name.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(header) if header else "(none)"
    raise InputError(f"there is no column {name!r}; the columns are: {shown}")


def output_names(header: Sequence[str], added: Sequence[str]) -> list[str]:
    """Names for added columns that do not clash with the header (``status`` -> ``status_1``).

    >>> output_names(["account", "status"], ["cycle", "status"])
    ['cycle', 'status_1']
    """
    taken = set(header)
    names = []
    for name in added:
        new, n = name, 0
        while new in taken:
            n += 1
            new = f"{name}_{n}"
        taken.add(new)
        names.append(new)
    return names


# -- notebooks: City.assign -----------------------------------------------------------------
def assign_addresses(
    city: City,
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
            _column_index(table.header, lon_column),
            _column_index(table.header, lat_column),
        )
    return table, find_address_columns(table.header, table.sample(), address_columns)


def assign_csv(
    city: City,
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
