"""What a hit shows: its fields, the query terms found in it, a snippet, its best passage; and
the grouping of ranked documents into incidents (merged incidents resolve to their target),
each with its best matching documents in every language."""

from __future__ import annotations

import re
from collections import OrderedDict

from ..storage.merged import final_incidents
from ..storage.sql import by_id, marks
from ..text.scripts import HAN_RUN
from ..text.words import LATIN, words
from .filters import Filters
from .hits import DocumentHit, IncidentHit, Why
from .query import stem

MAX_DOCUMENTS = 5  # documents shown per incident hit


def _passages(db, best_chunk: dict[int, int], doc_ids: list[int]) -> dict[int, str]:
    """The best passage of each shown document that matched by meaning; none where that passage is
    derived (an English rendering, for retrieval only, is never shown as the document's text)."""
    chunks = {best_chunk[d]: d for d in doc_ids if d in best_chunk}
    return {chunks[r[0]]: _passage_snippet(r[1]) for r in by_id(
        db, "SELECT id, text FROM chunks WHERE id IN ({marks}) AND derived IS NULL", list(chunks)).values()}


def _passage_snippet(chunk_text: str, size: int = 240) -> str:
    body = chunk_text.split("\n", 1)[-1]
    return body if len(body) <= size else body[:size].rsplit(" ", 1)[0] + "…"


def found_terms(terms: list[str], title: str | None, text: str | None) -> list[str]:
    """The terms that occur in the title or text: Chinese as written, other words as whole words
    in any inflection (kb.text.words: `intern` is in "interns", not in "internal")."""
    haystack = f"{title or ''}\n{(text or '')[:200_000]}".lower()
    found = []
    for term in terms:
        if HAN_RUN.search(term):
            hit = term.lower() in haystack
        else:
            hit = all(_holds(haystack, w) for w in words(term))
        if hit:
            found.append(term)
    return found


def _holds(haystack: str, word: str) -> bool:
    """Whether the (lower-case) text holds a word that is `word` as an index word (kb.text.words)."""
    return word in haystack and any(words(m.group(0)) == [word]
                                    for m in re.finditer(rf"(?<!{LATIN}){re.escape(word)}{LATIN}*", haystack))


_DOC_COLUMNS = ("d.id, d.source, d.external_id, d.url, d.title, d.published, d.kind, d.language, "
                "(SELECT l.incident_id FROM incident_documents l WHERE l.document_id = d.id "
                " ORDER BY l.confidence DESC, l.incident_id LIMIT 1), d.text")


def _document_hit(rank: int, row: tuple, score: float, similarity: float | None,
                  passage: str | None, terms: list[str], incident_id: int | None) -> DocumentHit:
    text = row[9] or ""
    why = Why(found_terms(terms, row[4], text),
              round(similarity, 6) if similarity is not None else None, passage)
    snippet = _text_snippet(text, why.terms) if why.terms else (passage or _text_snippet(text, []))
    return DocumentHit(rank, round(float(score), 6), row[0], row[1], row[2], row[3], row[4], row[5],
                       row[6], row[7], snippet, incident_id, why)


def _text_snippet(text: str, terms: list[str], size: int = 240) -> str:
    """A window of the text from a little before the first term found in it (its start when none is)."""
    lowered = text[:200_000].lower()
    needles = [t.lower() if HAN_RUN.search(t) else stem(t.split()[0]) for t in terms]
    found = [i for i in (lowered.find(n) for n in needles if n) if i >= 0]
    start = max(0, min(found) - 60) if found else 0
    if start:
        space = text.find(" ", start, start + 20)
        start = space + 1 if space >= 0 else start
    piece = " ".join(text[start:start + size].split())
    return ("…" if start else "") + piece + ("…" if start + size < len(text) else "")


def documents(db, doc_ids: list[int], scores, similarity, best_chunk, terms) -> list[DocumentHit]:
    rows = by_id(db, f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.id IN ({{marks}})", doc_ids)
    passages = _passages(db, best_chunk, doc_ids)
    targets = final_incidents(db, {r[8] for r in rows.values() if r[8] is not None})
    return [_document_hit(rank, rows[d], scores[d], similarity.get(d), passages.get(d),
                          terms, targets.get(rows[d][8], rows[d][8]))
            for rank, d in enumerate(doc_ids, start=1)]


def incidents(db, ranked: list[int], k: int, scores, similarity, best_chunk, terms,
               filters: Filters) -> list[IncidentHit]:
    """Group ranked documents by incident; the top k incidents with their documents."""
    if not ranked:
        return []
    links = {r[0]: r[1] for r in by_id(db, (
        "SELECT d.id, (SELECT l.incident_id FROM incident_documents l WHERE l.document_id = d.id "
        " ORDER BY l.confidence DESC, l.incident_id LIMIT 1) FROM documents d WHERE d.id IN ({marks})"),
        ranked).values()}
    targets = final_incidents(db, {i for i in links.values() if i is not None})
    groups: OrderedDict[tuple, list[int]] = OrderedDict()
    for doc_id in ranked:
        incident = links[doc_id]
        key = ("i", targets.get(incident, incident)) if incident is not None else ("d", doc_id)
        if key in groups:
            groups[key].append(doc_id)
        elif len(groups) < k:
            groups[key] = [doc_id]
    top = [(key, members[:MAX_DOCUMENTS]) for key, members in groups.items()]
    shown = [d for _, members in top for d in members]
    docs = by_id(db, f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.id IN ({{marks}})", shown)
    passages = _passages(db, best_chunk, shown)
    incident_ids = [key[1] for key, _ in top if key[0] == "i"]
    meta = by_id(db, "SELECT id, title, incident_type, organisation, year, scope, legal_status, legal_status_date "
                     "FROM incidents WHERE id IN ({marks})", incident_ids)
    extra = _other_languages(db, incident_ids, {key[1]: members for key, members in top if key[0] == "i"},
                             docs, filters)
    hits = []
    for rank, (key, members) in enumerate(top, start=1):
        incident_id = key[1] if key[0] == "i" else None
        documents = [_document_hit(n, docs[d], scores[d], similarity.get(d), passages.get(d),
                                   terms, incident_id) for n, d in enumerate(members, start=1)]
        for row in extra.get(incident_id, []):
            if len(documents) >= MAX_DOCUMENTS:
                break
            documents.append(_document_hit(len(documents) + 1, row, 0.0, None, None, terms, incident_id))
        best = documents[0]
        info = meta.get(incident_id) or (None, best.title, None, None, None, None, None, None)
        found = {t for d in documents for t in d.why.terms}
        why = Why([t for t in dict.fromkeys(terms) if t in found],  # the query's own words first
                  max((d.why.semantic for d in documents if d.why.semantic is not None), default=None),
                  next((d.why.passage for d in documents if d.why.passage), None))
        hits.append(IncidentHit(rank, best.score, incident_id, info[1] or best.title, info[2], info[3], info[4],
                                best.document_id, best.source, best.external_id, best.url, best.published,
                                best.kind, best.language, best.snippet, documents, why, *info[5:8]))
    return hits


def _other_languages(db, incident_ids: list[int], members: dict[int, list[int]], docs: dict,
                     filters: Filters) -> dict[int, list[tuple]]:
    """For each incident, one document in each language that none of its matching documents is in."""
    if not incident_ids:
        return {}
    where, params = filters.sql()
    rows = db.execute(
        f"SELECT {_DOC_COLUMNS}, l.incident_id FROM incident_documents l "
        f"JOIN documents d ON d.id = l.document_id "
        f"WHERE l.incident_id IN ({marks(incident_ids)}){where} ORDER BY d.curated DESC, d.id",
        [*incident_ids, *params]).fetchall()
    out: dict[int, list[tuple]] = {}
    for row in rows:
        incident = row[10]
        seen = {docs[d][7] for d in members[incident]} | {r[7] for r in out.get(incident, [])}
        if row[0] not in members[incident] and row[7] not in seen:
            out.setdefault(incident, []).append(row[:10])
    return out
