"""The process pool: forked workers that inherit the loaded city and resolve address batches."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import CyclemapError
from .answers import Assignment
from .resolve import Resolved, Resolver

__all__ = ["Job", "fork_available", "start_pool", "stop_pool", "to_assignment", "worker_resolve"]

# -- the process pool -----------------------------------------------------------------------
#: the resolver a forked worker inherits (set in the parent just before the pool forks)
_WORKER_RESOLVER: Resolver | None = None


def worker_resolve(texts: list[str]) -> list[Resolved]:
    """Resolve a batch in a worker, with the resolver it inherited from ``start_pool``."""
    assert _WORKER_RESOLVER is not None, "worker started without a resolver"
    return _WORKER_RESOLVER.resolve(texts)


def fork_available() -> bool:
    """True where worker processes can inherit the loaded city (the 'fork' start method)."""
    return "fork" in multiprocessing.get_all_start_methods()


class Job:
    """A batch of new keys being resolved, in this process (done at once) or in a worker."""

    __slots__ = ("keys", "pending", "results")

    def __init__(self, keys: list[str], pending: Any = None, results: Any = None) -> None:
        self.keys = keys
        self.pending = pending
        self.results: dict[str, Assignment] | None = results

    def ready(self) -> bool:
        """True when the results are in (``get`` will not wait)."""
        return self.results is not None or self.pending.done()

    def get(self) -> dict[str, Assignment]:
        """The answers by key, waiting for the worker if need be; ``CyclemapError`` if it died."""
        if self.results is None:
            try:
                resolved = self.pending.result()
            except BrokenProcessPool:
                raise CyclemapError(
                    "a geocoding worker process stopped unexpectedly (out of memory?); "
                    "run again with --workers 1"
                ) from None
            self.results = dict(zip(self.keys, map(to_assignment, resolved), strict=True))
            self.pending = None
        return self.results


def to_assignment(r: Resolved) -> Assignment:
    """The ``Assignment`` a ``Resolved`` tuple holds."""
    return Assignment(*r)


def start_pool(resolver: Resolver, n: int) -> ProcessPoolExecutor:
    """A pool of ``n`` forked workers, each inheriting ``resolver`` (kept while the pool lives).

    The executor forks its workers on the first submits, not here; they inherit the resolver
    set now.
    """
    global _WORKER_RESOLVER
    _WORKER_RESOLVER = resolver
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork"))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers (pending work is cancelled) and forget the resolver they shared."""
    global _WORKER_RESOLVER
    pool.shutdown(wait=True, cancel_futures=True)
    _WORKER_RESOLVER = None
