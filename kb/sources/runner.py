"""Run scrapers: fetch what they ask for, hand them the responses, store what they return.

    results = scrape(KB("db/kb.db"), ["doj", "rss"], since=date(2024, 1, 1), limit=20)
    for r in results: print(r.source, r.status, r.counts)

Every function takes the knowledge base (`kb.KB`): its database, its files and its
sources.toml (`kb.config`, kb.sources.config).

A run ends 'ok', 'partial' (some items failed), 'failed' (nothing but
failures) or 'limited' (stopped at `limit`). Each document is stored on its
own as it arrives (`kb.extract.pipeline.store_now`), so a crash loses nothing already
stored; at the end of the run `kb.extract.pipeline.finish` extracts and links what was
stored (after a crash, the next write does). Each failure (a fetch error, a page the scraper cannot read) is a
`run_errors` row and the run goes on. A page's validators (for conditional
GET) are kept only once everything it led to was stored; a page with a
failure below it is fetched in full next time, so the next run retries what
failed. Without --since, a source looks back to a week before its last
clean run. A scraper's `Cursor` (how far a backfill got) is stored only while
nothing in the run must be redone (a failed fetch, page or store); an item the
scraper reports unreadable is recorded but does not hold the cursor back, so
one broken item cannot stall a backfill.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable

from ..errors import InvalidInput
from ..extract import pipeline
from ..records import DocumentRecord
from ..storage import fetch_state, lookup, runs
from . import registry, scraper_for
from .fetch import Fetcher, FetchError
from .sdk import Cursor, ItemError, Request

SINCE_MARGIN = timedelta(days=7)


@dataclass
class SourceResult:
    """What one run of one source did."""

    source: str
    run_id: int
    status: str
    counts: dict[str, int]
    errors: list[tuple[str | None, str]] = field(default_factory=list)
    documents: list[tuple[str, int]] = field(default_factory=list)  # (new/updated/unchanged, id)
    steps: dict = field(default_factory=dict)  # what the ingest steps returned (e.g. link counts)


def make_fetcher(kb, keep_raw: bool = True) -> Fetcher:
    """A Fetcher configured from the knowledge base's sources file (raw pages kept beside it)."""
    return Fetcher(kb.config.fetch_settings(), raw_dir=kb.paths.raw if keep_raw else None)


def scrape(kb, names: Iterable[str] = (), since: date | None = None, limit: int | None = None,
           fetcher: Fetcher | None = None, command: str = "scrape") -> list[SourceResult]:
    """Run the named sources (default: every enabled one), one after the other."""
    conf, db = kb.config, kb.db
    known = registry()
    names = list(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(f"unknown source(s) {', '.join(unknown)} (known: {', '.join(known)})")
    names = names or [n for n, cls in known.items() if conf.settings_for(cls)["enabled"]]
    own = fetcher is None
    fetcher = fetcher or make_fetcher(kb)
    try:
        results = []
        for name in names:
            cls = known[name]
            scraper = cls(conf.settings_for(cls), since=since or default_since(db, name),
                          state=runs.load_state(db, name))
            results.append(run_source(kb, scraper, fetcher, limit=limit, command=command))
        return results
    finally:
        if own:
            fetcher.close()


def default_since(db, source: str) -> date | None:
    """A week before the start of the source's last clean run (None: never ran cleanly)."""
    started = runs.last_success(db, source)
    return (datetime.fromisoformat(started).date() - SINCE_MARGIN) if started else None


def run_source(kb, scraper, fetcher: Fetcher, limit: int | None = None,
               command: str | None = None) -> SourceResult:
    """One run of one scraper, recorded in `runs` / `run_errors`."""
    db = kb.db
    run = _Run(db, scraper, fetcher, runs.start_run(db, scraper.name, command), limit)
    try:
        run.handle(scraper.start(), where=scraper.name)
        processed = pipeline.finish(db, processes=kb.settings.workers)
    except BaseException:
        runs.finish_run(db, run.id, run.counts, status=runs.INTERRUPTED)
        raise
    status = runs.LIMITED if run.stopped and not run.counts["failed"] else None
    status = runs.finish_run(db, run.id, run.counts, status=status)
    return SourceResult(scraper.name, run.id, status, run.counts, run.errors, run.documents, processed.steps)


def add_url(kb, url: str, fetcher: Fetcher | None = None) -> SourceResult:
    """Fetch and store one page as `kb add URL` does, with the scraper that claims it."""
    cls = scraper_for(url)
    scraper = cls({**kb.config.settings_for(cls), "urls": [url]})
    own = fetcher is None
    fetcher = fetcher or make_fetcher(kb)
    try:
        result = run_source(kb, scraper, fetcher, command="add")
    finally:
        if own:
            fetcher.close()
    if result.errors:
        raise InvalidInput(f"cannot add {url}: {result.errors[0][1]}")
    return result


class _Run:
    """The state of one run: counts, errors, and the walk through requests and records."""

    def __init__(self, db, scraper, fetcher: Fetcher, run_id: int, limit: int | None):
        self.db, self.scraper, self.fetcher, self.id, self.limit = db, scraper, fetcher, run_id, limit
        self.counts = dict.fromkeys(runs.COUNTS, 0)
        self.errors: list[tuple[str | None, str]] = []
        self.documents: list[tuple[str, int]] = []
        self.stopped = False  # True once an output was left out because of the limit
        self.retry = False  # True once a fetch, page or store failed: the next run must do it again

    def full(self) -> bool:
        return self.limit is not None and self.counts["seen"] >= self.limit

    def handle(self, outputs, where: str) -> bool:
        """Fetch, store or record each output; True when every one of them succeeded."""
        complete = True
        try:
            for out in outputs:
                if self.full():
                    self.stopped = True
                    return False
                if isinstance(out, DocumentRecord):
                    complete = self.save(out) and complete
                elif isinstance(out, Request):
                    complete = self.fetch(out) and complete
                elif isinstance(out, ItemError):
                    self.fail(out.where, out.reason, retry=False)  # the item itself is unreadable
                    complete = False
                elif isinstance(out, Cursor):
                    if not self.retry:  # a step is done only if nothing before it must be redone
                        self.scraper.state = runs.save_state(self.db, self.scraper.name, out.state)
                else:
                    raise TypeError(f"scraper {self.scraper.name} gave {type(out).__name__}")
        except sqlite3.Error:  # the database itself is in trouble: stop the run
            raise
        except Exception as exc:  # hostile input broke a parser: this page fails, the run goes on
            self.fail(where, f"cannot parse: {type(exc).__name__}: {exc}")
            return False
        return complete

    def fetch(self, request: Request) -> bool:
        """Fetch one request and handle what the scraper makes of it."""
        try:
            response = self.fetcher.get(request.url, accept=request.accept, headers=request.headers,
                                        validators=fetch_state.validators(self.db, request.url))
        except FetchError as exc:
            self.fail(request.url, exc.reason)
            return False
        if response.not_modified:
            if request.item:
                self.counts["seen"] += 1
                self.counts["unchanged"] += 1
            fetch_state.save(self.db, request.url, response)
            return True
        complete = self.handle(self.scraper.parse(response, request), where=request.url)
        if complete:
            fetch_state.save(self.db, request.url, response)
        else:
            fetch_state.forget(self.db, request.url)
        return complete

    def save(self, record: DocumentRecord) -> bool:
        """Store one document (with its incident and cases) at once; it is processed at the end."""
        try:
            status, doc_id = pipeline.store_now(self.db, record)
        except (sqlite3.InterfaceError, sqlite3.IntegrityError, TypeError, ValueError) as exc:
            self.fail(record.url or record.external_id, f"cannot store: {type(exc).__name__}: {exc}")
            return False
        self.counts["seen"] += 1
        self.counts[status] += 1
        self.documents.append((status, doc_id))
        return True

    def fail(self, where: str | None, reason: str, retry: bool = True) -> None:
        self.retry = self.retry or retry
        self.counts["failed"] += 1
        self.errors.append((where, reason))
        runs.record_error(self.db, self.id, where, reason)


def overview(kb) -> list[dict]:
    """Every registered source with its settings summary, last run and number of documents."""
    conf, db = kb.config, kb.db
    last = runs.last_runs(db)
    documents = lookup.documents_by_source(db)
    rows = []
    for name, cls in registry().items():
        given = conf.settings_for(cls)
        run = last.get(name, {})
        scraper = cls(given, state=runs.load_state(db, name))
        rows.append({
            "name": name,
            "kind": cls.kind,
            "description": cls.description,
            "enabled": bool(given["enabled"]),
            "interval_hours": given["interval_hours"],
            "last_run": run.get("started"),
            "last_status": run.get("status"),
            "last_counts": {k: run[k] for k in runs.COUNTS} if run else None,
            "documents": documents.get(name, 0),
            "state": scraper.state,
            "notes": scraper.notes(),
        })
    return rows
