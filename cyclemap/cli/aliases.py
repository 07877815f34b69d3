"""``cyclemap aliases``: street aliases and address corrections, and the misses they answer.

An alias is checked against the address layer in force (``City.add_alias``) and kept in the
store, versioned, with the OS user as its author in the audit log; every server reads it within
seconds. ``misses`` lists what residents typed that found nothing or several places, most
frequent first (counted by street, never with the house number).
"""

from __future__ import annotations

import json

import click

from . import Context, handles_errors, main, os_user, pass_context


@main.group()
def aliases() -> None:
    """Street aliases and address corrections: list, add, retire; the misses they answer."""


@aliases.command("list")
@click.option("--all", "include_all", is_flag=True, help="Every version, retired ones too.")
@click.option("--json", "as_json", is_flag=True, help="Print the aliases as JSON.")
@pass_context
@handles_errors
def list_aliases(ctx: Context, include_all: bool, as_json: bool) -> None:
    """The aliases in force (``--all``: every version)."""
    found = ctx.store().list_aliases(include_retired=include_all)
    if as_json:
        click.echo(json.dumps({"aliases": [a.to_dict() for a in found]}, indent=2))
        return
    if not found:
        click.echo("No aliases.")
    for a in found:
        state = "" if a.active else f" (retired {a.retired:%Y-%m-%d} by {a.retired_by})"
        click.echo(
            f"{a.alias_id} v{a.version} {a.kind}: {a.source} -> {a.target}"
            f"  [{a.author}, {a.created:%Y-%m-%d}]{state}"
        )


@aliases.command("add")
@click.argument("source")
@click.argument("target")
@click.option(
    "--address",
    "is_address",
    is_flag=True,
    help="A correction of one address (SOURCE and TARGET with house numbers), not a street.",
)
@click.option("-m", "--message", default="", help="Why, for the audit log.")
@pass_context
@handles_errors
def add_alias(ctx: Context, source: str, target: str, is_address: bool, message: str) -> None:
    """Read SOURCE (what residents type) as TARGET (a street or address of the layer); print
    the new alias's id."""
    kind = "address" if is_address else "street"
    alias = ctx.city().add_alias(kind, source, target, author=os_user(), message=message)
    click.echo(alias.alias_id)
    click.echo(f"{alias.source} is now read as {alias.target}.", err=True)


@aliases.command("retire")
@click.argument("alias_id", type=int, metavar="ID")
@pass_context
@handles_errors
def retire_alias(ctx: Context, alias_id: int) -> None:
    """Take an alias out of force (kept, with its versions and history)."""
    alias = ctx.store().retire_alias(alias_id, author=os_user())
    click.echo(f"Alias {alias_id} retired: {alias.source} is no longer read as {alias.target}.")


@aliases.command("misses")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the misses as JSON.")
@pass_context
@handles_errors
def list_misses(ctx: Context, limit: int, as_json: bool) -> None:
    """Open misses, most frequent first: streets residents could not find, and the places
    they picked after a miss."""
    found = ctx.store().list_misses("open", limit=limit)
    if as_json:
        click.echo(json.dumps({"misses": [m.to_dict() for m in found]}, indent=2))
        return
    if not found:
        click.echo("No open misses.")
    for m in found:
        picked = f" -> picked {m.chosen}" if m.chosen else ""
        click.echo(f"{m.count:>6}  {m.kind:<7} {m.key}{picked}")
