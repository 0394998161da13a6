"""Relevance of keyword, semantic and hybrid search on the labelled queries, by document and by incident,
and the throughput of batch search (`kb search --queries`) against one query at a time.

Usage: .venv/bin/python bench/relevance.py [DB] [--no-speed] [--without-twins] [--scope in]
DB: an embedded VCDB database (default db/kb.db: kb init; kb import starter; kb import vcdb; kb embed).
The cross-lingual sets (tests/data/crosslingual_*.tsv) are reported when present.
--without-twins: measure a copy of DB without the English twin of any curated Chinese text
(starter KEY beside KEY#zh), so only the Chinese text can answer an English question about it.
--scope in: search as the CLI and the web do by default (in-scope incidents only), over the
labelled queries whose record's incident is in scope (kb.incidents.scope); default: every incident.
"""

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kb import settings
from kb.index import vector_index
from kb.storage.db import open_db
from kb.search.evaluate import evaluate, read_labelled
from kb.search.filters import Filters
from kb.search.searcher import Searcher
from query_latency import single_and_batched  # bench/ is on sys.path when this script runs

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
KB = str(Path(sys.executable).parent / "kb")
# vcdb_queries.tsv guided the choice of fusion; vcdb_queries_validation.tsv was written
# afterwards by someone who never saw the search engine, to check that choice; vcdb_queries_vague.tsv
# holds short queries without names or figures (issue 24 item 2).
QUERY_FILES = ("vcdb_queries.tsv", "vcdb_queries_validation.tsv", "vcdb_queries_vague.tsv",
               "crosslingual_en_zh.tsv", "crosslingual_zh_en.tsv")


def relevance(searcher: Searcher, db: str, scope: str | None = None) -> None:
    filters = Filters(scope=scope)
    for name in QUERY_FILES:
        if not (DATA / name).exists():
            print(f"\n{name}: not present, skipped")
            continue
        pairs = read_labelled(DATA / name)
        if scope:
            pairs = of_scope(searcher, pairs, scope)
        print(f"\n{name}: {len(pairs)} labelled queries over {db}" + (f" (scope {scope})" if scope else ""))
        print(f"{'by':<10}{'mode':<10}{'recall@10':>10}{'hit@5':>8}{'MRR@10':>8}")
        rows = [(by, mode, filters) for by in ("incident", "document") for mode in ("keyword", "semantic", "hybrid")]
        if scope:  # the same queries over every incident, beside them
            rows.append(("incident", "hybrid", Filters()))
        for by, mode, filters_used in rows:
            r = evaluate(searcher, pairs, mode, by=by, filters=filters_used)
            name = mode if filters_used is filters else f"{mode}/all"
            print(f"{by:<10}{name:<10}{r['recall']:>10.3f}{r['hit@5']:>8.3f}{r['mrr']:>8.3f}")


def of_scope(searcher: Searcher, pairs: list[tuple[str, str]], scope: str) -> list[tuple[str, str]]:
    """The pairs whose expected record belongs to an incident of this scope."""
    found = {r[0] for r in searcher.connect().execute(
        "SELECT lower(d.external_id) FROM documents d JOIN incident_documents l ON l.document_id = d.id "
        "JOIN incidents i ON i.id = l.incident_id WHERE i.scope = ?", [scope])}
    return [(q, e) for q, e in pairs if e.lower() in found]


def speed(searcher: Searcher, db: str) -> None:
    """Queries per second: one at a time (in process, and one `kb search` per query) vs batched."""
    queries = [q for name in QUERY_FILES[:2] for q, _ in read_labelled(DATA / name)]
    searcher.search("warm up", k=10)
    single, batched = single_and_batched(searcher, queries)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as handle:
        handle.write("\n".join(queries) + "\n")
        handle.flush()
        start = time.perf_counter()
        subprocess.run([KB, "--db", db, "search", "--queries", handle.name, "--json"], check=True,
                       capture_output=True)
        cli_batch = len(queries) / (time.perf_counter() - start)
    sample = queries[:3]
    start = time.perf_counter()
    for query in sample:
        subprocess.run([KB, "--db", db, "search", query, "--json"], check=True, capture_output=True)
    cli_single = len(sample) / (time.perf_counter() - start)
    print(f"\nthroughput over {len(queries)} queries (hybrid, by incident, k=10, cold query cache)")
    print(f"  in process, one query at a time   {single:8.1f} queries/s")
    print(f"  in process, search_many (batched) {batched:8.1f} queries/s  ({batched / single:.1f}x)")
    print(f"  kb search QUERY, one process each {cli_single:8.2f} queries/s (over {len(sample)})")
    print(f"  kb search --queries FILE          {cli_batch:8.1f} queries/s  ({cli_batch / cli_single:.0f}x)")


def without_twins(db: str, folder: Path) -> str:
    """A copy of the database without the English twins of curated Chinese texts, its index rebuilt."""
    source = sqlite3.connect(db)
    copy = folder / "kb.db"
    with sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    kb = open_db(copy, create=False)
    ids = dict(kb.execute("SELECT external_id, id FROM documents WHERE source = 'starter'").fetchall())
    twins = [ids[e[:-3]] for e in ids if e.endswith("#zh") and e[:-3] in ids]
    with kb.conn:
        for doc_id in twins:
            for table, column in (("chunks", "document_id"), ("incident_documents", "document_id"),
                                  ("documents", "id")):
                kb.execute(f"DELETE FROM {table} WHERE {column} = ?", [doc_id])
    vector_index.rebuild(kb, settings.paths(copy).index)
    print(f"without the English twins of {len(twins)} curated Chinese texts: {copy}")
    return str(copy)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", nargs="?", default="db/kb.db")
    parser.add_argument("--no-speed", action="store_true", help="only the relevance tables")
    parser.add_argument("--without-twins", action="store_true",
                        help="on a copy without the English twins of curated Chinese texts")
    parser.add_argument("--scope", choices=("in",), default=None,
                        help="search in-scope incidents only, over the queries whose record is in scope")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = without_twins(args.db, Path(folder)) if args.without_twins else args.db
        searcher = Searcher(db)
        relevance(searcher, db, args.scope)
        if not args.no_speed:
            speed(searcher, db)


if __name__ == "__main__":
    main()
