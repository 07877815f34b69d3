"""The staff path for versioned layers, end to end on the demo city and a real store.

diff (checked against an independent count), publish (refusals leave the live version alone),
effective dates on the clock the tests set, history and rollback, address layer imports that
reach another server, a publish killed half-way, and lookups streaming through publishes.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import mapping, shape

import cyclemap
from cyclemap.cli import main
from cyclemap.config import DEFAULT_CITY, load_city_config
from cyclemap.errors import BoundaryFileError, InputError, RefusedError
from cyclemap.publishing import diff_boundaries, import_addresses, publish_boundaries
from cyclemap.store import Store

from .conftest import DEMO_TODAY, Clock, _make_app
from .pg import pg_server, pg_url, store_url  # noqa: F401
from .zones import demo_geojson, independent_changes, move_block, overlapping

ROOT = Path(__file__).resolve().parent.parent
ENV = {"CYCLEMAP_TODAY": DEMO_TODAY.isoformat()}


@pytest.fixture(scope="module")
def moved(tmp_path_factory) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A boundary file moving a block of Cycle 2 to Cycle 3, and the addresses that change."""
    folder = tmp_path_factory.mktemp("moved")
    after = move_block(demo_geojson())
    path = folder / "moved.geojson"
    path.write_text(json.dumps(after))
    changes = independent_changes(demo_geojson(), after)
    assert len(changes) > 100 and set(changes.values()) == {("2", "3")}
    return path, changes


def run(url: str, *args: str, today: dt.date = DEMO_TODAY):
    result = CliRunner().invoke(
        main, ["--database-url", url, *args], env={"CYCLEMAP_TODAY": today.isoformat()}
    )
    return result


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'city.sqlite'}"


# ---------------------------------------------------------------------- diff
def test_diff_counts_equal_an_independent_count(url, moved, tmp_path):
    path, changes = moved
    out = tmp_path / "changes.csv"
    result = run(url, "boundaries", "diff", str(path), "--json", "--csv", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["live_version"] == 1 and data["addresses_compared"] == 19897
    assert data["addresses_changing"] == len(changes)
    assert data["moves"] == [{"from": "2", "to": "3", "addresses": len(changes)}]
    assert data["validation"]["valid"] is True
    cycles = {c["id"]: c for c in data["cycles"]}
    assert cycles["2"]["addresses_before"] - cycles["2"]["addresses_after"] == len(changes)
    assert cycles["3"]["addresses_after"] - cycles["3"]["addresses_before"] == len(changes)
    assert cycles["2"]["area_m2_after"] < cycles["2"]["area_m2_before"]
    assert cycles["1"]["area_m2_after"] == pytest.approx(cycles["1"]["area_m2_before"])
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["address", "from_cycle", "to_cycle", "lon", "lat"]
    assert {r["address"]: (r["from_cycle"], r["to_cycle"]) for r in rows} == changes
    # the human report says it in words
    text = run(url, "boundaries", "diff", str(path)).output
    assert f"{len(changes):,} of 19,897 addresses change cycle" in text
    assert f"2 -> 3: {len(changes):,} addresses" in text


def test_publish_refuses_invalid_and_unreadable_files_and_keeps_the_live_version(url, tmp_path):
    bad = tmp_path / "overlap.geojson"
    bad.write_text(json.dumps(overlapping(demo_geojson())))
    exe = tmp_path / "setup.geojson"
    exe.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200))
    assert run(url, "boundaries", "diff", str(bad)).exit_code == 1
    result = run(url, "boundaries", "publish", str(bad), "-m", "grow 2")
    assert result.exit_code == 1
    assert "was not published" in result.output and "overlap" in result.output
    assert run(url, "boundaries", "diff", str(exe)).exit_code == 2
    result = run(url, "boundaries", "publish", str(exe), "-m", "exe")
    assert result.exit_code == 2 and "cannot be read as a boundary file" in result.output
    assert "Traceback" not in result.output
    history = json.loads(run(url, "boundaries", "history", "--json").stdout)["versions"]
    assert [(v["version"], v["state"], v["action"]) for v in history] == [(1, "live", "seed")]


def test_publish_needs_a_message_and_a_date_not_in_the_past(url, moved):
    path, _ = moved
    assert run(url, "boundaries", "publish", str(path), "-m", " ").exit_code == 2
    result = run(url, "boundaries", "publish", str(path), "-m", "x", "--effective", "2020-02-20")
    assert result.exit_code == 2 and "in the past" in result.output
    result = run(url, "boundaries", "publish", str(path), "-m", "x", "--effective", "Mar 1")
    assert result.exit_code == 2
    assert run(url, "boundaries", "history", "--json").stdout.count('"version"') == 1


def test_publish_history_rollback_and_lookup_follow(url, moved):
    path, changes = moved
    address = sorted(changes)[0]
    assert json.loads(run(url, "lookup", address, "--json").stdout)["cycle"]["id"] == "2"
    result = run(url, "boundaries", "publish", str(path), "-m", "move a block to 3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "version": 2,
        "effective": None,
        "addresses_changing": len(changes),
    }
    body = json.loads(run(url, "lookup", address, "--json").stdout)
    assert (body["cycle"]["id"], body["boundary_version"]) == ("3", 2)
    result = run(url, "boundaries", "rollback", "1", "-m", "wrong file")
    assert result.exit_code == 0 and "is live again" in result.output
    body = json.loads(run(url, "lookup", address, "--json").stdout)
    assert (body["cycle"]["id"], body["boundary_version"]) == ("2", 1)
    history = json.loads(run(url, "boundaries", "history", "--json").stdout)["versions"]
    assert [(v["version"], v["action"], v["state"]) for v in history] == [
        (1, "rollback", "live"),
        (2, "publish", "past"),
        (1, "seed", "past"),
    ]
    assert set(history[0]) == {"version", "author", "created", "effective", "message", "state",
                               "action"}  # fmt: skip
    assert history[0]["message"] == "wrong file" and history[0]["author"] == getpass.getuser()
    assert run(url, "boundaries", "rollback", "99").exit_code == 4


# ---------------------------------------------------------------------- effective dates
def test_a_version_scheduled_for_tomorrow_goes_live_tomorrow_without_anyone_acting(tmp_path, moved):
    path, changes = moved
    address = sorted(changes)[0]
    clock = Clock(DEMO_TODAY)
    app = _make_app(tmp_path / "c.sqlite", clock)
    client = app.test_client()
    city = app.extensions["cyclemap.city"]
    tomorrow = DEMO_TODAY + dt.timedelta(days=1)
    result = publish_boundaries(
        city, path, author="clerk", message="from tomorrow", effective=tomorrow
    )
    assert (result.version, result.effective) == (2, tomorrow)

    body = client.get("/api/v1/lookup", query_string={"address": address}).get_json()
    assert (body["cycle"]["id"], body["boundary_version"]) == ("2", 1)
    assert body["effective_changes"] == [
        {
            "date": tomorrow.isoformat(),
            "cycle": {"id": "3", "name": "Cycle 3", "color": "#7570b3"},
        }
    ]
    page = client.get("/lookup", query_string={"address": address}).get_data(as_text=True)
    assert "From February 22, 2020 this address is in Cycle 3." in page
    as_of = client.get("/api/v1/lookup", query_string={"address": address, "date": "2020-02-22"})
    assert (as_of.get_json()["cycle"]["id"], as_of.get_json()["boundary_version"]) == ("3", 2)
    assert client.get("/api/v1/lookup?address=x&date=tomorrow").status_code == 400
    assert client.get("/healthz").get_json()["boundary_version"] == 1

    clock.today = tomorrow  # midnight passes; nobody publishes, nobody restarts
    body = client.get("/api/v1/lookup", query_string={"address": address}).get_json()
    assert (body["cycle"]["id"], body["boundary_version"], body["effective_changes"]) == (
        "3",
        2,
        [],
    )
    assert client.get("/healthz").get_json()["boundary_version"] == 2
    states = [(h.version, h.state) for h in city.store.boundary_history(today=tomorrow)]
    assert states == [(2, "live"), (1, "past")]


def test_history_shows_a_scheduled_version_and_the_cli_lookup_date(url, moved):
    path, changes = moved
    address = sorted(changes)[0]
    result = run(url, "boundaries", "publish", str(path), "-m", "March", "--effective",
                 "2020-03-01", "--json")  # fmt: skip
    assert json.loads(result.stdout)["effective"] == "2020-03-01"
    history = json.loads(run(url, "boundaries", "history", "--json").stdout)["versions"]
    assert [(v["version"], v["state"], v["effective"]) for v in history] == [
        (2, "scheduled", "2020-03-01"),
        (1, "live", None),
    ]
    today = json.loads(run(url, "lookup", address, "--json").stdout)
    assert today["cycle"]["id"] == "2" and today["effective_changes"][0]["date"] == "2020-03-01"
    words = run(url, "lookup", address).output
    assert "From 2020-03-01 (a scheduled boundary change): Cycle 3" in words
    march = json.loads(run(url, "lookup", address, "--json", "--date", "2020-03-01").stdout)
    assert (march["cycle"]["id"], march["boundary_version"]) == ("3", 2)
    later = run(url, "lookup", address, "--json", today=dt.date(2020, 3, 5))
    assert json.loads(later.stdout)["cycle"]["id"] == "3"


# ---------------------------------------------------------------------- address layers
def test_an_imported_address_layer_is_served_by_another_server(tmp_path, monkeypatch):
    from cyclemap import city as city_module

    db = tmp_path / "shared.sqlite"
    a, b = _make_app(db, Clock()), _make_app(db, Clock())
    rows = (DEFAULT_CITY / "addresses.csv").read_text().splitlines()
    new = tmp_path / "e911.csv"
    # one new house on an existing street (next to its neighbour), one address removed
    first = rows[1].split(",")
    added = ["99999", first[1], "", first[3], first[4], first[5], str(float(first[6]) + 0.0001)]
    new.write_text("\n".join([rows[0], *rows[2:], ",".join(added)]) + "\n")
    removed = f"{first[0]} {first[1]}"

    result = run(f"sqlite:///{db}", "addresses", "diff", str(new), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["added"], data["removed"], data["moved"]) == (1, 1, 0)
    assert data["addresses_before"] == 19897 and data["addresses_after"] == 19897

    query = f"/api/v1/lookup?address=99999+{first[1].replace(' ', '+')}"
    assert b.test_client().get(query).get_json()["status"] != "matched"
    city_a = a.extensions["cyclemap.city"]
    result = import_addresses(city_a, new, author="clerk", message="March E911 export")
    assert result.version == 1
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.0)
    body = b.test_client().get(query).get_json()
    assert body["status"] == "matched" and body["location"]["matched_address"].startswith("99999")
    gone = b.test_client().get("/api/v1/lookup", query_string={"address": removed}).get_json()
    assert gone["location"] is None or gone["location"]["match_type"] != "exact"


def test_an_address_layer_with_swapped_coordinates_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    rows = [line.split(",") for line in (DEFAULT_CITY / "addresses.csv").read_text().splitlines()]
    swapped = tmp_path / "swapped.csv"
    body = [",".join(r[:5] + [r[6], r[5]]) for r in rows[1:]]  # values swapped, header kept
    swapped.write_text("\n".join([",".join(rows[0]), *body]) + "\n")
    result = run(url, "addresses", "import", str(swapped), "-m", "oops")
    assert result.exit_code == 1 and "outside every cycle" in result.output
    assert "Only the city folder" in run(url, "addresses", "history").output
    junk = tmp_path / "junk.exe"
    junk.write_bytes(b"MZ")
    assert run(url, "addresses", "import", str(junk), "-m", "x").exit_code == 2


# ---------------------------------------------------------------------- faults
def _seeded(url: str) -> Store:
    return Store(url).start(load_city_config(DEFAULT_CITY), boundary_geojson=demo_geojson())


def _consistent(store: Store) -> tuple[int, int, int]:
    """(versions, activations, version in force); every activation names a stored version."""
    import sqlalchemy as sa

    from cyclemap.store import schema as t

    with store.engine.connect() as conn:
        versions = set(conn.scalars(sa.select(t.boundary_versions.c.version)))
        activations = list(
            conn.scalars(
                sa.select(t.version_activations.c.version).where(
                    t.version_activations.c.kind == "boundary"
                )
            )
        )
    assert set(activations) <= versions
    live = store.live_boundaries(on=DEMO_TODAY)
    assert live is not None and live.geojson["features"]
    return len(versions), len(activations), live.version


def _publisher(url: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, **ENV, "CYCLEMAP_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "cyclemap", "boundaries", "publish", str(path), "-m", "killed"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.postgres
def test_a_publish_killed_inside_its_transaction_leaves_the_previous_version_live(
    pg_url,  # noqa: F811
    moved,
):
    import sqlalchemy as sa

    path, _ = moved
    store = _seeded(pg_url)
    assert _consistent(store) == (1, 1, 1)
    # hold the live row: the publisher blocks inside its transaction, after its inserts
    blocker = store.engine.connect()
    blocker.execute(sa.text("SELECT * FROM live WHERE id = 1 FOR UPDATE"))
    proc = _publisher(pg_url, path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with store.engine.connect() as conn:
                waiting = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%FROM live%'"
                    )
                ).scalar()
            if waiting:
                break
            assert proc.poll() is None, "the publisher ended before reaching the lock"
            time.sleep(0.05)
        else:
            pytest.fail("the publisher never reached its transaction")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        blocker.rollback()
        blocker.close()
    assert proc.returncode == -signal.SIGKILL
    assert _consistent(store) == (1, 1, 1)  # nothing of the killed publish is left
    result = run(pg_url, "boundaries", "publish", str(path), "-m", "again")
    assert result.exit_code == 0, result.output
    assert _consistent(store)[2] > 1


def test_publishes_killed_at_any_moment_leave_sqlite_consistent(tmp_path, moved):
    path, _ = moved
    url = f"sqlite:///{tmp_path / 'kill.sqlite'}"
    store = _seeded(url)
    for delay in (0.8, 1.6, 2.4, 3.2):
        proc = _publisher(url, path)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        versions, activations, live = _consistent(store)
        assert versions == activations and live == versions  # whole publishes only
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_lookups_streaming_through_publish_and_rollback_never_mix_versions(
    store_url,  # noqa: F811
    moved,
    tmp_path,
    monkeypatch,
):
    from cyclemap import city as city_module

    path, changes = moved
    address = sorted(changes)[0]
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.05)
    server = _make_app(tmp_path / "unused.sqlite", Clock(), DATABASE_URL=store_url)
    staff = cyclemap.open_city(store=Store(store_url), clock=lambda: DEMO_TODAY)
    expected = {1: "2"}
    answers: list[tuple[int, int, str]] = []
    stop = threading.Event()

    def stream() -> None:
        client = server.test_client()
        while not stop.is_set():
            r = client.get("/api/v1/lookup", query_string={"address": address})
            body = r.get_json()
            answers.append((r.status_code, body["boundary_version"], body["cycle"]["id"]))

    readers = [threading.Thread(target=stream) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for _ in range(3):
            version = publish_boundaries(staff, path, author="clerk", message="move").version
            expected[version] = "3"
            time.sleep(0.15)
            staff.store.rollback_boundaries(1, "clerk", today=DEMO_TODAY)
            time.sleep(0.15)
    finally:
        stop.set()
        for t in readers:
            t.join(30)
    assert len(answers) > 20
    assert {status for status, _, _ in answers} == {200}
    mixed = [(v, c) for _, v, c in answers if expected.get(v) != c]
    assert mixed == []
    assert {v for _, v, _ in answers} - {1}, "no answer saw a published version"


def test_core_refusals_raise_the_errors_the_channels_translate(tmp_path, moved):
    path, _ = moved
    city = cyclemap.open_city(store=_seeded(f"sqlite:///{tmp_path / 'c.sqlite'}"),
                              clock=lambda: DEMO_TODAY)  # fmt: skip
    bad = tmp_path / "overlap.geojson"
    bad.write_text(json.dumps(overlapping(demo_geojson())))
    with pytest.raises(RefusedError) as refused:
        publish_boundaries(city, bad, author="a", message="m")
    assert refused.value.report is not None and not refused.value.report.valid
    with pytest.raises(BoundaryFileError):
        publish_boundaries(city, tmp_path / "missing.geojson", author="a", message="m")
    with pytest.raises(InputError):
        publish_boundaries(city, path, author="a", message="m", effective=dt.date(2020, 1, 1))
    assert diff_boundaries(city, path).valid and city.boundary_version == 1


def test_publish_checks_the_file_against_the_citys_cycles_and_addresses(url, tmp_path):
    renamed = demo_geojson()
    for f in renamed["features"]:
        if str(f["properties"]["cycle"]) == "4":
            f["properties"]["cycle"] = "5"
    bad = tmp_path / "cycle5.geojson"
    bad.write_text(json.dumps(renamed))
    result = run(url, "boundaries", "publish", str(bad), "-m", "renumber")
    assert result.exit_code == 1 and "was not published" in result.output
    assert "'5'" in result.output and "no zone in this file has that id" in result.output
    swapped = demo_geojson()
    for f in swapped["features"]:
        f["geometry"] = mapping(shapely.transform(shape(f["geometry"]), lambda xy: xy[:, ::-1]))
    axes = tmp_path / "swapped.geojson"
    axes.write_text(json.dumps(swapped))
    result = run(url, "boundaries", "diff", str(axes))
    assert result.exit_code in (1, 2) and "longitude and latitude swapped" in result.output
    history = json.loads(run(url, "boundaries", "history", "--json").stdout)["versions"]
    assert [v["version"] for v in history] == [1]


def test_an_address_rollback_says_how_many_addresses_change_cycle(url, tmp_path):
    rows = (DEFAULT_CITY / "addresses.csv").read_text().splitlines()
    first = rows[1].split(",")
    added = ["99999", first[1], "", first[3], first[4], first[5], str(float(first[6]) + 0.0001)]
    with_house = tmp_path / "with-house.csv"
    with_house.write_text("\n".join([*rows, ",".join(added)]) + "\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(rows) + "\n")
    assert run(url, "addresses", "import", str(with_house), "-m", "new house").exit_code == 0
    assert run(url, "addresses", "import", str(plain), "-m", "back to the export").exit_code == 0
    result = run(url, "addresses", "rollback", "1")
    assert result.exit_code == 0, result.output
    assert "version 1 is live again: 1 addresses change cycle" in result.output
    assert run(url, "addresses", "rollback", "9").exit_code == 4
