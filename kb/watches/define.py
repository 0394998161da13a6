"""A new watch checked before it is stored: its name, what it follows, its mode, filters and floors."""

from __future__ import annotations

import re
from dataclasses import asdict

from ..errors import InvalidInput, NotFound
from ..search import modes
from ..search.filters import Filters, check_by, check_query

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # it is also a feed's address


def define(kb, name: str, query: str | None = None, mode: str = modes.DEFAULT, by: str = "incident",
           filters: Filters | None = None, incident: str | None = None, case: str | None = None,
           floor: float | None = None, min_similarity: float | None = None) -> dict:
    """The row of a new watch, or InvalidInput / NotFound saying what is wrong."""
    if not NAME.fullmatch(name or "") or name.endswith(".atom"):
        raise InvalidInput(f"bad watch name {name!r}: 1-64 letters, digits, '_', '-', '.' (not ending .atom)")
    if sum(x is not None for x in (query, incident, case)) != 1:
        raise InvalidInput("give one of a QUERY, --incident ID or --case ID")
    if floor is not None and not 0.0 <= floor <= 1.0:
        raise InvalidInput(f"floor {floor} is not a share of the query's words (0 to 1)")
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:
        raise InvalidInput(f"min-similarity {min_similarity} is not a similarity (-1 to 1)")
    row = {"name": name, "query": check_query(query) if query is not None else None, "mode": modes.get(mode).name,
           "by": check_by(by), "filters": {k: v for k, v in asdict(filters or Filters()).items() if v},
           "incident_id": kb.incident_id(incident) if incident is not None else None,
           "case_id": case_id(kb.db, case) if case is not None else None,
           "floor": floor, "min_similarity": min_similarity}
    return row


def case_id(db, ident: str) -> int:
    """The case `c12` or a case number names."""
    ident = ident.strip()
    if ident[:1] == "c" and ident[1:].isdigit():
        found = db.execute("SELECT id FROM cases WHERE id = ?", [int(ident[1:])]).fetchone()
    else:
        found = db.execute("SELECT id FROM cases WHERE case_number = ? COLLATE NOCASE ORDER BY id", [ident]).fetchone()
    if not found:
        raise NotFound(f"no case {ident!r}: give c12 or a case number (see the cases table)")
    return found[0]
