"""CourtListener REST v4 search: opinions (type=o) and RECAP dockets (type=r).

Settings: `queries` (saved searches), `types`, `max_pages` per query (cursor
paging through `next`), `token_env` (the environment variable holding an API
token, sent as `Authorization: Token ...` when set), `opinion_text` (fetch
each opinion's text; otherwise the search snippet is the text). Every hit
becomes a document of kind 'court' with its case (court, docket number).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Iterable
from urllib.parse import urlencode, urljoin

from kb.fetch import JSON_TYPES, Response
from kb.records import CaseRecord, DocumentRecord

from kb.scraper import ItemError, Output, Request, Scraper
from kb.text import html_to_text, strip_tags

_CASE_TYPE = re.compile(r"\d+:\d{2}-(cr|mj|po|cv|mc)-", re.I)


class CourtListenerScraper(Scraper):
    name = "courtlistener"
    kind = "court"
    description = "CourtListener opinions and RECAP dockets (REST v4 search)"
    defaults = {
        "base_url": "https://www.courtlistener.com",
        "token_env": "COURTLISTENER_TOKEN",
        "types": ["o", "r"],
        "queries": [
            '"trade secret" AND ("former employee" OR "ex-employee")',
            '"computer fraud and abuse act" AND "former employee" AND (deleted OR wiped OR sabotage)',
            '"1030" AND employee AND (sabotage OR "logic bomb" OR deleted)',
            '"source code" AND "former employee" AND (misappropriat* OR stole)',
        ],
        "max_pages": 2,
        "opinion_text": True,
    }

    def _headers(self) -> dict[str, str]:
        token = os.environ.get(self.settings["token_env"] or "", "")
        return {"Authorization": f"Token {token}"} if token else {}

    def start(self) -> Iterable[Output]:
        for query in self.settings["queries"]:
            for kind in self.settings["types"]:
                params = {"type": kind, "q": query, "order_by": "dateFiled desc"}
                if self.since:
                    params["filed_after"] = self.since.isoformat()
                url = urljoin(self.settings["base_url"], "/api/rest/v4/search/?" + urlencode(params))
                yield Request(url, callback="parse_search", accept=JSON_TYPES, headers=self._headers(),
                              data={"type": kind, "query": query, "page": 1})

    def parse_search(self, response: Response, request: Request) -> Iterable[Output]:
        data = response.json()
        kind = request.data["type"]
        key = "cluster_id" if kind == "o" else "docket_id"
        for hit in data.get("results") or []:
            if not isinstance(hit, dict) or not hit.get(key):
                yield ItemError(request.url, f"search hit without {key}")
                continue
            try:
                record = (self.opinion_hit if kind == "o" else self.docket_hit)(hit, response)
            except (TypeError, AttributeError, ValueError) as exc:  # hostile or broken fields
                yield ItemError(request.url, f"malformed {key} {hit.get(key)}: {exc}")
                continue
            record.meta["query"] = request.data["query"]
            opinions = [o for o in hit.get("opinions") or [] if isinstance(o, dict) and o.get("id")]
            if kind == "o" and self.settings["opinion_text"] and opinions:
                url = urljoin(self.settings["base_url"], f"/api/rest/v4/opinions/{int(opinions[0]['id'])}/")
                yield Request(url, callback="parse_opinion", accept=JSON_TYPES, item=True,
                              headers=self._headers(), data={"record": record})
            else:
                yield record
        next_url = data.get("next")
        if next_url and request.data["page"] < self.settings["max_pages"]:
            yield replace(request, url=urljoin(request.url, next_url),
                          data={**request.data, "page": request.data["page"] + 1})

    def parse_opinion(self, response: Response, request: Request) -> Iterable[Output]:
        """The search hit's record, with the opinion's full text where it has one."""
        data = response.json()
        text = (data.get("plain_text") or "").strip()
        for field in ("html_with_citations", "html", "html_lawbox", "html_columbia", "xml_harvard"):
            if text:
                break
            text = html_to_text(data.get(field) or "")
        record = request.data["record"]
        yield replace(record, text=text or record.text, meta={**record.meta, "opinion_id": data.get("id")},
                      **response.provenance())

    def opinion_hit(self, hit: dict, response: Response) -> DocumentRecord:
        """A type=o hit (an opinion cluster) as a document with its case."""
        snippets = [strip_tags(o.get("snippet") or "") for o in hit.get("opinions") or [] if isinstance(o, dict)]
        meta = {"type": "opinion", "cluster_id": hit.get("cluster_id"), "docket_id": hit.get("docket_id"),
                "court_id": hit.get("court_id"), "citation": hit.get("citation"),
                "precedential_status": hit.get("status"), "judge": hit.get("judge")}
        return self._record(f"cluster:{hit['cluster_id']}", hit, "\n".join(s for s in snippets if s), meta, response)

    def docket_hit(self, hit: dict, response: Response) -> DocumentRecord:
        """A type=r hit (a RECAP docket) as a document with its case."""
        docs = [d for d in hit.get("recap_documents") or [] if isinstance(d, dict)]
        lines = [hit.get("cause"), hit.get("suitNature")]
        lines += [strip_tags(d.get("description") or "") + ": " + strip_tags(d.get("snippet") or "") for d in docs]
        meta = {"type": "docket", "docket_id": hit.get("docket_id"), "court_id": hit.get("court_id"),
                "assigned_to": hit.get("assignedTo"), "parties": hit.get("party")}
        return self._record(f"docket:{hit['docket_id']}", hit, "\n".join(l for l in lines if l and l.strip(": ")),
                            meta, response)

    def _record(self, external_id: str, hit: dict, text: str, meta: dict, response: Response) -> DocumentRecord:
        title = " ".join((hit.get("caseName") or hit.get("caseNameFull") or "").split()) or None
        url = urljoin(self.settings["base_url"], hit.get("absolute_url") or "") if hit.get("absolute_url") else None
        number = (hit.get("docketNumber") or "").strip() or None
        parties = hit.get("party")
        case = CaseRecord(
            court=hit.get("court") or hit.get("court_id"),
            case_number=number,
            case_type=_case_type(number),
            case_name=title,
            parties="; ".join(p for p in parties if isinstance(p, str)) if isinstance(parties, list) else None,
            filed=hit.get("dateFiled"),
            terminated=hit.get("dateTerminated"),
            claims=hit.get("cause") or hit.get("suitNature") or None,
            url=url,
        )
        return DocumentRecord(
            source=self.name, external_id=external_id, kind=self.kind, title=title,
            text=text or title or "", url=url, published=hit.get("dateFiled"), language="en",
            meta={k: v for k, v in meta.items() if v}, cases=[case], **response.provenance(),
        )


def _case_type(docket_number: str | None) -> str | None:
    """'criminal' or 'civil' from a federal docket number such as 1:20-cr-00123."""
    match = _CASE_TYPE.search(docket_number or "")
    if not match:
        return None
    return "civil" if match.group(1).lower() in ("cv", "mc") else "criminal"
