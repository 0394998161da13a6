"""English glosses of Chinese queries, so that a Chinese question finds English documents.

multilingual-e5 matches a Chinese question with an English record far less
well than two texts in one language: on the demo's 4,000 English VCDB records
the hand-translated questions of tests/data/crosslingual_zh_en.tsv found their
record in the top ten 55% of the time, searching English documents only. A
word-by-word English gloss of the question (kb.text.translate: the field
lexicon's wording and the organisation aliases, else the first sense in
CC-CEDICT) is a second, English query: search adds its vector and its words
for documents that are not Chinese (85%, bench/relevance.py). Chinese
documents get the same rendering as derived passages (kb.index.chunks).
"""

from __future__ import annotations

from functools import lru_cache

from ..text.translate import english


@lru_cache(maxsize=4096)  # a batch (search_many) glosses each query twice: for its vectors, then its search
def gloss(query: str) -> str | None:
    """An English word-by-word rendering of the query's Chinese, Latin words kept; None without Chinese."""
    return english(query)
