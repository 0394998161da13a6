"""Whether a document matches a query watch, on absolute measures (a watch sees a few new
documents, not a ranking of the corpus): the share of the query's words it holds, and the
similarity of its best passage to the query.

The defaults come from bench/watch_floor.py: 165 labelled queries (tests/data, English and both
cross-language sets), each scored against its right document and 300 others from all VCDB records
and the curated set. The pair kept is the one letting the most right documents through while
letting through at most 0.5% of the others (one false match per 200 new documents, per watch):
0.75 of the query's words or a passage similarity of 0.87 passes 0.58 of the right documents and
0.39% of the others (hybrid); each alone, 0.32 / 0.28% (keyword) and 0.54 / 0.15% (semantic).
The old hand-set 0.5 / 0.86 let through 1.9% / 0.5% of the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..search.present import found_terms
from ..search.query import Query, query_words

FLOOR = 0.75  # share of the query's words
MIN_SIMILARITY = 0.87  # multilingual-e5-small passage similarity
GLOSS_WORTH = 0.5  # a gloss word found counts as half a query word: glosses are word by word


@dataclass
class Relevance:
    terms: list[str]
    share: float
    semantic: float | None

    def reason(self, passed: str) -> dict:
        return {"terms": self.terms, "share": round(self.share, 3),
                "semantic": None if self.semantic is None else round(self.semantic, 4), "passed": passed}


def share_found(query: Query, title: str | None, text: str | None) -> tuple[list[str], float]:
    """(terms found, share of the query's words they stand for, at most 1).

    A query word counts when found as written or through a lexicon wording (either language);
    a Chinese query's gloss words count GLOSS_WORTH each."""
    terms = query.match_terms()
    own = [t for t in query.terms if t in terms]
    gloss = set(query_words(query.english)) - set(own) if query.english else set()
    found = found_terms(terms, title, text)
    worth = sum(GLOSS_WORTH if t in gloss else 1.0 for t in found)
    return found, min(1.0, worth / max(len(own), 1))


def passes(rel: Relevance, keyword: bool, vectors: bool, floor: float, min_similarity: float) -> str | None:
    """What made it a match ("terms" or "similarity"), or None: each measure its mode uses, at its floor."""
    if keyword and rel.share >= floor:
        return "terms"
    if vectors and rel.semantic is not None and rel.semantic >= min_similarity:
        return "similarity"
    return None
