"""Relevance measures for labelled queries: recall@k, hit@5 and mean reciprocal rank.

A labelled query names the external id of the document it is about. Scored
by document, a hit is right when it is that document; scored by incident,
when it is the incident that document reports on (or the document itself,
while it is linked to no incident).
"""

from __future__ import annotations

from pathlib import Path

from ..storage.merged import final_incidents
from .filters import Filters
from .searcher import Searcher


def read_labelled(path: str | Path) -> list[tuple[str, str]]:
    """(query, expected external id) pairs from a TSV file; '#' lines are comments."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, expected = line.split("\t")
            pairs.append((query.strip(), expected.strip()))
    return pairs


def _expected_incidents(searcher: Searcher, external_ids: set[str]) -> dict[str, set[int]]:
    """For each external id (lower case), the incidents its documents report on (merges resolved)."""
    db = searcher.connect()
    out: dict[str, set[int]] = {e: set() for e in external_ids}
    for external_id, incident_id in db.execute(
            "SELECT lower(d.external_id), l.incident_id FROM documents d "
            "JOIN incident_documents l ON l.document_id = d.id"):
        if external_id in out:
            out[external_id].add(incident_id)
    targets = final_incidents(db, {i for ids in out.values() for i in ids})
    return {e: {targets.get(i, i) for i in ids} for e, ids in out.items()}


def evaluate(searcher: Searcher, pairs: list[tuple[str, str]], mode: str, k: int = 10,
             filters: Filters | None = None, by: str = "document") -> dict[str, float]:
    """Recall@k, hit@5 and MRR@k of `mode` over the labelled pairs (ids compared case-insensitively)."""
    incidents = _expected_incidents(searcher, {e.lower() for _, e in pairs}) if by == "incident" else {}
    found = top5 = 0
    reciprocal = 0.0
    answers = searcher.search_many([q for q, _ in pairs], k=k, mode=mode, filters=filters, by=by)
    for (query, expected), (_, results, error) in zip(pairs, answers):
        expected = expected.lower()
        rank = None
        for hit in (results.hits if results else []):
            ids = {hit.external_id.lower(), *(d.external_id.lower() for d in getattr(hit, "documents", []))}
            if expected in ids or (by == "incident" and hit.incident_id in incidents.get(expected, ())):
                rank = hit.rank
                break
        if rank:
            found += 1
            top5 += rank <= 5
            reciprocal += 1.0 / rank
    n = len(pairs) or 1
    return {"recall": found / n, "hit@5": top5 / n, "mrr": reciprocal / n}
