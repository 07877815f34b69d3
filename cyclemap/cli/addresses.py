"""``cyclemap addresses ...``: replace the address point layer, versioned like the boundaries.

::

    cyclemap addresses diff e911-2020-03.csv
    cyclemap addresses import e911-2020-03.csv -m "March E911 export"

The file is read with the city's ``[addresses.columns]`` mapping. ``diff`` exits 0 when the
layer may be imported, 1 when it would be refused, 2 when it cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import Context, handles_errors, main, os_user, pass_context
from .boundaries import echo_history, write_text_file


@main.group()
def addresses() -> None:
    """Compare, import and roll back the address point layer."""


@addresses.command("diff")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every address whose cycle changes here.",
)
@pass_context
@handles_errors
def diff(ctx: Context, file: Path, as_json: bool, csv_out: Path | None) -> None:
    """Compare an address layer FILE with the live one: added, removed, moved, changing cycle."""
    from ..publishing import diff_addresses

    result = diff_addresses(ctx.city(), file)
    data = result.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(f"Read {file}: {result.report.summary()}")
        click.echo(
            f"Compared with live version {data['live_version']} "
            f"({data['addresses_before']:,} addresses): {data['addresses_after']:,} addresses, "
            f"{data['added']:,} added, {data['removed']:,} removed, {data['moved']:,} moved, "
            f"{data['changing_cycle']:,} change cycle"
        )
        for problem in result.problems:
            click.echo(f"  - {problem}")
        click.echo("VALID" if result.valid else "REFUSED: fix the problems above first")
    if csv_out is not None:
        write_text_file(csv_out, result.csv_text())
    sys.exit(0 if result.valid else 1)


@addresses.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-m", "--message", required=True, help="What changed (kept in the history).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
@handles_errors
def import_(ctx: Context, file: Path, message: str, as_json: bool) -> None:
    """Make FILE the live address layer (validated, versioned; every server within seconds).

    Exits 0 when imported, 1 when refused, 2 when unreadable.
    """
    from ..publishing import import_addresses

    result = import_addresses(ctx.city(), file, author=os_user(), message=message)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(
            f"Imported address layer version {result.version}: "
            f"{result.addresses_changing:,} addresses change cycle"
        )


@addresses.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
@pass_context
@handles_errors
def history(ctx: Context, as_json: bool) -> None:
    """Every imported address layer version and rollback, newest first."""
    from ..publishing import address_history

    echo_history(address_history(ctx.city()), as_json, "Only the city folder's own layer.")


@addresses.command("rollback")
@click.argument("version", type=click.IntRange(min=1))
@click.option("-m", "--message", default=None, help="Why (kept in the history).")
@pass_context
@handles_errors
def rollback(ctx: Context, version: int, message: str | None) -> None:
    """Make an older address layer VERSION the live one again, now."""
    from ..publishing import rollback_addresses

    result = rollback_addresses(ctx.city(), version, author=os_user(), message=message)
    click.echo(
        f"Address layer version {version} is live again: "
        f"{result.addresses_changing:,} addresses change cycle"
    )
