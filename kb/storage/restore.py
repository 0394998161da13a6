"""A jsonl export's rows written back (the write side of kb.storage.dump): incidents with their
keys, merges and manual fields, documents with their links and evidence, cases.

Rows are written as they were exported, keys and link methods included, so a
fresh database ends up with the same incidents, documents, links and cases.
Records are checked first by kb.sources.jsonl.
"""

from __future__ import annotations

import json
from typing import Iterable

import sqlite_utils

from ..errors import KBError
from ..records import CaseRecord, DocumentRecord, IncidentRecord
from .sql import transaction
from .store import NEW, UNCHANGED, UPDATED, link, save_case, save_document, save_incident

_INCIDENT_FIELDS = set(IncidentRecord.__dataclass_fields__)
_DOC_FIELDS = set(DocumentRecord.__dataclass_fields__) - {"incident", "cases"}
_CASE_FIELDS = set(CaseRecord.__dataclass_fields__)


def write(db: sqlite_utils.Database, records: Iterable[dict]) -> tuple[dict[str, int], list[int]]:
    """Write the records in one transaction, as they come (in any order: what refers to an
    incident or document not read yet waits for the end); return document counts by status
    and document ids. Merges that would make a cycle are refused."""
    counts = {NEW: 0, UPDATED: 0, UNCHANGED: 0}
    doc_ids, ids = [], {}
    merges, links, cases = [], [], []  # small: keys, ids and case fields, never a document's text
    with transaction(db):
        for rec in records:
            if rec["type"] == "incident":
                ids[rec["key"]] = _incident(db, rec)
                if rec.get("merged_into"):
                    merges.append(rec)
            elif rec["type"] == "document":
                fields = {"title": None, **{k: rec.get(k) for k in _DOC_FIELDS if k in rec}}
                status, doc_id = save_document(db, DocumentRecord(**fields))
                counts[status] += 1
                doc_ids.append(doc_id)
                links += [(doc_id, ref) for ref in rec.get("incidents", [])]
            else:
                cases.append(rec)
        for rec in merges:
            db.execute("UPDATE incidents SET merged_into = ?, merged_by = ? WHERE id = ?",
                       [_incident_id(db, ids, rec["merged_into"]), rec.get("merged_by"), ids[rec["key"]]])
        _refuse_cycles(db, [ids[rec["key"]] for rec in merges])
        for doc_id, ref in links:
            incident_id = _incident_id(db, ids, ref["incident"])
            link(db, incident_id, doc_id, ref.get("confidence", 1.0), ref.get("method", "import"))
            if ref.get("evidence"):  # why the linker joined them, kept through a round trip
                db.execute("UPDATE incident_documents SET evidence = ? WHERE incident_id = ? AND document_id = ?",
                           [json.dumps(ref["evidence"], ensure_ascii=False), incident_id, doc_id])
        for rec in cases:
            doc = rec.get("document") or {}
            row = db.execute("SELECT id FROM documents WHERE source = ? AND external_id = ?",
                             [doc.get("source"), doc.get("external_id")]).fetchone()
            save_case(db, CaseRecord(**{k: rec.get(k) for k in _CASE_FIELDS}),
                      document_id=row[0] if row else None, incident_id=ids.get(rec.get("incident")))
    return counts, doc_ids


def _refuse_cycles(db: sqlite_utils.Database, merged: list[int]) -> None:
    """KBError if following `merged_into` from any of these incidents comes back to one already seen."""
    for start in merged:
        seen, current = [], start
        while current is not None:
            if current in seen:
                keys = [db.execute("SELECT key FROM incidents WHERE id = ?", [i]).fetchone()[0] for i in seen]
                raise KBError(f"incidents {' -> '.join(k[:60] for k in keys)} are merged in a cycle: "
                              "each must end in one incident that is not merged")
            seen.append(current)
            current = db.execute("SELECT merged_into FROM incidents WHERE id = ?", [current]).fetchone()[0]


def _incident_id(db: sqlite_utils.Database, ids: dict[str, int], key: str) -> int:
    """The id of the incident `key` (from this file, else already stored); KBError if there is none."""
    if key in ids:
        return ids[key]
    row = db.execute("SELECT id FROM incidents WHERE key = ?", [key]).fetchone()
    if row is None:
        raise KBError(f"a record refers to incident {key[:80]!r}, which is neither in the file nor stored")
    return row[0]


def _incident(db: sqlite_utils.Database, rec: dict) -> int:
    inc_id = save_incident(db, IncidentRecord(**{k: rec.get(k) for k in _INCIDENT_FIELDS if k in rec}))
    if rec.get("manual_fields"):
        db.execute("UPDATE incidents SET manual_fields = ? WHERE id = ?", [json.dumps(rec["manual_fields"]), inc_id])
    return inc_id
