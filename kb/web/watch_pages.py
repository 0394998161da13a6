"""Watches on the web: each one's Atom feed (/-/kb-watch/NAME.atom), the page listing them with
their latest matches (/-/kb-watches), and "watch this search" (a POST there, the one thing the
site writes: behind the kb-watch permission, which a public server grants to nobody by default)."""

from __future__ import annotations

import asyncio

from datasette import Response

from ..errors import KBError
from ..knowledge_base import KB
from ..search.filters import Filters
from ..storage import watches
from ..watches import feed
from .errors import status_of
from .finding import kb_database, plugin_config, read
from .search_page import FILTERS, may_view, web_message

LATEST = 5  # matches the page shows per watch
FEED_ENTRIES = 200  # matches a feed is built from (its newest)


async def feed_view(datasette, request):
    db = await kb_database(datasette)
    if db is None or not await may_view(datasette, request.actor, db.name):
        return Response.text("Not found.", status=404)
    try:
        watch = await read(db, watches.get, request.url_vars["name"])
    except KBError as exc:
        return Response.text(str(exc), status=status_of(exc))
    found = await read(db, lambda conn: watches.matches(conn, watch["id"], limit=FEED_ENTRIES))
    base = f"{request.scheme}://{request.host}"

    def link_of(entry: dict) -> str:
        if watch["by"] == "incident" and entry["incident_id"]:
            return datasette.urls.row(db.name, "incidents", entry["incident_id"])
        return datasette.urls.row(db.name, "documents", entry["document_id"])

    return Response(feed.atom(watch, found, base, link_of), content_type="application/atom+xml; charset=utf-8")


async def watches_view(datasette, request):
    db = await kb_database(datasette)
    if db is None or not await may_view(datasette, request.actor, db.name):
        return Response.text("Not found.", status=404)
    message, status = None, 200
    if request.method == "POST":
        message, status = await _create(datasette, request, db)
    listed = await read(db, watches.all_watches)
    for w in listed:
        w["latest_matches"] = await read(db, lambda conn, i=w["id"]: watches.matches(conn, i, limit=LATEST)[::-1])
        w["feed_path"] = datasette.urls.path(f"/-/kb-watch/{w['name']}.atom")
        for m in w["latest_matches"]:
            m["path"] = (datasette.urls.row(db.name, "incidents", m["incident_id"]) if m["incident_id"]
                         else datasette.urls.row(db.name, "documents", m["document_id"]))
    context = {"watches": listed, "message": message, "database": db.name}
    return Response.html(await datasette.render_template("kb_watches.html", context, request=request), status=status)


async def may_watch(datasette, actor) -> bool:
    """The kb-watch permission: allowed by default on a local server, only to those granted it on a public one."""
    public = bool(plugin_config(datasette).get("public"))
    return await datasette.permission_allowed(actor, "kb-watch", default=not public)


async def _create(datasette, request, db) -> tuple[str, int]:
    """A watch from the search form's fields; (what happened, HTTP status)."""
    if not await may_watch(datasette, request.actor):
        return "Permission denied: creating watches needs the kb-watch permission.", 403
    form = await request.post_vars()
    try:
        filters = Filters(**{f: (form.get(f) or "").strip() or None for f in FILTERS})
        saved = await asyncio.to_thread(lambda: KB(db.path).watch_add(
            (form.get("name") or "").strip(), form.get("q") or "", mode=form.get("mode") or "hybrid",
            by=form.get("by") or "incident", filters=filters))
    except KBError as exc:
        return f"Error: {web_message(exc)}", status_of(exc)
    return f"Watching {saved['query']!r} as {saved['name']}: the next kb update records what is new.", 201
