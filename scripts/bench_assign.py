"""Benchmark ``cyclemap assign``: rows per second and peak memory, CSV in to CSV out.

For 10^4, 10^5 and 10^6 rows of a synthetic billing export built from the demo address layer
(each service address billed 1-12 times, month after month, spelt as a billing system would:
abbreviations spelt out, typos, units written three ways, case and spacing that drift from bill to
bill, and a few addresses that do not exist), it runs the real command in a fresh process per
size and mode, and reads that process's own high-water mark of resident memory (VmHWM) and the
largest of its worker processes (RUSAGE_CHILDREN).

The baseline is measured in the same run: ``City.lookup`` called row by row on a sample of the
same export (no cache, no batching), its rate extrapolated to each size.

The measured processes run as an installed command does: with ``PYTHONDONTWRITEBYTECODE``
removed from their environment (an installed package has its ``.pyc`` files; with it set, every
process compiles our modules from source again, about 0.1 s), after one warm-up run on the first
rows of the export (which writes them, and the city's compiled tables and the store, once).

    .venv/bin/python -m scripts.bench_assign                     # all sizes, serial/parallel/auto
    .venv/bin/python -m scripts.bench_assign --sizes 10000,100000 --modes serial,auto
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts import installed_env

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 1_000_000)
MODES = {"serial": "1", "parallel": "2", "auto": None}
TARGET_RATE = 20_000  # rows/s end to end on a 2-core machine
TARGET_MB = 500  # peak memory at 10^6 rows
BASELINE_SAMPLE = 2_000

LONG = {
    "ST": "STREET", "AVE": "AVENUE", "DR": "DRIVE", "RD": "ROAD", "LN": "LANE", "CT": "COURT",
    "BLVD": "BOULEVARD", "PL": "PLACE", "N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST",
    "CIR": "CIRCLE", "TER": "TERRACE", "PKWY": "PARKWAY", "HWY": "HIGHWAY",
}  # fmt: skip
FIRST = [
    "JAMES",
    "MARY",
    "ROBERT",
    "PATRICIA",
    "JOHN",
    "LINDA",
    "MICHAEL",
    "BARBARA",
    "JOSÉ",
    "ZOË",
]
LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCÍA", "MILLER", "DAVIS", "MÜLLER"]


# -- the synthetic export ------------------------------------------------------------------------
def _layer(city_dir: Path) -> list[dict[str, str]]:
    with (city_dir / "addresses.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _spelling(rng: random.Random, r: dict[str, str]) -> str:
    """How the billing system holds one service address (fixed for the account)."""
    street = r["street"]
    words = street.split()
    roll = rng.random()
    if roll < 0.10:  # abbreviations spelt out
        words = [LONG.get(w, w) for w in words]
    elif roll < 0.14:  # a typo in the name: two letters swapped or one dropped
        i = max(range(len(words)), key=lambda k: len(words[k]))
        w = words[i]
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 2)
            words[i] = (
                w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
            )
    number = r["house_number"]
    if rng.random() < 0.02:  # a house that is not in the layer
        number = str(int(re.sub(r"\D.*", "", number) or 1) + 7001)
    text = f"{number} {' '.join(words)}"
    unit = r["unit"]
    if unit:
        ident = unit.split()[-1]
        text += rng.choice([f" {unit}", f" #{ident}", f" UNIT {ident}", f", {unit}"])
    if rng.random() < 0.15:
        text += ", CAPE GIRARDEAU"
    return text


def _drift(rng: random.Random, text: str) -> str:
    """One bill's copy of the address: case and spacing drift a little from bill to bill."""
    roll = rng.random()
    if roll < 0.70:
        return text
    if roll < 0.80:
        return text.title()
    if roll < 0.88:
        return text.lower()
    if roll < 0.95:
        return text.replace(" ", "  ", 1) + " "
    return text + "."


def make_export(path: Path, n_rows: int, layer: list[dict[str, str]], seed: int = 2020) -> int:
    """Write a billing export of ``n_rows`` rows; returns the number of service accounts."""
    rng = random.Random(seed)
    accounts = []
    total = 0
    while total < n_rows:
        r = rng.choice(layer)
        bills = min(rng.randint(1, 12), n_rows - total)
        name = f"{rng.choice(LAST)}, {rng.choice(FIRST)}"
        accounts.append((100_000 + len(accounts), name, _spelling(rng, r), r["zip"], bills))
        total += bills
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account", "customer", "service_address", "zip", "month", "amount"])
        for month in range(1, 13):  # one bill run a month: every account still billed that month
            for acct, name, text, zip_code, bills in accounts:
                if bills >= month:
                    amount = f"{rng.uniform(10, 300):.2f}"
                    w.writerow(
                        [acct, name, _drift(rng, text), zip_code, f"2019-{month:02d}", amount]
                    )
    return len(accounts)


# -- one measured run, in its own process --------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    """Run ``cyclemap assign`` in this process and print what it cost as one JSON line."""
    from cyclemap.cli import main as cli

    argv = ["--city", args.city, "--database-url", args.db, "assign", args.input, "-o", args.output]
    if args.workers:
        argv += ["--workers", args.workers]
    started = time.perf_counter()
    try:
        cli.main(argv, standalone_mode=False)
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    wall = time.perf_counter() - started
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "status": status,
                "wall": wall,
                "main_kb": _vmhwm_kb(),
                "worker_kb": kids.ru_maxrss,
                "main_cpu": me.ru_utime + me.ru_stime,
                "worker_cpu": kids.ru_utime + kids.ru_stime,
            }
        )
    )


def _vmhwm_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


#: (city, database) pairs a warm-up run has been made for, in this process
_WARMED: set[tuple[str, str]] = set()
WARM_UP_ROWS = 200


def _child_cmd(src: Path, out: Path, workers: str | None, city: Path, db: str) -> list[str]:
    cmd = [sys.executable, "-m", "scripts.bench_assign", "--child", "--city", str(city), "--db", db]
    return (
        cmd
        + ["--input", str(src), "--output", str(out)]
        + (["--workers", workers] if workers else [])
    )


def warm_up(src: Path, city: Path, db: str) -> None:
    """One run on the first rows of ``src`` (once per city and database in this process): the
    ``.pyc`` files, the city's compiled tables and the store are written before any timing."""
    if (str(city), db) in _WARMED:
        return
    head = src.with_name(f"warm-up-{src.name}")
    with src.open(newline="", encoding="utf-8") as f, head.open("w", encoding="utf-8") as g:
        for _, line in zip(range(WARM_UP_ROWS + 1), f, strict=False):
            g.write(line)
    out = head.with_suffix(".out.csv")
    cmd = _child_cmd(head, out, None, city, db)
    subprocess.run(cmd, cwd=ROOT, capture_output=True, env=installed_env(), check=False)
    head.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    _WARMED.add((str(city), db))


def measure(src: Path, out: Path, workers: str | None, city: Path, db: str) -> dict:
    """One size in one mode, in a fresh process: wall time, assign-phase rate, peak memory.

    The process runs without ``PYTHONDONTWRITEBYTECODE`` (as an installed command, with its
    ``.pyc`` files), after one warm-up run (``warm_up``).
    """
    warm_up(src, city, db)
    cmd = _child_cmd(src, out, workers, city, db)
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env=installed_env(), check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"assign failed: {proc.stderr[-2000:]}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    summary = proc.stderr
    m = re.search(
        r"Assigned ([\d,]+) rows in ([\d.]+) s .*?(\d+) (?:worker processes|process)", summary
    )
    geocoded = re.search(r"([\d,]+) distinct addresses geocoded", summary)
    rows = int(m.group(1).replace(",", "")) if m else 0
    return {
        "rows": rows,
        "process_s": elapsed,
        "command_s": got["wall"],
        "assign_s": float(m.group(2)) if m else float("nan"),
        "workers": int(m.group(3)) if m else 0,
        "geocoded": int(geocoded.group(1).replace(",", "")) if geocoded else 0,
        "main_mb": got["main_kb"] / 1024,
        "worker_mb": got["worker_kb"] / 1024,
        "main_cpu": got["main_cpu"],
        "worker_cpu": got["worker_cpu"],
        "summary": summary,
        "sha": hashlib.sha256(out.read_bytes()).hexdigest(),
    }


def baseline_rate(src: Path, city_dir: Path, n: int = BASELINE_SAMPLE) -> tuple[float, float]:
    """Rows/s of ``City.lookup`` row by row on ``n`` rows spread over the export (and load time).

    The rows are every k-th row of the whole file, so they carry its mix of spellings; the
    lookups are timed alone (no CSV reading or writing), which flatters the baseline.
    """
    import cyclemap

    started = time.perf_counter()
    city = cyclemap.open_city(city_dir)
    load = time.perf_counter() - started
    with src.open(newline="", encoding="utf-8") as f:
        texts = [r["service_address"] for r in csv.DictReader(f)]
    step = max(1, len(texts) // n)
    sample = texts[::step][:n]
    started = time.perf_counter()
    for text in sample:
        city.lookup(text)
    return len(sample) / (time.perf_counter() - started), load


def main(argv: list[str] | None = None) -> None:
    """Build the exports, run every size in every mode, print a table beside the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--city", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--workers", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [] if __name__ != "__main__" else None)
    if args.child:
        child(args)
        return
    from cyclemap.config import DEFAULT_CITY

    city_dir = Path(args.city) if args.city else DEFAULT_CITY
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    work = Path(tempfile.mkdtemp(prefix="bench-assign-"))
    layer = _layer(city_dir)
    print(
        f"cyclemap assign benchmark: {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f} at start), demo layer of {len(layer):,} points"
    )
    exports = {}
    for n in sizes:
        started = time.perf_counter()
        src = work / f"export-{n}.csv"
        accounts = make_export(src, n, layer)
        exports[n] = src
        print(
            f"  built {n:,}-row export: {accounts:,} service accounts, "
            f"{src.stat().st_size / 1e6:.1f} MB ({time.perf_counter() - started:.1f} s)"
        )
    base, load = baseline_rate(exports[sizes[0]], city_dir)
    print(
        f"  baseline: City.lookup row by row, {BASELINE_SAMPLE:,}-row sample of the export: "
        f"{base:,.0f} rows/s (city load {load:.1f} s)\n"
    )
    head = (
        f"{'rows':>9}  {'mode':<9} {'workers':>7}  {'assign rows/s':>13}  {'end-to-end':>10}  "
        f"{'vs baseline':>11}  {'distinct':>8}  {'CPU s main+workers':>18}  "
        f"{'peak MB main':>12}  {'peak MB worker':>14}"
    )
    print(head)
    print("-" * len(head))
    db = f"sqlite:///{work / 'bench.sqlite'}"
    results = []
    for n in sizes:
        shas = set()
        for mode in modes:
            out = work / f"out-{n}-{mode}.csv"
            r = measure(exports[n], out, MODES[mode], city_dir, db)
            shas.add(r["sha"])
            rate = r["rows"] / r["assign_s"] if r["assign_s"] else float("nan")
            e2e = r["rows"] / r["process_s"]
            worker = f"{r['worker_mb']:.0f}" if r["workers"] > 1 else "-"
            cpu = f"{r['main_cpu']:.1f} + {r['worker_cpu']:.1f}"
            print(
                f"{n:>9,}  {mode:<9} {r['workers']:>7}  {rate:>13,.0f}  {e2e:>10,.0f}  "
                f"{rate / base:>10.1f}x  {r['geocoded']:>8,}  {cpu:>18}  "
                f"{r['main_mb']:>12.0f}  {worker:>14}",
                flush=True,
            )
            results.append((n, mode, rate, e2e, r))
            out.unlink(missing_ok=True)
        if len(shas) > 1:
            print(f"  !! outputs differ between modes at {n:,} rows")
    print(
        "\nassign rows/s: the command's own count over its assign phase (read, geocode, locate, "
        "write);\nend-to-end: rows over the whole process (start, city load, store, assign, exit);"
        "\nvs baseline: assign rows/s over the rate of City.lookup called row by row on a sample"
        "\n(lookups alone, no CSV, no cache), which is the same at every size (extrapolated);"
        "\nCPU s: of the command's process (including its start) and of its worker processes;"
        "\npeak MB: VmHWM of the command's process; of the largest worker (shares pages with it)."
    )
    biggest = max(sizes)
    for n, mode, _rate, e2e, r in results:
        if n == biggest:
            ok_rate = "meets" if e2e >= TARGET_RATE else "MISSES"
            ok_mem = "meets" if r["main_mb"] < TARGET_MB else "MISSES"
            print(
                f"  {n:,} rows, {mode}: {ok_rate} the {TARGET_RATE:,} rows/s target "
                f"({e2e:,.0f}); {ok_mem} the {TARGET_MB} MB target ({r['main_mb']:.0f} MB)"
            )
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
    else:
        print(f"files kept in {work}")


if __name__ == "__main__":
    main()
