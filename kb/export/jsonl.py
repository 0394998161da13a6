"""The lossless export: one JSON object per line, incidents first, then documents (with their
incident links by key), then court cases; `kb import jsonl` reads it back (kb.sources.jsonl)."""

from __future__ import annotations

import json
from typing import Any, Iterator, TextIO

import sqlite_utils

from ..storage import dump


def jsonl_records(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every incident, document (with links) and case, as plain JSON objects."""
    keys = dump.incident_keys(db)
    for inc in dump.incidents(db):
        inc["manual_fields"] = json.loads(inc["manual_fields"] or "[]")
        inc["merged_into"] = keys.get(inc["merged_into"])
        for drop in ("id", "created_at", "updated_at"):
            inc.pop(drop)
        yield {"type": "incident", **inc}
    links: dict[int, list[dict]] = {}
    for row in dump.links(db):
        links.setdefault(row["document_id"], []).append(
            {"incident": keys[row["incident_id"]], "confidence": row["confidence"], "method": row["method"],
             "evidence": json.loads(row["evidence"]) if row["evidence"] else []})
    amounts = dump.source_amounts(db)
    for doc in dump.documents(db):
        doc["meta"] = json.loads(doc["meta"]) if doc["meta"] else {}
        doc["amounts"] = amounts.get(doc["id"], [])
        doc["incidents"] = links.get(doc.pop("id"), [])
        yield {"type": "document", **doc}
    for case in dump.cases(db):
        case["incident"] = keys.get(case.pop("incident_id"))
        case["document"] = {"source": case.pop("source"), "external_id": case.pop("external_id")}
        yield {"type": "case", **case}


def write_jsonl(db: sqlite_utils.Database, out: TextIO) -> int:
    count = 0
    for record in jsonl_records(db):
        out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count
