"""Chinese words: segmentation for the word index and for queries.

Chinese has no spaces, so the word index (FTS5 `unicode61`) would see a whole
run of Chinese as one token. `segment` splits Han runs into words with jieba
(the Rust port, rjieba), keeping the lexicon's terms whole, so BM25 weighs
删库 by how rare it is.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from .lexicon import lexicon
from .scripts import HAN, HAN_RUN

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _segmenter():
    import rjieba

    jieba = rjieba.Jieba()
    for concept in lexicon():
        for term in concept.zh:
            # Only terms jieba would shred into single characters (删库 -> 删 库) are added:
            # a longer word such as 删除数据库 stays 删除 数据库, so 数据库 still finds it.
            if HAN_RUN.fullmatch(term) and all(len(w) == 1 for w in jieba.cut(term, False)):
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
    if not text or not HAN_RUN.search(text):
        return None
    return HAN_RUN.sub(lambda m: " " + " ".join(_cut_for_index(m.group(0))) + " ", text)


def tokens(term: str) -> list[str]:
    """A term's words in order: Chinese cut as in queries, other text split on spaces."""
    out = []
    for piece in re.split(f"([{HAN}]+)", term):
        out.extend(cut(piece) if HAN_RUN.fullmatch(piece) else piece.split())
    return out
