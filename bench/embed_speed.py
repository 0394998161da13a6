"""Embedding throughput: `kb embed`'s pipeline against a bare model.encode of the same chunks.

Usage: .venv/bin/python bench/embed_speed.py [--limit N] [--device auto|cpu|cuda] [--batch-size B]
Builds a temporary database from the VCDB import, chunks it, then times
(1) model.encode over the chunk texts and (2) kb.embed.embed_pending writing
the same chunks' vectors to SQLite, in the same process.
"""

import argparse
import tempfile
import time
from pathlib import Path

from kb import config, embed
from kb.db import open_db
from kb.importers import vcdb
from kb.store import save_many


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=1500, help="documents to use (0: all)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    model = embed.load_model(config.DEFAULT_MODEL, args.device)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "kb.db")
        records = list(vcdb.iter_records(config.shared_data() / "vcdb" / "json"))
        save_many(db, records[: args.limit or None])
        embed.sync_chunks(db, model.tokenizer, model.max_seq_length)
        texts = [t for (t,) in db.execute("SELECT text FROM chunks")]
        embed.encode_documents(model, texts[:64], args.batch_size)  # warm-up
        start = time.perf_counter()
        embed.encode_documents(model, texts, args.batch_size)
        bare = time.perf_counter() - start
        start = time.perf_counter()
        done = embed.embed_pending(db, model, args.batch_size)
        pipeline = time.perf_counter() - start
    print(f"device {model.device}, {len(texts)} chunks, batch size {args.batch_size}")
    print(f"bare model.encode : {len(texts) / bare:8.1f} chunks/s ({bare:.1f}s)")
    print(f"kb embed pipeline : {done / pipeline:8.1f} chunks/s ({pipeline:.1f}s)")
    print(f"pipeline / bare   : {bare / pipeline:8.3f}")


if __name__ == "__main__":
    main()
