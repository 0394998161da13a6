"""Any article URL: title, author, published date, language, main text, canonical URL (kb.text.article).

`article_record` is also what the rss scraper uses for the articles its feeds
point to. Settings: `urls`, a list of article URLs to keep up to date.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

from ..text.article import extract_article
from .fetch import Response
from ..records import DocumentRecord

from .sdk import ItemError, Output, Request, Scraper


def article_record(response: Response, source: str, meta: dict | None = None,
                   external_id: str | None = None) -> DocumentRecord | ItemError:
    """One fetched article page (WeChat pages too) as a news document.

    Keyed by `external_id`, else by the URL that was asked for.
    """
    art = extract_article(response.content, url=response.url, content_type=response.content_type)
    if not art.text.strip():
        return ItemError(response.requested_url, "no article text found on the page (deleted, or a verification page?)")
    return DocumentRecord(
        source=source,
        external_id=external_id or response.requested_url,
        kind="news",
        title=art.title,
        text=art.text,
        url=response.url,
        canonical_url=art.canonical_url,
        published=art.published,
        language=art.language,
        author=art.author,
        meta={k: v for k, v in {"site_name": art.site_name, **(meta or {})}.items() if v},
        **response.provenance(),
    )


class ArticleScraper(Scraper):
    name = "article"
    kind = "news"
    description = "Article pages by URL (the `urls` setting, `kb add URL`)"
    defaults = {"urls": []}

    @classmethod
    def claims(cls, url: str) -> int:
        """Any web page, as a fallback for scrapers that know a site better."""
        return 1 if urlsplit(url).scheme in ("http", "https") else 0

    def start(self) -> Iterable[Output]:
        for url in self.settings["urls"]:
            yield Request(url, item=True)

    def parse(self, response: Response, request: Request) -> Iterable[Output]:
        yield article_record(response, self.name)
