"""Keyword hits: BM25 over the word index (kb.index.words: English words without their
inflections, so `intern` is not `internal`; Chinese segmented into words), the query's lexicon
terms in both languages, a Chinese query's English gloss, the passage index for derived
passages (a Chinese document's English rendering), the trigram index for Chinese substrings
and LIKE for Chinese terms under three characters.

The word and passage indexes are read from memory (built from the documents and chunks,
rebuilt when they change); the trigram index (documents_fts) and documents_segmented are kept
level with the documents by the schema's triggers. Filters choose the documents ranked (a mask from
SQL), before any ranking.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..index.words import TITLE_WEIGHT, passage_index, word_index
from ..text.scripts import HAN_RUN
from ..text.segment import tokens as segment_tokens
from ..text.words import phrase_word, words
from .filters import Filters
from .query import Query, query_words
from .state import chunk_documents, connection_state, per_filter, rendered

# Other wordings in the query's language (its lexicon concepts' other phrases) count a quarter as much
# as the query's own words. Since English queries get them too (before, only Chinese ones did): on the
# demo database, hybrid by incident, vague MRR 0.654 -> 0.708, validation 0.804 -> 0.812, English
# 0.886 -> 0.901, Chinese->English 0.654 -> 0.680; at half weight 0.702, 0.813, 0.899 with lower
# keyword-only figures (bench/relevance.py; docs/benchmarks.md has what it cost).
EXPANSION_WEIGHT = 0.25
CROSS_WEIGHT = 1.0  # lexicon terms in the other language: the only words that can match its documents
GLOSS_WEIGHT = 1.0  # the English gloss of a Chinese query's words (kb.search.gloss), for English documents
DERIVED_WEIGHT = 2.0  # Chinese documents' English renderings against English passages: a crude rendering
# holds fewer of a question's words (1.5 and 3 measured too: bench/crosslingual.py)
NEAR_WINDOW = 6  # words a phrase's words may stand apart (删除 了 数据库 for 删除数据库)
COMMON_SHARE = 0.5  # a word in more of the documents than this is left out of keyword queries with rarer words


def _groups(index, terms: Iterable[str]) -> list[list[str]]:
    """The words of each term, one group per term, to be OR-ed: one index word (kb.text.words),
    or the words of a phrase as written (a lexicon phrase; a Chinese term split into its words),
    which must stand close together (see _word_hits). A Chinese term the index holds whole is
    that one word."""
    groups = []
    for term in terms:
        whole = words(term)
        if len(whole) == 1 and (whole[0] in index.word_ids or not HAN_RUN.search(term)):
            groups.append(whole)
            continue
        if phrase_word(term) in index.word_ids:  # a lexicon phrase the index holds as one word
            groups.append([phrase_word(term)])
            continue
        tokens = [t for t in segment_tokens(term) if words(t)]
        if len(tokens) == 1:
            tokens = words(tokens[0])  # one word to the segmenter (covid-19): its index words
        if tokens:
            groups.append(tokens)
    return [list(g) for g in dict.fromkeys(tuple(g) for g in groups)]


def _without_common(index, groups: list[list[str]]) -> list[list[str]]:
    """The groups less the single words found in more than COMMON_SHARE of all documents,
    unless nothing rarer is left: their IDF is below log 2, a tenth of a rare word's, and they
    would bring most of the documents to score."""
    if len(groups) < 2:
        return groups
    kept = [g for g in groups if len(g) > 1 or index.share(g[0]) <= COMMON_SHARE]
    return kept or groups


def _word_hits(db, index, groups: list[list[str]], allowed, where: str, params: list, pool: int):
    """Documents by BM25 for the OR of `groups`, best first: single words from the word index,
    phrases (their words within NEAR_WINDOW of each other) from FTS5, which knows positions;
    each adds its words' BM25, as FTS5 scores an OR of phrases."""
    groups = _without_common(index, groups)
    found = dict(index.top([g for g in groups if len(g) == 1], pool, allowed))
    phrases = [g for g in groups if len(g) > 1]
    if phrases:
        match = _fts_match(phrases)
        join = " JOIN documents d ON d.id = documents_words.rowid" if where else ""
        for doc_id, score in db.execute(
                f"SELECT documents_words.rowid, -bm25(documents_words, {TITLE_WEIGHT}, 1.0) "
                f"FROM documents_words{join} WHERE documents_words MATCH ?{where}", [match, *params]):
            found[doc_id] = found.get(doc_id, 0.0) + score
    best = sorted(found.items(), key=lambda item: (-item[1], item[0]))[:pool]
    return [(d, score, None) for d, score in best]


def _fts_match(groups: list[list[str]]) -> str:
    """An FTS5 query for the OR of `groups`: a word, or a phrase's words near each other."""
    return " OR ".join(_quoted(g[0]) if len(g) == 1 else f"NEAR({' '.join(_quoted(w) for w in g)}, {NEAR_WINDOW})"
                       for g in groups)


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _words_and_mask(db, where: str, params: list):
    """This database's word index, and the mask of the documents that pass the filters (None: all)."""
    state = connection_state(db)  # forgotten when the database changes: then the index is checked
    index = state["words"] = word_index(db, checked="words" in state)
    if not where:
        return index, None
    return index, per_filter(db, "words_masks", index, where, params, lambda: index.mask(
        [r[0] for r in db.execute(f"SELECT d.id FROM documents d WHERE 1 = 1{where}", params)]))


def _derived_hits(db, groups: list[list[str]], where: str, params: list, pool: int):
    """Documents by the BM25 of their best derived passage for the OR of `groups` (see _groups),
    best first, each score scaled by the best of any passage without Chinese (the passages they
    compete with): both from the passage index (kb.index.words.passage_index)."""
    if not groups:
        return []
    state = connection_state(db)
    passages = state["passages"] = passage_index(db, checked="passages" in state)
    derived = per_filter(db, "passage_masks", passages, where, params, lambda: passages.mask(
        [r[0] for r in db.execute("SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id "
                                  f"WHERE c.derived IS NOT NULL{where}", params)]))
    found, scores = passages.matches(groups)
    if not len(found):
        return []
    best = float(scores.max())
    keep = derived[found]
    owners = chunk_documents(db)[passages.doc_ids[found[keep]]]
    scores = scores[keep] / best
    order = np.lexsort((owners, -scores))  # best first; a document's first passage is its best
    owners, scores = owners[order], scores[order]
    first = np.unique(owners, return_index=True)[1]
    first.sort()
    first = first[:pool]
    return [(doc_id, score, None) for doc_id, score in zip(owners[first].tolist(), scores[first].tolist())]


def keyword_hits(db, query: Query, filters: Filters, pool: int) -> dict[int, tuple[float, str]]:
    """Documents by BM25 over the word index (kb.index.words), best first.

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
    index, allowed = _words_and_mask(db, where, params)
    zh, en = query.expansions
    english = query.english
    hits: dict[int, tuple[float, str]] = {}
    own = _groups(index, query.terms)
    _merge(hits, _word_hits(db, index, own, allowed, where, params, pool))
    readable = frozenset() if query.chinese else rendered(db).get("en", frozenset())  # read in English
    if readable:  # already scaled (see _derived_hits); a Chinese query reads them in Chinese
        _merge(hits, _derived_hits(db, _without_common(index, own), where, params, pool), DERIVED_WEIGHT, 1.0)
    runs = list(dict.fromkeys(HAN_RUN.findall(query.text)))
    same, other = (zh, en) if runs else (en, zh)
    _merge(hits, _word_hits(db, index, _groups(index, same), allowed, where, params, pool), EXPANSION_WEIGHT)
    _merge(hits, [r for r in _word_hits(db, index, _groups(index, other), allowed, where, params, pool)
                  if r[0] not in readable], CROSS_WEIGHT)
    if english:  # the gloss's words that the lexicon's English terms (just searched) do not hold
        covered = {w.lower() for phrase in other for w in query_words(phrase)}
        extra = [w for w in query_words(english) if w.lower() not in covered]
        _merge(hits, _word_hits(db, index, _groups(index, extra), allowed, where, params, pool), GLOSS_WEIGHT)
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
