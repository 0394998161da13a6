"""Manual decisions: merge, split, link and edit incidents; they always win over the machine."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import sqlite_utils

from ..errors import InvalidInput
from ..extract.aliases import load_aliases
from ..storage.merged import final_incident
from ..text.dates import normalise_date
from ..storage.sql import batches, marks, now_iso, transaction
from ..storage.store import documents_of, link, require_incidents
from . import derive
from .fields import EDITABLE, create_incident, fill_empty_fields

_NUMERIC = {"year": int, "impact_records": int, "impact_amount": float}


def merge(db: sqlite_utils.Database, target: int, others: list[int]) -> None:
    """Move the documents and cases of `others` into `target`; the others point to it."""
    with transaction(db):
        require_incidents(db, [target, *others])
        for other in others:
            if other == target:
                raise InvalidInput("cannot merge an incident into itself")
            for doc_id, in db.execute("SELECT document_id FROM incident_documents WHERE incident_id = ?",
                                      [other]).fetchall():
                link(db, target, doc_id, confidence=1.0, method="manual")
            db.execute("DELETE FROM incident_documents WHERE incident_id = ?", [other])
            db.execute("UPDATE cases SET incident_id = ? WHERE incident_id = ?", [target, other])
            row = db.execute(f"SELECT {', '.join(EDITABLE)} FROM incidents WHERE id = ?", [other]).fetchone()
            fill_empty_fields(db, target, dict(zip(EDITABLE, row)))
            db.execute("UPDATE incidents SET merged_into = ?, merged_by = 'manual', updated_at = ? "
                       "WHERE id = ? OR merged_into = ?", [target, now_iso(), other, other])
        derive.refresh(db, [target])


def split(db: sqlite_utils.Database, incident_id: int, doc_ids: list[int]) -> int:
    """Move documents out of an incident into a new one; returns the new incident's id."""
    with transaction(db):
        require_incidents(db, [incident_id])
        members = set(documents_of(db, incident_id))
        missing = [d for d in doc_ids if d not in members]
        if missing:
            raise InvalidInput(f"documents not in incident i{incident_id}: {', '.join(f'd{d}' for d in missing)}")
        aliases = load_aliases(db)
        first = min(doc_ids)
        db.execute(f"DELETE FROM incident_documents WHERE incident_id = ? AND document_id IN ({marks(doc_ids)})",
                   [incident_id, *doc_ids])
        new_id = create_incident(db, first, aliases, key=f"manual:i{incident_id}-d{first}", method="manual")
        for doc_id in doc_ids:
            link(db, new_id, doc_id, confidence=1.0, method="manual")
        db.execute(f"UPDATE cases SET incident_id = ? WHERE incident_id = ? AND document_id IN ({marks(doc_ids)})",
                   [new_id, incident_id, *doc_ids])
        derive.refresh(db, [incident_id, new_id])
        return new_id


def manual_link(db: sqlite_utils.Database, incident_id: int, doc_ids: list[int]) -> None:
    """Put documents into an incident by hand (they leave their machine-made incidents)."""
    with transaction(db):
        require_incidents(db, [incident_id])
        for doc_id in doc_ids:
            link(db, incident_id, doc_id, confidence=1.0, method="manual")
        apply_manual_decisions(db, doc_ids)
        drop_empty_auto_incidents(db)
        derive.refresh(db, [incident_id])


def edit(db: sqlite_utils.Database, incident_id: int, changes: dict[str, str]) -> None:
    """Set fields by hand and record them in manual_fields, so machines never overwrite them."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"cannot edit {', '.join(unknown)}: editable fields are {', '.join(EDITABLE)}")
    values = {}
    for key, raw in changes.items():
        try:
            values[key] = _NUMERIC[key](raw) if key in _NUMERIC and raw != "" else (raw or None)
        except ValueError:
            raise InvalidInput(f"{key} must be a number, not {raw!r}") from None
        if values[key] is not None:
            _check_value(key, values[key], raw)
    with transaction(db):
        require_incidents(db, [incident_id])
        current = db.execute("SELECT manual_fields FROM incidents WHERE id = ?", [incident_id]).fetchone()[0]
        manual = sorted(set(json.loads(current or "[]")) | set(values))
        sets = ", ".join(f"{k} = :{k}" for k in values)
        db.execute(f"UPDATE incidents SET {sets}, manual_fields = :manual, updated_at = :now WHERE id = :id",
                   {**values, "manual": json.dumps(manual), "now": now_iso(), "id": incident_id})
        derive.refresh(db, [incident_id])


def _check_value(key: str, value, raw: str) -> None:
    """InvalidInput unless an edited value is one the field can hold."""
    if key == "year" and not 1900 <= value <= date.today().year + 1:
        raise InvalidInput(f"year must be from 1900 to {date.today().year + 1}, not {raw[:30]!r}")
    if key in ("impact_records", "impact_amount") and not (0 <= value < 2**63 and math.isfinite(value)):
        raise InvalidInput(f"{key} must be a number from 0 up, not {raw[:30]!r}")
    if key.startswith("date_") and normalise_date(value) != value:  # YYYY[-MM[-DD]], a real date
        raise InvalidInput(f"{key} must be a date: YYYY, YYYY-MM or YYYY-MM-DD, not {raw[:30]!r}")
    if key == "impact_currency" and not re.fullmatch(r"[A-Z]{3}", value):
        raise InvalidInput(f"impact_currency must be a three-letter currency code such as USD or CNY, not {raw[:30]!r}")


def apply_manual_decisions(db: sqlite_utils.Database, doc_ids: list[int]) -> None:
    """Follow merges, and let a manual link replace a document's machine and source links."""
    for chunk in batches(doc_ids):
        ids = marks(chunk)
        for doc_id, inc_id, conf, method in db.execute(
                "SELECT l.document_id, l.incident_id, l.confidence, l.method FROM incident_documents l "
                "JOIN incidents i ON i.id = l.incident_id WHERE i.merged_into IS NOT NULL "
                f"AND coalesce(i.merged_by, 'manual') = 'manual' AND l.document_id IN ({ids})",
                chunk).fetchall():
            db.execute("DELETE FROM incident_documents WHERE incident_id = ? AND document_id = ?", [inc_id, doc_id])
            link(db, final_incident(db, inc_id), doc_id, confidence=conf, method=method)
        db.execute(
            f"DELETE FROM incident_documents WHERE method != 'manual' AND document_id IN ({ids}) AND document_id IN "
            "(SELECT document_id FROM incident_documents WHERE method = 'manual')", chunk)


def drop_empty_auto_incidents(db: sqlite_utils.Database) -> None:
    """Remove machine-made incidents left without documents, unless a person touched them."""
    empty = ("SELECT id FROM incidents i WHERE key LIKE 'auto:%' AND merged_into IS NULL "
             "AND coalesce(manual_fields, '[]') = '[]' "
             "AND NOT EXISTS (SELECT 1 FROM incident_documents l WHERE l.incident_id = i.id) "
             "AND NOT EXISTS (SELECT 1 FROM incidents m WHERE m.merged_into = i.id)")
    db.execute(f"DELETE FROM cases WHERE incident_id IN ({empty})")
    db.execute(f"DELETE FROM incidents WHERE id IN ({empty})")

