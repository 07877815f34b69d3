"""``cyclemap db``: the live store's schema."""

from __future__ import annotations

import click

from . import Context, handles_errors, main, pass_context


@main.group()
def db() -> None:
    """The live store (SQLite file by default, or PostgreSQL via --database-url)."""


@db.command()
@pass_context
@handles_errors
def upgrade(ctx: Context) -> None:
    """Apply pending schema migrations (the server and every command do it on start too)."""
    store = ctx.store()
    revision = store.upgrade()
    click.echo(f"{store.url}: schema at revision {revision} (head {store.head_revision()})")
