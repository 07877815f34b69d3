"""``cyclemap staff``: the accounts that sign in to the staff workspace (``/staff/``).

The first account is made here (``cyclemap staff add ann --role admin``); after that an admin
can add accounts in the browser too. Every change is in the audit log with the operating-system
user as its author.
"""

from __future__ import annotations

import json
import sys

import click

from ..errors import InputError
from ..store import ROLES, STRONG_PASSWORD, check_password, normalize_username
from . import Context, handles_errors, main, os_user, pass_context


@main.group()
def staff() -> None:
    """Staff accounts for the web workspace: add, list."""


def _read_password(username: str, from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    click.echo(STRONG_PASSWORD, err=True)
    password = click.prompt("Password", hide_input=True, err=True)
    check_password(password, username)  # say so now, not after the second typing
    again = click.prompt("Password (again)", hide_input=True, err=True)
    if again != password:
        raise InputError("the two passwords differ: nothing was changed, try again")
    return password


@staff.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="editor",
    show_default=True,
    help="editor: notes and exceptions; publisher: also boundary and address versions; "
    "admin: also accounts.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@pass_context
@handles_errors
def add_staff(ctx: Context, username: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (asks for its password twice, without showing it)."""
    name = normalize_username(username)
    store = ctx.store()
    if store.get_staff(name) is not None:
        raise InputError(f"there is already a staff account {name!r}")
    password = _read_password(name, password_stdin)
    account = store.add_staff(name, password, role=role, author=os_user())
    click.echo(f"Added staff account {account.username} ({account.role}).")


@staff.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@pass_context
@handles_errors
def list_staff(ctx: Context, as_json: bool) -> None:
    """Every staff account with its role, and whether it may sign in."""
    accounts = ctx.store().list_staff()
    if as_json:
        click.echo(json.dumps({"staff": [a.to_dict() for a in accounts]}, indent=2))
        return
    if not accounts:
        click.echo("No staff accounts yet: add one with cyclemap staff add NAME --role admin.")
    for a in accounts:
        click.echo(f"{a.username:<24} {a.role:<10} {'active' if a.active else 'deactivated'}")
