"""The pages a person reads: incident, document and case row pages (their `kb_page`, rendered by
templates/row.html), the overview on the home page, and each record's JSON at
/-/kb/incident/N.json (what `kb show iN --json` prints), /-/kb/incident/N.iides.json (its IIDES
bundle) and /-/kb/document/N.json."""

from __future__ import annotations

from urllib.parse import urlencode

from datasette import Response

from ..errors import NotFound
from ..export.iides import iides_bundle
from ..incidents.similar import similar
from ..storage import lookup
from . import charts, report
from .finding import kb_database, read

SIMILAR = 5  # similar incidents an incident page lists


async def incident(datasette, db, incident_id: int) -> dict:
    shown = await read(db, _incident_or_none, incident_id)
    if shown is None:
        return {}
    page = report.incident_page(shown, await read(db, lookup.merges, incident_id))
    page["similar"] = [] if page["merged_into"] else await read(db, similar, incident_id, SIMILAR)
    page["json_path"] = datasette.urls.path(f"/-/kb/incident/{incident_id}.json")
    page["iides_path"] = datasette.urls.path(f"/-/kb/incident/{incident_id}.iides.json")
    return page


async def document(datasette, db, doc_id: int) -> dict:
    shown = await read(db, _document_or_none, doc_id)
    if shown is None:
        return {}
    page = report.document_page(shown)
    page["json_path"] = datasette.urls.path(f"/-/kb/document/{doc_id}.json")
    page["source_path"] = datasette.urls.table(db.name, "document_list") + "?" + urlencode({"source": shown["source"]})
    return page


async def case(datasette, db, case_id: int) -> dict:
    found = await read(db, lookup.case, case_id)
    return report.case_page(found) if found else {}


ROW_PAGES = {"incidents": incident, "documents": document, "cases": case}


SCOPES = ("in", "out", "unsure", "all")


async def overview(datasette, db, scope: str = "in") -> dict:
    """Counts, bar charts whose bars open the matching listing, and the newest incidents: in-scope
    incidents unless ?scope= asks for out, unsure or all."""
    scope = scope if scope in SCOPES else "in"
    found = await read(db, lookup.overview, scope)
    within = {} if scope == "all" else {"scope": scope}
    incidents, documents = (datasette.urls.table(db.name, t) for t in ("incident_list", "document_list"))
    titles = {"year": "Incidents per year", "incident_type": "Incidents per type", "country": "Incidents per country",
              "insider_role": "Incidents per insider role", "source": "Documents per source"}
    found["charts"] = [
        charts.bars(titles[column], counts, lambda value, c=column: (documents if c == "source" else incidents)
                    + "?" + urlencode({c: value} if c == "source" else {**within, c: value}), vertical=column == "year")
        for column, counts in found["by"].items() if counts]
    found["database"] = db.name
    found["paths"] = {"incidents": incidents + ("?" + urlencode(within) if within else ""), "documents": documents,
                      "scopes": {s: datasette.urls.path("/") + ("" if s == "in" else "?scope=" + s) for s in SCOPES},
                      "incidents_table": datasette.urls.table(db.name, "incidents") + "?merged_into__isblank=1",
                      "documents_table": datasette.urls.table(db.name, "documents"),
                      "cases": datasette.urls.table(db.name, "cases"),
                      "sources": datasette.urls.table(db.name, "documents") + "?_facet=source"}
    return found


async def record_json(datasette, request):
    """/-/kb/incident/N.json and /-/kb/document/N.json: what `kb show` prints; N.iides.json: IIDES."""
    kind, row_id, fmt = request.url_vars["kind"], int(request.url_vars["id"]), request.url_vars["format"]
    db = await kb_database(datasette)
    if db is None:
        return Response.json({"error": "no knowledge base database is being served"}, status=404)
    if fmt == ".iides.json" and kind != "incident":
        return Response.json({"error": "IIDES bundles are made of incidents"}, status=404)
    build = _incident_or_none if kind == "incident" else _document_or_none
    shown = await read(db, build, row_id)
    if shown is None:
        return Response.json({"error": f"no {kind} {kind[0]}{row_id}"}, status=404)
    if fmt == ".iides.json":
        shown = await read(db, iides_bundle, shown)
    return Response.json(shown, default=str)


def _incident_or_none(kb_db, incident_id: int) -> dict | None:
    try:
        return lookup.show(kb_db, f"i{incident_id}")
    except NotFound:
        return None


def _document_or_none(kb_db, doc_id: int) -> dict | None:
    try:
        return lookup.show(kb_db, f"d{doc_id}")
    except NotFound:
        return None
