"""``make bench``: run every benchmark in ``scripts/bench_*.py`` and print what it measured.

Each benchmark module has a ``main()`` that prints its own numbers beside a baseline measured in
the same run (ratios hold on a noisy machine; absolute times do not). Run one alone with
``python -m scripts.bench_locate``; run some with ``python -m scripts.bench locate geocode``.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks (default: all) and return a non-zero status if one crashed."""
    names = argv if argv is not None else sys.argv[1:]
    available = sorted(p.stem[len("bench_") :] for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = names or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== bench_{name} ===", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"scripts.bench_{name}").main()
        except Exception as exc:  # a crashed benchmark must not hide the others' numbers
            failed.append(name)
            print(f"bench_{name} FAILED: {exc!r}")
        print(f"--- bench_{name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
