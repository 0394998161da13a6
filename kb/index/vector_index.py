"""The FAISS vector index beside the database.

The database is the source of truth: the index holds each embedded chunk's
vector under the chunk id, and `sync` brings it level with the database
(adding new chunks, dropping removed ones). Writes go to a temporary file of
the writer's own that is renamed over the old one (kb.storage.files), so a
reader never sees half an index. After the FAISS data (which FAISS reads
without looking past it) the file carries a header: the database's identity,
the model, the dimension and the metric. An index is opened for a database
only when the header and the index itself agree with it (`problem`): a file
of another dimension, without chunk ids, of another database or model, or
whose vectors are not the stored ones is refused with the reason, and
`sync` replaces it.

The index type is chosen by corpus size unless the user fixes one
(`kb index --type`): exact inner-product search up to FLAT_LIMIT vectors
(a full scan costs about 0.5 ms per 1,000 vectors on one core), HNSW up to
IVF_LIMIT, and IVF above it: at 1M vectors on one core IVF built in 164 s
and reached recall@10 0.961 in 30 ms, HNSW took 900 s and reached 0.829 in
10 ms at efSearch 1024; at 100k HNSW built with efConstruction 64 reached
0.946-0.959 at efSearch 1024 (4-6 ms) and 0.962-0.965 at 1536 (5.1-5.6 ms),
built with 200 0.958 at 512 (2.3 ms). The
parameters were measured with bench/scale.py (README, "Index choice and
scale"); the ones a build used are recorded in the `index_params` setting.
An IVF index that grows keeps its lists (and probes the same share of
them) until it is rebuilt.
"""

from __future__ import annotations

import json
import re
import struct
import time
import uuid
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import sqlite_utils

from ..errors import CannotWrite, InvalidInput, NotReady
from ..storage import files
from ..storage.db import get_setting, set_setting
from ..storage.sql import batches, marks, transaction

INDEX_TYPES = ("auto", "flat", "ivf", "hnsw")
FLAT_LIMIT = 20_000  # "auto": exact search up to this many vectors, HNSW (then IVF) above
IVF_LIMIT = 200_000  # "auto": HNSW up to this many vectors, IVF above
HNSW_M = 32  # graph neighbours per vector (memory: 2 * M * 4 bytes per vector besides the vector)
# Candidates kept while building: 200 builds 100k vectors in 43 s instead of 16 (two threads) and
# needs a third of the candidates at search for the same recall (below).
HNSW_EF_CONSTRUCTION = 200
# Candidates kept while searching, by the graph's efConstruction and its size, for recall@10 >= 0.95
# of exact search (bench/scale.py, vectors calibrated on multilingual-e5, k 400, one thread). Built
# with 200, 100k: 512 -> 0.958 (2.3 ms; 400: 0.944, 1.9 ms; 768: 0.971, 3.2 ms; 1536: 0.986, 5.5 ms).
# Built with 64 (before): 100k: 1536 -> 0.962-0.965 (5.1-5.6 ms; 1024: 0.941-0.959; 512: 0.896-0.922);
# 1M at 1024: 0.829. Above 200k ("auto" builds IVF there; for `kb index --type hnsw`): 2048, not measured.
HNSW_EF_SEARCH = {200: ((200_000, 512), (None, 2048)), 64: ((200_000, 1536), (None, 2048))}
IVF_LISTS_PER_ROOT = 4  # IVF lists: 4 * sqrt(vectors)
IVF_TRAIN_PER_LIST = 64  # k-means trains on at most this many vectors per list (10 iterations)
# Share of the lists probed per query, for recall@10 >= 0.95 of exact search (bench/scale.py):
# 1M: 800 of 4,000 -> 0.961 (512: 0.921); 300k: 438 of 2,190 -> 0.961; 100k: 253 of 1,264 -> 0.947.
IVF_PROBE_SHARE = 0.2
SYNC_EVERY = 15.0  # seconds between index updates while `kb embed` writes vectors (see Follower)
STALE_REBUILD = 0.1  # HNSW cannot remove: rebuild once this share of its vectors is stale
HEADER_MAGIC = b"KBINDEX1"  # ends the file, after the header's JSON and its length (8 bytes, little-endian)
SPOT_CHECKS = 8  # stored vectors compared with the index's on open


def _faiss():
    import faiss

    return faiss


def choose(n: int, flat_limit: int = FLAT_LIMIT) -> str:
    """The index type "auto" means for `n` vectors."""
    return "flat" if n <= flat_limit else "hnsw" if n <= max(IVF_LIMIT, flat_limit) else "ivf"


def ef_search(n: int, construction: int | None = None) -> int:
    """The HNSW efSearch for a graph of `n` vectors built with this efConstruction (default: the one
    graphs are built with now; one not measured gets the table of the least measured)."""
    table = HNSW_EF_SEARCH.get(construction or HNSW_EF_CONSTRUCTION) or HNSW_EF_SEARCH[min(HNSW_EF_SEARCH)]
    return next(ef for limit, ef in table if limit is None or n <= limit)


def nprobe(nlist: int) -> int:
    """The IVF lists probed per query, of `nlist`."""
    return max(1, round(IVF_PROBE_SHARE * nlist))


def ivf_lists(n: int) -> int:
    """IVF lists for `n` vectors: IVF_LISTS_PER_ROOT * sqrt(n), at least 39 training vectors per list."""
    return max(1, min(int(IVF_LISTS_PER_ROOT * np.sqrt(n)), n // 39))


def new_ivf(dim: int, vectors: np.ndarray, codes: str = "flat"):
    """An IVF index trained on `vectors`: full vectors ("flat") or 8-bit scalar codes ("sq8")."""
    faiss = _faiss()
    nlist = ivf_lists(len(vectors))
    quantizer = faiss.IndexFlatIP(dim)
    if codes == "sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
    index.cp.niter = 10
    if len(vectors):
        index.train(vectors)
    index.nprobe = nprobe(nlist)
    return index


def new_index(kind: str, dim: int, vectors: np.ndarray):
    """An empty index of `kind` (trained on `vectors` where it needs training)."""
    faiss = _faiss()
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = ef_search(len(vectors), HNSW_EF_CONSTRUCTION)
        return faiss.IndexIDMap2(hnsw)
    if kind == "ivf":
        return new_ivf(dim, vectors)
    raise InvalidInput(f"unknown index type {kind!r}: choose one of {', '.join(INDEX_TYPES)}")


def build(ids: np.ndarray, vectors: np.ndarray, kind: str = "auto", flat_limit: int = FLAT_LIMIT):
    """An index of `kind` ("auto": chosen by size) holding `vectors` under `ids`."""
    if kind == "auto":
        kind = choose(len(ids), flat_limit)
    index = new_index(kind, vectors.shape[1], vectors)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def kind_of(index) -> str:
    """"flat", "hnsw" or "ivf": what an index file really holds."""
    faiss = _faiss()
    inner = faiss.downcast_index(index.index) if hasattr(index, "id_map") else index
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVF):
        return "ivf"
    return "flat"


def params(index) -> dict:
    """The parameters of a built index, as recorded in the `index_params` setting."""
    faiss = _faiss()
    kind = kind_of(index)
    out = {"type": kind, "vectors": int(index.ntotal), "dim": int(index.d)}
    if kind == "hnsw":
        hnsw = faiss.downcast_index(index.index).hnsw
        out.update(M=int(hnsw.nb_neighbors(1)), efConstruction=int(hnsw.efConstruction), efSearch=int(hnsw.efSearch))
    elif kind == "ivf":
        ivf = faiss.extract_index_ivf(index)
        out.update(nlist=int(ivf.nlist), nprobe=int(ivf.nprobe))
    return out


class Unusable(NotReady):
    """The index file cannot serve this database; `reason` says why."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"vector index {path} {reason}: run `kb index --rebuild`")
        self.reason = reason


class Synced(NamedTuple):
    """What `sync` did: vectors added and removed, and why it replaced the file (None: it did not)."""

    added: int
    removed: int
    replaced: str | None = None


def load(path: Path, db: sqlite_utils.Database | None = None):
    """Read an index file; a clear error when it is missing or corrupt, or (given `db`) Unusable
    when it cannot serve that database (see `problem`)."""
    if not path.exists():
        raise NotReady(f"no vector index at {path}: run `kb embed` (or `kb index --rebuild`)")
    try:
        index = _faiss().read_index(str(path))
        header = read_header(path)
    except (RuntimeError, ValueError):
        raise Unusable(path, "is corrupt") from None
    reason = problem(db, index, header) if db is not None else None
    if reason:
        raise Unusable(path, reason)
    return index


def read_header(path: Path) -> dict | None:
    """The kb header at the end of an index file; None when it has none (ValueError if it is broken)."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        if size < 16:
            return None
        handle.seek(size - 16)
        length, magic = struct.unpack("<Q8s", handle.read(16))
        if magic != HEADER_MAGIC:
            return None
        if length > size - 16:
            raise ValueError("index header longer than its file")
        handle.seek(size - 16 - length)
        return json.loads(handle.read(length))


def header(db: sqlite_utils.Database, dim: int) -> dict:
    """The header an index of this database gets: its identity, model, dimension and metric."""
    return {"database": database_id(db), "model": get_setting(db, "embedding_model"),
            "runtime": get_setting(db, "embedding_runtime"), "dim": dim, "metric": "inner product"}


def database_id(db: sqlite_utils.Database) -> str:
    """This database's identity (setting `database_id`), made on first use."""
    if not get_setting(db, "database_id"):
        with transaction(db):
            db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('database_id', ?)", [uuid.uuid4().hex])
    return get_setting(db, "database_id")


def problem(db: sqlite_utils.Database, index, found: dict | None) -> str | None:
    """Why `index` (with the header `found` in its file) cannot serve `db`, or None when it can."""
    faiss = _faiss()
    dim = int(get_setting(db, "embedding_dim") or 0)
    if index.d != dim:
        return f"holds vectors of dimension {index.d}, not {dim} as this database"
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        return "does not rank by inner product"
    if not hasattr(index, "id_map") and not isinstance(index, faiss.IndexIVF):
        return f"holds no chunk ids (a plain {type(index).__name__})"
    if found is None:
        return "has no kb header (another program wrote it, or a kb before the header)"
    if found.get("database") != get_setting(db, "database_id"):
        return "was built for another database"
    if (found.get("model"), found.get("runtime")) != (get_setting(db, "embedding_model"),
                                                       get_setting(db, "embedding_runtime")):
        return f"was built with {found.get('model')}, not {get_setting(db, 'embedding_model')}"
    differs = _differing_vector(db, index)
    return f"holds vectors that differ from the database's (chunk {differs})" if differs is not None else None


def _differing_vector(db: sqlite_utils.Database, index) -> int | None:
    """A chunk (of SPOT_CHECKS spread over the index) whose stored vector the index does not hold."""
    have = ids_in(index)
    picks = have[np.linspace(0, len(have) - 1, min(SPOT_CHECKS, len(have))).astype(int)] if len(have) else have
    ids, stored = _vectors(db, picks.tolist())
    for chunk, vector, held in zip(ids, stored, _held_vectors(index, ids)):
        if float(vector @ held) < 0.99 * float(np.linalg.norm(vector) * np.linalg.norm(held) or 1):
            return int(chunk)
    return None


def _held_vectors(index, ids: np.ndarray) -> list[np.ndarray]:
    """The vectors the index holds under these ids (each of which it holds)."""
    faiss = _faiss()
    if hasattr(index, "id_map"):
        mapped = faiss.vector_to_array(index.id_map)
        inner = faiss.downcast_index(index.index)
        where = {int(mapped[p]): int(p) for p in np.flatnonzero(np.isin(mapped, ids))}
        return [inner.reconstruct(where[int(i)]) for i in ids]
    ivf = faiss.extract_index_ivf(index)
    found = {}
    for number in range(ivf.invlists.nlist):
        size = ivf.invlists.list_size(number)
        if size:
            listed = faiss.rev_swig_ptr(ivf.invlists.get_ids(number), size)
            for offset in np.flatnonzero(np.isin(listed, ids)):
                found[int(listed[offset])] = vector = np.empty(ivf.d, dtype=np.float32)
                ivf.reconstruct_from_offset(number, int(offset), faiss.swig_ptr(vector))
    return [found[int(i)] for i in ids]


def save(index, path: Path, db: sqlite_utils.Database) -> None:
    """Write the index with this database's header, atomically (CannotWrite when it cannot be)."""
    trailer = json.dumps(header(db, int(index.d))).encode()
    with files.atomic_path(path) as tmp:
        try:
            _faiss().write_index(index, str(tmp))
        except RuntimeError as exc:  # FAISS ends its message with the system's reason: "(File too large)"
            reason = re.search(r"\(([^()]*)\)\s*$", str(exc))
            raise CannotWrite(f"cannot write {path}: {reason.group(1) if reason else exc}") from None
        with open(tmp, "ab") as handle:
            handle.write(trailer + struct.pack("<Q8s", len(trailer), HEADER_MAGIC))


def ids_in(index) -> np.ndarray:
    """The chunk ids an index holds."""
    faiss = _faiss()
    if hasattr(index, "id_map"):
        return faiss.vector_to_array(index.id_map)
    invlists = faiss.extract_index_ivf(index).invlists
    parts = [faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
             for i in range(invlists.nlist) if invlists.list_size(i)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def selector(ids) -> tuple:
    """A FAISS id selector for these chunk ids (with the array it reads, which must stay alive)."""
    array = np.asarray(ids, dtype=np.int64)
    return _faiss().IDSelectorBatch(len(array), _faiss().swig_ptr(array)), array


def exact_subset(db: sqlite_utils.Database, ids) -> Any:
    """An exact (flat) index of the stored vectors of these chunks, in memory."""
    return build(*_vectors(db, ids), kind="flat")


def search(index, vectors: np.ndarray, k: int, only: tuple | None = None):
    """(scores, ids) of the k nearest vectors, among the ids of `only` (see `selector`) when given."""
    if only is None:
        return index.search(vectors, k)
    faiss = _faiss()
    kind = kind_of(index)
    if kind == "hnsw":
        params = faiss.SearchParametersHNSW(sel=only[0], efSearch=faiss.downcast_index(index.index).hnsw.efSearch)
    elif kind == "ivf":
        params = faiss.SearchParametersIVF(sel=only[0], nprobe=faiss.extract_index_ivf(index).nprobe)
    else:
        params = faiss.SearchParameters(sel=only[0])
    return index.search(vectors, k, params=params)


def stored_vectors(db: sqlite_utils.Database, ids) -> np.ndarray:
    """The stored vectors of these chunks (those embedded), one row each."""
    return _vectors(db, ids)[1]


def _vectors(db: sqlite_utils.Database, ids=None) -> tuple[np.ndarray, np.ndarray]:
    dim = int(get_setting(db, "embedding_dim") or 0)
    sql = "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL"
    rows = db.execute(sql).fetchall() if ids is None else [
        r for part in batches(list(ids)) for r in db.execute(sql + f" AND id IN ({marks(part)})", part)]
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, dim), dtype=np.float32)
    chunk_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return chunk_ids, vectors


def index_type(db: sqlite_utils.Database) -> str:
    """The requested type: "auto" (by size) unless the user fixed one."""
    return get_setting(db, "index_type") or "auto"


def built_params(db: sqlite_utils.Database) -> dict:
    """What the last build chose (type and parameters); empty before the first build."""
    return json.loads(get_setting(db, "index_params") or "{}")


def rebuild(db: sqlite_utils.Database, path: Path, kind: str | None = None,
            flat_limit: int = FLAT_LIMIT) -> int:
    """Build the index afresh from the vectors stored in the database; return its size."""
    kind = kind or index_type(db)
    if kind not in INDEX_TYPES:
        raise InvalidInput(f"unknown index type {kind!r}: choose one of {', '.join(INDEX_TYPES)}")
    ids, vectors = _vectors(db)
    dim = vectors.shape[1] if len(vectors) else int(get_setting(db, "embedding_dim") or 0)
    if not dim:
        raise NotReady("nothing is embedded yet: run `kb embed` first")
    index = build(ids, vectors.reshape(len(ids), dim), kind, flat_limit)
    save(index, path, db)
    with transaction(db):
        set_setting(db, "index_type", kind)
        set_setting(db, "index_params", json.dumps(params(index)))
    return int(index.ntotal)


def unusable(db: sqlite_utils.Database, path: Path) -> str | None:
    """Why the file at `path` cannot serve `db` (None when it can, or when there is none)."""
    try:
        load(path, db)
    except Unusable as exc:
        return exc.reason
    except NotReady:  # no file: nothing to replace
        pass
    return None


def sync(db: sqlite_utils.Database, path: Path, flat_limit: int = FLAT_LIMIT) -> Synced:
    """Bring the index level with the database.

    A missing index is built from the database, and an unusable one (corrupt,
    foreign: see `problem`) is replaced, saying why; so is an "auto" index
    whose size crossed `flat_limit`. HNSW cannot remove vectors: removed chunks
    stay in it (search drops ids the database no longer has) until they are
    STALE_REBUILD of it, then it is rebuilt.
    """
    if not get_setting(db, "embedding_dim"):
        return Synced(0, 0)
    try:
        index = load(path, db)
    except Unusable as exc:
        return Synced(rebuild(db, path, flat_limit=flat_limit), 0, exc.reason)
    except NotReady:
        return Synced(rebuild(db, path, flat_limit=flat_limit), 0)
    have = ids_in(index)
    want = np.fromiter((r[0] for r in db.execute(
        "SELECT id FROM chunks WHERE embedding IS NOT NULL")), dtype=np.int64)
    stale = np.setdiff1d(have, want, assume_unique=True)
    missing = np.setdiff1d(want, have, assume_unique=True)
    kind = kind_of(index)
    wrong_kind = index_type(db) == "auto" and kind != choose(len(want), flat_limit)
    if wrong_kind or (kind == "hnsw" and len(stale) > STALE_REBUILD * len(want)):
        rebuild(db, path, flat_limit=flat_limit)
        return Synced(len(missing), len(stale))
    if not len(missing) and (kind == "hnsw" or not len(stale)):
        return Synced(0, 0)
    if len(stale) and kind != "hnsw":
        index.remove_ids(stale)
    if len(missing):
        ids, vectors = _vectors(db, missing.tolist())
        index.add_with_ids(vectors, ids)
    if kind == "hnsw":
        graph = _faiss().downcast_index(index.index).hnsw
        graph.efSearch = ef_search(int(index.ntotal), graph.efConstruction)
    save(index, path, db)
    with transaction(db):
        set_setting(db, "index_params", json.dumps(params(index)))
    return Synced(len(missing), len(stale) if kind != "hnsw" else 0)


class Follower:
    """Brings the index level with the vectors while `kb embed` writes them, so that a running
    `kb serve` searches them as they land: at the first write, then at most every SYNC_EVERY
    seconds and never for more than a tenth of the time (a large HNSW file is slow to write)."""

    def __init__(self, db: sqlite_utils.Database, path: Path, every: float | None = None):
        self.db, self.path, self.every = db, path, SYNC_EVERY if every is None else every
        self.synced = Synced(0, 0)
        self._due = 0.0

    def sync(self) -> Synced:
        """Sync now; return what every sync of this follower did together."""
        started = time.monotonic()
        done = sync(self.db, self.path)
        self.synced = Synced(self.synced.added + done.added, self.synced.removed + done.removed,
                             self.synced.replaced or done.replaced)
        self._due = time.monotonic() + max(self.every, 10 * (time.monotonic() - started))
        return self.synced

    def progress(self, progress: Callable[[int, int], None] | None = None) -> Callable[[int, int], None]:
        """An embedding progress callback that also syncs when due, after calling `progress`."""
        def report(done: int, total: int) -> None:
            if progress:
                progress(done, total)
            if time.monotonic() >= self._due:
                self.sync()

        return report
