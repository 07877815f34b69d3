"""``cyclemap notes`` and ``cyclemap db``: exit statuses, output, audit authors (CliRunner)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cyclemap.cli import main
from cyclemap.store import SEED_AUTHOR, Store

from .conftest import write_city

NOTES_TOML = """\
[[notes]]
title = "February bills for Cycles 1 and 2"
body = "Cycle 1 and Cycle 2 bills were not able to be sent in February."
cycles = ["1", "2"]
posted = 2020-02-20
starts = 2020-02-20
ends = 2020-04-30
"""


@pytest.fixture
def env(tmp_path: Path):
    """Run ``cyclemap --city CITY --database-url URL ...`` on a tiny city and an SQLite file."""
    city = write_city(tmp_path / "city", notes_toml=NOTES_TOML)
    url = f"sqlite:///{tmp_path / 'instance' / 'cyclemap.sqlite'}"
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, ["--city", str(city), "--database-url", url, *args], input=input)

    run.url = url
    run.tmp = tmp_path
    return run


def test_db_upgrade(env) -> None:
    result = env("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "revision 0006" in result.output
    assert Store(env.url).revision() == "0006"


def test_list_seeds_on_first_use(env) -> None:
    result = env("notes", "list", "--all", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [n["title"] for n in data["notes"]] == ["February bills for Cycles 1 and 2"]
    assert data["notes"][0]["cycles"] == ["1", "2"] and data["notes"][0]["posted"] == "2020-02-20"
    assert env("notes", "list", "--all", "--json").output == result.output  # seeded once
    shown = env("notes", "list", "--date", "2020-02-21", "--cycle", "2")
    assert "February bills for Cycles 1 and 2" in shown.output
    hidden = env("notes", "list", "--date", "2020-02-21", "--cycle", "3")
    assert "No notes shown on 2020-02-21" in hidden.output
    assert env("notes", "list", "--date", "2020-05-01").output.startswith("No notes")


def test_add_prints_the_id_and_records_the_os_user(env) -> None:
    result = env(
        "notes",
        "add",
        "--title",
        "Water main",
        "--cycle",
        "3",
        "--cycle",
        "4",
        "--body",
        "Bills *late*.",
        "--starts",
        "2020-02-21",
        "--ends",
        "2020-03-31",
    )
    assert result.exit_code == 0, result.output
    nid = int(result.output.strip())
    store = Store(env.url)
    note = store.get_note(nid)
    assert (note.title, note.cycles, note.html) == (
        "Water main",
        ("3", "4"),
        "<p>Bills <em>late</em>.</p>\n",
    )
    (entry,) = store.note_history(nid)
    assert entry.actor == getpass.getuser() and entry.action == "add"
    assert store.note_history(1)[0].actor == SEED_AUTHOR


def test_add_from_a_body_file_and_stdin(env) -> None:
    body = env.tmp / "body.md"
    body.write_text("From a **file**.")
    a = env("notes", "add", "--title", "F", "--all-cycles", "--body-file", str(body))
    b = env("notes", "add", "--title", "S", "--all-cycles", "--body-file", "-", input="From stdin.")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    store = Store(env.url)
    assert store.get_note(int(a.output)).body_markdown == "From a **file**."
    assert store.get_note(int(b.output)).body_markdown == "From stdin."
    assert store.get_note(int(a.output)).cycles == "all"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cycle", "1"], "needs --title"),
        (["--title", "T"], "--all-cycles"),
        (["--title", "T", "--cycle", "9"], "no such cycle: 9"),
        (["--title", "T", "--cycle", "1", "--all-cycles"], "not both"),
        (["--title", "T", "--all-cycles", "--starts", "2/21/20"], "YYYY-MM-DD"),
        (["--title", "T", "--all-cycles", "--starts", "2020-03-01", "--ends", "2020-02-01"], "end"),
        (["--title", "T", "--all-cycles", "--body", "x", "--body-file", "f"], "not both"),
        (["--title", "T", "--all-cycles", "--body-file", "/nonexistent/body.md"], "cannot read"),
        (["--title", "T", "--all-cycles", "--order", "first"], "first"),
    ],
)
def test_add_bad_input_exits_2(env, args: list[str], message: str) -> None:
    result = env("notes", "add", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_edit_and_expire(env) -> None:
    nid = env("notes", "add", "--title", "T", "--cycle", "1", "--body", "old").output.strip()
    result = env("notes", "edit", nid, "--body", "new", "--all-cycles", "--ends", "2099-12-31")
    assert result.exit_code == 0, result.output
    store = Store(env.url)
    note = store.get_note(int(nid))
    assert (note.body_markdown, note.cycles, str(note.ends)) == ("new", "all", "2099-12-31")
    assert env("notes", "edit", nid, "--ends", "none").exit_code == 0
    assert store.get_note(int(nid)).ends is None
    assert nid in env("notes", "list").output
    result = env("notes", "expire", nid)
    assert result.exit_code == 0 and "expired" in result.output
    assert nid not in env("notes", "list").output.split()
    assert "[expired]" in env("notes", "list", "--all").output
    assert [e.action for e in store.note_history(int(nid))] == ["add", "edit", "edit", "expire"]


def test_add_and_edit_a_note_in_spanish(env) -> None:
    added = env(
        "notes", "add", "--title", "Disconnects", "--all-cycles", "--body", "None on 2/26/20.",
        "--title-es", "Cortes de servicio", "--body-es", "Ningún **corte** el 26/2/20.",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    nid = int(added.output.strip())
    store = Store(env.url)
    note = store.get_note(nid)
    assert (note.title_es, note.body_es) == ("Cortes de servicio", "Ningún **corte** el 26/2/20.")
    data = json.loads(env("notes", "list", "--all", "--json").output)
    record = next(n for n in data["notes"] if n["id"] == nid)
    assert record["title_es"] == "Cortes de servicio"
    assert record["html_es"] == "<p>Ningún <strong>corte</strong> el 26/2/20.</p>\n"
    assert env("notes", "edit", str(nid), "--title-es", "Cortes").exit_code == 0
    assert store.get_note(nid).title_es == "Cortes"
    half = env("notes", "edit", str(nid), "--body-es", "")
    assert half.exit_code == 2 and "both a Spanish title and a Spanish body" in half.output
    assert env("notes", "edit", str(nid), "--title-es", "", "--body-es", "").exit_code == 0
    assert store.get_note(nid).title_es is None
    only_title = env(
        "notes", "add", "--title", "T", "--all-cycles", "--body", "b", "--title-es", "T"
    )
    assert only_title.exit_code == 2 and "Spanish body" in only_title.output
    assert "--title-es" in env("notes", "add", "--help").output


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["notes", "edit", "999", "--title", "x"], 4),
        (["notes", "expire", "999"], 4),
        (["notes", "edit", "1"], 2),  # nothing to change
        (["notes", "edit", "1", "--cycle", "9"], 2),
        (["notes", "edit", "1", "--title", " "], 2),
        (["notes", "edit", "one", "--title", "x"], 2),
        (["notes", "expire", "one"], 2),
        (["notes", "list", "--cycle", "9"], 2),
        (["notes", "list", "--date", "tomorrow"], 2),
    ],
)
def test_exit_statuses(env, args: list[str], status: int) -> None:
    env("notes", "list")  # seed: note 1 exists
    result = env(*args)
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output


def test_list_json_is_complete(env) -> None:
    env("notes", "add", "--title", "<b>T</b>", "--all-cycles", "--body", "<script>x</script>")
    data = json.loads(env("notes", "list", "--all", "--json").output)
    note = data["notes"][-1]
    assert set(note) >= {
        "id",
        "title",
        "body",
        "html",
        "cycles",
        "posted",
        "updated",
        "starts",
        "ends",
        "display_order",
        "expired",
        "shown",
    }
    assert "<script" not in note["html"]


# -- issue 20: papercuts ---------------------------------------------------------------------
@pytest.mark.parametrize("order", ["-999999999999999999999", "99999999999", "2147483648"])
def test_an_order_out_of_range_is_a_clean_exit_2(env, order: str) -> None:
    result = env("notes", "add", "--title", "T", "--all-cycles", "--body", "b", "--order", order)
    assert result.exit_code == 2, result.output
    assert "display order" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an OverflowError
    env("notes", "list")
    edit = env("notes", "edit", "1", "--order", order)
    assert edit.exit_code == 2, edit.output
    assert "display order" in edit.output


def test_expiring_an_expired_note_says_so_and_is_not_success(env) -> None:
    nid = env("notes", "add", "--title", "T", "--all-cycles", "--body", "b").output.strip()
    first = env("notes", "expire", nid)
    assert first.exit_code == 0, first.output
    again = env("notes", "expire", nid)
    assert again.exit_code == 2, again.output
    assert "already expired" in again.output
    assert f"note {nid} expired:" not in again.output
    actions = [e.action for e in Store(env.url).note_history(int(nid))]
    assert actions == ["add", "expire"]


@pytest.mark.parametrize("body", [None, "", "   \n"])
def test_a_note_without_a_body_is_refused(env, body: str | None) -> None:
    args = ["notes", "add", "--title", "T", "--all-cycles"]
    if body is not None:
        args += ["--body", body]
    result = env(*args)
    assert result.exit_code == 2, result.output
    assert "needs a body" in result.output
    env("notes", "list")
    edit = env("notes", "edit", "1", "--body", "" if body is None else body)
    assert edit.exit_code == 2, edit.output
    assert "needs a body" in edit.output


def test_the_store_refuses_an_empty_body_too(tmp_path) -> None:
    import datetime as dt

    from cyclemap.errors import InputError

    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.upgrade()
    day = dt.date(2020, 2, 20)
    with pytest.raises(InputError, match="needs a body"):
        store.add_note(title="T", body=" ", cycles="all", author="a", today=day)
    nid = store.add_note(title="T", body="b", cycles="all", author="a", today=day)
    with pytest.raises(InputError, match="needs a body"):
        store.edit_note(nid, author="a", today=day, body="")
    with pytest.raises(InputError, match="display order"):
        store.add_note(
            title="T", body="b", cycles="all", author="a", today=day, display_order=-(10**21)
        )


def test_notes_follow_cyclemap_today(env) -> None:
    runner_env = {"CYCLEMAP_TODAY": "2020-02-21"}
    result = CliRunner().invoke(
        main,
        ["--city", str(env.tmp / "city"), "--database-url", env.url, "notes", "list"],
        env=runner_env,
    )
    assert result.exit_code == 0, result.output
    assert "February bills for Cycles 1 and 2" in result.output
    added = CliRunner().invoke(
        main,
        [
            "--city",
            str(env.tmp / "city"),
            "--database-url",
            env.url,
            "notes",
            "add",
            "--title",
            "T",
            "--all-cycles",
            "--body",
            "b",
        ],
        env=runner_env,
    )
    assert added.exit_code == 0, added.output
    assert str(Store(env.url).get_note(int(added.output)).posted) == "2020-02-21"
