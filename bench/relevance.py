"""Relevance of keyword, semantic and hybrid search on the labelled VCDB queries.

Usage: .venv/bin/python bench/relevance.py [DB]   (DB: an embedded VCDB database, default db/kb.db)
"""

import sys
from pathlib import Path

from kb.search_eval import evaluate, read_labelled
from kb.search import Searcher

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# vcdb_queries.tsv guided the choice of fusion; vcdb_queries_validation.tsv was written
# afterwards by someone who never saw the search engine, to check that choice.
QUERY_FILES = ("vcdb_queries.tsv", "vcdb_queries_validation.tsv")


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else "db/kb.db"
    searcher = Searcher(db)
    for name in QUERY_FILES:
        pairs = read_labelled(DATA / name)
        print(f"\n{name}: {len(pairs)} labelled queries over {db}")
        print(f"{'mode':<10}{'recall@10':>10}{'MRR@10':>10}")
        for mode in ("keyword", "semantic", "hybrid"):
            result = evaluate(searcher, pairs, mode)
            print(f"{mode:<10}{result['recall']:>10.3f}{result['mrr']:>10.3f}")


if __name__ == "__main__":
    main()
