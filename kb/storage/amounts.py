"""The amounts table: each amount a document states, with its kind (kb.records.AMOUNT_KINDS), its
sentence and whether the record says it ('source') or it was read from the text ('extracted')."""

from __future__ import annotations

from typing import Iterable

import sqlite_utils

from .sql import batches, marks, rows

COLUMNS = ("document_id", "kind", "amount", "currency", "text", "origin")
_INSERT = f"INSERT INTO amounts ({', '.join(COLUMNS)}) VALUES ({marks(COLUMNS)})"


def replace(db: sqlite_utils.Database, doc_ids: Iterable[int], found: list[dict], origin: str) -> None:
    """Replace these documents' amounts of one origin with `found` (dicts with document_id, kind,
    amount, currency, text)."""
    for chunk in batches(list(doc_ids)):
        db.execute(f"DELETE FROM amounts WHERE origin = ? AND document_id IN ({marks(chunk)})", [origin, *chunk])
    db.conn.executemany(_INSERT, [tuple({**a, "origin": origin}.get(c) for c in COLUMNS) for a in found])


def stated(db: sqlite_utils.Database, doc_ids: list[int]) -> set[int]:
    """Those of `doc_ids` whose record states the amounts (curated entries, and any record with
    amounts of its own): their amounts are not read from the text."""
    out: set[int] = set()
    for chunk in batches(doc_ids):
        out |= {r[0] for r in db.execute(
            f"SELECT id FROM documents WHERE curated = 1 AND id IN ({marks(chunk)}) UNION "
            f"SELECT document_id FROM amounts WHERE origin = 'source' AND document_id IN ({marks(chunk)})",
            [*chunk, *chunk])}
    return out


def of_documents(db: sqlite_utils.Database, doc_ids: list[int]) -> list[dict]:
    """The amounts of these documents, in the order they were stored."""
    out = []
    for chunk in batches(doc_ids):
        out += rows(db, f"SELECT * FROM amounts WHERE document_id IN ({marks(chunk)}) ORDER BY id", chunk)
    return out
