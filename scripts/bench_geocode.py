"""Benchmark the geocoder: is the cycle right for addresses written the ways people write them?

On the demo city and on a real one (Cambridge, MA: ``tests/data/cambridge-ma``, wards as cycles,
the city's own address points), with a fixed seed, it writes thousands of real address points
the ways residents type them (abbreviated and spelled-out suffixes and directionals, mixed case,
with and without city/state/ZIP, units written three ways, punctuation, a missing directional,
highway names in their many forms); a second set has one or two typing mistakes in the street
name; a third leaves the street type out ("10 Longfellow"); a fourth takes 2% of the address
points out of the layer and asks for them (what interpolation between their neighbours makes of
addresses the layer does not have). The truth is the cycle zone of the true point; the answer
is what ``City.lookup`` tells the resident: a cycle (matched, or ambiguous between places that
share one), a choice between cycles, not found, or outside.

It prints, for each set: right cycle, ambiguous (a choice between cycles), not found, and WRONG
cycle (the number that matters most: a confident wrong answer), then per-call latency
percentiles of ``geocode`` and ``suggest``.

    .venv/bin/python -m scripts.bench_geocode            # or: make bench (runs every benchmark)
    .venv/bin/python -m scripts.bench_geocode --show 20  # and print wrong / unmatched examples
    .venv/bin/python -m scripts.bench_geocode --city ../my-city
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cyclemap.config import DEFAULT_CITY  # noqa: E402
from cyclemap.geocode.layer import AddressLayer  # noqa: E402

#: a real city: Cambridge, MA (wards as cycles, its address points, no schedules)
REAL_CITY = ROOT / "tests" / "data" / "cambridge-ma"

SEED = 20200220
N_CLEAN = 4000
N_TYPO = 3000
N_TYPELESS = 2000
HELD_OUT_SHARE = 0.02
N_SUGGEST = 3000

TARGETS = {
    "right_clean": 0.99,
    "right_typo": 0.97,
    "wrong": 0.001,
    "p95_ms": 2.0,
    "suggest_p95_ms": 5.0,
}

# How people write the parts of a street (independent of cyclemap's own tables on purpose).
DIRECTIONS = {"N": "North", "S": "South", "E": "East", "W": "West"}
SUFFIXES = {
    "ST": ["Street", "Str", "St."],
    "AVE": ["Avenue", "Av", "Ave."],
    "DR": ["Drive", "Drv", "Dr."],
    "RD": ["Road", "Rd."],
    "LN": ["Lane", "Ln."],
    "CT": ["Court", "Crt", "Ct."],
    "BLVD": ["Boulevard", "Boul", "Blvd."],
    "PL": ["Place", "Pl."],
    "TER": ["Terrace", "Terr", "Ter."],
    "CIR": ["Circle", "Circ", "Cir."],
    "PKWY": ["Parkway", "Pkwy."],
}
HIGHWAYS = {
    "US HIGHWAY": [
        "US Highway {n}", "US Hwy {n}", "U.S. Hwy {n}", "Highway {n}", "Hwy {n}", "US {n}",
        "US-{n}",
    ],
    "STATE HIGHWAY": [
        "State Highway {n}", "State Hwy {n}", "MO {n}", "MO-{n}", "Hwy {n}", "Route {n}",
        "State Route {n}", "Highway {n}",
    ],
}  # fmt: skip
UNIT_FORMS = ["Apt {u}", "#{u}", "Unit {u}", "Apt. {u}", "# {u}", "Apartment {u}"]
#: street types a resident may leave out (the "type-less" set): the common ones and local forms
TYPE_WORDS = {*SUFFIXES, "WAY", "PK", "PARK", "SQ", "ROW", "HL", "GDNS", "CTR", "YARD"}
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def _case(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.25:
        return text.upper()
    if r < 0.6:
        return text.lower()
    return text.title()


def _typo(word: str, rng: random.Random) -> str:
    """One typing mistake: a wrong, missing, doubled or swapped letter."""
    letters = list(word)
    i = rng.randrange(len(letters))
    kind = rng.choice(["substitute", "delete", "insert", "transpose"])
    if kind == "substitute":
        letters[i] = rng.choice([c for c in KEYBOARD if c != letters[i].lower()])
    elif kind == "delete" and len(letters) > 3:
        del letters[i]
    elif kind == "transpose" and i < len(letters) - 1 and letters[i] != letters[i + 1]:
        letters[i], letters[i + 1] = letters[i + 1], letters[i]
    else:
        letters.insert(i, letters[i])
    return "".join(letters)


def write_like_a_person(
    number: str,
    street: str,
    unit: str,
    zip_code: str,
    rng: random.Random,
    typos: int,
    *,
    town: str = "Cape Girardeau",
    state: str = "MO",
    typeless: bool = False,
) -> str | None:
    """One way a resident may write this address (None when no street word can take a typo,
    or, ``typeless``, when the street has no type to leave out)."""
    words = street.split()
    predir = words[0] if len(words) > 1 and words[0] in DIRECTIONS else ""
    rest = words[1:] if predir else words
    hw = next((k for k in HIGHWAYS if " ".join(rest).startswith(k + " ")), None)
    if hw:
        name_words = [rng.choice(HIGHWAYS[hw]).format(n=rest[-1])]
        suffix = ""
    else:
        suffix = rest[-1] if len(rest) > 1 and rest[-1] in SUFFIXES else ""
        if typeless and len(rest) > 1 and rest[-1] in TYPE_WORDS:
            suffix = rest[-1]
        name_words = rest[:-1] if suffix else rest
        name_words = [w.title() for w in name_words]
        if name_words and name_words[0] == "Mount" and rng.random() < 0.4:
            name_words[0] = "Mt"
    if typos:
        candidates = [i for i, w in enumerate(name_words) if re.fullmatch(r"[A-Za-z]{4,}", w)]
        if hw:
            parts = name_words[0].split()
            j = next((k for k, p in enumerate(parts) if len(p) >= 4 and p.isalpha()), None)
            if j is None:
                return None
            for _ in range(typos):
                parts[j] = _typo(parts[j], rng)
            name_words = [" ".join(parts)]
        elif not candidates:
            return None
        else:
            i = max(candidates, key=lambda k: len(name_words[k]))
            word = name_words[i]
            for _ in range(typos):
                word = _typo(word, rng)
            name_words[i] = word
    out = [number.replace(" 1/2", rng.choice([" 1/2", "-1/2", " 1/2"]))]
    if predir:
        r = rng.random()
        if r < 0.5:
            out.append(predir)
        elif r < 0.72:
            out.append(DIRECTIONS[predir])
        elif r < 0.85:
            out.append(predir + ".")
        # else: the directional is left out
    out.extend(name_words)
    if typeless:
        if not suffix:
            return None
        # the street type left out: "10 Longfellow" for LONGFELLOW RD
    elif suffix:
        r = rng.random()
        if r < 0.45:
            out.append(suffix)
        elif r < 0.75:
            out.append(SUFFIXES[suffix][0])
        elif r < 0.9:
            out.append(rng.choice(SUFFIXES[suffix][1:]))
        # else: the suffix is left out
    text = " ".join(out)
    if unit and rng.random() < 0.85:
        bare = unit.replace("APT ", "")
        text += rng.choice([" ", ", "]) + rng.choice(UNIT_FORMS).format(u=bare)
    elif not unit and rng.random() < 0.04:
        text += " Apt " + str(rng.randint(1, 9))  # a unit the layer does not have
    r = rng.random()
    zip_code = zip_code or ""
    if r < 0.2:
        text += f", {town}, {state} {zip_code}".rstrip()
    elif r < 0.3:
        text += f" {town} {state}"
    elif r < 0.4:
        text += f", {town}"
    elif r < 0.5 and zip_code:
        text += f" {zip_code}"
    elif r < 0.55 and zip_code:
        text += f", {state} {zip_code}"
    text = _case(text, rng)
    if rng.random() < 0.1:
        text = text.replace(" ", "  ", 1) + rng.choice([".", " ", ","])
    return text


# -- evaluation -----------------------------------------------------------------------------------
def verdict(answer, true_zone: str) -> str:
    """What a resident was told, against the truth: ``right``, ``wrong`` (a cycle named that is
    not the address's, or "outside" for an address inside a zone), ``ambiguous`` (a choice
    between cycles) or ``not_found``."""
    if answer.status == "not_found":
        return "not_found"
    if answer.status == "outside_service_area":
        return "right" if not true_zone else "wrong"
    if answer.cycle is None:
        return "ambiguous"
    return "right" if answer.cycle.id == true_zone else "wrong"


def evaluate(
    city, cases: list[tuple[str, float, float, str]], show: int, label: str
) -> tuple[dict[str, float], list[float], list[float]]:
    """Look every case up; shares of right / ambiguous / not_found / wrong cycle as the answer
    says it (``City.lookup``), and the latencies of the geocoding in it."""
    locate = city.boundaries.locate_xy
    truth = locate(np.array([c[1] for c in cases]), np.array([c[2] for c in cases]))
    geocoder = city.geocoder
    outcome = Counter()
    kinds = Counter()
    times = []
    cpu = []
    examples: dict[str, list[str]] = {"wrong": [], "ambiguous": [], "not_found": []}
    for (text, _, _, true_address), true_zone in zip(cases, truth, strict=True):
        t0, c0 = time.perf_counter(), time.thread_time()
        result = geocoder.geocode(text)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        answer = city.lookup(text)
        said = verdict(answer, str(true_zone))
        outcome[said] += 1
        kinds[answer.location.match_type.value if answer.location else answer.status] += 1
        if said in examples and len(examples[said]) < show:
            got = (
                answer.location.matched_address
                if answer.location
                else answer.candidates[0].matched_address
                if answer.candidates
                else "-"
            )
            examples[said].append(
                f"{text!r} (is {true_address}, cycle {true_zone}) -> {answer.status} "
                f"{got} cycle {answer.cycle_id} ({result.message})"
            )
    n = len(cases)
    shares = {k: outcome[k] / n for k in ("right", "ambiguous", "not_found", "wrong")}
    print(
        f"{label:<34} n={n:<5} right {shares['right']:7.2%}  ambiguous {shares['ambiguous']:6.2%}"
        f"  not_found {shares['not_found']:6.2%}  WRONG {shares['wrong']:6.2%}"
    )
    print(f"{'':<34} answered as: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    for said, lines in examples.items():
        for line in lines:
            print(f"    {said}: {line}")
    return shares, times, cpu


def percentiles(times: list[float]) -> str:
    p50, p95, p99 = np.percentile(np.array(times), [50, 95, 99])
    return f"p50 {p50:.3f} ms  p95 {p95:.3f} ms  p99 {p99:.3f} ms"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on the demo city and the real Cambridge, MA test city (or ``--city``,
    repeated); 0 when every target is met."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, action="append", help="a city folder (repeatable)")
    ap.add_argument("--show", type=int, default=0, help="print this many failures of each kind")
    ap.add_argument(
        "--seed", type=int, default=SEED, help="another test set (default: the fixed one)"
    )
    args = ap.parse_args([] if argv is None and __name__ != "__main__" else argv)
    ok = True
    for folder in args.city or [DEFAULT_CITY, REAL_CITY]:
        print(f"\n--- {folder.name} ---")
        ok &= bench_city(folder, args.show, args.seed)
    return 0 if ok else 1


def bench_city(folder: Path, show: int, seed: int) -> bool:
    """The benchmark on one city folder; True when its targets are met."""
    import cyclemap
    from cyclemap.city import City, make_geocoder

    t0 = time.perf_counter()
    city = cyclemap.open_city(folder)
    t1 = time.perf_counter()
    config, layer = city.config, city.geocoder.layer
    town = config.name.split(",")[0]
    print(
        f"layer: {len(layer)} points, {len(layer.streets)} streets; open_city {t1 - t0:.2f} s"
        f" (wall clock)"
    )
    # the demo's own targets for its made-up addresses; on a real city every set is held to
    # one thing: no confident wrong answer
    demo = folder.resolve() == Path(DEFAULT_CITY).resolve()

    rng = random.Random(seed)
    rows = list(range(len(layer)))

    def cases(
        n: int, typos: bool, pool: list[int], typeless: bool = False
    ) -> list[tuple[str, float, float, str]]:
        out = []
        tries = 0
        while len(out) < n and tries < 20 * n:
            tries += 1
            i = rng.choice(pool)
            text = write_like_a_person(
                layer.number[i],
                layer.street_label(i),
                layer.unit[i],
                layer.zip[i],
                rng,
                rng.choice([1, 2]) if typos else 0,
                town=town,
                state=config.state,
                typeless=typeless,
            )
            if text:
                out.append((text, float(layer.lon[i]), float(layer.lat[i]), layer.address(i)))
        return out

    clean = cases(N_CLEAN, False, rows)
    typo = cases(N_TYPO, True, rows)
    typeless = cases(N_TYPELESS, False, rows, typeless=True)
    clean_shares, clean_times, clean_cpu = evaluate(city, clean, show, "without typos")
    typo_shares, typo_times, typo_cpu = evaluate(city, typo, show, "with 1-2 typos in the street")
    typeless_shares, _, _ = evaluate(city, typeless, show, "without the street type")

    # held out: addresses the layer does not have, between neighbours that it does
    buildings = [i for i in rows if not layer.unit[i]]
    held = set(rng.sample(buildings, int(len(buildings) * HELD_OUT_SHARE)))
    keep = [i for i in rows if i not in held]
    smaller = AddressLayer.from_records(
        {
            "number": layer.number[i],
            "street": layer.street_label(i),
            "unit": layer.unit[i],
            "city": layer.city[i],
            "zip": layer.zip[i],
            "lon": layer.lon[i],
            "lat": layer.lat[i],
        }
        for i in keep
    )
    held_cases = [
        (layer.address(i).title(), float(layer.lon[i]), float(layer.lat[i]), layer.address(i))
        for i in sorted(held)
    ]
    held_city = City(config, city.boundaries, make_geocoder(smaller, config))
    held_shares, _, _ = evaluate(held_city, held_cases, show, "held out (interpolation)")

    # suggest: prefixes of what people type, keystroke by keystroke
    suggest_times = []
    suggest_cpu = []
    for text, _, _, _ in rng.sample(clean, min(N_SUGGEST, len(clean))):
        prefix = text[: rng.randint(1, len(text))]
        t, c = time.perf_counter(), time.thread_time()
        city.geocoder.suggest(prefix, limit=10)
        suggest_times.append((time.perf_counter() - t) * 1000)
        suggest_cpu.append((time.thread_time() - c) * 1000)

    all_times = clean_times + typo_times
    all_cpu = clean_cpu + typo_cpu
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"geocode latency ({len(all_times)} calls): {percentiles(all_times)}")
    print(f"        CPU time per call:       {percentiles(all_cpu)}")
    print(f"suggest latency ({len(suggest_times)} calls): {percentiles(suggest_times)}")
    print(f"        CPU time per call:       {percentiles(suggest_cpu)}")
    print(f"(load average {load:.1f} on {os.cpu_count()} CPUs: wall-clock tails grow with it)")

    # Wall-clock is what a resident waits; on a machine busier than its CPUs (other jobs), it
    # measures the other jobs, so the target is then judged on the CPU time of the calls.
    loaded = load > (os.cpu_count() or 1)
    p95 = float(np.percentile(all_cpu if loaded else all_times, 95))
    sp95 = float(np.percentile(suggest_cpu if loaded else suggest_times, 95))
    clock = "CPU time, machine loaded" if loaded else "wall clock"
    sets = {"clean": clean_shares, "typo": typo_shares, "type-less": typeless_shares}
    sets["held out"] = held_shares
    worst = max(sets, key=lambda k: sets[k]["wrong"])
    checks = [
        (f"wrong cycle (worst set: {worst})", sets[worst]["wrong"], "<=", TARGETS["wrong"]),
        (f"geocode p95 ms ({clock})", p95, "<", TARGETS["p95_ms"]),
        (f"suggest p95 ms ({clock})", sp95, "<", TARGETS["suggest_p95_ms"]),
    ]
    if demo:
        checks[:0] = [
            ("right cycle without typos", clean_shares["right"], ">=", TARGETS["right_clean"]),
            ("right cycle with typos", typo_shares["right"], ">=", TARGETS["right_typo"]),
        ]
    ok = True
    for name, value, op, target in checks:
        met = value >= target if op == ">=" else value <= target if op == "<=" else value < target
        ok &= met
        shown = f"{value:.2%}" if target < 1 else f"{value:.3f}"
        aim = f"{target:.2%}" if target < 1 else f"{target}"
        print(f"  {'PASS' if met else 'FAIL'}  {name}: {shown} (target {op} {aim})")
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
