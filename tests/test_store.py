"""The store, run twice: on an SQLite file and on a real PostgreSQL server (see ``pg.py``)."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cyclemap.billing.notes import read_notes_toml
from cyclemap.billing.schedule import schedules_for
from cyclemap.config import CityConfig, load_city_config
from cyclemap.errors import ConfigError, InputError, NotFoundError, StoreError
from cyclemap.store import SEED_AUTHOR, Store, default_database_url
from cyclemap.store import schema as store_schema

from .conftest import write_city
from .pg import pg_server, pg_url, store_url  # noqa: F401  (fixtures)

D = dt.date
TODAY = D(2020, 2, 21)
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """A settable clock for the store's timestamps."""

    def __init__(self) -> None:
        self.now = dt.datetime(2020, 2, 21, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def fc(name: str) -> dict:
    """A one-zone FeatureCollection whose zone is called ``name``."""
    ring = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"cycle": "1", "name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }


@pytest.fixture
def store(store_url: str):  # noqa: F811
    s = Store(store_url, clock=Clock())
    s.upgrade()
    yield s
    s.close()


NOTES_TOML = textwrap.dedent(
    """\
    [[notes]]
    title = "February bills for Cycles 1 and 2"
    body = "Cycle 1 and Cycle 2 bills were not able to be sent in February."
    cycles = ["1", "2"]
    posted = 2020-02-20
    ends = 2020-04-30

    [[notes]]
    title = "Disconnects"
    body = "No services will be disconnected on 2/26/20."
    cycles = "all"
    posted = 2020-02-20
    ends = 2020-02-26
    """
)
EXCEPTIONS_TOML = textwrap.dedent(
    """
    [[exceptions]]
    kind = "no_bill"
    date = 2020-02-05
    cycles = ["1"]
    text = "No February bill for Cycle 1."

    [[exceptions]]
    kind = "no_disconnect"
    date = 2020-02-26
    cycles = "all"
    text = "No services will be disconnected on 2/26/20."
    """
)


@pytest.fixture
def city(tmp_path: Path) -> CityConfig:
    """A tiny city folder with two seed notes and two exceptions."""
    folder = write_city(tmp_path / "city", notes_toml=NOTES_TOML, extra_toml=EXCEPTIONS_TOML)
    return load_city_config(folder)


# ---------------------------------------------------------------- schema and migrations
def test_upgrade_from_empty(store_url: str) -> None:  # noqa: F811
    s = Store(store_url)
    assert s.revision() is None
    assert s.upgrade() == Store.head_revision() == "0006"
    assert s.upgrade() == "0006"  # again: nothing to do
    names = set(sa.inspect(s.engine).get_table_names())
    assert set(store_schema.metadata.tables) <= names
    assert s.live_boundaries() is None and s.live_addresses() is None
    s.close()


def test_migrations_build_exactly_the_tables_the_code_queries(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), store_schema.metadata)
    assert diff == []


def test_upgrade_from_the_previous_revision_keeps_the_data(store_url: str) -> None:  # noqa: F811
    s = Store(store_url)
    assert s.upgrade("0001") == "0001"
    at = dt.datetime(2020, 2, 20, 12, tzinfo=dt.UTC)
    with s.engine.begin() as conn:
        md = sa.MetaData()
        notes = sa.Table("notes", md, autoload_with=conn)
        assert "display_order" not in notes.c
        bv = sa.Table("boundary_versions", md, autoload_with=conn)
        live = sa.Table("live", md, autoload_with=conn)
        audit = sa.Table("audit_log", md, autoload_with=conn)
        conn.execute(
            notes.insert().values(
                title="Disconnects",
                body="No services will be disconnected on 2/26/20.",
                cycles="all",
                posted=D(2020, 2, 20),
                updated=D(2020, 2, 20),
                ends=D(2020, 2, 26),
                created=at,
            )
        )
        conn.execute(
            bv.insert().values(
                geojson=json.dumps(fc("v1")), author="clerk", created=at, message="first"
            )
        )
        conn.execute(live.update().values(boundary_version=1))
        conn.execute(
            audit.insert().values(at=at, actor="clerk", action="add", entity="note", entity_id="1")
        )
    assert s.upgrade() == "0006"
    note = s.get_note(1)
    assert (note.title, note.cycles, note.ends, note.display_order) == (
        "Disconnects",
        "all",
        D(2020, 2, 26),
        0,
    )
    assert s.live_boundaries() == (1, fc("v1"))
    assert [(e.actor, e.action) for e in s.note_history(1)] == [("clerk", "add")]
    indexes = {i["name"] for i in sa.inspect(s.engine).get_indexes("audit_log")}
    assert {"ix_audit_log_entity", "ix_audit_log_at"} <= indexes
    s.close()


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'c.sqlite'}")  # folders are made
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    s.close()


def test_default_database_url(tmp_path: Path) -> None:
    url = default_database_url(tmp_path / "instance")
    assert url == f"sqlite:///{tmp_path / 'instance' / 'cyclemap.sqlite'}"
    s = Store(url)
    s.upgrade()
    assert (tmp_path / "instance" / "cyclemap.sqlite").is_file()
    s.close()


def test_bad_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not a database URL"):
        Store("not a url")
    with pytest.raises(ConfigError, match="cannot use"):
        Store("nosuchdb://x/y")
    assert Store.safe_url("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"


# ---------------------------------------------------------------- notes
def test_add_list_edit_expire_with_history(store: Store) -> None:
    nid = store.add_note(
        title="Water main break",
        body="Bills **delayed**.",
        cycles=["3"],
        author="alice",
        today=TODAY,
        ends=D(2020, 3, 31),
    )
    assert [n.id for n in store.list_notes(TODAY, cycle="3")] == [nid]
    assert store.list_notes(TODAY, cycle="1") == []
    note = store.edit_note(nid, author="bob", today=D(2020, 2, 22), cycles="all", title="Main")
    assert (note.title, note.cycles, note.updated, note.posted) == (
        "Main",
        "all",
        D(2020, 2, 22),
        TODAY,
    )
    assert store.get_note(nid) == note
    assert [n.id for n in store.list_notes(TODAY, cycle="1")] == [nid]
    expired = store.expire_note(nid, author="carol")
    assert expired.expired and store.get_note(nid).expired
    assert store.list_notes(TODAY) == []
    assert [n.id for n in store.list_notes(TODAY, include_all=True)] == [nid]  # kept
    assert store.expire_note(nid, author="carol").expired  # twice: no error, no new history
    history = store.note_history(nid)
    assert [(e.action, e.actor) for e in history] == [
        ("add", "alice"),
        ("edit", "bob"),
        ("expire", "carol"),
    ]
    edit = history[1]
    assert edit.before["title"] == "Water main break" and edit.after["title"] == "Main"
    assert edit.before["cycles"] == ["3"] and edit.after["cycles"] == "all"
    assert history[0].at < history[1].at < history[2].at
    assert history[0].at.tzinfo is not None


def test_a_note_in_spanish_is_kept_edited_and_audited(store: Store) -> None:
    nid = store.add_note(
        title="Disconnects",
        body="No services will be disconnected on 2/26/20.",
        title_es="Cortes de servicio",
        body_es="No habrá cortes de servicio el 26/2/20.",
        cycles="all",
        author="alice",
        today=TODAY,
    )
    note = store.get_note(nid)
    assert (note.title_es, note.body_es) == (
        "Cortes de servicio",
        "No habrá cortes de servicio el 26/2/20.",
    )
    assert note.text_in("es").title == "Cortes de servicio"
    edited = store.edit_note(nid, author="bob", today=TODAY, title_es="Cortes")
    assert store.get_note(nid) == edited and edited.title_es == "Cortes"
    with pytest.raises(InputError, match="both a Spanish title and a Spanish body"):
        store.edit_note(nid, author="bob", today=TODAY, body_es="")
    # both blank: the Spanish text is taken away and Spanish pages show the English note
    gone = store.edit_note(nid, author="carol", today=TODAY, title_es="", body_es=" ")
    assert (
        (gone.title_es, gone.body_es)
        == (None, None)
        == (
            store.get_note(nid).title_es,
            store.get_note(nid).body_es,
        )
    )
    history = store.note_history(nid)
    assert history[0].after["title_es"] == "Cortes de servicio"
    assert (history[1].before["title_es"], history[1].after["title_es"]) == (
        "Cortes de servicio",
        "Cortes",
    )
    assert history[2].after["body_es"] is None
    with pytest.raises(InputError, match="Spanish body"):
        store.add_note(title="t", body="b", title_es="t", cycles="all", author="a", today=TODAY)


def test_seed_notes_carry_their_spanish_text(store: Store, tmp_path: Path) -> None:
    toml = NOTES_TOML + textwrap.dedent(
        """
        [[notes]]
        title = "Late fees"
        body = "No penalty."
        title_es = "Recargos"
        body_es = "Sin recargo."
        cycles = "all"
        posted = 2020-02-20
        """
    )
    config = load_city_config(write_city(tmp_path / "es", notes_toml=toml))
    store.seed_from_city(config)
    by_title = {n.title: n for n in store.list_notes(TODAY, include_all=True)}
    assert (by_title["Late fees"].title_es, by_title["Late fees"].body_es) == (
        "Recargos",
        "Sin recargo.",
    )
    assert by_title["Disconnects"].title_es is None


def test_upgrade_from_0004_keeps_notes_and_adds_empty_spanish_text(store_url: str) -> None:  # noqa: F811
    s = Store(store_url)
    assert s.upgrade("0004") == "0004"
    at = dt.datetime(2020, 2, 20, 12, tzinfo=dt.UTC)
    with s.engine.begin() as conn:
        notes = sa.Table("notes", sa.MetaData(), autoload_with=conn)
        assert "title_es" not in notes.c
        conn.execute(
            notes.insert().values(
                title="Disconnects",
                body="None.",
                cycles="all",
                posted=D(2020, 2, 20),
                updated=D(2020, 2, 20),
                created=at,
            )
        )
    assert s.upgrade() == "0006"
    note = s.get_note(1)
    assert (note.title, note.title_es, note.body_es) == ("Disconnects", None, None)
    s.edit_note(1, author="a", today=TODAY, title_es="Cortes", body_es="Ninguno.")
    s.close()
    # and back down (Alembic's own command, as an operator would): the English note stays
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "cyclemap" / "store" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", store_url.replace("%", "%%"))
    command.downgrade(cfg, "0004")
    s = Store(store_url)
    assert s.revision() == "0004"
    with s.engine.connect() as conn:
        notes = sa.Table("notes", sa.MetaData(), autoload_with=conn)
        assert "title_es" not in notes.c
        assert conn.execute(sa.select(notes.c.title)).scalar_one() == "Disconnects"
    s.close()


def test_list_notes_windows_and_order(store: Store) -> None:
    add = lambda **kw: store.add_note(  # noqa: E731
        **{"title": "t", "body": "b", "cycles": "all", "author": "a", "today": TODAY, **kw}
    )
    later = add(title="later", starts=D(2020, 3, 1))
    gone = add(title="gone", ends=D(2020, 2, 20))
    second = add(title="second", display_order=2)
    first = add(title="first", display_order=1)
    assert [n.id for n in store.list_notes(TODAY)] == [first, second]
    assert [n.id for n in store.list_notes(D(2020, 3, 1))] == [later, first, second]
    assert {n.id for n in store.list_notes(TODAY, include_all=True)} == {
        later,
        gone,
        second,
        first,
    }


def test_note_errors(store: Store) -> None:
    base = {"title": "t", "body": "b", "cycles": "all", "author": "a", "today": TODAY}
    with pytest.raises(InputError, match="title"):
        store.add_note(**{**base, "title": ""})
    with pytest.raises(InputError, match="no such cycle: 7"):
        store.add_note(**{**base, "cycles": ["7"]}, known_cycles=["1", "2"])
    with pytest.raises(InputError, match="end"):
        store.add_note(**base, starts=D(2020, 3, 1), ends=D(2020, 2, 1))
    with pytest.raises(InputError, match="author"):
        store.add_note(**{**base, "author": " "})
    assert store.list_notes(TODAY, include_all=True) == []  # nothing half-written
    nid = store.add_note(**base)
    with pytest.raises(NotFoundError, match="no note 999"):
        store.edit_note(999, author="a", today=TODAY, title="x")
    with pytest.raises(NotFoundError):
        store.expire_note(999, author="a")
    with pytest.raises(NotFoundError):
        store.get_note(999)
    with pytest.raises(InputError, match="no field colour"):
        store.edit_note(nid, author="a", today=TODAY, colour="red")
    with pytest.raises(InputError, match="nothing to change"):
        store.edit_note(nid, author="a", today=TODAY)
    with pytest.raises(InputError, match="end"):
        store.edit_note(nid, author="a", today=TODAY, starts=D(2020, 3, 1), ends=D(2020, 2, 1))
    assert store.get_note(nid).starts is None
    assert len(store.note_history(nid)) == 1


def test_hostile_note_is_stored_as_written_and_rendered_harmless(store: Store) -> None:
    body = "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    nid = store.add_note(title="t", body=body, cycles="all", author="a", today=TODAY)
    note = store.get_note(nid)
    assert note.body_markdown == body
    assert "<script" not in note.html and "<img" not in note.html and "href" not in note.html


# ---------------------------------------------------------------- seeding
def test_seed_from_city(store: Store, city: CityConfig) -> None:
    done = store.seed_from_city(city, boundary_geojson=fc("seed"))
    assert done == {"notes": 2, "exceptions": 2, "boundaries": 1}
    titles = [n.title for n in store.list_notes(TODAY, cycle="1")]
    assert titles == ["February bills for Cycles 1 and 2", "Disconnects"]
    assert [e.kind for e in store.list_exceptions()] == ["no_bill", "no_disconnect"]
    assert store.live_boundaries() == (1, fc("seed"))
    assert store.boundary_history()[0].author == SEED_AUTHOR
    assert {e.actor for e in store.audit_log()} == {SEED_AUTHOR}
    # the seeded exceptions drive the schedules
    sched = schedules_for(city.cycles, store.list_exceptions())
    assert sched["1"].next_dates(D(2020, 2, 1)).next_bill_date == D(2020, 3, 4)


def test_seeding_twice_neither_duplicates_nor_overwrites(store: Store, city: CityConfig) -> None:
    store.seed_from_city(city)
    (seeded,) = [n for n in store.list_notes(TODAY, include_all=True) if n.title == "Disconnects"]
    store.edit_note(seeded.id, author="clerk", today=TODAY, body="Changed by staff.")
    other = [n for n in store.list_notes(TODAY, include_all=True) if n.id != seeded.id][0]
    store.expire_note(other.id, author="clerk")
    assert store.seed_from_city(city) == {}
    assert store.seed_from_city(load_city_config(city.folder)) == {}
    notes = store.list_notes(TODAY, include_all=True)
    assert len(notes) == 2
    assert store.get_note(seeded.id).body_markdown == "Changed by staff."
    assert store.get_note(other.id).expired
    assert len(store.list_exceptions()) == 2
    # boundaries given only later (e.g. the CLI started first) are still seeded once
    assert store.seed_from_city(city, boundary_geojson=fc("a")) == {"boundaries": 1}
    assert store.seed_from_city(city, boundary_geojson=fc("b")) == {}
    assert store.live_boundaries() == (1, fc("a"))


def test_seeding_never_adds_boundaries_over_published_ones(store: Store, city: CityConfig) -> None:
    store.publish_boundaries(fc("staff"), "clerk", "drawn by staff")
    assert store.seed_from_city(city, boundary_geojson=fc("seed"))["boundaries"] == 0
    assert store.live_boundaries() == (1, fc("staff"))


def test_a_seeded_store_is_only_read(city: CityConfig, tmp_path: Path) -> None:
    # every start but the first: nothing to seed, so no write transaction (another process's
    # write lock is not waited for) and the folder's zones are not even turned into GeoJSON
    db = tmp_path / "seeded.sqlite"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    first = store.seed_from_city(city, boundary_geojson=lambda: fc("seed"))
    assert first == {"notes": 2, "exceptions": 2, "boundaries": 1}
    assert store.live_boundaries() == (1, fc("seed"))
    writes = store.writes
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        started = time.monotonic()
        again = store.seed_from_city(city, boundary_geojson=lambda: pytest.fail("zones made"))
        assert again == {} and time.monotonic() - started < 5  # not the 30 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert store.writes == writes
    store.close()


def test_seeding_a_bad_city_writes_nothing(store: Store, city: CityConfig, tmp_path) -> None:
    (city.folder / "notes.toml").write_text(NOTES_TOML.replace('["1", "2"]', '["1", "9"]'))
    with pytest.raises(ConfigError, match="no such cycle: 9"):
        store.seed_from_city(city)
    assert store.list_notes(TODAY, include_all=True) == [] and store.list_exceptions() == []


# ---------------------------------------------------------------- schedule exceptions
def test_exceptions_add_and_remove(store: Store) -> None:
    eid = store.add_exception(
        {"kind": "no_penalty", "date": "2020-01-22", "until": "2020-02-19", "text": "waived"},
        author="clerk",
    )
    (exc,) = store.list_exceptions()
    assert (exc.id, exc.kind, exc.until, exc.cycles) == (eid, "no_penalty", D(2020, 2, 19), "all")
    with pytest.raises(InputError):
        store.add_exception({"kind": "holiday", "date": "2020-01-01"}, author="clerk")
    store.remove_exception(eid, author="clerk")
    assert store.list_exceptions() == []
    with pytest.raises(NotFoundError):
        store.remove_exception(eid, author="clerk")
    assert [e.action for e in store.audit_log(entity="exception")] == ["remove", "add"]


# ---------------------------------------------------------------- versions
def test_boundary_versions_publish_history_rollback(store: Store) -> None:
    feb21, mar1, mar2 = D(2020, 2, 21), D(2020, 3, 1), D(2020, 3, 2)
    assert store.live_boundaries() is None and store.live_boundary_version() is None
    v1 = store.publish_boundaries(fc("one"), "alice", "first cut", today=feb21)
    v2 = store.publish_boundaries(fc("two"), "bob", "move Sprigg St", effective=mar1, today=feb21)
    assert (v1, v2) == (1, 2)
    # scheduled: not in force before its day, in force from it, with no one acting
    assert store.live_boundaries(on=feb21) == (1, fc("one"))
    assert store.live_boundary_version(on=D(2020, 2, 29)) == 1
    assert store.live_boundaries(on=mar1) == (2, fc("two"))
    history = store.boundary_history(today=feb21)
    assert [(h.version, h.author, h.message, h.state) for h in history] == [
        (2, "bob", "move Sprigg St", "scheduled"),
        (1, "alice", "first cut", "live"),
    ]
    assert history[0].effective == mar1 and history[0].to_dict()["created"]
    assert [h.state for h in store.boundary_history(today=mar1)] == ["live", "past"]
    # a rollback is a new entry in the history, in force from its day
    store.rollback_boundaries(1, "carol", today=mar2)
    assert store.live_boundaries(on=mar2) == (1, fc("one"))
    assert store.live_boundary_version(on=mar1) == 2  # what was in force on March 1 stays so
    assert [(h.version, h.action, h.state) for h in store.boundary_history(today=mar2)] == [
        (1, "rollback", "live"),
        (2, "publish", "past"),
        (1, "publish", "past"),
    ]
    assert store.get_boundaries(2) == fc("two")  # kept
    with pytest.raises(NotFoundError):
        store.rollback_boundaries(9, "carol")
    with pytest.raises(NotFoundError):
        store.get_boundaries(9)
    actions = [(e.action, e.before, e.after) for e in store.audit_log(entity="boundaries")]
    assert actions[0][:2] == ("rollback", {"live_version": 2})
    assert actions[0][2]["live_version"] == 1 and actions[0][2]["effective"] == "2020-03-02"
    assert [a[0] for a in actions] == ["rollback", "publish", "publish"]


def test_a_rollback_keeps_a_later_scheduled_version(store: Store) -> None:
    feb21, mar1 = D(2020, 2, 21), D(2020, 3, 1)
    store.publish_boundaries(fc("one"), "alice", "first", today=feb21)
    store.publish_boundaries(fc("two"), "alice", "second", today=feb21)
    store.publish_boundaries(fc("three"), "bob", "March", effective=mar1, today=feb21)
    store.rollback_boundaries(1, "carol", today=feb21)
    assert store.live_boundary_version(on=feb21) == 1
    assert store.live_boundary_version(on=mar1) == 3


def test_a_failed_publish_leaves_nothing_behind(store: Store) -> None:
    store.publish_boundaries(fc("one"), "alice", "first")
    with pytest.raises(InputError):
        store.publish_boundaries(fc("two"), "", "no author")  # fails after the insert
    with pytest.raises(InputError):
        store.publish_boundaries({"type": "Feature"}, "alice", "not a collection")
    with pytest.raises(InputError):
        store.publish_boundaries(fc("x"), "alice", " ")
    assert [h.version for h in store.boundary_history()] == [1]
    assert store.live_boundaries() == (1, fc("one"))


def test_address_layer_versions(store: Store) -> None:
    csv = "house_number,street,lon,lat\n12,S SPRIGG ST,-89.52,37.30\n"
    v1 = store.publish_addresses(csv, author="alice", message="E911 export")
    v2 = store.publish_addresses(b"\x00\x01binary", author="bob", message="gpkg", format="gpkg")
    assert store.live_addresses() == (v2, b"\x00\x01binary", "gpkg")
    store.rollback_addresses(v1, "carol")
    assert store.live_addresses() == (v1, csv.encode(), "csv")
    assert [(h.version, h.action, h.live) for h in store.address_history()] == [
        (v1, "rollback", True),
        (v2, "publish", False),
        (v1, "publish", False),
    ]
    # boundaries and addresses have independent live pointers
    assert store.live_boundaries() is None
    with pytest.raises(InputError):
        store.publish_addresses(b"", author="a", message="empty")


# ---------------------------------------------------------------- staff and audit
def test_staff_accounts(store: Store) -> None:
    store.add_staff("clerk1", "correct horse battery", author="admin")
    assert store.verify_staff("clerk1", "correct horse battery")
    assert not store.verify_staff("clerk1", "wrong password")
    assert not store.verify_staff("nobody", "correct horse battery")
    with pytest.raises(InputError, match="already"):
        store.add_staff("clerk1", "another password", author="admin")
    with pytest.raises(InputError, match="at least 12 characters"):
        store.add_staff("clerk2", "short", author="admin")
    (entry,) = store.audit_log(entity="staff")
    assert entry.after == {"username": "clerk1", "role": "editor", "active": True}  # no hash
    with store.engine.connect() as conn:
        stored = conn.scalar(sa.select(store_schema.staff.c.password_hash))
    assert "correct horse" not in stored and stored.startswith("scrypt:")


# ---------------------------------------------------------------- several processes at once
def _worker(url: str, tag: str, n: int, barrier, results) -> None:
    """Write ``n`` notes (and some boundary versions), reading after each write."""
    store = Store(url)
    ids: list[int] = []
    seen: list[int] = []
    error = None
    try:
        barrier.wait(60)
        for i in range(n):
            ids.append(
                store.add_note(title=f"{tag} {i}", body="b", cycles="all", author=tag, today=TODAY)
            )
            seen.append(len(store.list_notes(TODAY, include_all=True)))
            if i % 5 == 0:
                store.publish_boundaries(fc(f"{tag} {i}"), tag, f"{tag} {i}")
                version, geojson = store.live_boundaries()
                # a reader never sees a pointer without its version's data
                assert (
                    geojson["features"][0]["properties"]["name"]
                    == store.get_boundaries(version)["features"][0]["properties"]["name"]
                )
    except Exception as exc:  # reported to the test process
        error = repr(exc)
    finally:
        store.close()
    results.put((tag, ids, seen, error))


def _starter(url: str, folder: str, barrier, results) -> None:
    """Start on a possibly empty database: migrate and seed, as a server does."""
    error = None
    try:
        barrier.wait(60)
        Store(url).start(load_city_config(folder), boundary_geojson=fc("seed")).close()
    except Exception as exc:
        error = repr(exc)
    results.put(error)


def _run(target, args_for) -> list:
    # fork: the workers need not be importable by name, and start in milliseconds
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(i), barrier, results)) for i in range(2)]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return out


def test_two_processes_writing_and_reading_lose_nothing(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    store.close()  # nothing shared with the children
    n = 25
    out = _run(_worker, lambda i: (url, f"p{i}", n))
    assert [o[3] for o in out] == [None, None]
    all_ids = [i for o in out for i in o[1]]
    assert len(all_ids) == len(set(all_ids)) == 2 * n
    for _tag, _ids, seen, _ in out:
        assert seen == sorted(seen)  # counts only grow
        assert all(s >= k + 1 for k, s in enumerate(seen))  # each sees its own writes
    notes = store.list_notes(TODAY, include_all=True)
    assert sorted(n.id for n in notes) == sorted(all_ids)
    assert len(store.audit_log(entity="note", limit=None)) == 2 * n
    history = store.boundary_history(today=dt.datetime.now(dt.UTC).date())  # the children's clock
    assert len(history) == 2 * len(range(0, n, 5)) and sum(h.live for h in history) == 1
    assert len(store.audit_log(entity="boundaries", limit=None)) == len(history)


def test_two_processes_starting_at_once_seed_once(store_url: str, city: CityConfig) -> None:  # noqa: F811
    out = _run(_starter, lambda i: (store_url, str(city.folder)))
    assert out == [None, None]
    s = Store(store_url)
    assert s.revision() == Store.head_revision()
    assert len(s.list_notes(TODAY, include_all=True)) == len(read_notes_toml(city.notes_file))
    assert len(s.list_exceptions()) == 2
    assert [h.version for h in s.boundary_history()] == [1]
    s.close()


def test_a_database_from_a_newer_version_is_refused(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer"):
        store.upgrade()


def test_each_city_folder_has_its_own_default_database(tmp_path: Path) -> None:
    from cyclemap.config import DEFAULT_CITY

    instance = tmp_path / "instance"
    demo = default_database_url(instance, DEFAULT_CITY)
    assert demo == default_database_url(instance)
    one = default_database_url(instance, tmp_path / "a" / "city")
    two = default_database_url(instance, tmp_path / "b" / "city")
    assert len({demo, one, two}) == 3
    assert one == default_database_url(instance, tmp_path / "a" / "city")


def test_a_database_seeded_for_another_city_is_refused(
    store_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from cyclemap.config import DEFAULT_CITY, load_city_config

    s = Store(store_url)
    s.upgrade()
    s.seed_from_city(load_city_config(DEFAULT_CITY))
    other = load_city_config(write_city(tmp_path / "other"))
    with pytest.raises(ConfigError, match="holds the live state of 'Cape Girardeau"):
        s.seed_from_city(other)
    s.close()


def test_migration_0003_keeps_a_rolled_back_pointer_live(store_url: str) -> None:  # noqa: F811
    s = Store(store_url)
    assert s.upgrade("0002") == "0002"
    at = dt.datetime(2020, 2, 20, 12, tzinfo=dt.UTC)
    with s.engine.begin() as conn:
        md = sa.MetaData()
        bv = sa.Table("boundary_versions", md, autoload_with=conn)
        live = sa.Table("live", md, autoload_with=conn)
        for name in ("v1", "v2"):
            conn.execute(
                bv.insert().values(
                    geojson=json.dumps(fc(name)), author="clerk", created=at, message=name
                )  # fmt: skip
            )
        conn.execute(live.update().values(boundary_version=1, changed=at))  # a rollback to 1
    assert s.upgrade() == "0006"
    assert s.live_boundaries(on=D(2020, 2, 21)) == (1, fc("v1"))
    history = s.boundary_history(today=D(2020, 2, 21))
    assert [(h.version, h.action, h.state) for h in history] == [
        (1, "rollback", "live"),
        (2, "publish", "past"),
        (1, "publish", "past"),
    ]
    assert s.live_addresses() is None
    s.close()


def test_a_staged_upload_waits_for_its_publish_on_any_server(store: Store, store_url) -> None:  # noqa: F811
    token = store.stage_upload("boundaries", "new.geojson", b"{}", author="clerk")
    assert len(token) >= 32
    other = Store(store_url, clock=store.clock)
    other.upgrade()
    staged = other.staged_upload(token, "boundaries")
    assert (staged.filename, staged.data, staged.author) == ("new.geojson", b"{}", "clerk")
    with pytest.raises(NotFoundError):
        other.staged_upload(token, "addresses")  # one kind's token is not another's
    with pytest.raises(NotFoundError):
        other.staged_upload("no-such-token", "boundaries")
    store.clock.now += dt.timedelta(hours=25)
    with pytest.raises(NotFoundError, match="upload the file again"):
        store.staged_upload(token, "boundaries")
    other.close()
