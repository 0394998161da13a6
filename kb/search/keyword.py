"""Keyword hits: BM25 over the word index (stemmed English; Chinese segmented into words), the
query's lexicon terms in both languages, a Chinese query's English gloss, the word index of
derived passages (a Chinese document's English rendering), the trigram index for Chinese
substrings and LIKE for Chinese terms under three characters.

This module reads the full-text indexes (documents_words, documents_fts, documents_segmented,
passage_words), which the schema's triggers keep level with the documents and chunks.
"""

from __future__ import annotations

from typing import Iterable

from ..text.scripts import HAN_RUN
from ..text.segment import tokens as segment_tokens
from .filters import Filters
from .query import Query, query_words
from ..storage.sql import by_id
from .state import connection_state, rendered

EXPANSION_WEIGHT = 0.5  # other wordings in the query's language count half as much as the query's own words
CROSS_WEIGHT = 1.0  # lexicon terms in the other language: the only words that can match its documents
GLOSS_WEIGHT = 1.0  # the English gloss of a Chinese query's words (kb.search.gloss), for English documents
DERIVED_WEIGHT = 2.0  # Chinese documents' English renderings against English passages: a crude rendering
# holds fewer of a question's words (1.5 and 3 measured too: bench/crosslingual.py)
TITLE_WEIGHT = 2.0  # BM25 weight of a title word against a body word (2 beat 1 and 4 on tests/data)
COMMON_SHARE = 0.5  # a word in more of the documents than this is left out of keyword queries with rarer words
COUNT_CACHE = 100_000  # words whose document counts a connection keeps (see _document_counts)


def _fts_parts(terms: Iterable[str]) -> list[str]:
    """FTS5 query parts, one per term, to be OR-ed; a term of several words (Chinese split into
    its words) matches them close together, in any order (删除 了 数据库 for 删除数据库)."""
    parts = []
    for term in terms:
        tokens = [f'"{w}"' for w in segment_tokens(term.replace('"', " "))]
        if len(tokens) == 1:
            parts.append(tokens[0])
        elif tokens:
            parts.append(f"NEAR({' '.join(tokens)}, 6)")  # the index holds sub-words too
    return list(dict.fromkeys(parts))


def _document_counts(db, parts: list[str]) -> tuple[int, dict[str, int]]:
    """(documents in the knowledge base, {part: documents it matches})."""
    state = connection_state(db)
    if "documents" not in state or len(state["counts"]) > COUNT_CACHE:
        state["documents"] = db.execute("SELECT count(*) FROM documents").fetchone()[0]
        state["counts"] = {}
    counts = state["counts"]
    for part in parts:
        if part not in counts:
            counts[part] = db.execute("SELECT count(*) FROM documents_words WHERE documents_words MATCH ?",
                                      [part]).fetchone()[0]
    return state["documents"], counts


def _without_common(db, parts: list[str]) -> list[str]:
    """The parts less the single words found in more than COMMON_SHARE of all documents,
    unless nothing rarer is left.

    BM25 scores every document that matches any part (about a microsecond
    each: most of a keyword query's time at 100k passages, where a common
    word matches two thirds of the documents). A word in more than half of
    them has a BM25 IDF of at most zero, which FTS5 floors at 1e-6: it adds
    nothing to any score, only documents to score.
    """
    single = [p for p in parts if not p.startswith("NEAR(")]
    if len(parts) < 2 or not single:
        return parts
    total, counts = _document_counts(db, single)
    kept = [p for p in parts if p not in single or counts[p] <= COMMON_SHARE * total]
    return kept or parts


def _word_hits(db, parts: list[str], where: str, params: list, pool: int):
    """Documents by BM25 over the word index for the OR of `parts`, best first."""
    parts = _without_common(db, parts)
    if not parts:
        return []
    # No snippet() here: it would be computed for every candidate; shown hits get theirs later.
    # The documents table is joined only when filters need it (it doubled the time of BM25).
    join = " JOIN documents d ON d.id = documents_words.rowid" if where else ""
    return db.execute(
        f"SELECT documents_words.rowid, -bm25(documents_words, {TITLE_WEIGHT}, 1.0), NULL "
        f"FROM documents_words{join} WHERE documents_words MATCH ?{where} ORDER BY 2 DESC LIMIT ?",
        [" OR ".join(parts), *params, pool]).fetchall()


def _derived_hits(db, parts: list[str], where: str, params: list, pool: int):
    """Documents by the BM25 of their best derived passage for the OR of `parts`, best first, each
    score scaled by the best of any passage without Chinese (the passages they compete with)."""
    if not parts:
        return []
    join = (" JOIN chunks c ON c.id = passage_words.rowid JOIN documents d ON d.id = c.document_id"
            if where else "")
    rows = db.execute(
        f"SELECT passage_words.rowid, -bm25(passage_words) FROM passage_words{join} "
        f"WHERE passage_words MATCH ?{where} ORDER BY 2 DESC LIMIT ?",
        [" OR ".join(parts), *params, 4 * pool]).fetchall()
    top = max((score for _, score in rows), default=0.0)
    derived = by_id(db, "SELECT id, document_id FROM chunks WHERE id IN ({marks}) AND derived IS NOT NULL",
                    [chunk for chunk, _ in rows])
    best: dict[int, float] = {}
    for chunk, score in rows:
        if chunk in derived:
            doc_id = derived[chunk][1]
            best[doc_id] = max(best.get(doc_id, 0.0), score / top if top > 0 else 1.0)
    return [(doc_id, score, None) for doc_id, score in sorted(best.items(), key=lambda item: -item[1])[:pool]]


def keyword_hits(db, query: Query, filters: Filters, pool: int) -> dict[int, tuple[float, str]]:
    """Documents by BM25 over the word index, best first.

    Each list is scaled by its best score and weighted: the query's own words
    1, its lexicon terms in the other language CROSS_WEIGHT (they alone can
    match documents in that language), other wordings in its own language
    EXPANSION_WEIGHT (so an exact match of 删库 ranks above a document that
    only says 删除数据库), the words of a Chinese query's English gloss
    GLOSS_WEIGHT, the query's words in derived passages (Chinese documents'
    English renderings, which then leave the lexicon's Chinese terms) DERIVED_WEIGHT,
    scaled by the best passage without Chinese (else the best Chinese document
    would score as much as the best English one for any English query), Chinese
    substrings from the trigram
    index 0.5 and, for Chinese terms under three characters, LIKE 0.1.
    """
    where, params = filters.sql()
    zh, en = query.expansions
    english = query.english
    hits: dict[int, tuple[float, str]] = {}
    own = _fts_parts(query.terms)
    _merge(hits, _word_hits(db, own, where, params, pool))
    readable = frozenset() if query.chinese else rendered(db).get("en", frozenset())  # read in English
    if readable:  # already scaled (see _derived_hits); a Chinese query reads them in Chinese
        _merge(hits, _derived_hits(db, own, where, params, pool), DERIVED_WEIGHT, 1.0)
    runs = list(dict.fromkeys(HAN_RUN.findall(query.text)))
    same, other = (zh, en) if runs else (en, zh)
    _merge(hits, _word_hits(db, _fts_parts(same), where, params, pool), EXPANSION_WEIGHT)
    _merge(hits, [r for r in _word_hits(db, _fts_parts(other), where, params, pool) if r[0] not in readable],
           CROSS_WEIGHT)
    if english:  # the gloss's words that the lexicon's English terms (just searched) do not hold
        covered = {w.lower() for phrase in other for w in query_words(phrase)}
        extra = [w for w in query_words(english) if w.lower() not in covered]
        _merge(hits, _word_hits(db, _fts_parts(extra), where, params, pool), GLOSS_WEIGHT)
    grams = [g for run in runs if len(run) >= 3 for g in _trigrams(run)]
    if grams:
        match = " OR ".join(f'"{g}"' for g in dict.fromkeys(grams))
        join = " JOIN documents d ON d.id = documents_fts.rowid" if where else ""
        rows = db.execute(
            "SELECT documents_fts.rowid, -bm25(documents_fts, 2.0, 1.0), NULL "
            f"FROM documents_fts{join} WHERE documents_fts MATCH ?{where} "
            "ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT ?",
            [match, *params, pool]).fetchall()
        _merge(hits, rows, 0.5)
    short = [run for run in runs if len(run) < 3]
    if short:  # inside longer words, which the word index cannot match
        _merge(hits, _like_hits(db, short, where, params, pool), 0.1)
    return dict(sorted(hits.items(), key=lambda item: -item[1][0])[:pool])


def _best(rows) -> float:
    return max((score for _, score, _ in rows), default=0.0)


def _merge(hits: dict, rows, weight: float = 1.0, scale: float = 0.0) -> None:
    """Add rows, scaled by their best score (or `scale`, if higher) and weighted; a document found in
    several lists adds up."""
    top = max(_best(rows), scale)
    for doc_id, score, snippet in rows:
        value = weight * (score / top if top > 0 else 1.0)
        if doc_id in hits:
            hits[doc_id] = (hits[doc_id][0] + value, hits[doc_id][1])
        else:
            hits[doc_id] = (value, snippet)


def _trigrams(run: str) -> list[str]:
    return [run] if len(run) <= 3 else [run[i:i + 3] for i in range(len(run) - 2)]


def _like_hits(db, terms: list[str], where: str, params: list, pool: int):
    """CJK terms under three characters, which the trigram index cannot match.

    Only documents with Chinese (those in documents_segmented) can hold them:
    the scan skips the others (at 100k passages, a tenth Chinese: 25 ms instead of 120).
    """
    score = " + ".join("(instr(d.title, ?) > 0) * 2 + (instr(d.text, ?) > 0)" for _ in terms)
    cond = " OR ".join("d.title LIKE ? OR d.text LIKE ?" for _ in terms)
    args = [t for term in terms for t in (term, term)]
    likes = [f"%{t}%" for term in terms for t in (term, term)]
    return db.execute(
        f"SELECT d.id, ({score}) AS s, NULL "
        f"FROM documents d WHERE d.id IN (SELECT id FROM documents_segmented) AND ({cond}){where} "
        "ORDER BY s DESC, d.id LIMIT ?",
        [*args, *likes, *params, pool]).fetchall()
