"""Cross-language retrieval without curated translations, before and after derived passages.

Builds a database of every VCDB record and only Chinese texts (the seed article, the Chinese
summaries of the curated starter incidents without their English twins, and the held-out texts of
tests/data/zh_heldout), embeds it once, and measures in one run:
- before: the same database with the derived passages (Chinese texts' English renderings) removed;
- after: with them.
Figures: English->Chinese hit@5 and MRR (held-out set and the older set), Chinese->English
recall@10, and the English VCDB sets (recall@10, MRR), hybrid by document.

Usage: .venv/bin/python bench/crosslingual.py [--vectors-from DB] [--out DIR] [--distractors N]
--vectors-from: a database embedded with the same model (e.g. the demo's) whose vectors are reused
for passages of identical text, so only what it lacks is embedded (all VCDB: ~4,900 passages).
--distractors: VCDB records beside the labelled ones (default: all).
"""

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from kb import KB, settings
from kb.index import vector_index
from kb.index.chunks import sync_chunks
from kb.index.encoders import load_encoder
from kb.search.evaluate import evaluate, read_labelled
from kb.search.searcher import Searcher
from kb.sources import files, starter, vcdb
from kb.storage.db import open_db

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
HELDOUT = DATA / "zh_heldout"
SETS = (("held-out en->zh", "crosslingual_heldout_en_zh.tsv", "hit@5"),
        ("en->zh (starter, seed)", "crosslingual_en_zh.tsv", "hit@5"),
        ("zh->en", "crosslingual_zh_en.tsv", "recall"),
        ("English", "vcdb_queries.tsv", "recall"),
        ("English validation", "vcdb_queries_validation.tsv", "recall"))


def chinese_texts(shared: Path) -> list:
    """The seed article, the curated Chinese summaries (no English twin) and the held-out texts
    (keyed by file name, as the held-out set names them)."""
    docs = [r for r in starter.iter_records() if r.external_id.endswith("#zh")]
    docs += [files.read_file(p) for p in sorted((shared / "news" / "seed").glob("*.md"))]
    for path in sorted(HELDOUT.glob("*.md")):
        record = files.read_file(path)
        record.external_id = path.name
        docs.append(record)
    return docs


def vcdb_records(shared: Path, distractors: int | None) -> list:
    records = vcdb.read_folder(shared / "vcdb" / "json").records
    if distractors is None:
        return records
    wanted = {e.lower() for _, name, _ in SETS for _, e in read_labelled(DATA / name)}
    others = [r for r in records if r.external_id.lower() not in wanted]
    random.Random(11).shuffle(others)
    return [r for r in records if r.external_id.lower() in wanted] + others[:distractors]


def build(path: Path, shared: Path, encoder, donor: Path | None, distractors: int | None) -> None:
    """Import, chunk, reuse the donor's vectors of identical passages, embed the rest, index."""
    kb = KB(path)
    kb.ingest(vcdb_records(shared, distractors) + chinese_texts(shared))
    sync_chunks(kb.db, encoder, encoder.max_tokens)
    if donor:
        reused = reuse_vectors(kb.db, donor)
        print(f"reused {reused} vectors from {donor}", flush=True)
    started = time.perf_counter()
    report, _ = kb.embed(encoder=encoder)
    print(f"embedded {report.chunks_embedded} passages in {time.perf_counter() - started:.0f}s", flush=True)


def reuse_vectors(db, donor: Path) -> int:
    """Copy the donor's vectors onto chunks of the same text (it must hold the same model's vectors)."""
    from kb.storage.db import get_setting

    source = sqlite3.connect(f"file:{donor}?mode=ro", uri=True)
    model = source.execute("SELECT value FROM settings WHERE key = 'embedding_model'").fetchone()
    assert model and model[0] == (get_setting(db, "embedding_model") or settings.DEFAULT_MODEL), model
    known = dict(source.execute("SELECT text_hash, embedding FROM chunks WHERE embedding IS NOT NULL"))
    pending = [(known[h], h) for (h,) in db.execute("SELECT DISTINCT text_hash FROM chunks WHERE embedding IS NULL")
               if h in known]
    with db.conn:
        db.conn.executemany("UPDATE chunks SET embedding = ? WHERE text_hash = ? AND embedding IS NULL", pending)
    return len(pending)


def without_derived(path: Path, folder: Path) -> Path:
    """A copy of the database without derived passages, its index rebuilt."""
    copy = folder / "before.db"
    for stale in folder.glob("before.db*"):  # a copy left by an earlier run, with its WAL
        stale.unlink()
    open_db(path).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(path, copy)
    db = open_db(copy)
    with db.conn:
        db.execute("DELETE FROM chunks WHERE derived IS NOT NULL")
    vector_index.rebuild(db, settings.paths(copy).index)
    return copy


def measure(path: Path, encoder) -> dict[str, dict]:
    searcher = Searcher(path, model=encoder)
    return {label: evaluate(searcher, read_labelled(DATA / name), "hybrid", by="document")
            for label, name, _ in SETS}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors-from", type=Path, help="an embedded database whose vectors to reuse")
    parser.add_argument("--out", type=Path, help="keep the built database in this folder")
    parser.add_argument("--distractors", type=int, help="VCDB records beside the labelled ones (default: all)")
    args = parser.parse_args()
    shared = settings.shared_data()
    if not (shared / "vcdb" / "json").is_dir():
        sys.exit(f"Error: VCDB not found under {shared} (set KB_SHARED_DATA)")
    encoder = load_encoder(settings.DEFAULT_MODEL, "cpu")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "kb.db"
        if not path.exists():
            build(path, shared, encoder, args.vectors_from, args.distractors)
        db = open_db(path)
        counts = db.execute("SELECT count(*), count(derived) FROM chunks").fetchone()
        docs = db.execute("SELECT count(*), sum(language = 'zh') FROM documents").fetchone()
        print(f"\n{docs[0]} documents ({docs[1]} Chinese), {counts[0]} passages ({counts[1]} derived)")
        before = measure(without_derived(path, folder), encoder)
        after = measure(path, encoder)
    print(f"\n{'hybrid, by document':<26}{'measure':>9}{'before':>9}{'after':>9}{'MRR before':>12}{'after':>8}")
    for label, _, key in SETS:
        b, a = before[label], after[label]
        print(f"{label:<26}{key:>9}{b[key]:>9.3f}{a[key]:>9.3f}{b['mrr']:>12.3f}{a['mrr']:>8.3f}")


if __name__ == "__main__":
    main()
