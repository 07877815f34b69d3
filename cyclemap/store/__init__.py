"""The live store (SQLite or PostgreSQL): notes, exceptions, versions, staff, audit log.

| module | owns |
|---|---|
| ``schema`` | the SQLAlchemy Core tables (the Alembic ``migrations/`` make them) |
| ``engine`` | ``StoreBase``: connections, transactions, migrations, the audit log |
| ``versions`` | ``VersionStore``: layer versions on a timeline of activations; staged uploads |
| ``aliases`` | ``AliasStore``: lookup misses by normalized query; versioned, audited aliases |
| ``changes`` | ``ChangeStore``: public changes since a time, off the audit log |
| ``staff`` | ``StaffStore``: staff accounts, roles, passwords, sign-in; ``StaffAccount`` |
| ``store`` | ``Store``: seeding from a city, notes, schedule exceptions; all of the above |
"""

from .aliases import ALIAS_KINDS, MISS_STATUSES, Alias, AliasStore, Miss, MissTally
from .changes import Change, ChangeStore
from .engine import SQLITE_BUSY_TIMEOUT_S, AuditEntry, StoreBase
from .staff import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    STRONG_PASSWORD,
    StaffAccount,
    StaffStore,
    check_password,
    normalize_username,
    role_rank,
)
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
    "ALIAS_KINDS",
    "MISS_STATUSES",
    "Alias",
    "AliasStore",
    "Change",
    "ChangeStore",
    "Miss",
    "MissTally",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "SEED_AUTHOR",
    "SINCE_ALWAYS",
    "SQLITE_BUSY_TIMEOUT_S",
    "STRONG_PASSWORD",
    "Activation",
    "StagedUpload",
    "AuditEntry",
    "LiveAddresses",
    "LiveBoundaries",
    "StaffAccount",
    "StaffStore",
    "Store",
    "StoreBase",
    "VersionInfo",
    "VersionStore",
    "check_password",
    "default_database_url",
    "in_force",
    "upcoming",
    "hash_password",
    "normalize_username",
    "role_rank",
    "verify_password",
]
