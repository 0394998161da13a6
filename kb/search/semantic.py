"""Semantic hits: the FAISS index of passage vectors (kb.index.vector_index), a document scored
by its best passage, searched and standardised within each document language.

multilingual-e5 rates any text in the query's language above the right answer
in the other one, so each document language is searched on its own (a FAISS id
selector) and a document's similarity becomes a z-score against the language's
background: the query's similarities to an even sample of the language's
passages (BACKGROUND of them). A Chinese query's English gloss adds its own
similarities for documents that are not Chinese.

Passages are grouped by their own language: a Chinese document's derived
English passages (kb.index.chunks) are English. A query reads each document in
one language: its own language when the document is in it or has derived
passages in it, else the document's. So an English query reads a Chinese
document through its English passages, on the same scale as English documents
(a language apart puts its best document near the top of any query: z-scores
over a handful of documents), and a Chinese query reads it in Chinese.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .. import settings
from ..index import vector_index as vindex
from ..index.chunks import languages_of_embedded
from .filters import Filters
from .state import chunk_documents, per_filter, rendered

# Passages of each language whose similarities to the query are its background. Against the top
# 50 documents of the language instead (kb.search.fusion.LANGUAGE_POOL), a language of a few
# dozen documents, none about the query, put its best one above the right answer in a language
# of thousands: a big language's head is all near matches, a small language's is most of it
# (Chinese->English on all VCDB without twins, hit@5 0.723 -> 0.787; on the demo, by incident,
# recall 0.809 -> 0.851).
BACKGROUND = 512


class Vectors:
    """The vector index of one database, re-read when its file changes, and the per-language
    searches over it."""

    def __init__(self, index_path: Path):
        self.path = index_path
        self._index = None
        self._stamp = None
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def index(self, db):
        """The FAISS index, re-read (and checked against the database, kb.index.vector_index.problem)
        when the file on disk changed (e.g. after a cron update)."""
        with self._lock:
            stamp = settings.file_stamp(self.path)
            if self._index is None or stamp != self._stamp:
                try:
                    self._index = vindex.load(self.path, db)
                except vindex.Unusable as exc:  # kept until the file changes: not re-read per query
                    self._index = exc
                self._stamp = stamp
            if isinstance(self._index, vindex.Unusable):
                raise self._index.with_traceback(None)  # a fresh traceback each time
            return self._index

    def hits(self, db, vectors, filters: Filters, pool: int,
             language: str = "en") -> dict[int, tuple[float, int, float]]:
        """Documents by their best chunk's similarity, standardised within each language of passages:
        {doc: (score, chunk, cosine similarity)}, best first.

        `vectors`: the query's vector, then (for a Chinese query) its English
        gloss's: documents that are not Chinese score the mean of the two z-scores.

        multilingual-e5 rates any text in the query's own language above the right
        answer in the other language, so one ranking rarely crosses languages.
        Each document language is searched on its own (a FAISS id selector) and a
        document's similarity becomes a z-score against its language's background
        (BACKGROUND): a Chinese and an English document compete on how far each
        stands above the passages of its language. With one language this keeps
        the plain order.
        Each document is read in one language (see the module's docstring):
        in a language of passages other than the query's, documents with derived
        passages in the query's language or in that one are left out.
        """
        vectors = vectors.reshape(-1, vectors.shape[-1])
        out: dict[int, tuple[float, int, float]] = {}
        derived = rendered(db)
        where, params = filters.sql()
        whole = self.index(db)
        backgrounds = self.backgrounds(db, whole)
        for passages, index, selector in self.searches(db, whole, where, params):
            background = backgrounds[passages]
            elsewhere = frozenset() if passages == language else (
                derived.get(language, frozenset()) | derived.get(passages, frozenset()))
            lists = [_standardised(_without(_nearest(db, index, vector[None, :], pool, selector),
                                            elsewhere), background @ vector)
                     for vector in (vectors if passages != "zh" else vectors[:1])]
            out.update(lists[0] if len(lists) == 1 else _mean(lists))
        return dict(sorted(out.items(), key=lambda item: -item[1][0])[:pool])

    def searches(self, db, index, where: str, params) -> list[tuple[str | None, Any, Any]]:
        """(language, index, id selector or None) to search for each language of passages in
        `index` (the database's), of the documents that meet `where` (kb.search.filters.Filters.sql; all when empty); kept by the
        connection until the index or the database changes (a default search's scope filter
        must not rebuild them per query).

        An exact index (flat) is searched with a selector of the language's
        chunks. An approximate one (HNSW, IVF) can miss a small language's
        chunks under a selector, so a language of at most FLAT_LIMIT chunks
        gets its own exact index, built from the stored vectors.
        """
        exact = vindex.kind_of(index) == "flat"
        return per_filter(db, "vector_searches", index, where, params, lambda: [
            (language, index, vindex.selector(ids)) if exact or len(ids) > vindex.FLAT_LIMIT
            else (language, vindex.exact_subset(db, ids), None)
            for language, ids in languages_of_embedded(db, where, params).items()])

    def backgrounds(self, db, index) -> dict:
        """{language of passages: the stored vectors of an even sample of its passages (at most
        BACKGROUND)}, of every document whatever a search's filters; kept like `searches`."""
        def sample(ids: list[int]):
            return vindex.stored_vectors(db, ids[::max(1, len(ids) // BACKGROUND)][:BACKGROUND])

        return per_filter(db, "vector_backgrounds", index, "", (), lambda: {
            language: sample(ids) for language, ids in languages_of_embedded(db).items()})


def _without(hits: dict, documents: frozenset) -> dict:
    return {d: hit for d, hit in hits.items() if d not in documents} if documents else hits


def _standardised(hits: dict, background) -> dict[int, tuple[float, int, float]]:
    """{doc: (z-score, chunk, similarity)} from {doc: (similarity, chunk)}: each similarity against
    the mean and spread of the query's similarities to its language's background."""
    mean, spread = float(background.mean()), max(float(background.std()), 1e-3)
    return {d: ((hit[0] - mean) / spread, hit[1], hit[0]) for d, hit in hits.items()}


def _mean(lists: list[dict]) -> dict[int, tuple[float, int, float]]:
    """{doc: (mean of its z-scores, chunk, similarity)}, best first, from several standardised lists:
    a document missing from a list counts that list's lowest score; chunk and similarity come
    from the first list that holds it."""
    floors = [min(hit[0] for hit in hits.values()) if hits else 0.0 for hits in lists]
    first: dict[int, tuple] = {}
    for hits in lists:
        for doc_id, hit in hits.items():
            first.setdefault(doc_id, hit)
    mean = {d: (sum(hits[d][0] if d in hits else floor for hits, floor in zip(lists, floors)) / len(lists), *hit[1:])
            for d, hit in first.items()}
    return dict(sorted(mean.items(), key=lambda item: -item[1][0]))


def _nearest(db, index, vector, pool: int, selector) -> dict[int, tuple[float, int]]:
    """The `pool` documents nearest the vector among the selector's chunks: {doc: (similarity, chunk)}."""
    wanted = pool * 4
    while True:
        n = min(wanted, index.ntotal)
        if n == 0:
            return {}
        scores, ids = vindex.search(index, vector, n, selector)
        found = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
        hits = _best_chunks(db, found)
        if len(hits) >= pool or n >= index.ntotal or len(found) < n:
            return dict(list(hits.items())[:pool])
        wanted *= 4


def _best_chunks(db, found: dict[int, float]) -> dict[int, tuple[float, int]]:
    """{document: (score, chunk)} of each document's best chunk among `found`, best first."""
    import numpy as np

    if not found:
        return {}
    # from memory: the SQL was 1-1.5 ms a call at 100k passages
    documents = chunk_documents(db)
    chunks = np.fromiter(found, dtype=np.int64, count=len(found))
    docs = np.full(len(chunks), -1, dtype=np.int64)
    known = chunks < len(documents)
    docs[known] = documents[chunks[known]]
    rows = [(c, d) for c, d in zip(chunks.tolist(), docs.tolist()) if d >= 0]
    best: dict[int, tuple[float, int]] = {}
    for chunk_id, doc_id in rows:
        score = found[chunk_id]
        if doc_id not in best or score > best[doc_id][0]:
            best[doc_id] = (score, chunk_id)
    return dict(sorted(best.items(), key=lambda item: -item[1][0]))
