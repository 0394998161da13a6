"""Which of the databases Datasette serves is the knowledge base, and its `KB` (read-only)."""

from __future__ import annotations

import weakref
from functools import lru_cache
from pathlib import Path

from ..knowledge_base import KB
from ..storage.db import is_kb_connection


def plugin_config(datasette) -> dict:
    return datasette.plugin_config("kb") or {}


_found: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # datasette -> its KB database's name


async def kb_database(datasette):
    """The Datasette database holding the KB: the configured one, else the first with the KB tables."""
    known = datasette.databases.get(_found.get(datasette, ""))
    if known is not None:
        return known
    wanted = plugin_config(datasette).get("database")
    for name, db in datasette.databases.items():
        if not db.path or (wanted and name != wanted):
            continue
        if await db.execute_fn(is_kb_connection):
            _found[datasette] = name
            return db
    return None


@lru_cache(maxsize=None)
def knowledge_base(path: str | Path) -> KB:
    """The read-only KB of a served database file, one per file per process."""
    return KB(Path(path), readonly=True)


async def read(db, query, *args):
    """`query(kb.storage database, *args)` on one of Datasette's read connections to `db`."""
    import sqlite_utils

    return await db.execute_fn(lambda conn: query(sqlite_utils.Database(conn), *args))
