"""Throughput and latency of /-/kb-search.json under concurrent clients, against a real `kb serve`.

Usage: .venv/bin/python bench/datasette_load.py [DB] [--clients 10] [--seconds 20] [--mode hybrid]
DB: an embedded database (default db/kb.db, as `make demo` builds it). The
script starts `kb serve` on a free local port, waits until the model is
loaded, then runs the clients (threads, one HTTP connection each) cycling
through the queries below, and prints requests/second and latency percentiles.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

KB = str(Path(sys.executable).parent / "kb")
QUERIES = [
    "intern sabotaged model training",
    "employee stole trade secrets before joining a competitor",
    "former employee deleted cloud servers after being fired",
    "logic bomb planted by a contractor",
    "字节跳动 实习生",
    "删库",
    "engineer uploaded source code to a personal account",
    "bank employee sold customer records",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    """`kb serve` on a free port; returns the process and its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen([KB, "--db", str(db), "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            httpx.get(base + "/-/kb-search.json?q=warm+up", timeout=30).raise_for_status()
            return proc, base
        except httpx.TransportError:
            time.sleep(0.3)
    proc.terminate()
    sys.exit(f"kb serve did not start on {db}")


def client(base: str, mode: str, offset: int, until: float, latencies: list, errors: list,
           floor: bool = False) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        i = offset
        while time.monotonic() < until:
            path = ("/-/versions.json" if floor else
                    "/-/kb-search.json?" + urlencode({"q": QUERIES[i % len(QUERIES)], "mode": mode}))
            start = time.perf_counter()
            response = http.get(path)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                errors.append(response.status_code)
            i += 1


def percentile(ms: list[float], p: float) -> float:
    return ms[min(len(ms) - 1, int(round(p * (len(ms) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path, nargs="?", default=Path("db/kb.db"))
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"no database at {args.db}: run `make demo` first or give DB")
    proc, base = start_server(args.db)
    try:
        # The floor: the same clients on a page that runs no search (what Datasette itself costs here).
        for label, floor in (("/-/versions.json (no search, the floor)", True),
                             (f"/-/kb-search.json ({args.mode})", False)):
            report(label, *load(base, args, floor), args)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def load(base: str, args, floor: bool) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=client, args=(base, args.mode, n, until, latencies, errors, floor))
               for n in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def report(label: str, latencies: list[float], errors: list[int], elapsed: float, args) -> None:
    ms = sorted(x * 1000 for x in latencies)
    print(f"{label} on {args.db}: {args.clients} clients for {args.seconds:.0f}s")
    print(f"  requests {len(ms)}  errors {len(errors)}  {len(ms) / elapsed:.1f} req/s")
    print(f"  latency p50 {statistics.median(ms):.1f} ms  p95 {percentile(ms, 0.95):.1f} ms  "
          f"max {ms[-1]:.1f} ms")

if __name__ == "__main__":
    main()
