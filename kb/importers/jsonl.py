"""Read back what `kb export --format jsonl` wrote: incidents, documents with links, cases.

Rows are written as they were exported, keys and link methods included, so
a fresh database ends up with the same incidents, documents, links and cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from ..errors import KBError
from ..records import CaseRecord, DocumentRecord, IncidentRecord
from ..store import NEW, UNCHANGED, UPDATED, link, save_case, save_document, save_incident, transaction

_INCIDENT_FIELDS = set(IncidentRecord.__dataclass_fields__)
_DOC_FIELDS = set(DocumentRecord.__dataclass_fields__) - {"incident", "cases"}
_CASE_FIELDS = set(CaseRecord.__dataclass_fields__)


def read(path: str | Path) -> list[dict]:
    """The objects of a JSON-lines file; a bad line is a clear error."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise KBError(f"{path}:{number}: not JSON: {exc}") from None
            if record.get("type") not in ("incident", "document", "case"):
                raise KBError(f"{path}:{number}: unknown record type {record.get('type')!r}")
            records.append(record)
    return records


def load(db: sqlite_utils.Database, records: list[dict]) -> tuple[dict[str, int], list[int]]:
    """Write the records in one transaction; return document counts by status and document ids."""
    counts = {NEW: 0, UPDATED: 0, UNCHANGED: 0}
    doc_ids = []
    with transaction(db):
        ids = {}
        for rec in (r for r in records if r["type"] == "incident"):
            ids[rec["key"]] = _incident(db, rec)
        for rec in (r for r in records if r["type"] == "incident" and r.get("merged_into")):
            db.execute("UPDATE incidents SET merged_into = ?, merged_by = ? WHERE id = ?",
                       [ids[rec["merged_into"]], rec.get("merged_by"), ids[rec["key"]]])
        for rec in (r for r in records if r["type"] == "document"):
            status, doc_id = save_document(db, DocumentRecord(**{k: rec.get(k) for k in _DOC_FIELDS
                                                                 if k in rec}))
            counts[status] += 1
            doc_ids.append(doc_id)
            for ref in rec.get("incidents", []):
                link(db, ids[ref["incident"]], doc_id, ref["confidence"], ref["method"])
        for rec in (r for r in records if r["type"] == "case"):
            doc = rec.get("document") or {}
            row = db.execute("SELECT id FROM documents WHERE source = ? AND external_id = ?",
                             [doc.get("source"), doc.get("external_id")]).fetchone()
            save_case(db, CaseRecord(**{k: rec.get(k) for k in _CASE_FIELDS}),
                      document_id=row[0] if row else None, incident_id=ids.get(rec.get("incident")))
    return counts, doc_ids


def _incident(db: sqlite_utils.Database, rec: dict) -> int:
    inc_id = save_incident(db, IncidentRecord(**{k: rec.get(k) for k in _INCIDENT_FIELDS if k in rec}))
    if rec.get("manual_fields"):
        db.execute("UPDATE incidents SET manual_fields = ? WHERE id = ?", [json.dumps(rec["manual_fields"]), inc_id])
    return inc_id
