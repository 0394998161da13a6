"""The automatic index choice, with real faiss and a real SQLite file (small generated vectors)."""

import numpy as np

from kb import settings
from kb.index import vector_index
from kb.storage.db import open_db, set_setting

DIM = 32


def _stored(tmp_path, n, seed=0):
    """A database holding `n` unit vectors as chunk embeddings; returns (db, path, ids, vectors)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    path = tmp_path / "kb.db"
    db = open_db(path)
    with db.conn:
        db.execute("INSERT INTO documents (source, external_id, kind, text, created_at, updated_at) "
                   "VALUES ('test', '1', 'news', 'generated vectors', '2024', '2024')")
        db.conn.executemany(
            "INSERT INTO chunks (document_id, seq, text, text_hash, embedding) VALUES (1, ?, 'x', ?, ?)",
            [(i, str(i), v.tobytes()) for i, v in enumerate(vectors)])
        set_setting(db, "embedding_dim", str(DIM))
    ids = np.array([r[0] for r in db.execute("SELECT id FROM chunks ORDER BY seq")])
    return db, settings.paths(path).index, ids, vectors


def test_auto_index_goes_approximate_above_the_limit_and_finds_stored_vectors(tmp_path):
    db, path, ids, vectors = _stored(tmp_path, 2000)
    assert vector_index.rebuild(db, path, flat_limit=5000) == 2000
    assert vector_index.built_params(db)["type"] == "flat"
    assert vector_index.rebuild(db, path, flat_limit=500) == 2000
    built = vector_index.built_params(db)
    assert built["type"] == "hnsw" and built["efSearch"] == vector_index.ef_search(2000)
    loaded = vector_index.load(path)
    assert vector_index.kind_of(loaded) == "hnsw"
    picks = np.random.default_rng(1).choice(len(ids), 50, replace=False)
    _, found = loaded.search(vectors[picks], 1)
    assert (found[:, 0] == ids[picks]).all()  # each stored vector is its own nearest neighbour


def test_sync_switches_to_hnsw_when_the_corpus_outgrows_the_limit(tmp_path):
    db, path, ids, vectors = _stored(tmp_path, 600)
    with db.conn:
        db.execute("UPDATE chunks SET embedding = NULL WHERE seq >= 300")
    assert vector_index.sync(db, path, flat_limit=400) == (300, 0, None)
    assert vector_index.kind_of(vector_index.load(path)) == "flat"
    with db.conn:
        db.conn.executemany("UPDATE chunks SET embedding = ? WHERE id = ?",
                            [(v.tobytes(), int(i)) for i, v in zip(ids[300:], vectors[300:])])
    assert vector_index.sync(db, path, flat_limit=400) == (300, 0, None)
    grown = vector_index.load(path)
    assert vector_index.kind_of(grown) == "hnsw" and grown.ntotal == 600
    _, found = grown.search(vectors[450:451], 1)
    assert found[0, 0] == ids[450]
    with db.conn:  # one removed chunk stays in the HNSW graph (search drops unknown ids) ...
        db.execute("DELETE FROM chunks WHERE id = ?", [int(ids[0])])
    assert vector_index.sync(db, path, flat_limit=400) == (0, 0, None)
    with db.conn:  # ... until removed chunks pass STALE_REBUILD of the index
        db.execute("DELETE FROM chunks WHERE seq < 100")
    assert vector_index.sync(db, path, flat_limit=400) == (0, 100, None)
    assert vector_index.load(path).ntotal == 500


def test_a_graph_built_with_fewer_candidates_keeps_searching_as_many_as_it_needs_when_it_grows(
        tmp_path, monkeypatch):
    """An HNSW file from before efConstruction 200 (built with 64) needs three times the search
    candidates for the same recall: adding vectors to it must not give it the new, smaller efSearch."""
    db, path, ids, vectors = _stored(tmp_path, 900)
    with db.conn:
        db.execute("UPDATE chunks SET embedding = NULL WHERE seq >= 800")
    monkeypatch.setattr(vector_index, "HNSW_EF_CONSTRUCTION", 64)  # the build before
    vector_index.rebuild(db, path, flat_limit=500)
    old = vector_index.built_params(db)
    monkeypatch.undo()
    assert old["efConstruction"] == 64 and old["efSearch"] == vector_index.ef_search(800, 64)
    with db.conn:
        db.conn.executemany("UPDATE chunks SET embedding = ? WHERE id = ?",
                            [(v.tobytes(), int(i)) for i, v in zip(ids[800:], vectors[800:])])
    assert vector_index.sync(db, path, flat_limit=500).added == 100
    grown = vector_index.built_params(db)
    assert grown["efConstruction"] == 64 and grown["efSearch"] == old["efSearch"] > vector_index.ef_search(900)
    vector_index.rebuild(db, path, flat_limit=500)  # rebuilt: the new graph and its efSearch
    assert vector_index.built_params(db)["efConstruction"] == vector_index.HNSW_EF_CONSTRUCTION


def test_auto_index_goes_ivf_past_the_ivf_limit_and_drops_removed_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_index, "IVF_LIMIT", 1000)
    db, path, ids, vectors = _stored(tmp_path, 2000)
    assert vector_index.rebuild(db, path, flat_limit=500) == 2000
    built = vector_index.built_params(db)
    assert built["type"] == "ivf" and built["nprobe"] == vector_index.nprobe(built["nlist"]) < built["nlist"]
    picks = np.random.default_rng(1).choice(len(ids), 50, replace=False)
    _, found = vector_index.load(path).search(vectors[picks], 1)
    assert (found[:, 0] == ids[picks]).all()
    with db.conn:  # IVF removes vectors: no stale ones kept, no rebuild
        db.execute("DELETE FROM chunks WHERE seq < 100")
    assert vector_index.sync(db, path, flat_limit=500) == (0, 100, None)
    shrunk = vector_index.load(path)
    assert shrunk.ntotal == 1900 and not set(vector_index.ids_in(shrunk)) & set(ids[:100].tolist())


def test_a_selector_limits_every_index_type_to_its_ids_and_keeps_their_order(tmp_path):
    """Search restricted to some chunks (one language's, in kb.search) returns only those chunks:
    the same neighbours as an exact search over them alone (flat, HNSW), or its own vector first (IVF)."""
    _, _, ids, vectors = _stored(tmp_path, 2000)
    keep = ids[ids % 7 == 0]
    query = vectors[ids == keep[3]]
    exact = keep[np.argsort(-(vectors[np.isin(ids, keep)] @ query[0]))][:10]
    for kind in ("flat", "hnsw", "ivf"):
        index = vector_index.build(ids, vectors, kind)
        _, found = vector_index.search(index, query, 10, vector_index.selector(keep))
        assert set(found[0]) <= set(keep) and found[0][0] == keep[3], kind
        if kind != "ivf":  # IVF probes a fifth of its lists: approximate
            assert list(found[0]) == list(exact), kind
