"""Near-duplicate texts, found by index: word (Latin) and character (Chinese) shingles, a bottom-k
sketch of each document's shingles in `document_sketches`, and their Jaccard overlap.

    store(db, {doc_id: shingles(text)})      # replace these documents' sketches
    similar_texts(db, doc_id)                # documents sharing enough sketch hashes
    jaccard(shingles(a), shingles(b))        # 0..1: how much two texts share
"""

from __future__ import annotations

import re
import zlib

import sqlite_utils

from ..storage.sql import batches, marks
from ..text.scripts import HAN

SKETCH = 32  # hashes kept per document (bottom-k of its text shingles)


def store(db: sqlite_utils.Database, found: dict[int, set[int]]) -> None:
    """Replace the sketches of these documents ({document id: its text's shingles})."""
    for chunk in batches(list(found)):
        db.execute(f"DELETE FROM document_sketches WHERE document_id IN ({marks(chunk)})", chunk)
    db.conn.executemany("INSERT OR IGNORE INTO document_sketches (hash, document_id) VALUES (?, ?)",
                        [(h, doc_id) for doc_id, hashes in found.items() for h in sketch(hashes)])


def similar_texts(db: sqlite_utils.Database, doc_id: int, least: int = 4, limit: int = 20) -> list[int]:
    """Documents sharing at least `least` sketch hashes with this one, most first."""
    return [r[0] for r in db.execute(
        "SELECT other.document_id FROM document_sketches mine JOIN document_sketches other ON other.hash = mine.hash "
        "WHERE mine.document_id = ? AND other.document_id != ? GROUP BY other.document_id "
        "HAVING count(*) >= ? ORDER BY count(*) DESC, other.document_id LIMIT ?", [doc_id, doc_id, least, limit])]


_TOKEN = re.compile(f"[{HAN}]|[a-z0-9]+")


def shingles(text: str, n: int = 4) -> set[int]:
    """Stable hashes of n-grams of words (Latin) and characters (CJK)."""
    tokens = _TOKEN.findall(text.lower())
    grams = map(" ".join, zip(*(tokens[k:] for k in range(n))))  # tokens[i:i + n] for each i
    return set(map(zlib.crc32, map(str.encode, grams)))


def sketch(hashes: set[int], k: int = SKETCH) -> list[int]:
    """The k smallest hashes: two texts share about k·J of them where J is their Jaccard overlap."""
    return sorted(hashes)[:k]


def jaccard(a: set, b: set) -> float:
    if not (a and b):
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)  # len(a | b), without building the union
