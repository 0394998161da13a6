"""The bilingual lexicon of this field (kb/data/lexicon.tsv): Chinese and English wordings of
one concept on each line (实习生 intern, 删库 wiped database, 商业秘密 trade secrets ...).

Segmentation keeps its Chinese terms whole; search expands queries with it and glosses
Chinese queries with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Function words: English ones are left out of query words; Chinese ones have no meaning in a
# gloss (把 "to hold", 被 "quilt") and no reason to show as found.
STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to was "
    "were which who with what when where how did do does about after before over under".split()
)
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
