"""``cyclemap staff add`` and ``staff list`` through CliRunner: exit statuses, prompts, audit."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cyclemap.cli import main
from cyclemap.store import StaffAccount, Store

from .conftest import write_city

GOOD = "plenty of unrelated words"


@pytest.fixture
def env(tmp_path: Path):
    """Run ``cyclemap --city CITY --database-url URL ...`` on a tiny city and an SQLite file."""
    city = write_city(tmp_path / "city")
    url = f"sqlite:///{tmp_path / 'cyclemap.sqlite'}"
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, ["--city", str(city), "--database-url", url, *args], input=input)

    run.url = url
    return run


def accounts(url: str) -> list[StaffAccount]:
    with Store(url) as store:
        return store.list_staff()


def test_add_asks_twice_without_echo(env) -> None:
    result = env("staff", "add", "Ann", "--role", "admin", input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "Added staff account ann (admin)." in result.stdout
    assert "Password:" in result.output and "Password (again):" in result.output
    assert GOOD not in result.output  # hidden input is not echoed
    assert accounts(env.url) == [StaffAccount(1, "ann", "admin", True)]
    with Store(env.url) as store:
        assert store.authenticate("ann", GOOD) is not None
        (entry,) = store.audit_log(entity="staff")
    assert entry.actor == getpass.getuser() and entry.after["role"] == "admin"


def test_password_stdin_and_default_role(env) -> None:
    result = env("staff", "add", "bob", "--password-stdin", input=GOOD + "\n")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    assert accounts(env.url) == [StaffAccount(1, "bob", "editor", True)]
    listed = env("staff", "list", "--json")
    assert json.loads(listed.stdout)["staff"] == [
        {"id": 1, "username": "bob", "role": "editor", "active": True}
    ]


def test_mismatch_is_refused(env) -> None:
    result = env("staff", "add", "carol", input=f"{GOOD}\n{GOOD}x\n")
    assert result.exit_code == 2
    assert "the two passwords differ" in result.stderr
    assert accounts(env.url) == []


def test_weak_password_is_refused_saying_what_a_strong_one_is(env) -> None:
    result = env("staff", "add", "dan", "--password-stdin", input="dan-2020\n")
    assert result.exit_code == 2
    assert "too weak" in result.stderr and "at least 12 characters" in result.stderr
    prompted = env("staff", "add", "dan", input="Password1234\n")
    assert prompted.exit_code == 2 and "common password" in prompted.stderr
    assert "Password (again)" not in prompted.output  # refused before asking twice
    assert accounts(env.url) == []


def test_duplicate_name_is_refused_before_asking(env) -> None:
    assert env("staff", "add", "erin", "--password-stdin", input=GOOD + "\n").exit_code == 0
    result = env("staff", "add", "ERIN", input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 2
    assert "already a staff account 'erin'" in result.stderr
    assert "Password" not in result.output
    assert len(accounts(env.url)) == 1


def test_bad_role_and_bad_name(env) -> None:
    result = env("staff", "add", "fay", "--role", "owner", "--password-stdin", input=GOOD)
    assert result.exit_code == 2 and "editor" in result.output
    result = env("staff", "add", "fay smith", "--password-stdin", input=GOOD)
    assert result.exit_code == 2 and "no spaces" in result.stderr
    result = env("staff", "add", "fay", "--password-stdin", input="")
    assert result.exit_code == 2 and "no password on standard input" in result.stderr
    assert accounts(env.url) == []


def test_list_when_empty(env) -> None:
    result = env("staff", "list")
    assert result.exit_code == 0 and "No staff accounts yet" in result.stdout
