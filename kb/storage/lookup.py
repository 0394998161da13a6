"""Read-side questions about the knowledge base: counts, and one record in full."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from ..records import document_text
from ..errors import NotFound
from . import amounts
from .sql import batches, marks, rows


def stats(db: sqlite_utils.Database, scope: str | None = "in") -> dict[str, Any]:
    """Counts of documents, incidents (of `scope`; None: all), chunks, cases, documents by
    source/kind/language, and incidents by scope and legal status."""

    def count(sql: str) -> int:
        return db.execute(sql).fetchone()[0]

    def grouped(column: str) -> dict[str, int]:
        return dict(db.execute(
            f"SELECT coalesce({column}, 'unknown'), count(*) FROM documents GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall())

    return {
        "documents": count("SELECT count(*) FROM documents"),
        "scope": scope or "all",
        "incidents": db.execute("SELECT count(*) FROM incidents WHERE merged_into IS NULL AND scope IS coalesce(?, scope)",
                                [scope]).fetchone()[0],
        "chunks": count("SELECT count(*) FROM chunks"),
        "embedded_chunks": count("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL"),
        "cases": count("SELECT count(*) FROM cases"),
        "by_source": grouped("source"),
        "by_kind": grouped("kind"),
        "by_language": grouped("language"),
        "incidents_by_scope": dict(db.execute(
            "SELECT coalesce(scope, 'unknown'), count(*) FROM incidents WHERE merged_into IS NULL GROUP BY 1 "
            "ORDER BY 2 DESC").fetchall()),
        "incidents_by_legal_status": dict(db.execute(
            "SELECT coalesce(legal_status, 'unknown'), count(*) FROM incidents WHERE merged_into IS NULL "
            "AND scope IS coalesce(?, scope) GROUP BY 1 ORDER BY 2 DESC", [scope]).fetchall()),
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
        "SELECT i.id, i.key, i.title, i.organisation, i.incident_type, i.scope, i.scope_reason, i.legal_status, "
        "i.legal_status_date, i.merged_into, d.confidence, d.method, d.evidence "
        "FROM incident_documents d JOIN incidents i ON i.id = d.incident_id "
        "WHERE d.document_id = ? ORDER BY d.confidence DESC",
        [doc_id],
    )
    for inc in doc["incidents"]:
        inc["evidence"] = json.loads(inc["evidence"] or "[]")
    doc["cases"] = rows(db, "SELECT * FROM cases WHERE document_id = ?", [doc_id])
    doc["facts"] = facts(db, "WHERE de.document_id = ?", [doc_id])
    doc["legal_facts"] = rows(db, "SELECT * FROM legal_facts WHERE document_id = ? ORDER BY start_offset, id", [doc_id])
    doc["amounts"] = amounts.of_documents(db, [doc_id])
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
    inc["amounts"] = amounts.of_documents(db, [d["id"] for d in inc["documents"]])
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
    """How many documents, incidents and cases the KB holds (every stored row), and how many
    incidents are in the field (not merged)."""
    row = db.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM incidents), "
                     "(SELECT count(*) FROM cases), "
                     "(SELECT count(*) FROM incidents WHERE scope = 'in' AND merged_into IS NULL)").fetchone()
    return {"documents": row[0], "incidents": row[1], "cases": row[2], "in_scope": row[3]}


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


def merges(db: sqlite_utils.Database, incident_id: int) -> dict[str, Any]:
    """The incident this one was merged into (id, title) and those merged into it."""
    target = rows(db, "SELECT t.id, t.title FROM incidents i JOIN incidents t ON t.id = i.merged_into "
                      "WHERE i.id = ?", [incident_id])
    return {"into": target[0] if target else None,
            "from": rows(db, "SELECT id, title, merged_by FROM incidents WHERE merged_into = ? ORDER BY id",
                         [incident_id])}


# The legal steps of each kind of case: an incident's civil suit is not docketed with its prosecution.
CASE_STEPS = {"civil": ["claim", "settlement", "verdict"],
              "criminal": ["arrest", "charge", "plea", "verdict", "sentence"]}


def case(db: sqlite_utils.Database, case_id: int) -> dict[str, Any] | None:
    """A court case with its incident and document (id, title) and its docket steps: the legal facts of
    its document and its incident's documents that name its case number (or a prefix, or none) and are steps of
    its kind of case (None: no such case)."""
    found = rows(db, "SELECT c.*, i.title AS incident_title, d.title AS document_title FROM cases c "
                     "LEFT JOIN incidents i ON i.id = c.incident_id LEFT JOIN documents d ON d.id = c.document_id "
                     "WHERE c.id = ?", [case_id])
    if not found:
        return None
    row = found[0]
    row["steps"] = rows(
        db, "SELECT f.*, d.title AS document_title, d.language FROM legal_facts f JOIN documents d ON d.id = f.document_id "
            "WHERE (f.document_id = ?1 OR f.document_id IN (SELECT document_id FROM incident_documents "
            "WHERE incident_id = ?2)) AND (f.case_number IS NULL OR ?3 IS NULL "
            "OR ?3 LIKE f.case_number || '%' OR f.case_number LIKE ?3 || '%') "
            "AND (?4 IS NULL OR f.kind IN (SELECT value FROM json_each(?4))) "
            "ORDER BY f.date IS NULL, f.date, f.document_id, f.start_offset",
        [row["document_id"], row["incident_id"], row["case_number"],
         json.dumps(CASE_STEPS[row["case_type"]]) if row["case_type"] in CASE_STEPS else None])
    row["documents"] = rows(db, "SELECT d.id, d.title, d.source, d.kind, d.language, d.published FROM documents d "
                                "WHERE d.id = ?1 OR d.id IN (SELECT document_id FROM incident_documents "
                                "WHERE incident_id = ?2) ORDER BY d.published, d.id",
                            [row["document_id"], row["incident_id"]])
    return row


def overview(db: sqlite_utils.Database, scope: str = "in", newest: int = 10) -> dict[str, Any]:
    """What the home page shows: counts, incidents (not merged away, of one scope or 'all') by year,
    type, country and insider role, documents by source, and the newest incidents."""
    where, args = ("", []) if scope == "all" else (" WHERE scope = ?", [scope])
    listed = f"(SELECT * FROM incident_list{where})"

    def grouped(column: str, table: str = listed, order: str = "2 DESC, 1", limit: int = 12) -> list:
        params = args if table == listed else []
        return [list(r) for r in db.execute(
            f"SELECT {column}, count(*) FROM {table} WHERE {column} IS NOT NULL AND {column} != '' "
            f"GROUP BY 1 ORDER BY {order} LIMIT ?", [*params, limit])]

    count = db.execute(f"SELECT (SELECT count(*) FROM {listed}), (SELECT count(*) FROM documents), "
                       "(SELECT count(*) FROM cases), (SELECT count(DISTINCT source) FROM documents)", args).fetchone()
    scopes = dict(db.execute("SELECT scope, count(*) FROM incident_list GROUP BY 1").fetchall())
    return {
        "scope": scope,
        "scopes": {**{k: scopes.get(k, 0) for k in ("in", "out", "unsure")}, "all": sum(scopes.values())},
        "counts": dict(zip(("incidents", "documents", "cases", "sources"), count)),
        "by": {"year": grouped("year", order="1", limit=200), "incident_type": grouped("incident_type"),
               "country": grouped("country"), "insider_role": grouped("insider_role"),
               "source": grouped("source", table="documents")},
        "newest": rows(db, f"SELECT id, title, organisation, incident_type, year, country, legal_status FROM {listed} "
                           "ORDER BY year IS NULL, year DESC, id DESC LIMIT ?", [*args, newest]),
    }
