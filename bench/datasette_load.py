"""Throughput and latency of /-/kb-search.json under concurrent clients, against a real `kb serve`.

Usage: .venv/bin/python bench/datasette_load.py [DB] [--clients 10] [--seconds 20] [--mode hybrid]
DB: an embedded database (default db/kb.db, as `make demo` builds it). The
script starts `kb serve` on a free local port, waits until the model is
loaded, then runs the clients (threads, one HTTP connection each) and prints
requests/second and latency percentiles for three loads, one after another:
- the floor: a page that runs no search (what Datasette itself costs here);
- repeated queries: the clients cycle through the 8 queries below, so after
  the first round every search is a repeat (the server's caches answer);
- distinct queries: every request a query not asked before in the run (the
  labelled queries of tests/data, then the first words of VCDB summaries
  from $KB_SHARED_DATA), so every search runs in full, query encoding included.
  The load stops early when the queries run out.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from kb import settings

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


def distinct_queries(count: int) -> list[str]:
    """`count` real queries, none repeated: tests/data's labelled ones, then VCDB summaries' first words."""
    data = Path(__file__).resolve().parent.parent / "tests" / "data"
    found = []
    for path in sorted(data.glob("*.tsv")):
        if path.name == "same_case_pairs.tsv":
            continue
        rows = csv.reader((line for line in path.read_text(encoding="utf-8").splitlines()
                           if line and not line.startswith("#")), delimiter="\t")
        found += [row[0].strip() for row in rows if row]
    vcdb = settings.shared_data() / "vcdb" / "json"
    for path in sorted(vcdb.glob("*.json")):
        if len(found) >= 4 * count:
            break
        summary = " ".join((json.loads(path.read_text(encoding="utf-8")).get("summary") or "").split()[:10])
        if len(summary) > 20:
            found.append(summary)
    unique = [q for q in dict.fromkeys(found) if q not in QUERIES]
    return unique[:count]


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


def client(base: str, mode: str, queries, until: float, latencies: list, errors: list) -> None:
    """Requests, one at a time, until the time is up or `queries` (an iterator shared by all clients) ends."""
    with httpx.Client(base_url=base, timeout=60) as http:
        while time.monotonic() < until:
            query = next(queries, None)
            if query is None:
                return
            path = "/-/versions.json" if query == "" else "/-/kb-search.json?" + urlencode({"q": query, "mode": mode})
            start = time.perf_counter()
            response = http.get(path)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                errors.append(response.status_code)


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
    distinct = distinct_queries(5000)
    proc, base = start_server(args.db)
    try:
        loads = (("/-/versions.json (no search, the floor)", itertools.repeat("")),
                 (f"/-/kb-search.json ({args.mode}), 8 repeated queries", itertools.cycle(QUERIES)),
                 (f"/-/kb-search.json ({args.mode}), distinct queries ({len(distinct)} available)", iter(distinct)))
        for label, queries in loads:
            report(label, *load(base, args, _Locked(queries)), args)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class _Locked:
    """`next()` of an iterator, safe from several threads."""

    def __init__(self, iterator):
        self._iterator, self._lock = iterator, threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._iterator)


def load(base: str, args, queries) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=client, args=(base, args.mode, queries, until, latencies, errors))
               for _ in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def report(label: str, latencies: list[float], errors: list[int], elapsed: float, args) -> None:
    ms = sorted(x * 1000 for x in latencies)
    print(f"{label} on {args.db}: {args.clients} clients for {elapsed:.1f}s")
    print(f"  requests {len(ms)}  errors {len(errors)}  {len(ms) / elapsed:.1f} req/s")
    print(f"  latency p50 {statistics.median(ms):.1f} ms  p95 {percentile(ms, 0.95):.1f} ms  "
          f"max {ms[-1]:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
