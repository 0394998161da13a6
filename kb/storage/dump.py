"""The knowledge base's rows as plain dicts, for exports (kb.export): every incident, link,
document and case, and what an IIDES bundle reads of one incident."""

from __future__ import annotations

from typing import Any, Iterator

import sqlite_utils

from .sql import rows

DOCUMENT_FIELDS = ("source", "external_id", "kind", "url", "canonical_url", "title", "author", "published",
                   "language", "text", "curated", "meta", "fetched_at", "http_etag", "http_last_modified",
                   "raw_sha256", "raw_path")
CASE_FIELDS = ("court", "case_number", "case_type", "case_name", "parties", "filed", "decided", "terminated",
               "status", "claims", "damages_amount", "damages_currency", "url")


def incident_keys(db: sqlite_utils.Database) -> dict[int, str]:
    return {r["id"]: r["key"] for r in rows(db, "SELECT id, key FROM incidents")}


def incidents(db: sqlite_utils.Database, live_only: bool = False) -> list[dict[str, Any]]:
    """Every incident (only those not merged into another, with `live_only`), by id."""
    where = " WHERE merged_into IS NULL" if live_only else ""
    return rows(db, f"SELECT * FROM incidents{where} ORDER BY id")


def links(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM incident_documents ORDER BY incident_id")


def documents(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every document's exported fields, by id, read as they are written out."""
    cur = db.execute(f"SELECT id, {', '.join(DOCUMENT_FIELDS)} FROM documents ORDER BY id")
    names = [d[0] for d in cur.description]
    for row in cur:
        yield dict(zip(names, row))


def source_amounts(db: sqlite_utils.Database) -> dict[int, list[dict[str, Any]]]:
    """The amounts each document's record states (origin 'source'), by document id."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows(db, "SELECT document_id, kind, amount, currency, text FROM amounts WHERE origin = 'source' ORDER BY id"):
        out.setdefault(r.pop("document_id"), []).append(r)
    return out


def cases(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every case's exported fields, with its incident id and its document's source and external id."""
    return rows(db, f"SELECT c.{', c.'.join(CASE_FIELDS)}, c.incident_id, d.source, d.external_id "
                    "FROM cases c LEFT JOIN documents d ON d.id = c.document_id ORDER BY c.id")


TABLES = {  # the CSV export: incidents with document counts, documents with incident keys, cases
    "incidents": "SELECT i.*, (SELECT count(*) FROM incident_documents l WHERE l.incident_id = i.id) "
                 "AS documents FROM incidents i ORDER BY i.id",
    "documents": "SELECT d.id, d.source, d.external_id, d.kind, d.url, d.title, d.published, d.language, "
                 "(SELECT group_concat(i.key, ' ') FROM incident_documents l JOIN incidents i "
                 "ON i.id = l.incident_id WHERE l.document_id = d.id) AS incidents, d.text "
                 "FROM documents d ORDER BY d.id",
    "cases": "SELECT c.*, i.key AS incident_key FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id "
             "ORDER BY c.id",
    "amounts": "SELECT a.id, a.kind, a.amount, a.currency, a.text, a.origin, a.document_id, d.source, d.external_id, "
               "(SELECT group_concat(i.key, ' ') FROM incident_documents l JOIN incidents i "
               "ON i.id = l.incident_id WHERE l.document_id = a.document_id) AS incidents "
               "FROM amounts a JOIN documents d ON d.id = a.document_id ORDER BY a.id",
}


def table(db: sqlite_utils.Database, name: str) -> tuple[list[str], Iterator[tuple]]:
    """(column names, rows) of one table of the CSV export."""
    cur = db.execute(TABLES[name])
    return [d[0] for d in cur.description], cur


# --- one incident, for its IIDES bundle ----------------------------------------------

def incident_documents(db: sqlite_utils.Database, incident_id: int) -> list[dict[str, Any]]:
    return rows(db, "SELECT d.* FROM incident_documents l JOIN documents d ON d.id = l.document_id "
                    "WHERE l.incident_id = ? ORDER BY d.id", [incident_id])


def incident_cases(db: sqlite_utils.Database, incident_id: int) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM cases WHERE incident_id = ? ORDER BY id", [incident_id])


def dismissal_date(db: sqlite_utils.Database, incident_id: int) -> str | None:
    """The earliest date a document of the incident gives for the insider's dismissal."""
    row = db.execute(
        "SELECT de.value FROM document_entities de JOIN entities e ON e.id = de.entity_id "
        "JOIN incident_documents l ON l.document_id = de.document_id "
        "WHERE l.incident_id = ? AND e.kind = 'date' AND de.label = 'dismissal' ORDER BY de.value LIMIT 1",
        [incident_id]).fetchone()
    return row[0] if row else None
