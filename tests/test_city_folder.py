"""A city folder is checked when it is opened: one ConfigError lists every problem with its key,
and a city without schedules answers with no dates instead of failing (issue 15, part 1)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest

import cyclemap
from cyclemap.errors import ConfigError

from .conftest import DEMO_TODAY, ROOT, write_city

ROWS = [
    (101, "Main St", "", "Testville", "00001", 0.005, 0.005),
    (103, "Main St", "", "Testville", "00001", 0.006, 0.005),
    (12, "Oak Ave", "", "Testville", "00001", 0.015, 0.015),
]


def unscheduled_city(folder: Path, **kwargs) -> Path:
    """A tiny city whose cycles have names and colours but no [cycles.N.schedule]."""
    write_city(folder, addresses=ROWS, **kwargs)
    toml = folder / "city.toml"
    text = re.sub(r"\[cycles\.\d\.schedule\]\n(?:[a-z_]+ = .*\n)+", "", toml.read_text())
    assert "schedule" not in text
    toml.write_text(text)
    return folder


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        cyclemap.open_city(folder)
    assert err.value.problems, err.value.message
    return err.value.problems


# -- every problem at once, with its key -------------------------------------------------------
def test_every_problem_of_city_toml_is_listed_in_one_error_with_its_key(tmp_path):
    folder = write_city(
        tmp_path / "city",
        addresses=ROWS,
        extra_toml=(
            "[cycles.9]\nname = 'Cycle 9'\n"  # no zone has cycle 9
            "[lookup]\nconfirm_within_m = -3\n"
            "[[exceptions]]\nkind = 'holiday'\ndate = 2020-02-05\ncycles = 'all'\n"
            "[[exceptions]]\nkind = 'no_bill'\ndate = 2020-02-05\ncycles = ['7']\n"
        ),
    )
    toml = folder / "city.toml"
    text = toml.read_text()
    text = text.replace('timezone = "America/Chicago"', 'timezone = "Mars/Olympus_Mons"')
    text = text.replace("zoom = 14", "zoom = 'close'")
    text = text.replace('zips = ["00001"]', "zips = [2138, 63701]")  # 02138 lost its 0
    text = text.replace('street = "street"', 'street = "street_name"')  # no such column
    text = text.replace("due_after_days = 21\n", "due_after_days = -21\n", 1)  # cycle 1
    text = text.replace('bill_rule = "DTSTART:20190101\\nRRULE:FREQ=MONTHLY;BYDAY=+2WE"\n', "")
    toml.write_text(text)

    problems = problems_of(folder)
    expected = [
        "[city] timezone must be an IANA time zone",
        "[city] zips must be 5-digit ZIP codes",
        "[map] zoom must be a whole number from 1 to 19",
        "[lookup] confirm_within_m must be a number of at least 0",
        "[addresses.columns]: addresses.csv: no column 'street_name' (for street)",
        "[cycles.1.schedule] due_after_days must be a whole number of days >= 0",
        "[cycles.2.schedule] needs exactly one of bill_rule or bill_dates",
        "[[exceptions]] 1: exception kind must be one of",
        "[[exceptions]] 2 (no_bill 2020-02-05) names cycle 7",
        "[cycles.9] names a cycle that has no zone in cycles.geojson",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected), problems


def test_zips_may_be_written_as_numbers_of_five_digits(tmp_path):
    folder = write_city(tmp_path / "city", addresses=ROWS)
    toml = folder / "city.toml"
    toml.write_text(toml.read_text().replace('zips = ["00001"]', 'zips = [63701, "63703"]'))
    assert cyclemap.open_city(folder).config.zips == ("63701", "63703")


def test_a_broken_boundary_file_and_a_bad_key_are_one_error(tmp_path):
    folder = write_city(tmp_path / "city", addresses=ROWS)
    (folder / "cycles.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    toml = folder / "city.toml"
    toml.write_text(toml.read_text().replace("center = [0.01, 0.01]", "center = [0.01]"))
    problems = problems_of(folder)
    assert problems[0].startswith("[map] center must be [lon, lat]")
    assert any(p.startswith("[boundaries] file (cycles.geojson):") for p in problems), problems


def test_a_zone_without_a_cycle_table_is_a_problem(tmp_path):
    folder = write_city(tmp_path / "city", addresses=ROWS)
    toml = folder / "city.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("[cycles.4]")])
    assert problems_of(folder) == [
        "[cycles.4] is missing: the zone file cycles.geojson has a zone for cycle 4"
    ]


def test_files_that_are_not_there_are_named_with_their_key(tmp_path):
    folder = write_city(tmp_path / "city", addresses=ROWS)
    (folder / "addresses.csv").unlink()
    toml = folder / "city.toml"
    toml.write_text(toml.read_text().replace('file = "cycles.geojson"', 'file = "zones.shp"'))
    problems = problems_of(folder)
    assert [p.split(" names ")[0] for p in problems] == ["[boundaries] file", "[addresses] file"]


def test_the_error_reaches_the_cli_as_one_message_and_exit_2(tmp_path):
    folder = write_city(tmp_path / "city", addresses=ROWS)
    toml = folder / "city.toml"
    text = toml.read_text().replace('timezone = "America/Chicago"', 'timezone = "Nowhere"')
    toml.write_text(text.replace("zoom = 14", "zoom = 99"))
    run = subprocess.run(
        [sys.executable, "-m", "cyclemap", "--city", str(folder), "lookup", "101 Main St"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "city.toml has 2 problems" in run.stderr
    assert "  - [city] timezone must be an IANA time zone" in run.stderr
    assert "  - [map] zoom must be a whole number from 1 to 19" in run.stderr
    assert "Traceback" not in run.stderr


# -- schedules are optional --------------------------------------------------------------------
@pytest.fixture()
def unscheduled(tmp_path):
    folder = unscheduled_city(tmp_path / "city")
    return cyclemap.open_city(folder, clock=lambda: DEMO_TODAY)


def test_a_city_without_schedules_answers_with_no_dates(unscheduled):
    answer = unscheduled.lookup("101 Main St")
    assert answer.status == "matched" and answer.cycle_id == "1"
    assert answer.schedule is None and answer.to_dict()["schedule"] is None
    assert unscheduled.cycle("1").to_dict()["schedule"] is None
    assert unscheduled.lookup(lon=0.015, lat=0.015).schedule is None


def test_a_city_without_schedules_has_calendars_that_say_so(unscheduled):
    cal = icalendar.Calendar.from_ical(unscheduled.calendar_ics("2"))
    assert cal.walk("VEVENT") == []
    assert str(cal["X-WR-CALDESC"]) == "No billing dates are published for Cycle 2 yet."


def test_one_cycle_with_a_schedule_and_one_without(tmp_path):
    folder = unscheduled_city(tmp_path / "city")
    toml = folder / "city.toml"
    toml.write_text(
        toml.read_text().replace(
            'color = "#000003"\n',
            'color = "#000003"\n[cycles.3.schedule]\nbill_dates = [2020-03-04]\n'
            "due_after_days = 21\n",
        )
    )
    city = cyclemap.open_city(folder, clock=lambda: DEMO_TODAY)
    assert city.lookup("12 Oak Ave").schedule.next_due_date == dt.date(2020, 3, 25)
    assert city.lookup("101 Main St").schedule is None


def test_pages_api_and_cli_of_a_city_without_schedules(tmp_path, clock):
    from .conftest import _make_app

    folder = unscheduled_city(tmp_path / "city")
    app = _make_app(tmp_path / "db.sqlite", clock, CITY=str(folder))
    client = app.test_client()
    body = client.get("/lookup?address=101+Main+St").get_data(as_text=True)
    assert "No billing dates are published for Cycle 1 yet." in body
    assert "Add Cycle 1 dates to my calendar" not in body
    index = client.get("/").get_data(as_text=True)
    assert index.count("No billing dates are published for Cycle") == 4
    api = client.get("/api/v1/lookup?address=101+Main+St").get_json()
    assert api["status"] == "matched" and api["schedule"] is None
    assert client.get("/api/v1/cycles/1").get_json()["schedule"] is None
    ics = client.get("/api/v1/cycles/1/calendar.ics")
    assert ics.status_code == 200 and b"No billing dates are published" in ics.data

    run = subprocess.run(
        [sys.executable, "-m", "cyclemap", "--city", str(folder), "--database-url",
         f"sqlite:///{tmp_path / 'cli.sqlite'}", "lookup", "101 Main St"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "No billing dates are published for this cycle." in run.stdout
