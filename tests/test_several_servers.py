"""Several servers on one database: what one changes, the others serve, without a restart.

Each app below has its own engine and connection pool and its own in-memory city, as two
servers behind a load balancer would; they share only the database (SQLite file, then a real
PostgreSQL server).
"""

from __future__ import annotations

from click.testing import CliRunner

from cyclemap import city as city_module
from cyclemap.cli import main
from cyclemap.config import DEFAULT_CITY

from .conftest import Clock, swap_cycles
from .pg import pg_server, pg_url, store_url  # noqa: F401


def _server(url: str):
    from cyclemap.server import create_app

    return create_app(
        {"TESTING": True, "DATABASE_URL": url, "CLOCK": Clock(), "CITY": str(DEFAULT_CITY)}
    )


def test_two_servers_share_versions_and_notes(store_url, monkeypatch):  # noqa: F811
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 3600.0)
    a, b = _server(store_url), _server(store_url)
    ca, cb = a.test_client(), b.test_client()
    # the first start seeded the empty database once; the second found it seeded
    assert ca.get("/healthz").get_json()["boundary_version"] == 1
    assert cb.get("/healthz").get_json()["boundary_version"] == 1
    notes_a = ca.get("/api/v1/cycles/2").get_json()["notes"]
    assert notes_a == cb.get("/api/v1/cycles/2").get_json()["notes"] and notes_a

    query = "/api/v1/lookup?address=1234+n+kingshighway+apt+5"
    assert cb.get(query).get_json()["cycle"]["id"] == "2"

    # staff publish on server A (its own process would see it at once) ...
    store_a = a.extensions["cyclemap.store"]
    city_a = a.extensions["cyclemap.city"]
    version = store_a.publish_boundaries(
        swap_cycles(city_a.boundaries.to_geojson()), author="clerk", message="swap 1 and 2"
    )
    assert ca.get(query).get_json()["cycle"]["id"] == "1"
    # ... and add a note from the command line (a third process's connection)
    added = CliRunner().invoke(
        main,
        ["--database-url", store_url, "notes", "add", "--title", "Cycle 2 bills are late",
         "--cycle", "2", "--body", "Mailed **3/4**.", "--starts", "2020-02-01"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    note_id = int(added.output.strip())

    # server B still serves its snapshot until its refresh interval passes, then the new state
    monkeypatch.setattr(city_module, "REFRESH_SECONDS", 0.0)
    body = cb.get(query).get_json()
    assert (body["cycle"]["id"], body["boundary_version"]) == ("1", version)
    assert cb.get("/healthz").get_json()["boundary_version"] == version
    ids = [n["id"] for n in cb.get("/api/v1/cycles/2").get_json()["notes"]]
    assert note_id in ids

    # rollback on B is live on A
    b.extensions["cyclemap.store"].rollback_boundaries(1, author="clerk")
    assert ca.get(query).get_json()["cycle"]["id"] == "2"


def test_a_restart_does_not_reseed_over_staff_changes(store_url):  # noqa: F811
    first = _server(store_url)
    store = first.extensions["cyclemap.store"]
    today = Clock()()
    before = store.list_notes(today, include_all=True)
    store.edit_note(before[0].id, author="clerk", today=today, title="Edited by staff")
    again = _server(store_url)  # a restart, or a new server joining
    after = again.extensions["cyclemap.store"].list_notes(today, include_all=True)
    assert len(after) == len(before)  # seeding did not run twice
    assert [n.title for n in after if n.id == before[0].id] == ["Edited by staff"]
