"""How the watches' relevance floors were chosen: on the labelled queries, the share of right
documents a floor lets through beside the share of other documents it lets through (noise).

Usage: .venv/bin/python bench/watch_floor.py [--sample N] [--no-vectors]
A watch sees a few new documents, not a ranking, so its test is absolute: the share of the
query's words a document holds (kb.watches.relevance.share_found) and, with vectors, its best
passage's similarity to the query. Each labelled query (tests/data: the English VCDB sets and
both cross-language sets) is scored against its right document and against N other documents
drawn from all VCDB records and the curated set (seed 7), the baseline a watch must not fire on.
Similarities need the embedding model (the default; about a minute for N=300 passages).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

from kb import settings
from kb.search.evaluate import read_labelled
from kb.search.query import analyse
from kb.sources import starter, vcdb
from kb.watches import relevance

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = ("vcdb_queries.tsv", "vcdb_queries_validation.tsv", "crosslingual_zh_en.tsv", "crosslingual_en_zh.tsv")
SHARES = (0.25, 0.34, 0.5, 0.67, 0.75, 1.0)
SIMILARITIES = (0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.9)
NOISE_GOAL = 0.005  # other documents a floor may let through: one per 200 new documents, per watch


def documents() -> dict[str, tuple[str, str, str]]:
    """{external id: (title, text, language)} of every VCDB record and curated document."""
    folder = settings.shared_data() / "vcdb" / "json"
    if not folder.is_dir():
        sys.exit(f"no VCDB records at {folder} (KB_SHARED_DATA)")
    out = {r.external_id: (r.title, r.text, r.language) for r in vcdb.read_folder(folder).records}
    out.update({r.external_id: (r.title, r.text, r.language) for r in starter.iter_records()})
    return out


def table(name: str, floors, right: list[float], noise: list[list[float]]) -> None:
    print(f"{name:>12}  {'right docs passing':>18}  {'other docs passing':>18}")
    for floor in floors:
        hits = np.mean([r >= floor for r in right])
        false = np.mean([np.mean([o >= floor for o in others]) for others in noise])
        print(f"{floor:>12.2f}  {hits:>18.3f}  {false:>18.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300, help="other documents per query (default 300)")
    parser.add_argument("--no-vectors", action="store_true", help="shares only: no embedding model")
    args = parser.parse_args()
    docs = documents()
    pairs = [(q, target) for name in SETS for q, target in read_labelled(DATA / name) if target in docs]
    others = random.Random(7).sample(sorted(docs), args.sample)
    print(f"{len(pairs)} labelled queries; each against its right document and {args.sample} others "
          f"of {len(docs)} (VCDB and curated)")
    right, noise = [], []
    for query, target in pairs:
        analysed = analyse(query)
        right.append(relevance.share_found(analysed, *docs[target][:2])[1])
        noise.append([relevance.share_found(analysed, *docs[o][:2])[1] for o in others if o != target])
    print(f"\nshare of the query's words found (default floor {relevance.FLOOR})")
    table("floor", SHARES, right, noise)
    shares = (right, noise)
    if args.no_vectors:
        return
    from kb.index.chunks import chunk_document
    from kb.index.encoders import clip_query, load_encoder

    encoder = load_encoder(settings.DEFAULT_MODEL)
    wanted = sorted({t for _, t in pairs} | set(others))
    passages = {d: chunk_document(encoder, docs[d][0], docs[d][1], encoder.max_tokens) for d in wanted}
    flat = [(d, p) for d, parts in passages.items() for p in parts]
    vectors = encoder.encode_passages([p for _, p in flat])
    best_of = {}
    for (doc, _), vector in zip(flat, vectors):
        best_of.setdefault(doc, []).append(vector)
    right, noise = [], []
    for query, target in pairs:
        analysed = analyse(query)
        texts = [analysed.text, analysed.english] if analysed.english else [analysed.text]
        q = encoder.encode_queries([clip_query(encoder, t) for t in texts])

        def best(doc: str) -> float:
            rows = q if docs[doc][2] != "zh" else q[:1]  # as kb.watches.evaluate: the gloss for non-Chinese
            return float(np.max(rows @ np.vstack(best_of[doc]).T))

        right.append(best(target))
        noise.append([best(o) for o in others if o != target])
    print(f"\nbest passage similarity, {settings.DEFAULT_MODEL} (default floor {relevance.MIN_SIMILARITY})")
    table("similarity", SIMILARITIES, right, noise)
    print(f"\nhybrid (either floor passes): the pairs letting through at most {NOISE_GOAL:.1%} of other documents")
    print(f"{'share':>6} {'similarity':>10}  {'right docs passing':>18}  {'other docs passing':>18}")
    for share in SHARES:
        for similarity in SIMILARITIES:
            hits = np.mean([a >= share or b >= similarity for a, b in zip(shares[0], right)])
            false = np.mean([np.mean([a >= share or b >= similarity for a, b in zip(x, y)])
                             for x, y in zip(shares[1], noise)])
            if false <= NOISE_GOAL:
                print(f"{share:>6.2f} {similarity:>10.2f}  {hits:>18.3f}  {false:>18.4f}")


if __name__ == "__main__":
    main()
