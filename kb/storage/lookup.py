"""Read-side questions about the knowledge base: counts, and one record in full."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from ..records import document_text
from ..errors import NotFound
from .sql import batches, marks, rows


def stats(db: sqlite_utils.Database) -> dict[str, Any]:
    """Counts of documents, incidents, chunks, cases, and documents by source/kind/language."""

    def count(sql: str) -> int:
        return db.execute(sql).fetchone()[0]

    def grouped(column: str) -> dict[str, int]:
        return dict(db.execute(
            f"SELECT coalesce({column}, 'unknown'), count(*) FROM documents GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall())

    return {
        "documents": count("SELECT count(*) FROM documents"),
        "incidents": count("SELECT count(*) FROM incidents WHERE merged_into IS NULL"),
        "chunks": count("SELECT count(*) FROM chunks"),
        "embedded_chunks": count("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL"),
        "cases": count("SELECT count(*) FROM cases"),
        "by_source": grouped("source"),
        "by_kind": grouped("kind"),
        "by_language": grouped("language"),
    }


def documents_by_source(db: sqlite_utils.Database) -> dict[str, int]:
    """How many documents each source holds."""
    return dict(db.execute("SELECT source, count(*) FROM documents GROUP BY source").fetchall())


def resolve(db: sqlite_utils.Database, ident: str) -> tuple[str, int]:
    """Turn a user's ID into ('document'|'incident', row id).

    Accepts `d123`/`i45`, a bare number (document first), an incident key
    such as `vcdb:<id>` or `starter:<slug>`, or a source's external id
    (a VCDB incident_id, a URL), compared case-insensitively.
    """
    ident = ident.strip()
    if ident[:1] in ("d", "i") and _row_id(ident[1:]):
        table = "documents" if ident[0] == "d" else "incidents"
        if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [int(ident[1:])]).fetchone():
            return ("document" if ident[0] == "d" else "incident"), int(ident[1:])
    if _row_id(ident):
        for kind, table in (("document", "documents"), ("incident", "incidents")):
            if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [int(ident)]).fetchone():
                return kind, int(ident)
    row = db.execute("SELECT id FROM incidents WHERE key = ? COLLATE NOCASE", [ident]).fetchone()
    if row:
        return "incident", row[0]
    row = db.execute(
        "SELECT id FROM documents WHERE external_id = ? COLLATE NOCASE OR url = ? ORDER BY id LIMIT 1",
        [ident, ident],
    ).fetchone()
    if row:
        return "document", row[0]
    raise NotFound(f"nothing found for {ident!r}: give a document or incident id, an incident key, or an external id")


def _row_id(text: str) -> bool:
    """Whether `text` is a number SQLite can hold as a row id (1 to 2**63 - 1)."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and 0 < int(text) < 2**63


def document(db: sqlite_utils.Database, doc_id: int) -> dict[str, Any]:
    """A document with the incidents it is linked to and its cases."""
    doc = rows(db, "SELECT * FROM documents WHERE id = ?", [doc_id])[0]
    doc["meta"] = json.loads(doc["meta"]) if doc["meta"] else {}
    doc["incidents"] = rows(
        db,
        "SELECT i.id, i.key, i.title, i.organisation, i.incident_type, d.confidence, d.method "
        "FROM incident_documents d JOIN incidents i ON i.id = d.incident_id "
        "WHERE d.document_id = ? ORDER BY d.confidence DESC",
        [doc_id],
    )
    doc["cases"] = rows(db, "SELECT * FROM cases WHERE document_id = ?", [doc_id])
    doc["facts"] = facts(db, "WHERE de.document_id = ?", [doc_id])
    doc["legal_facts"] = rows(db, "SELECT * FROM legal_facts WHERE document_id = ? ORDER BY start_offset, id", [doc_id])
    doc["type"] = "document"
    return doc


def incident(db: sqlite_utils.Database, incident_id: int) -> dict[str, Any]:
    """An incident with its documents, court cases and extracted facts."""
    inc = rows(db, "SELECT * FROM incidents WHERE id = ?", [incident_id])[0]
    inc["manual_fields"] = json.loads(inc["manual_fields"] or "[]")
    inc["documents"] = rows(
        db,
        "SELECT d.id, d.source, d.external_id, d.kind, d.url, d.title, d.published, d.language, "
        "l.confidence, l.method, l.evidence FROM incident_documents l JOIN documents d ON d.id = l.document_id "
        "WHERE l.incident_id = ? ORDER BY d.published, d.id",
        [incident_id],
    )
    for doc in inc["documents"]:
        doc["evidence"] = json.loads(doc["evidence"] or "[]")
    inc["cases"] = rows(db, "SELECT * FROM cases WHERE incident_id = ? ORDER BY filed, id", [incident_id])
    inc["facts"] = facts(db, "JOIN incident_documents l ON l.document_id = de.document_id "
                             "WHERE l.incident_id = ?", [incident_id])
    inc["legal_facts"] = rows(db, "SELECT f.* FROM legal_facts f JOIN incident_documents l ON l.document_id = "
                                   "f.document_id WHERE l.incident_id = ? ORDER BY f.date, f.document_id, f.start_offset",
                               [incident_id])
    inc["type"] = "incident"
    return inc


def facts(db: sqlite_utils.Database, where: str, params) -> list[dict[str, Any]]:
    """Extracted entities grouped by (kind, name, label), each mention with its provenance:
    document, character span in title + blank line + text, the words found and their context.

    Each document's text is read once, however many mentions it has."""
    found = rows(
        db,
        "SELECT e.kind, e.name, de.value, de.label, de.status, de.sentence, de.surface, de.document_id, "
        "de.span_start, de.span_end, d.source, d.url FROM document_entities de JOIN entities e ON e.id = de.entity_id "
        f"JOIN documents d ON d.id = de.document_id {where} ORDER BY e.kind, e.name, de.document_id, de.span_start",
        params,
    )
    texts = _texts(db, {r["document_id"] for r in found})
    grouped: dict[tuple, dict[str, Any]] = {}
    for r in found:
        key = (r["kind"], r["name"], r["label"], r["status"])
        fact = grouped.setdefault(key, {"kind": r["kind"], "name": r["name"], "value": r["value"],
                                        "label": r["label"], "status": r["status"], "mentions": []})
        full = texts[r["document_id"]]
        start, end = r["span_start"] or 0, r["span_end"] or 0
        fact["mentions"].append({
            "document_id": r["document_id"], "source": r["source"], "url": r["url"],
            "span_start": start, "span_end": end, "surface": r["surface"],
            "context": " ".join(full[max(0, start - 40):end + 40].split()), "sentence": r["sentence"],
        })
    return list(grouped.values())


def _texts(db: sqlite_utils.Database, doc_ids: set[int]) -> dict[int, str]:
    """Each document as extraction read it (title, blank line, text), by id."""
    ids = sorted(doc_ids)
    return {r[0]: document_text(r[1], r[2]) for part in batches(ids)
            for r in db.execute(f"SELECT id, title, text FROM documents WHERE id IN ({marks(part)})", part)}


def show(db: sqlite_utils.Database, ident: str) -> dict[str, Any]:
    kind, row_id = resolve(db, ident)
    return document(db, row_id) if kind == "document" else incident(db, row_id)


# --- what the site's pages show --------------------------------------------------

def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many documents, incidents and cases the KB holds (every stored row)."""
    row = db.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM incidents), "
                     "(SELECT count(*) FROM cases)").fetchone()
    return {"documents": row[0], "incidents": row[1], "cases": row[2]}


def filter_choices(db: sqlite_utils.Database) -> dict[str, list[str]]:
    """The kinds, sources and languages of the documents, and the types, insider roles, countries
    and sectors of the incidents (not merged), most first: {search filter name: values}."""
    out = {column: [r[0] for r in db.execute(
        f"SELECT {column} FROM documents WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC")]
        for column in ("kind", "source", "language")}
    for name, column in (("type", "incident_type"), ("role", "insider_role"), ("country", "country"),
                         ("sector", "sector")):
        out[name] = [r[0] for r in db.execute(
            f"SELECT {column} FROM incidents WHERE {column} IS NOT NULL AND {column} != '' AND merged_into IS NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1")]
    return out


def incident_cards(db: sqlite_utils.Database, incident_ids: list[int]) -> dict[int, dict]:
    """Title, type, organisation and year of these incidents."""
    if not incident_ids:
        return {}
    return {r["id"]: r for r in rows(db, "SELECT id, title, incident_type, organisation, year FROM incidents "
                                         f"WHERE id IN ({marks(incident_ids)})", incident_ids)}


def document_links(db: sqlite_utils.Database, doc_id: int) -> dict | None:
    """A document's source and URL, the incidents it is linked to and their cases (None: no such document)."""
    doc = db.execute("SELECT source, url FROM documents WHERE id = ?", [doc_id]).fetchone()
    if doc is None:
        return None
    return {
        "source": doc[0], "url": doc[1],
        "incidents": rows(db, "SELECT i.id, i.title, i.incident_type, i.organisation, l.confidence, l.method "
                              "FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
                              "WHERE l.document_id = ? ORDER BY l.confidence DESC, i.id", [doc_id]),
        "cases": rows(db, "SELECT DISTINCT c.id, c.court, c.case_number, c.case_type, c.status FROM cases c "
                          "WHERE c.document_id = ? OR c.incident_id IN "
                          "(SELECT incident_id FROM incident_documents WHERE document_id = ?) ORDER BY c.filed, c.id",
                      [doc_id, doc_id]),
    }


def incident_links(db: sqlite_utils.Database, incident_id: int) -> dict:
    """An incident's documents and cases."""
    return {
        "documents": rows(db, "SELECT d.id, d.title, d.source, d.kind, d.language, d.published, d.url, "
                              "l.confidence, l.method FROM incident_documents l JOIN documents d ON d.id = l.document_id "
                              "WHERE l.incident_id = ? ORDER BY d.published, d.id", [incident_id]),
        "cases": rows(db, "SELECT id, court, case_number, case_type, status FROM cases WHERE incident_id = ? "
                          "ORDER BY filed, id", [incident_id]),
    }
