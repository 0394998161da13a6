"""Schema, migrations and full-text search on a real SQLite file."""

import sqlite3

import pytest

from kb.storage.schema import MIGRATIONS
from kb.storage.db import open_db
from kb.errors import KBError
from kb.records import DocumentRecord
from kb.storage.store import save_many


def test_migrates_an_empty_file(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    db = open_db(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    for table in ("documents", "incidents", "incident_documents", "cases", "entities",
                  "entity_aliases", "chunks", "runs", "documents_fts"):
        assert db[table].exists(), table
    # Opening again applies nothing twice.
    open_db(path)


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(KBError, match="newer"):
        open_db(path)


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(KBError, match="no database"):
        open_db(tmp_path / "nope.db", create=False)


def _doc(ext, title, text, language="en"):
    return DocumentRecord(source="t", external_id=ext, kind="news", title=title, text=text, language=language)


def test_trigram_fts_holds_the_documents_with_chinese_and_follows_updates(db):
    save_many(db, [_doc("1", "前实习生篡改代码攻击大模型训练", "字节跳动起诉前实习生田某某", "zh"),
                   _doc("2", "Logic bomb at Siemens", "A contractor planted logic bombs")])
    hits = lambda q: [r[0] for r in db.execute(
        "SELECT d.external_id FROM documents_fts f JOIN documents d ON d.id = f.rowid "
        "WHERE documents_fts MATCH ?", [q])]
    assert hits('"实习生"') == ["1"]
    assert hits('"logic bomb"') == []  # English is searched through the word index, not by substrings
    save_many(db, [_doc("1", "前实习生篡改代码攻击大模型训练", "法院已经受理", "zh")])
    assert hits('"田某某"') == [] and hits('"法院已"') == ["1"]
    save_many(db, [_doc("2", "Logic bomb at Siemens", "西门子的逻辑炸弹")])  # English turned Chinese
    assert hits('"逻辑炸"') == ["2"]
    save_many(db, [_doc("2", "Logic bomb at Siemens", "Spreadsheets that crashed on purpose")])  # and back
    assert hits('"逻辑炸"') == [] and hits('"实习生"') == ["1"]
    db.execute("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
