"""Passages: documents split into chunks of at most the model's budget of tokens, title first in
each, with a little overlap; the `chunks` table that holds them and their vectors.

Chunk text is hashed, so text seen before (in any document) is never embedded
twice; unchanged passages keep their vectors when a document is re-chunked.

A Chinese document also gets derived passages (`chunks.derived` = 'en'): its
English rendering (kb.text.translate), cut the same way, after its own
passages. They are indexed and embedded so that an English question finds the
document, and resolve to it; they are never shown as its text (kb.search.present
shows only passages of the document's own text).
"""

from __future__ import annotations

import hashlib

import numpy as np
import sqlite_utils

from ..storage.sql import batches, marks, transaction
from ..text.scripts import cjk_share
from ..text.sentences import sentences
from ..text.translate import english, english_sentences
from .encoders import HFTokens


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tokens(tokenizer):
    return tokenizer if hasattr(tokenizer, "count_tokens") else HFTokens(tokenizer)


def chunk_document(tokenizer, title: str | None, text: str, max_tokens: int,
                   overlap: int = 32) -> list[str]:
    """Split a document into passages of at most `max_tokens` tokens, title first in each.

    `tokenizer` is an Encoder (anything with count_tokens/split_tokens) or a
    Hugging Face tokenizer. Sentences are packed greedily; the last sentences
    of a passage (up to `overlap` tokens) start the next one. A sentence
    longer than the budget is cut on token boundaries.
    """
    tokens = _tokens(tokenizer)
    title = (title or "").strip()
    head = title[:200]
    budget = max_tokens - (tokens.count_tokens([head])[0] + 3 if head else 2)
    budget = max(budget, 32)
    pieces = [text[start:end] for start, end in sentences(text or "")]
    if not pieces:
        return [head] if head else []
    units: list[tuple[str, int]] = []
    for piece, n in zip(pieces, tokens.count_tokens(pieces)):
        units.extend(tokens.split_tokens(piece, budget) if n > budget else [(piece, n)])
    passages, current, size = [], [], 0
    for piece, n in units:
        if current and size + n > budget:
            passages.append(current)
            keep, kept = [], 0
            for prev, m in reversed(current):
                if kept + m > overlap:
                    break
                keep.insert(0, (prev, m))
                kept += m
            current, size = keep, kept
        current.append((piece, n))
        size += n
    if current:
        passages.append(current)
    joiner = "" if _mostly_cjk(text) else " "
    bodies = [joiner.join(p for p, _ in passage) for passage in passages]
    return [f"{head}\n{body}" if head and body != head else body for body in bodies]


def _mostly_cjk(text: str) -> bool:
    return cjk_share(text[:500]) > 0.3


RENDERED = {"zh": "en"}  # document language -> the language of its derived passages


def passages(tokenizer, title: str | None, text: str, language: str | None,
             max_tokens: int) -> list[tuple[str, str | None]]:
    """(passage, derived) of a document: its own passages (derived None), then for a Chinese
    document the passages of its English rendering (derived 'en')."""
    own = [(p, None) for p in chunk_document(tokenizer, title, text, max_tokens)]
    if RENDERED.get(language) != "en":
        return own
    rendering = chunk_document(tokenizer, english(title or "") or title, english_sentences(text), max_tokens)
    return own + [(p, "en") for p in rendering]


def sync_chunks(db: sqlite_utils.Database, tokenizer, max_tokens: int) -> int:
    """(Re)chunk documents whose content changed since they were chunked; return how many.

    Unchanged passages keep their vectors; a passage whose text any chunk
    already has takes that vector instead of being embedded again.
    """
    stale = db.execute(
        "SELECT id, title, text, language, content_sha256 FROM documents "
        "WHERE chunked_sha256 IS NOT content_sha256"
    ).fetchall()
    for part in batches(stale, 512):
        with transaction(db):
            for doc_id, title, text, language, digest in part:
                _replace_chunks(db, doc_id, passages(tokenizer, title, text, language, max_tokens))
                db.execute("UPDATE documents SET chunked_sha256 = ? WHERE id = ?", [digest, doc_id])
    return len(stale)


def _replace_chunks(db, doc_id: int, new: list[tuple[str, str | None]]) -> None:
    old = {seq: (cid, h, derived) for cid, seq, h, derived in db.execute(
        "SELECT id, seq, text_hash, derived FROM chunks WHERE document_id = ?", [doc_id])}
    for seq, (passage, derived) in enumerate(new):
        digest = text_hash(passage)
        if seq in old and old[seq][1:] == (digest, derived):
            continue
        if seq in old:
            db.execute("DELETE FROM chunks WHERE id = ?", [old[seq][0]])
        known = db.execute(
            "SELECT embedding FROM chunks WHERE text_hash = ? AND embedding IS NOT NULL LIMIT 1",
            [digest]).fetchone()
        db.execute(
            "INSERT INTO chunks (document_id, seq, text, text_hash, embedding, derived) VALUES (?, ?, ?, ?, ?, ?)",
            [doc_id, seq, passage, digest, known[0] if known else None, derived])
    db.execute("DELETE FROM chunks WHERE document_id = ? AND seq >= ?", [doc_id, len(new)])


def document_vectors(db: sqlite_utils.Database, doc_ids=None) -> dict[int, np.ndarray]:
    """L2-normalised mean of the vectors of each document's own passages (empty when nothing is
    embedded; derived passages left out); a vector of another dimension than the first one read
    (a database mid-rebuild) is left out."""
    sql = "SELECT document_id, embedding FROM chunks WHERE embedding IS NOT NULL AND derived IS NULL"
    if doc_ids is None:
        found = db.execute(sql).fetchall()
    else:
        found = [row for part in batches(list(doc_ids)) for row in db.execute(
            f"{sql} AND document_id IN ({marks(part)})", part)]
    sums: dict[int, np.ndarray] = {}
    size = len(found[0][1]) if found else 0
    for doc_id, blob in found:
        if len(blob) != size:
            continue
        vec = np.frombuffer(blob, dtype=np.float32)
        sums[doc_id] = sums[doc_id] + vec if doc_id in sums else vec.copy()
    return {d: v / (np.linalg.norm(v) or 1.0) for d, v in sums.items()}


def languages_of_embedded(db: sqlite_utils.Database, where: str = "", params=()) -> dict[str | None, list[int]]:
    """{language of the passage: ids of its embedded chunks}: a derived passage is in the language
    it was rendered in, any other in its document's; of the documents (`d`) that meet `where`
    (a fragment starting with AND, e.g. kb.search.filters.Filters.sql) when given."""
    out: dict[str | None, list[int]] = {}
    for chunk_id, language in db.execute(
            "SELECT c.id, coalesce(c.derived, d.language) FROM chunks c JOIN documents d ON d.id = c.document_id "
            f"WHERE c.embedding IS NOT NULL{where}", list(params)):
        out.setdefault(language, []).append(chunk_id)
    return out
