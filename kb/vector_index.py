"""The FAISS vector index beside the database.

The database is the source of truth: the index holds each embedded chunk's
vector under the chunk id, and `sync` brings it level with the database
(adding new chunks, dropping removed ones). Writes go to a temporary file
that is renamed over the old one, so a reader never sees half an index.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import sqlite_utils

from .db import get_setting, set_setting
from .errors import KBError
from .store import batches

INDEX_TYPES = ("flat", "ivf", "hnsw")


def _faiss():
    import faiss

    return faiss


def new_index(kind: str, dim: int, vectors: np.ndarray):
    """An empty index of `kind` (trained on `vectors` where it needs training)."""
    faiss = _faiss()
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "hnsw":
        return faiss.IndexIDMap2(faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT))
    if kind == "ivf":
        nlist = max(1, min(4096, int(np.sqrt(len(vectors)))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if len(vectors):
            index.train(vectors)
        index.nprobe = min(nlist, 16)
        return index
    raise KBError(f"unknown index type {kind!r}: choose one of {', '.join(INDEX_TYPES)}")


def load(path: Path):
    """Read an index file; a clear error when it is missing or corrupt."""
    if not path.exists():
        raise KBError(f"no vector index at {path}: run `kb embed` (or `kb index --rebuild`)")
    try:
        return _faiss().read_index(str(path))
    except RuntimeError:
        raise KBError(f"vector index {path} is corrupt: run `kb index --rebuild`") from None


def save(index, path: Path) -> None:
    """Write atomically: temporary file, fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    _faiss().write_index(index, str(tmp))
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def ids_in(index) -> np.ndarray:
    """The chunk ids an index holds."""
    faiss = _faiss()
    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map)
    invlists = faiss.extract_index_ivf(index).invlists
    parts = [faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
             for i in range(invlists.nlist) if invlists.list_size(i)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _vectors(db: sqlite_utils.Database, ids=None) -> tuple[np.ndarray, np.ndarray]:
    dim = int(get_setting(db, "embedding_dim") or 0)
    sql = "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL"
    rows = db.execute(sql).fetchall() if ids is None else [
        r for part in batches(list(ids), 900) for r in db.execute(
            sql + f" AND id IN ({','.join('?' * len(part))})", part)]
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, dim), dtype=np.float32)
    chunk_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return chunk_ids, vectors


def index_type(db: sqlite_utils.Database) -> str:
    return get_setting(db, "index_type") or "flat"


def rebuild(db: sqlite_utils.Database, path: Path, kind: str | None = None) -> int:
    """Build the index afresh from the vectors stored in the database; return its size."""
    kind = kind or index_type(db)
    if kind not in INDEX_TYPES:
        raise KBError(f"unknown index type {kind!r}: choose one of {', '.join(INDEX_TYPES)}")
    ids, vectors = _vectors(db)
    dim = vectors.shape[1] if len(vectors) else int(get_setting(db, "embedding_dim") or 0)
    if not dim:
        raise KBError("nothing is embedded yet: run `kb embed` first")
    index = new_index(kind, dim, vectors)
    if len(ids):
        index.add_with_ids(vectors, ids)
    save(index, path)
    with db.conn:
        set_setting(db, "index_type", kind)
    return int(index.ntotal)


def sync(db: sqlite_utils.Database, path: Path) -> tuple[int, int]:
    """Bring the index level with the database; return (added, removed).

    A missing, corrupt or wrong-sized index is rebuilt from the database.
    """
    dim = int(get_setting(db, "embedding_dim") or 0)
    if not dim:
        return 0, 0
    try:
        index = load(path)
    except KBError:
        return rebuild(db, path), 0
    if index.d != dim:
        return rebuild(db, path), 0
    have = ids_in(index)
    want = np.fromiter((r[0] for r in db.execute(
        "SELECT id FROM chunks WHERE embedding IS NOT NULL")), dtype=np.int64)
    stale = np.setdiff1d(have, want, assume_unique=True)
    missing = np.setdiff1d(want, have, assume_unique=True)
    if not len(stale) and not len(missing):
        return 0, 0
    if len(stale):
        if index_type(db) == "hnsw":  # HNSW cannot remove: rebuild
            rebuild(db, path)
            return len(missing), len(stale)
        index.remove_ids(stale)
    if len(missing):
        ids, vectors = _vectors(db, missing.tolist())
        index.add_with_ids(vectors, ids)
    save(index, path)
    return len(missing), len(stale)
