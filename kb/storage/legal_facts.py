"""The legal_facts table: each document's arrests, charges, pleas, verdicts, sentences,
settlements and claims (kb.extract.legal), each with its sentence and offsets."""

from __future__ import annotations

from typing import Iterable

import sqlite_utils

from .sql import batches, marks, rows, transaction

COLUMNS = ("document_id", "kind", "status", "sentence", "sentence_type", "statute", "count", "quantity", "unit",
           "amount", "currency", "date", "case_number", "start_offset", "end_offset")
_INSERT = f"INSERT INTO legal_facts ({', '.join(COLUMNS)}) VALUES ({marks(COLUMNS)})"


def replace(db: sqlite_utils.Database, doc_ids: Iterable[int], facts: list[dict]) -> None:
    """Replace the legal facts of these documents with `facts` (dicts of COLUMNS)."""
    with transaction(db):
        for chunk in batches(list(doc_ids)):
            db.execute(f"DELETE FROM legal_facts WHERE document_id IN ({marks(chunk)})", chunk)
        db.conn.executemany(_INSERT, [tuple(f[c] for c in COLUMNS) for f in facts])


def of_documents(db: sqlite_utils.Database, doc_ids: list[int]) -> list[dict]:
    """The legal facts of these documents in text order, each with its document's publication date
    and whether it is curated."""
    out = []
    for chunk in batches(doc_ids):
        out += rows(db, "SELECT f.*, d.published, d.curated FROM legal_facts f JOIN documents d ON d.id = f.document_id "
                        f"WHERE f.document_id IN ({marks(chunk)}) ORDER BY f.document_id, f.start_offset", chunk)
    return out
