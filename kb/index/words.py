"""The word index: BM25 over the documents' words (kb.text.words), held in memory and in a file
beside the database (kb.db.words), rebuilt when the documents change.

It reads what the FTS5 word index reads (documents_words_content: title and text, Chinese
segmented) and scores BM25 as FTS5's bm25() does (k1 1.2, b 0.75, title words TITLE_WEIGHT,
document length in words) with Lucene's IDF, log(1 + (N - n + 0.5) / (n + 0.5)), as tantivy
and bm25s use: never negative, where FTS5's floors every word in more than half of the
documents at 1e-6 (on tests/data it ranked no labelled query lower and some higher). Each
word's score in each document is computed once, at build: a query adds up its words' posting
lists with numpy instead of scoring every match in SQL (at 100k passages FTS5 took 38 ms a
query, most of it bm25() on documents that never reach the top).

    index = word_index(db)
    index.top([["intern"], ["删除", "数据库"]], pool=100)   # OR of groups; a group needs all its words

The passage index (`passage_index`, kb.db.passages.words) is the same over passages without
Chinese: the English passages and the English renderings of Chinese documents (derived
passages, kb.index.chunks), so that a rendering is scored against the passages it competes with.
"""

from __future__ import annotations

import json
import threading
import weakref
from pathlib import Path

import numpy as np

from ..errors import CannotWrite
from ..storage.files import atomic_file
from ..text.scripts import HAN_RUN
from ..text.words import phrases, words

K1, B = 1.2, 0.75  # FTS5's bm25() constants
TITLE_WEIGHT = 2.0  # a title word counts as this many body words (2 beat 1 and 4 on tests/data)
FILE_SUFFIX = ".words"
PASSAGES_SUFFIX = ".passages.words"
_FORMAT = 2  # 2: lexicon phrases indexed as words


class WordIndex:
    """Posting lists of precomputed BM25 scores (without IDF), by word."""

    def __init__(self, vocabulary: list[str], starts: np.ndarray, docs: np.ndarray, scores: np.ndarray,
                 doc_ids: np.ndarray, stamp: list):
        self.vocabulary = vocabulary
        self.word_ids = {w: i for i, w in enumerate(vocabulary)}
        self.starts, self.docs, self.scores, self.doc_ids, self.stamp = starts, docs, scores, doc_ids, stamp
        counts = np.diff(starts)
        self.among = _documents_of_script(vocabulary, counts, docs, len(doc_ids))
        self.idf = np.log1p((self.among - counts + 0.5) / (counts + 0.5)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def share(self, word: str) -> float:
        """The share of the documents of its script that hold this word (0 when none)."""
        i = self.word_ids.get(word)
        return 0.0 if i is None or not self.among[i] else (self.starts[i + 1] - self.starts[i]) / self.among[i]

    def _postings(self, word: str) -> tuple[np.ndarray, np.ndarray] | None:
        i = self.word_ids.get(word)
        if i is None:
            return None
        a, b = self.starts[i], self.starts[i + 1]
        return self.docs[a:b], self.scores[a:b] * self.idf[i]

    def top(self, groups: list[list[str]], pool: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(document id, BM25) of the best `pool` documents holding all the words of at least one
        group, best first; each group found adds its words' scores. `allowed`: a mask over the
        index's documents (see `mask`) of those that may be returned."""
        return self.best(*self.matches(groups), pool, allowed)

    def matches(self, groups: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The index's documents (positions) holding all the words of at least one group, and
        their BM25: each group found adds its words' scores."""
        docs, scores = [], []
        for group in groups:
            found = [self._postings(w) for w in group]
            if not group or any(p is None for p in found):
                continue
            d, s = found[0]
            for other, other_scores in found[1:]:  # every word of the group: intersect by document
                keep, left, right = np.intersect1d(d, other, assume_unique=True, return_indices=True)
                d, s = keep, s[left] + other_scores[right]
            docs.append(d)
            scores.append(s)
        if not docs:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        d, s = np.concatenate(docs), np.concatenate(scores)
        if len(docs) > 1:  # a document in several lists adds up
            if len(d) * 8 > len(self):
                total = np.bincount(d, weights=s, minlength=len(self))
                d = np.flatnonzero(total)
                s = total[d]
            else:
                d, inverse = np.unique(d, return_inverse=True)
                s = np.bincount(inverse, weights=s)
        return d, s

    def best(self, d: np.ndarray, s: np.ndarray, pool: int, allowed: np.ndarray | None = None):
        """(document id, score) of the best `pool` of `matches`, best first, among `allowed`."""
        if allowed is not None:
            keep = allowed[d]
            d, s = d[keep], s[keep]
        if len(d) > pool:
            best = np.argpartition(-s, pool - 1)[:pool]
            d, s = d[best], s[best]
        order = np.lexsort((d, -s))
        return list(zip(self.doc_ids[d[order]].tolist(), s[order].astype(float).tolist()))

    def mask(self, ids) -> np.ndarray:
        """A mask over the index's documents: True for those among `ids` (document ids)."""
        ids = np.asarray(sorted(ids), dtype=np.int64)
        out = np.zeros(len(self), dtype=bool)
        at = np.searchsorted(self.doc_ids, ids)
        inside = at < len(self.doc_ids)
        at, ids = at[inside], ids[inside]
        out[at[self.doc_ids[at] == ids]] = True
        return out


def _documents_of_script(vocabulary: list[str], counts: np.ndarray, docs: np.ndarray, n: int) -> np.ndarray:
    """For each word, the number of documents that could hold it: those holding any Chinese word
    for a Chinese word, all of them for any other. A Chinese word's IDF counted over every
    document made it rare in a corpus of mostly English documents: a Chinese query's commonest
    words (公司, 员工) outscored the English gloss's best, and on all VCDB without twins put
    unrelated Chinese documents above the English answer (Chinese->English MRR 0.661 -> 0.676)."""
    chinese = np.fromiter((HAN_RUN.match(w) is not None for w in vocabulary), dtype=bool, count=len(vocabulary))
    held = np.zeros(n, dtype=bool)
    held[docs[np.repeat(chinese, counts)]] = True
    return np.where(chinese, int(held.sum()), n).astype(np.float64)


def stamp(db) -> list:
    """What the word index was built from: documents' count, last id and last update."""
    return list(db.execute("SELECT count(*), max(id), max(updated_at) FROM documents").fetchone())


def passage_stamp(db) -> list:
    """What the passage index was built from: passages' count and last id (a passage is never
    changed in place: chunking again replaces it)."""
    return list(db.execute("SELECT count(*), max(id) FROM chunks").fetchone())


def build(db) -> WordIndex:
    """The word index of the documents as the database holds them now."""
    taken = stamp(db)

    def entries():
        for doc_id, title, text, raw_title, raw_text in db.execute(
                "SELECT c.id, c.title, c.text, d.title, d.text FROM documents_words_content c "
                "JOIN documents d ON d.id = c.id ORDER BY c.id"):
            head, body = words(title), words(text)
            # lexicon phrases as words of their own (not in the length)
            yield doc_id, head + phrases(raw_title, head), body + phrases(raw_text, body), len(head) + len(body)

    return _indexed(entries(), taken)


def build_passages(db) -> WordIndex:
    """The word index of the passages without Chinese (English passages, derived passages)."""
    taken = passage_stamp(db)

    def entries():
        for chunk_id, text, derived in db.execute("SELECT id, text, derived FROM chunks ORDER BY id"):
            if derived is None and HAN_RUN.search(text):
                continue
            body = words(text)
            yield chunk_id, [], body + phrases(text, body), len(body)

    return _indexed(entries(), taken)


def _indexed(entries, taken: list) -> WordIndex:
    """The index of (id, title words, body words, length in words) entries, in id order."""
    vocabulary: dict[str, int] = {}
    doc_ids, lengths, terms, weights, owners = [], [], [], [], []
    for n, (entry_id, head, body, length) in enumerate(entries):
        lengths.append(length)
        ids = [vocabulary.setdefault(w, len(vocabulary)) for w in head + body]
        doc_ids.append(entry_id)
        terms.append(np.asarray(ids, dtype=np.int64))
        weights.append(np.concatenate([np.full(len(head), TITLE_WEIGHT, np.float32),
                                       np.ones(len(body), np.float32)]))
        owners.append(np.full(len(ids), n, dtype=np.int64))
    n_docs = len(doc_ids)
    if not n_docs or not vocabulary:
        return WordIndex(list(vocabulary), np.zeros(len(vocabulary) + 1, np.int64), np.zeros(0, np.int32),
                         np.zeros(0, np.float32), np.asarray(doc_ids, np.int64), taken)
    keys = np.concatenate(terms) * n_docs + np.concatenate(owners)
    order = np.argsort(keys, kind="stable")
    keys, weight = keys[order], np.concatenate(weights)[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    tf = np.add.reduceat(weight, first)
    keys = keys[first]
    term, doc = keys // n_docs, (keys % n_docs).astype(np.int32)
    length = np.asarray(lengths, dtype=np.float32)
    norm = K1 * (1 - B + B * length / max(float(length.mean()), 1e-9))
    scores = (tf * (K1 + 1) / (tf + norm[doc])).astype(np.float32)
    starts = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term, minlength=len(vocabulary)), out=starts[1:])
    return WordIndex(list(vocabulary), starts, doc, scores, np.asarray(doc_ids, dtype=np.int64), taken)


def save(index: WordIndex, path: Path) -> None:
    """Write the index to `path` whole (kb.storage.files.atomic_file)."""
    with atomic_file(path, "wb") as handle:
        np.savez(handle, starts=index.starts, docs=index.docs, scores=index.scores, doc_ids=index.doc_ids,
                 vocabulary=np.frombuffer("\n".join(index.vocabulary).encode("utf-8"), dtype=np.uint8),
                 header=np.frombuffer(json.dumps({"format": _FORMAT, "stamp": index.stamp}).encode(), np.uint8))


def load(path: Path) -> WordIndex | None:
    """The index saved at `path`, or None when there is none or it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            header = json.loads(saved["header"].tobytes())
            if header.get("format") != _FORMAT:
                return None
            text = saved["vocabulary"].tobytes().decode("utf-8")
            return WordIndex(text.split("\n") if text else [], saved["starts"], saved["docs"], saved["scores"],
                             saved["doc_ids"], header["stamp"])
    except (OSError, ValueError, KeyError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def path_of(db, suffix: str = FILE_SUFFIX) -> Path | None:
    """The index file beside the database (None for an in-memory database)."""
    main = next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "")
    return Path(main).with_name(Path(main).name + suffix) if main else None


_indexes: dict[tuple, WordIndex] = {}
_paths: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> {suffix: its file}
_locks: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def word_index(db, checked: bool = False) -> WordIndex:
    """The word index of this database's documents: from memory, else its file, else built (and
    saved when the folder can be written); rebuilt when the documents changed since it was built.
    `checked`: the caller knows the database has not changed since the last call."""
    return _kept(db, checked, FILE_SUFFIX, stamp, build)


def passage_index(db, checked: bool = False) -> WordIndex:
    """The word index of this database's passages without Chinese, kept as `word_index` is."""
    return _kept(db, checked, PASSAGES_SUFFIX, passage_stamp, build_passages)


def _kept(db, checked: bool, suffix: str, stamp_of, builder) -> WordIndex:
    paths = _paths.get(db)
    if paths is None:
        paths = _paths[db] = {}
    if suffix not in paths:
        paths[suffix] = path_of(db, suffix)
    path = paths[suffix]
    key = (path, suffix)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        index = _indexes.get(key)
        if index is not None and checked:
            return index
        now = stamp_of(db)
        if index is None or index.stamp != now:
            index = load(path) if path is not None and path.exists() else None
            if index is None or index.stamp != now:
                index = builder(db)
                if path is not None:
                    try:
                        save(index, path)
                    except CannotWrite:  # a read-only folder: kept in memory only
                        pass
            _indexes[key] = index
        return index
