"""Read back what `kb export --format jsonl` wrote: incidents, documents with links, cases.

Rows are written as they were exported, keys and link methods included, so
a fresh database ends up with the same incidents, documents, links and cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from ..errors import KBError
from ..records import CaseRecord, DocumentRecord, IncidentRecord, check_numbers
from ..storage.store import NEW, UNCHANGED, UPDATED, link, save_case, save_document, save_incident
from ..storage.sql import transaction

_INCIDENT_FIELDS = set(IncidentRecord.__dataclass_fields__)
_DOC_FIELDS = set(DocumentRecord.__dataclass_fields__) - {"incident", "cases"}
_CASE_FIELDS = set(CaseRecord.__dataclass_fields__)


_REQUIRED = {"incident": ("key",), "document": ("source", "external_id", "kind", "text"), "case": ()}
_NESTED = {"meta", "manual_fields", "incidents", "document"}  # the only fields that are not plain values


def read(path: str | Path) -> list[dict]:
    """The objects of a JSON-lines file; a bad line is a clear error."""
    records = []
    try:
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    check_record(record)
                except (ValueError, RecursionError) as exc:
                    raise KBError(f"{path}:{number}: {exc}"[:300]) from None
                records.append(record)
    except UnicodeDecodeError as exc:
        raise KBError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise KBError(f"cannot read {path}: {exc.strerror or exc}") from None
    return records


def check_record(record) -> None:
    """ValueError unless `record` is an object `load` can write (types, required fields, numbers)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, not {type(record).__name__}")
    kind = record.get("type")
    if kind not in _REQUIRED:
        raise ValueError(f"unknown record type {kind!r}"[:100])
    for name in _REQUIRED[kind]:
        if not isinstance(record.get(name), str) or (name != "text" and not record[name].strip()):
            raise ValueError(f"{kind} without {name} (a non-empty string)")
    for name, value in record.items():
        if name not in _NESTED and isinstance(value, (dict, list)):
            raise ValueError(f"{kind} field {name!r} must be a plain value, not {type(value).__name__}")
    if not isinstance(record.get("meta") or {}, dict) or not isinstance(record.get("document") or {}, dict):
        raise ValueError(f"{kind}: meta and document must be objects")
    links = record.get("incidents") or []
    if not isinstance(links, list) or not all(
            isinstance(r, dict) and isinstance(r.get("incident"), str)
            and isinstance(r.get("confidence", 1.0), (int, float)) and isinstance(r.get("method", ""), str)
            and isinstance(r.get("evidence", []), list) and all(isinstance(e, str) for e in r.get("evidence", []))
            for r in links):
        raise ValueError(f"{kind}: incidents must be a list of {{incident, confidence, method, evidence}}")
    if kind == "incident" and record.get("merged_into") is not None and not isinstance(record["merged_into"], str):
        raise ValueError("incident: merged_into must be an incident key")
    check_numbers(record)


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
                       [_incident_id(db, ids, rec["merged_into"]), rec.get("merged_by"), ids[rec["key"]]])
        for rec in (r for r in records if r["type"] == "document"):
            fields = {"title": None, **{k: rec.get(k) for k in _DOC_FIELDS if k in rec}}
            status, doc_id = save_document(db, DocumentRecord(**fields))
            counts[status] += 1
            doc_ids.append(doc_id)
            for ref in rec.get("incidents", []):
                incident_id = _incident_id(db, ids, ref["incident"])
                link(db, incident_id, doc_id, ref.get("confidence", 1.0), ref.get("method", "import"))
                if ref.get("evidence"):  # why the linker joined them, kept through a round trip
                    db.execute("UPDATE incident_documents SET evidence = ? WHERE incident_id = ? AND document_id = ?",
                               [json.dumps(ref["evidence"], ensure_ascii=False), incident_id, doc_id])
        for rec in (r for r in records if r["type"] == "case"):
            doc = rec.get("document") or {}
            row = db.execute("SELECT id FROM documents WHERE source = ? AND external_id = ?",
                             [doc.get("source"), doc.get("external_id")]).fetchone()
            save_case(db, CaseRecord(**{k: rec.get(k) for k in _CASE_FIELDS}),
                      document_id=row[0] if row else None, incident_id=ids.get(rec.get("incident")))
    return counts, doc_ids


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
