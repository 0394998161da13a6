"""WeChat official-account articles: their addresses, their pages, the prompts around them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

WECHAT_HOST = "mp.weixin.qq.com"
_WECHAT_MARKER = re.compile(r"""id\s*=\s*["']js_content["']""")


def is_wechat_url(url: str | None) -> bool:
    """True for WeChat official-account article addresses."""
    try:
        return urlsplit(url or "").hostname == WECHAT_HOST
    except ValueError:
        return False


def is_wechat_page(html: str, url: str | None = None) -> bool:
    """True for a WeChat article: by its address, or by WeChat's #js_content body."""
    return is_wechat_url(url) or bool(_WECHAT_MARKER.search(html))


# Lines WeChat's page shows around an article (share, follow and mini-program prompts), which a page
# saved as Markdown or text keeps: from the first of them on, nothing is the article.
_WECHAT_CHROME = re.compile(r"(?m)^[ \t]*(预览时标签不可点|继续滑动看下一个|轻触阅读原文|向上滑动看下一个|"
                            r"微信扫一扫[ \t]*\n[ \t]*(关注该公众号|使用小程序|可打开此内容))[ \t]*$")


def strip_wechat_chrome(text: str) -> str:
    """An article saved from WeChat without the page's closing prompts (微信扫一扫, 轻触阅读原文 …)."""
    match = _WECHAT_CHROME.search(text)
    return text[:match.start()].rstrip() if match else text
