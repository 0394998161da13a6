"""US Department of Justice press releases, through www.justice.gov/api/v1/press_releases.json.

Pages newest first (`pagesize`, `page`) until releases are older than `since`
or `max_pages` is reached. A release is kept when its title passes `scrapers.relevance`,
its title or lead has a strong term or one of `keywords`, or it carries one
of `topics`.
The body HTML becomes text; component (e.g. a US Attorney's Office, i.e. the
district) and topics go into meta.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlencode

from kb.fetch import JSON_TYPES, Response
from kb.records import DocumentRecord

from kb.insider_filter import matched_terms
from kb.scraper import ItemError, Output, Request, Scraper
from kb.text import epoch_date, html_to_text

LEAD_CHARS = 600


class DojScraper(Scraper):
    name = "doj"
    kind = "press_release"
    description = "US DOJ press releases about insider cases (JSON API)"
    defaults = {
        "api_url": "https://www.justice.gov/api/v1/press_releases.json",
        "pagesize": 50,
        "max_pages": 5,
        "keywords": ["computer fraud and abuse act", "18 u.s.c. 1030", "18 u.s.c. § 1030"],
        "topics": [],
    }

    def start(self) -> Iterable[Output]:
        yield self._page(0)

    def _page(self, number: int) -> Request:
        query = urlencode({"pagesize": self.settings["pagesize"], "page": number,
                           "sort": "date", "direction": "DESC"})
        return Request(f"{self.settings['api_url']}?{query}", callback="parse_page",
                       accept=JSON_TYPES, data={"page": number})

    def parse_page(self, response: Response, request: Request) -> Iterable[Output]:
        results = response.json().get("results") or []
        older = False
        for item in results:
            if not isinstance(item, dict) or not (item.get("uuid") or item.get("url")):
                yield ItemError(request.url, "a result without uuid or url")
                continue
            try:
                record = self.release(item, response)
            except (TypeError, AttributeError, ValueError) as exc:  # hostile or broken fields
                yield ItemError(str(item.get("url") or item.get("uuid")), f"malformed release: {exc}")
                continue
            if not self.is_recent(record.published):
                older = True
            elif self._wanted(record, item):
                yield record
        page = request.data["page"] + 1
        if results and not older and page < self.settings["max_pages"]:
            yield self._page(page)

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


def _names(value) -> list[str]:
    """Names from the API's taxonomy fields: a list of {name: ...}, one such object, or strings."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    names = [v.get("name") if isinstance(v, dict) else v for v in value]
    return [n.strip() for n in names if isinstance(n, str) and n.strip()]
