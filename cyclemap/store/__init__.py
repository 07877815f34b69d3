"""The live store (SQLite or PostgreSQL): notes, exceptions, versions, staff, audit log.

| module | owns |
|---|---|
| ``schema`` | the SQLAlchemy Core tables (the Alembic ``migrations/`` make them) |
| ``engine`` | ``StoreBase``: connections, transactions, migrations, the audit log |
| ``versions`` | ``VersionStore``: boundary and address versions and the one live pointer |
| ``store`` | ``Store``: seeding from a city, notes, schedule exceptions, staff accounts |
"""

from .engine import SQLITE_BUSY_TIMEOUT_S, AuditEntry, StoreBase
from .store import SEED_AUTHOR, Store, default_database_url, hash_password, verify_password
from .versions import LiveAddresses, LiveBoundaries, VersionInfo, VersionStore

__all__ = [
    "SEED_AUTHOR",
    "SQLITE_BUSY_TIMEOUT_S",
    "AuditEntry",
    "LiveAddresses",
    "LiveBoundaries",
    "Store",
    "StoreBase",
    "VersionInfo",
    "VersionStore",
    "default_database_url",
    "hash_password",
    "verify_password",
]
