"""`kb update`: the unattended job cron runs — scrape what is due (stored, extracted and
linked through kb.extract.pipeline), embed, index, then evaluate the watches (kb.watches).

Every step commits as it goes, so a run killed at any moment leaves a
consistent database, and the next run picks up where it stopped: documents
already stored are unchanged, documents not yet linked are linked, chunks
without vectors are embedded, and the index is brought level with the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..extract import pipeline
from ..index import embed
from ..sources import registry, runner
from ..storage import runs

# Exit codes, documented in the README and `kb update --help`.
EXIT_OK = 0
EXIT_SOURCE_FAILED = 3  # at least one source failed; the others still ran
EXIT_CANNOT_START = 4  # bad configuration, unreadable database, broken index...
EXIT_LOCKED = 75  # another kb update holds the lock (EX_TEMPFAIL: try again later)

log = logging.getLogger("kb")


@dataclass
class UpdateReport:
    results: list[runner.SourceResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # enabled but not yet due
    linked: int = 0  # documents extracted and linked
    embedded: int = 0
    watches: object = None  # kb.watches.evaluate.Evaluation: what the watches found

    @property
    def exit_code(self) -> int:
        failed = any(r.status in (runs.FAILED, runs.PARTIAL) for r in self.results)
        return EXIT_SOURCE_FAILED if failed else EXIT_OK


def due_sources(kb, now: datetime | None = None) -> tuple[list[str], list[str]]:
    """(enabled sources due now, enabled sources not yet due) by each one's interval_hours.

    A source is due when it has never run cleanly or its last clean run
    started at least interval_hours ago.
    """
    now = now or datetime.now(timezone.utc)
    due, waiting = [], []
    for name, cls in registry().items():
        given = kb.config.settings_for(cls)
        if not given["enabled"]:
            continue
        last = runs.last_success(kb.db, name)
        interval = timedelta(hours=float(given["interval_hours"]))
        if last is None or datetime.fromisoformat(last) + interval <= now:
            due.append(name)
        else:
            waiting.append(name)
    return due, waiting


def update(kb, names: list[str] | None = None) -> UpdateReport:
    """Scrape the named sources (default: those due), embed, index.

    Call with the update lock held (`kb.ops.lock.exclusive`; `KB.update` does).
    """
    db = kb.db
    report = UpdateReport()
    finished = pipeline.finish(db, processes=kb.settings.workers).finished  # what a killed run left unlinked
    if finished:
        log.info("linked %d documents an earlier run left unlinked", finished)
    report.linked += finished
    if names:
        todo = list(names)
    else:
        todo, report.skipped = due_sources(kb)
    for name in report.skipped:
        log.info("%s: not due yet", name)
    for name in todo:
        log.info("%s: scraping", name)
        result = runner.scrape(kb, [name], command="update")[0]
        report.results.append(result)
        report.linked += result.steps.get("link", {}).get("documents", 0)
        log.info("%s: %s, %s", name, result.status, summary(result.counts))
        for url, reason in result.errors[:20]:
            log.warning("%s: failed %s: %s", name, url or "-", reason)
    docs, chunks = embed.pending(db)
    if docs or chunks:
        log.info("embedding: %d documents to chunk, %d chunks without vectors", docs, chunks)
    done, synced = kb.embed()  # and the index brought level with the vectors
    if synced.replaced:
        log.warning("replaced the vector index %s, which %s", kb.paths.index, synced.replaced)
    report.embedded = done.chunks_embedded
    report.watches = kb.evaluate_watches()  # after embedding: the new documents have their vectors
    log.info("watches: %d changed documents, %d new matches, %d failed", report.watches.evaluated,
             len(report.watches.new), len(report.watches.failed))
    log.info("done: %d embedded, index +%d -%d", report.embedded, synced.added, synced.removed)
    return report


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in runs.COUNTS)
