"""Staff accounts: usernames, roles, hashed passwords, and signing in.

Three roles, each able to do what the one before it can (see the interface, "Roles"):
``editor`` edits notes and schedule exceptions; ``publisher`` also publishes and rolls back
boundary and address versions; ``admin`` also manages accounts. Passwords are kept only as salted
scrypt hashes. Every change to an account is in the audit log, never with the password or hash.
``cyclemap.store.Store`` includes these methods.

>>> from cyclemap.store import Store
>>> store = Store("sqlite://")
>>> _ = store.upgrade()
>>> store.add_staff("Clerk1", "plenty of unrelated words", role="publisher", author="root")
StaffAccount(id=1, username='clerk1', role='publisher', active=True)
>>> account = store.authenticate("clerk1", "plenty of unrelated words")
>>> account.can("editor"), account.can("publisher"), account.can("admin")
(True, True, False)
>>> store.authenticate("clerk1", "wrong") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import InputError, NotFoundError
from . import schema as t
from .engine import StoreBase

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "STRONG_PASSWORD",
    "StaffAccount",
    "StaffStore",
    "check_password",
    "hash_password",
    "normalize_username",
    "verify_password",
]

#: the roles, least to most powerful; each may do everything the ones before it may
ROLES = ("editor", "publisher", "admin")
#: the shortest password accepted
MIN_PASSWORD_LENGTH = 12
#: the longest password accepted (a few kilobytes of "password" is a mistake, not a passphrase)
MAX_PASSWORD_LENGTH = 1024
#: scrypt cost parameters for staff passwords (16 MiB, ~50 ms)
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
#: PostgreSQL advisory lock key (transaction scoped) held while accounts change
_PG_STAFF_LOCK = 0x6379_636C_0003
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")

#: passwords of 12 characters or more that appear near the top of every leaked-password list;
#: shorter ones are refused by the length rule already
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abc123456789",
        "abcdefghijkl",
        "administrator",
        "changeme1234",
        "correcthorsebatterystaple",
        "correct horse battery staple",
        "iloveyou1234",
        "letmein12345",
        "password1234",
        "password12345",
        "password123!",
        "password123456",
        "passwordpassword",
        "qwerty123456",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "welcome12345",
        "welcome123456",
        "zaq12wsxcde3",
    }
)

STRONG_PASSWORD = (
    f"A strong password has at least {MIN_PASSWORD_LENGTH} characters (a few unrelated words "
    "make a good one), does not contain the username, and is not a common password."
)


@dataclass(frozen=True)
class StaffAccount:
    """A staff account as the workspace sees it (never its password hash)."""

    id: int
    username: str
    role: str
    active: bool

    def can(self, need_role: str) -> bool:
        """Whether this account may do what ``need_role`` may (editor < publisher < admin).

        An inactive account may do nothing.

        >>> StaffAccount(1, "ann", "publisher", True).can("editor")
        True
        >>> StaffAccount(1, "ann", "publisher", True).can("admin")
        False
        """
        return self.active and ROLES.index(self.role) >= role_rank(need_role)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"id": self.id, "username": self.username, "role": self.role, "active": self.active}


def role_rank(role: str) -> int:
    """The position of ``role`` in ``ROLES``; ``InputError`` for an unknown role.

    >>> role_rank("editor"), role_rank("admin")
    (0, 2)
    """
    if role not in ROLES:
        raise InputError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    return ROLES.index(role)


def normalize_username(username: str) -> str:
    """The username as stored: trimmed and lower case; ``InputError`` when it cannot be one.

    >>> normalize_username("  J.Smith@City ")
    'j.smith@city'
    >>> normalize_username("john smith")
    Traceback (most recent call last):
    ...
    cyclemap.errors.InputError: a username is 1 to 100 letters, digits and . _ - @, starting \
with a letter or digit (no spaces), not 'john smith'
    """
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise InputError(
            "a username is 1 to 100 letters, digits and . _ - @, starting with a letter or digit "
            f"(no spaces), not {username!r}"
        )
    return name


def check_password(password: str, username: str = "") -> None:
    """Refuse a weak password with ``InputError`` saying why and what a strong one is.

    >>> check_password("plenty of unrelated words", "ann")
    >>> check_password("short", "ann")
    Traceback (most recent call last):
    ...
    cyclemap.errors.InputError: that password is too weak: it has 5 characters. A strong \
password has at least 12 characters (a few unrelated words make a good one), does not contain \
the username, and is not a common password.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        why = f"it has {len(password)} characters"
    elif len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    elif username and username.strip().lower() in password.lower():
        why = "it contains the username"
    elif password.lower() in COMMON_PASSWORDS or len(set(password)) <= 2:
        why = "it is a common password, easy to guess"
    else:
        return
    raise InputError(f"that password is too weak: {why}. {STRONG_PASSWORD}")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash, ``scrypt:N:r:p$salt$hash`` (hex), for ``verify_password``.

    >>> h = hash_password("correct horse", salt=b"0123456789abcdef")
    >>> h.split("$")[0], verify_password("correct horse", h), verify_password("wrong", h)
    ('scrypt:16384:8:1', True, False)
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt:{_SCRYPT_N}:{_SCRYPT_R}:{_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``hash_password`` result (constant-time comparison)."""
    try:
        params, salt_hex, digest_hex = stored.split("$")
        name, n, r, p = params.split(":")
        if name != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest_hex) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def _account(row: Any) -> StaffAccount:
    return StaffAccount(id=row.id, username=row.username, role=row.role, active=bool(row.active))


class StaffStore(StoreBase):
    """Staff accounts (see the module docstring)."""

    def _staff_row(self, conn: sa.Connection, username: str, *, lock: bool = False) -> Any:
        q = sa.select(t.staff).where(sa.func.lower(t.staff.c.username) == username)
        if lock:
            q = q.with_for_update()
        return conn.execute(q).first()

    def add_staff(
        self, username: str, password: str, *, role: str = "editor", author: str
    ) -> StaffAccount:
        """Create a staff account; ``InputError`` for a bad name or role, a weak password
        (``check_password``) or a name already taken. The username is kept in lower case.
        """
        name = normalize_username(username)
        role_rank(role)
        check_password(password, name)
        hashed = hash_password(password)
        try:
            with self._write(lock=_PG_STAFF_LOCK) as conn:
                if self._staff_row(conn, name) is not None:
                    raise InputError(f"there is already a staff account {name!r}")
                new_id = conn.execute(
                    t.staff.insert()
                    .values(username=name, password_hash=hashed, role=role, created=self.clock())
                    .returning(t.staff.c.id)
                ).scalar_one()
                self._audit(
                    conn,
                    actor=author,
                    action="add",
                    entity="staff",
                    entity_id=name,
                    after={"username": name, "role": role, "active": True},
                )
        except sa.exc.IntegrityError as exc:  # another process took the name meanwhile
            raise InputError(f"there is already a staff account {name!r}") from exc
        return StaffAccount(new_id, name, role, True)

    def authenticate(self, username: str, password: str) -> StaffAccount | None:
        """The active account these credentials open, or ``None``.

        An unknown username costs the same hashing time as a wrong password, so the answer's
        timing does not tell which usernames exist.
        """
        name = (username or "").strip().lower()
        with self._read() as conn:
            row = self._staff_row(conn, name) if _USERNAME.match(name) else None
        if row is None:
            hash_password(password or "")  # spend the same time as a real check
            return None
        ok = verify_password(password or "", row.password_hash)
        return _account(row) if ok and row.active else None

    def verify_staff(self, username: str, password: str) -> bool:
        """Whether the username and password match an active staff account."""
        return self.authenticate(username, password) is not None

    def get_staff(self, username: str) -> StaffAccount | None:
        """The account of ``username`` (active or not), or ``None`` when there is none."""
        name = (username or "").strip().lower()
        if not _USERNAME.match(name):
            return None
        with self._read() as conn:
            row = self._staff_row(conn, name)
        return None if row is None else _account(row)

    def list_staff(self) -> list[StaffAccount]:
        """Every account, by username."""
        with self._read() as conn:
            rows = conn.execute(sa.select(t.staff).order_by(t.staff.c.username)).all()
        return [_account(r) for r in rows]

    def set_staff_role(self, username: str, role: str, *, author: str) -> StaffAccount:
        """Give an account another role (an admin's action; ``author`` is that admin).

        Refused when it would leave no active admin. Setting the role it has changes nothing.
        """
        role_rank(role)
        return self._change_staff(username, author, "role", role=role)

    def set_staff_active(self, username: str, active: bool, *, author: str) -> StaffAccount:
        """Deactivate an account (it can no longer sign in; kept, with its history) or
        reactivate it. Refused when it would leave no active admin."""
        return self._change_staff(
            username, author, "deactivate" if not active else "activate", active=bool(active)
        )

    def set_staff_password(self, username: str, password: str, *, author: str) -> StaffAccount:
        """Give an account a new password (``check_password`` rules); audited without it."""
        name = (username or "").strip().lower()
        check_password(password, name)
        hashed = hash_password(password)
        with self._write(lock=_PG_STAFF_LOCK) as conn:
            row = self._staff_row(conn, name, lock=True)
            if row is None:
                raise NotFoundError(f"there is no staff account {username!r}")
            conn.execute(
                t.staff.update().where(t.staff.c.id == row.id).values(password_hash=hashed)
            )
            self._audit(
                conn, actor=author, action="password", entity="staff", entity_id=row.username
            )
        return _account(row)

    def _change_staff(self, username: str, author: str, action: str, **values: Any) -> StaffAccount:
        name = (username or "").strip().lower()
        with self._write(lock=_PG_STAFF_LOCK) as conn:
            row = self._staff_row(conn, name, lock=True)
            if row is None:
                raise NotFoundError(f"there is no staff account {username!r}")
            before = _account(row)
            changed = {k: v for k, v in values.items() if getattr(before, k) != v}
            if not changed:
                return before
            conn.execute(t.staff.update().where(t.staff.c.id == row.id).values(**changed))
            admins = conn.scalar(
                sa.select(sa.func.count())
                .select_from(t.staff)
                .where(t.staff.c.role == "admin", t.staff.c.active.is_(True))
            )
            if before.role == "admin" and before.active and not admins:
                raise InputError(
                    f"{before.username} is the only active admin: make another account admin "
                    "first, so that someone can still manage accounts"
                )
            self._audit(
                conn,
                actor=author,
                action=action,
                entity="staff",
                entity_id=before.username,
                before={k: getattr(before, k) for k in changed},
                after=changed,
            )
        return StaffAccount(
            before.id,
            before.username,
            role=changed.get("role", before.role),
            active=changed.get("active", before.active),
        )

    def session_secret(self) -> str:
        """The key that signs staff sessions, made once and kept in the database (``meta``), so
        that every server on this database accepts a session any of them signed."""
        key = "secret:session"
        q = sa.select(t.meta.c.value).where(t.meta.c.key == key)
        with self._read() as conn:
            value = conn.scalar(q)
        if value is not None:
            return value
        with self._write(lock=_PG_STAFF_LOCK) as conn:
            value = conn.scalar(q)
            if value is None:
                value = secrets.token_hex(32)
                conn.execute(t.meta.insert().values(key=key, value=value, created=self.clock()))
        return value
