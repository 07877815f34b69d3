"""A throwaway PostgreSQL server for tests, and a ``store_url`` fixture over SQLite and PostgreSQL.

Import the fixtures into a test module (``from .pg import pg_server, pg_url, store_url``) or add
that line to ``tests/conftest.py``. ``store_url`` is parametrized: each test that uses it runs on
an SQLite file in ``tmp_path`` and on a fresh database of a real PostgreSQL server.

The server is Debian's ``postgresql`` package started as a private cluster on a Unix socket (no
TCP port) in a temporary directory, with fsync off. PostgreSQL refuses to run as root, so when
the tests run as root the cluster belongs to the ``postgres`` user and is run through
``runuser``. It starts once per test process (well under a second), at the first test that needs
it, and stops at the end of the session. Where PostgreSQL is not installed the PostgreSQL leg is
skipped with a message saying how to get it.

The PostgreSQL tests carry ``@pytest.mark.postgres`` and ``@pytest.mark.xdist_group("postgres")``
so that, under ``pytest -n 2 --dist loadgroup``, one worker runs them all against one cluster.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = "PostgreSQL is not installed: apt-get install postgresql (Debian/Ubuntu)"

#: the marks every PostgreSQL test carries
POSTGRES_MARKS = (pytest.mark.postgres, pytest.mark.xdist_group("postgres"))


def find_pg_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (newest Debian version, or ``PG_BINDIR``)."""
    if os.environ.get("PG_BINDIR"):
        path = Path(os.environ["PG_BINDIR"])
        return path if (path / "initdb").exists() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgCluster:
    """A running private cluster: its data directory, socket directory and binaries."""

    bindir: Path
    root: Path
    run_as: str | None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        self.sockdir.mkdir(parents=True)
        self.datadir.mkdir(mode=0o700)
        if self.run_as:
            shutil.chown(self.root, self.run_as)
            shutil.chown(self.sockdir, self.run_as)
            shutil.chown(self.datadir, self.run_as)
        res = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        if res.returncode:
            raise RuntimeError(f"initdb failed: {res.stderr or res.stdout}")
        self.resume()

    def resume(self) -> None:
        """Start the server on the existing data directory (after ``halt``) and wait for it."""
        options = f"-k {self.sockdir} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        options += " -c synchronous_commit=off -c max_connections=50"
        res = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        if res.returncode:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {res.stderr or res.stdout}\n{log}")

    def halt(self) -> None:
        """Stop the server as an outage would (connections cut), keeping its data for ``resume``."""
        res = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
        )
        if res.returncode:
            raise RuntimeError(f"pg_ctl stop failed: {res.stderr or res.stdout}")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.sockdir}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            dbname="postgres", user="postgres", host=str(self.sockdir), autocommit=True
        ) as conn:
            conn.execute(sql)


_cluster: PgCluster | None = None
_users = 0


def _acquire() -> PgCluster:
    global _cluster, _users
    if _cluster is None:
        bindir = find_pg_bindir()
        if bindir is None:
            pytest.skip(INSTALL_HINT)
        run_as = "postgres" if os.geteuid() == 0 else None
        # a short path under /tmp: socket paths are limited to ~100 bytes, and the postgres
        # user must be able to reach it (pytest's own tmp dirs are private to root)
        root = Path(tempfile.mkdtemp(prefix="cyclemap-pg-", dir="/tmp"))
        root.chmod(0o755)
        cluster = PgCluster(bindir=bindir, root=root, run_as=run_as)
        try:
            cluster.start()
        except Exception:
            cluster.stop()
            raise
        _cluster = cluster
        atexit.register(_stop_at_exit)  # should the session end without finalizers
    _users += 1
    return _cluster


def _release() -> None:
    global _cluster, _users
    _users -= 1
    if _users <= 0 and _cluster is not None:
        _cluster.stop()
        _cluster = None


def _stop_at_exit() -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def own_cluster() -> PgCluster:
    """A new private cluster of its own (for a test that stops and starts it), not the
    session's; skips when PostgreSQL is not installed. The caller stops it (``stop``)."""
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="cyclemap-pg-", dir="/tmp"))
    root.chmod(0o755)
    cluster = PgCluster(bindir=bindir, root=root, run_as="postgres" if os.geteuid() == 0 else None)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster (skips the test when PostgreSQL is not installed)."""
    cluster = _acquire()
    yield cluster
    _release()


@pytest.fixture
def pg_url(pg_server: PgCluster) -> Iterator[str]:
    """A fresh, empty database on the session's cluster, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_server.admin(f'CREATE DATABASE "{name}"')
    yield pg_server.url(name)
    pg_server.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=POSTGRES_MARKS),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: an SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")
