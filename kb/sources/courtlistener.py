"""CourtListener REST v4: fielded searches of opinions (type=o) and RECAP dockets (type=r),
most relevant first within date windows, and each docket's entries.

Settings:
- `token_env`: the environment variable holding an API token (sent as
  `Authorization: Token ...`). Without one the run fails with one clear
  message and `kb sources` says so (CourtListener refuses anonymous search).
- `searches`: each a table with `type` ("o" or "r"), a query `q` in the v4
  search syntax, and optional fielded filters ANDed to it: `cause`
  (statutes as PACER writes them, e.g. "18:1030"), `suit_nature`, `party`
  (lists, ORed), and `court` (CourtListener court ids, e.g. ["cand"]).
- `backfill_from`, `window_months`, `windows_per_run`: the first runs walk
  back from today in windows of `window_months` down to 1 January of
  `backfill_from`, `windows_per_run` windows per run, `max_pages` pages per
  search per window (order: relevance); the cursor is stored after each
  finished window. Later runs first search from the last run's date to today,
  so they only fetch what is new. `since` is not used.
- `docket_entries`: fetch each docket's entries (dates of indictment, plea,
  judgment, sentencing), up to `max_entry_pages` pages.
- `opinion_text`: fetch each opinion's text; otherwise the snippet is the text.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from typing import Iterable
from urllib.parse import urlencode, urljoin

from .fetch import JSON_TYPES, Response
from ..records import CaseRecord, DocumentRecord

from .sdk import Cursor, ItemError, Output, Request, Scraper
from ..text.html import html_to_text, strip_tags

from .pacer import case_type as _case_type
from .pacer import event_of, events

NEW_MARGIN = timedelta(days=7)  # later runs search from a week before the last run's date
FIELDS = {"cause": "cause", "suit_nature": "suitNature", "party": "party"}


class CourtListenerScraper(Scraper):
    name = "courtlistener"
    kind = "court"
    description = "CourtListener opinions and RECAP dockets with entries (REST v4 fielded search)"
    defaults = {
        "base_url": "https://www.courtlistener.com",
        "token_env": "COURTLISTENER_TOKEN",
        "searches": [
            {"type": "r", "cause": ["18:1030"], "q": '"former employee" OR employee OR "ex-employee"'},
            {"type": "r", "cause": ["18:1836", "18:1832", "18:1831"],
             "q": '"former employee" OR employee OR "source code"'},
            {"type": "r", "suit_nature": ["880 Defend Trade Secrets Act"], "q": '"former employee" OR "source code"'},
            {"type": "r", "q": '"18 U.S.C. 1030" OR "18:1030" OR "18:1832" OR "18:1831" OR "18:1343"',
             "party": ["United States", "USA"]},
            {"type": "o", "q": '("Computer Fraud and Abuse Act" OR "18 U.S.C. § 1030") AND "former employee" '
                               'AND (deleted OR wiped OR sabotage OR "logic bomb")'},
            {"type": "o", "q": '"trade secret" AND ("former employee" OR "ex-employee") AND '
                               '("source code" OR "model weights" OR misappropriat*)'},
        ],
        "backfill_from": 2010,
        "window_months": 12,
        "windows_per_run": 2,
        "max_pages": 2,
        "docket_entries": True,
        "max_entry_pages": 5,
        "opinion_text": True,
    }

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or date.today()

    def token(self) -> str:
        return os.environ.get(self.settings["token_env"] or "", "").strip()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token()}"} if self.token() else {}

    def notes(self) -> list[str]:
        notes = [] if self.token() else [self._no_token()]
        if self.state.get("backfilled_to"):
            notes.append(f"searched {self.state['backfilled_to']} to {self.state.get('covered_to')}; "
                         f"backfill goes down to {self.settings['backfill_from']}-01-01")
        return notes

    def _no_token(self) -> str:
        env = self.settings["token_env"] or "(token_env is empty)"
        return (f"no API token: set the environment variable {env} to your CourtListener API token "
                f"(token_env in sources.toml names the variable)")

    def windows(self) -> list[tuple[date, date, dict]]:
        """(from, to, cursor) of this run's date windows: what is new, then the next backfill windows."""
        floor = date(int(self.settings["backfill_from"]), 1, 1)
        covered_to = _day(self.state.get("covered_to"))
        oldest = _day(self.state.get("backfilled_to"))
        windows = []
        if covered_to and oldest:
            windows.append((covered_to - NEW_MARGIN, self.today, {"covered_to": self.today.isoformat()}))
        end = oldest - timedelta(days=1) if oldest else self.today
        for _ in range(int(self.settings["windows_per_run"])):
            if end < floor:
                break
            start = max(floor, _months_before(end, int(self.settings["window_months"])) + timedelta(days=1))
            cursor = {"backfilled_to": start.isoformat()}
            if not oldest and not windows:
                cursor["covered_to"] = self.today.isoformat()
            windows.append((start, end, cursor))
            end = start - timedelta(days=1)
        return windows

    def start(self) -> Iterable[Output]:
        if not self.token():
            yield ItemError(self.name, self._no_token())
            return
        for start, end, cursor in self.windows():
            for search in self.settings["searches"]:
                yield self._search(search, start, end)
            yield Cursor(cursor)

    def _search(self, search: dict, start: date, end: date) -> Request:
        kind = search.get("type", "o")
        params = {"type": kind, "q": query_of(search), "order_by": "score desc",
                  "filed_after": start.isoformat(), "filed_before": end.isoformat()}
        if search.get("court"):
            params["court"] = " ".join(search["court"])
        url = urljoin(self.settings["base_url"], "/api/rest/v4/search/?" + urlencode(params))
        return Request(url, callback="parse_search", accept=JSON_TYPES, headers=self._headers(),
                       data={"type": kind, "query": params["q"], "page": 1})

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
                follow = self._follow_up(kind, hit, record)
            except (TypeError, AttributeError, ValueError) as exc:  # hostile or broken fields
                yield ItemError(request.url, f"malformed {key} {hit.get(key)}: {exc}")
                continue
            record.meta["query"] = request.data["query"]
            yield follow or record
        next_url = data.get("next")
        if next_url and request.data["page"] < self.settings["max_pages"]:
            yield replace(request, url=urljoin(request.url, next_url),
                          data={**request.data, "page": request.data["page"] + 1})

    def _follow_up(self, kind: str, hit: dict, record: DocumentRecord) -> Request | None:
        """The request that completes a hit's record: its opinion's text, or its docket's entries."""
        opinions = [o for o in hit.get("opinions") or [] if isinstance(o, dict) and o.get("id")]
        if kind == "o" and self.settings["opinion_text"] and opinions:
            url = urljoin(self.settings["base_url"], f"/api/rest/v4/opinions/{int(opinions[0]['id'])}/")
            return Request(url, callback="parse_opinion", accept=JSON_TYPES, item=True,
                           headers=self._headers(), data={"record": record})
        if kind == "r" and self.settings["docket_entries"]:
            query = urlencode({"docket": int(hit["docket_id"]), "order_by": "entry_number"})
            url = urljoin(self.settings["base_url"], f"/api/rest/v4/docket-entries/?{query}")
            return Request(url, callback="parse_entries", accept=JSON_TYPES, item=True,
                           headers=self._headers(), data={"record": record, "entries": [], "page": 1})
        return None

    def parse_entries(self, response: Response, request: Request) -> Iterable[Output]:
        """A page of a docket's entries; after the last one, the docket with its entries and steps."""
        data = response.json()
        entries = request.data["entries"] + [_entry(e) for e in data.get("results") or [] if isinstance(e, dict)]
        entries = [e for e in entries if e["description"]]
        next_url = data.get("next")
        if next_url and request.data["page"] < self.settings["max_entry_pages"]:
            yield replace(request, url=urljoin(request.url, next_url),
                          data={**request.data, "entries": entries, "page": request.data["page"] + 1})
            return
        record = request.data["record"]
        lines = [f"{e['date_filed'] or '-'} [{e['number'] or '-'}] {e['description']}" for e in entries]
        meta = {**record.meta, "entries": len(entries), "events": events(entries)}
        yield replace(record, text="\n".join([record.text, *lines]).strip(), meta={k: v for k, v in meta.items() if v},
                      **response.provenance())

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
        steps = events([_entry({"entry_number": d.get("entry_number"), "date_filed": d.get("entry_date_filed"),
                                "description": d.get("description") or d.get("short_description")}) for d in docs])
        meta = {"type": "docket", "docket_id": hit.get("docket_id"), "court_id": hit.get("court_id"),
                "assigned_to": hit.get("assignedTo"), "parties": hit.get("party"), "events": steps}
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


def query_of(search: dict) -> str:
    """The v4 query of a search: its `q` ANDed with its fielded filters, e.g. cause:("18:1030")."""
    parts = [f"({search['q']})"] if search.get("q") else []
    for key, field in FIELDS.items():
        values = [v for v in search.get(key) or [] if isinstance(v, str) and v.strip()]
        if values:
            parts.append(f"{field}:(" + " OR ".join('"' + v.replace('"', "") + '"' for v in values) + ")")
    return " AND ".join(parts)


def _entry(item: dict) -> dict:
    """One v4 docket entry as (date filed, number, text, step); the text of its main document if it has none."""
    docs = [d for d in item.get("recap_documents") or [] if isinstance(d, dict)]
    text = item.get("description") or (docs[0].get("description") if docs else "") or ""
    text = " ".join(strip_tags(str(text)).split())
    number = item.get("entry_number")
    return {"date_filed": str(item.get("date_filed") or "")[:10] or None,
            "number": str(number) if number is not None else None, "description": text, "event": event_of(text)}


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (clamped to the month's length)."""
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)
