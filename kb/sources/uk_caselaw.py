"""UK National Archives Find Case Law: searches of its Atom feed, then each judgment's Akoma Ntoso XML.

Settings: `base_url`, `queries` (this field's terms, full-text searches of
/atom.xml), `per_page`, `max_pages` (following the feed's rel="next" link).
The first run searches each query in the service's relevance order (its
default for a query), so the judgments that matter most come in whatever
their date; once that has finished (a stored cursor), later runs search
newest first and stop at `since`. Each judgment becomes a document of kind
'court' with its case (court, neutral citation).

Find Case Law publishes judgments of the senior courts and tribunals; Crown
Court trials (where most UK insider prosecutions are heard) are not published
there, only appeals from them (EWCA Crim).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable
from urllib.parse import urlencode, urljoin, urlsplit

from .fetch import FEED_TYPES, XML_TYPES, Response
from ..records import CaseRecord, DocumentRecord

from .sdk import Cursor, Output, Request, Scraper, parse_xml
from ..text.dates import normalise_date

ATOM = "{http://www.w3.org/2005/Atom}"
TNA = "{https://caselaw.nationalarchives.gov.uk}"
AKN = "{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}"
UK = "{https://caselaw.nationalarchives.gov.uk/akn}"


class UkCaselawScraper(Scraper):
    name = "uk_caselaw"
    kind = "court"
    description = "UK Find Case Law judgments (Atom search + judgment XML)"
    defaults = {
        "base_url": "https://caselaw.nationalarchives.gov.uk",
        "queries": [
            '"Computer Misuse Act" employee',
            '"confidential information" "former employee"',
            '"trade secrets" "former employee"',
            '"confidential information" "deleted" employee',
            'sabotage employee "unauthorised access"',
        ],
        "per_page": 50,
        "max_pages": 2,
    }

    def notes(self) -> list[str]:
        return ["Crown Court trials are not published on Find Case Law (only appeals from them, EWCA Crim)"]

    def start(self) -> Iterable[Output]:
        relevance = not self.state.get("searched")
        for query in self.settings["queries"]:
            params = {"query": query, "per_page": self.settings["per_page"]}
            if not relevance:
                params["order"] = "-date"
            yield Request(urljoin(self.settings["base_url"], f"/atom.xml?{urlencode(params)}"),
                          callback="parse_feed", accept=FEED_TYPES, data={"page": 1, "newest_first": not relevance})
        if relevance:
            yield Cursor({"searched": True})

    def parse_feed(self, response: Response, request: Request) -> Iterable[Output]:
        feed = parse_xml(response.content)
        older = False
        for entry in feed.iter(f"{ATOM}entry"):
            info = _entry(entry, response.url)
            if not info["html_url"]:
                continue
            if request.data.get("newest_first", True) and not self.is_recent(info["published"]):
                older = True
                continue
            xml_url = info.pop("xml_url") or info["html_url"].rstrip("/") + "/data.xml"
            yield Request(xml_url, callback="parse_judgment", accept=XML_TYPES, item=True, data=info)
        next_link = _link(feed, "next")
        if next_link and not older and request.data["page"] < self.settings["max_pages"]:
            yield replace(request, url=urljoin(response.url, next_link),
                          data={**request.data, "page": request.data["page"] + 1})

    def parse_judgment(self, response: Response, request: Request) -> Iterable[Output]:
        info = request.data
        root = parse_xml(response.content)
        body = next(root.iter(f"{AKN}judgmentBody"), None)
        paragraphs = [" ".join("".join(p.itertext()).split()) for p in (body.iter(f"{AKN}p") if body is not None else [])]
        text = "\n".join(p for p in paragraphs if p)
        title = _attr(root, f"{AKN}FRBRname", "value") or info["title"]
        cite = _text(root, f".//{UK}cite") or info["citation"]
        judgment_date = _judgment_date(root) or info["published"]
        yield DocumentRecord(
            source=self.name,
            external_id=info["uri"],
            kind=self.kind,
            title=title,
            text=text or title or "",
            url=info["html_url"],
            published=judgment_date,
            language="en",
            meta={k: v for k, v in {"neutral_citation": cite, "court_code": _text(root, f".//{UK}court")}.items() if v},
            cases=[CaseRecord(court=info["court"], case_number=cite, case_name=title,
                              filed=None, url=info["html_url"])],
            **response.provenance(),
        )


def _entry(entry, base: str) -> dict:
    """What a feed entry says: title, links, date, court, citation, document URI."""
    html_url = xml_url = None
    for link in entry.iter(f"{ATOM}link"):
        href = urljoin(base, link.get("href") or "")
        if link.get("rel", "alternate") != "alternate" or not href.startswith(("http://", "https://")):
            continue
        kind = link.get("type") or "text/html"
        if kind == "application/akn+xml":
            xml_url = href
        elif kind == "text/html" and not html_url:
            html_url = href
    ident = entry.find(f"{TNA}identifier[@type='ukncn']")
    uri = _text(entry, f"{TNA}uri") or (ident.get("slug") if ident is not None else None)
    return {
        "title": " ".join((_text(entry, f"{ATOM}title") or "").split()) or None,
        "html_url": html_url,
        "xml_url": xml_url,
        "published": normalise_date(_text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated")),
        "court": _text(entry, f"{ATOM}author/{ATOM}name"),
        "citation": ident.text.strip() if ident is not None and ident.text else None,
        "uri": uri or urlsplit(html_url or "").path.strip("/"),
    }


def _link(feed, rel: str) -> str | None:
    """href of the feed's own link with this rel (e.g. 'next')."""
    for link in feed.findall(f"{ATOM}link"):
        if link.get("rel") == rel and link.get("href"):
            return link.get("href")
    return None


def _text(element, path: str) -> str | None:
    """Stripped text of the first element at `path` (ElementPath), or None."""
    found = element.find(path)
    if found is None or not (found.text or "").strip():
        return None
    return found.text.strip()


def _attr(element, tag: str, name: str) -> str | None:
    """Attribute `name` of the first `tag` element anywhere below, or None."""
    found = next(element.iter(tag), None)
    value = found.get(name) if found is not None else None
    return value.strip() if value and value.strip() else None


def _judgment_date(root) -> str | None:
    """The date of <FRBRdate name="judgment">, as YYYY-MM-DD."""
    for element in root.iter(f"{AKN}FRBRdate"):
        if element.get("name") == "judgment":
            return normalise_date(element.get("date"))
    return None
