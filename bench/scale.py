"""Index choice at scale: build time, disk, memory and query latency of flat vs the "auto" index.

Usage: nice .venv/bin/python bench/scale.py [--sizes 100000,300000,1000000] [--sentences 3000]
       [--index-only] [--keep DIR] [--kinds flat,auto,ivf-sq8]
Not part of `make test`. For each size it writes a knowledge base of that
many passages into a temporary folder (or DIR with --keep) and measures, in
the same process, the exact flat index (the baseline) against the index
"auto" chooses for that size (kb.vector_index.choose): build time, file size,
resident memory after loading, recall@10 of the approximate index against
exact search, FAISS p50/p95 at the k kb search asks for, and warm hybrid
`kb search` p50/p95 with a per-stage breakdown (bench/query_latency.py).
`--kinds` adds other indexes to compare (hnsw, ivf, and ivf-sq8: IVF with
8-bit codes); with --index-only an approximate index's recall and latency
are printed for several values of its knob (IVF nprobe, HNSW efSearch).

The passages are real text recombined: sentences of VCDB summaries, DOJ press
releases, news articles (the article-extraction benchmark) and Chinese
criminal-case descriptions (LeCaRD) and the seed article, from
$KB_SHARED_DATA. Embedding a million passages with the real model is
impossible on this CPU in time, so only the sentence pool is embedded with
the real default model; a passage's vector is the normalised mean of its
sentences' real vectors plus Gaussian noise (a noisy combination of real
vectors). The noise is calibrated on the model: 32 passages recombined from
the pool are embedded whole, and the noise puts a generated vector as far
from its sentences' mean as the model puts the real passage (with
multilingual-e5, cosine ~0.95; a fixed noise of 0.03 per dimension gave 0.84,
vectors closer to random than the model's, on which no approximate index
finds neighbours well).
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kb import settings
from kb.index import vector_index as index
from kb.index.encoders import load_encoder
from kb.storage.db import open_db, set_setting
from kb.search.searcher import one_thread_per_query
from kb.storage.sql import transaction

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])")
TAG = re.compile(r"<[^>]+>")
CALIBRATION_PASSAGES = 32  # passages embedded whole to calibrate the noise
CHINESE_QUERIES = ["实习生破坏模型训练被公司起诉", "员工删除公司数据库", "窃取商业秘密跳槽到竞争对手",
                   "前员工盗取源代码", "利用职务之便非法获取公民个人信息"]


def _sentences_of(text: str, low: int = 30, high: int = 400) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if low <= len(s.strip()) <= high]


def real_sentences(shared: Path) -> tuple[list[str], list[str]]:
    """(English sentences, Chinese sentences) from the real data, in a fixed order."""
    english, chinese = [], []
    for path in sorted((shared / "vcdb" / "json").glob("*.json")):
        english += _sentences_of(json.loads(path.read_text()).get("summary") or "")
    csv.field_size_limit(10_000_000)
    with open(shared / "doj" / "press_releases_sample.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            english += _sentences_of(html.unescape(TAG.sub(" ", row["body"])).replace("\xa0", " "))
    truth = json.loads((shared / "news" / "article-extraction-benchmark" / "ground-truth.json").read_text())
    for item in truth.values():
        english += _sentences_of(item.get("articleBody") or "")
    for line in (shared / "court" / "zh-lecard" / "query.jsonl").read_text().splitlines():
        chinese += _sentences_of(json.loads(line)["q"], low=12)
    for path in sorted((shared / "news" / "seed").glob("*.md")):
        chinese += _sentences_of(path.read_text(), low=12)
    return list(dict.fromkeys(english)), list(dict.fromkeys(chinese))


def sentence_pool(model, count: int, rng, cache: Path | None = None) -> tuple:
    """`count` real sentences (a tenth Chinese), their real vectors, which are Chinese, and the noise."""
    english, chinese = real_sentences(settings.shared_data())
    n_zh = min(len(chinese), count // 10)
    picked_en = rng.choice(len(english), min(len(english), count - n_zh), replace=False)
    picked_zh = rng.choice(len(chinese), n_zh, replace=False)
    texts = [english[i] for i in picked_en] + [chinese[i] for i in picked_zh]
    start = time.perf_counter()
    if cache and cache.exists() and json.loads(cache.with_suffix(".json").read_text())["texts"] == texts:
        vectors, noise = np.load(cache), json.loads(cache.with_suffix(".json").read_text())["noise"]
    else:
        vectors = model.encode_passages(texts, 64)
        noise = calibrate_noise(model, texts, vectors, rng)
        if cache:
            np.save(cache, vectors)
            cache.with_suffix(".json").write_text(json.dumps({"texts": texts, "noise": noise}))
    print(f"sentence pool: {len(texts)} real sentences ({n_zh} Chinese) of {len(english)} English and "
          f"{len(chinese)} Chinese; embedded with {settings.DEFAULT_MODEL} in {time.perf_counter() - start:.0f} s; "
          f"noise per dimension {noise:.4f}", flush=True)
    return texts, vectors, np.arange(len(texts)) >= len(texts) - n_zh, noise


def calibrate_noise(model, texts: list[str], vectors: np.ndarray, rng) -> float:
    """The per-dimension noise that puts a generated passage vector as far (by cosine) from its
    sentences' mean as the model puts the real passage made of those sentences."""
    picks = [rng.choice(len(texts), int(rng.integers(2, 6)), replace=False) for _ in range(CALIBRATION_PASSAGES)]
    real = model.encode_passages([" ".join(texts[i] for i in p) for p in picks], 16)
    means = np.stack([vectors[p].mean(axis=0) for p in picks])
    norm = float(np.linalg.norm(means, axis=1).mean())
    cosine = float(np.mean(np.sum(real * means, axis=1) / np.linalg.norm(means, axis=1)))
    return norm * float(np.sqrt(1 / cosine ** 2 - 1)) / np.sqrt(vectors.shape[1])


def generate(db_path: Path, size: int, pool: tuple, rng) -> tuple[np.ndarray, np.ndarray]:
    """A knowledge base of `size` passages (1-8 per document) with FTS; returns (chunk ids, vectors)."""
    texts, vectors, is_zh, noise = pool
    zh_ids, en_ids = np.flatnonzero(is_zh), np.flatnonzero(~is_zh)
    db = open_db(db_path)
    dim = vectors.shape[1]
    all_vectors = np.empty((size, dim), dtype=np.float32)
    made, doc = 0, 0
    with transaction(db):
        while made < size:
            doc += 1
            zh = rng.random() < 0.1
            source = zh_ids if zh else en_ids
            n_passages = int(min(size - made, rng.integers(1, 9)))
            picks = rng.choice(source, (n_passages, int(rng.integers(2, 6))))
            title = texts[picks[0, 0]][:120]
            bodies = [("" if zh else " ").join(texts[i] for i in row) for row in picks]
            db.execute(
                "INSERT INTO documents (id, source, external_id, kind, title, language, published, text, "
                "created_at, updated_at) VALUES (?, 'scale', ?, 'news', ?, ?, ?, ?, '', '')",
                [doc, str(doc), title, "zh" if zh else "en", f"{2000 + doc % 25}-01-01", "\n".join(bodies)])
            mixed = vectors[picks].mean(axis=1) + rng.normal(0, noise, (n_passages, dim)).astype(np.float32)
            mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
            all_vectors[made:made + n_passages] = mixed
            db.conn.executemany(
                "INSERT INTO chunks (id, document_id, seq, text, text_hash, embedding) VALUES (?, ?, ?, ?, '', ?)",
                [(made + s + 1, doc, s, f"{title}\n{body}", mixed[s].tobytes()) for s, body in enumerate(bodies)])
            made += n_passages
        set_setting(db, "embedding_model", settings.DEFAULT_MODEL)
        set_setting(db, "embedding_dim", str(dim))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return np.arange(1, size + 1, dtype=np.int64), all_vectors


def passage_vectors(size: int, pool: tuple, rng) -> np.ndarray:
    """Vectors only (for --index-only), made as generate() makes them: a tenth Chinese, 2-5 sentences each."""
    _, vectors, is_zh, noise = pool
    zh_ids, en_ids = np.flatnonzero(is_zh), np.flatnonzero(~is_zh)
    out = np.empty((size, vectors.shape[1]), dtype=np.float32)
    for start in range(0, size, 50_000):
        n = min(50_000, size - start)
        zh = rng.random(n) < 0.1
        picks = np.where(zh[:, None], rng.choice(zh_ids, (n, 5)), rng.choice(en_ids, (n, 5)))
        used = np.arange(5)[None, :] < rng.integers(2, 6, n)[:, None]
        mixed = (vectors[picks] * used[..., None]).sum(axis=1) / used.sum(axis=1, keepdims=True)
        mixed += rng.normal(0, noise, mixed.shape).astype(np.float32)
        out[start:start + n] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


RESIDENT = """
import os, sys, faiss
def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
before = rss()
index = faiss.read_index(sys.argv[1])
print(rss() - before)
"""


def resident_mb(path: Path) -> float:
    """Resident memory a fresh process gains by loading the index file."""
    out = subprocess.run([sys.executable, "-c", RESIDENT, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def ms(samples: list[float]) -> str:
    values = sorted(s * 1000 for s in samples)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"p50 {statistics.median(values):7.2f} ms  p95 {p95:7.2f} ms"


def recall_at(approx, exact, queries: np.ndarray, k: int = 10) -> float:
    """Share of the exact top-k that the approximate index also returns in its top-k."""
    _, want = exact.search(queries, k)
    _, got = approx.search(queries, k)
    return float(np.mean([len(set(w) & set(g)) / k for w, g in zip(want, got)]))


def build_kind(ids: np.ndarray, vectors: np.ndarray, kind: str):
    """An index of `kind`: one of kb.vector_index's types, or "ivf-sq8" (IVF with 8-bit codes)."""
    if kind != "ivf-sq8":
        return index.build(ids, vectors, kind)
    built = index.new_ivf(vectors.shape[1], vectors, "sq8")
    built.add_with_ids(vectors, ids)
    return built


def measure_size(folder: Path, size: int, pool: tuple, model, queries: list[str], rng,
                 index_only: bool = False, kinds: tuple[str, ...] = ("flat", "auto")) -> dict | None:
    from query_latency import compare  # bench/ is on sys.path when this script runs

    db_path = folder / f"scale-{size}.db"
    start = time.perf_counter()
    if index_only:
        ids, vectors = np.arange(1, size + 1, dtype=np.int64), passage_vectors(size, pool, rng)
        print(f"\n== {size:,} passage vectors (index only): generated in {time.perf_counter() - start:.0f} s",
              flush=True)
    else:
        ids, vectors = generate(db_path, size, pool, rng)
        print(f"\n== {size:,} passages: generated in {time.perf_counter() - start:.0f} s, "
              f"database {db_path.stat().st_size / 2**20:,.0f} MiB", flush=True)
    chosen = index.choose(size)
    paths = {}
    db = open_db(db_path)  # named in each file's header (an empty knowledge base with --index-only)
    for kind in dict.fromkeys(["flat", *(chosen if k == "auto" else k for k in kinds)]):
        start = time.perf_counter()
        built = build_kind(ids, vectors, kind)
        seconds = time.perf_counter() - start
        paths[kind] = folder / f"scale-{size}.{kind}.faiss"
        index.save(built, paths[kind], db)
        print(f"  {kind:<5} build {seconds:7.1f} s  file {paths[kind].stat().st_size / 2**20:7.0f} MiB  "
              f"resident {resident_mb(paths[kind]):6.0f} MiB  params {index.params(built)}", flush=True)
        del built
    del vectors
    if index_only:
        return faiss_only(paths, model, queries)
    return compare(db_path, paths, model, queries)


def faiss_only(paths: dict[str, Path], model, queries: list[str]) -> None:
    """Recall@10 against exact search and FAISS p50/p95 at the k kb search asks for."""
    from kb.search.searcher import POOL

    vectors = model.encode_queries(queries)
    exact = index.load(paths["flat"])
    for kind, path in paths.items():
        loaded = exact if kind == "flat" else index.load(path)
        knob, name = search_knob(loaded)
        chosen = getattr(knob, name) if knob else None
        for value in sorted({chosen, 64, 128, 256, 512, 1024}) if knob else [None]:
            if knob:
                setattr(knob, name, value)
            times = []
            for vector in vectors:
                start = time.perf_counter()
                loaded.search(vector[None, :], POOL * 4)
                times.append(time.perf_counter() - start)
            label = f"{kind} {name} {value}{' (chosen)' if value == chosen else ''}" if knob else kind
            print(f"  {label}: recall@10 vs exact {recall_at(loaded, exact, vectors):.3f}; "
                  f"FAISS at k={POOL * 4}: {ms(times)}", flush=True)


def search_knob(loaded) -> tuple:
    """(object, attribute) that trades an approximate index's recall for time: IVF nprobe, HNSW efSearch."""
    kind = index.kind_of(loaded)
    if kind == "ivf":
        return index._faiss().extract_index_ivf(loaded), "nprobe"
    if kind == "hnsw":
        return index._faiss().downcast_index(loaded.index).hnsw, "efSearch"
    return None, None


def load_queries() -> list[str]:
    rows = []
    for name in ("vcdb_queries.tsv", "vcdb_queries_validation.tsv"):
        path = settings.PROJECT_ROOT / "tests" / "data" / name
        rows += [line.split("\t")[0] for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return rows + CHINESE_QUERIES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--sentences", type=int, default=3000, help="real sentences embedded with the model")
    parser.add_argument("--index-only", action="store_true",
                        help="vectors and indexes only: no database, no hybrid search (for 1M on a small machine)")
    parser.add_argument("--keep", type=Path, help="keep the generated databases and indexes in this folder")
    parser.add_argument("--kinds", default="flat,auto",
                        help="indexes to build besides flat: auto, hnsw, ivf, ivf-sq8 (comma-separated)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    model = load_encoder(settings.DEFAULT_MODEL, "cpu")
    pool = sentence_pool(model, args.sentences, rng, args.keep / "pool.npy" if args.keep else None)
    one_thread_per_query()  # as in a serving process; builds below run on one thread too
    queries = load_queries()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        for size in (int(s) for s in args.sizes.split(",")):
            measure_size(folder, size, pool, model, queries, rng, args.index_only, tuple(args.kinds.split(",")))
            if not args.keep:
                for path in folder.iterdir():
                    path.unlink()


if __name__ == "__main__":
    sys.exit(main())
