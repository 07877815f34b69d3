"""``cyclemap notes``: the billing-status notes residents see, kept in the live store.

Every change is recorded in the store's audit log with the OS user as its author. On first use
the store is seeded from the city folder's ``notes.toml`` (and ``city.toml``'s exceptions).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..billing.notes import ALL_CYCLES, Note, parse_date
from ..config import load_city_config
from ..errors import InputError
from . import Context, handles_errors, main, os_user, pass_context


def _open(ctx: Context):
    """The store (migrated and seeded from the city folder) and the city's configuration."""
    config = load_city_config(ctx.city_dir)
    ctx.fixed_today()  # a bad CYCLEMAP_TODAY fails before anything is written
    store = ctx.store()
    store.seed_from_city(config)
    return store, config


def _cycles_label(note: Note) -> str:
    return "all cycles" if note.cycles == ALL_CYCLES else "cycles " + ",".join(note.cycles)


def _window_label(note: Note) -> str:
    if note.starts is None and note.ends is None:
        return ""
    return f" shown {note.starts or '...'} to {note.ends or '...'}"


def _read_body(body: str | None, body_file: str | None) -> str | None:
    if body is not None and body_file is not None:
        raise InputError("give --body or --body-file, not both")
    if body_file is None:
        return body
    if body_file == "-":
        return sys.stdin.read()
    try:
        return Path(body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {body_file}: {exc}") from exc


def _cycles_option(cycles: tuple[str, ...], all_cycles: bool) -> Any:
    if cycles and all_cycles:
        raise InputError("give --cycle IDs or --all-cycles, not both")
    if all_cycles:
        return ALL_CYCLES
    return list(cycles) if cycles else None


def _date_option(value: str | None, what: str) -> Any:
    """``None``: not given; ``""`` clears the date (``--ends none``); else an ISO date."""
    if value is None:
        return None
    if value.strip().lower() in ("", "none"):
        return ""
    return parse_date(value, what)


def _note_options(func):
    options = [
        click.option("--title", help="A short heading residents see."),
        click.option(
            "--cycle",
            "cycles",
            multiple=True,
            metavar="ID",
            help="A cycle it concerns (repeatable).",
        ),
        click.option("--all-cycles", is_flag=True, help="The note concerns every cycle."),
        click.option("--body", help="The text, in Markdown."),
        click.option(
            "--body-file", metavar="FILE", help="Read the Markdown text from FILE (- for stdin)."
        ),
        click.option(
            "--title-es",
            help="The title in Spanish (with --body-es; both empty take the Spanish text away).",
        ),
        click.option(
            "--body-es",
            help="The text in Spanish, in Markdown. Without it, Spanish pages show the English "
            "note, marked (en inglés).",
        ),
        click.option(
            "--starts", metavar="DATE", help="First day it is shown (YYYY-MM-DD; none to clear)."
        ),
        click.option(
            "--ends", metavar="DATE", help="Last day it is shown (YYYY-MM-DD; none to clear)."
        ),
        click.option("--order", "display_order", type=int, help="Display order (smaller first)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.group()
def notes() -> None:
    """Billing-status notes: list, add, edit, expire."""


@notes.command("list")
@click.option(
    "--cycle", "cycle", metavar="ID", help="Only the notes a resident of this cycle sees."
)
@click.option("--all", "include_all", is_flag=True, help="Every note: expired and future ones too.")
@click.option("--date", "on", metavar="DATE", help="The notes shown on DATE instead of today.")
@click.option("--json", "as_json", is_flag=True, help="Print the notes as JSON.")
@pass_context
@handles_errors
def list_notes(ctx: Context, cycle: str | None, include_all: bool, on: str | None, as_json: bool):
    """The notes shown today (--all: every note, expired and future too)."""
    store, config = _open(ctx)
    if cycle is not None and cycle not in config.cycles:
        raise InputError(
            f"no such cycle: {cycle} (the city's cycles are {', '.join(config.cycles)})"
        )
    today = parse_date(on, "--date") or ctx.today(config.timezone)
    found = store.list_notes(today, cycle=cycle, include_all=include_all)
    if as_json:
        records = [
            {**n.to_record(), "html": n.html, "html_es": n.html_es, "shown": n.shown_on(today)}
            for n in found
        ]
        click.echo(json.dumps({"date": today.isoformat(), "notes": records}, indent=2))
        return
    if not found:
        click.echo(f"No notes {'at all' if include_all else 'shown on ' + today.isoformat()}.")
    for n in found:
        flag = " [expired]" if n.expired else ("" if n.shown_on(today) else " [not shown]")
        click.echo(
            f"{n.id:>4}  {n.updated}  {n.title}  ({_cycles_label(n)}{_window_label(n)}){flag}"
        )


@notes.command("add")
@_note_options
@pass_context
@handles_errors
def add_note(
    ctx: Context,
    title,
    cycles,
    all_cycles,
    body,
    body_file,
    title_es,
    body_es,
    starts,
    ends,
    display_order,
):
    """Add a note; print its id."""
    if not title:
        raise InputError("a note needs --title")
    chosen = _cycles_option(cycles, all_cycles)
    if chosen is None:
        raise InputError(
            "say which cycles the note concerns: --cycle ID (repeatable) or --all-cycles"
        )
    text = _read_body(body, body_file)
    store, config = _open(ctx)
    note_id = store.add_note(
        title=title,
        body=text or "",  # the store refuses an empty body
        cycles=chosen,
        author=os_user(),
        today=ctx.today(config.timezone),
        starts=_date_option(starts, "--starts") or None,
        ends=_date_option(ends, "--ends") or None,
        display_order=display_order or 0,
        known_cycles=config.cycles,
        title_es=title_es,
        body_es=body_es,
    )
    click.echo(note_id)


@notes.command("edit")
@click.argument("note_id", type=int, metavar="ID")
@_note_options
@pass_context
@handles_errors
def edit_note(
    ctx: Context,
    note_id,
    title,
    cycles,
    all_cycles,
    body,
    body_file,
    title_es,
    body_es,
    starts,
    ends,
    display_order,
):
    """Change a note: only the options given change."""
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    for key, value in (("title_es", title_es), ("body_es", body_es)):
        if value is not None:
            changes[key] = value
    chosen = _cycles_option(cycles, all_cycles)
    if chosen is not None:
        changes["cycles"] = chosen
    text = _read_body(body, body_file)
    if text is not None:
        changes["body"] = text
    for key, value in (("starts", starts), ("ends", ends)):
        parsed = _date_option(value, f"--{key}")
        if parsed is not None:
            changes[key] = parsed or None
    if display_order is not None:
        changes["display_order"] = display_order
    if not changes:
        raise InputError("nothing to change: give at least one option (see --help)")
    store, config = _open(ctx)
    today = ctx.today(config.timezone)
    note = store.edit_note(
        note_id, author=os_user(), today=today, known_cycles=config.cycles, **changes
    )
    click.echo(f"note {note.id} changed: {note.title}")


@notes.command("expire")
@click.argument("note_id", type=int, metavar="ID")
@pass_context
@handles_errors
def expire_note(ctx: Context, note_id: int):
    """Take a note down now (it is kept, with its history).

    Exit status: 0 expired, 2 already expired (nothing changed), 4 no such note.
    """
    store, _config = _open(ctx)
    if store.get_note(note_id).expired:
        raise InputError(
            f"note {note_id} is already expired: nothing changed "
            f"(see it with: cyclemap notes list --all)"
        )
    note = store.expire_note(note_id, author=os_user())
    click.echo(f"note {note.id} expired: {note.title}")
