"""The one error family of cyclemap.

Every error carries a message a clerk can act on. The core raises these; the web layer turns them
into ``application/problem+json`` in one handler and the CLI turns them into exit codes in one
table. Nothing in the core knows about HTTP status codes or exit statuses.
"""

from __future__ import annotations


class CyclemapError(Exception):
    """Base of every error cyclemap raises on purpose."""

    #: a short machine-readable slug, used as the problem ``type`` suffix
    code = "error"

    def __init__(self, message: str, *, problems: list | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def __str__(self) -> str:
        return self.message


class ConfigError(CyclemapError):
    """The city folder or ``city.toml`` is missing something or says something impossible."""

    code = "config"


class InputError(CyclemapError):
    """A caller passed a value that cannot be used (bad parameter, bad date, empty title...)."""

    code = "invalid-input"


class NotFoundError(CyclemapError):
    """The thing asked for (a note, a cycle, a version) does not exist."""

    code = "not-found"


class BoundaryFileError(CyclemapError):
    """A boundary file cannot be read or used; ``problems`` lists what is wrong and where."""

    code = "boundary-file"


class AddressFileError(CyclemapError):
    """An address point file cannot be read or used."""

    code = "address-file"


class StoreError(CyclemapError):
    """The database refused an operation (a conflict, a missing version...)."""

    code = "store"


class StoreUnavailableError(StoreError):
    """The database cannot be reached or read right now (stopped, unreachable, an unreadable
    file); nothing was changed, and the same request may work once it is back.

    Lookups keep being answered from the last snapshot a ``City`` read (see
    ``City.degraded``); writes and whatever must read the database fail with this error.
    """

    code = "store-unavailable"


class RefusedError(CyclemapError):
    """A file was read but fails validation, so it was not published; nothing changed.

    ``problems`` are the validation report's problems; ``report`` is the whole report.
    """

    code = "refused"

    def __init__(self, message: str, *, problems: list | None = None, report: object = None):
        super().__init__(message, problems=problems)
        self.report = report
