"""Run scrapers: fetch what they ask for, hand them the responses, store what they return.

    results = scrape(db, db_path, ["doj", "rss"], since=date(2024, 1, 1), limit=20)
    for r in results: print(r.source, r.status, r.counts)

A run ends 'ok', 'partial' (some items failed), 'failed' (nothing but
failures) or 'limited' (stopped at `limit`). Each document is stored on its
own as it arrives (`kb.ingest.store_now`), so a crash loses nothing already
stored; at the end of the run `kb.ingest.finish` extracts and links what was
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
from importlib.metadata import entry_points
from pathlib import Path
from typing import Iterable

from . import config, fetch, ingest, runs, sources_config
from .errors import KBError
from .fetch import Fetcher, FetchError
from .records import DocumentRecord
from .scraper import Cursor, ItemError, Request

ENTRY_POINT_GROUP = "kb.scrapers"
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


def registry() -> dict:
    """Scraper classes by source name, from the `kb.scrapers` entry points."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a plugin's import error, told in one line
            raise KBError(f"cannot load scraper {ep.name!r} ({ep.value}): {exc}") from None
    return dict(sorted(found.items()))


def make_fetcher(db_path: str | Path, keep_raw: bool = True) -> Fetcher:
    """A Fetcher configured from the sources file beside the database (raw pages kept beside it)."""
    conf = sources_config.load(db_path)
    return Fetcher(conf.fetch_settings(), raw_dir=config.raw_dir(Path(db_path)) if keep_raw else None)


def scrape(db, db_path: str | Path, names: Iterable[str] = (), since: date | None = None,
           limit: int | None = None, fetcher: Fetcher | None = None,
           command: str = "scrape") -> list[SourceResult]:
    """Run the named sources (default: every enabled one), one after the other."""
    conf = sources_config.load(db_path)
    known = registry()
    names = list(names)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KBError(f"unknown source(s) {', '.join(unknown)} (known: {', '.join(known)})")
    names = names or [n for n, cls in known.items() if conf.settings_for(cls)["enabled"]]
    own = fetcher is None
    fetcher = fetcher or make_fetcher(db_path)
    try:
        results = []
        for name in names:
            cls = known[name]
            scraper = cls(conf.settings_for(cls), since=since or default_since(db, name),
                          state=runs.load_state(db, name))
            results.append(run_source(db, scraper, fetcher, limit=limit, command=command))
        return results
    finally:
        if own:
            fetcher.close()


def default_since(db, source: str) -> date | None:
    """A week before the start of the source's last clean run (None: never ran cleanly)."""
    started = runs.last_success(db, source)
    return (datetime.fromisoformat(started).date() - SINCE_MARGIN) if started else None


def run_source(db, scraper, fetcher: Fetcher, limit: int | None = None,
               command: str | None = None) -> SourceResult:
    """One run of one scraper, recorded in `runs` / `run_errors`."""
    run = _Run(db, scraper, fetcher, runs.start_run(db, scraper.name, command), limit)
    try:
        run.handle(scraper.start(), where=scraper.name)
        processed = ingest.finish(db)
    except BaseException:
        runs.finish_run(db, run.id, run.counts, status=runs.INTERRUPTED)
        raise
    status = runs.LIMITED if run.stopped and not run.counts["failed"] else None
    status = runs.finish_run(db, run.id, run.counts, status=status)
    return SourceResult(scraper.name, run.id, status, run.counts, run.errors, run.documents, processed.steps)


def scraper_for(url: str):
    """The registered scraper that claims `url` most specifically (`Scraper.claims`)."""
    claims = [(cls.claims(url), name, cls) for name, cls in registry().items()]
    score, name, cls = max(claims, key=lambda c: c[0], default=(0, None, None))
    if not score:
        raise KBError(f"no scraper handles {url}")
    return cls


def add_url(db, db_path: str | Path, url: str, fetcher: Fetcher | None = None) -> SourceResult:
    """Fetch and store one page as `kb add URL` does, with the scraper that claims it."""
    cls = scraper_for(url)
    scraper = cls({**sources_config.load(db_path).settings_for(cls), "urls": [url]})
    own = fetcher is None
    fetcher = fetcher or make_fetcher(db_path)
    try:
        result = run_source(db, scraper, fetcher, command="add")
    finally:
        if own:
            fetcher.close()
    if result.errors:
        raise KBError(f"cannot add {url}: {result.errors[0][1]}")
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
                                        validators=fetch.load_validators(self.db, request.url))
        except FetchError as exc:
            self.fail(request.url, exc.reason)
            return False
        if response.not_modified:
            if request.item:
                self.counts["seen"] += 1
                self.counts["unchanged"] += 1
            fetch.save_state(self.db, request.url, response)
            return True
        complete = self.handle(self.scraper.parse(response, request), where=request.url)
        if complete:
            fetch.save_state(self.db, request.url, response)
        else:
            fetch.forget_state(self.db, request.url)
        return complete

    def save(self, record: DocumentRecord) -> bool:
        """Store one document (with its incident and cases) at once; it is processed at the end."""
        try:
            status, doc_id = ingest.store_now(self.db, record)
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


def overview(db, db_path: str | Path) -> list[dict]:
    """Every registered source with its settings summary, last run and number of documents."""
    conf = sources_config.load(db_path)
    last = runs.last_runs(db)
    documents = {r["source"]: r["n"] for r in db.query("SELECT source, count(*) AS n FROM documents GROUP BY source")}
    rows = []
    for name, cls in registry().items():
        settings = conf.settings_for(cls)
        run = last.get(name, {})
        scraper = cls(settings, state=runs.load_state(db, name))
        rows.append({
            "name": name,
            "kind": cls.kind,
            "description": cls.description,
            "enabled": bool(settings["enabled"]),
            "interval_hours": settings["interval_hours"],
            "last_run": run.get("started"),
            "last_status": run.get("status"),
            "last_counts": {k: run[k] for k in runs.COUNTS} if run else None,
            "documents": documents.get(name, 0),
            "state": scraper.state,
            "notes": scraper.notes(),
        })
    return rows
