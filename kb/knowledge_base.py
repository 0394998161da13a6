"""`KB`: one knowledge base, the object every command and the web start from.

    from kb import KB

    kb = KB("db/kb.db")                      # settings resolved once (kb.settings), the database opened on use
    kb.import_source("starter")              # stored, extracted, linked (kb.extract.pipeline)
    kb.add(["article.html"])                 # your files, or URLs
    kb.embed()                               # chunks, vectors, and the FAISS file level with them
    results = kb.search("intern sabotaged model training", k=5)
    kb.show("i1"), kb.stats(), kb.export("jsonl", sys.stdout)

As `sqlite_utils.Database` is to sqlite-utils, `KB` is to kb: the CLI and the
Datasette plugin are thin skins over its methods. One method writes (`ingest`;
the others that store call it), one searches (`search`). `KB(path,
readonly=True)` opens a database that must already exist and never writes it.
Expected problems are `kb.errors` exceptions: InvalidInput, NotFound, NotReady,
ConfigError (all KBError).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

import sqlite_utils

from . import settings
from .errors import InvalidInput
from .extract import pipeline
from .records import DocumentRecord
from .sources import config as sources_config
from .storage import lookup
from .storage.db import open_db, schema_version


class KB:
    """One knowledge base: its files and settings, its database connection, and what can be done with it."""

    def __init__(self, path: str | os.PathLike | None = None, *, readonly: bool = False, create: bool = True,
                 **flags: Any):
        """`path`: the database file (else $KB_DB, else db/kb.db). `flags` are settings given on a
        command line (workers, model, device): they win over every other place (kb.settings)."""
        db_path = Path(path or os.environ.get("KB_DB") or settings.DEFAULT_DB)
        self.config = sources_config.load(db_path)
        self.settings = settings.resolve(db_path, file=self.config.kb, **flags)
        self.path = self.settings.db
        self.paths = self.settings.paths
        self.readonly = readonly
        self.create = create and not readonly
        self._db: sqlite_utils.Database | None = None

    def __repr__(self) -> str:
        return f"KB({str(self.path)!r}{', readonly=True' if self.readonly else ''})"

    @property
    def db(self) -> sqlite_utils.Database:
        """The connection, opened (and the schema brought up to date, unless read-only) on first use."""
        if self._db is None:
            self._db = open_db(self.path, create=self.create, readonly=self.readonly)
        return self._db

    def open(self) -> "KB":
        """Open the database now (NotFound, or InvalidInput for a file that is not a knowledge base)."""
        self.db
        return self

    def schema_version(self) -> int:
        return schema_version(self.db)

    def init(self) -> int:
        """Create or upgrade the database and derive what an upgrade left empty (scope, legal
        status, amounts); returns the schema version."""
        from .incidents import derive

        derive.fill_missing(self.db)
        return self.schema_version()

    # --- writing: everything goes through ingest -------------------------------------

    def ingest(self, records: Iterable[DocumentRecord]) -> pipeline.IngestResult:
        """Store records and extract and link the new and changed ones (the one write path)."""
        return pipeline.ingest(self.db, records, processes=self.settings.workers)

    def import_source(self, name: str, path: str | os.PathLike | None = None):
        """Import a bundled or local dataset in bulk: "starter", or "vcdb" from a folder of VERIS JSON.
        Returns (IngestResult, [(file, reason) of what could not be read])."""
        from .sources import starter, vcdb

        if name == "starter":
            return self.ingest(starter.iter_records()), []
        if name == "vcdb":
            read = vcdb.read_folder(path)
            return self.ingest(read.records), read.errors
        raise InvalidInput(f"unknown dataset {name!r}: starter or vcdb")

    def import_export(self, path: str | os.PathLike) -> pipeline.IngestResult:
        """Import what `export("jsonl")` wrote (incidents, documents with their links, cases)."""
        from .sources import jsonl

        return pipeline.ingest_export(self.db, jsonl.read(path), processes=self.settings.workers)

    def read_file(self, path: str | os.PathLike) -> DocumentRecord:
        """A local file (HTML, Markdown, text, PDF) as a record, for `ingest`."""
        from .sources import files

        return files.read_file(path)

    def add_url(self, url: str):
        """Fetch one page with the source that claims its address, store and process it."""
        from .sources import runner

        return runner.add_url(self, url)

    def scrape(self, names: Iterable[str] = (), since=None, limit: int | None = None, command: str = "scrape"):
        """Run the named sources (default: every enabled one); a result per source."""
        from .sources import runner

        return runner.scrape(self, names, since=since, limit=limit, command=command)

    def relink(self) -> dict[str, Any]:
        """Redo every machine decision: every extraction step and every automatic link and merge."""
        return pipeline.relink(self.db, processes=self.settings.workers)

    def alias(self, kind: str, canonical: str, aliases: Iterable[str]) -> None:
        """Teach entity extraction other names of an organisation or court (then `relink`)."""
        from .extract.aliases import add_alias, seed_aliases
        from .storage.sql import transaction

        seed_aliases(self.db)
        with transaction(self.db):
            for alias in aliases:
                add_alias(self.db, kind, canonical, alias)

    # --- incidents, corrected by hand ------------------------------------------------

    def incident_id(self, ident: str) -> int:
        """The incident an id, key or external id names; InvalidInput for a document."""
        kind, row_id = lookup.resolve(self.db, ident)
        if kind != "incident":
            raise InvalidInput(f"{ident!r} is a document; give an incident (i12, a key such as starter:...)")
        return row_id

    def document_ids(self, idents: Iterable[str]) -> list[int]:
        """The documents these ids name (a bare number is a document); InvalidInput for an incident."""
        ids = []
        for ident in idents:
            kind, row_id = lookup.resolve(self.db, ident if ident[:1] in "di" or not ident.isdigit() else f"d{ident}")
            if kind != "document":
                raise InvalidInput(f"{ident!r} is an incident; give documents (d12 ...)")
            ids.append(row_id)
        return ids

    def merge(self, target: str, others: Iterable[str]) -> tuple[int, list[int]]:
        from . import incidents

        target_id, other_ids = self.incident_id(target), [self.incident_id(o) for o in others]
        incidents.merge(self.db, target_id, other_ids)
        return target_id, other_ids

    def split(self, ident: str, documents: Iterable[str]) -> int:
        from . import incidents

        return incidents.split(self.db, self.incident_id(ident), self.document_ids(documents))

    def link(self, ident: str, documents: Iterable[str]) -> int:
        from . import incidents

        incident_id = self.incident_id(ident)
        incidents.manual_link(self.db, incident_id, self.document_ids(documents))
        return incident_id

    def edit(self, ident: str, changes: dict[str, str]) -> int:
        from . import incidents

        incident_id = self.incident_id(ident)
        incidents.edit(self.db, incident_id, changes)
        return incident_id

    def candidates(self) -> list[dict]:
        """Low-confidence "same case?" pairs left for a person to decide."""
        from . import incidents

        return incidents.candidates(self.db)

    def similar(self, ident: str, limit: int = 10) -> list[dict]:
        """Incidents like an incident (or like a document's incident)."""
        from . import incidents

        kind, row_id = lookup.resolve(self.db, ident)
        if kind == "document":
            linked = lookup.document(self.db, row_id)["incidents"]
            if not linked:
                raise InvalidInput(f"document d{row_id} is not linked to an incident yet")
            row_id = linked[0]["id"]
        return incidents.similar(self.db, row_id, limit)

    # --- vectors ---------------------------------------------------------------------

    def embed(self, model: str | None = None, device: str | None = None, batch_size: int = 64,
              rebuild: bool = False, progress: Callable[[int, int], None] | None = None, encoder=None):
        """Chunk and embed what is new (everything aside, with `rebuild`), then bring the FAISS file
        level with the vectors, holding the index lock (one such writer at a time; another waits).
        Vectors reach the FAISS file as they land (vector_index.Follower), except in a rebuild, which
        swaps them in at its end. Returns (EmbedReport, vector_index.Synced: vectors added, removed,
        why the file was replaced)."""
        from .index import embed, vector_index
        from .storage import files

        with files.exclusive(self.paths.index_lock):
            follower = vector_index.Follower(self.db, self.paths.index)
            report = embed.embed(self.db, model or self.settings.model, device or self.settings.device, batch_size,
                                 rebuild=rebuild, model=encoder,
                                 progress=progress if rebuild else follower.progress(progress))
            return report, follower.sync()

    def rebuild_index(self, kind: str | None = None) -> tuple[int, str | None]:
        """Build the FAISS file afresh from the stored vectors, holding the index lock: (its size, why
        the old file could not serve this database, or None)."""
        from .index import vector_index
        from .storage import files

        with files.exclusive(self.paths.index_lock):
            replaced = vector_index.unusable(self.db, self.paths.index)
            return vector_index.rebuild(self.db, self.paths.index, kind), replaced

    def index_info(self) -> dict[str, Any]:
        """What the FAISS file holds: its type, vectors, dimension and parameters (Unusable, with the
        reason, for a file that cannot serve this database)."""
        from .index import vector_index

        index = vector_index.load(self.paths.index, self.db)
        return {"path": str(self.paths.index), "kind": vector_index.kind_of(index), "vectors": int(index.ntotal),
                "dim": int(index.d), "requested": vector_index.index_type(self.db), "params": vector_index.params(index)}

    # --- reading ---------------------------------------------------------------------

    @property
    def searcher(self):
        """The searcher of this database (one per database per process: model and index load once)."""
        from .search.searcher import get_searcher

        return get_searcher(self.path, device=self.settings.device)

    def search(self, query: str, k: int = 10, mode: str = "hybrid", by: str = "incident", filters=None):
        """Top-k incidents (or documents, `by="document"`) for `query`: kb.search.hits.Results."""
        self.open()
        return self.searcher.search(query, k=k, mode=mode, filters=filters, by=by)

    def search_many(self, queries: Iterable[str], k: int = 10, mode: str = "hybrid", by: str = "incident",
                    filters=None):
        """(query, results, error) for each query, in order, in batches."""
        self.open()
        return self.searcher.search_many(queries, k=k, mode=mode, filters=filters, by=by)

    def show(self, ident: str) -> dict[str, Any]:
        """A document or an incident in full, with its facts and their provenance."""
        return lookup.show(self.db, ident)

    def stats(self, scope: str | None = "in") -> dict[str, Any]:
        """Counts; incidents of `scope` ("in" by default; None or "all": every incident)."""
        return lookup.stats(self.db, None if scope == "all" else scope)

    def sources(self) -> list[dict]:
        """Every registered source: settings, last run, status, documents."""
        from .sources import runner

        return runner.overview(self)

    def runs(self, limit: int = 20) -> list[dict]:
        from .storage import runs

        return runs.history(self.db, limit)

    def export(self, fmt: str, out: TextIO | str | os.PathLike) -> int | list[Path]:
        """jsonl or iides to `out` (an open file, or a file written whole or not at all), or csv into
        the folder `out`: what was written (records, bundles, or the csv files)."""
        import json

        from .export import iides, jsonl, tables
        from .storage import files

        if fmt == "csv":
            return tables.write_csv(self.db, tables.csv_folder(out))
        if fmt in ("jsonl", "iides") and isinstance(out, (str, os.PathLike)):
            with files.atomic_file(out) as fh:
                return self.export(fmt, fh)
        if fmt == "jsonl":
            return jsonl.write_jsonl(self.db, out)
        if fmt == "iides":
            bundles = iides.iides_bundles(self.db)
            out.write(json.dumps(bundles, ensure_ascii=False, indent=2, default=str) + "\n")
            return len(bundles)
        raise InvalidInput(f"unknown export format {fmt!r}: jsonl, csv or iides")

    # --- watches: saved searches told what each update added (kb.watches) ---------------

    def watch_add(self, name: str, query: str | None = None, **how: Any) -> dict[str, Any]:
        """Save a watch (a query with kb.search's mode, grouping and filters; or `incident=`, `case=`)
        that sees what changes from now on; returns it."""
        from .storage import watches
        from .watches.define import define

        watches.add(self.db, define(self, name, query, **how))
        return watches.get(self.db, name)

    def watch_remove(self, name: str) -> None:
        from .storage import watches

        watches.remove(self.db, name)

    def watches(self) -> list[dict[str, Any]]:
        from .storage import watches

        return watches.all_watches(self.db)

    def watch_show(self, name: str, since: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A watch and its matches: those recorded on or after `since` (a date), else those not read
        yet, which are then marked read (unless the knowledge base is read-only)."""
        from .search.filters import Filters
        from .storage import watches

        watch = watches.get(self.db, name)
        if since is not None:
            return watch, watches.matches(self.db, watch["id"], since=Filters(since=since).since)
        found = watches.matches(self.db, watch["id"], after_id=watch["read_through"])
        if found and not self.readonly:
            watches.mark_read(self.db, watch["id"], found[-1]["id"])
        return watch, found

    def watch_notify(self) -> list[dict[str, Any]]:
        """Every watch's matches recorded since the last call (the first call: all of them)."""
        from .storage import watches

        return watches.take_unnotified(self.db)

    def evaluate_watches(self, command: str = "update"):
        """Every watch over what changed since it last looked (kb.watches.evaluate)."""
        from .watches import evaluate

        return evaluate.evaluate(self, command)

    # --- unattended ------------------------------------------------------------------

    def update(self, names: Iterable[str] = ()):
        """Scrape the sources that are due (or those named), embed, index: the cron job, one at a
        time (kb.ops.lock: `Locked` when another holds the lock)."""
        from .ops import lock, update

        with lock.exclusive(self.path):
            return update.update(self, list(names))
