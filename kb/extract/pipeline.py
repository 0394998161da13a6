"""The one write path: store documents, extract what they say, link them to incidents.

    from kb import KB
    result = KB("db/kb.db").ingest(records)   # DocumentRecords from any source
    result.counts, result.documents, result.steps["link"]

Every writer (`kb add`, `kb import`, `kb scrape`, `kb update`, programs)
comes here. A batch of records is stored and then run through `STEPS`, in
one transaction: it lands whole or not at all. Each document keeps the
content hash it was last processed at (`documents.processed_sha256`), so
a document stored but not processed (a scraper stores each page as it
arrives; a process was killed) is finished by the next write: `finish()`
runs at the start of every ingest. Runs that a dead process left 'running'
are marked 'interrupted' then too.

A step is a function `step(db, doc_ids)` that (re)derives what it owns for
those documents, idempotently; its return value lands in `result.steps`.
A step whose pure work runs on kb.extract.workers' processes may instead
return a function that finishes it (waits, writes, returns the value): it
is called before the first later step that `needs` it, else after the last
step, so their work overlaps its (legal facts are extracted while documents
are linked). All of it is in the batch's transaction. To add a step (a fact
extractor, say): one module with its `step`, and one line in `STEPS`.
`relink` runs every step again over every document.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Iterable

import sqlite_utils

from ..incidents import derive, link
from ..records import DocumentRecord
from ..storage import restore, runs, store
from ..storage.sql import batches, transaction
from ..storage.store import NEW, UNCHANGED, UPDATED
from . import entities, legal, workers

BATCH = 500  # documents per transaction


@dataclass(frozen=True)
class Step:
    """One thing that happens to every stored document: `run(db, doc_ids)`, after the steps it `needs`."""

    name: str
    run: Callable[[sqlite_utils.Database, list[int]], Any]
    needs: tuple[str, ...] = ()


STEPS: tuple[Step, ...] = (
    Step("legal", legal.step),  # arrests, charges, pleas, sentences... with their sentence (on workers)
    Step("entities", entities.step),  # organisations, people, courts, amounts, dates... with their status
    Step("link", link.step, needs=("entities",)),  # sketch the text, join an incident or start one
    Step("derive", derive.step, needs=("legal", "link")),  # amounts, legal status, scope of the incidents
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
        """Ids of documents that are new or changed (to process and embed)."""
        return [doc_id for status, doc_id in self.documents if status != UNCHANGED]

    def stored(self, documents: list[tuple[str, int]]) -> None:
        """Count what the store stage did with a batch."""
        for status, _ in documents:
            self.counts[status] += 1
        self.documents += documents


def ingest(db: sqlite_utils.Database, records: Iterable[DocumentRecord], batch: int = BATCH,
           processes: int = 1) -> IngestResult:
    """Store `records` and process the new and changed ones, one transaction per batch, with up
    to `processes` worker processes for the steps' pure work."""
    result = IngestResult()
    with workers.sharing(processes):
        finish(db, result)
        records = iter(records)
        while chunk := list(islice(records, batch)):
            with transaction(db):
                saved = store.save_many(db, chunk)
                result.stored(saved)
                process(db, [doc_id for status, doc_id in saved if status != UNCHANGED], result)
    return result


def ingest_export(db: sqlite_utils.Database, objects: Iterable[dict], processes: int = 1) -> IngestResult:
    """Load what `kb export --format jsonl` wrote (links and keys as exported), then process it
    batch by batch with up to `processes` worker processes, all in one transaction."""
    result = IngestResult()
    with workers.sharing(processes):
        finish(db, result)
        with transaction(db):
            counts, doc_ids = restore.write(db, objects)
            result.counts.update(counts)
            for chunk in batches(doc_ids, BATCH):
                process(db, chunk, result)
    return result


def store_now(db: sqlite_utils.Database, record: DocumentRecord) -> tuple[str, int]:
    """Store one record in its own transaction, for `finish` to process: for scrapers,
    whose records arrive one page at a time. Returns (status, id)."""
    with transaction(db):
        return store.save_document(db, record)


def finish(db: sqlite_utils.Database, result: IngestResult | None = None, processes: int = 1) -> IngestResult:
    """Mark runs of dead processes interrupted; process every document stored but not processed."""
    result = result or IngestResult()
    runs.mark_interrupted(db)
    # A plain query: the partial index answers it without a scan.
    pending = [r[0] for r in db.execute(f"SELECT id FROM documents WHERE {_UNPROCESSED}")]
    with workers.sharing(processes):
        for chunk in batches(pending, BATCH):
            with transaction(db):
                process(db, chunk, result)
    result.finished += len(pending)
    return result


def relink(db: sqlite_utils.Database, processes: int = 1) -> dict[str, Any]:
    """Redo every machine decision: forget automatic links and merges (source and manual ones
    stay), then run every step again over every document. Returns the link step's counts
    (documents, linked, created, merged, candidates), what the other steps stored, and the seconds."""
    started = time.perf_counter()
    link.forget_machine_decisions(db)
    result = IngestResult()
    ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
    with workers.sharing(processes):
        for chunk in batches(ids, BATCH):
            with transaction(db):
                process(db, chunk, result)
    steps = {name: done for name, done in result.steps.items() if name != "link"}
    return {**result.steps.get("link", {}), "steps": steps, "seconds": round(time.perf_counter() - started, 2)}


def process(db: sqlite_utils.Database, doc_ids: list[int], result: IngestResult) -> None:
    """Run every step on `doc_ids`, then record them processed (call inside a transaction)."""
    if not doc_ids:
        return
    pending: dict[str, Callable[[], Any]] = {}
    for step in STEPS:
        for name in step.needs:
            if name in pending:
                _add(result.steps, name, pending.pop(name)())
        done = step.run(db, doc_ids)
        if callable(done):  # the step began work on kb.extract.workers' processes: it ends later
            pending[step.name] = done
        else:
            _add(result.steps, step.name, done)
    for name, done in pending.items():
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
