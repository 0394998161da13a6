"""Incidents like a given one: shared entities, type and organisation, plus embeddings."""

from __future__ import annotations

from collections import defaultdict

import sqlite_utils

from ..index.chunks import document_vectors
from ..storage.sql import marks
from ..storage.store import require_incidents

_SIMILAR_WEIGHTS = {"organisation": 0.3, "person": 0.3, "case_number": 0.5, "court": 0.2,
                    "statute": 0.15, "money": 0.15, "incident_type": 0.2, "role": 0.1}


def similar(db: sqlite_utils.Database, incident_id: int, limit: int = 10) -> list[dict]:
    """Incidents like the given one: shared entities, type and organisation, plus embeddings."""
    require_incidents(db, [incident_id])
    names = _incident_names(db)
    fields = {r[0]: r[1:] for r in db.execute(
        "SELECT id, key, title, organisation, incident_type, insider_role, year FROM incidents WHERE merged_into IS NULL")}
    for inc_id, (_, _, org, itype, role, _) in fields.items():
        for kind, value in (("organisation", org), ("incident_type", itype), ("role", role)):
            if value:
                names[inc_id][kind].add(value)
    vectors = _incident_vectors(db)
    me = names[incident_id]
    results = []
    for other, theirs in names.items():
        if other == incident_id or other not in fields:
            continue
        shared = {k: sorted(me[k] & theirs[k]) for k in _SIMILAR_WEIGHTS if me[k] & theirs[k]}
        score = min(1.0, sum(_SIMILAR_WEIGHTS[k] for k in shared))
        cosine = None
        if incident_id in vectors and other in vectors:
            cosine = float(vectors[incident_id] @ vectors[other])
            score = 0.5 * score + 0.5 * max(0.0, cosine)
        if score > 0:
            key, title, org, itype, _, year = fields[other]
            results.append({"id": other, "key": key, "title": title, "organisation": org,
                            "incident_type": itype, "year": year, "score": round(score, 3),
                            "cosine": None if cosine is None else round(cosine, 3), "shared": shared})
    results.sort(key=lambda r: (-r["score"], r["id"]))
    return results[:limit]


def _incident_names(db: sqlite_utils.Database) -> dict[int, dict[str, set[str]]]:
    names: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for inc_id, kind, name in db.execute(
            "SELECT DISTINCT l.incident_id, e.kind, e.name FROM incident_documents l "
            "JOIN document_entities de ON de.document_id = l.document_id JOIN entities e ON e.id = de.entity_id "
            f"WHERE e.kind IN ({marks(_SIMILAR_WEIGHTS)})", list(_SIMILAR_WEIGHTS)):
        names[inc_id][kind].add(name)
    return names


def _incident_vectors(db: sqlite_utils.Database) -> dict:
    docs = document_vectors(db)
    if not docs:
        return {}
    import numpy as np

    grouped: dict[int, list] = defaultdict(list)
    for inc_id, doc_id in db.execute("SELECT incident_id, document_id FROM incident_documents"):
        if doc_id in docs:
            grouped[inc_id].append(docs[doc_id])
    out = {}
    for inc_id, vecs in grouped.items():
        mean = np.mean(vecs, axis=0)
        out[inc_id] = mean / (np.linalg.norm(mean) or 1.0)
    return out

