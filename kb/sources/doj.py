"""US Department of Justice press releases, through www.justice.gov/api/v1/press_releases.json.

The API lists releases newest first (`pagesize`, `page`). Two walks, each at
most `max_pages` pages per run:
- the backfill walks back page by page to 1 January of `backfill_from`; after
  each finished page it stores a cursor (the next page), so a run that fails
  or stops on page 3 is continued from page 3 by the next run;
- once a first page is finished, later runs also walk from page 0 only down to
  the newest release already seen (the stored `head`), so they fetch only
  what is new.
`since` is not used: the cursor says what was seen.

A release is kept when its title passes `kb.insider_filter`, its title or
lead has a strong term or one of `keywords`, or it carries one of `topics`.
The body HTML becomes text; component (e.g. a US Attorney's Office, i.e. the
district) and topics go into meta.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlencode

from .fetch import JSON_TYPES, Response
from ..records import DocumentRecord

from ..extract.insider_filter import matched_terms
from .sdk import Cursor, ItemError, Output, Request, Scraper
from ..text.dates import epoch_date
from ..text.html import html_to_text

LEAD_CHARS = 600
NEW, BACKFILL = "new", "backfill"


class DojScraper(Scraper):
    name = "doj"
    kind = "press_release"
    description = "US DOJ press releases about insider cases (JSON API; backfills, then only new ones)"
    defaults = {
        "api_url": "https://www.justice.gov/api/v1/press_releases.json",
        "pagesize": 50,
        "max_pages": 100,
        "backfill_from": 2010,
        "keywords": ["computer fraud and abuse act", "18 u.s.c. 1030", "18 u.s.c. § 1030"],
        "topics": [],
    }

    def notes(self) -> list[str]:
        if self.state.get("backfill_done"):
            return [f"backfill back to {self.settings['backfill_from']} done; runs fetch new releases only"]
        if self.state.get("backfill_page"):
            return [f"backfill to {self.settings['backfill_from']} under way: next run continues "
                    f"at page {self.state['backfill_page']}"]
        return []

    def start(self) -> Iterable[Output]:
        head = self.state.get("head")
        if head:
            yield self._page(0, walk=NEW, head=head)
        if not self.state.get("backfill_done"):
            yield self._page(int(self.state.get("backfill_page") or 0), walk=BACKFILL, first=not head)

    def _page(self, number: int, walk: str, pages: int = 1, **data) -> Request:
        query = urlencode({"pagesize": self.settings["pagesize"], "page": number,
                           "sort": "date", "direction": "DESC"})
        return Request(f"{self.settings['api_url']}?{query}", callback="parse_page",
                       accept=JSON_TYPES, data={"page": number, "walk": walk, "pages": pages, **data})

    def parse_page(self, response: Response, request: Request) -> Iterable[Output]:
        """One page of releases: the wanted ones, then the cursor, then the next page if the walk goes on."""
        data = request.data
        results = response.json().get("results") or []
        if not isinstance(results, list):
            raise ValueError("'results' is not a list")
        head = data.get("head") or {}
        floor = f"{int(self.settings['backfill_from']):04d}-01-01"
        newest = data.get("newest")
        reached = not results  # the walk ends here: at the head, at the floor, or past the last page
        for item in results:
            if not isinstance(item, dict) or not (item.get("uuid") or item.get("url")):
                yield ItemError(request.url, "a result without uuid or url")
                continue
            try:
                record = self.release(item, response)
            except (TypeError, AttributeError, ValueError) as exc:  # hostile or broken fields
                yield ItemError(str(item.get("url") or item.get("uuid")), f"malformed release: {exc}")
                continue
            mark = {"id": record.external_id, "date": record.published}
            newest = newest or mark
            if data["walk"] == NEW and (mark["id"] == head.get("id") or _before(mark["date"], head.get("date"))):
                reached = True
                break
            if data["walk"] == BACKFILL and _before(record.published, floor):
                reached = True
                break
            if self._wanted(record, item):
                yield record
        more = data["pages"] < self.settings["max_pages"]
        if data["walk"] == NEW:
            if reached and newest:
                yield Cursor({"head": newest})
            elif not reached and more:
                yield self._page(data["page"] + 1, NEW, data["pages"] + 1, head=head, newest=newest)
            return
        cursor = {"head": newest} if data.get("first") and data["page"] == 0 and newest else {}
        cursor.update({"backfill_page": None, "backfill_done": True} if reached else
                      {"backfill_page": data["page"] + 1})
        yield Cursor(cursor)
        if not reached and more:
            yield self._page(data["page"] + 1, BACKFILL, data["pages"] + 1)

    def release(self, item: dict, response: Response) -> DocumentRecord:
        """One press release of the API as a document."""
        url = item.get("url") or None
        text = html_to_text(item.get("body") or "")
        components = _names(item.get("component"))
        meta = {
            "component": components,
            "district": [c.split(" - ", 1)[1] for c in components if c.startswith("USAO - ")],
            "topics": _names(item.get("topic")),
            "number": item.get("number"),
        }
        return DocumentRecord(
            source=self.name,
            external_id=str(item.get("uuid") or url),
            kind=self.kind,
            title=" ".join((item.get("title") or "").split()) or None,
            text=text,
            url=url,
            published=epoch_date(item.get("date")),
            language="en",
            meta={k: v for k, v in meta.items() if v},
            **response.provenance(),
        )

    def _wanted(self, record: DocumentRecord, item: dict) -> bool:
        """Insider + act in the title, a strong term or keyword in title or lead, or a chosen topic."""
        lead = f"{html_to_text(item.get('teaser') or '')}\n{record.text[:LEAD_CHARS]}"
        terms = matched_terms(record.title or "", self.settings["keywords"])
        terms += matched_terms(lead, self.settings["keywords"], pairs=False)
        terms += [t for t in record.meta.get("topics", []) if t in self.settings["topics"]]
        terms = list(dict.fromkeys(terms))
        if terms:
            record.meta["matched"] = terms
        return bool(terms)


def _before(day: str | None, limit: str | None) -> bool:
    """True when both dates are known and `day` is earlier than `limit`."""
    return bool(day and limit and day < limit)


def _names(value) -> list[str]:
    """Names from the API's taxonomy fields: a list of {name: ...}, one such object, or strings."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    names = [v.get("name") if isinstance(v, dict) else v for v in value]
    return [n.strip() for n in names if isinstance(n, str) and n.strip()]
