"""Datasette plugin: the KB search page, the kb_search() SQL function, linked records on row pages.

Only hooks found in both Datasette 0.65 and the 1.0 alphas are used. Every
search goes through `kb.search.get_searcher` (the CLI's code path). The model
and index load in the `startup` hook, before the first request, so no query
waits for them inside Datasette's SQL time limit; the Searcher re-reads the
index file when it changes.

Searches run in a pool of their own with SEARCH_THREADS_PER_CORE threads
per core: part of a search holds the GIL (Python) and part does not (query
encoding, SQLite, FAISS), so a few more threads than cores keep the cores
busy (distinct queries on the shared 2-core machine, paired runs: 6 threads
26.7 and 29.3 requests/s, 2 threads 22.4 and 27.3). The search page keeps its last CACHE_SIZE answers
as JSON, keyed by query and options: a repeated search (a reload, a
shared link, the examples) answers without searching, and concurrent
identical searches run once; the page's drop-downs and counts are kept
too. Any change to the database, its WAL or the index file empties the
cache, so `kb update` shows at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote_plus

import yaml
from datasette import Response, hookimpl
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup, escape

from . import config
from .db import register_functions
from .errors import KBError
from .search import BY, MODES, Filters, TimeBudget, check_k, get_searcher

TEMPLATES = Path(__file__).parent / "templates"
CONFIG_FILE = resources.files("kb").joinpath("data/datasette.yaml")  # package data: found in any install
CONFIG_DB_KEY = "kb"  # the database's key in datasette.yaml, renamed to the served file's name
MAX_K = 100
FILTERS = ("kind", "source", "language", "since", "until")
EXAMPLES = ("intern sabotaged model training", "logic bomb planted by a contractor",
            "former employee deleted cloud servers", "trade secrets taken to a competitor", "删库")
SEARCH_THREADS_PER_CORE = 3
CACHE_SIZE = 256  # search answers kept by the search page (as JSON: ~50 KB each at k=20)
log = logging.getLogger(__name__)


# --- building the Datasette app (used by `kb serve`, tests and the benchmark) ---

def load_config(db_name: str) -> dict:
    """kb/data/datasette.yaml with its `kb` database renamed to `db_name`."""
    conf = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    databases = conf.setdefault("databases", {})
    if CONFIG_DB_KEY in databases:
        databases[db_name] = databases.pop(CONFIG_DB_KEY)
    conf.setdefault("plugins", {})["kb"] = {"database": db_name}
    return conf


def make_datasette(db_path: str | Path, public: bool = False):
    """A Datasette serving the KB at `db_path` with kb/data/datasette.yaml and this plugin.

    The file is opened mutable (not immutable) so the site sees `kb update`
    writes; every Datasette connection to it is query-only (see
    `prepare_connection`). `public` also turns off file downloads and
    streaming of whole tables as CSV.
    """
    from datasette import __version__
    from datasette.app import Datasette

    conf = load_config(Path(db_path).stem)
    settings = {"allow_download": False, "allow_csv_stream": False} if public else {}
    if int(__version__.split(".")[0]) >= 1:
        return Datasette([str(db_path)], config=conf, metadata=_metadata_part(conf), settings=settings)
    return Datasette([str(db_path)], metadata=conf, settings=settings)


def _metadata_part(conf: dict) -> dict:
    """The descriptive keys that Datasette 1.0 reads from metadata rather than config."""
    keep = ("title", "description", "description_html", "license", "source", "columns")
    meta = {k: v for k, v in conf.items() if k in keep}
    meta["databases"] = {
        name: {"description": db.get("description"),
               "tables": {t: {k: v for k, v in tc.items() if k in keep}
                          for t, tc in db.get("tables", {}).items()}}
        for name, db in conf.get("databases", {}).items()
    }
    return meta


# --- finding the KB database ---

def _plugin_config(datasette) -> dict:
    return datasette.plugin_config("kb") or {}


def _is_kb_connection(conn) -> bool:
    names = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('documents', 'settings')")}
    return names == {"documents", "settings"}


_found: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> its KB database's name


async def kb_database(datasette):
    """The Datasette database holding the KB: the configured one, else the first with the KB tables."""
    known = datasette.databases.get(_found.get(datasette, ""))
    if known is not None:
        return known
    wanted = _plugin_config(datasette).get("database")
    for name, db in datasette.databases.items():
        if not db.path or (wanted and name != wanted):
            continue
        if await db.execute_fn(_is_kb_connection):
            _found[datasette] = name
            return db
    return None


# --- hooks ---

@hookimpl
def prepare_jinja2_environment(env, datasette):
    """Make kb/templates visible to Datasette (ours first, Datasette's as fallback)."""
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), env.loader])


@hookimpl
def startup(datasette):
    """Load the model and index before the first request."""

    async def warm_up():
        db = await kb_database(datasette)
        if db is None:
            log.warning("kb: no database with a documents table is being served")
            return
        try:
            await asyncio.to_thread(_warm_up, get_searcher(db.path))
        except KBError as exc:
            log.warning("kb: search not ready: %s", exc)

    return warm_up


def _warm_up(searcher) -> None:
    """Load model and index, then run one query so the first real one is not slower."""
    searcher.warm_up()
    searcher.search("insider incident", k=1)


@hookimpl
def prepare_connection(conn, database, datasette):
    """Make connections to the KB query-only and give them the search functions.

    kb_search(query[, k[, mode]]) returns the best documents' ids as a JSON
    array, kb_search_incidents(query[, k[, mode]]) the best incidents' ids.
    Bad arguments return {"error": reason} instead of ids. Calls on one
    connection share a time budget of Datasette's SQL time limit; a query that
    spends it is interrupted like any query that runs too long.
    """
    wanted = _plugin_config(datasette).get("database")
    db = datasette.databases.get(database)
    if db is None or not db.path or (wanted and database != wanted) or not _is_kb_connection(conn):
        return
    conn.execute("PRAGMA query_only = 1")  # the web never writes the KB; `kb` commands do
    register_functions(conn)  # the schema's triggers name them: a write fails as read-only, nothing else
    searcher = get_searcher(db.path)
    budget = TimeBudget(datasette.setting("sql_time_limit_ms") / 1000)

    def sql_function(by: str, key: str):
        def function(query, k=10, mode="hybrid"):
            try:
                results = budget.spend(lambda: searcher.search(query, k=check_k(k), mode=mode, by=by))
            except KBError as exc:
                if budget.left <= 0:
                    conn.interrupt()  # Datasette reports it as a query over its time limit
                    return "[]"
                return json.dumps({"error": str(exc)}, ensure_ascii=False)
            return json.dumps([getattr(hit, key) for hit in results.hits if getattr(hit, key) is not None])

        return function

    conn.create_function("kb_search", -1, sql_function("document", "document_id"))
    conn.create_function("kb_search_incidents", -1, sql_function("incident", "incident_id"))


@hookimpl
def register_routes():
    return [(r"^/-/kb-search(?P<format>\.json)?$", search_view)]


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path("/-/kb-search"), "label": "Search incidents"}]


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    """Linked incidents, documents, cases and sources for document and incident row pages."""
    if view_name != "row" or table not in ("documents", "incidents") or request is None:
        return {}

    async def links():
        db = await kb_database(datasette)
        pk = request.url_vars.get("pks", "")
        if db is None or db.name != database or not pk.isdigit():
            return {}
        if table == "documents":
            return {"kb_links": await document_links(datasette, db, int(pk))}
        return {"kb_links": await incident_links(datasette, db, int(pk))}

    return links


# --- the search page ---

async def search_view(datasette, request):
    """/-/kb-search (HTML) and /-/kb-search.json: incidents by default, `by=document` for documents."""
    as_json = bool(request.url_vars.get("format"))
    db = await kb_database(datasette)
    if db is None:
        return _error("No knowledge base database is being served.", 404, as_json)
    if not await may_view(datasette, request.actor, db.name):
        return _error("Permission denied.", 403, as_json)
    form = read_form(request.args)
    found, error, started = Found([], "[]"), None, time.perf_counter()
    if form["q"]:
        try:
            found = await cached_search(datasette, db, form)
        except KBError as exc:
            error = str(exc)
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    if as_json:
        return _json_response(form, took_ms, found, error)
    hits = json.loads(found.hits_json)  # the page adds display fields: its own copy
    top = max([h["score"] for h in hits] + [0])
    for hit in hits:
        hit["score_pct"] = round(100 * max(hit["score"], 0) / top) if top > 0 else 0
        for doc in [hit, *hit.get("documents", [])]:
            doc["snippet_html"] = highlight(doc["snippet"] or "", form["q"], doc["why"]["terms"])
    context = {"form": form, "hits": hits, "error": error, "warnings": found.warnings, "modes": MODES, "bys": BY,
               "database": db.name, "took_ms": took_ms,
               "incidents": await incident_cards(db, hits) if form["by"] == "document" else {},
               "examples": EXAMPLES, **await page_facts(datasette, db)}
    return Response.html(await datasette.render_template("kb_search.html", context, request=request))


def _json_response(form: dict, took_ms: float, found: Found, error: str | None) -> Response:
    """The JSON body, with the hits' JSON spliced in as the cache keeps it (not serialised again)."""
    head = {"query": form["q"], "mode": form["mode"], "by": form["by"], "k": form["k"],
            "filters": {f: form[f] for f in FILTERS if form[f]}, "took_ms": took_ms}
    tail = {}
    if found.warnings:
        tail["warnings"] = found.warnings
    if error:
        tail["error"] = error
    body = json.dumps(head)[:-1] + ', "hits": ' + found.hits_json + (", " + json.dumps(tail)[1:] if tail else "}")
    return Response(body, status=400 if error else 200, content_type="application/json; charset=utf-8")


def _add_paths(datasette, db, hit: dict) -> None:
    """Links to the hit's document and incident row pages."""
    hit["document_path"] = datasette.urls.row(db.name, "documents", hit["document_id"])
    hit["incident_path"] = (datasette.urls.row(db.name, "incidents", hit["incident_id"])
                            if hit["incident_id"] else None)


async def may_view(datasette, actor, database: str) -> bool:
    """The view-database permission, asked the Datasette 1.0 way or the 0.65 way."""
    if hasattr(datasette, "allowed"):
        from datasette.resources import DatabaseResource

        return await datasette.allowed(action="view-database", resource=DatabaseResource(database), actor=actor)
    return await datasette.permission_allowed(actor, "view-database", database, default=True)


def read_form(args) -> dict:
    """The search parameters from a query string, with defaults."""
    form = {"q": (args.get("q") or "").strip(), "mode": args.get("mode") or "hybrid",
            "by": args.get("by") or "incident"}
    try:
        form["k"] = min(max(int(args.get("k") or 20), 1), MAX_K)
    except ValueError:
        form["k"] = 20
    for name in FILTERS:
        form[name] = (args.get(name) or "").strip() or None
    return form


@dataclass(frozen=True)
class Found:
    """One search's answer as the page serves it: warnings, and the hits (with row-page paths) as JSON."""

    warnings: list[str]
    hits_json: str


class ResultCache:
    """The last CACHE_SIZE answers, emptied when the database, its WAL or the index file changes.

    Concurrent requests for one key share a single search (the first runs it,
    the others await it).
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._found: OrderedDict[tuple, Found] = OrderedDict()
        self._running: dict[tuple, asyncio.Future] = {}
        self._stamp = None

    async def get(self, key: tuple, stamp: tuple, search):
        """The answer for `key`, from the cache or from `await search()`."""
        if stamp != self._stamp:
            self._found.clear()
            self._stamp = stamp
        if key in self._found:
            self._found.move_to_end(key)
            return self._found[key]
        while key in self._running:
            running = self._running[key]
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():  # this request went away
                    raise
                # the request running the search went away: run it here
        future = self._running[key] = asyncio.get_running_loop().create_future()
        try:
            found = await search()
        except asyncio.CancelledError:  # this request went away: a waiting one will search again
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no warning when no other request waited
            raise
        finally:
            del self._running[key]
        future.set_result(found)
        if stamp == self._stamp:  # the files did not change while it ran
            self._found[key] = found
            while len(self._found) > self.size:
                self._found.popitem(last=False)
        return found


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> its ResultCache
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def search_pool() -> ThreadPoolExecutor:
    """The threads that run searches: SEARCH_THREADS_PER_CORE per core."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=SEARCH_THREADS_PER_CORE * config.cores(),
                                       thread_name_prefix="kb-search")
        return _pool


def files_stamp(db_path: str | Path) -> tuple:
    """The file stamps of the database, its WAL and its index file: they change with any write."""
    return tuple(map(config.file_stamp, (db_path, f"{db_path}-wal", config.index_path(db_path))))


async def cached_search(datasette, db, form: dict) -> Found:
    """The search for `form`, from this site's result cache when it was asked before."""
    filters = Filters(**{f: form[f] for f in FILTERS})  # bad dates raise KBError: a 400 with the reason
    cache = _caches.setdefault(datasette, ResultCache())
    key = (db.name, form["q"], form["k"], form["mode"], form["by"], *(form[f] for f in FILTERS))

    async def search() -> Found:
        results = await run_search(db, form, filters)
        hits = [hit.to_dict() for hit in results.hits]
        for hit in hits:
            _add_paths(datasette, db, hit)
            for doc in hit.get("documents", []):
                _add_paths(datasette, db, doc)
        return Found(results.warnings, json.dumps(hits))

    return await cache.get(key, files_stamp(db.path), search)


async def run_search(db, form: dict, filters: Filters):
    """kb.search in a search thread, outside any SQL time limit."""
    searcher = get_searcher(db.path)
    return await asyncio.get_running_loop().run_in_executor(
        search_pool(), searcher.search, form["q"], form["k"], form["mode"], filters, form["by"])


def _error(message: str, status: int, as_json: bool) -> Response:
    if as_json:
        return Response.json({"error": message}, status=status)
    return Response.text(message, status=status)


async def incident_cards(db, hits: list[dict]) -> dict[int, dict]:
    """Title, type and organisation of the incidents the hits belong to."""
    ids = sorted({h["incident_id"] for h in hits if h["incident_id"]})
    if not ids:
        return {}
    rows = await db.execute(
        f"SELECT id, title, incident_type, organisation, year FROM incidents "
        f"WHERE id IN ({','.join('?' * len(ids))})", ids)
    return {r["id"]: dict(r) for r in rows}


_facts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> (files stamp, facts)


async def page_facts(datasette, db) -> dict:
    """The drop-downs' choices and the KB's counts, read again only when the files change."""
    stamp = files_stamp(db.path)
    known = _facts.get(datasette)
    if known is None or known[0] != stamp:
        known = _facts[datasette] = (stamp, {"choices": await filter_choices(db), "counts": await counts(db)})
    return known[1]


async def counts(db) -> dict[str, int]:
    """How many documents, incidents and cases the KB holds."""
    row = (await db.execute(
        "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM incidents), "
        "(SELECT count(*) FROM cases)")).first()
    return {"documents": row[0], "incidents": row[1], "cases": row[2]}


async def filter_choices(db) -> dict[str, list[str]]:
    """Values offered in the kind, source and language drop-downs."""
    choices = {}
    for column in ("kind", "source", "language"):
        rows = await db.execute(
            f"SELECT {column} FROM documents WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC")
        choices[column] = [r[0] for r in rows]
    return choices


def highlight(text: str, query: str, terms: list[str] = ()) -> Markup:
    """`text` escaped, with the query's words (3+ letters) and the matched terms wrapped in <mark>."""
    words = sorted({w for w in re.findall(r"[^\W_]{3,}", query)} | {t for t in terms if len(t) >= 2},
                   key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("(" + "|".join(re.escape(w) for w in words) + r")[a-z]*", re.IGNORECASE)
    out, last = Markup(), 0
    for match in pattern.finditer(text):
        out += escape(text[last:match.start()]) + Markup("<mark>{}</mark>").format(match.group(0))
        last = match.end()
    return out + escape(text[last:])


# --- linked records on row pages ---

async def document_links(datasette, db, doc_id: int) -> dict:
    """The incidents and cases a document belongs to, and its original."""
    doc = (await db.execute("SELECT source, url FROM documents WHERE id = ?", [doc_id])).first()
    if doc is None:
        return {}
    incidents = await db.execute(
        "SELECT i.id, i.title, i.incident_type, i.organisation, l.confidence, l.method "
        "FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
        "WHERE l.document_id = ? ORDER BY l.confidence DESC, i.id", [doc_id])
    cases = await db.execute(
        "SELECT DISTINCT c.id, c.court, c.case_number, c.case_type, c.status FROM cases c "
        "WHERE c.document_id = ? OR c.incident_id IN "
        "(SELECT incident_id FROM incident_documents WHERE document_id = ?) ORDER BY c.filed, c.id",
        [doc_id, doc_id])
    return {
        "incidents": [dict(r, path=datasette.urls.row(db.name, "incidents", r["id"])) for r in incidents],
        "cases": [dict(r, path=datasette.urls.row(db.name, "cases", r["id"])) for r in cases],
        "documents": [],
        "sources": [_source(datasette, db, doc["source"], doc["url"])],
    }


async def incident_links(datasette, db, incident_id: int) -> dict:
    """The documents and cases of an incident, and the originals it was reported in."""
    docs = await db.execute(
        "SELECT d.id, d.title, d.source, d.kind, d.language, d.published, d.url, l.confidence, l.method "
        "FROM incident_documents l JOIN documents d ON d.id = l.document_id "
        "WHERE l.incident_id = ? ORDER BY d.published, d.id", [incident_id])
    cases = await db.execute(
        "SELECT id, court, case_number, case_type, status FROM cases WHERE incident_id = ? "
        "ORDER BY filed, id", [incident_id])
    return {
        "incidents": [],
        "documents": [dict(r, path=datasette.urls.row(db.name, "documents", r["id"])) for r in docs],
        "cases": [dict(r, path=datasette.urls.row(db.name, "cases", r["id"])) for r in cases],
        "sources": _unique([_source(datasette, db, r["source"], r["url"]) for r in docs]),
    }


def _unique(items: list[dict]) -> list[dict]:
    return list({json.dumps(item, sort_keys=True): item for item in items}.values())


def _source(datasette, db, source: str, url: str | None) -> dict:
    """A source name linked to its documents, and the original's URL when it is http(s)."""
    return {"name": source, "url": safe_url(url),
            "path": datasette.urls.table(db.name, "documents") + "?source=" + quote_plus(source)}


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None (no javascript: links from scraped data)."""
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None
