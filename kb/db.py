"""Open the SQLite knowledge base and bring its schema up to date.

Migrations are numbered SQL scripts applied in order; `PRAGMA user_version`
records the last one applied, so opening any older file upgrades it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils


class KBError(Exception):
    """An expected problem with a clear message for the user (no traceback)."""


_M1_CORE = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT,
    canonical_url TEXT,
    title TEXT,
    author TEXT,
    published TEXT,
    language TEXT,
    text TEXT NOT NULL DEFAULT '',
    curated INTEGER NOT NULL DEFAULT 0,
    meta TEXT,
    content_sha256 TEXT,
    fetched_at TEXT,
    http_etag TEXT,
    http_last_modified TEXT,
    raw_sha256 TEXT,
    raw_path TEXT,
    chunked_sha256 TEXT,  -- content_sha256 when the document was last chunked
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX documents_published ON documents(published);
CREATE INDEX documents_kind ON documents(kind);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE,
    title TEXT,
    title_zh TEXT,
    summary TEXT,
    summary_zh TEXT,
    organisation TEXT,
    sector TEXT,
    country TEXT,
    insider_name TEXT,
    insider_role TEXT,
    employment_type TEXT,
    incident_type TEXT,
    incident_subtype TEXT,
    action TEXT,
    motive TEXT,
    date_start TEXT,
    date_end TEXT,
    date_reported TEXT,
    year INTEGER,
    impact_amount REAL,
    impact_currency TEXT,
    impact_records INTEGER,
    impact_description TEXT,
    outcome TEXT,
    curated INTEGER NOT NULL DEFAULT 0,
    manual_fields TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX incidents_year ON incidents(year);

CREATE TABLE incident_documents (
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    confidence REAL NOT NULL DEFAULT 1.0,
    method TEXT NOT NULL DEFAULT 'import',
    PRIMARY KEY (incident_id, document_id)
);
CREATE INDEX incident_documents_document ON incident_documents(document_id);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
    document_id INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    court TEXT,
    case_number TEXT,
    case_type TEXT,
    case_name TEXT,
    parties TEXT,
    filed TEXT,
    terminated TEXT,
    status TEXT,
    claims TEXT,
    damages_amount REAL,
    damages_currency TEXT,
    url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (court, case_number)
);

CREATE TABLE entities (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE entity_aliases (
    alias TEXT NOT NULL,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    language TEXT,
    PRIMARY KEY (alias, entity_id)
);
CREATE TABLE document_entities (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    span_start INTEGER,
    span_end INTEGER,
    surface TEXT,
    value TEXT
);
CREATE INDEX document_entities_document ON document_entities(document_id);
CREATE INDEX document_entities_entity ON document_entities(entity_id);

-- Chunk ids are never reused, so the vector index can drop stale ids safely.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding BLOB,
    UNIQUE (document_id, seq)
);
CREATE INDEX chunks_hash ON chunks(text_hash);
CREATE INDEX chunks_pending ON chunks(id) WHERE embedding IS NULL;

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    command TEXT,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    seen INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE TABLE run_errors (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    url TEXT,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE fetch_state (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    status INTEGER,
    sha256 TEXT,
    raw_path TEXT,
    fetched_at TEXT
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT
);

CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, text, content=documents, content_rowid=id, tokenize='trigram'
);
CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER documents_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
"""

_M2_SEARCH = """
-- Word index (stemmed English and other alphabetic text) beside the trigram one.
CREATE VIRTUAL TABLE documents_words USING fts5(
    title, text, content=documents, content_rowid=id,
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO documents_words(rowid, title, text) SELECT id, title, text FROM documents;
CREATE TRIGGER documents_words_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_words(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER documents_words_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER documents_words_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO documents_words(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
"""

_M3_INCIDENTS = """
-- What an extracted fact is about (claim, costs, incident, dismissal, case...).
ALTER TABLE document_entities ADD COLUMN label TEXT;
-- An incident merged by hand into another keeps its row (and key) and points there.
ALTER TABLE incidents ADD COLUMN merged_into INTEGER REFERENCES incidents(id) ON DELETE SET NULL;
CREATE INDEX incident_documents_method ON incident_documents(method);
CREATE INDEX entity_aliases_entity ON entity_aliases(entity_id);
"""

_M4_SEGMENTED_WORDS = """
-- The word index reads Chinese segmented into words (kb.words.segment, registered on
-- every kb connection as kb_segment) so BM25 has word statistics for Chinese too.
-- documents_segmented holds the segmented title/text of documents that contain Chinese
-- (NULL where a field has none); the index's content is documents with those overlaid.
DROP TRIGGER documents_words_ai;
DROP TRIGGER documents_words_ad;
DROP TRIGGER documents_words_au;
DROP TABLE documents_words;
CREATE TABLE documents_segmented (id INTEGER PRIMARY KEY, title TEXT, text TEXT);
INSERT INTO documents_segmented(id, title, text)
    SELECT id, kb_segment(title), kb_segment(text) FROM documents
    WHERE kb_segment(title) IS NOT NULL OR kb_segment(text) IS NOT NULL;
CREATE VIEW documents_words_content AS
    SELECT d.id AS id, coalesce(s.title, d.title) AS title, coalesce(s.text, d.text) AS text
    FROM documents d LEFT JOIN documents_segmented s ON s.id = d.id;
CREATE VIRTUAL TABLE documents_words USING fts5(
    title, text, content=documents_words_content, content_rowid=id,
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO documents_words(rowid, title, text) SELECT id, title, text FROM documents_words_content;
CREATE TRIGGER documents_words_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_segmented(id, title, text)
        SELECT new.id, kb_segment(new.title), kb_segment(new.text)
        WHERE kb_segment(new.title) IS NOT NULL OR kb_segment(new.text) IS NOT NULL;
    INSERT INTO documents_words(rowid, title, text)
        SELECT id, title, text FROM documents_words_content WHERE id = new.id;
END;
CREATE TRIGGER documents_words_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
        SELECT 'delete', old.id, coalesce(s.title, old.title), coalesce(s.text, old.text)
        FROM (SELECT 1) LEFT JOIN documents_segmented s ON s.id = old.id;
    DELETE FROM documents_segmented WHERE id = old.id;
END;
CREATE TRIGGER documents_words_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
        SELECT 'delete', old.id, coalesce(s.title, old.title), coalesce(s.text, old.text)
        FROM (SELECT 1) LEFT JOIN documents_segmented s ON s.id = old.id;
    DELETE FROM documents_segmented WHERE id = old.id;
    INSERT INTO documents_segmented(id, title, text)
        SELECT new.id, kb_segment(new.title), kb_segment(new.text)
        WHERE kb_segment(new.title) IS NOT NULL OR kb_segment(new.text) IS NOT NULL;
    INSERT INTO documents_words(rowid, title, text)
        SELECT id, title, text FROM documents_words_content WHERE id = new.id;
END;
"""

# Each migration is one SQL script, applied in its own transaction.
MIGRATIONS = [_M1_CORE, _M2_SEARCH, _M3_INCIDENTS, _M4_SEGMENTED_WORDS]


def open_db(path: str | Path, create: bool = True) -> sqlite_utils.Database:
    """Open (and migrate) the knowledge base at `path`."""
    path = Path(path)
    if not create and not path.exists():
        raise KBError(f"no database at {path}: run `kb init` or `make demo` first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
    except (OSError, sqlite3.OperationalError) as exc:
        raise KBError(f"cannot open database {path}: {exc}") from None
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    register_functions(conn)
    db = sqlite_utils.Database(conn)
    migrate(db)
    return db


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the schema's triggers call (kb_segment: Chinese split into words)."""
    from .words import segment

    conn.create_function("kb_segment", 1, segment, deterministic=True)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations, each in one transaction; return the schema version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
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
    db.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
