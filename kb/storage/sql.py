"""The SQL helpers every table owner uses: one transaction idiom, id lists, rows as dicts.

    with transaction(db):                      # all of it lands, or none of it
        rows(db, f"SELECT * FROM documents WHERE id IN ({marks(ids)})", ids)
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence, Sized

import sqlite_utils

IDS_PER_QUERY = 900  # ids per IN (...) list, under SQLite's limit on parameters


def now_iso() -> str:
    """The current UTC time as stored: ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction: all of it lands, or none of it. Inside an open one, joins it."""
    if db.conn.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def batches(items: Sequence, size: int = IDS_PER_QUERY) -> Iterator[list]:
    """`items` in consecutive slices of at most `size`."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def marks(items: Sized) -> str:
    """'?, ?, ?': one placeholder per item, for an IN (...) list."""
    return ", ".join("?" * len(items))


def rows(db: sqlite_utils.Database, sql: str, params: Iterable = ()) -> list[dict[str, Any]]:
    """The rows of a query as dicts of column name to value."""
    cur = db.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def by_id(db: sqlite_utils.Database, sql: str, ids: Sequence[int], params: Iterable = ()) -> dict[int, tuple]:
    """{first column: row} of `sql`, whose `{marks}` is filled with one placeholder per id."""
    if not ids:
        return {}
    return {r[0]: r for r in db.execute(sql.format(marks=marks(ids)), [*ids, *params])}
