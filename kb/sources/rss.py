"""RSS/Atom news feeds, filtered for insider incidents, each kept item fetched in full.

Settings: `feeds` (URLs), `keywords` (extra terms that alone make an item
relevant), `max_items_per_feed`. An item is kept when its title, summary and
tags pass `kb.insider_filter`; its page then goes through the article
scraper (or the WeChat one for mp.weixin.qq.com links).
"""

from __future__ import annotations

import time
from typing import Iterable
from urllib.parse import urljoin

import feedparser

from .fetch import FEED_TYPES, Response
from ..extract.insider_filter import matched_terms
from ..records import DocumentRecord
from .sdk import Output, Request, Scraper
from ..text.wechat import is_wechat_url
from ..text.html import strip_tags

from .article import article_record
from .wechat import wechat_record

DEFAULT_FEEDS = [
    # English: security and tech news
    "https://krebsonsecurity.com/feed/",
    "https://www.bleepingcomputer.com/feed/",
    "https://feeds.feedburner.com/TheHackersNews",
    "https://therecord.media/feed",
    "https://www.securityweek.com/feed/",
    "https://www.darkreading.com/rss.xml",
    "https://www.theregister.com/security/headlines.atom",
    "https://feeds.arstechnica.com/arstechnica/index",
    # Chinese: security and tech news
    "https://www.freebuf.com/feed",
    "https://www.4hou.com/feed",
    "https://www.ithome.com/rss/",
    "https://36kr.com/feed",
    "https://www.cnbeta.com.tw/backend.php",
]


class RssScraper(Scraper):
    name = "rss"
    kind = "news"
    description = "Security and tech news feeds (EN/ZH), insider incidents only"
    defaults = {"feeds": DEFAULT_FEEDS, "keywords": [], "max_items_per_feed": 50, "interval_hours": 6}

    def start(self) -> Iterable[Output]:
        for feed in self.settings["feeds"]:
            yield Request(feed, callback="parse_feed", accept=FEED_TYPES + ("text/plain",))

    def parse_feed(self, response: Response, request: Request) -> Iterable[Output]:
        feed = feedparser.parse(response.content, response_headers={"content-type": response.content_type})
        if feed.bozo and not feed.entries:
            raise ValueError(f"not a feed: {feed.get('bozo_exception')}")
        for entry in feed.entries[: self.settings["max_items_per_feed"]]:
            link = urljoin(response.url, entry.get("link") or "")
            if not link.startswith(("http://", "https://")):
                continue
            published = _entry_date(entry)
            if not self.is_recent(published):
                continue
            tags = " ".join(t.get("term") or "" for t in entry.get("tags") or [])
            about = " ".join([entry.get("title") or "", strip_tags(entry.get("summary") or ""), tags])
            terms = matched_terms(about, self.settings["keywords"])
            if terms:
                yield Request(link, callback="parse_article", item=True, data={
                    "feed": request.url, "published": published, "matched": terms})

    def parse_article(self, response: Response, request: Request) -> Iterable[Output]:
        meta = {"feed": request.data["feed"], "matched": request.data["matched"]}
        make = wechat_record if is_wechat_url(response.url) else article_record
        record = make(response, self.name, meta)
        if isinstance(record, DocumentRecord) and not record.published:
            record.published = request.data["published"]
        yield record


def _entry_date(entry) -> str | None:
    """'YYYY-MM-DD' of a feed entry's published (or updated) time."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", parsed) if parsed else None
