"""Query latency of kb search (warm) against a brute-force cosine scan in SQLite.

Usage: .venv/bin/python bench/query_latency.py DB [--big 100000]
DB: an embedded database (e.g. after `make demo`). The brute-force scan is
how `llm similar` and datasette-embeddings search: read every stored vector
in SQL and score it. The second part replicates the real chunk vectors
(with small noise) to --big chunks in a temporary database.
"""

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from kb import config, vector_index as index
from kb.db import open_db
from kb.embed import encode_query
from kb.search import Searcher

QUERIES = [
    "employee stole trade secrets before joining a competitor",
    "nurse looked at patient records without a reason",
    "former employee deleted files after being fired",
    "laptop with unencrypted customer data was stolen",
    "clerk sold social security numbers",
    "bank teller embezzled money from customer accounts",
    "misdirected email exposed personal information",
    "system administrator sabotaged servers",
]


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):7.2f} ms  p95 {p95:7.2f} ms"


def brute_force(conn: sqlite3.Connection, vector: np.ndarray, k: int = 10):
    return conn.execute(
        "SELECT id, cosine(embedding) AS s FROM chunks WHERE embedding IS NOT NULL ORDER BY s DESC LIMIT ?",
        [k]).fetchall()


def measure(db_path: Path, searcher: Searcher, rounds: int = 3) -> dict[str, list[float]]:
    model = searcher.model(searcher.connect())
    conn = sqlite3.connect(db_path)
    current = {}
    conn.create_function("cosine", 1, lambda blob: float(np.frombuffer(blob, dtype=np.float32) @ current["v"]),
                         deterministic=True)
    times = {name: [] for name in ("query encoding", "faiss top-100", "sqlite scan top-10",
                                   "kb search semantic", "kb search hybrid", "encode + sqlite scan")}
    for query in QUERIES * rounds:
        start = time.perf_counter()
        vector = encode_query(model, query)
        encoded = time.perf_counter()
        times["query encoding"].append(encoded - start)
        current["v"] = vector[0]
        searcher.index().search(vector, 100)
        times["faiss top-100"].append(time.perf_counter() - encoded)
        start = time.perf_counter()
        brute_force(conn, vector)
        scanned = time.perf_counter() - start
        times["sqlite scan top-10"].append(scanned)
        times["encode + sqlite scan"].append(scanned + times["query encoding"][-1])
        for mode in ("semantic", "hybrid"):
            start = time.perf_counter()
            searcher.search(query, k=10, mode=mode)
            times[f"kb search {mode}"].append(time.perf_counter() - start)
    return times


def report(label: str, times: dict[str, list[float]]) -> None:
    print(f"\n{label}")
    for name, samples in times.items():
        print(f"  {name:<22} {percentiles(samples)}")
    p50 = {name: statistics.median(samples) for name, samples in times.items()}
    print(f"  vector stage, sqlite scan / faiss (p50): {p50['sqlite scan top-10'] / p50['faiss top-100']:.1f}x")
    print(f"  end to end, encode + scan / kb search semantic (p50): "
          f"{p50['encode + sqlite scan'] / p50['kb search semantic']:.2f}x")


def grow(source: Path, target: Path, size: int) -> None:
    """Copy the database and replicate its chunk vectors (plus noise) up to `size` chunks."""
    open_db(source).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source, target)
    db = open_db(target)
    rows = db.execute("SELECT document_id, text, text_hash, embedding FROM chunks WHERE embedding IS NOT NULL").fetchall()
    rng = np.random.default_rng(0)
    have, seq = len(rows), 10_000
    with db.conn:
        while have < size:
            batch = []
            for doc_id, text, digest, blob in rows[: size - have]:
                v = np.frombuffer(blob, dtype=np.float32) + rng.normal(0, 0.02, 384).astype(np.float32)
                v /= np.linalg.norm(v)
                batch.append((doc_id, seq, text, digest, v.tobytes()))
                seq += 1
            db.conn.executemany(
                "INSERT INTO chunks (document_id, seq, text, text_hash, embedding) VALUES (?, ?, ?, ?, ?)", batch)
            have += len(batch)
    index.rebuild(db, config.index_path(target))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--big", type=int, default=100_000)
    args = parser.parse_args()
    searcher = Searcher(args.db)
    searcher.warm_up()
    chunks = open_db(args.db).execute("SELECT count(*) FROM chunks").fetchone()[0]
    report(f"{args.db} ({chunks} chunks)", measure(args.db, searcher))
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.db"
        grow(args.db, big, args.big)
        big_searcher = Searcher(big, model=searcher.model(searcher.connect()))
        report(f"replicated corpus ({args.big} chunks)", measure(big, big_searcher, rounds=2))


if __name__ == "__main__":
    main()
