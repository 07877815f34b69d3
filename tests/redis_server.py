"""A throwaway Redis server for tests: Debian's ``redis-server`` on a Unix socket in /tmp.

``redis_server`` (a fixture; import it into a test module with
``from .redis_server import redis_server``) starts a private server for one test, with no
persistence and no TCP port, and kills it afterwards. ``RedisServer.kill()`` and ``.start()``
stop it as an outage would (SIGKILL) and bring it back on the same socket, empty. Where
``redis-server`` is not installed the test is skipped with a message saying how to get it.

Tests that use it carry ``@pytest.mark.redis`` (``make test-fast`` leaves them out).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INSTALL_HINT = "redis-server is not installed: apt-get install redis-server (Debian/Ubuntu)"


@dataclass
class RedisServer:
    """One private ``redis-server``: its folder (socket, log) and its process while it runs."""

    executable: str
    root: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.root / "redis.sock"

    @property
    def url(self) -> str:
        """The ``limits`` / flask-limiter storage URL of this server."""
        return f"redis+unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (again, empty) and wait until it answers PING."""
        assert self.proc is None, "already running"
        self.socket.unlink(missing_ok=True)  # a killed server leaves its socket file behind
        self.proc = subprocess.Popen(
            [
                self.executable,
                "--port",
                "0",  # no TCP at all
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.root / "redis.log").read_text(errors="replace")[-2000:]
                self.proc = None
                raise RuntimeError(f"redis-server exited at start:\n{log}")
            if self.ping():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer within {timeout} s")

    def ping(self) -> bool:
        """True when the server answers."""
        import redis

        try:
            with redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1) as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def client(self):
        """A Redis client on the server (to look at or clear the counters)."""
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)

    def kill(self) -> None:
        """Kill the server (SIGKILL: no shutdown, as a crash would), if it runs."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running throwaway Redis for one test, killed (and its folder removed) afterwards."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip(INSTALL_HINT)
    # a short path under /tmp: a Unix socket's path is limited to ~100 bytes
    server = RedisServer(executable, Path(tempfile.mkdtemp(prefix="cyclemap-redis-", dir="/tmp")))
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(server.root, ignore_errors=True)
