"""The ``cyclemap`` command line: a thin click layer over the core.

Global options come before the command name::

    cyclemap --city ./my-city lookup "12 S Sprigg St"

Errors from the core are turned into exit statuses in one place, ``EXIT_CODES`` below, and
printed as one line on stderr: a clerk sees what to fix, never a traceback.

Run as a program (``LazyGroup.__call__``), the garbage collector is paused while a command
starts: see ``resume_collector``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import gc
import getpass
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..config import DEFAULT_CITY
from ..errors import (
    AddressFileError,
    BoundaryFileError,
    ConfigError,
    CyclemapError,
    InputError,
    NotFoundError,
    RefusedError,
    StoreError,
    StoreUnavailableError,
)

#: core error class -> exit status; the one translation table of the CLI. A database that
#: cannot be reached is 2, like a wrong setting (what an operator must fix before trying
#: again), for every command: ``serve`` then exits at once with the reason on one line.
EXIT_CODES: dict[type[CyclemapError], int] = {
    InputError: 2,
    ConfigError: 2,
    StoreUnavailableError: 2,
    BoundaryFileError: 2,
    AddressFileError: 2,
    NotFoundError: 4,
    RefusedError: 1,
    StoreError: 1,
}


def exit_code_for(error: CyclemapError) -> int:
    """The exit status for a core error (the most specific class in ``EXIT_CODES`` wins)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


@dataclass
class Context:
    """What the global options decided, handed to every command."""

    city_dir: Path
    database_url: str | None
    #: ``--today`` / ``CYCLEMAP_TODAY`` as given (checked when a command asks for it)
    today_text: str | None = None
    #: ``--cache-dir`` / ``CYCLEMAP_CACHE_DIR``: where compiled layers are kept (default: the
    #: instance folder's ``cache/``, the one ``cyclemap serve`` uses)
    cache_dir: Path | None = None
    _city: Any = None
    _store: Any = None

    def close(self) -> None:
        """Close the store's connections (when the command ends: ``main`` asks click to). An
        SQLite file is then checkpointed and its ``-wal`` and ``-shm`` files removed now, not
        whenever the collector would have freed the pool (``LazyGroup.__call__``)."""
        if self._store is not None:
            self._store.close()

    def store(self):
        """The live store (migrated to the current schema), opened once per command.

        Without ``--database-url`` it is the SQLite file in the instance folder, the same one
        ``cyclemap serve`` uses, so a note added here is the note the web page shows.
        """
        store = self._open_store()
        resume_collector()
        return store

    def _open_store(self):
        if self._store is None:
            from ..config import default_instance_path
            from ..store import Store, default_database_url

            self._store = Store(
                self.database_url or default_database_url(default_instance_path(), self.city_dir)
            )
            self._store.upgrade()
        return self._store

    def fixed_today(self) -> dt.date | None:
        """The day every command acts as of (``--today`` / ``CYCLEMAP_TODAY``), or None."""
        from ..config import fixed_today

        return fixed_today(self.today_text)

    def today(self, timezone: str) -> dt.date:
        """``--today`` / ``CYCLEMAP_TODAY`` when set, else today in ``timezone`` (the city's)."""
        fixed = self.fixed_today()
        if fixed is not None:
            return fixed
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(timezone)).date()

    def city(self):
        """The opened city over the live store (loaded once per command), on the CLI's clock."""
        if self._city is None:
            from ..city import open_city
            from ..config import load_city_config

            load_city_config(self.city_dir)  # a wrong --city fails before any database is made
            day = self.fixed_today()
            clock = (lambda: day) if day is not None else None
            self._city = open_city(
                self.city_dir,
                store=self._open_store(),
                clock=clock,
                cache_dir=self.cache_dir if self.cache_dir is not None else True,
            )
            resume_collector()
        return self._city


pass_context = click.make_pass_decorator(Context)


def os_user() -> str:
    """The operating-system user: the author the audit log records for a command's changes."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (e.g. a container without a passwd entry)
        return "unknown"


def handles_errors(func: Callable) -> Callable:
    """Turn a ``CyclemapError`` raised by the command into a one-line message and exit status."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CyclemapError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            for problem in [p for p in exc.problems if str(p) != exc.message][:20]:
                click.echo(f"  - {problem}", err=True)
            sys.exit(exit_code_for(exc))

    return wrapper


#: command name -> the module of this package that defines it (and adds it to ``main``). A
#: module is imported only when its command runs or help lists it: ``cyclemap lookup`` must not
#: pay for the server, the map export or the boundary files' readers on every start.
COMMAND_MODULES: dict[str, str] = {
    "addresses": "addresses",
    "aliases": "aliases",
    "assign": "assign",
    "boundaries": "boundaries",
    "db": "db",
    "export-map": "export_map",
    "lookup": "lookup",
    "notes": "notes",
    "serve": "serve",
    "staff": "staff",
}


#: whether the collector is paused for a command's start (``LazyGroup.__call__``)
_collector_paused = False


def resume_collector() -> None:
    """End the start-up pause of the garbage collector, when one is on (else do nothing).

    What the start made (the modules imported, the store and the city opened) lives until the
    process ends: it is frozen out of every later collection (``gc.freeze``), then the
    collector runs again for the command's own work. ``Context.store`` and ``Context.city``
    call this once they are open; a command that opens neither (``serve``, ``boundaries
    validate``) calls it first.
    """
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use (``COMMAND_MODULES``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run as the ``cyclemap`` program (the console script, ``python -m cyclemap``), the
        collector paused while the command starts.

        A command's start makes tens of thousands of objects that live as long as the process
        (SQLAlchemy's, numpy's and our modules, the store, the city), and the collector, run
        every few hundred new objects, would walk them again and again to free nothing: a
        third of a cold ``cyclemap lookup``'s own time. So it is paused until
        ``resume_collector``. At exit everything still alive is frozen too, so the
        interpreter's last collection does not walk it all once more for memory the system
        takes back anyway (the store is closed before: ``Context.close``). Click's test
        runner calls ``main.main`` instead: nothing changes for a process that only calls.
        """
        global _collector_paused
        if gc.isenabled():
            gc.disable()
            _collector_paused = True
        atexit.register(gc.freeze)
        return super().__call__(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, loaded or not (help lists them all)."""
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module first when it is not loaded yet."""
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"{__name__}.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--city",
    "city_dir",
    envvar="CYCLEMAP_CITY",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CITY,
    show_default="the bundled demo city",
    help="The city folder (city.toml, boundaries, addresses, notes).",
)
@click.option(
    "--database-url",
    envvar="CYCLEMAP_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL of the live store (default: SQLite in the instance folder).",
)
@click.option(
    "--today",
    "today_text",
    envvar="CYCLEMAP_TODAY",
    default=None,
    metavar="DATE",
    help="Act as of this day (YYYY-MM-DD), as the server does with CYCLEMAP_TODAY.",
)
@click.option(
    "--cache-dir",
    envvar="CYCLEMAP_CACHE_DIR",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where compiled address and zone tables are kept (default: the instance folder).",
)
@click.version_option(package_name="cyclemap")
@click.pass_context
def main(
    ctx: click.Context,
    city_dir: Path,
    database_url: str | None,
    today_text: str | None,
    cache_dir: Path | None,
) -> None:
    """cyclemap: find the utility billing cycle for an address."""
    ctx.obj = Context(
        city_dir=city_dir, database_url=database_url, today_text=today_text, cache_dir=cache_dir
    )
    ctx.call_on_close(ctx.obj.close)
