"""Shared pieces of kb.incidents: stored facts, documents, links and SQL helpers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import logging

import sqlite_utils

from ..errors import KBError
from ..store import batches

log = logging.getLogger(__name__)
_BATCH = 900  # ids per IN (...) list


@dataclass
class Fact:
    """One stored entity mention of a document."""

    kind: str
    name: str
    value: str | None
    label: str | None
    status: str = "fact"  # or claim / denied / hypothetical / rumour: never an incident fact



def _document_vectors(db: sqlite_utils.Database, doc_ids=None) -> dict:
    """Vectors of `doc_ids` (default: all) from kb.embed, when it is installed and anything is embedded."""
    try:
        from ..embed import document_vectors
    except ImportError:  # the embedding extras (numpy) are not installed
        return {}
    try:
        return document_vectors(db, doc_ids)
    except (KBError, ValueError, OSError) as exc:  # a missing, mid-rebuild or foreign index: link without it
        log.warning("linking without document vectors: %s", exc)
        return {}


def _facts(db: sqlite_utils.Database, doc_ids: list[int]) -> dict[int, list[Fact]]:
    out: dict[int, list[Fact]] = defaultdict(list)
    for chunk in batches(list(doc_ids), _BATCH):
        for doc_id, kind, name, value, label, status in db.execute(
                "SELECT de.document_id, e.kind, e.name, de.value, de.label, de.status FROM document_entities de "
                f"JOIN entities e ON e.id = de.entity_id WHERE de.document_id IN ({_marks(chunk)}) "
                "ORDER BY de.document_id, de.span_start", chunk):
            out[doc_id].append(Fact(kind, name, value, label, status))
    return out


def _document(db: sqlite_utils.Database, doc_id: int) -> dict:
    cur = db.execute("SELECT id, title, text, published, language FROM documents WHERE id = ?", [doc_id])
    row = cur.fetchone()
    if row is None:
        raise KBError(f"no document d{doc_id}")
    return dict(zip([d[0] for d in cur.description], row))


def _incident_docs(db: sqlite_utils.Database, inc_id: int) -> list[int]:
    return [r[0] for r in db.execute(
        "SELECT document_id FROM incident_documents WHERE incident_id = ? ORDER BY document_id", [inc_id])]


def _linked(db: sqlite_utils.Database, doc_id: int) -> bool:
    return db.execute("SELECT 1 FROM incident_documents WHERE document_id = ? LIMIT 1", [doc_id]).fetchone() is not None


def _require(db: sqlite_utils.Database, inc_ids: list[int]) -> None:
    for inc_id in inc_ids:
        row = db.execute("SELECT merged_into FROM incidents WHERE id = ?", [inc_id]).fetchone()
        if row is None:
            raise KBError(f"no incident i{inc_id}")
        if row[0] is not None:
            raise KBError(f"incident i{inc_id} was merged into i{row[0]}")


def _marks(items) -> str:
    return ", ".join("?" * len(items))
