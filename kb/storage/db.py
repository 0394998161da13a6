"""Open the SQLite knowledge base and bring its schema up to date.

Migrations are numbered SQL scripts applied in order; `PRAGMA user_version`
records the last one applied, so opening any older file upgrades it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from ..errors import KBError
from .schema import MIGRATIONS


def open_db(path: str | Path, create: bool = True, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and migrate) the knowledge base at `path`.

    `create=False` refuses a missing file; `readonly=True` (read commands) opens
    without writing anything, and only a file that already is a knowledge base.
    Either way an existing file that is not a knowledge base is refused.
    """
    path = Path(path)
    if (not create or readonly) and not path.exists():
        raise KBError(f"no database at {path}: run `kb init` or `make demo` first")
    if path.exists() and not path.is_file():
        raise KBError(f"{path} is not a regular file, so not a knowledge base")
    if path.exists():
        version = _check_kb(path, allow_empty=create and not readonly)
        if readonly and version < len(MIGRATIONS):
            raise KBError(f"{path} has schema {version}, older than this kb's ({len(MIGRATIONS)}), and read "
                          "commands never change the file: run `kb init` to upgrade it")
        if readonly:
            return _connect_readonly(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.Error) as exc:
        raise KBError(f"cannot open database {path}: {exc}") from None
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    register_functions(conn)
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def _uri(path: Path) -> str:
    """Read-only; `immutable` where the file or its folder cannot be written (a read-only disk):
    SQLite could not make the WAL's shared-memory file there, and nobody can change the file."""
    writable = os.access(path, os.W_OK) and os.access(path.resolve().parent, os.W_OK)
    return "file:" + quote(str(path.resolve())) + "?mode=ro" + ("" if writable else "&immutable=1")


def _check_kb(path: Path, allow_empty: bool) -> int:
    """The schema version of the knowledge base at `path`; KBError if it is not one.

    An empty file passes only when `allow_empty` (it is about to be created).
    """
    if path.stat().st_size == 0:
        if allow_empty:
            return 0
        raise KBError(f"{path} is empty, not a knowledge base: run `kb init` first")
    try:
        conn = sqlite3.connect(_uri(path), uri=True, timeout=30)
        try:
            version = schema_version(conn)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise KBError(f"{path} is not a knowledge base ({exc})") from None
    if version > len(MIGRATIONS):
        raise KBError(f"database schema {version} is newer than this kb ({len(MIGRATIONS)}): upgrade kb")
    if version < 1 or "documents" not in tables:
        what = "an SQLite database of something else" if tables else "an empty SQLite database"
        raise KBError(f"{path} is {what}, not a knowledge base")
    return version


def _connect_readonly(path: Path) -> sqlite_utils.Database:
    """A connection that cannot write (SQLite's read-only mode)."""
    try:
        conn = sqlite3.connect(_uri(path), uri=True, timeout=30, check_same_thread=False,
                               isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise KBError(f"cannot open database {path}: {exc}") from None
    register_functions(conn)  # the triggers name them: a write then fails as read-only, nothing else
    return sqlite_utils.Database(conn)


def schema_version(conn) -> int:
    """The number of the last migration applied (0: none)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def is_kb_connection(conn) -> bool:
    """Whether `conn` (sqlite3) is to a knowledge base: it has the documents and settings tables."""
    names = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('documents', 'settings')")}
    return names == {"documents", "settings"}


def make_read_side(conn: sqlite3.Connection) -> None:
    """A connection of the web: query-only, with the SQL functions the schema's triggers name (a
    write then fails as read-only, nothing else)."""
    conn.execute("PRAGMA query_only = 1")
    register_functions(conn)


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the schema's triggers call (kb_segment: Chinese split into words;
    kb_has_han: 1 when a text holds Chinese characters)."""
    from ..text.scripts import has_han
    from ..text.segment import segment

    conn.create_function("kb_segment", 1, segment, deterministic=True)
    conn.create_function("kb_has_han", 1, lambda text: int(has_han(text)), deterministic=True)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations, each in one transaction; return the schema version."""
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise KBError(f"database schema {version} is newer than this kb ({len(MIGRATIONS)}): upgrade kb")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            db.conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        except sqlite3.Error as exc:
            db.conn.rollback()
            raise KBError(f"cannot migrate database to version {number}: {exc}") from None
    return len(MIGRATIONS)


def get_setting(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_setting(db: sqlite_utils.Database, key: str, value: str | None) -> None:
    db["settings"].upsert({"key": key, "value": value}, pk="key")
