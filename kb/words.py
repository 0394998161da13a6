"""Words for keyword search: Chinese segmentation and the bilingual lexicon of this field.

Chinese has no spaces, so the word index (FTS5 `unicode61`) would see a whole
run of Chinese as one token. `segment` splits CJK runs into words with jieba
(the Rust port, rjieba), keeping the lexicon's terms whole, so BM25 weighs
删库 by how rare it is. The lexicon (kb/data/lexicon.tsv) groups the Chinese
and English wordings of one concept; `expand` turns a query's terms into the
other wordings, which search adds with a lower weight.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .text import HAN

CJK_RUN = re.compile(f"[{HAN}]+")  # Chinese characters: what jieba segments
_LATIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_lock = threading.Lock()
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to was "
    "were which who with what when where how did do does about after before over under".split()
)
# Chinese function words: no meaning in a gloss (把 "to hold", 被 "quilt") and no reason to show as found.
ZH_STOPWORDS = frozenset([*"的了把被在和与及或是有也就都而之其这那个一我你他她它们将对从向以于为由着过给让使吗呢吧啊",
                          "一个", "一家", "一名", "一些", "这个", "那个", "以及"])


@dataclass(frozen=True)
class Concept:
    """One lexicon line: the Chinese and English wordings of a term."""

    zh: tuple[str, ...]
    en: tuple[str, ...]


@lru_cache(maxsize=1)
def lexicon() -> tuple[Concept, ...]:
    """The concepts of kb/data/lexicon.tsv."""
    text = resources.files("kb").joinpath("data/lexicon.tsv").read_text(encoding="utf-8")
    concepts = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            zh, en = line.split("\t")
            concepts.append(Concept(tuple(zh.split("|")), tuple(en.split("|"))))
    return tuple(concepts)


@lru_cache(maxsize=1)
def _segmenter():
    import rjieba

    jieba = rjieba.Jieba()
    for concept in lexicon():
        for term in concept.zh:
            # Only terms jieba would shred into single characters (删库 -> 删 库) are added:
            # a longer word such as 删除数据库 stays 删除 数据库, so 数据库 still finds it.
            if CJK_RUN.fullmatch(term) and all(len(w) == 1 for w in jieba.cut(term, False)):
                jieba.add_word(term, 100_000, None)  # a high frequency keeps the term whole
    return jieba


def cut(run: str) -> list[str]:
    """The words of one run of Chinese characters (for queries)."""
    with _lock:  # one segmenter shared by threads
        return [w for w in _segmenter().cut(run, False) if w.strip()]


def _cut_for_index(run: str) -> list[str]:
    """The words of a run, each long word followed by the shorter words inside it
    (数据库管理员 -> 数据 据库 数据库 管理 管理员 数据库管理员), so a query word finds it."""
    with _lock:
        return [w for w in _segmenter().cut_for_search(run, False) if w.strip()]


def segment(text: str | None) -> str | None:
    """`text` with its Chinese split into space-separated words for the index; None without Chinese."""
    if not text or not CJK_RUN.search(text):
        return None
    return CJK_RUN.sub(lambda m: " " + " ".join(_cut_for_index(m.group(0))) + " ", text)


def tokens(term: str) -> list[str]:
    """A term's words in order: Chinese cut as in queries, other text split on spaces."""
    out = []
    for piece in re.split(f"([{HAN}]+)", term):
        out.extend(cut(piece) if CJK_RUN.fullmatch(piece) else piece.split())
    return out


def query_words(query: str) -> list[str]:
    """The distinct words of a query: Latin words without stopwords, Chinese words segmented."""
    words = [w for w in _LATIN_WORD.findall(CJK_RUN.sub(" ", query)) if w.lower() not in STOPWORDS]
    for run in CJK_RUN.findall(query):
        words.extend(cut(run))
    return list(dict.fromkeys(words))


def stem(word: str) -> str:
    """A crude English stem, enough to match lexicon phrases against query words."""
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)].rstrip("e") if suffix in ("ing", "ed") else word[: -len(suffix)]
    return word.rstrip("e") if len(word) > 3 else word


@lru_cache(maxsize=1)
def _english_index() -> dict[tuple[str, ...], list[Concept]]:
    out: dict[tuple[str, ...], list[Concept]] = {}
    for concept in lexicon():
        for phrase in concept.en:
            key = tuple(stem(w) for w in _LATIN_WORD.findall(phrase))
            out.setdefault(key, []).append(concept)
    return out


def expand(query: str) -> tuple[list[str], list[str]]:
    """Other wordings of the query's lexicon terms: (Chinese terms, English phrases).

    An English phrase in the query brings its concept's Chinese terms; a
    Chinese term brings the English phrases and its Chinese variants (删库
    finds 删除数据库). Terms already in the query are left out.
    """
    from_zh = [c for run in CJK_RUN.findall(query) for c in lexicon() if any(t in run for t in c.zh)]
    stems = [stem(w) for w in _LATIN_WORD.findall(CJK_RUN.sub(" ", query)) if w.lower() not in STOPWORDS]
    index = _english_index()
    grams = {tuple(stems[i:i + n]) for n in {len(key) for key in index if key} for i in range(len(stems) - n + 1)}
    from_en = [c for key, found in index.items() if key in grams for c in found]
    lowered = query.lower()
    zh = dict.fromkeys(t for c in from_zh + from_en for t in c.zh if t not in query)
    en = dict.fromkeys(p for c in from_zh for p in c.en if p.lower() not in lowered)
    return list(zh), list(en)
