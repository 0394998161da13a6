"""Text helpers every module shares: HTML to text, dates, CJK ranges, language, WeChat, bounded reads.

    html_to_text("<p>a</p><p>b</p>")      -> "a\\nb"
    normalise_date("2024年11月29日")        -> "2024-11-29"
    detect_language("字节跳动起诉前实习生")  -> "zh"
    read_bounded("page.html.gz", limit)   -> its bytes, decompressed, at most `limit` of them

Language identification is light-weight: writing script first, then
stopwords. Good enough to tell the languages this knowledge base meets
(Chinese, English, other European news languages, a few non-Latin scripts)
without a model.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import zlib
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

from .errors import KBError

# --- CJK character ranges ---------------------------------------------------------

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs, extension A, compatibility
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d"
HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
CJK = HAN + KANA + HANGUL  # scripts written without spaces between words
CJK_RUN = re.compile(f"[{CJK}]+")
_CJK_CHAR = re.compile(f"[{CJK}]")


def cjk_share(text: str) -> float:
    """The share of characters of `text` that are Chinese, Japanese or Korean."""
    return len(_CJK_CHAR.findall(text)) / len(text) if text else 0.0


# --- HTML to text -----------------------------------------------------------------

BLOCK_TAGS = {
    "p", "div", "section", "article", "br", "h1", "h2", "h3", "h4", "h5", "h6",
    "li", "ul", "ol", "blockquote", "pre", "table", "tr", "figure", "figcaption", "hr",
}
_SKIP_TEXT_TAGS = {"script", "style", "noscript", "template"}
_SPACES = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """Readable text of HTML: one line per block element, no scripts or styles."""
    return block_text(BeautifulSoup(fragment or "", "lxml"))


def strip_tags(fragment: str) -> str:
    """One line of text from a snippet with inline markup (e.g. <mark>)."""
    return " ".join(BeautifulSoup(fragment or "", "lxml").get_text(" ").split())


def block_text(element: Tag) -> str:
    """Text of an element, one line per block element, inline runs kept together.

    Iterative (no recursion), so hostile nesting depth cannot overflow the stack.
    """
    chunks: list[str] = []  # one per run of text inside the same block
    current: list[str] = []
    current_block = None
    for node in element.descendants:
        if isinstance(node, Tag) and node.name == "br":
            current.append("\n")
            continue
        if type(node) is not NavigableString:  # tags, comments, CDATA, doctypes
            continue
        block = _enclosing_block(node, element)
        if block is None:
            continue
        if block is not current_block:
            chunks.append("".join(current))
            current, current_block = [], block
        current.append(_SPACES.sub(" ", node))
    chunks.append("".join(current))
    lines = (" ".join(line.split()) for chunk in chunks for line in chunk.split("\n"))
    return "\n".join(line for line in lines if line)


def _enclosing_block(node: NavigableString, root: Tag) -> Tag | None:
    """Nearest block-level ancestor of a text node (root counts as one); None inside script/style."""
    block = None
    for parent in node.parents:
        if parent.name in _SKIP_TEXT_TAGS:
            return None
        if block is None and (parent is root or parent.name in BLOCK_TAGS):
            block = parent
        if parent is root:
            return block
    return block


# --- dates ------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2}))?")


def normalise_date(value) -> str | None:
    """'2024-11-29', '2024/11/29', '2024年11月29日', ISO timestamps, '2024.11', '2024'
    -> 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'; None when there is no possible date."""
    text = str(value or "")
    for m in _DATE.finditer(text):
        year, month, day = (int(g) if g else None for g in m.groups())
        try:
            dt.date(year, month, day or 1)
        except ValueError:
            continue
        return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")
    m = re.fullmatch(r"\s*(\d{4})\s*", text)
    return m.group(1) if m else None


def full_date(value) -> str | None:
    """'YYYY-MM-DD' when `value` names a whole day (see `normalise_date`), else None."""
    found = normalise_date(value)
    return found if found and len(found) == 10 else None


def epoch_date(value, tz: dt.tzinfo = dt.timezone.utc) -> str | None:
    """'YYYY-MM-DD' in `tz` from epoch seconds given as int or digits; None otherwise."""
    text = str(value or "").strip()
    if not re.fullmatch(r"-?\d{1,11}", text):
        return None
    return dt.datetime.fromtimestamp(int(text), tz).date().isoformat()


# --- WeChat -----------------------------------------------------------------------

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


# --- bounded reading ----------------------------------------------------------------


def read_bounded(path, limit: int) -> bytes:
    """A file's bytes, a `.gz` decompressed as it is read; KBError past `limit` bytes or if unreadable."""
    gz = str(path).lower().endswith(".gz")
    try:
        with (gzip.open if gz else open)(path, "rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise KBError(f"cannot read {path}: {exc}") from None
    if len(data) > limit:
        raise KBError(f"{path} is larger than {limit / 1e6:g} MB{' once decompressed' if gz else ''}: "
                      "refused (split it into smaller files)")
    return data


# --- language ---------------------------------------------------------------------

SAMPLE_CHARS = 20_000
MIN_WORDS = 5
CJK_WEIGHT = 2  # one Han/kana/Hangul character carries about a short word
KANA_SHARE_FOR_JA = 0.05

_SCRIPTS = {
    "kana": re.compile(f"[{KANA}]"),
    "han": re.compile(f"[{HAN}]"),
    "hangul": re.compile(f"[{HANGUL}]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"),
    "greek": re.compile(r"[\u0370-\u03ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f]"),
}

# Default language of each non-Latin script, and the other languages a hint may pick.
_SCRIPT_LANGUAGE = {
    "hangul": ("ko", set()),
    "cyrillic": ("ru", {"uk", "bg", "sr", "mk", "be", "kk"}),
    "arabic": ("ar", {"fa", "ur", "ps"}),
    "hebrew": ("he", {"yi"}),
    "greek": ("el", set()),
    "thai": ("th", set()),
    "devanagari": ("hi", {"mr", "ne"}),
}

_STOPWORDS = {
    "en": "the and of to in is that for it was on with as by at from this be are "
    "have has were which an not but or its said he they",
    "es": "el la los las de del que y en un una por con para es se al lo como más "
    "pero sus fue está ha este esta entre sobre",
    "de": "der die das und ist nicht ein eine zu den dem des mit sich von auf für "
    "auch im es wird werden hat nach bei einer aus wie oder sind",
    "fr": "le la les des et est une un du que qui dans pour pas sur au avec ce il "
    "elle par sont aux plus ont été mais ses cette leur",
    "pt": "o a os as de do da dos das e que em um uma para com não no na por se ao "
    "mais é foi são pelo pela seu sua",
    "it": "il lo la gli le di del della e che è un una per con non in da sono si al "
    "nel alla anche ha ma come più questo dei",
    "nl": "de het een en van is dat op te in niet zijn met voor er die aan ook als "
    "door bij om maar naar heeft wordt worden nog werd deze",
}
_STOPWORD_SETS = {code: set(words.split()) for code, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def normalize_hint(hint: str | None) -> str | None:
    """'zh-CN', 'en_US', 'DE' -> 'zh', 'en', 'de'; anything else -> None."""
    if not hint:
        return None
    code = re.split(r"[-_\s]", hint.strip(), maxsplit=1)[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of `text`, using `hint` when the text cannot decide."""
    hint_code = normalize_hint(hint)
    sample = (text or "")[:SAMPLE_CHARS]
    script = _dominant_script(sample)
    if script is None:
        return hint_code
    if script == "latin":
        return _latin_language(sample, hint_code)
    if script == "han":
        return "ja" if hint_code == "ja" else "zh"
    if script == "kana":
        return "ja"
    default, others = _SCRIPT_LANGUAGE[script]
    return hint_code if hint_code in others else default


def _dominant_script(sample: str) -> str | None:
    """The script with the most (weighted) letters; Han with enough kana is 'kana'."""
    counts = {name: len(rx.findall(sample)) for name, rx in _SCRIPTS.items()}
    kana = counts.pop("kana")
    counts["han"] += kana
    weighted = {
        name: n * (CJK_WEIGHT if name in ("han", "hangul") else 1)
        for name, n in counts.items()
    }
    script = max(weighted, key=weighted.get)
    if weighted[script] == 0:
        return None
    if script == "han" and kana >= KANA_SHARE_FOR_JA * counts["han"]:
        return "kana"
    return script


def _latin_language(sample: str, hint_code: str | None) -> str | None:
    """Pick among en/es/de/fr/pt/it/nl by stopword hits; defer to the hint if unsure."""
    words = [w.lower() for w in _WORD.findall(sample)]
    scores = {code: sum(w in stop for w in words) for code, stop in _STOPWORD_SETS.items()}
    ranked = sorted(scores, key=scores.get, reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    confident = len(words) >= MIN_WORDS and best >= 3 and best >= 1.2 * second
    if confident or not hint_code:
        return ranked[0] if best > 0 else hint_code
    return hint_code
