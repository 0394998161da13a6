"""What every scraper is made of: requests out, responses in, records back.

A scraper class declares `name`, `kind` (news / court / press_release /
dataset), `defaults` (the settings it understands, overridable in
db/sources.toml), `start()` (what to fetch first, given `self.since`) and one
parse method per kind of page, named by `Request.callback`. Parse methods
receive a `kb.fetch.Response` and yield DocumentRecords, further Requests, or
ItemErrors for items that cannot be read. No database or network code here.

A scraper that walks a source over several runs (a backfill) reads where it
stopped from `self.state` and yields a `Cursor` each time it has finished a
step; the runner keeps a cursor only while nothing in its run must be redone
(an ItemError does not count: the item is unreadable, not missed), and hands
the merged state back to the next run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable, Union

from bs4 import BeautifulSoup
from lxml import etree

from kb.fetch import HTML_TYPES, Response
from kb.records import DocumentRecord


@dataclass
class Request:
    """A page a scraper wants: where, which parse method gets it, what it expects.

    `item` marks a page that is one document: a 304 for it counts as one
    unchanged item. `data` is handed back to the parse method untouched.
    """

    url: str
    callback: str = "parse"
    accept: tuple[str, ...] | None = HTML_TYPES
    item: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ItemError:
    """One item that could not be read; recorded as a run error, the run goes on."""

    where: str
    reason: str


@dataclass
class Cursor:
    """Where a walk over several runs has got to: keys merged into the source's stored state."""

    state: dict[str, Any]


Output = Union[DocumentRecord, Request, ItemError, Cursor]


class Scraper:
    """Base class: subclasses set name/kind/defaults and implement start() and parsers."""

    name = ""
    kind = "news"
    description = ""
    defaults: dict[str, Any] = {}
    common_defaults: dict[str, Any] = {"enabled": True, "interval_hours": 24}

    def __init__(self, settings: dict[str, Any] | None = None, since: date | None = None,
                 state: dict[str, Any] | None = None):
        self.settings = {**self.common_defaults, **self.defaults, **(settings or {})}
        self.since = since
        self.state = dict(state or {})

    def notes(self) -> list[str]:
        """What a user should know about this source as configured (shown by `kb sources`)."""
        return []

    def start(self) -> Iterable[Output]:
        """The first requests (or records, for local sources)."""
        return []

    def parse(self, response: Response, request: Request) -> Iterable[Output]:
        """Turn one response into outputs; dispatches to `request.callback`."""
        return getattr(self, request.callback)(response, request)

    def is_recent(self, published: str | None) -> bool:
        """True unless the item is dated before `since` (undated items count as recent)."""
        return not (self.since and published and published[:10] < self.since.isoformat())


_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
           "pre", "section", "article", "table", "ul", "ol", "hr", "figcaption"}
_BREAK = "\x00"  # marks block boundaries while the text is collected


def html_to_text(fragment: str) -> str:
    """Readable text of an HTML fragment: one line per block element, no scripts or styles."""
    soup = BeautifulSoup(fragment or "", "lxml")
    for element in soup(["script", "style", "noscript", "template"]):
        element.decompose()
    for element in soup.find_all(_BLOCKS):
        element.insert_before(_BREAK)
        element.insert_after(_BREAK)
    lines = (" ".join(line.split()) for line in soup.get_text().split(_BREAK))
    return "\n".join(line for line in lines if line)


def strip_tags(fragment: str) -> str:
    """One line of text from a snippet with inline markup (e.g. <mark>)."""
    return " ".join(BeautifulSoup(fragment or "", "lxml").get_text(" ").split())


def epoch_date(value) -> str | None:
    """'YYYY-MM-DD' (UTC) from epoch seconds given as int or digits; None otherwise."""
    text = str(value or "").strip()
    if not re.fullmatch(r"-?\d{1,11}", text):
        return None
    return datetime.fromtimestamp(int(text), timezone.utc).date().isoformat()


def parse_xml(data: bytes):
    """An lxml element tree from untrusted XML: no entities, DTDs or network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=True, remove_pis=True)
    return etree.fromstring(data, parser=parser)
