"""The Datasette plugin (entry point `datasette: kb`): the search page, the watches (feeds, their
page, "watch this search"), the kb_search() SQL functions, the incident, document and case pages
and the overview (kb.web.pages), table cells (kb.web.cells), kb's templates.

Only hooks found in both Datasette 0.65 and the 1.0 alphas are used. Every
search goes through the knowledge base's `KB.search` (the CLI's code path).
The model and index load in the `startup` hook, before the first request, so
no query waits for them inside Datasette's SQL time limit; the searcher
re-reads the index file when it changes.

Searches run in a pool of their own with SEARCH_THREADS_PER_CORE threads
per core (kb.web.cache): part of a search holds the GIL (Python) and part does
not (query encoding, SQLite, FAISS), so a few more threads than cores keep the
cores busy (distinct queries on the shared 2-core machine, paired runs: 6 threads
26.7 and 29.3 requests/s, 2 threads 22.4 and 27.3).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from datasette import hookimpl
from jinja2 import ChoiceLoader, FileSystemLoader

from ..errors import KBError
from ..storage.db import is_kb_connection, make_read_side
from .finding import kb_database, knowledge_base, plugin_config
from .functions import add_search_functions
from . import cells, pages
from .search_page import search_view
from .watch_pages import feed_view, watches_view

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger(__name__)


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
            await asyncio.to_thread(_warm_up, knowledge_base(db.path).searcher)
        except KBError as exc:
            log.warning("kb: search not ready: %s", exc)

    return warm_up


def _warm_up(searcher) -> None:
    """Load model and index, then run one query so the first real one is not slower."""
    searcher.warm_up()
    searcher.search("insider incident", k=1)


@hookimpl
def prepare_connection(conn, database, datasette):
    """Make connections to the KB query-only and give them the search functions (kb.web.functions)."""
    wanted = plugin_config(datasette).get("database")
    db = datasette.databases.get(database)
    if db is None or not db.path or (wanted and database != wanted) or not is_kb_connection(conn):
        return
    make_read_side(conn)  # the web never writes the KB; `kb` commands do
    add_search_functions(conn, db.path, datasette.setting("sql_time_limit_ms") / 1000)


@hookimpl
def register_routes():
    return [(r"^/-/kb-search(?P<format>\.json)?$", search_view),
            (r"^/-/kb/(?P<kind>incident|document)/(?P<id>[0-9]{1,18})(?P<format>\.json|\.iides\.json)$",
             pages.record_json),
            (r"^/-/kb-watch/(?P<name>[^/]+)\.atom$", feed_view),
            (r"^/-/kb-watches$", watches_view)]


@hookimpl
def menu_links(datasette):
    return [{"href": datasette.urls.path("/"), "label": "Overview"},
            {"href": datasette.urls.path("/-/kb-search"), "label": "Search incidents"},
            {"href": datasette.urls.path("/-/kb-watches"), "label": "Watches"}]


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    """The readable pages: incident, document and case row pages (`kb_page`), the overview on the home page."""
    if request is None or view_name not in ("row", "index") or (view_name == "row" and table not in pages.ROW_PAGES):
        return {}

    async def page_vars():
        db = await kb_database(datasette)
        if db is None:
            return {}
        if view_name == "index":
            return {"kb_overview": await pages.overview(datasette, db, request.args.get("scope") or "in")}
        pk = request.url_vars.get("pks", "")
        if db.name != database or not pk.isdigit():
            return {}
        return {"kb_page": await pages.ROW_PAGES[table](datasette, db, int(pk))}

    return page_vars


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Links, money, lists and short URLs in table cells (kb.web.cells)."""
    return cells.render(datasette, database, table, column, value, row)
