"""The watches and watch_matches tables: saved searches, and what each found, every item once.

    add(db, {"name": "sabotage", "query": "model training sabotage", ...})
    record(db, watch_id, matches, run_id)   # INSERT OR IGNORE: a rerun never records twice
    matches(db, watch_id, after_id=0)       # what it found, oldest first
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import sqlite_utils

from ..errors import InvalidInput, NotFound
from .db import get_setting, set_setting
from .sql import now_iso, rows, transaction

MATCH_COLUMNS = ("item", "kind", "incident_id", "document_id", "title", "reason")


def add(db: sqlite_utils.Database, watch: dict[str, Any]) -> int:
    """Store a new watch (it sees changes from now on); InvalidInput when the name is taken."""
    if db.execute("SELECT 1 FROM watches WHERE name = ?", [watch["name"]]).fetchone():
        raise InvalidInput(f"a watch named {watch['name']!r} exists: `kb watch rm {watch['name']}` first")
    stamp = now_iso()
    return db["watches"].insert({**watch, "filters": json.dumps(watch.get("filters") or {}, sort_keys=True),
                                 "checked_through": stamp, "created_at": stamp}).last_pk


def remove(db: sqlite_utils.Database, name: str) -> None:
    """Delete a watch; its matches go with it (ON DELETE CASCADE)."""
    with transaction(db):
        get(db, name)
        db.execute("DELETE FROM watches WHERE name = ?", [name])


def get(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    found = rows(db, "SELECT * FROM watches WHERE name = ?", [name])
    if not found:
        raise NotFound(f"no watch named {name!r} (see `kb watch list`)")
    return _decoded(found[0])


def all_watches(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every watch with its match count and latest match time, by name."""
    return [_decoded(w) for w in rows(
        db, "SELECT w.*, (SELECT count(*) FROM watch_matches m WHERE m.watch_id = w.id) AS matches, "
            "(SELECT max(at) FROM watch_matches m WHERE m.watch_id = w.id) AS latest FROM watches w ORDER BY name")]


def _decoded(watch: dict[str, Any]) -> dict[str, Any]:
    watch["filters"] = json.loads(watch["filters"])
    return watch


def record(db: sqlite_utils.Database, watch_id: int, found: Iterable[dict], run_id: int | None,
           checked_through: str) -> int:
    """Record what a watch found (items it already holds are left alone) and how far it has looked,
    in one transaction; returns how many are new."""
    stamp = now_iso()
    with transaction(db):
        before = db.execute("SELECT count(*) FROM watch_matches WHERE watch_id = ?", [watch_id]).fetchone()[0]
        db.conn.executemany(
            f"INSERT OR IGNORE INTO watch_matches (watch_id, {', '.join(MATCH_COLUMNS)}, run_id, at) "
            f"VALUES (?, {', '.join('?' * len(MATCH_COLUMNS))}, ?, ?)",
            [(watch_id, *(m[c] if c != "reason" else json.dumps(m[c], ensure_ascii=False) for c in MATCH_COLUMNS),
              run_id, stamp) for m in found])
        db.execute("UPDATE watches SET checked_through = ?, last_error = NULL WHERE id = ?", [checked_through, watch_id])
        return db.execute("SELECT count(*) FROM watch_matches WHERE watch_id = ?", [watch_id]).fetchone()[0] - before


def record_error(db: sqlite_utils.Database, watch_id: int, error: str) -> None:
    db.execute("UPDATE watches SET last_error = ? WHERE id = ?", [error, watch_id])


def matches(db: sqlite_utils.Database, watch_id: int | None = None, after_id: int = 0, since: str | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    """Matches (of one watch, or of all), oldest first: after a match id, or recorded on or after a date."""
    where, params = ["m.id > ?"], [after_id]
    if watch_id is not None:
        where.append("m.watch_id = ?")
        params.append(watch_id)
    if since:
        where.append("m.at >= ?")
        params.append(since)
    order = "m.id DESC" if limit else "m.id"
    found = rows(db, "SELECT m.*, w.name AS watch FROM watch_matches m JOIN watches w ON w.id = m.watch_id "
                     f"WHERE {' AND '.join(where)} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else ""), params)
    for match in found:
        match["reason"] = json.loads(match["reason"])
    return sorted(found, key=lambda m: m["id"])


def mark_read(db: sqlite_utils.Database, watch_id: int, through_id: int) -> None:
    db.execute("UPDATE watches SET read_through = max(read_through, ?) WHERE id = ?", [through_id, watch_id])


def take_unnotified(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every match recorded since the last call (the first call: all), marked as told."""
    found = matches(db, after_id=int(get_setting(db, "watch_notified_through") or 0))
    if found:
        set_setting(db, "watch_notified_through", str(found[-1]["id"]))
    return found


def of_run(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    """The matches a run recorded, for its summary."""
    return rows(db, "SELECT w.name AS watch, m.item, m.incident_id, m.title FROM watch_matches m "
                    "JOIN watches w ON w.id = m.watch_id WHERE m.run_id = ? ORDER BY m.id", [run_id])
