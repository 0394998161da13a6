"""kb search against well-known engines on the same passages, vectors and labelled queries.

Usage: nice .venv/bin/python bench/peers.py [DB] [--only NAME,...]
DB: an embedded knowledge base (default db/kb.db; `make demo` builds one). The peers are optional
bench dependencies (`pip install -e '.[bench]'`: tantivy, bm25s, sqlite-vec with apsw, lancedb); a missing
one is skipped with a line saying so.

Every system indexes the same passages (the database's chunks, with their stored vectors) and
answers the held-out English queries of tests/data (vcdb_queries*.tsv), each naming the document
it is about; a system's answer is its top 10 documents (a document by its best passage), scored
by recall@10 and MRR@10. Times are retrieval per query, one query at a time, the query's vector
computed beforehand for every system alike (query encoding excluded):

- kb keyword / semantic / hybrid: `Searcher.search(..., by="document")` (kb.search), hits
  described (snippets, terms found); and the keyword stage alone (kb.search.keyword: ranked ids,
  as the BM25 engines give), which indexes whole documents rather than passages
- SQLite FTS5 + sqlite-vec, reciprocal rank fusion (k 60) of the two top 50 (the SQLite recipe)
- LanceDB hybrid: its full-text index and vector search with its RRF reranker
- tantivy (BM25, English stemming), bm25s (BM25, English stopwords)
- FAISS flat inner product alone
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kb.search.evaluate import read_labelled
from kb.search.filters import Filters
from kb.search.keyword import keyword_hits
from kb.search.query import analyse
from kb.search.searcher import Searcher
from kb.storage.db import open_db

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
QUERY_FILES = ("vcdb_queries.tsv", "vcdb_queries_validation.tsv")
K, POOL, RRF_K = 10, 50, 60
_WORD = re.compile(r"[^\W_]+")


class Corpus:
    """The passages (chunks with a vector) of a database: text, document external id, vector."""

    def __init__(self, db_path: Path):
        db = open_db(db_path, readonly=True)
        rows = db.execute("SELECT c.id, lower(d.external_id), c.text, c.embedding FROM chunks c "
                          "JOIN documents d ON d.id = c.document_id WHERE c.embedding IS NOT NULL ORDER BY c.id").fetchall()
        self.docs = [r[1] for r in rows]
        self.texts = [r[2] for r in rows]
        self.vectors = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])

    def top_documents(self, passages) -> list[str]:
        """The first K distinct documents of passage indexes, best first."""
        out: list[str] = []
        for p in passages:
            doc = self.docs[int(p)]
            if doc not in out:
                out.append(doc)
                if len(out) == K:
                    break
        return out


def words(text: str) -> str:
    """A query as plain words, for engines with a query syntax."""
    return " ".join(_WORD.findall(text))


def kb_systems(searcher: Searcher) -> dict:
    def mode(name):
        return lambda query, vector: [h.external_id.lower() for h in searcher.search(
            query, k=K, mode=name, by="document", vector=vector).hits]
    db = searcher.connect()
    external = dict(db.execute("SELECT id, lower(external_id) FROM documents"))

    def keyword_stage(query, vector):  # what tantivy and bm25s are compared with: ranked ids, no hits described
        return [external[d] for d in list(keyword_hits(db, analyse(query), Filters(), POOL))[:K]]
    return {"kb hybrid (by document)": mode("hybrid"), "kb keyword alone": mode("keyword"),
            "kb keyword stage only (ids)": keyword_stage, "kb semantic alone": mode("semantic")}


def faiss_flat(corpus: Corpus):
    import faiss

    index = faiss.IndexFlatIP(corpus.vectors.shape[1])
    index.add(corpus.vectors)
    return lambda query, vector: corpus.top_documents(index.search(vector[:1], POOL)[1][0])


def tantivy_bm25(corpus: Corpus):
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    builder.add_unsigned_field("passage", stored=True)
    index = tantivy.Index(builder.build())
    writer = index.writer()
    for i, text in enumerate(corpus.texts):
        writer.add_document(tantivy.Document(text=text, passage=i))
    writer.commit()
    index.reload()
    searcher = index.searcher()

    def search(query, vector):
        hits = searcher.search(index.parse_query(words(query), ["text"]), POOL).hits
        return corpus.top_documents(searcher.doc(address)["passage"][0] for _, address in hits)
    return search


def bm25s_bm25(corpus: Corpus):
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus.texts, stopwords="en", show_progress=False), show_progress=False)

    def search(query, vector):
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        ids, _ = retriever.retrieve(tokens, k=min(POOL, len(corpus.texts)), show_progress=False, n_threads=1)
        return corpus.top_documents(ids[0])
    return search


def sqlite_rrf(corpus: Corpus):
    import apsw  # Python's sqlite3 module may be built without extension loading
    import sqlite_vec

    db = apsw.Connection(":memory:")
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, tokenize='porter unicode61')")
    db.execute(f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{corpus.vectors.shape[1]}])")
    with db:
        db.executemany("INSERT INTO fts(rowid, text) VALUES (?, ?)", enumerate(corpus.texts))
        db.executemany("INSERT INTO vec(rowid, embedding) VALUES (?, ?)",
                       ((i, v.tobytes()) for i, v in enumerate(corpus.vectors)))

    def search(query, vector):
        match = " OR ".join(f'"{w}"' for w in _WORD.findall(query))
        keyword = [r[0] for r in db.execute("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT ?",
                                            [match, POOL])] if match else []
        nearest = [r[0] for r in db.execute("SELECT rowid FROM vec WHERE embedding MATCH ? AND k = ? ORDER BY distance",
                                            [vector[0].astype(np.float32).tobytes(), POOL])]
        fused: dict[int, float] = {}
        for ranking in (keyword, nearest):
            for rank, passage in enumerate(ranking, start=1):
                fused[passage] = fused.get(passage, 0.0) + 1.0 / (RRF_K + rank)
        return corpus.top_documents(sorted(fused, key=lambda p: -fused[p]))
    return search


def lancedb_hybrid(corpus: Corpus, folder: Path):
    import lancedb
    import pyarrow as pa
    from lancedb.rerankers import RRFReranker

    table = lancedb.connect(str(folder)).create_table("passages", pa.table({
        "passage": np.arange(len(corpus.texts)), "text": corpus.texts,
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(corpus.vectors.ravel()), corpus.vectors.shape[1])}))
    table.create_fts_index("text")  # its native full-text index (BM25)
    reranker = RRFReranker()

    def search(query, vector):
        rows = (table.search(query_type="hybrid").vector(vector[0]).text(words(query)).limit(POOL)
                .rerank(reranker).to_list())
        return corpus.top_documents(r["passage"] for r in rows)
    return search


def measure(search, pairs: list[tuple[str, str]], vectors: dict) -> tuple[float, float, float, float]:
    """(recall@10, MRR@10, p50 ms, p95 ms) of one system over the labelled pairs (after one warm-up)."""
    search(pairs[0][0], vectors[pairs[0][0]])
    found, reciprocal, times = 0, 0.0, []
    for query, expected in pairs:
        start = time.perf_counter()
        ranked = search(query, vectors[query])
        times.append((time.perf_counter() - start) * 1000)
        if expected.lower() in ranked:
            found += 1
            reciprocal += 1 / (ranked.index(expected.lower()) + 1)
    times.sort()
    return found / len(pairs), reciprocal / len(pairs), statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", nargs="?", default="db/kb.db", type=Path)
    parser.add_argument("--only", default="", help="comma-separated substrings of the systems to run")
    args = parser.parse_args()
    pairs = [p for name in QUERY_FILES for p in read_labelled(DATA / name)]
    searcher = Searcher(args.db)
    searcher.warm_up()
    vectors = searcher.vectors_with_glosses([q for q, _ in pairs])
    corpus = Corpus(args.db)
    print(f"{len(corpus.texts):,} passages of {len(set(corpus.docs)):,} documents in {args.db}; "
          f"{len(pairs)} labelled English queries; top {K} documents; retrieval only (query vectors precomputed)")
    with tempfile.TemporaryDirectory() as folder:
        builders = {**{name: (lambda s=s: s) for name, s in kb_systems(searcher).items()},
                    "SQLite FTS5 + sqlite-vec, RRF": lambda: sqlite_rrf(corpus),
                    "LanceDB hybrid (FTS + vectors, RRF)": lambda: lancedb_hybrid(corpus, Path(folder)),
                    "tantivy (BM25)": lambda: tantivy_bm25(corpus),
                    "bm25s (BM25)": lambda: bm25s_bm25(corpus),
                    "FAISS flat inner product alone": lambda: faiss_flat(corpus)}
        only = [o.strip().lower() for o in args.only.split(",") if o.strip()]
        print("\n| system | recall@10 | MRR | p50 ms | p95 ms |\n|---|---|---|---|---|")
        for name, build in builders.items():
            if only and not any(o in name.lower() for o in only):
                continue
            try:
                search = build()
            except ImportError as exc:
                print(f"| {name} | skipped: {exc.name} is not installed (pip install -e '.[bench]') | | | |")
                continue
            recall, mrr, p50, p95 = measure(search, pairs, vectors)
            print(f"| {name} | {recall:.3f} | {mrr:.3f} | {p50:.2f} | {p95:.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
