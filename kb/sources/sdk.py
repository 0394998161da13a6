"""What every scraper is made of: requests out, responses in, records back.

A scraper class declares `name`, `kind` (news / court / press_release /
dataset), `defaults` (the settings it understands, overridable in
db/sources.toml), `start()` (what to fetch first, given `self.since`) and one
parse method per kind of page, named by `Request.callback`; `claims(url)`
says which addresses `kb add URL` may give it. Parse methods receive a
`kb.fetch.Response` and yield DocumentRecords, further Requests, or
ItemErrors for items that cannot be read. No database or network code here,
and no source by name: sources live in `scrapers/`, found by entry point.

A scraper that walks a source over several runs (a backfill) reads where it
stopped from `self.state` and yields a `Cursor` each time it has finished a
step; the runner keeps a cursor only while nothing in its run must be redone
(an ItemError does not count: the item is unreadable, not missed), and hands
the merged state back to the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Union

from lxml import etree

from .fetch import HTML_TYPES, Response
from ..records import DocumentRecord


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

    @classmethod
    def claims(cls, url: str) -> int:
        """How specifically this scraper reads `url` for `kb add URL`: 0 not at all; the highest wins.

        A scraper that claims URLs reads them from its `urls` setting.
        """
        return 0

    def start(self) -> Iterable[Output]:
        """The first requests (or records, for local sources)."""
        return []

    def parse(self, response: Response, request: Request) -> Iterable[Output]:
        """Turn one response into outputs; dispatches to `request.callback`."""
        return getattr(self, request.callback)(response, request)

    def is_recent(self, published: str | None) -> bool:
        """True unless the item is dated before `since` (undated items count as recent)."""
        return not (self.since and published and published[:10] < self.since.isoformat())


def parse_xml(data: bytes):
    """An lxml element tree from untrusted XML: no entities, DTDs or network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=True, remove_pis=True)
    return etree.fromstring(data, parser=parser)
