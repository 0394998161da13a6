"""The search page: /-/kb-search (HTML) and /-/kb-search.json, incidents by default."""

from __future__ import annotations

import asyncio
import json
import re
import time
import weakref

from datasette import Response
from markupsafe import Markup, escape

from ..errors import KBError
from ..index.embed import coverage
from ..search import modes
from ..search.filters import BY, FIELDS, BadFilter, Filters
from ..storage import lookup
from ..text.scripts import HAN_RUN
from ..text.words import LATIN, words as index_words
from .cache import Found, ResultCache, files_stamp, search_pool
from .errors import status_of
from .finding import kb_database, knowledge_base, read

PAGE_K = 100  # hits one page shows at most (the Python and CLI search allow kb.search.filters.MAX_K)
FILTERS = (*FIELDS, "scope")  # document filters, then incident filters (kb.search.filters), then scope
LABELS = {"since": "published since", "until": "published until", "type": "incident type", "role": "insider role",
          "year": "incident year"}  # a bad filter's name in the page's words
EXAMPLES = ("intern sabotaged model training", "logic bomb planted by a contractor",
            "former employee deleted cloud servers", "trade secrets taken to a competitor", "删库")
_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> its ResultCache


async def search_view(datasette, request):
    """/-/kb-search (HTML) and /-/kb-search.json: incidents by default, `by=document` for documents."""
    as_json = bool(request.url_vars.get("format"))
    db = await kb_database(datasette)
    if db is None:
        return _error("No knowledge base database is being served.", 404, as_json)
    if not await may_view(datasette, request.actor, db.name):
        return _error("Permission denied.", 403, as_json)
    form = read_form(request.args)
    found, error, status, started = Found([], "[]"), None, 200, time.perf_counter()
    if form["q"]:
        try:
            found = await cached_search(datasette, db, form)
        except KBError as exc:
            error, status = web_message(exc), status_of(exc)
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    if as_json:
        return _json_response(form, took_ms, found, error, status)
    hits = json.loads(found.hits_json)  # the page adds display fields: its own copy
    top = max([h["score"] for h in hits] + [0])
    for hit in hits:
        hit["score_pct"] = round(100 * max(hit["score"], 0) / top) if top > 0 else 0
        for doc in [hit, *hit.get("documents", [])]:
            doc["snippet_html"] = highlight(doc["snippet"] or "", form["q"], doc["why"]["terms"])
    context = {"form": form, "hits": hits, "error": error, "warnings": found.warnings, "modes": modes.names(), "bys": BY,
               "database": db.name, "took_ms": took_ms, "found": found,
               "filters": FILTERS, "labels": LABELS,
               "incidents": await incident_cards(db, hits) if form["by"] == "document" else {},
               "examples": EXAMPLES, **await page_facts(datasette, db)}
    return Response.html(await datasette.render_template("kb_search.html", context, request=request))


def _json_response(form: dict, took_ms: float, found: Found, error: str | None, status: int) -> Response:
    """The JSON body, with the hits' JSON spliced in as the cache keeps it (not serialised again)."""
    head = {"query": form["q"], "mode": form["mode"], "by": form["by"], "k": form["k"],
            "filters": {f: form[f] for f in FILTERS if form[f]}, "took_ms": took_ms,
            "search_ms": found.search_ms, "cached": found.cached}
    tail = {}
    if found.warnings:
        tail["warnings"] = found.warnings
    if found.embedding:
        tail["embedding"] = found.embedding
    if error:
        tail["error"] = error
    body = json.dumps(head)[:-1] + ', "hits": ' + found.hits_json + (", " + json.dumps(tail)[1:] if tail else "}")
    return Response(body, status=status, content_type="application/json; charset=utf-8")


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
    form = {"q": (args.get("q") or "").strip(), "mode": args.get("mode") or modes.DEFAULT,
            "by": args.get("by") or "incident"}
    try:
        form["k"] = min(max(int(args.get("k") or 20), 1), PAGE_K)
    except ValueError:
        form["k"] = 20
    for name in FILTERS:
        form[name] = (args.get(name) or "").strip() or None
    form["scope"] = form["scope"] or "in"  # in-scope incidents unless asked otherwise ("all": every one)
    return form


async def cached_search(datasette, db, form: dict) -> Found:
    """The search for `form`, from this site's result cache when it was asked before."""
    filters = Filters(**{f: form[f] for f in FILTERS})  # bad dates raise InvalidInput: a 400 with the reason
    cache = _caches.setdefault(datasette, ResultCache())
    key = (db.name, form["q"], form["k"], form["mode"], form["by"], *(form[f] for f in FILTERS))

    async def search() -> Found:
        started = time.perf_counter()
        results = await run_search(db, form, filters)
        search_ms = round((time.perf_counter() - started) * 1000, 1)
        hits = [hit.to_dict() for hit in results.hits]
        for hit in hits:
            _add_paths(datasette, db, hit)
            for doc in hit.get("documents", []):
                _add_paths(datasette, db, doc)
        return Found(results.warnings, json.dumps(hits), results.embedding, search_ms)

    return await cache.get(key, files_stamp(db.path), search)


async def run_search(db, form: dict, filters: Filters):
    """The knowledge base's search in a search thread, outside any SQL time limit."""
    kb = knowledge_base(db.path)
    return await asyncio.get_running_loop().run_in_executor(
        search_pool(), lambda: kb.search(form["q"], k=form["k"], mode=form["mode"], by=form["by"], filters=filters))


def web_message(exc: KBError) -> str:
    """An error in the page's words: a bad filter by its label on the form, not its CLI option."""
    if isinstance(exc, BadFilter):
        label = LABELS.get(exc.name, exc.name)
        return f"{label[0].upper()}{label[1:]}: {exc.reason}."
    return str(exc)


def _error(message: str, status: int, as_json: bool) -> Response:
    if as_json:
        return Response.json({"error": message}, status=status)
    return Response.text(message, status=status)


async def incident_cards(db, hits: list[dict]) -> dict[int, dict]:
    """Title, type and organisation of the incidents the hits belong to."""
    ids = sorted({h["incident_id"] for h in hits if h["incident_id"]})
    return await read(db, lookup.incident_cards, ids)


_facts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> (files stamp, facts)


async def page_facts(datasette, db) -> dict:
    """The drop-downs' choices and the KB's counts, read again only when the files change."""
    stamp = files_stamp(db.path)
    known = _facts.get(datasette)
    if known is None or known[0] != stamp:
        known = _facts[datasette] = (stamp, {"choices": await read(db, lookup.filter_choices),
                                             "counts": await read(db, lookup.counts),
                                             "coverage": await read(db, coverage, stamp[-1])})
    return known[1]


def highlight(text: str, query: str, terms: list[str] = ()) -> Markup:
    """`text` escaped, with the query's words and the matched terms wrapped in <mark>: Chinese
    as written, other words whole and in any inflection, as the keyword stage matches them
    (kb.text.words: `intern` marks "interns", not "internal")."""
    wanted = [*re.findall(r"[^\W_]{3,}", query), *terms]
    chinese = sorted({run for t in wanted for run in HAN_RUN.findall(t) if len(run) >= 2}, key=len, reverse=True)
    latin = {w for t in wanted for w in index_words(HAN_RUN.sub(" ", t)) if len(w) >= 3 or w.isdigit()}
    if not chinese and not latin:
        return escape(text)
    pattern = re.compile("|".join([*(re.escape(c) for c in chinese), f"{LATIN}+"]), re.IGNORECASE)
    out, last = Markup(), 0
    for match in pattern.finditer(text):
        word = match.group(0)
        if not HAN_RUN.match(word) and not set(index_words(word)) & latin:
            continue
        out += escape(text[last:match.start()]) + Markup("<mark>{}</mark>").format(word)
        last = match.end()
    return out + escape(text[last:])
