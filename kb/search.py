"""The one search function behind the CLI and Datasette.

Hybrid search fuses two ranked lists of documents by a convex combination
of their min-max normalised scores (measured better than reciprocal rank
fusion on the labelled queries in tests/data, as Bruch et al. 2023 found):
keyword hits from FTS5 (a stemmed word index for alphabetic text, the
trigram index for Chinese and other CJK text, LIKE for CJK terms shorter
than three characters) and semantic hits from the FAISS index of chunk
vectors. Each document appears once; filters are applied in SQL.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from . import config
from . import vector_index as vindex
from .db import get_setting, open_db
from .errors import KBError
from .text import CJK_RUN as _CJK_RUN

MODES = ("hybrid", "semantic", "keyword")
SEMANTIC_WEIGHT = 0.5  # hybrid score = w * semantic + (1 - w) * keyword, each scaled to [0, 1]
POOL = 100  # candidates taken from each list before fusion
MAX_QUERY_CHARS = 2000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to was "
    "were which who with what when where how did do does about after before over under".split()
)


@dataclass
class Filters:
    kind: str | None = None
    source: str | None = None
    language: str | None = None
    since: str | None = None
    until: str | None = None

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

    def connect(self):
        """This thread's connection, opened (and the schema checked) once per thread."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.db_path, create=False)
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
            try:
                stat = self.index_path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            except FileNotFoundError:
                stamp = None
            if self._index is None or stamp != self._index_stamp:
                self._index = vindex.load(self.index_path)
                self._index_stamp = stamp
            return self._index

    def warm_up(self) -> None:
        """Load the model and index now (at startup) rather than on the first query."""
        db = self.connect()
        if get_setting(db, "embedding_model"):
            self.model(db)
            self.index()

    def search(self, query: str, k: int = 10, mode: str = "hybrid",
               filters: Filters | None = None) -> list[dict[str, Any]]:
        """Top-k documents for `query`, best first, each once."""
        query = check_query(query)
        if mode not in MODES:
            raise KBError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        if not 1 <= k <= 1000:
            raise KBError("k must be between 1 and 1000")
        filters = filters or Filters()
        db = self.connect()
        pool = max(POOL, k)
        keyword = semantic = None
        if mode in ("hybrid", "keyword"):
            keyword = keyword_hits(db, query, filters, pool)
        # With nothing embedded yet, hybrid degrades to keyword search.
        if mode == "semantic" or (mode == "hybrid" and get_setting(db, "embedding_model")):
            semantic = self.semantic_hits(db, query, filters, pool)
        scores, snippets = fuse(keyword, semantic)
        best = sorted(scores, key=lambda d: -scores[d])[:k]
        return _describe(db, best, scores, snippets)

    def semantic_hits(self, db, query: str, filters: Filters, pool: int) -> dict[int, tuple[float, str]]:
        """Documents by their best chunk's cosine similarity to the query."""
        from .embed import encode_query

        vector = encode_query(self.model(db), query)
        index = self.index()
        where, params = filters.sql()
        wanted = pool * 4
        while True:
            n = min(wanted, index.ntotal)
            if n == 0:
                return {}
            scores, ids = index.search(vector, n)
            found = {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}
            hits = _best_chunks(db, found, where, params)
            if len(hits) >= pool or n >= index.ntotal:
                return dict(list(hits.items())[:pool])
            wanted *= 4


@functools.cache
def one_thread_per_query() -> None:
    """Encode and search each query on one thread (process-wide, once).

    A query is too small to split: a second thread that waits for a busy core
    costs far more than it saves (on the shared 2-core machine, bench/query_latency.py:
    query encoding p50 1,030 ms with 2 torch threads vs 56 ms with 1; exact FAISS
    at 100k 170 ms vs 46 ms). Concurrent queries still use every core.
    """
    import faiss

    faiss.omp_set_num_threads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def fuse(keyword: dict | None, semantic: dict | None) -> tuple[dict[int, float], dict[int, str]]:
    """Combine {doc: (score, snippet)} lists; a single list keeps its own scores."""
    lists = [(hits, w) for hits, w in ((keyword, 1 - SEMANTIC_WEIGHT), (semantic, SEMANTIC_WEIGHT))
             if hits is not None]
    snippets: dict[int, str] = {}
    for hits, _ in lists:
        for doc_id, (_, snippet) in hits.items():
            snippets.setdefault(doc_id, snippet)
    if len(lists) == 1:
        return {d: s for d, (s, _) in lists[0][0].items()}, snippets
    scores: dict[int, float] = {}
    for hits, weight in lists:
        if not hits:
            continue
        values = [s for s, _ in hits.values()]
        low, span = min(values), (max(values) - min(values)) or 1.0
        for doc_id, (score, _) in hits.items():
            scores[doc_id] = scores.get(doc_id, 0.0) + weight * (score - low) / span
    return scores, snippets


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


def _best_chunks(db, found: dict[int, float], where: str, params: list) -> dict[int, tuple[float, str]]:
    if not found:
        return {}
    marks = ",".join("?" * len(found))
    rows = db.execute(
        f"SELECT c.id, c.document_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
        f"WHERE c.id IN ({marks}){where}", [*found, *params]).fetchall()
    best: dict[int, tuple[float, str]] = {}
    for chunk_id, doc_id, text in rows:
        score = found[chunk_id]
        if doc_id not in best or score > best[doc_id][0]:
            best[doc_id] = (score, text)
    ordered = sorted(best.items(), key=lambda item: -item[1][0])
    return {doc_id: (score, _passage_snippet(text)) for doc_id, (score, text) in ordered}


def _passage_snippet(chunk_text: str, size: int = 240) -> str:
    body = chunk_text.split("\n", 1)[-1]
    return body if len(body) <= size else body[:size].rsplit(" ", 1)[0] + "…"


def keyword_hits(db, query: str, filters: Filters, pool: int) -> dict[int, tuple[float, str]]:
    """Documents by BM25 over the word index and the trigram index (CJK), best first."""
    where, params = filters.sql()
    hits: dict[int, tuple[float, str]] = {}
    words = [w for w in _WORD.findall(_CJK_RUN.sub(" ", query)) if w.lower() not in _STOPWORDS]
    if words:
        match = " OR ".join('"' + w.replace('"', "") + '"' for w in dict.fromkeys(words))
        rows = db.execute(
            "SELECT d.id, -bm25(documents_words, 4.0, 1.0), "
            "snippet(documents_words, 1, '', '', '…', 32) "
            "FROM documents_words JOIN documents d ON d.id = documents_words.rowid "
            f"WHERE documents_words MATCH ?{where} ORDER BY bm25(documents_words, 4.0, 1.0) LIMIT ?",
            [match, *params, pool]).fetchall()
        hits.update((d, (s, snip)) for d, s, snip in rows)
    runs = _CJK_RUN.findall(query)
    grams = [g for run in runs for g in _trigrams(run)]
    if grams:
        match = " OR ".join(f'"{g}"' for g in dict.fromkeys(grams))
        rows = db.execute(
            "SELECT d.id, -bm25(documents_fts, 2.0, 1.0), snippet(documents_fts, 1, '', '', '…', 24) "
            "FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid "
            f"WHERE documents_fts MATCH ?{where} ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT ?",
            [match, *params, pool]).fetchall()
        _merge(hits, rows)
    short = [run for run in runs if len(run) < 3]
    if short:
        rows = _like_hits(db, short, where, params, pool)
        _merge(hits, rows)
    return dict(sorted(hits.items(), key=lambda item: -item[1][0])[:pool])


def _merge(hits: dict, rows) -> None:
    """Add rows to hits; a document found by both indexes adds its scores."""
    for doc_id, score, snippet in rows:
        if doc_id in hits:
            hits[doc_id] = (hits[doc_id][0] + score, hits[doc_id][1])
        else:
            hits[doc_id] = (score, snippet)


def _trigrams(run: str) -> list[str]:
    return [run] if len(run) <= 3 else [run[i:i + 3] for i in range(len(run) - 2)]


def _like_hits(db, terms: list[str], where: str, params: list, pool: int):
    """CJK terms under three characters, which the trigram index cannot match."""
    score = " + ".join("(instr(d.title, ?) > 0) * 2 + (instr(d.text, ?) > 0)" for _ in terms)
    cond = " OR ".join("d.title LIKE ? OR d.text LIKE ?" for _ in terms)
    args = [t for term in terms for t in (term, term)]
    likes = [f"%{t}%" for term in terms for t in (term, term)]
    rows = db.execute(
        f"SELECT d.id, ({score}) AS s, substr(d.text, max(1, instr(d.text, ?) - 40), 160) "
        f"FROM documents d WHERE ({cond}){where} ORDER BY s DESC, d.id LIMIT ?",
        [*args, terms[0], *likes, *params, pool]).fetchall()
    return rows


def _describe(db, doc_ids: list[int], scores: dict[int, float], snippets: dict) -> list[dict[str, Any]]:
    if not doc_ids:
        return []
    marks = ",".join("?" * len(doc_ids))
    rows = {r[0]: r for r in db.execute(
        "SELECT d.id, d.source, d.external_id, d.url, d.title, d.published, d.kind, d.language, "
        "(SELECT l.incident_id FROM incident_documents l WHERE l.document_id = d.id "
        " ORDER BY l.confidence DESC, l.incident_id LIMIT 1), substr(d.text, 1, 240) "
        f"FROM documents d WHERE d.id IN ({marks})", doc_ids)}
    results = []
    for rank, doc_id in enumerate(doc_ids, start=1):
        r = rows[doc_id]
        results.append({
            "rank": rank, "score": round(float(scores[doc_id]), 6), "document_id": doc_id,
            "source": r[1], "external_id": r[2], "url": r[3], "title": r[4], "published": r[5],
            "kind": r[6], "language": r[7], "incident_id": r[8],
            "snippet": snippets.get(doc_id) or r[9],
        })
    return results


_searchers: dict[Path, Searcher] = {}


def get_searcher(db_path: str | Path, device: str = "auto") -> Searcher:
    """One Searcher per database per process, so model and index load once."""
    path = Path(db_path).resolve()
    if path not in _searchers:
        _searchers[path] = Searcher(path, device=device)
    return _searchers[path]


def search(db_path: str | Path, query: str, k: int = 10, mode: str = "hybrid",
           filters: Filters | None = None) -> list[dict[str, Any]]:
    """Search the knowledge base at `db_path` (the entry point for CLI and Datasette)."""
    return get_searcher(db_path).search(query, k=k, mode=mode, filters=filters)
