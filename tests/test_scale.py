"""Scale (issue 16): the fast paths answer exactly what the plain ones do.

The zone of every address point located once (``cyclemap.located``) against locating each
candidate; candidates made in bulk against one by one; the exact index, text columns and site
spreads as flat arrays against the dicts and lists they replace; the compiled file's arrays
memory-mapped; the zones' distance trees built on first use, once, whichever thread asks; the
batch's answers kept by parse key against geocoding each text, and usaddress's labels by token
class (``geocode.tagging``) against ``usaddress.tag``, over the whole demo layer as the
benchmark's export spells it.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import numpy as np
import pytest

import cyclemap
from cyclemap import compiled
from cyclemap.batch.resolve import Resolver
from cyclemap.city import City
from cyclemap.config import DEFAULT_CITY
from cyclemap.geocode import MatchType, exact_key, metres, steps, tagging
from cyclemap.geocode.groups import KeyGroups, Slices
from cyclemap.geocode.tagging import feature_class
from cyclemap.geocode.texts import TextColumn
from cyclemap.located import PointCycles

from .conftest import DATA, DEMO_TODAY, write_city
from .test_towns import PLACES_TOML, towns_city

pytestmark = pytest.mark.xdist_group("scale")


#: buildings whose units stand apart: a few metres (one place), 80 m (two places); in two towns
UNITS = [
    (n, street, f"APT {u}", town, zip_code, x + dx * u, y)
    for town, zip_code, x, y in (
        ("ASHFORD", "00001", 0.002, 0.002),
        ("BROOK", "00002", 0.012, 0.012),
    )
    for n, street, dx in ((12, "OAK AVE", 0.00002), (40, "ELM ST", 0.0007), (7, "ELM ST", 0.0))
    for u in (1, 2, 3)
] + [(14, "OAK AVE", "", "ASHFORD", "00001", 0.0025, 0.002)]


@pytest.fixture(scope="module")
def cities(tmp_path_factory) -> dict[str, City]:
    towns = towns_city(tmp_path_factory.mktemp("towns") / "city", PLACES_TOML)
    units = write_city(tmp_path_factory.mktemp("units") / "city", addresses=UNITS)
    return {
        "units": cyclemap.open_city(units, cache_dir=False, clock=lambda: DEMO_TODAY),
        "demo": cyclemap.open_city(DEFAULT_CITY, cache_dir=False, clock=lambda: DEMO_TODAY),
        "cambridge": cyclemap.open_city(
            DATA / "cambridge-ma", cache_dir=False, clock=lambda: DEMO_TODAY
        ),
        "towns": towns,
    }


def _queries(city: City, n: int, seed: int) -> list[str]:
    """Addresses written several ways: as the layer writes them, lower case with the town,
    with the town left out, a number between two, a unit the layer lacks, the street alone."""
    layer = city.geocoder.layer
    rng = random.Random(seed)
    out = []
    for i in rng.sample(range(len(layer)), min(n, len(layer))):
        text, street = layer.address(i), layer.street_label(i)
        out += [
            text,
            f"{text.lower()}, {layer.city[i].title()} {layer.zip[i]}",
            f"{layer.number[i]} {street.title()}",
            f"{int(layer.number_value[i]) + 1} {street}",
            f"{layer.number[i]} {street} apt 9",
            street,
            f"{layer.number[i]} {street[:-1]}",  # a letter short: fuzzy
        ]
    return out


@pytest.mark.parametrize("name", ["demo", "cambridge", "towns", "units"])
def test_answers_with_the_point_table_are_the_answers_without(cities, name) -> None:
    city = cities[name]
    plain = City(city.config, city.boundaries, city.geocoder, clock=lambda: DEMO_TODAY)
    plain.point_tables = False
    queries = _queries(city, 150, seed=16)
    assert len(queries) >= 7 * min(150, len(city.geocoder.layer))
    changed = [
        q
        for q in queries
        if json.dumps(city.lookup(q).to_dict()) != json.dumps(plain.lookup(q).to_dict())
    ]
    assert changed == []
    # and the table is what answered (no lookup built another)
    assert len(city._tables) == 1


def test_a_candidate_off_its_point_is_located_in_the_zones(cities) -> None:
    city = cities["cambridge"]
    zones, layer = city.boundaries, city.geocoder.layer
    table = city.point_cycles(city.geocoder, zones)
    rng = random.Random(3)
    cands = []
    for i in rng.sample(range(len(layer)), 400):
        c = steps._candidate(city.geocoder.index, i, MatchType.EXACT, 1.0, (), unit=True)
        moved = rng.random() < 0.5  # a point moved (as an interpolated one is) keeps its row
        cands.append(c if not moved else type(c)(**{**c.__dict__, "lon": c.lon + 0.004}))
    xs = np.array([c.lon for c in cands])
    ys = np.array([c.lat for c in cands])
    assert table.cycles_of(cands) == zones.locate_xy(xs, ys).tolist()
    assert table.cycles_of([]) == []
    with pytest.raises(ValueError):
        PointCycles(zones, layer, table.codes[:-1])


def test_candidates_made_in_bulk_are_the_ones_made_one_by_one(cities) -> None:
    for city in cities.values():
        index = city.geocoder.index
        rows = list(range(len(index.layer)))
        for unit in (False, True):
            bulk = steps._candidates(index, rows, MatchType.FUZZY, 0.87654, ("note",), unit=unit)
            one = [
                steps._candidate(index, r, MatchType.FUZZY, 0.87654, ("note",), unit=unit)
                for r in rows
            ]
            assert bulk == one
            assert [c.__dict__ for c in bulk] == [c.__dict__ for c in one]


def test_site_candidates_in_bulk_are_each_sites_candidates(cities) -> None:
    rng = random.Random(9)
    for city in cities.values():
        index = city.geocoder.index
        n = len(index.site_row)
        for text in ("12 Oak Ave", "12 Oak Ave Apt 2", "12 Oak Ave Apt 99", "40 Elm"):
            query = steps.Query(index, text)
            for parsed in (False, True):
                if parsed:
                    query.parsed  # noqa: B018  (parsed: a typed unit counts)
                for size in (1, 2, 3, 8):
                    sites = rng.sample(range(n), min(n, size))
                    bulk = steps._site_candidates(index, sites, query, MatchType.EXACT, 0.9)
                    each = [
                        c
                        for s in sites
                        for c in steps._site_candidate(index, s, query, MatchType.EXACT, 0.9)
                    ]
                    assert bulk == each


def _old_place_sites(index, zip_code, city, sites):
    """``place_sites`` as it was (sets and lists of texts), the reference for the vectorized one."""
    factor, notes = 1.0, ()
    layer = index.layer
    if zip_code and city and len(sites) > 1:
        in_zip = {s for s in sites if layer.zip[int(index.site_row[s])] == zip_code}
        in_city = {s for s in sites if layer.city[int(index.site_row[s])] == city}
        if in_zip and in_city and not in_zip & in_city:
            return [s for s in sites if s in in_zip | in_city], factor, notes
    if zip_code and len(sites) > 0:
        in_zip = [s for s in sites if layer.zip[int(index.site_row[s])] == zip_code]
        if in_zip:
            sites = in_zip
        elif any(layer.zip[int(index.site_row[s])] for s in sites):
            factor, notes = steps.ZIP_DIFFERS, (f"ZIP {zip_code} differs from the layer's",)
    if city and len(sites) > 1:
        in_city = [s for s in sites if layer.city[int(index.site_row[s])] == city]
        if in_city:
            sites = in_city
    return list(sites), factor, notes


def test_place_sites_keeps_what_it_kept(cities) -> None:
    rng = random.Random(5)
    for city in cities.values():
        index = city.geocoder.index
        zips = [*index.layer.zip.values, "99999", ""]
        towns = [*index.layer.city.values, "NOWHERE", ""]
        n = len(index.site_row)
        for _ in range(400):
            sites = rng.sample(range(n), min(n, rng.choice([0, 1, 2, 3, 5, 8, 9, 30])))
            z, t = rng.choice(zips), rng.choice(towns)
            assert steps.place_sites(index, z, t, sites) == _old_place_sites(index, z, t, sites)


def test_the_exact_index_finds_what_a_dict_found(cities) -> None:
    for city in cities.values():
        index = city.geocoder.index
        layer = index.layer
        sites: dict[str, list[int]] = {}
        for s, r in enumerate(index.site_row.tolist()):
            sites.setdefault(exact_key(layer.address(r, unit=False)), []).append(s)
        units: dict[str, list[int]] = {}
        for i in range(len(layer)):
            if layer.unit[i]:
                units.setdefault(exact_key(layer.address(i)), []).append(i)
        assert all(index.exact_sites(k) == v for k, v in sites.items())
        assert all(index.exact_unit_rows(k) == v for k, v in units.items())
        for key in ["1 NOWHERE ST", "", "x" * 300, *(k + " X" for k in list(sites)[:50])]:
            assert index.exact_sites(key) == index.exact_unit_rows(key) == []


def test_keys_sharing_a_digest_are_told_apart() -> None:
    words = [f"{n} MAIN ST" for n in range(300)] * 2
    items = list(range(len(words)))
    of = dict(zip(items, words, strict=True)).__getitem__
    for digest in (len, lambda k: 7, hash):  # many clashes, all one digest, none
        groups = KeyGroups(words, items, digest=digest)
        assert groups.get("12 MAIN ST", of) == [12, 312]
        assert groups.get("12 MAIN", of) == []
        assert len(groups) == len(words)
    # a text that is no key but has a key's digest (here: its length) finds nothing
    words = ["1 A ST", "12 A ST", "123 A ST"]
    groups = KeyGroups(words, [0, 1, 2], digest=len)
    assert groups.get("12 B ST", words.__getitem__) == []
    assert groups.get("12 A ST", words.__getitem__) == [1]


def test_site_spreads_are_measured_as_before(cities) -> None:
    spreads = cities["units"].geocoder.index.site_spread
    assert (spreads > 0).sum() == 4 and (spreads > 50).sum() == 2  # the fixture has both
    for city in cities.values():
        index = city.geocoder.index
        layer = index.layer
        for s in range(len(index.site_row)):
            rows = index.site_rows[s]
            xs, ys = layer.lon[rows], layer.lat[rows]
            old = 0.0 if len(rows) < 2 else metres(xs.min(), ys.min(), xs.max(), ys.max())
            assert index.site_spread_m(s) == old


def test_text_columns_and_slices_read_like_lists() -> None:
    texts = ["12", "14", "12", "", "14A", "12"]
    column = TextColumn.of(texts)
    assert list(column) == texts and column[1:3] == texts[1:3] and column[-1] == "12"
    assert column.take([4, 0]) == ["14A", "12"] and len(column) == 6
    assert column.code("14A") == 3 and column.code("99") is None
    assert texts.count("12") == column.count("12") and "14A" in column
    with pytest.raises(IndexError):
        column[6]
    parts = Slices([np.arange(3), np.arange(0), np.array([9])])
    assert [p.tolist() for p in parts] == [[0, 1, 2], [], [9]]
    with pytest.raises(IndexError):
        parts[3]


def test_the_compiled_file_maps_its_arrays_read_only(tmp_path: Path) -> None:
    big = np.arange(100_000, dtype=np.int64)
    value = {
        "big": big,
        "small": np.arange(5),
        "texts": TextColumn.of(str(i % 97) for i in range(50_000)),
    }
    got = compiled.load_or_build(tmp_path, "test", "k", lambda: value)
    assert got is value  # built
    again = compiled.load(tmp_path, "test", "k")
    assert np.array_equal(again["big"], big) and again["small"].tolist() == [0, 1, 2, 3, 4]
    assert list(again["texts"]) == list(value["texts"])
    # the large arrays are views of the mapped file, not copies: nothing to unpickle
    assert not again["big"].flags.writeable and not again["big"].flags.owndata
    assert not again["texts"].codes.flags.owndata
    (path,) = tmp_path.glob(f"test-*{compiled.SUFFIX}")
    data = path.read_bytes()
    path.write_bytes(data[:-1])  # one byte short: never trusted
    assert compiled.load(tmp_path, "test", "k") is None
    path.write_bytes(data + b"\0")
    assert compiled.load(tmp_path, "test", "k") is None


def test_an_old_format_file_is_ignored_and_pruned(tmp_path: Path) -> None:
    city_dir = write_city(
        tmp_path / "city", addresses=[(12, "OAK AVE", "", "TESTVILLE", "00001", 0.002, 0.002)]
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    old = cache / "geocoder-0123456789abcdef.pickle"
    old.write_bytes(b"not read")
    assert cyclemap.open_city(city_dir, cache_dir=cache).lookup("12 oak ave").cycle_id == "1"
    assert not old.exists()
    kinds = sorted(p.name.split("-")[0] for p in cache.glob(f"*{compiled.SUFFIX}"))
    assert kinds == ["cycles", "geocoder", "zones"]


def test_zones_build_their_distance_trees_once_whichever_thread_asks(cities) -> None:
    zones = cyclemap.open_city(DEFAULT_CITY, cache_dir=False).boundaries
    assert zones._metric is None  # not at load
    points = [(-89.55 + 0.002 * k, 37.31) for k in range(40)]
    expected = [cities["demo"].boundaries.nearest_other_zone_distance_m(x, y) for x, y in points]
    results: list[list[float]] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        results.append([zones.nearest_other_zone_distance_m(x, y) for x, y in points])

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4
    built = zones._metric
    zones.other_zones_within_m(-89.55, 37.31, 50)
    assert zones._metric is built


# -- the batch's fast paths past the exact step ----------------------------------------------
def _export_texts(drifts: int = 2, seed: int = 16) -> list[str]:
    """Every address of the demo layer as it writes it, and as ``bench_assign``'s export spells
    it (each account's spelling, then a few bills' drifts of case, spacing and periods)."""
    from scripts.bench_assign import _drift, _layer, _spelling

    rng = random.Random(seed)
    out = []
    for r in _layer(DEFAULT_CITY):
        out.append(f"{r['house_number']} {r['street']} {r['unit']}".strip())
        text = _spelling(rng, r)
        out += [text, *(_drift(rng, text) for _ in range(drifts))]
    return out


@pytest.fixture(scope="module")
def export_texts() -> list[str]:
    return _export_texts()


def test_digit_runs_of_one_class_have_the_same_usaddress_features() -> None:
    import usaddress

    rng = random.Random(4)
    for length in range(1, 16):
        for _ in range(300):
            token = "".join(rng.choice("0123456789" if rng.random() < 0.7 else "0")
                            for _ in range(length))  # fmt: skip
            assert usaddress.tokenFeatures(token) == usaddress.tokenFeatures(feature_class(token))
    # no digit run is a word of the model's lists, and other tokens are their own class
    assert not any(w.isdigit() for w in usaddress.DIRECTIONS | usaddress.STREET_NAMES)
    assert [feature_class(t) for t in ("12B", "1/2", "#", "٣", "12,")] == [
        "12B", "1/2", "#", "٣", "12,",
    ]  # fmt: skip


def test_tagging_by_token_class_is_usaddress_tag(export_texts) -> None:
    import usaddress

    from cyclemap.geocode.normalize import parse_key

    cities = cyclemap.open_city(DATA / "cambridge-ma", cache_dir=False).geocoder.layer
    texts = [parse_key(t) for t in export_texts]
    texts += [cities.address(i) for i in range(0, len(cities), 3)]
    texts += ["1442 U S HWY 61 1442 U S HWY 61", "12 MAIN ST & 5TH ST", "PO BOX 12", "", "#"]
    tagging.labels.cache_clear()
    for text in texts:
        try:
            want: object = usaddress.tag(text)[0]
        except usaddress.RepeatedLabelError as exc:
            want = ("repeated", exc.parsed_string)
        try:
            mine: object = tagging.tag(text)
        except usaddress.RepeatedLabelError as exc:
            mine = ("repeated", exc.parsed_string)
        assert mine == want, text
        assert tagging.parse(text) == usaddress.parse(text), text
    # and the model ran once a shape: far fewer times than there are texts
    assert tagging.labels.cache_info().misses < len(set(texts)) / 3


def test_answers_kept_by_parse_key_are_the_answers_of_each_text(export_texts) -> None:
    city = cyclemap.open_city(DEFAULT_CITY, cache_dir=False, clock=lambda: DEMO_TODAY)
    texts = [*export_texts, "117 S SPRIGG ST;", "117 s sprigg st <b>", "x" * 201, "  ", "#"]
    texts += ["117 S SPRIGG ST.", "117 s. Sprigg St", "117 S SPRIGG ST", "117 S SPRIGG ST ."]
    fast = Resolver(city.geocoder, city.boundaries)
    plain = Resolver(city.geocoder, city.boundaries, keep_by_parse=False)
    size = 500
    kept, each = [], []
    for lo in range(0, len(texts), size):
        kept += fast.resolve(texts[lo : lo + size])
        each += plain.resolve(texts[lo : lo + size])
    assert plain.by_parse == {}
    changed = [(t, a, b) for t, a, b in zip(texts, kept, each, strict=True) if a != b]
    assert changed == []
    # the fast path answered most texts: far fewer parse keys than texts the exact step missed
    assert len(fast.by_parse) < 0.6 * len(texts)
    assert len(fast.streets) < len(fast.by_parse) / 4  # and streets were looked up once


@pytest.mark.parametrize("name", ["towns", "units", "cambridge"])
def test_street_lookups_kept_across_a_batch_are_each_querys(cities, name) -> None:
    city = cities[name]
    texts = _queries(city, 150, seed=17)
    # one misspelled street typed with each town and ZIP: the lookups kept are by town and ZIP
    layer = city.geocoder.layer
    towns = sorted(set(layer.city)) + ["Nowhere"]
    zips = sorted(set(layer.zip)) + ["99999"]
    rng = random.Random(18)
    for i in rng.sample(range(len(layer)), min(60, len(layer))):
        words = layer.street_label(i).split()
        k = max(range(len(words)), key=lambda j: len(words[j]))  # a letter of the name doubled
        words[k] = words[k][:2] + words[k][1:]
        typo = f"{layer.number[i]} {' '.join(words)}"
        texts += [typo, *(f"{typo}, {t}" for t in towns), *(f"{typo} {z}" for z in zips)]
    fast = Resolver(city.geocoder, city.boundaries)
    plain = Resolver(city.geocoder, city.boundaries, keep_by_parse=False)
    assert fast.resolve(texts) == plain.resolve(texts)
    assert fast.streets
    # and each lookup itself, kept or not
    index, memo = city.geocoder.index, {}
    for text in texts:
        kept, alone = steps.Query(index, text, memo), steps.Query(index, text)
        for what in ("exact_streets", "fuzzy_streets", "near_streets"):
            assert getattr(kept, what) == getattr(alone, what), (text, what)


def test_parses_by_number_class_are_the_parses_of_each_text(cities, export_texts) -> None:
    from cyclemap.geocode.normalize import parse_key

    rng = random.Random(19)
    odd = ["117 1/2 S SPRIGG ST", "12345 - 1234", "117", "0117 S SPRIGG ST", "117 117 ST",
           "100 N MAIN ST APT 100", "99999999 N MAIN", "117 111TH ST", "117-A MAIN ST",
           "117 S SPRIGG ST, CAPE GIRARDEAU MO 63701", "117 #3", "117 US HWY 61 N"]  # fmt: skip
    demo = cyclemap.open_city(DEFAULT_CITY, cache_dir=False)
    for name, city in [("demo", demo), *cities.items()]:
        index = city.geocoder.index
        texts = list(export_texts) if name == "demo" else _queries(city, 150, seed=20)
        texts += odd
        # the same street words under numbers of every class
        texts += [f"{rng.choice(['7', '40', '118', '1200', '5', '30000'])} {t.split(' ', 1)[-1]}"
                  for t in texts[:: 11]]  # fmt: skip
        resolver = Resolver(city.geocoder, city.boundaries)
        for text in texts:
            assert resolver.parse(text, parse_key(text)) == index.parse(text), (name, text)
            assert resolver.parse(text, parse_key(text)).raw_name == index.parse(text).raw_name
        assert resolver.by_class  # the classes were used
        if name == "demo":  # one parse of a class serves the numbers of a street
            assert len(resolver.by_class) < len(texts) / 4


def test_a_few_candidates_get_the_cycles_many_get(demo_city) -> None:
    """``PointCycles.cycles_of`` loops for a few candidates and builds arrays for more: the
    same cycles either way, for candidates on their points and placed elsewhere alike."""
    from cyclemap.geocode import Candidate

    geocoder, zones = demo_city.geocoder, demo_city.boundaries
    table = demo_city.point_cycles(geocoder, zones)
    layer = geocoder.layer
    rng = random.Random(16)
    cands = []
    for row in rng.sample(range(len(layer)), 40):
        x, y = float(layer.lon[row]), float(layer.lat[row])
        cands.append(Candidate("ON", x, y, MatchType.EXACT, 1.0, row=row))
        # beside its point (an interpolated number), without a row, and far outside
        cands.append(Candidate("NEAR", x + 2e-4, y, MatchType.INTERPOLATED, 0.8, row=row))
        cands.append(Candidate("NO ROW", x, y - 2e-4, MatchType.INTERPOLATED, 0.8))
    cands.append(Candidate("OUT", 0.0, 0.0, MatchType.INTERPOLATED, 0.5))
    xs, ys = np.array([c.lon for c in cands]), np.array([c.lat for c in cands])
    plain = [str(cid) for cid in zones.locate_xy(xs, ys)]
    assert table.cycles_of(cands) == plain  # many: arrays
    few = [table.cycles_of(cands[k : k + 3]) for k in range(0, len(cands), 3)]
    assert [cid for part in few for cid in part] == plain  # a few at a time: the loop
    assert "" in plain and len(set(plain)) > 2
