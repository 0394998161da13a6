"""What a connection keeps between searches, forgotten when the database changes (another
connection's writes: PRAGMA data_version; its own: total_changes): the word index and its
filter masks, the vector searches of each filter, the document of each chunk, the documents
with derived passages."""

from __future__ import annotations

import weakref

_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
FILTERS_KEPT = 32  # filters whose masks and vector searches a connection keeps


def connection_state(db) -> dict:
    """What this connection learnt about the database, forgotten when it changes."""
    version = (db.execute("PRAGMA data_version").fetchone()[0], getattr(db, "conn", db).total_changes)
    state = _STATES.get(db)
    if state is None or state["version"] != version:
        state = _STATES[db] = {"version": version}
    return state


def per_filter(db, name: str, owner, where: str, params, make):
    """What `make()` builds for one filter (kb.search.filters.Filters.sql: `where`, `params`),
    kept by the connection under `name` while `owner`, the index it was built for, stays the same;
    at most FILTERS_KEPT filters."""
    kept = connection_state(db).setdefault(name, {})
    key = (where, tuple(params))
    found = kept.get(key)
    if found is None or found[0] is not owner:
        if len(kept) >= FILTERS_KEPT:
            kept.clear()
        found = kept[key] = (owner, make())
    return found[1]


def chunk_documents(db):
    """An array: the document of each chunk id (-1 where there is no such chunk)."""
    import numpy as np

    state = connection_state(db)
    if "chunk_documents" not in state:
        pairs = np.array(db.execute("SELECT id, document_id FROM chunks").fetchall(), dtype=np.int64).reshape(-1, 2)
        out = np.full(int(pairs[:, 0].max()) + 1 if len(pairs) else 0, -1, dtype=np.int32)
        out[pairs[:, 0]] = pairs[:, 1]
        state["chunk_documents"] = out
    return state["chunk_documents"]


def rendered(db) -> dict[str, frozenset[int]]:
    """{language: the documents with derived passages in it (kb.index.chunks)}."""
    state = connection_state(db)
    if "rendered" not in state:
        found: dict[str, set[int]] = {}
        for language, doc_id in db.execute(
                "SELECT DISTINCT derived, document_id FROM chunks WHERE derived IS NOT NULL"):
            found.setdefault(language, set()).add(doc_id)
        state["rendered"] = {language: frozenset(ids) for language, ids in found.items()}
    return state["rendered"]
