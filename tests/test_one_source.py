"""One source for each rule: the answer statuses, the cycle-id order, the address length limit
and the exact-match key are each defined once, and everything that states them derives them."""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from cyclemap.batch import STATUSES, normalize_key
from cyclemap.boundaries import cycle_sort_key
from cyclemap.cli import main
from cyclemap.cli.lookup import STATUS_EXIT
from cyclemap.decide import Status
from cyclemap.geocode import MAX_ADDRESS_LENGTH, GeocodeResult, GeocodeStatus, MatchType, exact_key
from cyclemap.server import api, openapi, public

pytestmark = pytest.mark.xdist_group("one_source")

PACKAGE = Path(__file__).resolve().parent.parent / "cyclemap"
#: where a status's string may be written: the members of the two enums, and the cascade step
#: named ``not_found`` (a step's name, in its table and in the result it gives)
STATUS_SPELLINGS = {
    ("decide.py", "Status"): {s.value for s in Status},
    ("geocode/types.py", "GeocodeStatus"): {s.value for s in GeocodeStatus},
}
STEP_NAMES = Counter(
    {
        ("geocode/steps.py", "not_found"): 2,  # the cascade's step of that name
        # the miss tally's columns (lookup_misses.not_found / .ambiguous) and its JSON keys
        ("store/schema.py", "not_found"): 1,
        ("store/schema.py", "ambiguous"): 1,
        ("store/migrations/versions/0006_misses_aliases.py", "not_found"): 1,
        ("store/migrations/versions/0006_misses_aliases.py", "ambiguous"): 1,
        ("store/aliases.py", "not_found"): 1,
        ("store/aliases.py", "ambiguous"): 1,
    }
)


def _status_literals() -> Counter:
    """(file, string) of each status string written in the package's code, with how often
    (docstrings and doctests left out: they show what a value prints as)."""
    words = {s.value for s in Status}
    found: Counter = Counter()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(), name)
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                skip.add(id(node.value))  # a docstring, or a bare string statement
            if isinstance(node, ast.ClassDef) and (name, node.name) in STATUS_SPELLINGS:
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                        skip.add(id(item.value))  # the enum's own members
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in words and id(node) not in skip:
                found[(name, node.value)] += 1
    return found


def test_one_status_enum_everywhere():
    assert [str(s) for s in Status] == [
        "matched",
        "ambiguous",
        "not_found",
        "outside_service_area",
    ]
    assert STATUSES == tuple(Status)
    assert set(STATUS_EXIT) == set(Status)
    assert openapi.STATUSES == [s.value for s in Status]
    assert openapi.MATCH_TYPES == [m.value for m in MatchType]
    schemas = openapi.document()["components"]["schemas"]
    mapping = schemas["Answer"]["discriminator"]["mapping"]
    assert set(mapping) == {s.value for s in Status}


def test_each_status_string_is_written_once_in_its_enum():
    # each enum spells its own members once; everywhere else uses the members
    for (_where, _enum), spelled in STATUS_SPELLINGS.items():
        assert spelled <= {s.value for s in Status}
    assert _status_literals() == STEP_NAMES


def test_the_geocoder_speaks_the_answers_words(demo_city):
    # the geocoder's outcomes are a different thing (no zones, so no outside_service_area),
    # spelt as the answer statuses they usually become
    assert [str(s) for s in GeocodeStatus] == ["matched", "ambiguous", "not_found"]
    assert {s.value for s in GeocodeStatus} < {s.value for s in Status}
    result = demo_city.geocoder.geocode("111 Academy Ln")
    assert result.status is GeocodeStatus.MATCHED
    assert type(result.to_dict()["status"]) is str and result.to_dict()["status"] == "matched"
    assert GeocodeResult("not_found").status is GeocodeStatus.NOT_FOUND
    with pytest.raises(ValueError):
        GeocodeResult("matchd")


def test_an_answer_status_is_the_enum_and_its_json_a_plain_string(demo_city):
    answer = demo_city.lookup("111 Academy Ln")
    assert answer.status is Status.MATCHED
    data = answer.to_dict()
    assert type(data["status"]) is str and data["status"] == "matched"
    assert json.loads(json.dumps(data))["status"] == "matched"
    (row,) = demo_city.assign(["111 academy ln"])
    assert row.status is Status.MATCHED
    assert row.to_row()[1] == "matched" and type(row.to_row()[1]) is str
    assert type(row.to_dict()["status"]) is str


def test_one_address_limit():
    assert public.MAX_ADDRESS_CHARS == api.MAX_QUERY_CHARS == MAX_ADDRESS_LENGTH
    params = openapi.document()["paths"]["/api/v1/suggest"]["get"]["parameters"]
    (q,) = [p for p in params if p.get("name") == "q"]
    assert q["schema"]["maxLength"] == MAX_ADDRESS_LENGTH


def test_the_address_limit_is_the_same_in_the_api_and_the_geocoder(client, demo_city):
    at_limit = "111 Academy Ln" + " " * (MAX_ADDRESS_LENGTH - len("111 Academy Ln"))
    assert len(at_limit) == MAX_ADDRESS_LENGTH
    assert demo_city.lookup(at_limit).status == Status.MATCHED
    assert client.get("/api/v1/lookup", query_string={"address": at_limit}).status_code == 200
    over = at_limit + "x"
    assert demo_city.geocoder.geocode(over).status is GeocodeStatus.NOT_FOUND
    assert client.get("/api/v1/lookup", query_string={"address": over}).status_code == 400


@pytest.mark.parametrize("ids", [["1", "01", "²", "10", "2", "B", "a"]])
def test_one_cycle_order_whatever_the_input_order(ids):
    orders = {tuple(sorted(p, key=cycle_sort_key)) for p in itertools.permutations(ids)}
    assert orders == {("01", "1", "2", "10", "B", "a", "²")}


def test_one_exact_key_for_the_geocoder_and_the_batch(demo_city):
    assert normalize_key is exact_key
    for text in ["  111  academy\tln ", "111 ACADEMY LN.", "111 Académy Ln", "x" * 300]:
        assert exact_key(text) == normalize_key(text)
    # text with one key gets one answer from the geocoder
    same = ["111 academy ln", " 111 ACADEMY  LN ", "111 Academy Ln"]
    assert len({exact_key(t) for t in same}) == 1
    answers = {demo_city.geocoder.geocode(t).candidates[0].match_type for t in same}
    assert answers == {MatchType.EXACT}


def test_importing_csvio_changes_no_csv_setting():
    code = (
        "import csv; before = csv.field_size_limit(); import cyclemap.batch.csvio, cyclemap.batch;"
        " assert csv.field_size_limit() == before, csv.field_size_limit()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_package_freezes_no_gc():
    code = (
        "import gc; import cyclemap, cyclemap.batch, cyclemap.cli, cyclemap.server;"
        " assert gc.get_freeze_count() == 0, gc.get_freeze_count()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_lookup_exit_codes_follow_the_enum(tmp_path):
    db = f"sqlite:///{tmp_path / 'x.sqlite'}"
    result = CliRunner().invoke(main, ["--database-url", db, "lookup", "111 Academy Ln"])
    assert result.exit_code == STATUS_EXIT[Status.MATCHED] == 0
