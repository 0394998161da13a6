"""Write records into the knowledge base, idempotently.

A document is unique by (source, external_id). Saving the same record twice
changes nothing; saving a changed record updates it in place and reports
"updated". Incidents are unique by key; fields a person edited by hand
(`incidents.manual_fields`) are never overwritten by a machine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields, is_dataclass
from itertools import islice
from typing import Iterable

import sqlite_utils

from ..errors import NotFound
from ..records import CaseRecord, DocumentRecord, IncidentRecord
from . import amounts
from .sql import batches, marks, now_iso, transaction

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"
# What extraction and linking read of a document's text (the whole text is stored, chunked and
# searched): a long judgment is ~200,000 characters; the window bounds `kb add` of a 5 MB page.
EXTRACT_CHARS = 500_000

# The writes below are hand-written SQL: this is the import hot path, and sqlite-utils'
# Table.insert/upsert cost ~20x more per row (they re-read the schema on every call).

_DOC_FIELDS = (
    "source", "external_id", "kind", "url", "canonical_url", "title", "author",
    "published", "language", "text", "curated", "fetched_at", "http_etag",
    "http_last_modified", "raw_sha256", "raw_path",
)


_PROVENANCE = ("fetched_at", "http_etag", "http_last_modified", "raw_sha256", "raw_path")


def content_hash(rec: DocumentRecord) -> str:
    """Hash of everything that the record says (not when or from which snapshot it was fetched)."""
    payload = {f.name: getattr(rec, f.name) for f in fields(rec) if f.name not in _PROVENANCE}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=_plain).encode()).hexdigest()


def _plain(value):
    """JSON for nested records, as `dataclasses.asdict` would give, without its deep copies."""
    if is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return str(value)


def save_document(db: sqlite_utils.Database, rec: DocumentRecord,
                  known: dict[tuple[str, str], tuple[int, str]] | None = None) -> tuple[str, int]:
    """Insert or update one document (and its incident and cases); return (status, id).

    Call inside `transaction(db)`. `known` (from `stored_documents`) spares the lookup.
    """
    digest = content_hash(rec)
    key = (rec.source, rec.external_id)
    if known is None:
        known = stored_documents(db, [key])
    row = known.get(key)
    if row and row[1] == digest:
        return UNCHANGED, row[0]
    values = {f: getattr(rec, f) for f in _DOC_FIELDS}
    values["curated"] = int(bool(rec.curated))
    values["meta"] = json.dumps(rec.meta, ensure_ascii=False, sort_keys=True) if rec.meta else None
    values["content_sha256"] = digest
    values["updated_at"] = now_iso()
    if row:
        doc_id, status = row[0], UPDATED
        sets = ", ".join(f"{k} = :{k}" for k in values)
        db.execute(f"UPDATE documents SET {sets} WHERE id = :id", {**values, "id": doc_id})
    else:
        values["created_at"] = values["updated_at"]
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        doc_id = db.execute(f"INSERT INTO documents ({cols}) VALUES ({marks})", values).lastrowid
        status = NEW
    known[key] = (doc_id, digest)
    incident_id = None
    if rec.incident is not None:
        incident_id = save_incident(db, rec.incident)
        link(db, incident_id, doc_id, confidence=1.0, method="source")
    for case in rec.cases:
        save_case(db, case, document_id=doc_id, incident_id=incident_id)
    if rec.amounts or status == UPDATED:  # a new document has no earlier amounts to replace
        amounts.replace(db, [doc_id], [{**a, "document_id": doc_id} for a in rec.amounts], "source")
    return status, doc_id


def save_incident(db: sqlite_utils.Database, inc: IncidentRecord) -> int:
    """Insert or update an incident by key, keeping manually edited fields."""
    values = inc.row()
    values["curated"] = int(bool(values["curated"]))
    row = db.execute("SELECT id, manual_fields FROM incidents WHERE key = ?", [inc.key]).fetchone()
    stamp = now_iso()
    if row is None:
        values.update(created_at=stamp, updated_at=stamp)
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        return db.execute(f"INSERT INTO incidents ({cols}) VALUES ({marks})", values).lastrowid
    manual = set(json.loads(row[1] or "[]"))
    values = {k: v for k, v in values.items() if k not in manual and k != "key"}
    current = db.execute(
        f"SELECT {', '.join(values)} FROM incidents WHERE id = ?", [row[0]]
    ).fetchone()
    if tuple(current) != tuple(values.values()):
        values["updated_at"] = stamp
        sets = ", ".join(f"{k} = :{k}" for k in values)
        db.execute(f"UPDATE incidents SET {sets} WHERE id = :id", {**values, "id": row[0]})
    return row[0]


def link(db: sqlite_utils.Database, incident_id: int, document_id: int,
         confidence: float, method: str) -> None:
    """Link a document to an incident (keeping the stronger of two links)."""
    db.execute(
        "INSERT INTO incident_documents (incident_id, document_id, confidence, method) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(incident_id, document_id) DO UPDATE SET "
        "confidence = max(confidence, excluded.confidence), "
        "method = CASE WHEN excluded.confidence > confidence THEN excluded.method ELSE method END",
        [incident_id, document_id, confidence, method],
    )


def save_case(db: sqlite_utils.Database, case: CaseRecord,
              document_id: int | None = None, incident_id: int | None = None) -> int:
    """Insert or update a court case, found by (court, case number) or by its document."""
    values = asdict(case)
    if case.case_number:
        row = db.execute(
            "SELECT id FROM cases WHERE court IS ? AND case_number = ?",
            [case.court, case.case_number],
        ).fetchone()
    else:
        row = db.execute(
            "SELECT id FROM cases WHERE case_number IS NULL AND court IS ? AND "
            "(document_id IS ? OR (incident_id IS ? AND incident_id IS NOT NULL))",
            [case.court, document_id, incident_id],
        ).fetchone()
    stamp = now_iso()
    if row is None:
        values.update(document_id=document_id, incident_id=incident_id,
                      created_at=stamp, updated_at=stamp)
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        return db.execute(f"INSERT INTO cases ({cols}) VALUES ({marks})", values).lastrowid
    sets = ", ".join(f"{k} = :{k}" for k in values)
    db.execute(
        f"UPDATE cases SET {sets}, updated_at = :updated_at, "
        "document_id = coalesce(document_id, :document_id), "
        "incident_id = coalesce(incident_id, :incident_id) WHERE id = :id",
        {**values, "updated_at": stamp, "document_id": document_id,
         "incident_id": incident_id, "id": row[0]},
    )
    return row[0]


def stored_documents(db: sqlite_utils.Database,
                     keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """(source, external_id) -> (id, content_sha256) of the stored ones among `keys`."""
    found = {}
    for part in batches(list(dict.fromkeys(keys)), 400):
        # A row-value IN list over the unique (source, external_id) index: sqlite-utils has no composite-key lookup.
        values = ", ".join(["(?, ?)"] * len(part))
        for source, external_id, doc_id, digest in db.execute(
                "SELECT source, external_id, id, content_sha256 FROM documents "
                f"WHERE (source, external_id) IN (VALUES {values})", [v for key in part for v in key]):
            found[(source, external_id)] = (doc_id, digest)
    return found


def save_many(db: sqlite_utils.Database, records: Iterable[DocumentRecord],
              batch: int = 500) -> list[tuple[str, int]]:
    """Store records, one transaction per batch (inside an open transaction, joins it);
    (status, id) of each record in order.

    Storage only: `kb.extract.pipeline.ingest` is the write path that also extracts and
    links; documents stored here are processed by the next ingest.
    """
    stored = []
    records = iter(records)
    while chunk := list(islice(records, batch)):
        with transaction(db):
            known = stored_documents(db, [(rec.source, rec.external_id) for rec in chunk])
            stored += [save_document(db, rec, known) for rec in chunk]
    return stored


# --- what the write path reads back ----------------------------------------------

def texts(db: sqlite_utils.Database, doc_ids: Iterable[int]) -> dict[int, tuple[str | None, str, str | None]]:
    """{document id: (title, text, published)} of the documents among `doc_ids`, in id order,
    as the extraction steps read them: the text's first EXTRACT_CHARS characters."""
    out = {}
    for chunk in batches(sorted(set(doc_ids))):
        out.update((row[0], row[1:]) for row in db.execute(
            f"SELECT id, title, substr(text, 1, {EXTRACT_CHARS}), published FROM documents "
            f"WHERE id IN ({marks(chunk)}) ORDER BY id", chunk))
    return out


def document_fields(db: sqlite_utils.Database, doc_id: int) -> dict:
    """id, title, text (its first EXTRACT_CHARS characters, as for `texts`), published and language
    of one document."""
    cur = db.execute(f"SELECT id, title, substr(text, 1, {EXTRACT_CHARS}) AS text, published, language "
                     "FROM documents WHERE id = ?", [doc_id])
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"no document d{doc_id}")
    return dict(zip([d[0] for d in cur.description], row))


def documents_of(db: sqlite_utils.Database, incident_id: int) -> list[int]:
    """The documents linked to an incident, by id."""
    return [r[0] for r in db.execute(
        "SELECT document_id FROM incident_documents WHERE incident_id = ? ORDER BY document_id", [incident_id])]


def incidents_of(db: sqlite_utils.Database, doc_ids: list[int]) -> list[int]:
    """The incidents these documents are linked to (as linked: merges not resolved)."""
    if not doc_ids:
        return []
    return [r[0] for r in db.execute(
        f"SELECT DISTINCT incident_id FROM incident_documents WHERE document_id IN ({marks(doc_ids)})", doc_ids)]


def is_linked(db: sqlite_utils.Database, doc_id: int) -> bool:
    """Whether a document is linked to any incident."""
    return db.execute("SELECT 1 FROM incident_documents WHERE document_id = ? LIMIT 1", [doc_id]).fetchone() is not None


def require_incidents(db: sqlite_utils.Database, incident_ids: list[int]) -> None:
    """NotFound unless every incident exists and was not merged into another."""
    for inc_id in incident_ids:
        row = db.execute("SELECT merged_into FROM incidents WHERE id = ?", [inc_id]).fetchone()
        if row is None:
            raise NotFound(f"no incident i{inc_id}")
        if row[0] is not None:
            raise NotFound(f"incident i{inc_id} was merged into i{row[0]}")
