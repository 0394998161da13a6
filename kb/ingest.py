"""The one write path: store documents, extract what they say, link them to incidents.

    from kb.db import open_db
    from kb.ingest import ingest
    result = ingest(open_db("db/kb.db"), records)   # DocumentRecords from any importer or scraper
    result.counts, result.documents, result.steps["link"]

Every writer (`kb add`, `kb import`, `kb scrape`, `kb update`, programs)
comes here. A batch of records is stored and then run through `STEPS`, in
one transaction: it lands whole or not at all. Each document keeps the
content hash it was last processed at (`documents.processed_sha256`), so
a document stored but not processed (a scraper stores each page as it
arrives; a program called `store.save_many`; a process was killed) is
finished by the next write: `finish()` runs at the start of every ingest.
Runs that a dead process left 'running' are marked 'interrupted' then too.

A step is a function `step(db, doc_ids)` that (re)derives what it owns for
those documents, idempotently; its return value lands in `result.steps`.
A step whose pure work runs on kb.workers' processes may instead return a
function that finishes it (waits, writes, returns the value): that is
called after the later steps, so their work overlaps its (legal facts are
extracted while documents are linked). All of it is in the batch's transaction.
To add one (a fact extractor, say), add one line to `STEPS`, in order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Iterable

import sqlite_utils

from . import incidents, legal, runs, store, workers
from .records import DocumentRecord
from .store import NEW, UNCHANGED, UPDATED, batches, transaction

BATCH = 500  # documents per transaction

# What happens to a stored document, in order: (name, step(db, doc_ids)).
STEPS: tuple[tuple[str, Callable[[sqlite_utils.Database, list[int]], Any]], ...] = (
    ("legal", legal.extract_facts),  # arrests, charges, pleas, sentences... with their sentence
    ("link", incidents.link_documents),  # extracts entities, then joins an incident
)

_UNPROCESSED = "processed_sha256 IS NOT content_sha256"  # the partial index documents_unprocessed


@dataclass
class IngestResult:
    """Counts by status, (status, id) per record in input order, and what each step returned."""

    counts: dict[str, int] = field(default_factory=lambda: {NEW: 0, UPDATED: 0, UNCHANGED: 0})
    documents: list[tuple[str, int]] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    finished: int = 0  # documents left unprocessed by an earlier write, processed now

    @property
    def changed(self) -> list[int]:
        return [doc_id for status, doc_id in self.documents if status != UNCHANGED]


def ingest(db: sqlite_utils.Database, records: Iterable[DocumentRecord], batch: int = BATCH) -> IngestResult:
    """Store `records` and process the new and changed ones, one transaction per batch."""
    result = IngestResult()
    with workers.sharing():
        finish(db, result)
        records = iter(records)
        while chunk := list(islice(records, batch)):
            with transaction(db):
                saved = store.save_many(db, chunk)
                for status, doc_id in saved.documents:
                    result.counts[status] += 1
                result.documents += saved.documents
                process(db, saved.changed, result)
    return result


def ingest_export(db: sqlite_utils.Database, objects: list[dict]) -> IngestResult:
    """Load what `kb export --format jsonl` wrote (links and keys as exported), then process it."""
    from .importers import jsonl

    result = IngestResult()
    finish(db, result)
    with transaction(db):
        counts, doc_ids = jsonl.load(db, objects)
        result.counts.update(counts)
        process(db, doc_ids, result)
    return result


def store_now(db: sqlite_utils.Database, record: DocumentRecord) -> tuple[str, int]:
    """Store one record in its own transaction, for `finish` to process: for scrapers,
    whose records arrive one page at a time. Returns (status, id)."""
    with transaction(db):
        return store.save_document(db, record)


def finish(db: sqlite_utils.Database, result: IngestResult | None = None) -> IngestResult:
    """Mark runs of dead processes interrupted; process every document stored but not processed."""
    result = result or IngestResult()
    runs.mark_interrupted(db)
    # A plain query: the partial index answers it without a scan.
    pending = [r[0] for r in db.execute(f"SELECT id FROM documents WHERE {_UNPROCESSED}")]
    with workers.sharing():
        for chunk in batches(pending, BATCH):
            with transaction(db):
                process(db, chunk, result)
    result.finished += len(pending)
    return result


def process(db: sqlite_utils.Database, doc_ids: list[int], result: IngestResult) -> None:
    """Run every step on `doc_ids`, then record them processed (call inside a transaction)."""
    if not doc_ids:
        return
    finishing = []
    for name, step in STEPS:
        done = step(db, doc_ids)
        if callable(done):  # the step began work on kb.workers' processes: it ends after the later steps
            finishing.append((name, done))
        else:
            _add(result.steps, name, done)
    for name, done in finishing:
        _add(result.steps, name, done())
    db.execute("UPDATE documents SET processed_sha256 = content_sha256 "
               "WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(doc_ids)])


def _add(totals: dict[str, Any], name: str, value: Any) -> None:
    """Sum a step's counts over batches (a number or a dict of numbers); keep anything else as the last value."""
    if isinstance(value, dict) and isinstance(totals.get(name, {}), dict):
        merged = dict(totals.get(name, {}))
        for key, number in value.items():
            merged[key] = merged.get(key, 0) + number if isinstance(number, (int, float)) else number
        totals[name] = merged
    elif isinstance(value, (int, float)):
        totals[name] = totals.get(name, 0) + value
    else:
        totals[name] = value
