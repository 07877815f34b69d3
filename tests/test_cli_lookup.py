"""``cyclemap lookup``: exit statuses and JSON, run through click's runner on a fixture city."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from cyclemap.cli import main

from .conftest import ROOT, write_city
from .test_city import NOTES, ROWS


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    return write_city(tmp_path_factory.mktemp("cli-city"), addresses=ROWS, notes_toml=NOTES)


def run(city_dir, *args):
    url = f"sqlite:///{city_dir / 'live.sqlite'}"
    return CliRunner().invoke(
        main, ["--city", str(city_dir), "--database-url", url, "lookup", *args]
    )


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["101 S MAIN ST"], 0),
        (["201 ELM ST"], 3),
        (["9999 NOWHERE BLVD"], 4),
        (["500 FAR RD"], 5),
        (["--lon", "0.005", "--lat", "0.015"], 0),
        (["--lon", "5", "--lat", "5"], 5),
    ],
)
def test_exit_statuses(city_dir, args, status):
    result = run(city_dir, *args)
    assert result.exit_code == status, result.output


def test_json_output_is_the_answer(city_dir):
    result = run(city_dir, "--lon", "0.005", "--lat", "0.015", "--json")
    body = json.loads(result.output)
    assert body["status"] == "matched" and body["cycle"]["id"] == "2"


def test_human_output_names_cycle_and_notes(city_dir):
    result = run(city_dir, "101 S MAIN ST", "--date", "2020-02-21")
    assert "Cycle 1" in result.output
    assert "February bills for Cycles 1 and 2" in result.output
    # the note's window ended 2020-04-30
    later = run(city_dir, "101 S MAIN ST", "--date", "2020-05-01")
    assert "February bills" not in later.output


def test_bad_input_is_a_usage_error_not_a_traceback(city_dir):
    result = run(city_dir, "--lon", "5")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_missing_city_folder(tmp_path):
    result = CliRunner().invoke(main, ["--city", str(tmp_path / "nope"), "lookup", "1 A ST"])
    assert result.exit_code == 2
    assert "city.toml" in result.output


@pytest.mark.parametrize(
    "query",
    ["1234 north kingshighway apt 5", "Broadway", "zzz nowhere", ("-89.55", "37.28"), ("0", "0")],
)
def test_cli_json_equals_the_api_body(fresh_app, clock, query):
    """``cyclemap lookup --json`` and ``GET /api/v1/lookup`` say the same thing, on one store."""
    if isinstance(query, tuple):
        params, args = {"lon": query[0], "lat": query[1]}, ["--lon", query[0], "--lat", query[1]]
    else:
        params, args = {"address": query}, [query]
    api = fresh_app.test_client().get("/api/v1/lookup", query_string=params)
    assert api.status_code == 200
    cli = CliRunner().invoke(
        main,
        [
            "--city",
            fresh_app.config["CITY"],
            "--database-url",
            fresh_app.config["DATABASE_URL"],
            "lookup",
            *args,
            "--date",
            clock.today.isoformat(),
            "--json",
        ],
    )
    assert json.loads(cli.output) == api.get_json()


# -- issue 20: the CLI honours CYCLEMAP_TODAY; an empty address is bad input -------------------
def _notes_on(city_dir, today: str | None) -> list[str]:
    url = f"sqlite:///{city_dir / 'live.sqlite'}"
    env = {"CYCLEMAP_TODAY": today} if today is not None else {}
    result = CliRunner().invoke(
        main,
        ["--city", str(city_dir), "--database-url", url, "lookup", "101 S MAIN ST", "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    return [n["title"] for n in json.loads(result.output)["notes"]]


def test_cyclemap_today_sets_the_day_of_a_lookup(city_dir):
    assert "February bills for Cycles 1 and 2" in _notes_on(city_dir, "2020-02-21")
    assert "February bills for Cycles 1 and 2" not in _notes_on(city_dir, "2020-06-01")


def test_cyclemap_today_must_be_a_date(city_dir):
    url = f"sqlite:///{city_dir / 'live.sqlite'}"
    result = CliRunner().invoke(
        main,
        ["--city", str(city_dir), "--database-url", url, "lookup", "101 S MAIN ST"],
        env={"CYCLEMAP_TODAY": "2/21/20"},
    )
    assert result.exit_code == 2, result.output
    assert "CYCLEMAP_TODAY" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("address", ["", "   ", "\t"])
def test_an_empty_address_is_bad_input_in_the_cli_and_the_api(city_dir, client, address):
    result = run(city_dir, address)
    assert result.exit_code == 2, result.output
    assert "empty" in result.output and "Traceback" not in result.output
    api = client.get("/api/v1/lookup", query_string={"address": address})
    assert api.status_code == 400
    assert api.mimetype == "application/problem+json"
    assert "empty" in api.get_json()["detail"]


# -- run as a program: the collector paused while the command starts, the store closed at exit --
def test_as_a_program_the_start_is_not_collected_and_the_store_is_closed(city_dir, tmp_path):
    db = tmp_path / "program.sqlite"
    code = textwrap.dedent(
        f"""
        import gc, json, sys
        from cyclemap.cli import main
        started = []  # the generation of each collection from here on
        def seen(phase, info):
            if phase == "start":
                started.append(info["generation"])
        gc.callbacks.append(seen)
        try:
            main(["--city", {str(city_dir)!r}, "--database-url", {f"sqlite:///{db}"!r},
                  "lookup", "101 S MAIN ST", "--date", "2020-02-21"])
        except SystemExit as exit:
            code = exit.code
        print(json.dumps({{"code": code, "collections": started, "enabled": gc.isenabled(),
                          "frozen": gc.get_freeze_count()}}), file=sys.stderr)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert "Cycle 1" in done.stdout, done.stderr
    got = json.loads(done.stderr.strip().splitlines()[-1])
    assert got["code"] == 0
    # unpaused, the start collects over a hundred times, a full collection among them
    assert len(got["collections"]) < 10 and 2 not in got["collections"], got
    # resumed once the city was open, with what the start made frozen out of its view
    assert got["enabled"] and got["frozen"] > 10_000, got
    # the store's connections were closed, not left to a collection that never came
    assert sorted(p.name for p in tmp_path.iterdir()) == ["program.sqlite"]
