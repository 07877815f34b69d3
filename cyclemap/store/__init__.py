"""The live store (SQLite or PostgreSQL): notes, exceptions, versions, staff, audit log.

| module | owns |
|---|---|
| ``schema`` | the SQLAlchemy Core tables (the Alembic ``migrations/`` make them) |
| ``engine`` | ``StoreBase``: connections, transactions, migrations, the audit log |
| ``versions`` | ``VersionStore``: layer versions on a timeline of activations; staged uploads |
| ``store`` | ``Store``: seeding from a city, notes, schedule exceptions, staff accounts |
"""

from .engine import SQLITE_BUSY_TIMEOUT_S, AuditEntry, StoreBase
from .store import SEED_AUTHOR, Store, default_database_url, hash_password, verify_password
from .versions import (
    SINCE_ALWAYS,
    Activation,
    LiveAddresses,
    LiveBoundaries,
    StagedUpload,
    VersionInfo,
    VersionStore,
    in_force,
    upcoming,
)

__all__ = [
    "SEED_AUTHOR",
    "SINCE_ALWAYS",
    "SQLITE_BUSY_TIMEOUT_S",
    "Activation",
    "StagedUpload",
    "AuditEntry",
    "LiveAddresses",
    "LiveBoundaries",
    "Store",
    "StoreBase",
    "VersionInfo",
    "VersionStore",
    "default_database_url",
    "in_force",
    "upcoming",
    "hash_password",
    "verify_password",
]
