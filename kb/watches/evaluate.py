"""Every watch over what changed since it last looked: documents stored or updated, and the
documents of incidents created, changed or merged since then (documents.updated_at,
incidents.updated_at). Only those documents are scored, never the whole corpus.

Each watch's matches and how far it has looked are written in one transaction, and each item
is unique per watch (kb.storage.watches), so a run killed at any point loses nothing the next
run will not find, and nothing is recorded twice. A watch that fails keeps its error
(`watches.last_error`) and the others still run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import KBError
from ..search import modes
from ..search.filters import Filters, check_query
from ..search.query import Query, analyse
from ..storage import runs, watches
from ..storage.db import get_setting
from ..storage.merged import final_incidents
from ..storage.sql import batches, marks, rows
from . import relevance

log = logging.getLogger("kb")
SOURCE = "watches"  # the runs row of each evaluation


@dataclass
class Evaluation:
    run_id: int
    evaluated: int = 0  # changed documents looked at
    new: list[dict] = field(default_factory=list)  # matches recorded by this run
    failed: dict[str, str] = field(default_factory=dict)  # watch name -> error
    seconds: float = 0.0


def evaluate(kb, command: str = "update") -> Evaluation:
    """Evaluate every watch over what changed since it last looked; one `runs` row for all."""
    db = kb.db
    started = time.perf_counter()
    run_id = runs.start_run(db, SOURCE, command=command)
    result = Evaluation(run_id)
    all_watches = watches.all_watches(db)
    changed = _changed(db, min((w["checked_through"] for w in all_watches), default=None))
    result.evaluated = len(changed)
    docs = _documents(db, [d for d, (_, done) in changed.items() if done]) if changed else {}
    queries = _analysed(all_watches) if docs else {}
    passages = _passages(kb, docs, list(queries.values()))
    for watch in all_watches:
        mine = {d: c for d, c in changed.items() if c[0] >= watch["checked_through"]}
        try:
            found = _matches(kb, watch, {d: docs[d] for d in mine if d in docs}, queries, passages)
        except (KBError, ValueError, TypeError) as exc:  # a stored query or filter no longer valid
            watches.record_error(db, watch["id"], str(exc))
            runs.record_error(db, run_id, f"watch:{watch['name']}", str(exc))
            result.failed[watch["name"]] = str(exc)
            log.warning("watch %s failed: %s", watch["name"], exc)
            continue
        watches.record(db, watch["id"], found, run_id, _through(watch["checked_through"], mine))
    result.new = watches.of_run(db, run_id)
    result.seconds = time.perf_counter() - started
    runs.finish_run(db, run_id, {"seen": result.evaluated, "new": len(result.new), "failed": len(result.failed)},
                    status=runs.PARTIAL if result.failed else runs.OK)
    return result


def _changed(db, since: str | None) -> dict[int, tuple[str, bool]]:
    """{document: (when it or its incident last changed, whether it is processed)} since `since`."""
    if since is None:
        return {}
    found = db.execute(
        "SELECT d.id, max(d.updated_at, coalesce(max(i.updated_at), '')), d.processed_sha256 IS d.content_sha256 "
        "FROM documents d LEFT JOIN incident_documents l ON l.document_id = d.id "
        "LEFT JOIN incidents i ON i.id = l.incident_id "
        "WHERE d.id IN (SELECT id FROM documents WHERE updated_at >= :since UNION "
        "  SELECT l2.document_id FROM incident_documents l2 JOIN incidents i2 ON i2.id = l2.incident_id "
        "  WHERE i2.updated_at >= :since) GROUP BY d.id", {"since": since}).fetchall()
    return {row[0]: (row[1], bool(row[2])) for row in found}


def _through(before: str, mine: dict[int, tuple[str, bool]]) -> str:
    """How far a watch has now looked: its newest processed change, but not past an unprocessed
    document (linked by the next run, and looked at then)."""
    waiting = [c for c, done in mine.values() if not done]
    if waiting:
        return min(waiting)
    return max([before, *(c for c, _ in mine.values())])


def _documents(db, doc_ids: list[int]) -> dict[int, dict]:
    """The changed documents: fields the filters and measures read, and the incident each stands in."""
    out = {}
    for chunk in batches(doc_ids):
        for row in rows(db, "SELECT d.id, d.title, d.text, d.language, d.source, d.kind, d.published, "
                            "(SELECT l.incident_id FROM incident_documents l WHERE l.document_id = d.id "
                            " ORDER BY l.confidence DESC, l.incident_id LIMIT 1) AS incident_id "
                            f"FROM documents d WHERE d.id IN ({marks(chunk)})", chunk):
            out[row["id"]] = row
    targets = final_incidents(db, {d["incident_id"] for d in out.values() if d["incident_id"]})
    for doc in out.values():
        doc["incident_id"] = targets.get(doc["incident_id"], doc["incident_id"])
    return out


def _analysed(all_watches: list[dict]) -> dict[int, Query]:
    """Each query watch's query read once (words, lexicon wordings, gloss); a stored query that no
    longer passes the checks is left out, and fails when its watch is evaluated."""
    out = {}
    for watch in all_watches:
        if watch["query"] is not None:
            try:
                out[watch["id"]] = analyse(check_query(watch["query"]))
            except KBError:
                pass
    return out


def _passages(kb, docs: dict[int, dict], queries: list[Query]) -> dict[int, np.ndarray] | None:
    """The changed documents' passage vectors, read once for every watch (None: nothing embedded);
    the queries' vectors are encoded now too, in one batch (the searcher keeps them)."""
    if not docs or not get_setting(kb.db, "embedding_model") or not kb.searcher.vectors.exists():
        return None
    texts = [t for q in queries for t in ([q.text, q.english] if q.english else [q.text])]
    if texts:
        kb.searcher.query_vectors(texts)
    found: dict[int, list] = {}
    for chunk in batches(sorted(docs)):
        for doc_id, blob in kb.db.execute("SELECT document_id, embedding FROM chunks WHERE embedding IS NOT NULL "
                                          f"AND document_id IN ({marks(chunk)})", chunk):
            found.setdefault(doc_id, []).append(np.frombuffer(blob, dtype=np.float32))
    return {doc_id: np.vstack(vectors) for doc_id, vectors in found.items()}


def _matches(kb, watch: dict, docs: dict[int, dict], queries: dict[int, Query],
             passages: dict[int, np.ndarray] | None) -> list[dict]:
    if not docs:
        return []
    if watch["query"] is None:
        return _followed(kb.db, watch, docs)
    # a query left out of `queries` no longer passes the checks: reading it again raises its error
    return _searched(kb, watch, docs, queries.get(watch["id"]) or analyse(check_query(watch["query"])), passages)


def _searched(kb, watch: dict, docs: dict[int, dict], query: Query,
              passages: dict[int, np.ndarray] | None) -> list[dict]:
    """The changed documents that pass the watch's filters and its mode's floors."""
    db = kb.db
    mode = modes.get(watch["mode"])
    where, params = Filters(**watch["filters"]).sql()
    ids = sorted(docs)
    kept = set()
    for chunk in batches(ids):
        kept |= {r[0] for r in db.execute(f"SELECT d.id FROM documents d WHERE d.id IN ({marks(chunk)}){where}",
                                          [*chunk, *params])}
    vectors = passages is not None and mode.uses_vectors(True)
    keyword = mode.name != "semantic"
    similarity = _similarities(kb, query, {d: docs[d] for d in kept}, passages) if vectors else {}
    floor = watch["floor"] if watch["floor"] is not None else relevance.FLOOR
    min_sim = watch["min_similarity"] if watch["min_similarity"] is not None else relevance.MIN_SIMILARITY
    out = []
    for doc_id in sorted(kept):
        doc = docs[doc_id]
        terms, share = relevance.share_found(query, doc["title"], doc["text"])
        rel = relevance.Relevance(terms, share, similarity.get(doc_id))
        passed = relevance.passes(rel, keyword, vectors, floor, min_sim)
        if passed:
            out.append({"item": f"d{doc_id}", "kind": "document", "incident_id": doc["incident_id"],
                        "document_id": doc_id, "title": doc["title"], "reason": rel.reason(passed)})
    return out


def _similarities(kb, query, docs: dict[int, dict], passages: dict[int, np.ndarray]) -> dict[int, float]:
    """Each document's best passage similarity to the query (its English gloss too, for documents
    that are not Chinese)."""
    vectors = kb.searcher.query_vectors([query.text, query.english] if query.english else [query.text])
    best = {}
    for doc_id, doc in docs.items():
        if doc_id in passages:
            rows_ = vectors if doc["language"] != "zh" else vectors[:1]
            best[doc_id] = float(np.max(rows_ @ passages[doc_id].T))
    return best


def _followed(db, watch: dict, docs: dict[int, dict]) -> list[dict]:
    """A watch on one incident or case: its changed documents and their legal steps."""
    if watch["incident_id"] is not None:
        target = final_incidents(db, [watch["incident_id"]])[watch["incident_id"]]
        mine = [d for d in sorted(docs) if docs[d]["incident_id"] == target]
        why = {"incident": f"i{target}"}
    else:
        case = rows(db, "SELECT case_number, document_id FROM cases WHERE id = ?", [watch["case_id"]])
        number, own = (case[0]["case_number"], case[0]["document_id"]) if case else (None, None)
        named = {r[0] for r in db.execute("SELECT document_id FROM legal_facts WHERE case_number = ?", [number])}
        mine = [d for d in sorted(docs) if d == own or d in named]
        why = {"case": number}
    out = []
    for doc_id in mine:
        doc = docs[doc_id]
        out.append({"item": f"d{doc_id}", "kind": "document", "incident_id": doc["incident_id"], "document_id": doc_id,
                    "title": doc["title"], "reason": {**why, "passed": "new document"}})
        for step in rows(db, "SELECT kind, status, date, sentence FROM legal_facts WHERE document_id = ? "
                             "ORDER BY start_offset", [doc_id]):
            digest = hashlib.sha1(step["sentence"].encode("utf-8")).hexdigest()[:12]
            out.append({"item": f"d{doc_id}/{step['kind']}/{digest}", "kind": "legal_step",
                        "incident_id": doc["incident_id"], "document_id": doc_id,
                        "title": f"{step['kind']}{' ' + step['date'] if step['date'] else ''}: {step['sentence'][:160]}",
                        "reason": {**why, "passed": "new legal step", "step": step["kind"], "status": step["status"],
                                   "date": step["date"]}})
    return out
