"""Counting lookups that missed, cheaply and without ever failing one: ``MissCounter``.

A lookup that ends ``not_found`` or ``ambiguous`` adds one to a count in memory, by its
normalized key (``Geocoder.miss_keys``: the street alone, never the house number); a resident
who then confirms one of the places offered adds one to the key of the typed address with the
place chosen. The counts go to the store in one batch every ``FLUSH_SECONDS`` from a
background thread (started at the first count, again after a fork), so a lookup only takes a
lock and bumps a number: a slow or unreachable database delays the counts, never an answer.
A flush that fails keeps its counts for the next one; past ``MAX_PENDING_KEYS`` distinct keys
waiting, new keys are dropped (and counted in ``dropped``) so that memory stays bounded.

>>> import datetime as dt
>>> from cyclemap.store import Store
>>> store = Store("sqlite://")
>>> _ = store.upgrade()
>>> misses = MissCounter(store, background=False)
>>> misses.count("street", "OLD JACKSON RD", "not_found")
>>> misses.count("street", "OLD JACKSON RD", "ambiguous")
>>> misses.flush(), [(m.key, m.count) for m in store.list_misses()]
(1, [('OLD JACKSON RD', 2)])
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from .decide import Status
from .errors import StoreUnavailableError
from .store.aliases import MissTally

if TYPE_CHECKING:
    from .store import Store

#: how often counts gathered in memory are written (seconds)
FLUSH_SECONDS = 5.0
#: distinct keys kept waiting for a flush at most (new keys past it are dropped)
MAX_PENDING_KEYS = 10_000
#: the answer statuses that count as a miss
MISS_STATUSES = (Status.NOT_FOUND, Status.AMBIGUOUS)

_log = logging.getLogger(__name__)


def _reason(exc: Exception) -> str:
    """Why a write of counts failed, in words that hold none of the keys: the store's message
    when the database cannot be used (it names the database), else the error's kind alone (a
    refused statement's message may quote a key: PostgreSQL's DETAIL of a constraint)."""
    if isinstance(exc, StoreUnavailableError):
        return exc.message
    return f"{type(exc).__name__}; its message is not logged, since it may quote a lookup"


#: counters with a background thread, flushed once more when the process exits
_LIVE: weakref.WeakSet[MissCounter] = weakref.WeakSet()
_exit_hook: list[bool] = []


class MissCounter:
    """Miss counts of one process, written to ``store`` in batches (see the module's docstring).

    ``background=False`` starts no thread: the caller flushes (the CLI, tests).
    """

    def __init__(
        self,
        store: Store,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        max_keys: int = MAX_PENDING_KEYS,
        background: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_keys = max_keys
        self.background = background
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[tuple[str, str, str], list] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        #: misses not kept because too many keys were waiting
        self.dropped = 0
        #: flushes that failed (their counts were kept for the next one)
        self.failed_flushes = 0

    @property
    def pending(self) -> int:
        """Misses counted in memory and not yet written."""
        with self._lock:
            return sum(nf + amb for nf, amb, _, _ in self._pending.values())

    def count(self, kind: str, key: str, status: str, chosen: str = "") -> None:
        """One miss of ``key`` (kind ``street`` or ``address``) that ended with ``status``."""
        if not key or status not in MISS_STATUSES:
            return
        now = self._clock()
        k = (kind, key[:200], chosen[:200])
        with self._lock:
            entry = self._pending.get(k)
            if entry is None:
                if len(self._pending) >= self.max_keys:
                    self.dropped += 1
                    return
                entry = self._pending[k] = [0, 0, now, now]
            entry[0 if status == Status.NOT_FOUND else 1] += 1
            entry[3] = now
        if self.background:
            self._ensure_thread()

    def flush(self, *, quiet: bool = False) -> int:
        """Write the counts gathered so far; return the keys written (0 when the write failed:
        then the counts wait for the next flush, and a warning is logged unless ``quiet``)."""
        with self._flushing:
            with self._lock:
                taken, self._pending = self._pending, {}
            if not taken:
                return 0
            tallies = [
                MissTally(kind, key, chosen, nf, amb, first, last)
                for (kind, key, chosen), (nf, amb, first, last) in taken.items()
            ]
            try:
                return self.store.record_misses(tallies)
            except Exception as exc:  # a lookup's counts must never take anything down
                self.failed_flushes += 1
                if not quiet:
                    _log.warning(
                        "lookup misses not written yet (%s); kept for the next try", _reason(exc)
                    )
                self._put_back(taken)
                return 0

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        self.flush()

    def _put_back(self, taken: dict[tuple[str, str, str], list]) -> None:
        with self._lock:
            for k, (nf, amb, first, last) in taken.items():
                entry = self._pending.get(k)
                if entry is None:
                    if len(self._pending) >= self.max_keys:
                        self.dropped += nf + amb
                        continue
                    self._pending[k] = [nf, amb, first, last]
                else:
                    entry[0] += nf
                    entry[1] += amb
                    entry[2] = min(entry[2], first)

    def _ensure_thread(self) -> None:
        # a forked worker inherits the object but not the thread: start one of its own
        pid = os.getpid()
        if self._thread is not None and self._pid == pid and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == pid and self._thread.is_alive():
                return
            self._pid = pid
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="cyclemap-misses", daemon=True)
            self._thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(self.flush_seconds):
            self.flush()
