"""Warm `kb search` latency with a per-stage breakdown: exact flat index (baseline) vs the "auto" index.

Usage: .venv/bin/python bench/query_latency.py DB [--rounds 2]
DB: an embedded database (after `make demo`, or one that `bench/scale.py --keep
DIR` generated at 100k+ passages). Both indexes are built from the vectors
in DB into a temporary folder and searched in the same process with the
labelled queries of tests/data (English) and a few Chinese ones. Printed per
index: recall@10 against exact search, FAISS p50/p95 at the k kb search asks
for, and hybrid p50/p95 split into stages: query encoding, FAISS, FTS keyword
hits, the SQL join of chunks to documents, the SQL of result rows, and the
rest (Python: fusion, sorting, dicts), and the CPU time of the whole search
(the machine is shared: wall time includes waiting for a core). Before that,
query encoding and exact FAISS with the libraries' default threads vs one.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import kb.embed
import kb.search
from kb import vector_index as index
from kb.db import open_db
from kb.search import POOL, Searcher
from scale import load_queries, ms, recall_at

# (module, function, stage name): wrapped while measuring; names absent from the module are skipped.
STAGES = [
    (kb.embed, "encode_query", "query encoding"),
    (kb.search, "keyword_hits", "FTS keyword hits"),
    (kb.search, "_best_chunks", "SQL chunks->documents"),
    (kb.search, "_describe", "SQL result rows"),
]


class _TimedIndex:
    """Delegates to a FAISS index, adding each search's time to a stage."""

    def __init__(self, inner, spent):
        self._inner, self._spent = inner, spent

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def search(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._inner.search(*args, **kwargs)
        finally:
            self._spent["FAISS search"] += time.perf_counter() - start


@contextlib.contextmanager
def timed_stages(searcher: Searcher, spent: dict):
    """Wrap the stage functions and the searcher's index so each call adds to `spent`."""
    originals = []

    def wrap(module, name, stage):
        inner = getattr(module, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start
        originals.append((module, name, inner))
        setattr(module, name, timed)

    for module, name, stage in STAGES:
        if hasattr(module, name):
            wrap(module, name, stage)
    plain_index = searcher.index
    searcher.index = lambda: _TimedIndex(plain_index(), spent)
    try:
        yield
    finally:
        searcher.index = plain_index
        for module, name, inner in originals:
            setattr(module, name, inner)


def profile(searcher: Searcher, queries: list[str], rounds: int) -> dict[str, list[float]]:
    """Per query: seconds in each stage, and the whole hybrid search."""
    times: dict[str, list[float]] = defaultdict(list)
    for query in queries * rounds:
        spent: dict[str, float] = defaultdict(float)
        with timed_stages(searcher, spent):
            start, cpu = time.perf_counter(), time.thread_time()
            searcher.search(query, k=10, mode="hybrid")
            total = time.perf_counter() - start
            cpu = time.thread_time() - cpu
        for stage in [s for _, _, s in STAGES] + ["FAISS search"]:
            times[stage].append(spent[stage])
        times["Python, fusion, rest"].append(total - sum(spent.values()))
        times["hybrid kb search"].append(total)
        times["  its CPU time"].append(cpu)  # this thread's: what an idle core would take
    return times


def thread_effect(model, flat, queries: list[str], threads: int = 2) -> None:
    """Query encoding and exact FAISS at `threads` threads (the libraries' default here) vs one."""
    import faiss
    import torch

    for n in (threads, 1):
        torch.set_num_threads(n)
        faiss.omp_set_num_threads(n)
        encode, scan = [], []
        for query in queries:
            start = time.perf_counter()
            vector = kb.embed.encode_query(model, query)
            encoded = time.perf_counter()
            flat.search(vector, POOL * 4)
            encode.append(encoded - start)
            scan.append(time.perf_counter() - encoded)
        print(f"  {n} thread(s): query encoding {ms(encode)}; exact FAISS {ms(scan)}")


def compare(db_path: Path, paths: dict[str, Path], model, queries: list[str], rounds: int = 2) -> dict:
    """Hybrid search over `db_path` with each index file in `paths` ("flat" first: the baseline)."""
    vectors = np.vstack([kb.embed.encode_query(model, q) for q in queries])
    exact = index.load(paths["flat"])
    results = {}
    for kind, path in paths.items():
        searcher = Searcher(db_path, model=model)
        searcher.index_path = path
        searcher.warm_up()
        loaded = searcher.index()
        faiss_times = []
        for vector in vectors:
            start = time.perf_counter()
            loaded.search(vector[None, :], POOL * 4)
            faiss_times.append(time.perf_counter() - start)
        recall = recall_at(loaded, exact, vectors) if kind != "flat" else 1.0
        searcher.search(queries[0])  # warm the SQLite page cache for this searcher's connection
        times = profile(searcher, queries, rounds)
        print(f"  {kind} ({index.params(loaded)}): recall@10 vs exact {recall:.3f}; "
              f"FAISS alone at k={POOL * 4}: {ms(faiss_times)}")
        for stage, samples in times.items():
            print(f"    {stage:<24} {ms(samples)}")
        results[kind] = {"recall": recall, "times": times}
    flat = statistics.median(results["flat"]["times"]["hybrid kb search"])
    for kind in list(results)[1:]:
        print(f"  hybrid p50, flat / {kind}: {flat / statistics.median(results[kind]['times']['hybrid kb search']):.2f}x")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    db = open_db(args.db, create=False)
    ids, vectors = index._vectors(db)
    searcher = Searcher(args.db)
    model = searcher.model(db)
    chosen = index.choose(len(ids))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for kind in dict.fromkeys(["flat", chosen, "hnsw"]):
            paths[kind] = Path(tmp) / f"{kind}.faiss"
            index.save(index.build(ids, vectors, kind), paths[kind])
        print(f"{args.db}: {len(ids):,} passages; auto chooses {chosen}")
        thread_effect(model, index.load(paths["flat"]), load_queries()[:30])
        compare(args.db, paths, model, load_queries(), args.rounds)


if __name__ == "__main__":
    main()
