"""The one search function behind the CLI, Datasette and Python: `Searcher.search`.

A search reads the query once (kb.search.query: its words, their lexicon
wordings, a Chinese query's English gloss), lets its mode (kb.search.modes)
rank documents from the keyword hits (kb.search.keyword) and the semantic hits
(kb.search.semantic), fused (kb.search.fusion), then describes the best of them
(kb.search.present): incidents by default (`by="incident"`), each with its
best matching documents in every language, or documents (`by="document"`).
Every hit says why it matched: the query terms found, its best passage and
that passage's similarity. Filters (on documents and their incidents) choose what
each stage ranks, before it ranks (kb.search.filters).

A Chinese query also gets an English gloss: its words join the keyword hits
and its vector the semantic hits of documents that are not Chinese, where the
Chinese vector alone finds little (Chinese->English recall@10 on the demo 0.45
-> 0.85). Semantic and fused scores are z-scores within each document
language: the best Chinese and the best English document compete on how far
each stands above the rest of its language (Chinese->English recall@10 0.13
-> 0.85, English->Chinese hit@5 0.58 -> 0.91, English queries unchanged).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .. import settings
from ..errors import KBError, NotReady
from ..index.embed import Coverage, coverage
from ..index.encoders import clip_query
from ..storage import files
from ..index.words import passage_index, word_index
from ..storage.db import get_setting, open_db
from ..text.segment import segment
from . import gloss, modes, present
from .filters import Filters, check_by, check_k, check_query
from .hits import Results
from .keyword import keyword_hits
from .query import Query, analyse
from .semantic import Vectors
from .state import connection_state, rendered
from .threads import is_worker, one_thread_per_query, worker_thread

POOL = 100  # candidates taken from each list before fusion
VECTOR_CACHE = 1024  # query vectors kept (repeated queries skip the model)
WORKERS = max(2, settings.cores())  # threads per Searcher for vector search and batches (see _workers)


class Stages:
    """What a mode ranks one search from: keyword and semantic hits, each computed at most once."""

    def __init__(self, searcher: "Searcher", db, query: Query, filters: Filters, pool: int, vector=None):
        self.searcher, self.db, self.query, self.filters, self.pool = searcher, db, query, filters, pool
        self.embedded = bool(get_setting(db, "embedding_model"))
        self.index_path = searcher.index_path
        self.ready = self.embedded and searcher.vectors.exists()  # embedded and indexed
        self.warnings: list[str] = []
        self._vector = vector
        self._keyword: dict | None = None
        self._semantic: dict | None = None
        self.language = "zh" if query.chinese else "en"  # the language the query reads documents in

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def keyword(self) -> dict[int, tuple[float, str]]:
        """{document: (score, snippet)} by BM25 and the lexicon, best first."""
        if self._keyword is None:
            self._keyword = keyword_hits(self.db, self.query, self.filters, self.pool)
        return self._keyword

    def semantic(self) -> dict[int, tuple[float, int, float]]:
        """{document: (score, best chunk, similarity)} by passage vectors, best first, on this thread."""
        if self._semantic is None:
            self._semantic = self.searcher.vector_hits(self.vector(), self.filters, self.pool, self.language)
        return self._semantic

    def semantic_soon(self) -> Callable[[], dict[int, tuple[float, int, float]]]:
        """Begin the semantic hits: the query is encoded now, on every core no other query is
        encoding on (kb.index.encoders), then FAISS runs on a worker thread (here, when this is
        one). Returns the function that waits for the hits."""
        if self._semantic is not None:
            return lambda: self._semantic
        vector = self.vector()
        if is_worker():
            self._semantic = self.searcher.vector_hits(vector, self.filters, self.pool, self.language)
            return lambda: self._semantic
        job = self.searcher.workers().submit(self.searcher.vector_hits, vector, self.filters, self.pool,
                                            self.language)

        def wait():
            self._semantic = job.result()
            return self._semantic

        return wait

    def coverage(self) -> Coverage:
        """How much of the database has vectors (counted again when it changes) and whether an
        embedding run is on now."""
        state = connection_state(self.db)
        if "coverage" not in state:
            state["coverage"] = coverage(self.db)
        return replace(state["coverage"], running=files.held(self.searcher.index_lock))

    def vector(self):
        """The query's vector, and its English gloss's as a second row when it has Chinese."""
        if self._vector is None:
            query = self.query
            self._vector = self.searcher.query_vectors([query.text, query.english] if query.english
                                                       else [query.text])
        return self._vector


class Searcher:
    """Search over one database; loads the model once and reloads the index when its file changes."""

    def __init__(self, db_path: str | Path, model=None, device: str = "auto"):
        self.db_path = Path(db_path)
        self.index_path = settings.paths(self.db_path).index
        self.index_lock = settings.paths(self.db_path).index_lock
        self.vectors = Vectors(self.index_path)
        self.device = device
        self._model = model
        self._lock = threading.Lock()
        self._local = threading.local()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._pool = None  # see workers()

    def connect(self):
        """This thread's connection, opened (and the schema checked) once per thread."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.db_path, readonly=True)
            # Searches read chunks, documents and incidents at random: keep their pages in memory
            # (with SQLite's default 2 MB cache a warm search took 27 ms here, with this 17 ms).
            db.execute("PRAGMA cache_size = -65536")
            db.execute("PRAGMA mmap_size = 268435456")
        return db

    def model(self, db):
        with self._lock:
            if self._model is None:
                from ..index.encoders import load_encoder

                name = get_setting(db, "embedding_model")
                if not name:
                    raise NotReady("nothing is embedded yet: run `kb embed` for semantic search")
                self._model = load_encoder(name, self.device)
            one_thread_per_query()
            return self._model

    def warm_up(self) -> None:
        """Load the model, indexes, segmenter and dictionary now (at startup) rather than on the first query."""
        db = self.connect()
        word_index(db)  # read from its file, or built once for the documents
        if rendered(db):
            passage_index(db)  # likewise for the passages, which English queries read renderings from
        segment("预热")
        gloss.gloss("预热")  # reads the dictionary (about 0.6 s, 28 MiB)
        if get_setting(db, "embedding_model"):
            self.model(db)
            self.vectors.index(db)

    def query_vectors(self, queries: list[str]):
        """Vectors of the queries, batched through the model; repeated queries come from a cache."""
        import numpy as np

        missing = list(dict.fromkeys(q for q in queries if q not in self._cache))
        if missing:
            encoded = self._encode(missing)
            with self._lock:
                for query, vector in zip(missing, encoded):
                    self._cache[query] = vector
                    while len(self._cache) > VECTOR_CACHE:
                        self._cache.popitem(last=False)
        with self._lock:
            found = [self._cache.get(q) for q in queries]
        if any(v is None for v in found):  # evicted meanwhile by other threads: encode again
            return np.vstack([v if v is not None else self._encode([q])[0] for q, v in zip(queries, found)])
        return np.vstack(found)

    def _encode(self, queries: list[str]):
        """The model's vectors of these queries, each read up to its first QUERY_TOKENS tokens."""
        model = self.model(self.connect())
        return model.encode_queries([clip_query(model, q) for q in queries])

    def search(self, query: str, k: int = 10, mode: str = modes.DEFAULT, filters: Filters | None = None,
               by: str = "incident", vector=None) -> Results:
        """Top-k incidents (or documents, `by="document"`) for `query`, best first.

        `vector` is the query's vector when the caller already encoded it
        (see `search_many`): its row, and a second row for its English gloss
        when it has Chinese. Hybrid search without a vector index answers
        from the keyword index and says so in `warnings`.
        """
        text = check_query(query)
        k = check_k(k)
        ranker = modes.get(mode)
        check_by(by)
        filters = filters or Filters()
        db = self.connect()
        analysed = analyse(text)
        stages = Stages(self, db, analysed, filters, max(POOL, 3 * k), vector)
        scores = ranker.rank(stages)
        ranked = sorted(scores, key=lambda d: -scores[d])
        semantic = stages._semantic or {}
        similarity = {d: hit[2] for d, hit in semantic.items()}
        best_chunk = {d: hit[1] for d, hit in semantic.items()}
        terms = analysed.match_terms()
        if by == "document":
            hits = present.documents(db, ranked[:k], scores, similarity, best_chunk, terms)
        else:
            hits = present.incidents(db, ranked, k, scores, similarity, best_chunk, terms, filters)
        covered = stages.coverage() if ranker.uses_vectors(True) else None
        if covered is None or covered.complete:
            return Results(text, mode, by, hits, stages.warnings)
        return Results(text, mode, by, hits, [covered.notice(), *stages.warnings], covered.to_dict())

    def vector_hits(self, vector, filters: Filters, pool: int, language: str = "en") -> dict:
        """Semantic hits of the query's vectors (see Stages.semantic_soon) on this thread's connection;
        `language`: the one the query reads documents in (zh for a Chinese query, else en)."""
        one_thread_per_query()
        return self.vectors.hits(self.connect(), vector, filters, pool, language)

    def vectors_with_glosses(self, queries: list[str]) -> dict[str, Any]:
        """{query: its vector, and its English gloss's as a second row when it has Chinese}, in one batch."""
        import numpy as np

        english = {q: gloss.gloss(q) for q in queries}
        texts = list(dict.fromkeys([*queries, *(e for e in english.values() if e)]))
        found = dict(zip(texts, self.query_vectors(texts)))
        return {q: np.vstack([found[q], *([found[english[q]]] if english[q] else [])]) for q in queries}

    def workers(self) -> ThreadPoolExecutor:
        """Threads for the vector half of hybrid queries and for search_many.

        A hybrid query is encoded first, on every free core (at 100k passages,
        encoding on two threads beside the keyword stage on a third took 28 ms,
        as long as on one thread); then a worker searches FAISS while the query's
        own thread ranks keywords: FAISS and SQLite release the GIL, so on two
        free cores that takes the longer of the two, not their sum. A search
        running on a worker does everything itself (no worker waits on another).
        """
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, "kb-search", initializer=worker_thread)
            return self._pool

    def search_many(self, queries: Iterable[str], k: int = 10, mode: str = modes.DEFAULT,
                    filters: Filters | None = None, by: str = "incident",
                    batch: int = 64) -> Iterator[tuple[str, Results | None, str | None]]:
        """(query, results, error) for each query, in order.

        Each batch is split over the worker threads: each encodes its share of
        the queries in one model call, then searches them one by one, so the
        cores work on different queries at once.
        """
        queries = [q.strip() for q in queries if q.strip()]
        db = self.connect()
        ready = bool(get_setting(db, "embedding_model")) and self.vectors.exists()
        needs_vectors = modes.get(mode).uses_vectors(ready)
        workers = self.workers()
        for start in range(0, len(queries), batch):
            part = queries[start:start + batch]
            size = -(-len(part) // WORKERS)
            shares = [part[i:i + size] for i in range(0, len(part), size)]
            for answers in workers.map(lambda share: self._search_share(share, k, mode, filters, by, needs_vectors),
                                       shares):
                yield from answers

    def _search_share(self, queries: list[str], k: int, mode: str, filters: Filters | None, by: str,
                      needs_vectors: bool) -> list[tuple[str, Results | None, str | None]]:
        """search_many's work on one thread: the queries' vectors in one batch, then each search."""
        valid = []
        for q in queries:
            try:
                valid.append(check_query(q))
            except KBError:
                pass
        vectors = self.vectors_with_glosses(valid) if needs_vectors and valid else {}
        out = []
        for q in queries:
            try:
                out.append((q, self.search(q, k, mode, filters, by, vector=vectors.get(q)), None))
            except KBError as exc:
                out.append((q, None, str(exc)))
        return out


# --- one Searcher per database per process ---------------------------------

_searchers: dict[Path, Searcher] = {}
_searchers_lock = threading.Lock()


def get_searcher(db_path: str | Path, device: str = "auto") -> Searcher:
    """One Searcher per database per process, so model and index load once."""
    path = Path(db_path).resolve()
    with _searchers_lock:
        if path not in _searchers:
            _searchers[path] = Searcher(path, device=device)
        return _searchers[path]
