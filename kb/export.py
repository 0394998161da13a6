"""Export the knowledge base: IIDES-style JSON bundles, JSON lines, CSV.

`jsonl` is the lossless format: one object per line, incidents first, then
documents (with their incident links by key), then court cases; it is what
`kb import jsonl` reads back. `iides` writes one CERT IIDES bundle per
incident (incident, insider, organization, job, court-case, charge,
sentence, source objects and relationships between them). `csv` writes
incidents.csv, documents.csv and cases.csv into a folder.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

import sqlite_utils

from .db import KBError

_NS = uuid.UUID("6f1c2a8e-5b7d-4c1e-9a3f-2d4e6b8a0c11")  # stable ids across exports
_DOC_FIELDS = ("source", "external_id", "kind", "url", "canonical_url", "title", "author", "published",
               "language", "text", "curated", "meta", "fetched_at", "http_etag", "http_last_modified",
               "raw_sha256", "raw_path")
_CASE_FIELDS = ("court", "case_number", "case_type", "case_name", "parties", "filed", "terminated", "status",
                "claims", "damages_amount", "damages_currency", "url")
_IIDES_TYPE = {"sabotage": ("S", "S1"), "ip_theft": ("E", "E1"), "espionage": ("E", "E2"),
               "fraud": ("F", None), "unintentional": ("U", None)}
_IIDES_EMPLOYMENT = {"Intern": "INT", "Contractor": "CTR", "Regular Employment": "FLT", "Full-time": "FLT",
                     "Part-time": "PRT", "Temporary": "TMP"}
_SOURCE_TYPE = {"court": "1", "news": "5", "press_release": "4"}


def _rows(db: sqlite_utils.Database, sql: str, params=()) -> list[dict[str, Any]]:
    cur = db.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


# --- jsonl ------------------------------------------------------------------------

def jsonl_records(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every incident, document (with links) and case, as plain JSON objects."""
    keys = {r["id"]: r["key"] for r in _rows(db, "SELECT id, key FROM incidents")}
    for inc in _rows(db, "SELECT * FROM incidents ORDER BY id"):
        inc["manual_fields"] = json.loads(inc["manual_fields"] or "[]")
        inc["merged_into"] = keys.get(inc["merged_into"])
        for drop in ("id", "created_at", "updated_at"):
            inc.pop(drop)
        yield {"type": "incident", **inc}
    links: dict[int, list[dict]] = {}
    for row in _rows(db, "SELECT * FROM incident_documents ORDER BY incident_id"):
        links.setdefault(row["document_id"], []).append(
            {"incident": keys[row["incident_id"]], "confidence": row["confidence"], "method": row["method"]})
    for doc in _rows(db, f"SELECT id, {', '.join(_DOC_FIELDS)} FROM documents ORDER BY id"):
        doc["meta"] = json.loads(doc["meta"]) if doc["meta"] else {}
        doc["incidents"] = links.get(doc.pop("id"), [])
        yield {"type": "document", **doc}
    for case in _rows(db, f"SELECT c.{', c.'.join(_CASE_FIELDS)}, c.incident_id, d.source, d.external_id "
                          "FROM cases c LEFT JOIN documents d ON d.id = c.document_id ORDER BY c.id"):
        case["incident"] = keys.get(case.pop("incident_id"))
        case["document"] = {"source": case.pop("source"), "external_id": case.pop("external_id")}
        yield {"type": "case", **case}


def write_jsonl(db: sqlite_utils.Database, out: TextIO) -> int:
    count = 0
    for record in jsonl_records(db):
        out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count


@contextmanager
def atomic_file(path: str | Path) -> Iterator[TextIO]:
    """A text file written beside `path` and moved over it only when complete (KBError if it cannot be)."""
    path = Path(path)
    if path.is_dir():
        raise KBError(f"{path} is a folder: give a file name for --output")
    if not path.parent.is_dir():
        raise KBError(f"no folder {path.parent} for {path.name}: create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise KBError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
        os.replace(tmp, path)
    except OSError as exc:
        raise KBError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


# --- csv --------------------------------------------------------------------------

def csv_folder(value: str | Path) -> Path:
    """The folder CSV files go into; KBError for a file, or a name that reads as one file."""
    folder = Path(value)
    if folder.exists() and not folder.is_dir():
        raise KBError(f"{folder} is a file: csv writes three files, so give a folder for --output")
    if not folder.exists() and folder.suffix.lower() == ".csv":
        raise KBError(f"csv writes incidents.csv, documents.csv and cases.csv into a folder: "
                      f"give a folder for --output, not {folder.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KBError(f"cannot create folder {folder}: {exc.strerror or exc}") from None
    return folder


def write_csv(db: sqlite_utils.Database, folder: Path) -> list[Path]:
    """incidents.csv (with document counts), documents.csv (with incident keys), cases.csv."""
    tables = {
        "incidents": "SELECT i.*, (SELECT count(*) FROM incident_documents l WHERE l.incident_id = i.id) "
                     "AS documents FROM incidents i ORDER BY i.id",
        "documents": "SELECT d.id, d.source, d.external_id, d.kind, d.url, d.title, d.published, d.language, "
                     "(SELECT group_concat(i.key, ' ') FROM incident_documents l JOIN incidents i "
                     "ON i.id = l.incident_id WHERE l.document_id = d.id) AS incidents, d.text "
                     "FROM documents d ORDER BY d.id",
        "cases": "SELECT c.*, i.key AS incident_key FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id "
                 "ORDER BY c.id",
    }
    written = []
    for name, sql in tables.items():
        cur = db.execute(sql)
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([d[0] for d in cur.description])
            writer.writerows(cur)
        written.append(path)
    return written


# --- IIDES ------------------------------------------------------------------------

def iides_bundles(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """One IIDES bundle per incident (merged incidents are left out)."""
    return [iides_bundle(db, inc) for inc in
            _rows(db, "SELECT * FROM incidents WHERE merged_into IS NULL ORDER BY id")]


def iides_bundle(db: sqlite_utils.Database, inc: dict[str, Any]) -> dict[str, Any]:
    key = inc["key"]
    objects: list[dict[str, Any]] = []
    relations: list[tuple[str, str]] = []

    def add(kind: str, local: str, body: dict[str, Any]) -> str:
        obj_id = f"{kind}--{uuid.uuid5(_NS, f'{key}/{kind}/{local}')}"
        objects.append({"id": obj_id, **{k: v for k, v in body.items() if v not in (None, "", [])}})
        return obj_id

    itype, subtype = _IIDES_TYPE.get(inc["incident_type"] or "", (None, None))
    incident_id = add("incident", "", {
        "incident_type": [itype] if itype else None,
        "incident_subtype": [subtype] if subtype else None,
        "summary": inc["summary"] or inc["title"],
        "brief_summary": inc["title"],
        "comment": "; ".join(f"{k}: {inc[k]}" for k in ("incident_subtype", "date_start", "date_end",
                                                        "impact_description", "outcome") if inc[k]),
    })
    insider_id = add("insider", "", {"incident_role": "1", **_name_parts(inc["insider_name"])})
    relations.append((incident_id, insider_id))
    if inc["organisation"]:
        org_id = add("organization", inc["organisation"], {
            "name": inc["organisation"], "country": inc["country"], "incident_role": "V",
            "industry_sector": inc["sector"]})
        relations.append((incident_id, org_id))
        job_id = add("job", "", {"title": (inc["insider_role"] or "").replace("_", " "),
                                 "employment_type": _IIDES_EMPLOYMENT.get(inc["employment_type"] or "")})
        relations += [(insider_id, job_id), (job_id, org_id)]
    for case in _rows(db, "SELECT * FROM cases WHERE incident_id = ? ORDER BY id", [inc["id"]]):
        case_id = add("court-case", str(case["id"]), {
            "case_number": case["case_number"], "case_title": case["case_name"],
            "court_country": inc["country"], "court_district": case["court"],
            "case_type": {"civil": "1", "criminal": "2"}.get(case["case_type"] or ""),
            "comment": "; ".join(f"{k}: {case[k]}" for k in ("status", "filed", "claims") if case[k]),
        })
        relations.append((incident_id, case_id))
        for charge in (_charges(db, inc["id"]) if case["case_type"] == "criminal" else []):
            relations.append((case_id, add("charge", f"{case['id']}/{charge['title']}/{charge.get('section')}",
                                           charge)))
        for sentence in _sentences(db, inc["id"]):
            relations.append((case_id, add("sentence", f"{case['id']}/{sentence['quantity']}", sentence)))
    for doc in _rows(db, "SELECT d.* FROM incident_documents l JOIN documents d ON d.id = l.document_id "
                         "WHERE l.incident_id = ? ORDER BY d.id", [inc["id"]]):
        relations.append((incident_id, add("source", f"{doc['source']}/{doc['external_id']}", {
            "title": doc["title"], "source_type": _SOURCE_TYPE.get(doc["kind"]),
            "file_type": "html" if (doc["url"] or "").startswith("http") else None,
            "date": doc["published"], "public": True, "document": doc["url"]})))
    return {
        "id": f"bundle--{uuid.uuid5(_NS, key)}",
        "objects": objects,
        "relationships": [{"id": f"relationship--{uuid.uuid5(_NS, a + b)}", "object1": a, "object2": b}
                          for a, b in relations],
    }


def _name_parts(name: str | None) -> dict[str, Any]:
    if not name:
        return {}
    parts = name.split()
    if len(parts) == 1:  # anonymised Chinese names such as 田某某 stay as given
        return {"last_name": name}
    return {"first_name": parts[0], "last_name": parts[-1]}


def _charges(db: sqlite_utils.Database, inc_id: int) -> list[dict[str, Any]]:
    charges = {}
    for name, value in db.execute(
            "SELECT DISTINCT e.name, de.value FROM document_entities de JOIN entities e ON e.id = de.entity_id "
            "JOIN incident_documents l ON l.document_id = de.document_id "
            "WHERE l.incident_id = ? AND e.kind = 'statute'", [inc_id]):
        if value == "cause of action":
            continue
        m = re.match(r"(\d+ U\.S\.C\.) § (\S+)", name)
        charges[name] = ({"title": m.group(1), "section": m.group(2)} if m
                         else {"title": value or name, "nature_of_offense": name})
    return list(charges.values())


def _sentences(db: sqlite_utils.Database, inc_id: int) -> list[dict[str, Any]]:
    found = {}
    for (text,) in db.execute("SELECT d.text FROM incident_documents l JOIN documents d ON d.id = l.document_id "
                              "WHERE l.incident_id = ?", [inc_id]):
        for m in re.finditer(r"sentenced to (\d+) (year|month)s? (?:in|of) (?:federal )?prison", text or "", re.I):
            found[(m.group(1), m.group(2))] = {"sentence_type": "9", "quantity": int(m.group(1)),
                                               "metric": "4" if m.group(2).lower() == "year" else "3"}
    return list(found.values())
