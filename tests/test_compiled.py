"""The compiled city: built once per content, rebuilt when the layer or the code changes,
safe when two processes build at once, and a lookup over it imports neither pandas nor geopandas."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cyclemap
from cyclemap import compiled
from cyclemap.config import DEFAULT_CITY

from .conftest import DEMO_TODAY, ROOT, write_city

ADDRESSES = [
    (12, "OAK AVE", "", "TESTVILLE", "00001", 0.002, 0.002),
    (14, "OAK AVE", "", "TESTVILLE", "00001", 0.003, 0.002),
    (101, "N MAIN ST", "", "TESTVILLE", "00001", 0.015, 0.015),
]


def _files(cache: Path, kind: str) -> list[Path]:
    return sorted(cache.glob(f"{kind}-*{compiled.SUFFIX}"))


def test_second_open_reads_the_compiled_tables_and_answers_the_same(tmp_path: Path) -> None:
    city_dir = write_city(tmp_path / "city", addresses=ADDRESSES)
    cache = tmp_path / "cache"
    first = cyclemap.open_city(city_dir, cache_dir=cache)
    assert len(_files(cache, "geocoder")) == 1 and len(_files(cache, "zones")) == 1
    second = cyclemap.open_city(city_dir, cache_dir=cache)
    plain = cyclemap.open_city(city_dir, cache_dir=False)
    for query in ("12 oak ave", "101 main st", "13 Oak Avenue", "999 nowhere rd"):
        answers = {json.dumps(c.lookup(query).to_dict()) for c in (first, second, plain)}
        assert len(answers) == 1, query
    assert second.lookup(lon=0.015, lat=0.015).cycle_id == "3"
    assert [s.address for s in second.suggest("1 oa")] == [s.address for s in plain.suggest("1 oa")]
    # the compiled file is what the second open used: a build would not be called
    a = city_dir / "addresses.csv"
    key = compiled.key_for(
        "geocoder",
        compiled.file_digest(a),
        {**cyclemap.city.geocoder_settings(first.config), "name": ".csv"},
    )
    got = compiled.load_or_build(cache, "geocoder", key, lambda: pytest.fail("rebuilt"))
    assert len(got.layer) == 3


def test_a_changed_layer_is_compiled_again_never_stale(tmp_path: Path) -> None:
    city_dir = write_city(tmp_path / "city", addresses=ADDRESSES)
    cache = tmp_path / "cache"
    assert cyclemap.open_city(city_dir, cache_dir=cache).lookup("16 oak ave").status != "matched"
    with (city_dir / "addresses.csv").open("a") as f:
        f.write("16,OAK AVE,,TESTVILLE,00001,0.004,0.002\n")
    city = cyclemap.open_city(city_dir, cache_dir=cache)
    answer = city.lookup("16 oak ave")
    assert answer.status == "matched"
    assert answer.location.match_type.value in ("exact", "normalized")
    assert len(_files(cache, "geocoder")) == 2
    # new zones too: swap cycles 1 and 3 in the file
    zones = json.loads((city_dir / "cycles.geojson").read_text())
    for feature in zones["features"]:
        feature["properties"]["cycle"] = {"1": "3", "3": "1"}.get(
            feature["properties"]["cycle"], feature["properties"]["cycle"]
        )
    (city_dir / "cycles.geojson").write_text(json.dumps(zones))
    assert cyclemap.open_city(city_dir, cache_dir=cache).lookup("12 oak ave").cycle_id == "3"


def test_the_code_format_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = compiled.key_for("geocoder", "abc", {"x": 1})
    monkeypatch.setattr(compiled, "INDEX_FORMAT", compiled.INDEX_FORMAT + 1)
    compiled.format_digest.cache_clear()
    try:
        assert compiled.key_for("geocoder", "abc", {"x": 1}) != before
    finally:
        monkeypatch.undo()
        compiled.format_digest.cache_clear()
    assert compiled.key_for("geocoder", "abc", {"x": 1}) == before
    assert compiled.key_for("geocoder", "abd", {"x": 1}) != before
    assert compiled.key_for("geocoder", "abc", {"x": 2}) != before


def test_an_unreadable_cache_file_is_rebuilt(tmp_path: Path) -> None:
    city_dir = write_city(tmp_path / "city", addresses=ADDRESSES)
    cache = tmp_path / "cache"
    cyclemap.open_city(city_dir, cache_dir=cache)
    for path in cache.glob(f"*{compiled.SUFFIX}"):
        path.write_bytes(path.read_bytes()[:100])  # truncated, as by a full disk
    city = cyclemap.open_city(city_dir, cache_dir=cache)
    assert city.lookup("12 oak ave").cycle_id == "1"
    assert cyclemap.open_city(city_dir, cache_dir=cache).lookup("101 n main st").cycle_id == "3"


def test_two_processes_building_at_once_both_succeed(tmp_path: Path) -> None:
    city_dir = write_city(tmp_path / "city", addresses=ADDRESSES)
    cache = tmp_path / "cache"
    code = textwrap.dedent(
        f"""
        import cyclemap
        city = cyclemap.open_city({str(city_dir)!r}, cache_dir={str(cache)!r})
        print(city.lookup("12 oak ave").cycle_id)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["1", "1"]
    assert len(_files(cache, "geocoder")) == 1
    assert not list(cache.glob(".*.tmp"))  # no temporary file left behind
    assert cyclemap.open_city(city_dir, cache_dir=cache).lookup("14 oak ave").cycle_id == "1"


def test_a_lookup_imports_neither_pandas_nor_geopandas(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cyclemap.open_city(DEFAULT_CITY, cache_dir=cache)  # compiled here
    code = textwrap.dedent(
        f"""
        import sys, datetime, cyclemap
        city = cyclemap.open_city(cache_dir={str(cache)!r},
                                  clock=lambda: datetime.date.fromisoformat({str(DEMO_TODAY)!r}))
        assert city.lookup("117 S SPRIGG ST").cycle_id == "4"
        assert city.suggest("117 s spr")
        heavy = ("pandas", "geopandas", "pyogrio", "folium")
        print(" ".join(m for m in heavy if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_cli_lookup_imports_neither_and_honours_cache_dir(tmp_path: Path) -> None:
    env_code = textwrap.dedent(
        """
        import sys
        from cyclemap.cli import main
        try:
            main(["lookup", "117 S SPRIGG ST"])
        except SystemExit as exit:
            code = exit.code
        # the libraries a lookup away from a border never needs (nor, for an address written as
        # the layer writes it, the parser and the fuzzy matcher), and the other commands' modules
        heavy = ("pandas", "geopandas", "pyogrio", "folium", "pyproj", "markdown_it", "nh3",
                 "flask", "alembic", "usaddress", "rapidfuzz")
        heavy += tuple(f"cyclemap.cli.{m}" for m in ("serve", "notes", "boundaries", "assign",
                                                      "staff", "export_map", "addresses"))
        heavy += ("cyclemap.boundaries.read", "cyclemap.boundaries.validate",
                  "cyclemap.billing.feed")  # reading zone files, validating them, Atom feeds
        print(code, " ".join(m for m in heavy if m in sys.modules), file=sys.stderr)
        """
    )
    cache = tmp_path / "cli-cache"
    env = {
        "CYCLEMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite'}",
        "CYCLEMAP_CACHE_DIR": str(cache),
        "CYCLEMAP_TODAY": str(DEMO_TODAY),
        "PATH": "/usr/bin:/bin",
    }
    runs = [
        subprocess.run(
            [sys.executable, "-c", env_code], cwd=ROOT, capture_output=True, text=True, env=env
        )
        for _ in range(2)
    ]
    assert "Cycle 4" in runs[1].stdout
    assert runs[1].stderr.strip().splitlines()[-1] == "0", runs[1].stderr
    assert _files(cache, "geocoder") and _files(cache, "zones")


def test_the_server_loads_the_parser_before_its_first_lookup(tmp_path: Path) -> None:
    # the parser and fuzzy matcher load lazily for one-off lookups; a server loads them at start
    # (before gunicorn forks its workers), so no resident's first lookup waits for them
    code = textwrap.dedent(
        f"""
        import sys
        from cyclemap.server import create_app
        create_app({{"DATABASE_URL": "sqlite:///{tmp_path / "s.sqlite"}",
                     "CACHE_DIR": {str(tmp_path / "cache")!r}, "SECRET_KEY": "x"}})
        print(" ".join(m for m in ("usaddress", "rapidfuzz.process") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["usaddress", "rapidfuzz.process"]
