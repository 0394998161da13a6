"""How table cells read (Datasette's render_cell): titles of the slim listings link to their
pages, merged_into links its target, amounts carry their currency, JSON lists show as lists,
long URLs and ids are shortened (the whole value stays in the link and its tooltip), and the
by-year query's counts open the matching incidents. Everything from the data is escaped."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup

from .report import money, safe_url

LISTINGS = {"incident_list": "incidents", "document_list": "documents"}
AMOUNTS = {"impact_amount": "impact_currency", "damages_amount": "damages_currency", "amount": "currency"}
JSON_LISTS = {"evidence", "merge_evidence", "manual_fields"}
LONG = 60  # characters: longer URLs and ids are shortened on display


def render(datasette, database: str, table: str | None, column: str, value, row) -> Markup | None:
    """The cell's HTML, or None for Datasette's own rendering."""
    if value is None or value == "":
        return None
    if table in LISTINGS and column == "title":
        return _link(datasette.urls.row(database, LISTINGS[table], _get(row, "id")), value)
    if column == "merged_into" and table == "incidents" and isinstance(value, int):  # listings link it themselves
        return _link(datasette.urls.row(database, "incidents", value), f"→ incident {value}")
    if column in AMOUNTS and isinstance(value, (int, float)):
        return Markup("{}").format(money(value, _get(row, AMOUNTS[column])))
    if column in JSON_LISTS and isinstance(value, str) and value.startswith("["):
        return _as_list(value)
    if table is None and column == "incidents" and _get(row, "year") is not None:
        scope = _get(row, "scope") or "in"
        query = {"scope": None if scope == "all" else scope, "year": _get(row, "year"),
                 "incident_type": _get(row, "incident_type")}
        path = datasette.urls.table(database, "incident_list") + "?" + urlencode({k: v for k, v in query.items() if v})
        return _link(path, value)
    if isinstance(value, str) and len(value) > LONG:
        url = safe_url(value)
        if url and not any(c.isspace() for c in url):
            parts = urlsplit(url)
            shown = parts.netloc + (parts.path[:24] + "…" if len(parts.path) > 1 else "")
            return Markup('<a href="{}" title="{}" rel="noopener noreferrer nofollow">{}</a>').format(url, url, shown)
        if column in ("external_id", "key", "content_sha256", "raw_sha256", "chunked_sha256", "processed_sha256"):
            return Markup('<span title="{}">{}…</span>').format(value, value[:LONG - 20])
    return None


def _get(row, name: str):
    try:
        return row[name]
    except (IndexError, KeyError):
        return None


def _link(path: str, text) -> Markup:
    return Markup('<a href="{}">{}</a>').format(path, text)


def _as_list(value: str) -> Markup | None:
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    if not items:
        return Markup('<span class="kb-none">none</span>')
    return Markup('<ul class="kb-cell-list">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(i if isinstance(i, str) else json.dumps(i)) for i in items))
