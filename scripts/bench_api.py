"""Benchmark ``/api/v1/lookup`` under gunicorn (2 workers) on loopback with a bounded load client.

It starts ``cyclemap serve`` on a free port of 127.0.0.1 over a throw-away SQLite database,
warms it up, measures ``/healthz`` as the baseline (the server's ceiling: HTTP, Flask and our
headers with no lookup behind them), then sends a fixed number of address lookups, a mix of real
demo addresses written the ways residents type them, from a few threads over keep-alive
connections. It stops by itself after the requests or the time cap, whichever comes first.

Target (issue 5): at least 800 lookups per second, p99 under 50 ms, no errors. The client and
the server share the machine's cores, so the ratio to the baseline is the steadier number.

    python -m scripts.bench_api [--requests 10000] [--concurrency 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDRESSES = ROOT / "geodata" / "cape-girardeau" / "addresses.csv"

TARGET_RPS = 800
TARGET_P99_MS = 50.0


@dataclass
class Run:
    """What one load run measured."""

    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    wall: float = 0.0
    statuses: Counter = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rps(self) -> float:
        return self.done / self.wall if self.wall else 0.0

    def pct(self, q: float) -> float:
        """The ``q``-th percentile latency in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name:<10} {self.done:>7} req  {self.rps:>8.0f} req/s  "
            f"p50 {self.pct(50):6.2f} ms  p95 {self.pct(95):6.2f} ms  "
            f"p99 {self.pct(99):6.2f} ms  max {self.pct(100):7.2f} ms  errors {self.errors}"
        )


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queries(count: int, seed: int = 5) -> list[str]:
    """Lookup paths for real demo addresses, typed in several ways (case, ZIP, city, unit)."""
    with ADDRESSES.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(seed)
    paths = []
    for row in rng.sample(rows, min(count, len(rows))):
        number, street = row["house_number"], row["street"]
        unit = f" Apt {row['unit']}" if row.get("unit") else ""
        text = rng.choice(
            [
                f"{number} {street}{unit}",
                f"{number} {street.title()}{unit}",
                f"{number} {street.lower()}{unit}, Cape Girardeau, MO {row['zip']}",
                f"{number} {street}{unit} {row['zip']}",
            ]
        )
        paths.append("/api/v1/lookup?" + urllib.parse.urlencode({"address": text}))
    return paths


def load(port: int, name: str, paths: list[str], total: int, concurrency: int, cap: float) -> Run:
    """Send ``total`` GETs cycling through ``paths`` from ``concurrency`` threads (or stop at
    ``cap`` seconds), each thread on its own keep-alive connection."""
    run = Run(name)
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.perf_counter() + cap

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        lat, errs, statuses = [], 0, Counter()
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path = paths[i % len(paths)]
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    errs += 1
                    continue
                lat.append(time.perf_counter() - t0)
                if name == "lookup":
                    marker = body.find(b'"status":"')
                    statuses[body[marker + 10 : body.find(b'"', marker + 10)].decode()] += 1
            except (OSError, http.client.HTTPException):
                errs += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()
        with lock:
            run.latencies.extend(lat)
            run.errors += errs
            run.statuses.update(statuses)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.wall = time.perf_counter() - started
    return run


def start_server(
    port: int, workdir: Path, workers: int, threads: int, env_extra: dict[str, str] | None = None
) -> subprocess.Popen:
    """``cyclemap serve`` for the demo city on a fresh SQLite file, without access logs
    (``env_extra``: more ``CYCLEMAP_*`` settings, such as the soak's ``CYCLEMAP_TODAY``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYCLEMAP_")}
    env["CYCLEMAP_RATELIMIT"] = ""
    env.update(env_extra or {})
    cmd = [
        sys.executable,
        "-m",
        "cyclemap",
        "--database-url",
        f"sqlite:///{workdir / 'bench.sqlite'}",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--no-access-log",
    ]
    log = (workdir / "server.log").open("w")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(port: int, proc: subprocess.Popen, workdir: Path, timeout: float = 90) -> None:
    """Poll ``/healthz`` until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (workdir / "server.log").read_text()[-2000:]
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop gunicorn gracefully (SIGTERM), then for good."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its numbers; 0 unless ``--strict`` and a target is missed."""
    parser = argparse.ArgumentParser(prog="bench_api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--baseline-requests", type=int, default=4_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds per run at most")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv if argv is not None else [])

    paths = queries(2_000)
    with tempfile.TemporaryDirectory(prefix="cyclemap-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        started = time.perf_counter()
        proc = start_server(port, workdir, args.workers, args.threads)
        try:
            wait_ready(port, proc, workdir)
            print(
                f"gunicorn: {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}, "
                f"ready in {time.perf_counter() - started:.1f} s; client: {args.concurrency} "
                f"threads, keep-alive; {os.cpu_count()} cores shared by both"
            )
            load(port, "warm-up", paths, 600, args.concurrency, args.cap)
            load(port, "warm-up", ["/healthz"], 600, args.concurrency, args.cap)
            base = load(
                port, "healthz", ["/healthz"], args.baseline_requests, args.concurrency, args.cap
            )
            run = load(port, "lookup", paths, args.requests, args.concurrency, args.cap)
        finally:
            stop(proc)

    print(base.line())
    print(run.line())
    shares = ", ".join(
        f"{k} {v / max(1, sum(run.statuses.values())):.1%}" for k, v in run.statuses.most_common()
    )
    print(f"answers: {shares}")
    print(f"lookup / healthz throughput: {run.rps / base.rps:.2f}" if base.rps else "")
    ok_rps = run.rps >= TARGET_RPS
    ok_p99 = run.pct(99) < TARGET_P99_MS
    ok_err = run.errors == 0 and run.done == args.requests
    print(
        f"target: >= {TARGET_RPS} req/s {'OK' if ok_rps else 'MISSED'}, "
        f"p99 < {TARGET_P99_MS:.0f} ms {'OK' if ok_p99 else 'MISSED'}, "
        f"0 errors {'OK' if ok_err else 'MISSED'}"
    )
    return 1 if args.strict and not (ok_rps and ok_p99 and ok_err) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
