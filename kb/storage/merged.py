"""The one resolver of merged incidents: an incident merged into another (`merged_into`) stands
for its target, through any chain of merges.

    final_incidents(db, {12, 40})   -> {12: 12, 40: 12} when i40 was merged into i12
"""

from __future__ import annotations

from typing import Iterable

import sqlite_utils

from .sql import by_id

MAX_CHAIN = 16  # merges chain rarely; a cycle cannot hold the resolver


def final_incidents(db: sqlite_utils.Database, incident_ids: Iterable[int]) -> dict[int, int]:
    """Each incident id mapped to the incident it was finally merged into (itself when not merged)."""
    out = {i: i for i in incident_ids if i is not None}
    pending = set(out)
    for _ in range(MAX_CHAIN):
        found = by_id(db, "SELECT id, merged_into FROM incidents WHERE id IN ({marks}) AND merged_into IS NOT NULL",
                      sorted(pending))
        if not found:
            break
        for start, target in list(out.items()):
            if target in found:
                out[start] = found[target][1]
        pending = {row[1] for row in found.values()}
    return out


def final_incident(db: sqlite_utils.Database, incident_id: int) -> int:
    """The incident `incident_id` was finally merged into (itself when not merged)."""
    return final_incidents(db, [incident_id])[incident_id]


def documents_of_incidents(where: str) -> str:
    """A subquery of the ids of the documents linked to an incident whose final incident (not
    merged, or the one its merges end in) meets `where`, a condition on the incidents table
    without an alias; its parameters are the caller's."""
    return ("WITH RECURSIVE kept(id) AS ("
            f"SELECT id FROM incidents WHERE merged_into IS NULL AND {where} "
            "UNION SELECT i.id FROM incidents i JOIN kept ON i.merged_into = kept.id) "
            "SELECT l.document_id FROM incident_documents l JOIN kept ON kept.id = l.incident_id")
