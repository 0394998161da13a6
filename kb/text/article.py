"""Article extraction: page bytes -> title, date, author, language and clean body.

`extract_article` decodes the page (kb.text.charset), then runs trafilatura for the
body and metadata, fills gaps from the page's own markup (Open Graph, JSON-LD,
<time>, canonical link, html lang) and falls back to a BeautifulSoup paragraph
heuristic. WeChat official-account pages get their own parser.
Nothing here raises on hostile or broken HTML.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import asdict, dataclass
from html import unescape
from urllib.parse import urljoin, urlparse

import trafilatura
from bs4 import BeautifulSoup
from lxml.html import HtmlElement

from .charset import clean_input
from .dates import epoch_date, full_date
from .html import block_text
from .language import detect_language
from .scripts import HAN
from .wechat import is_wechat_page

MIN_PRECISE_CHARS = 500
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))

_TITLE_SUFFIX = re.compile(r"(?:\s+[-|–—]\s+|\s*[|｜_]\s*|-)([^-|｜_–—]{1,60})$")
_CHINESE_SITE = re.compile(f"[{HAN}]{{1,8}}网")
_BYLINE_PREFIX = re.compile(r"^(?:by|von|por|par|di|door)\s+", re.I)
_NOT_AUTHORS = {"no author", "username", "user", "admin", "administrator", "anonymous", "unknown"}
MAX_AUTHOR_CHARS = 100
_DROP_TAGS = ["script", "style", "noscript", "template", "nav", "footer", "header", "aside", "form", "iframe", "svg"]

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass
class Article:
    """What a page says about itself: metadata and clean body text."""

    title: str | None = None
    published: str | None = None
    language: str | None = None
    author: str | None = None
    text: str = ""
    canonical_url: str | None = None
    site_name: str | None = None

    def to_dict(self) -> dict:
        """Plain dict, ready for JSON."""
        return asdict(self)


# --- generic articles -------------------------------------------------------


def extract_article(
    html: str | bytes, url: str | None = None, content_type: str | None = None
) -> Article:
    """Extract body and metadata of one article page; never raises."""
    text = clean_input(html, content_type)
    url = _parsable_url(url)
    if is_wechat_page(text, url):
        return extract_wechat(text, url)
    tree = _load_tree(text)
    if tree is None:  # a fragment or plain text that trafilatura refuses
        body = _fallback_text(text)
        return Article(language=detect_language(body), text=body, canonical_url=url)
    doc = _trafilatura(tree, url)
    page = _page_metadata(tree)
    body = (doc.text if doc else None) or _fallback_text(text)
    lang_hint = page.get("lang") or (doc.language if doc else None)
    canonical = _canonical(page, doc, url)
    site_names = [page.get("site_name"), doc and doc.sitename, urlparse(canonical or "").hostname]
    title = _first(doc and doc.title, page.get("title"))
    return Article(
        title=_strip_site_suffix(title, site_names) if title else None,
        published=_first(full_date(doc and doc.date), full_date(page.get("published"))),
        language=detect_language(body or title or "", lang_hint),
        author=_author([page.get("author"), doc and doc.author, page.get("byline")]),
        text=body or "",
        canonical_url=canonical,
        site_name=_first(page.get("site_name"), doc and doc.sitename),
    )


def _load_tree(text: str) -> HtmlElement | None:
    """lxml tree as trafilatura builds it, or None for non-HTML."""
    try:
        return trafilatura.load_html(text)
    except Exception:  # broken input is reported as "no tree"
        return None


def _trafilatura(tree: HtmlElement, url: str | None):
    """trafilatura's Document (text + metadata), or None.

    Precision mode scores best on the benchmark, but it sometimes keeps next to
    nothing; then the balanced mode (which itself retries with recall) is used.
    """
    doc = _bare_extraction(tree, url, favor_precision=True)
    if doc is None or len(doc.text or "") < MIN_PRECISE_CHARS:
        doc = _bare_extraction(tree, url) or doc
    return doc


def _bare_extraction(tree: HtmlElement, url: str | None, **options):
    """One trafilatura run with metadata, without comments; None on failure."""
    try:
        return trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, **options
        )
    except Exception:  # trafilatura bugs on odd pages must not stop a scrape
        return None


def _first(*values: str | None) -> str | None:
    """First non-blank value, stripped."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _canonical(page: dict, doc, url: str | None) -> str | None:
    """Absolute canonical URL: <link rel=canonical>, og:url, trafilatura's, the given one."""
    found = _parsable_url(_first(page.get("canonical"), page.get("og_url"), doc and doc.url))
    if found and url:
        found = urljoin(url, found)
    if found and urlparse(found).scheme in ("http", "https"):
        return found
    return url


def _parsable_url(url: str | None) -> str | None:
    """The URL if urllib can parse it (e.g. no broken IPv6 brackets), else None."""
    try:
        urlparse(url or "").hostname
    except ValueError:
        return None
    return url


def _strip_site_suffix(title: str, site_names: list[str | None]) -> str:
    """'Headline | The Site' -> 'Headline' when the suffix names the site."""
    match = _TITLE_SUFFIX.search(title)
    if match and match.start() > 0 and _is_site_name(match.group(1), site_names):
        return title[: match.start()].strip()
    return title


def _is_site_name(text: str, site_names: list[str | None]) -> bool:
    """True if `text` is one of the site's names (ignoring case and punctuation) or 'XX网'."""
    key = _squash(text)
    if not key:
        return False
    return any(key == _squash(name) for name in site_names if name) or bool(_CHINESE_SITE.fullmatch(text.strip()))


def _squash(text: str) -> str:
    """Lower-case letters and digits only, for loose name comparison."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _author(candidates: list[str | None]) -> str | None:
    """First plausible author name: not a placeholder or a URL, without a leading 'By'."""
    for candidate in candidates:
        name = _BYLINE_PREFIX.sub("", " ".join(unescape(candidate or "").split()))
        if name and len(name) <= MAX_AUTHOR_CHARS and name.lower() not in _NOT_AUTHORS and "://" not in name:
            return name
    return None


# --- metadata from the page's own markup ---------------------------------------


def _page_metadata(tree: HtmlElement) -> dict:
    """Title, date, author, canonical URL, site name and lang declared in the markup."""
    meta = _meta_tags(tree)
    ld = _json_ld(tree)
    return {
        "title": _first(
            meta.get("og:title"),
            meta.get("twitter:title"),
            _xpath_text(tree, "//title"),
            _xpath_text(tree, "//h1"),
        ),
        "published": _first(
            meta.get("article:published_time"),
            meta.get("datepublished"),
            ld.get("datePublished"),
            _xpath_attr(tree, "//time/@datetime"),
            meta.get("pubdate"),
            meta.get("publishdate"),
            meta.get("date"),
        ),
        "author": _first(meta.get("author"), meta.get("dc.creator"), meta.get("article:author"), ld.get("author")),
        "byline": _xpath_text(tree, "//*[contains(@class, 'byline') or @itemprop='author' or @rel='author']"),
        "canonical": _xpath_attr(tree, "//link[@rel='canonical']/@href"),
        "og_url": meta.get("og:url"),
        "site_name": _first(meta.get("og:site_name"), ld.get("publisher")),
        "lang": _first(
            _xpath_attr(tree, "/html/@lang"),
            _xpath_attr(tree, "/html/@xml:lang"),
            meta.get("content-language"),
            meta.get("og:locale"),
        ),
    }


def _meta_tags(tree: HtmlElement) -> dict[str, str]:
    """<meta> contents keyed by lower-cased property/name/itemprop/http-equiv (first wins)."""
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or element.get("http-equiv")
        content = element.get("content")
        if key and content and content.strip():
            found.setdefault(key.strip().lower(), content.strip())
    return found


def _xpath_text(tree: HtmlElement, path: str) -> str | None:
    """Whitespace-normalized text of the first match."""
    for element in tree.xpath(path):
        text = " ".join(element.text_content().split())
        if text:
            return text
    return None


def _xpath_attr(tree: HtmlElement, path: str) -> str | None:
    """First non-blank attribute value matched by `path`."""
    try:
        values = tree.xpath(path, namespaces={"xml": "http://www.w3.org/XML/1998/namespace"})
    except Exception:  # unusual namespace use in hostile markup
        return None
    return _first(*[str(v) for v in values])


def _json_ld(tree: HtmlElement) -> dict[str, str]:
    """datePublished, author and publisher names from the page's JSON-LD, if any."""
    found: dict[str, str] = {}
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue
        for item in _json_ld_items(data):
            for key in ("datePublished", "author", "publisher"):
                value = _ld_name(item.get(key))
                if value and key not in found:
                    found[key] = value
    return found


def _json_ld_items(data) -> list[dict]:
    """All objects of a JSON-LD document, @graph and lists flattened."""
    if isinstance(data, list):
        return [item for entry in data for item in _json_ld_items(entry)]
    if isinstance(data, dict):
        return [data] + _json_ld_items(data.get("@graph", []))
    return []


def _ld_name(value) -> str | None:
    """A JSON-LD value as text: strings as is, objects by name, lists joined by '; '."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return _ld_name(value.get("name"))
    if isinstance(value, list):
        names = [name for name in (_ld_name(v) for v in value) if name]
        return "; ".join(names) or None
    return None


# --- BeautifulSoup text ----------------------------------------------------------


def _fallback_text(html: str) -> str:
    """Body text without trafilatura: the element with the most <p> text, else all text."""
    soup = BeautifulSoup(html, "lxml")
    for element in soup(_DROP_TAGS):
        element.decompose()
    best, best_len = None, 0
    parents = dict.fromkeys(p.parent for p in soup.find_all("p") if p.parent is not None)
    for parent in parents:
        paragraphs = parent.find_all("p", recursive=False)
        length = sum(len(p.get_text(strip=True)) for p in paragraphs)
        if length > best_len:
            best, best_len = paragraphs, length
    if best:
        return "\n".join(block_text(p) for p in best if p.get_text(strip=True))
    return block_text(soup.body or soup)


# --- WeChat official-account articles (mp.weixin.qq.com) ---------------------------

_WECHAT_TIMESTAMP = [
    re.compile(r"""\bvar\s+ct\s*=\s*["']?(\d{9,11})"""),
    re.compile(r"""\bcreate_time\s*[:=]\s*["']?(\d{9,11})"""),
]
_WECHAT_NICKNAME = re.compile(r"""\bvar\s+nickname\s*=\s*(?:htmlDecode\()?\s*["']([^"']+)["']""")
_WECHAT_TITLE = re.compile(r"""\bvar\s+msg_title\s*=\s*["']([^"']+)["']""")


def extract_wechat(html: str | bytes, url: str | None = None) -> Article:
    """Parse a WeChat official-account article; author is the account name."""
    text = clean_input(html, None)
    url = _parsable_url(url)
    soup = BeautifulSoup(text, "lxml")
    content = soup.find(id="js_content")
    body = block_text(content) if content else ""
    return Article(
        title=_first(
            _meta_content(soup, "og:title"),
            _id_text(soup, "activity-name"),
            _regex_group(_WECHAT_TITLE, text),
        ),
        published=_wechat_date(soup, text),
        language=detect_language(body, _meta_content(soup, "og:locale")) or "zh",
        author=_first(_id_text(soup, "js_name"), _regex_group(_WECHAT_NICKNAME, text)),
        text=body,
        canonical_url=_first(_meta_content(soup, "og:url"), url),
        site_name=_first(_meta_content(soup, "og:site_name"), "WeChat"),
    )


def _wechat_date(soup: BeautifulSoup, html: str) -> str | None:
    """Publish date from `var ct` / create_time (epoch, Beijing time) or #publish_time."""
    for pattern in _WECHAT_TIMESTAMP:
        stamp = _regex_group(pattern, html)
        if stamp:
            return epoch_date(stamp, CHINA_TZ)
    return full_date(_id_text(soup, "publish_time"))


def _meta_content(soup: BeautifulSoup, prop: str) -> str | None:
    """content of <meta property=prop> or <meta name=prop>."""
    tag = soup.find("meta", attrs={"property": prop}) or soup.find("meta", attrs={"name": prop})
    return _first(tag.get("content")) if tag else None


def _id_text(soup: BeautifulSoup, element_id: str) -> str | None:
    """Whitespace-normalized text of the element with this id."""
    element = soup.find(id=element_id)
    return _first(" ".join(element.get_text(" ").split())) if element else None


def _regex_group(pattern: re.Pattern, text: str) -> str | None:
    """First group of the first match, or None."""
    match = pattern.search(text)
    return match.group(1) if match else None
