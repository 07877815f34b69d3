"""Staff accounts in the store, on an SQLite file and on PostgreSQL: roles, passwords, audit."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from cyclemap.errors import InputError, NotFoundError
from cyclemap.store import ROLES, StaffAccount, Store, check_password

from .pg import pg_server, pg_url, store_url  # noqa: F401  (fixtures)

GOOD = "plenty of unrelated words"


@pytest.fixture
def store(store_url: str):  # noqa: F811
    s = Store(store_url, clock=lambda: dt.datetime(2020, 2, 21, 9, 0, tzinfo=dt.UTC))
    s.upgrade()
    yield s
    s.close()


def test_add_and_authenticate(store: Store) -> None:
    made = store.add_staff("Alice", GOOD, role="publisher", author="root")
    assert made == StaffAccount(made.id, "alice", "publisher", True)
    assert store.authenticate("alice", GOOD) == made
    assert store.authenticate(" ALICE ", GOOD) == made  # names are not case-sensitive
    assert store.authenticate("alice", GOOD.upper()) is None  # passwords are
    assert store.authenticate("bob", GOOD) is None
    assert store.authenticate("", "") is None
    assert store.get_staff("alice") == made and store.get_staff("bob") is None
    assert store.verify_staff("alice", GOOD) and not store.verify_staff("alice", "x")
    assert store.add_staff("bob", GOOD + "!", author="root").role == "editor"
    assert [a.username for a in store.list_staff()] == ["alice", "bob"]


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("carol", "short pass", "it has 10 characters"),
        ("carol", "carol-is-my-name", "contains the username"),
        ("carol", "Password1234", "common password"),
        ("carol", "aaaaaaaaaaaaaaaa", "common password"),
        ("car ol", GOOD, "no spaces"),
        ("", GOOD, "a username is 1 to 100"),
    ],
)
def test_refused_accounts_say_why(store: Store, username, password, message) -> None:
    with pytest.raises(InputError, match=message):
        store.add_staff(username, password, author="root")
    assert store.list_staff() == [] and store.audit_log(entity="staff") == []


def test_weak_password_message_says_what_a_strong_one_is() -> None:
    with pytest.raises(InputError) as info:
        check_password("tiny", "dan")
    assert "at least 12 characters" in info.value.message
    assert "not contain the username" in info.value.message


def test_bad_role_and_duplicate_name(store: Store) -> None:
    with pytest.raises(InputError, match="editor, publisher, admin"):
        store.add_staff("dan", GOOD, role="root", author="root")
    store.add_staff("dan", GOOD, author="root")
    with pytest.raises(InputError, match="already a staff account 'dan'"):
        store.add_staff("DAN", GOOD, author="root")
    assert len(store.list_staff()) == 1


def test_roles_rank() -> None:
    assert ROLES == ("editor", "publisher", "admin")
    editor, publisher, admin = (StaffAccount(i, f"u{i}", r, True) for i, r in enumerate(ROLES))
    assert [editor.can(r) for r in ROLES] == [True, False, False]
    assert [publisher.can(r) for r in ROLES] == [True, True, False]
    assert [admin.can(r) for r in ROLES] == [True, True, True]
    assert not StaffAccount(9, "gone", "admin", False).can("editor")
    with pytest.raises(InputError):
        admin.can("owner")


def test_role_and_active_changes_are_audited(store: Store) -> None:
    store.add_staff("root", GOOD, role="admin", author="os-user")
    store.add_staff("erin", GOOD, author="root")
    assert store.set_staff_role("erin", "publisher", author="root").role == "publisher"
    assert store.set_staff_active("erin", False, author="root").active is False
    assert store.authenticate("erin", GOOD) is None  # deactivated: cannot sign in
    assert store.get_staff("erin").active is False  # but kept
    assert store.set_staff_active("erin", True, author="root").active
    assert store.authenticate("erin", GOOD) is not None
    store.set_staff_role("erin", "publisher", author="root")  # no change: no audit entry
    entries = store.audit_log(entity="staff", entity_id="erin")
    assert [(e.action, e.actor, e.before, e.after) for e in entries] == [
        ("activate", "root", {"active": False}, {"active": True}),
        ("deactivate", "root", {"active": True}, {"active": False}),
        ("role", "root", {"role": "editor"}, {"role": "publisher"}),
        ("add", "root", None, {"username": "erin", "role": "editor", "active": True}),
    ]
    with pytest.raises(NotFoundError):
        store.set_staff_role("nobody", "admin", author="root")


def test_the_last_admin_stays(store: Store) -> None:
    store.add_staff("root", GOOD, role="admin", author="os-user")
    with pytest.raises(InputError, match="only active admin"):
        store.set_staff_role("root", "editor", author="root")
    with pytest.raises(InputError, match="only active admin"):
        store.set_staff_active("root", False, author="root")
    assert store.get_staff("root") == StaffAccount(1, "root", "admin", True)
    store.add_staff("second", GOOD, role="admin", author="root")
    assert store.set_staff_role("root", "editor", author="second").role == "editor"


def test_new_password(store: Store) -> None:
    store.add_staff("fay", GOOD, author="root")
    with pytest.raises(InputError, match="too weak"):
        store.set_staff_password("fay", "fay12345678901", author="root")
    store.set_staff_password("fay", "another long passphrase", author="root")
    assert store.authenticate("fay", GOOD) is None
    assert store.authenticate("fay", "another long passphrase") is not None
    (entry, _) = store.audit_log(entity="staff", entity_id="fay")
    assert entry.action == "password" and entry.before is None and entry.after is None


def test_unknown_user_costs_a_hash(store: Store) -> None:
    store.add_staff("gus", GOOD, author="root")
    t0 = time.perf_counter()
    store.authenticate("gus", "wrong password")
    known = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.authenticate("nobody-at-all", "wrong password")
    unknown = time.perf_counter() - t0
    assert unknown > known / 3  # both pay for scrypt (tens of milliseconds)


def test_session_secret_is_made_once(store: Store, store_url: str) -> None:  # noqa: F811
    first = store.session_secret()
    assert len(first) == 64
    other = Store(store_url)  # another server on the same database
    assert other.session_secret() == first
    other.close()


def test_audit_pages(store: Store) -> None:
    for i in range(7):
        store.add_staff(f"user{i}", GOOD, author="root")
    assert store.audit_count() == 7 and store.audit_count(entity="note") == 0
    page = store.audit_log(limit=3, offset=3)
    assert [e.entity_id for e in page] == ["user3", "user2", "user1"]
