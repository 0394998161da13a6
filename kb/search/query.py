"""What a query says: its words, their other wordings in the lexicon, and its English gloss.

    analysed = analyse("删库 实习生")
    analysed.terms          # ['删库', '实习生']: Latin words without stopwords, Chinese cut into words
    analysed.expansions     # (Chinese terms, English phrases) of the lexicon's concepts it names
    analysed.english        # a Chinese query's word-by-word English (kb.search.gloss), else None
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..text.lexicon import STOPWORDS, ZH_STOPWORDS, Concept, lexicon
from ..text.scripts import HAN_RUN
from ..text.segment import cut
from . import gloss

_LATIN_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Query:
    """A query read once for every stage of a search."""

    text: str
    terms: list[str]
    expansions: tuple[list[str], list[str]]
    english: str | None

    @property
    def chinese(self) -> bool:
        return bool(HAN_RUN.search(self.text))

    def match_terms(self) -> list[str]:
        """Every wording a hit may show as found: its words, their lexicon wordings, the gloss's words."""
        out = [t for t in self.terms if t not in ZH_STOPWORDS]
        out += [t for group in self.expansions for t in group]
        return out + (query_words(self.english) if self.english else [])


def analyse(text: str) -> Query:
    """The words, lexicon wordings and English gloss of a (checked) query."""
    return Query(text, query_words(text), expand(text), gloss.gloss(text))


def query_words(query: str) -> list[str]:
    """The distinct words of a query: Latin words without stopwords, Chinese words segmented."""
    words = [w for w in _LATIN_WORD.findall(HAN_RUN.sub(" ", query)) if w.lower() not in STOPWORDS]
    for run in HAN_RUN.findall(query):
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
def _english_index() -> tuple[dict[tuple[str, ...], list[Concept]], tuple[int, ...]]:
    """The lexicon's concepts by the stems of their English phrases, and the phrases' lengths."""
    out: dict[tuple[str, ...], list[Concept]] = {}
    for concept in lexicon():
        for phrase in concept.en:
            key = tuple(stem(w) for w in _LATIN_WORD.findall(phrase))
            if key:
                out.setdefault(key, []).append(concept)
    return out, tuple(sorted({len(key) for key in out}))


def expand(query: str) -> tuple[list[str], list[str]]:
    """Other wordings of the query's lexicon terms: (Chinese terms, English phrases).

    An English phrase in the query brings its concept's Chinese terms and its
    other English phrases (fired finds dismissed and terminated); a Chinese term
    brings the English phrases and its Chinese variants (删库 finds 删除数据库).
    Terms already in the query are left out.
    """
    # every Chinese term holds a Chinese character; U盘 and AI模型 span two scripts
    from_zh = [c for c in lexicon() if any(t in query for t in c.zh)] if HAN_RUN.search(query) else []
    stems = [stem(w) for w in _LATIN_WORD.findall(HAN_RUN.sub(" ", query)) if w.lower() not in STOPWORDS]
    index, lengths = _english_index()
    grams = {tuple(stems[i:i + n]) for n in lengths for i in range(len(stems) - n + 1)}
    from_en = [c for key in sorted(grams & index.keys(), key=list(index).index) for c in index[key]]
    lowered = query.lower()
    zh = dict.fromkeys(t for c in from_zh + from_en for t in c.zh if t not in query)
    en = dict.fromkeys(p for c in from_zh + from_en for p in c.en if p.lower() not in lowered)
    return list(zh), list(en)
