"""Soak ``cyclemap serve`` for a few minutes on loopback: mixed traffic while notes are edited.

It starts ``cyclemap serve`` (gunicorn, 2 workers x 2 threads) for the demo city on a free port of
127.0.0.1 over a throw-away SQLite database, warms it up, then for ``--duration`` seconds sends
a mix of requests from a few threads over keep-alive connections:

    API lookups 45%   suggest 20%   /lookup pages 12%   the home page 6%   /map 3%
    /api/v1/cycles 6%   a cycle's calendar 4%   hostile requests (400/404/405/414) 4%

while a clerk edits a note through the staff workspace (sign in, CSRF token, POST) every couple
of seconds, so every worker keeps dropping its caches for a new snapshot. It measures:

- no 5xx at all, and no request failing at the socket (the targets);
- latency per kind of request and overall: p50, p95, p99, max;
- resident memory (VmRSS) of the master and of each worker after the warm-up, half way and at
  the end. The bounds, per worker: ``MEMORY_BOUND_MB`` of growth over the run (the caches are
  bounded and fill early: the answer cache, the rendered maps, the snapshots) and
  ``LATE_BOUND_MB`` over its second half, where a leak of 1 KB a request would add about 8 MB;
- that the last edit is what residents see at the end (every worker has refreshed).

Run alone (``make bench`` runs it with the defaults; it is not part of ``make test`` or CI):

    python -m scripts.bench_soak [--duration 150] [--concurrency 6] [--strict]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

from scripts.bench_api import (
    ADDRESSES,
    ROOT,
    free_port,
    queries,
    start_server,
    stop,
    wait_ready,
)

#: how much a worker's resident memory may grow from the end of the warm-up to the end
MEMORY_BOUND_MB = 24.0
#: ... and over the second half of the run (the caches are full by then)
LATE_BOUND_MB = 6.0
#: the mix: (kind, weight)
MIX = (
    ("lookup", 45),
    ("suggest", 20),
    ("page", 12),
    ("home", 6),
    ("map", 3),
    ("cycles", 6),
    ("calendar", 4),
    ("hostile", 4),
)
#: requests that must be refused (never a 5xx): bad values, a method, a long query
HOSTILE = (
    ("GET", "/api/v1/lookup?address=12%00Main"),
    ("GET", "/api/v1/suggest?q=12&limit=" + "9" * 40),
    ("GET", "/api/v1/cycles/%ff%fe"),
    ("POST", "/api/v1/lookup?address=12+Main"),
    ("GET", "/lookup?address=" + "x" * 400),
    ("GET", "/api/v1/lookup?address=" + "y" * 17_000),
    ("DELETE", "/"),
)
STAFF_USER = "soak"
STAFF_PASSWORD = "several unrelated words for the clerk"
_TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def cyclemap(workdir: Path, *args: str, stdin: str | None = None) -> str:
    """Run the ``cyclemap`` CLI on the soak's database; its standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLEMAP_")}
    db = f"sqlite:///{workdir / 'bench.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-m", "cyclemap", "--database-url", db, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"cyclemap {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


# -- memory ----------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return sorted(out)


def memory(master: int) -> dict[int, float]:
    """RSS of the master and of each worker, by pid."""
    return {pid: rss_mb(pid) for pid in [master, *children(master)]}


# -- the traffic -----------------------------------------------------------------------------
def suggest_paths(count: int, seed: int) -> list[str]:
    """What residents type on the way to an address: prefixes of real ones."""
    rng = random.Random(seed)
    with ADDRESSES.open(encoding="utf-8") as f:
        lines = f.read().splitlines()[1:]
    paths = []
    for line in rng.sample(lines, count):
        number, street = line.split(",")[:2]
        text = f"{number} {street}".lower()
        typed = text[: rng.randint(2, len(text))]
        paths.append("/api/v1/suggest?" + urllib.parse.urlencode({"q": typed, "limit": 8}))
    return paths


def request_pool(seed: int) -> dict[str, list[tuple[str, str]]]:
    """For each kind of request, the (method, path) it picks from."""
    lookups = queries(1500, seed)
    pages = [p.replace("/api/v1/lookup", "/lookup") for p in lookups[:300]]
    return {
        "lookup": [("GET", p) for p in lookups],
        "suggest": [("GET", p) for p in suggest_paths(800, seed)],
        "page": [("GET", p) for p in pages],
        "home": [("GET", "/"), ("GET", "/?lang=es")],
        "map": [("GET", "/map"), ("GET", "/embed")],
        "cycles": [("GET", "/api/v1/cycles"), ("GET", "/api/v1/cycles/2")],
        "calendar": [("GET", f"/api/v1/cycles/{c}/calendar.ics") for c in "1234"],
        "hostile": list(HOSTILE),
    }


class Tally:
    """What the clients saw, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.server_errors: list[str] = []
        self.socket_errors = 0

    def add(self, kind: str, seconds: float, status: int, path: str) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.statuses[status // 100 * 100] += 1
            if status >= 500:
                self.server_errors.append(f"{status} {path[:80]}")


def client(port: int, pool: dict, deadline: float, tally: Tally, seed: int) -> None:
    """One resident after another, on one keep-alive connection, until ``deadline``."""
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < deadline:
        kind = rng.choices(kinds, weights)[0]
        method, path = rng.choice(pool[kind])
        started = time.perf_counter()
        try:
            conn.request(method, path)
            response = conn.getresponse()
            response.read()
            tally.add(kind, time.perf_counter() - started, response.status, path)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            with tally.lock:
                tally.socket_errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


class Clerk:
    """A staff editor signed in over HTTP who edits one note again and again."""

    def __init__(self, port: int, note_id: int) -> None:
        self.port = port
        self.note_id = note_id
        self.cookie = ""
        self.edits = 0
        self.failures: list[str] = []
        self.last_title = ""

    def _send(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                self.cookie = value.split(";", 1)[0]  # the session cookie, signed in or not
            return response.status, text
        finally:
            conn.close()

    def _token(self, path: str) -> str:
        status, page = self._send("GET", path)
        found = _TOKEN.search(page)
        if status != 200 or not found:
            raise RuntimeError(f"GET {path}: {status}, no CSRF token")
        return found.group(1)

    def sign_in(self) -> None:
        token = self._token("/staff/login")
        form = {"csrf_token": token, "username": STAFF_USER, "password": STAFF_PASSWORD}
        status, _ = self._send("POST", "/staff/login", form)
        if status != 302:
            raise RuntimeError(f"sign-in answered {status}")

    def edit(self, n: int) -> None:
        """Save the note with a new title and body (each edit is a new snapshot)."""
        path = f"/staff/notes/{self.note_id}"
        title = f"Soak note, edit {n}"
        form = {
            "csrf_token": self._token(path),
            "title": title,
            "body": f"Edit **{n}** of the soak: {'lorem ipsum ' * (n % 7 + 1)}",
            "all_cycles": "y",
            "starts": "",
            "ends": "",
            "display_order": str(n % 5),
            "save": "Save note",
        }
        status, _ = self._send("POST", path, form)
        if status == 302:
            self.edits += 1
            self.last_title = title
        else:
            self.failures.append(f"edit {n}: {status}")

    def run(self, deadline: float, every: float) -> None:
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            try:
                self.edit(n)
            except (OSError, http.client.HTTPException, RuntimeError) as exc:
                self.failures.append(f"edit {n}: {exc!r}")
            time.sleep(every)


def seen_by_residents(port: int, title: str, timeout: float = 15.0) -> bool:
    """Whether every answer (new connections: either worker) shows ``title`` within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bodies = []
        for _ in range(6):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/v1/cycles")
            bodies.append(conn.getresponse().read().decode())
            conn.close()
        if all(title in body for body in bodies):
            return True
        time.sleep(0.5)
    return False


# -- reporting -------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def line(name: str, values: list[float], wall: float) -> str:
    return (
        f"  {name:<9} {len(values):>7} req {len(values) / wall:>7.0f}/s  p50 {pct(values, 50):7.2f}"
        f"  p95 {pct(values, 95):7.2f}  p99 {pct(values, 99):7.2f}  max {pct(values, 100):8.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its numbers; 0 unless ``--strict`` and a target is missed."""
    parser = argparse.ArgumentParser(prog="bench_soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=150.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--edit-every", type=float, default=2.0, help="seconds between edits")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv if argv is not None else [])

    pool = request_pool(args.seed)
    with tempfile.TemporaryDirectory(prefix="cyclemap-soak-") as tmp:
        workdir = Path(tmp)
        cyclemap(workdir, "db", "upgrade")
        cyclemap(
            workdir, "staff", "add", STAFF_USER, "--role", "editor", "--password-stdin",
            stdin=STAFF_PASSWORD + "\n",
        )  # fmt: skip
        note_id = int(
            cyclemap(workdir, "notes", "add", "--title", "Soak note", "--all-cycles", "--body", "0")
        )
        port = free_port()
        proc = start_server(
            port, workdir, args.workers, args.threads, {"CYCLEMAP_TODAY": "2020-02-21"}
        )
        try:
            wait_ready(port, proc, workdir)
            print(
                f"gunicorn: {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}; "
                f"{args.concurrency} client threads; a note edited every {args.edit_every:g} s; "
                f"{os.cpu_count()} cores shared by both"
            )
            warm = Tally()
            deadline = time.perf_counter() + args.warmup
            run_clients(port, pool, deadline, warm, args.concurrency, args.seed)
            before = memory(proc.pid)
            clerk = Clerk(port, note_id)
            clerk.sign_in()
            tally = Tally()
            started = time.perf_counter()
            deadline = started + args.duration
            editor = threading.Thread(target=clerk.run, args=(deadline, args.edit_every))
            editor.start()
            samples: list[tuple[float, dict[int, float]]] = [(0.0, before)]
            sampler = threading.Thread(
                target=sample_memory, args=(proc.pid, started, deadline, samples)
            )
            sampler.start()
            run_clients(port, pool, deadline, tally, args.concurrency, args.seed + 1)
            editor.join()
            sampler.join()
            wall = time.perf_counter() - started
            after = memory(proc.pid)
            visible = seen_by_residents(port, clerk.last_title) if clerk.last_title else False
        finally:
            stop(proc)
        log = (workdir / "server.log").read_text()

    everything = [v for values in tally.latency.values() for v in values]
    print(f"warm-up: {sum(len(v) for v in warm.latency.values())} requests, {args.warmup:g} s")
    print(f"soak: {len(everything)} requests in {wall:.0f} s ({len(everything) / wall:.0f}/s)")
    for kind, _ in MIX:
        print(line(kind, tally.latency[kind], wall))
    print(line("all", everything, wall))
    statuses = ", ".join(f"{k // 100}xx {v}" for k, v in sorted(tally.statuses.items()))
    print(f"statuses: {statuses}; socket errors {tally.socket_errors}")
    print(f"note edits: {clerk.edits} saved, {len(clerk.failures)} failed; last edit seen by "
          f"every worker: {'yes' if visible else 'NO'}")  # fmt: skip
    middle = min(samples, key=lambda sample: abs(sample[0] - wall / 2))[1]
    print("memory (VmRSS, MB): after the warm-up -> half way -> at the end (growth, late growth)")
    workers_ok = set(before) == set(after)  # no worker died and was replaced
    for pid in sorted(set(before) | set(after)):
        role = "master" if pid == proc.pid else "worker"
        start, mid, end = before.get(pid, 0.0), middle.get(pid, 0.0), after.get(pid, 0.0)
        print(f"  {role} {pid}: {start:.1f} -> {mid:.1f} -> {end:.1f} "
              f"({end - start:+.1f}, {end - mid:+.1f})")  # fmt: skip
        if role == "worker":
            workers_ok &= end - start <= MEMORY_BOUND_MB and end - mid <= LATE_BOUND_MB
    step = max(1, len(samples) // 8)
    trend = ", ".join(f"{t:.0f}s {sum(m.values()):.0f}" for t, m in samples[::step])
    print(f"  all processes over time: {trend}")
    no_5xx = not tally.server_errors and "Traceback" not in log
    ok = no_5xx and tally.socket_errors == 0 and workers_ok and visible and not clerk.failures
    print(
        f"target: 0 5xx {'OK' if no_5xx else 'MISSED'}, 0 socket errors "
        f"{'OK' if not tally.socket_errors else 'MISSED'}, worker growth <= "
        f"{MEMORY_BOUND_MB:g} MB and <= {LATE_BOUND_MB:g} MB in the second half "
        f"{'OK' if workers_ok else 'MISSED'}, "
        f"edits seen {'OK' if visible and not clerk.failures else 'MISSED'}"
    )
    for error in tally.server_errors[:10] + clerk.failures[:10]:
        print(f"  {error}")
    return 1 if args.strict and not ok else 0


def run_clients(port: int, pool: dict, deadline: float, tally: Tally, n: int, seed: int) -> None:
    """``n`` client threads until ``deadline``."""
    threads = [
        threading.Thread(target=client, args=(port, pool, deadline, tally, seed * 100 + i))
        for i in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sample_memory(master: int, started: float, deadline: float, samples: list) -> None:
    """Each process's RSS every 5 s (half way's, and the trend line)."""
    while time.perf_counter() < deadline - 2.5:
        time.sleep(5)
        samples.append((time.perf_counter() - started, memory(master)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
