"""Alembic environment of the cyclemap store.

``cyclemap.store.Store.upgrade`` builds the Alembic ``Config`` in code and hands its own open
connection (inside a transaction that holds the migration lock) in
``config.attributes["connection"]``; no ``alembic.ini`` is needed. Given only
``sqlalchemy.url``, this file opens a connection itself (for the ``alembic`` command line).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from cyclemap.errors import ConfigError


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        _run_offline()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_online(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise ConfigError("the migrations need a connection or a sqlalchemy.url to open one")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            _run_online(connection)
    finally:
        engine.dispose()


# Importing this file outside a migration (e.g. pytest --doctest-modules) does nothing.
if getattr(context, "_proxy", None) is not None:
    _main()
