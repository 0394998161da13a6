"""The panel of linked records on document and incident row pages: incidents, documents, cases, originals."""

from __future__ import annotations

import json
import re
from urllib.parse import quote_plus

from ..storage import lookup
from .finding import read


async def document_links(datasette, db, doc_id: int) -> dict:
    """The incidents and cases a document belongs to, and its original."""
    found = await read(db, lookup.document_links, doc_id)
    if found is None:
        return {}
    return {
        "incidents": [dict(r, path=datasette.urls.row(db.name, "incidents", r["id"])) for r in found["incidents"]],
        "cases": [dict(r, path=datasette.urls.row(db.name, "cases", r["id"])) for r in found["cases"]],
        "documents": [],
        "sources": [_source(datasette, db, found["source"], found["url"])],
    }


async def incident_links(datasette, db, incident_id: int) -> dict:
    """The documents and cases of an incident, and the originals it was reported in."""
    found = await read(db, lookup.incident_links, incident_id)
    docs, cases = found["documents"], found["cases"]
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
