"""Batch assignment in the core: ``City.assign`` and ``Assigner`` agree with ``City.lookup``."""

from __future__ import annotations

import csv
import os
import random
import re

import pytest

import cyclemap
from cyclemap.batch import (
    Assigner,
    Assignment,
    address_likeness,
    find_address_columns,
    fork_available,
    normalize_key,
    output_names,
)
from cyclemap.batch import assign as assign_mod
from cyclemap.config import DEFAULT_CITY
from cyclemap.errors import CyclemapError, InputError
from cyclemap.geocode import MatchType

from .conftest import write_city
from .test_city import ROWS, TODAY

needs_fork = pytest.mark.skipif(not fork_available(), reason="needs the 'fork' start method")


#: BEND RD lies in zone 1 but for 103, in zone 2: the street-level sample (both ends and the
#: middle of the block: 101, 105, 109) is all in cycle 1, the street is not
BEND_RD = [
    (101, "BEND RD", "", "TESTVILLE", "00001", 0.0060, 0.0050),
    (103, "BEND RD", "", "TESTVILLE", "00001", 0.0065, 0.0105),
    (105, "BEND RD", "", "TESTVILLE", "00001", 0.0070, 0.0050),
    (107, "BEND RD", "", "TESTVILLE", "00001", 0.0075, 0.0050),
    (109, "BEND RD", "", "TESTVILLE", "00001", 0.0080, 0.0050),
]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = write_city(tmp_path_factory.mktemp("assign-city"), addresses=ROWS + BEND_RD)
    return cyclemap.open_city(folder, clock=lambda: TODAY)


def expected(answer) -> tuple:
    """What an ``Assignment`` must say, read off a lookup ``Answer``."""
    loc = answer.location
    return (
        answer.status,
        answer.cycle_id,
        loc.match_type if loc else None,
        loc.score if loc else None,
        loc.matched_address if loc else None,
        loc.lon if loc else None,
        loc.lat if loc else None,
    )


def got(a: Assignment) -> tuple:
    return (a.status, a.cycle, a.match_type, a.score, a.matched_address, a.lon, a.lat)


FIXTURE_QUERIES = [
    "101 S MAIN ST",
    "101 s main st",
    "  101   S  Main St. ",
    "101 S MAIN ST,",
    "103 N MAIN STREET",
    "201 ELM ST",  # N or S ELM: two cycles
    "OAK AVE",  # a street wholly in cycle 1
    "MAIN ST",
    "500 FAR RD",  # outside every zone
    "9999 NOWHERE BLVD",
    "303 OAK AVENUE",
    "305 oak av",
    "101 S MIAN ST",
    "BEND RD",  # street level, but the street crosses into another cycle: not matched
    "103 BEND RD",
]


# -- keys and small parts -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("12 s sprigg st", "12 S SPRIGG ST"),
        ("  12   S\tSprigg  St ", "12 S SPRIGG ST"),
        ("12 S SPRIGG ST,", "12 S SPRIGG ST,"),  # punctuation changes the match type: kept
        ("12 S SPRIGG ST #4", "12 S SPRIGG ST #4"),
        ("12 Señor St", "12 Señor St"),  # not ASCII: its own key
        ("x" * 300, "x" * 300),  # longer than the geocoder reads: its own key
        ("", ""),
    ],
)
def test_normalize_key(text, key):
    assert normalize_key(text) == key


def test_assignment_row_and_dict():
    a = Assignment("matched", "2", MatchType.FUZZY, 0.91234, "12 MAIN ST", -89.123456789, 37.5)
    assert a.to_row() == ["2", "matched", "fuzzy", "0.912", "12 MAIN ST", "-89.1234568", "37.5"]
    assert a.to_dict()["match_type"] == "fuzzy" and not a.needs_review
    assert Assignment("ambiguous", "3").to_row() == ["3", "ambiguous", "", "", "", "", ""]


def test_output_names_avoid_clashes():
    assert output_names(["cycle", "cycle_1", "x"], ["cycle", "lon"]) == ["cycle_2", "lon"]


# -- which column is the address -----------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "row", "names"),
    [
        (["Account", "Name", "SVC ADDR", "Amount"], ["1", "Ann", "12 MAIN ST", "9"], ("SVC ADDR",)),
        (["acct", "Mailing Address", "Service Address"], ["1", "PO BOX 4", "12 MAIN ST"],
         ("Service Address",)),
        (["acct", "address_id", "street address"], ["1", "77", "12 MAIN ST"], ("street address",)),
        (["id", "House Number", "Street Name", "Unit"], ["1", "12", "MAIN ST", "4"],
         ("House Number", "Street Name", "Unit")),
        (["id", "notes", "where"], ["1", "blue door", "12 Main St"], ("where",)),
        (["location", "x"], ["12 MAIN ST", "1"], ("location",)),
    ],
)  # fmt: skip
def test_address_column_is_guessed(header, row, names):
    found = find_address_columns(header, [row, row])
    assert found.names == names and found.guessed


def test_named_column_is_taken_as_given_and_case_insensitively():
    found = find_address_columns(["a", "Where"], [], ["where"])
    assert found.names == ("Where",) and not found.guessed
    with pytest.raises(InputError, match="no column 'addr'; the columns are: a, Where"):
        find_address_columns(["a", "Where"], [], ["addr"])


def test_no_address_column_is_an_input_error():
    with pytest.raises(InputError, match="no column looks like an address.*--address-column"):
        find_address_columns(["id", "amount"], [["1", "9.50"], ["2", "3.00"]])


def test_address_likeness():
    assert address_likeness(["12 Main St", "4B Oak Ave", "58 1/2 Elm St"]) == 1.0
    assert address_likeness(["12", "9.50", "Ann"]) == 0.0


# -- answers equal lookup ------------------------------------------------------------------
def test_assign_equals_lookup_on_the_fixture_city(city):
    answers = list(city.assign(FIXTURE_QUERIES))
    assert len(answers) == len(FIXTURE_QUERIES)
    for query, a in zip(FIXTURE_QUERIES, answers, strict=True):
        assert got(a) == expected(city.lookup(query)), query
    statuses = {a.status for a in answers}
    assert {"matched", "ambiguous", "not_found", "outside_service_area"} <= statuses
    assert all(a.reason for a in answers if a.status != "matched")
    assert not any(a.reason for a in answers if a.status == "matched")


def test_empty_and_missing_addresses_are_not_found(city):
    answers = list(city.assign(["", "   ", None, "101 S MAIN ST"]))
    assert [a.status for a in answers] == ["not_found"] * 3 + ["matched"]
    assert answers[0].reason == "the address is empty"


def test_each_distinct_key_is_geocoded_once(city, monkeypatch):
    calls, exact_calls = [], []
    real, real_exact = type(city.geocoder).geocode, type(city.geocoder).exact

    def counting(self, text, **options):
        calls.append(text)
        return real(self, text, **options)

    def counting_exact(self, text):
        exact_calls.append(text)
        return real_exact(self, text)

    monkeypatch.setattr(type(city.geocoder), "geocode", counting)
    monkeypatch.setattr(type(city.geocoder), "exact", counting_exact)
    texts = ["101 S MAIN ST", "101 s main st", " 101  S MAIN ST ", "101 S MAIN ST."] * 50
    texts += ["9999 NOWHERE BLVD", "9999 nowhere blvd"] * 20
    assigner = Assigner.for_city(city, workers=1, chunk_rows=7)
    answers = list(assigner.assign(texts))
    assert len(answers) == len(texts)
    # three keys: the trailing period makes a different (normalized, 0.95) answer, as in lookup;
    # each key is asked of the exact step once, and the two it does not answer go on
    assert assigner.tally.geocoded == 3 and len(exact_calls) == 3
    assert calls == ["101 S MAIN ST.", "9999 NOWHERE BLVD"]
    assert {a.match_type.value for a in answers if a.match_type} == {"exact", "normalized"}


def test_a_tiny_cache_still_gives_the_same_answers(city):
    texts = FIXTURE_QUERIES * 5
    small = list(Assigner.for_city(city, workers=1, chunk_rows=3, cache_size=2).assign(texts))
    big = list(Assigner.for_city(city, workers=1).assign(texts))
    assert small == big


def test_streams_lazily_from_a_generator(city):
    pulled = []

    def source():
        for i in range(10_000):
            pulled.append(i)
            yield "101 S MAIN ST" if i % 2 else "303 OAK AVE"

    answers = Assigner.for_city(city, workers=1, chunk_rows=100).assign(source())
    first = next(answers)
    assert first.cycle == "1" and len(pulled) <= 100
    answers.close()


def test_reading_streams_the_file(tmp_path):
    """A sample reads only the start; rows come in chunks; a bad byte far down is found late."""
    from cyclemap.batch.csvio import open_table

    path = tmp_path / "big.csv"
    body = "".join(f"{i},{100 + i % 7} S MAIN ST\n" for i in range(20_000))
    path.write_bytes(b"account,address\n" + body.encode() + b"9,1 Caf\xe9 St\n")
    table = open_table(path, "utf-8")
    assert table.sample(5)[0] == ["0", "100 S MAIN ST"] and table.estimated_rows == 20_001
    chunks = table.chunks(1000)
    assert len(next(chunks)[0]) == 1000
    with pytest.raises(InputError, match="not valid utf-8 near line"):
        for _ in chunks:
            pass


def test_assign_csv_reports_progress_chunk_by_chunk(city, tmp_path):
    from cyclemap.batch import assign_csv, plan_csv

    path = tmp_path / "in.csv"
    path.write_text("address\n" + "101 S MAIN ST\n" * 2500)
    table, where = plan_csv(path)
    done = []
    report = assign_csv(city, table, where, tmp_path / "out.csv", workers=1, progress=done.append)
    assert sum(done) == 2500 and len(done) >= 1 and report.tally.rows == 2500


def test_points_are_located_as_lookup_does(city):
    rows = [("0.005", "0.015"), ("0.015", "0.005"), ("5", "5"), ("", "x"), ("200", "0")]
    pairs = list(Assigner.for_city(city, workers=1).assign_points(rows, lambda r: r))
    got_ = [(a.status, a.cycle, a.match_type) for _, a in pairs]
    assert got_[:3] == [
        ("matched", "2", MatchType.POINT),
        ("matched", "4", MatchType.POINT),
        ("outside_service_area", None, MatchType.POINT),
    ]
    assert [a.status for _, a in pairs[3:]] == ["not_found", "not_found"]
    assert got(pairs[0][1]) == expected(city.lookup(lon=0.005, lat=0.015))


# -- pandas ---------------------------------------------------------------------------------
def test_a_series_gives_a_dataframe_on_its_index(city):
    pd = pytest.importorskip("pandas")
    s = pd.Series(["101 S MAIN ST", "201 ELM ST", None], index=[10, 20, 30], name="addr")
    df = city.assign(s)
    assert list(df.index) == [10, 20, 30]
    assert list(df.columns) == [*assign_mod.FIELDS, "reason"]
    assert df.loc[10, "cycle"] == "1" and df.loc[10, "match_type"] in {"exact", "normalized"}
    assert df.loc[20, "status"] == "ambiguous" and df["score"].dtype == float
    assert df.loc[30, "status"] == "not_found"


def test_a_dataframe_gets_columns_added_and_its_address_column_guessed(city):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "account": [1, 2],
            "status": ["active", "closed"],
            "Service Address": ["101 S MAIN ST", "303 OAK AVE"],
        }
    )
    out = city.assign(frame)
    assert list(out.columns[:3]) == ["account", "status", "Service Address"]
    assert list(out["status"]) == ["active", "closed"]  # the input's own column is untouched
    assert list(out["status_1"]) == ["matched", "matched"] and list(out["cycle"]) == ["1", "1"]
    parts = pd.DataFrame({"house_number": ["101"], "street": ["S MAIN ST"]})
    assert city.assign(parts)["cycle"].tolist() == ["1"]
    assert city.assign(frame, column="Service Address")["cycle"].tolist() == ["1", "1"]


def test_one_string_is_refused(city):
    with pytest.raises(InputError, match="not one string"):
        city.assign("101 S MAIN ST")


# -- the demo city: variations, equality with lookup, serial = parallel ---------------------
def demo_variations(n_points: int = 150, seed: int = 11) -> list[str]:
    """Demo addresses as an export spells them: case, spacing, abbreviations, typos, units."""
    with (DEFAULT_CITY / "addresses.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(seed)
    out = []
    for r in rng.sample(rows, n_points):
        base = f"{r['house_number']} {r['street']}"
        unit = r["unit"]
        out.append(f"{base} {unit}".strip())
        out.append(f"  {base.lower()}  {unit.lower()} ".replace(" ", "  ", 1))
        words = base.split()
        long = {"ST": "STREET", "AVE": "AVENUE", "DR": "DRIVE", "N": "NORTH", "S": "SOUTH",
                "RD": "ROAD", "LN": "LANE", "BLVD": "BOULEVARD", "CT": "COURT"}  # fmt: skip
        out.append(" ".join(long.get(w, w) for w in words).title() + ",")
        name = words[-2] if len(words) > 2 else words[-1]
        if len(name) > 4:  # a typo: two letters swapped
            i = rng.randrange(1, len(name) - 1)
            typo = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
            out.append(base.replace(name, typo, 1))
        if unit:
            out.append(f"{base} #{unit.split()[-1]}")
        number = int(re.sub(r"\D.*", "", r["house_number"]) or 1)
        out.append(f"{number + 4000} {r['street']}")  # past the end of the street
        out.append(f"{number + 2} {r['street'].lower()}")  # a neighbour: real or interpolated
    streets = sorted({r["street"] for r in rows})
    out += streets[::10]  # street names alone: street-level answers, or ambiguous
    out += ["", "KINGSHIGHWAY", "1 NOWHERE ST", "MAIN ST"]
    return out


@pytest.fixture(scope="module")
def variations() -> list[str]:
    return demo_variations()


def test_assign_equals_lookup_on_demo_variations(demo_city, variations):
    answers = list(demo_city.assign(variations, workers=1))
    mismatches = []
    for text, a in zip(variations, answers, strict=True):
        if not text.strip():
            assert a.status == "not_found"
            continue
        if got(a) != expected(demo_city.lookup(text)):
            mismatches.append((text, got(a), expected(demo_city.lookup(text))))
    assert not mismatches, mismatches[:5]
    assert len({a.status for a in answers}) >= 3


@needs_fork
def test_parallel_and_serial_give_identical_answers(demo_city, variations):
    texts = variations * 3
    serial = list(Assigner.for_city(demo_city, workers=1, chunk_rows=97).assign(texts))
    parallel = Assigner.for_city(demo_city, workers=2, chunk_rows=97)
    assert list(parallel.assign(texts)) == serial
    assert parallel.tally.workers == 2


@needs_fork
def test_a_worker_that_dies_stops_the_run_with_a_clear_error(city, monkeypatch):
    parent = os.getpid()
    real = type(city.geocoder).geocode

    def dies_in_a_worker(self, text, **options):
        if text == "CRASH" and os.getpid() != parent:
            os._exit(9)  # as the kernel's out-of-memory killer would
        return real(self, text, **options)

    monkeypatch.setattr(type(city.geocoder), "geocode", dies_in_a_worker)
    assigner = Assigner.for_city(city, workers=2, chunk_rows=2)
    with pytest.raises(CyclemapError, match="worker process stopped unexpectedly"):
        list(assigner.assign(["101 S MAIN ST", "303 OAK AVE", "CRASH", "305 OAK AVE"]))


@needs_fork
def test_the_default_starts_a_pool_once_geocoding_is_heavy(demo_city, variations, monkeypatch):
    monkeypatch.setattr(assign_mod, "AUTO_PARALLEL_AFTER", 0.0)
    auto = Assigner.for_city(demo_city, chunk_rows=50)
    answers = list(auto.assign(variations))
    assert answers == list(Assigner.for_city(demo_city, workers=1).assign(variations))
    assert auto.tally.workers > 1 or (os.cpu_count() or 1) == 1


def test_a_run_takes_the_city_out_of_the_collectors_view_and_gives_it_back(city):
    import gc

    assert gc.get_freeze_count() == 0
    assigner = Assigner.for_city(city, workers=1)
    answers = assigner.assign(["101 S MAIN ST", "303 OAK AVE"])
    next(answers)
    assert gc.get_freeze_count() > 0  # while the run lasts
    list(answers)
    assert gc.get_freeze_count() == 0
    gc.freeze()  # frozen by someone else: left as it is
    try:
        before = gc.get_freeze_count()
        list(Assigner.for_city(city, workers=1).assign(["101 S MAIN ST"]))
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()
