"""The entity tables: entities (kind, canonical name), their aliases, and each document's mentions.

    mentions(db, [12, 13])   -> {12: [Fact('organisation', 'ByteDance', None, None, 'fact'), ...], ...}
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import sqlite_utils

from .sql import batches, marks


@dataclass
class Fact:
    """One stored entity mention of a document."""

    kind: str
    name: str
    value: str | None
    label: str | None
    status: str = "fact"  # or claim / denied / hypothetical / rumour: never an incident fact


def entity_id(db: sqlite_utils.Database, kind: str, name: str, cache: dict | None = None) -> int:
    """The id of entity (kind, name), created when new."""
    key = (kind, name)
    if cache is not None and key in cache:
        return cache[key]
    db.execute("INSERT OR IGNORE INTO entities (kind, name) VALUES (?, ?)", [kind, name])
    found = db.execute("SELECT id FROM entities WHERE kind = ? AND name = ?", [kind, name]).fetchone()[0]
    if cache is not None:
        cache[key] = found
    return found


def add_alias(db: sqlite_utils.Database, entity: int, alias: str, language: str) -> None:
    db.execute("INSERT OR IGNORE INTO entity_aliases (alias, entity_id, language) VALUES (?, ?, ?)",
               [alias, entity, language])


def aliases(db: sqlite_utils.Database, kinds: Iterable[str]) -> list[tuple[str, str, str]]:
    """(kind, canonical name, alias) of every alias of these kinds."""
    kinds = list(kinds)
    return db.execute(
        "SELECT e.kind, e.name, a.alias FROM entity_aliases a JOIN entities e ON e.id = a.entity_id "
        f"WHERE e.kind IN ({marks(kinds)})", kinds).fetchall()


def replace_mentions(db: sqlite_utils.Database, found: dict[int, list], cache: dict | None = None) -> None:
    """Replace the stored mentions of these documents ({document id: its kb.extract.entities.Entity list})."""
    db.execute("DELETE FROM document_entities WHERE document_id IN (SELECT value FROM json_each(?))",
               [json.dumps(list(found))])
    db.conn.executemany(
        "INSERT INTO document_entities (document_id, entity_id, span_start, span_end, surface, value, label, "
        "status, sentence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(doc_id, entity_id(db, e.kind, e.name, cache), e.start, e.end, e.surface, e.value, e.label,
          e.status, e.sentence) for doc_id, entities in found.items() for e in entities],
    )


def mentions(db: sqlite_utils.Database, doc_ids: Iterable[int]) -> dict[int, list[Fact]]:
    """The stored mentions of each document, in the order they occur."""
    out: dict[int, list[Fact]] = defaultdict(list)
    for chunk in batches(list(doc_ids)):
        for doc_id, kind, name, value, label, status in db.execute(
                "SELECT de.document_id, e.kind, e.name, de.value, de.label, de.status FROM document_entities de "
                f"JOIN entities e ON e.id = de.entity_id WHERE de.document_id IN ({marks(chunk)}) "
                "ORDER BY de.document_id, de.span_start", chunk):
            out[doc_id].append(Fact(kind, name, value, label, status))
    return out


def sharing_anchors(db: sqlite_utils.Database, doc_id: int, kinds: Iterable[str], limit: int) -> list[int]:
    """Other documents that mention an entity of these kinds this one mentions (amounts only when both
    state them as fact), those sharing most first."""
    kinds = list(kinds)
    return [r[0] for r in db.execute(
        "SELECT other.document_id FROM document_entities mine JOIN entities e ON e.id = mine.entity_id "
        "JOIN document_entities other ON other.entity_id = mine.entity_id "
        f"WHERE mine.document_id = ? AND e.kind IN ({marks(kinds)}) AND other.document_id != ? "
        "AND (e.kind != 'money' OR (mine.status = 'fact' AND other.status = 'fact')) "
        "GROUP BY other.document_id ORDER BY count(DISTINCT mine.entity_id) DESC, other.document_id LIMIT ?",
        [doc_id, *kinds, doc_id, limit])]


def money_mentions(db: sqlite_utils.Database, doc_ids: Iterable[int]) -> list[dict]:
    """Each amount of money these documents mention: document_id, name ('8000000 CNY'), label
    (claim, costs, fine, loss), status and sentence."""
    out: list[dict] = []
    for chunk in batches(list(doc_ids)):
        out += [dict(zip(("document_id", "name", "label", "status", "sentence"), r)) for r in db.execute(
            "SELECT de.document_id, e.name, de.label, de.status, de.sentence FROM document_entities de "
            f"JOIN entities e ON e.id = de.entity_id WHERE e.kind = 'money' AND de.document_id IN ({marks(chunk)}) "
            "ORDER BY de.document_id, de.span_start", chunk)]
    return out
