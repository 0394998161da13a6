"""WeChat official-account articles (mp.weixin.qq.com): title, account, publish time, body.

Keyed by the article's own identity (__biz, mid, idx) rather than the URL,
whose tracking parameters change from share to share. Settings: `urls`.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import parse_qs, urlsplit

from .fetch import Response
from ..records import DocumentRecord
from .sdk import ItemError, Output, Request
from ..text.wechat import is_wechat_url

from .article import ArticleScraper, article_record

def wechat_id(url: str) -> str:
    """'wechat:<biz>:<mid>:<idx>' for a long-form article URL, else the URL without its fragment."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    keys = [query.get(k, [""])[0] for k in ("__biz", "mid", "idx")]
    if all(keys):
        return "wechat:" + ":".join(keys)
    return parts._replace(fragment="").geturl()


def wechat_record(response: Response, source: str, meta: dict | None = None) -> DocumentRecord | ItemError:
    """One fetched WeChat article page as a news document (author: the account)."""
    return article_record(response, source, meta, external_id=wechat_id(response.requested_url))


class WechatScraper(ArticleScraper):
    """Like the article scraper, but keyed by the article's own identity."""

    name = "wechat"
    description = "WeChat official-account articles by URL (the `urls` setting)"

    @classmethod
    def claims(cls, url: str) -> int:
        return 2 if is_wechat_url(url) else 0

    def parse(self, response: Response, request: Request) -> Iterable[Output]:
        yield wechat_record(response, self.name)
