"""Relevance measures for labelled queries: recall@k and mean reciprocal rank."""

from __future__ import annotations

from pathlib import Path

from .search import Filters, Searcher


def read_labelled(path: str | Path) -> list[tuple[str, str]]:
    """(query, expected external id) pairs from a TSV file; '#' lines are comments."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, expected = line.split("\t")
            pairs.append((query.strip(), expected.strip()))
    return pairs


def evaluate(searcher: Searcher, pairs: list[tuple[str, str]], mode: str, k: int = 10,
             filters: Filters | None = None) -> dict[str, float]:
    """Recall@k and MRR@k of `mode` over the labelled pairs (ids compared case-insensitively)."""
    found, reciprocal = 0, 0.0
    for query, expected in pairs:
        hits = searcher.search(query, k=k, mode=mode, filters=filters)
        ranks = [h["rank"] for h in hits if h["external_id"].lower() == expected.lower()]
        if ranks:
            found += 1
            reciprocal += 1.0 / ranks[0]
    return {"recall": found / len(pairs), "mrr": reciprocal / len(pairs)}
