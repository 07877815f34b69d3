"""A real city: Cambridge, MA (wards as cycles, its own address points, NO schedules), and no
silent guesses (issue 15, parts 1 and 3).

The folder is ``tests/data/cambridge-ma`` (``scripts/make_cambridge_city.py``). The truth for a
point of the address layer is the ward its point is in.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cyclemap
from cyclemap.city import City, make_geocoder
from cyclemap.errors import InputError
from cyclemap.geocode import AddressLayer

from .conftest import DATA, ROOT

CAMBRIDGE = DATA / "cambridge-ma"


@pytest.fixture(scope="module")
def cambridge() -> City:
    return cyclemap.open_city(CAMBRIDGE)


def test_cambridge_opens_without_schedules_and_answers(cambridge):
    started = time.process_time()
    city = cyclemap.open_city(CAMBRIDGE)
    assert time.process_time() - started < 5  # about 0.3 s of CPU on the CI machine
    assert sorted(city.cycle_refs, key=int) == [str(n) for n in range(1, 12)]
    answer = city.lookup("10 Longfellow Rd")
    assert (answer.status, answer.cycle_id, answer.schedule) == ("matched", "9", None)
    assert answer.to_dict()["schedule"] is None
    assert all(c.schedule is None for c in city.cycles())
    assert city.lookup(lon=-71.1266, lat=42.3756).cycle_id == "8"


@pytest.mark.parametrize(
    "text, status, exit_code",
    [
        ("10 Longfellow Rd", "matched", 0),
        ("10 Longfellow", "ambiguous", 3),
        ("12 Street", "not_found", 4),  # once fuzzy-matched to 12 ASH STREET PL
    ],
)
def test_cyclemap_lookup_on_the_cambridge_folder(tmp_path, text, status, exit_code):
    run = subprocess.run(
        [sys.executable, "-m", "cyclemap", "--city", str(CAMBRIDGE), "--database-url",
         f"sqlite:///{tmp_path / 'c.sqlite'}", "lookup", text, "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert run.returncode == exit_code, run.stderr
    assert f'"status": "{status}"' in run.stdout


# -- no silent guesses -------------------------------------------------------------------------
@pytest.mark.parametrize("number", ["2", "5", "6", "7", "10", "16"])
def test_a_street_without_its_type_on_two_streets_in_two_cycles_is_ambiguous(cambridge, number):
    # LONGFELLOW RD (ward 9) and LONGFELLOW PK (ward 8) both have these numbers
    answer = cambridge.lookup(f"{number} Longfellow")
    assert answer.status == "ambiguous" and answer.cycle is None
    assert sorted((c.matched_address, c.cycle_id) for c in answer.candidates) == [
        (f"{number} LONGFELLOW PK", "8"),
        (f"{number} LONGFELLOW RD", "9"),
    ]


@pytest.mark.parametrize(
    "text, address, cycle",
    [
        ("10 Longfellow Park", "10 LONGFELLOW PK", "8"),  # PK is Cambridge's PARK
        ("10 longfellow pk", "10 LONGFELLOW PK", "8"),
        ("10 Longfellow Road, Cambridge, MA 02138", "10 LONGFELLOW RD", "9"),
        ("25 Longfellow", "25 LONGFELLOW RD", "9"),  # only the road has a 25
    ],
)
def test_with_its_type_or_a_number_only_one_street_has_it_is_matched(
    cambridge, text, address, cycle
):
    answer = cambridge.lookup(text)
    assert (answer.status, answer.location.matched_address, answer.cycle_id) == (
        "matched",
        address,
        cycle,
    )


@pytest.mark.parametrize(
    "text",
    [
        # each of these four was once matched to a street: 12 ASH STREET PL, 6 LANCASTER ST,
        # 2 SPARKS PL, and a choice of CUTLER AVE and FOSTER PL/ST
        "12 Street",
        "6 Lane",
        "2 Park",
        "5 Ter",
        "12 Ave",
        "12 St.",
        "7 Rd",
        "10 🙂 St",
        "5 ★ St",
        "12 Street Cambridge MA 02139",
        "😀😀",
        "%%% ###",
        "12 N",
        "12 61",
        "10 Longfellow Rd, Somerville, MA",  # a town the city does not serve
    ],
)
def test_text_without_a_street_name_is_not_found_never_fuzzy_matched(cambridge, text):
    answer = cambridge.lookup(text)
    assert answer.status == "not_found" and answer.cycle is None
    if "Longfellow" not in text:
        assert answer.candidates == ()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_lookup_on_any_text_never_raises(cambridge, text):
    if not text.strip():  # no address at all is bad input (InputError), not an answer
        with pytest.raises(InputError):
            cambridge.lookup(text)
        return
    answer = cambridge.lookup(text)
    assert answer.status in {"matched", "ambiguous", "not_found", "outside_service_area"}
    if not any(ch.isalpha() for ch in text):
        assert answer.status == "not_found"


NO_LETTERS = st.text(
    alphabet=st.characters(blacklist_categories=("Lu", "Ll", "Lt", "Lm", "Lo")), max_size=40
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(r"[0-9]{1,4}", fullmatch=True), NO_LETTERS, st.sampled_from(
    ["", " St", " Street", " Ave", " Rd", " N", " Pk", " Hwy", " Apt 3"]))  # fmt: skip
def test_a_number_and_no_letters_but_a_street_type_is_never_matched(cambridge, num, junk, kind):
    answer = cambridge.lookup(f"{num} {junk}{kind}")
    assert answer.status == "not_found", answer.to_dict()


# -- accuracy on the real city -----------------------------------------------------------------
def person_writes(layer: AddressLayer, i: int, rng: random.Random, kind: str) -> str | None:
    """A resident's way of writing address ``i``: ``clean``, ``typo`` or ``typeless``."""
    from scripts.bench_geocode import write_like_a_person

    return write_like_a_person(
        layer.number[i],
        layer.street_label(i),
        layer.unit[i],
        layer.zip[i],
        rng,
        1 if kind == "typo" else 0,
        town="Cambridge",
        state="MA",
        typeless=kind == "typeless",
    )


def told(city: City, texts: list[str], truth: np.ndarray) -> dict[str, int]:
    from scripts.bench_geocode import verdict

    counts = {"right": 0, "ambiguous": 0, "not_found": 0, "wrong": 0}
    for text, zone in zip(texts, truth, strict=True):
        counts[verdict(city.lookup(text), str(zone))] += 1
    return counts


@pytest.mark.parametrize("kind, least_right", [("clean", 0.99), ("typo", 0.93), ("typeless", 0.9)])
def test_no_query_class_makes_a_confident_wrong_answer(cambridge, kind, least_right):
    layer = cambridge.geocoder.layer
    rng = random.Random(15)
    picked, texts = [], []
    while len(texts) < 400:
        i = rng.randrange(len(layer))
        text = person_writes(layer, i, rng, kind)
        if text:
            picked.append(i)
            texts.append(text)
    truth = cambridge.boundaries.locate_xy(layer.lon[picked], layer.lat[picked])
    counts = told(cambridge, texts, truth)
    assert counts["wrong"] == 0, counts
    assert counts["right"] >= least_right * len(texts), counts


def test_held_out_addresses_are_placed_or_asked_about_never_wrong(cambridge):
    layer = cambridge.geocoder.layer
    rng = random.Random(15)
    held = set(rng.sample(range(len(layer)), 150))
    smaller = AddressLayer.from_records(
        {
            "number": layer.number[i],
            "street": layer.street_label(i),
            "lon": layer.lon[i],
            "lat": layer.lat[i],
        }
        for i in range(len(layer))
        if i not in held
    )
    city = City(cambridge.config, cambridge.boundaries, make_geocoder(smaller, cambridge.config))
    order = sorted(held)
    truth = cambridge.boundaries.locate_xy(layer.lon[order], layer.lat[order])
    counts = told(city, [layer.address(i).title() for i in order], truth)
    assert counts["wrong"] == 0, counts
    assert counts["right"] >= 0.7 * len(order), counts
