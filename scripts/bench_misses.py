"""Benchmark the cost of counting misses and of reading aliases, as ratios to a same-run baseline.

1. Lookups that miss, with ``record=True`` (counted for staff) against the same lookups without
   it: counting takes a lock and bumps a number (the write happens later, in a batch).
2. Lookups through a geocoder reading 200 street aliases and 200 corrections against the
   compiled geocoder alone.
3. Making the alias-reading copy (what a new alias costs each server) against building the
   geocoder from its layer (what recompiling would cost).

    .venv/bin/python -m scripts.bench_misses            # or: make bench
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cyclemap  # noqa: E402
from cyclemap.geocode import Geocoder  # noqa: E402
from cyclemap.store import Store  # noqa: E402

N = 3000
#: the copy resolves each correction once (a geocoding each): 400 aliases cost a fraction of a
#: rebuild, made once per alias change on each server, never per lookup
TARGETS = {"record_ratio": 1.15, "aliases_ratio": 1.15, "copy_vs_build": 0.25}


def _time(func, *args) -> float:
    started = time.perf_counter()
    func(*args)
    return time.perf_counter() - started


def main() -> None:
    """Print the three ratios beside their targets."""
    store = Store("sqlite://").start()
    city = cyclemap.open_city(store=store, cache_dir=False)
    city.misses.background = False  # no thread: the bench flushes nothing while timing
    # distinct texts, so that no answer comes from the kept answers
    plain = [f"{1000 + i} Old Jackson Rd" for i in range(N)]
    counted = [f"{5000 + i} Old Jackson Rd" for i in range(N)]

    def run(texts: list[str], record: bool) -> None:
        for text in texts:
            city.lookup(text, record=record)

    run(plain[:200], False)  # warm up
    base = _time(run, plain, False)
    with_record = _time(run, counted, True)
    assert city.misses.pending == N
    city.misses.flush()
    record_ratio = with_record / base

    geocoder = city.geocoder
    streets = sorted({lab for lab in geocoder.layer.street_labels})
    aliases = {f"OLD NAME {i} RD": streets[i % len(streets)] for i in range(200)}
    number = geocoder.layer.number
    corrections = {
        f"{i + 1} OLD NAME RD": f"{number[i]} {geocoder.layer.street_label(i)}" for i in range(200)
    }
    aliased, problems = geocoder.with_aliases(aliases, corrections)
    # real addresses with a typo at the end (parsed, then fuzzy: the alias tables are read)
    step = max(1, len(number) // N)
    texts = [f"{number[i]} {geocoder.layer.street_label(i)}x" for i in range(0, len(number), step)]
    texts = texts[:N]
    base_g = _time(lambda: [geocoder.geocode(t) for t in texts])
    alias_g = _time(lambda: [aliased.geocode(t) for t in texts])
    aliases_ratio = alias_g / base_g

    copy_s = _time(geocoder.with_aliases, aliases, corrections)
    build_s = _time(Geocoder, geocoder.layer)
    copy_ratio = copy_s / build_s

    per_plain, per_counted = base * 1e3 / N, with_record * 1e3 / N
    print(f"lookups that miss: {N} x, plain {per_plain:.3f} ms, counted {per_counted:.3f} ms")
    print(f"  counted / plain = {record_ratio:.3f} (target <= {TARGETS['record_ratio']})")
    print(
        f"geocode with 400 aliases / without = {aliases_ratio:.3f}"
        f" (target <= {TARGETS['aliases_ratio']}); {len(problems)} not applied"
    )
    print(
        f"alias copy {copy_s * 1e3:.1f} ms / geocoder build {build_s * 1e3:.0f} ms"
        f" = {copy_ratio:.4f} (target <= {TARGETS['copy_vs_build']})"
    )


if __name__ == "__main__":
    main()
