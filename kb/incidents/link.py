"""Link documents to incidents: the pipeline's last step, and `relink`.

`step(db, doc_ids)` runs after a batch of documents was stored and its entities
extracted: it sketches their texts (kb.incidents.sketches), lets manual
decisions win (kb.incidents.edits), then links every document that has no
incident yet to the best-matching incident, or creates one from the
document's facts (kb.incidents.fields). Matching uses shared entities
(organisation after alias normalisation, person, case number, court,
amounts, role, type), dates, text overlap and, when documents are embedded,
vector similarity (kb.incidents.matcher, kb.incidents.scoring).

Records of one case that came with their own incidents (a curated entry and
the VCDB record of the same breach; VCDB duplicates of one breach) are joined
by merging their incidents (`merged_by = 'auto'`).

Every link and merge keeps its evidence (a JSON list of reasons) and its
confidence. Pairs scoring between REVIEW and THRESHOLD are listed in
`link_candidates` for a person to decide (`kb incident candidates`).

Links have a method: 'source' (the source says so: VCDB, starter set),
'manual' (a person decided) or 'auto' (this module). Only 'auto' links and
merges are ever redone; manual decisions always win.
"""

from __future__ import annotations

import json

import sqlite_utils

from ..extract.aliases import load_aliases
from ..storage.sql import batches, now_iso, transaction
from ..storage.store import documents_of, is_linked, link, texts
from .edits import apply_manual_decisions, drop_empty_auto_incidents
from .fields import attach, create_incident
from .matcher import Matcher
from .scoring import IDENTIFYING, REVIEW, THRESHOLD, Match, Profile, score_match
from .sketches import store as store_sketches

BATCH = 500  # documents per write transaction: readers and writers wait less


def step(db: sqlite_utils.Database, doc_ids: list[int], create: bool = True) -> dict[str, int]:
    """The pipeline step: sketch the documents' texts, link each unlinked one to an incident, and
    join incidents of other sources that report the same case.

    Joins the caller's transaction when one is open. `create=False` only links to existing
    incidents. Returns counts.
    """
    doc_ids = sorted(set(doc_ids))
    aliases = load_aliases(db)
    matcher = Matcher(db, aliases)
    for chunk in batches(doc_ids, BATCH):
        with transaction(db):
            store_sketches(db, {doc_id: matcher.remember(doc_id, *fields) for doc_id, fields in texts(db, chunk).items()})
            apply_manual_decisions(db, chunk)
    counts = {"documents": len(doc_ids), "linked": 0, "created": 0, "merged": 0, "candidates": 0}
    for chunk in batches(doc_ids, BATCH):
        with transaction(db):
            for doc_id in chunk:
                if is_linked(db, doc_id):
                    _join_incidents(db, matcher, doc_id, counts)
                    continue
                match = matcher.best(doc_id)
                if match and match.score >= THRESHOLD:
                    attach(db, doc_id, match.incident_id, match.score, aliases)
                    set_evidence(db, match.incident_id, doc_id, match.reasons)
                    counts["linked"] += 1
                    continue
                if match and match.score >= REVIEW:
                    _candidate(db, doc_id, match)
                    counts["candidates"] += 1
                if create:
                    create_incident(db, doc_id, aliases)
                    counts["created"] += 1
    return counts


def forget_machine_decisions(db: sqlite_utils.Database) -> None:
    """Undo every automatic link and merge and the review list (source and manual ones stay):
    what `relink` does before it runs the pipeline again over every document."""
    with transaction(db):
        db.execute("DELETE FROM incident_documents WHERE method = 'auto'")
        db.execute("UPDATE incidents SET merged_into = NULL, merged_by = NULL, merge_evidence = NULL "
                   "WHERE merged_by = 'auto'")
        db.execute("DELETE FROM link_candidates")
        drop_empty_auto_incidents(db)


def candidates(db: sqlite_utils.Database) -> list[dict]:
    """Pairs left for a person to decide: a document and the incident it may belong to."""
    cur = db.execute(
        "SELECT c.document_id, d.title, c.incident_id, i.title, c.score, c.evidence FROM link_candidates c "
        "JOIN documents d ON d.id = c.document_id JOIN incidents i ON i.id = c.incident_id "
        "WHERE i.merged_into IS NULL ORDER BY c.score DESC, c.document_id, c.incident_id")
    return [{"document_id": d, "document_title": dt, "incident_id": i, "incident_title": it,
             "score": score, "evidence": json.loads(ev or "[]")} for d, dt, i, it, score, ev in cur]


# --- joining incidents of other sources -------------------------------------------

def _join_incidents(db: sqlite_utils.Database, matcher: "Matcher", doc_id: int, counts: dict) -> None:
    """Merge the incident a source gave this document into another incident of the same case."""
    row = db.execute(
        "SELECT i.id, i.curated FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
        "WHERE l.document_id = ? AND l.method = 'source' AND i.merged_into IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM incident_documents m WHERE m.incident_id = i.id AND m.method = 'manual') "
        "ORDER BY i.id LIMIT 1", [doc_id]).fetchone()
    if row is None:
        return
    mine, curated = row
    live_curated = "SELECT curated FROM incidents WHERE id = ?"
    others = [i for i in matcher.candidates(doc_id, Profile(), by_organisation=False) if i != mine]
    if not others:  # merging needs more than a shared name: no shared person, number, amount or text
        return
    me = matcher.incident_profile(mine)
    best: Match | None = None
    for other in others:
        if other == mine or _has_manual(db, other) or (curated and db.execute(live_curated, [other]).fetchone()[0]):
            continue  # a person decided: manual links, and curated entries, which are distinct by definition
        score, reasons = score_match(me, matcher.incident_profile(other))
        if best is None or score > best.score:
            best = Match(other, score, reasons)
    if best is None or best.score < REVIEW:
        return
    if best.score >= THRESHOLD and any(r.startswith(IDENTIFYING) for r in best.reasons):
        other_curated = db.execute(live_curated, [best.incident_id]).fetchone()[0]
        target, source = (mine, best.incident_id) if curated and not other_curated else (best.incident_id, mine)
        auto_merge(db, target, source, best.score, best.reasons)
        matcher.forget(target, source)
        counts["merged"] += 1
    else:
        _candidate(db, doc_id, best)
        counts["candidates"] += 1


def auto_merge(db: sqlite_utils.Database, target: int, other: int, score: float, reasons: list[str]) -> None:
    """Merge `other` into `target` by machine: its documents get 'auto' links with the evidence;
    its own links stay, so `relink` can undo the merge."""
    evidence = json.dumps(reasons, ensure_ascii=False)
    for doc_id in documents_of(db, other):
        link(db, target, doc_id, confidence=min(1.0, score), method="auto")
        set_evidence(db, target, doc_id, reasons)
    db.execute("UPDATE incidents SET merged_into = ?, merged_by = 'auto', merge_evidence = ?, updated_at = ? "
               "WHERE id = ? OR merged_into = ?", [target, evidence, now_iso(), other, other])
    db.execute("DELETE FROM link_candidates WHERE incident_id = ?", [other])


def _has_manual(db: sqlite_utils.Database, inc_id: int) -> bool:
    return db.execute("SELECT 1 FROM incident_documents WHERE incident_id = ? AND method = 'manual' LIMIT 1",
                      [inc_id]).fetchone() is not None


def set_evidence(db: sqlite_utils.Database, inc_id: int, doc_id: int, reasons: list[str]) -> None:
    db.execute("UPDATE incident_documents SET evidence = ? WHERE incident_id = ? AND document_id = ? "
               "AND method = 'auto'", [json.dumps(reasons, ensure_ascii=False), inc_id, doc_id])


def _candidate(db: sqlite_utils.Database, doc_id: int, match: Match) -> None:
    db.execute("INSERT OR REPLACE INTO link_candidates (document_id, incident_id, score, evidence) "
               "VALUES (?, ?, ?, ?)", [doc_id, match.incident_id, match.score,
                                       json.dumps(match.reasons, ensure_ascii=False)])
