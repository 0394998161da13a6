"""The vector index under hostile conditions (issue 22, items 5-8), with real files and real processes:
a rebuild racing writers, foreign index files, two databases in one folder, a write that fails."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from kb import KB, settings
from kb.index import embed, vector_index
from kb.index.encoders import runtime_of
from kb.records import DocumentRecord
from kb.sources import registry
from kb.storage.db import get_setting, open_db, set_setting
from kb.storage.store import save_many
from tests.conftest import cli

KB_BIN = str(Path(sys.executable).parent / "kb")
DIM = 32
FILE_LIMIT = 64 * 1024  # bytes a process may write to one file in the `ulimit -f` tests


def _doc(ext: str, text: str, title: str = "T") -> DocumentRecord:
    return DocumentRecord(source="t", external_id=ext, kind="news", title=title, text=text, language="en")


def _stored(path: Path, n: int, seed: int = 0, per_document: int = 1):
    """A knowledge base of `n` chunks, `per_document` to a document, each with a generated unit vector
    (no model: `kb embed` finds nothing to embed and only brings the index level); returns its db."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = open_db(path)
    save_many(db, [_doc(f"{seed}-{i}", f"Generated record {i} of set {seed}.") for i in range(n // per_document)])
    with db.conn:
        db.conn.executemany(
            "INSERT INTO chunks (document_id, seq, text, text_hash, embedding) SELECT id, ?, text, ?, ? "
            "FROM documents WHERE external_id = ?",
            [(i % per_document, f"{seed}-{i}", v.tobytes(), f"{seed}-{i // per_document}")
             for i, v in enumerate(vectors)])
        db.execute("UPDATE documents SET chunked_sha256 = content_sha256, processed_sha256 = content_sha256")
        set_setting(db, "embedding_model", settings.DEFAULT_MODEL)
        set_setting(db, "embedding_runtime", runtime_of(settings.DEFAULT_MODEL))
        set_setting(db, "embedding_dim", str(DIM))
    return db


def _chunks(db) -> dict[int, np.ndarray]:
    return {cid: np.frombuffer(blob, dtype=np.float32) for cid, blob in
            db.execute("SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL")}


def _matches(db, path: Path) -> bool:
    """The index file holds exactly the database's embedded chunks, each under its own vector."""
    index = vector_index.load(path)
    stored = _chunks(db)
    ids = vector_index.ids_in(index)
    return (sorted(ids.tolist()) == sorted(stored)
            and all(np.allclose(index.reconstruct(int(i)), stored[int(i)], atol=1e-5) for i in ids))


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


def _run(*args: str, limit: int | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real `kb` in its own process; `limit`: its `ulimit -f` in bytes (SIGXFSZ ignored, so a
    write past it fails with EFBIG as on a full disk)."""

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([KB_BIN, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          preexec_fn=limited if limit else None)


# --- item 6: a foreign index file is detected, reported and replaced -------------------------------

def _foreign_file(kind: str, db_path: Path, db) -> None:
    """Put a foreign index at the database's index path."""
    import faiss

    path = settings.paths(db_path).index
    stored = _chunks(db)
    ids = np.array(sorted(stored), dtype=np.int64)
    vectors = np.stack([stored[i] for i in ids])
    dim = vectors.shape[1]
    if kind == "another dimension":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim // 2))
        index.add_with_ids(np.ascontiguousarray(vectors[:, :dim // 2]), ids)
    elif kind == "no chunk ids":  # a plain exact index: its ids are positions, not chunks
        index = faiss.IndexFlatIP(dim)
        index.add(vectors[::-1].copy())
    elif kind == "no kb header":  # the right ids and dimension, written by something else
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        index.add_with_ids(vectors[::-1].copy(), ids)
    if kind in ("another dimension", "no chunk ids", "no kb header"):
        faiss.write_index(index, str(path))
        return
    other = db_path.parent / "other" / "kb.db"
    other.parent.mkdir()
    if kind == "another database":  # another knowledge base's index: the same chunk ids, other vectors
        _stored(other, len(ids), seed=7)
    else:  # "vectors differ": a copy of this database whose vectors changed since
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(db_path, other)
        copy = open_db(other)
        with copy.conn:
            copy.conn.executemany("UPDATE chunks SET embedding = ? WHERE id = ?",
                                  [(stored[int(j)].tobytes(), int(i)) for i, j in zip(ids, ids[::-1])])
    assert cli(other)("index", "--rebuild").exit_code == 0
    shutil.copy(settings.paths(other).index, path)


FOREIGN = {"another dimension": "dimension 16", "no chunk ids": "no chunk ids", "no kb header": "no kb header",
           "another database": "another database", "vectors differ": "vectors that differ"}


@pytest.mark.parametrize("kind", FOREIGN)
def test_a_foreign_index_is_unhealthy_with_its_reason_and_embed_replaces_it(tmp_path, kind):
    db_path = tmp_path / "kb.db"
    db = _stored(db_path, 40)
    run = cli(db_path)
    run("index", "--rebuild")  # the database's own index first: its identity is recorded
    _foreign_file(kind, db_path, db)
    checked = run("index", ok=False)
    assert checked.exit_code == 1 and "Traceback" not in checked.output
    assert len(_errors(checked.output)) == 1 and FOREIGN[kind] in checked.output
    assert "kb index --rebuild" in checked.output
    embedded = run("embed")
    assert "replaced" in embedded.output and FOREIGN[kind] in embedded.output
    assert _matches(db, settings.paths(db_path).index)
    assert "40 vectors" in run("index").output


def test_an_index_of_another_dimension_or_without_ids_never_answers_a_search(starter_copy):
    import faiss

    path = settings.paths(starter_copy).index
    db = open_db(starter_copy)
    run = cli(starter_copy)
    for kind in ("another dimension", "no chunk ids"):
        _foreign_file(kind, starter_copy, db)
        for mode in ("hybrid", "semantic"):
            result = run("search", "logic bomb", "--mode", mode, ok=False)
            assert result.exit_code == 1 and "Traceback" not in result.output, result.output
            assert _errors(result.output) == [line for line in result.output.splitlines() if line.strip()]
            assert "kb index --rebuild" in result.output
        assert run.json("search", "logic bomb", "--mode", "keyword")[0]["title"]
    rebuilt = run("index", "--rebuild")
    assert "replaced" in rebuilt.output and "no chunk ids" in rebuilt.output
    assert isinstance(faiss.read_index(str(path)), faiss.IndexIDMap2)
    assert run.json("search", "logic bomb", "--mode", "semantic")[0]["title"]


def test_serve_starts_with_a_foreign_index_and_says_it_needs_a_rebuild(starter_copy):
    from kb.web.app import make_datasette

    _foreign_file("another dimension", starter_copy, open_db(starter_copy))
    datasette = make_datasette(starter_copy)
    asyncio.run(datasette.invoke_startup())  # what `kb serve` does before it listens
    answer = asyncio.run(datasette.client.get("/-/kb-search.json?q=logic+bomb"))
    assert answer.status_code == 503 and "kb index --rebuild" in answer.text
    keyword = asyncio.run(datasette.client.get("/-/kb-search.json?q=logic+bomb&mode=keyword"))
    assert keyword.status_code == 200 and keyword.json()["hits"]


# --- item 7: two databases in one folder keep two indexes ------------------------------------------

def test_databases_in_one_folder_keep_their_own_indexes(tmp_path):
    names = {"kb.db": 10, "kb.sqlite": 20, "kb": 30}
    dbs = {name: _stored(tmp_path / name, n, seed=n) for name, n in names.items()}
    for name in names:
        cli(tmp_path / name)("embed")
    for name, n in names.items():
        assert f"{n} vectors" in cli(tmp_path / name)("index").output
        assert _matches(dbs[name], settings.paths(tmp_path / name).index)


# --- item 8: a failed write is one error line, a log line, exit 4, and nothing left behind ---------

def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_failed_index_write_loses_nothing_and_says_why(tmp_path):
    db_path = tmp_path / "kb.db"
    db = _stored(db_path, 1500)  # an index of ~200 KB, above FILE_LIMIT
    cli(db_path)("index", "--rebuild")
    path = settings.paths(db_path).index
    before = path.read_bytes()
    with db.conn:  # a change for `kb embed` and `kb update` to write
        db.execute("DELETE FROM documents WHERE id = 1")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (tmp_path / "sources.toml").write_text("".join(f"[sources.{name}]\nenabled = false\n" for name in registry()))
    for command in (["index", "--rebuild"], ["embed"], ["update"]):
        result = _run("--db", str(db_path), *command, limit=FILE_LIMIT)
        assert result.returncode == 4, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert _errors(result.stderr) == [f"Error: cannot write {path}: File too large"], result.stderr
        assert _leftovers(tmp_path) == []
        assert path.read_bytes() == before  # the old index still answers
    log = (tmp_path / "kb.log").read_text(encoding="utf-8")
    assert f"cannot write {path}: File too large" in log
    assert _run("--db", str(db_path), "embed").returncode == 0  # with room again, it catches up
    assert _matches(db, path)


@pytest.mark.slow
def test_rebuilds_at_once_each_finish_and_leave_one_whole_index(tmp_path):
    db_path = tmp_path / "kb.db"
    db = _stored(db_path, 20_000, per_document=100)
    with ThreadPoolExecutor(2) as pool:
        for _ in range(6):
            results = list(pool.map(lambda _: _run("--db", str(db_path), "index", "--rebuild"), range(2)))
            assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
            assert _leftovers(tmp_path) == []
    assert _matches(db, settings.paths(db_path).index)


# --- item 5: a rebuild never swaps away what was written after it started ---------------------------

def test_documents_added_or_changed_during_a_rebuild_keep_their_vectors(tmp_path, model):
    db_path = tmp_path / "kb.db"
    kb = KB(db_path)
    kb.ingest([_doc(str(i), f"Case {i}: an insider copied {i} design files before resigning.") for i in range(12)])
    kb.embed(encoder=model)
    cron = KB(db_path)  # another connection: what cron's `kb add` + `kb embed` do meanwhile
    added = []

    def meanwhile(done, total):
        if not added:
            cron.ingest([_doc("new", "A night-shift operator sold the badge logs of a data centre to a rival."),
                         _doc("0", "Case 0: the insider printed the payroll of every employee instead.")])
            added.append(cron.embed(encoder=model))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embed, "WRITE_EVERY", 4)
        embed.embed(kb.db, model=model, rebuild=True, batch_size=4, progress=meanwhile)
    assert added and added[0][0].chunks_embedded
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM documents d WHERE NOT EXISTS "
                      "(SELECT 1 FROM chunks c WHERE c.document_id = d.id)").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0] == 0
    changed = db.execute("SELECT group_concat(c.text) FROM chunks c JOIN documents d ON d.id = c.document_id "
                         "WHERE d.external_id = '0'").fetchone()[0]
    assert "payroll" in changed
    run = cli(db_path)
    assert "Nothing new to embed" in run("embed").output
    assert _matches(db, settings.paths(db_path).index)
    hits = run.json("search", "operator sold badge logs of a data centre", "--mode", "semantic", "--by", "document",
                    "--scope", "all")  # a bare sentence on a badge log is not clearly in the field
    assert hits[0]["external_id"] == "new"


def test_writers_interleaved_in_processes_leave_every_document_embedded_and_indexed(tmp_path, model):
    db_path = tmp_path / "kb.db"
    kb = KB(db_path)
    kb.ingest([_doc(str(i), f"Case {i}: a contractor wiped {i} build servers after a dispute.") for i in range(40)])
    kb.embed(encoder=model)  # enough that a rebuild takes a few seconds
    notes = {}
    for name, text in {"a": "A payroll clerk paid invented employees for three years.",
                       "b": "A nurse read the charts of celebrities without a reason.",
                       "c": "An engineer uploaded chip designs to a personal cloud drive.",
                       "d": "A bank teller sold account details to a fraud ring.",
                       "e": "A warehouse guard let a rival's van take pallets of phones."}.items():
        notes[name] = tmp_path / f"{name}.md"
        notes[name].write_text(f"# {text}\n\n{text} The company found out in an audit.\n", encoding="utf-8")
    kb_ = f"{KB_BIN} --db {db_path}"
    writers = [" && ".join(f"{kb_} add {notes[name]} && {kb_} embed" for name in "abe"),
               f"{kb_} embed --rebuild && {kb_} add {notes['c']} && {kb_} embed",
               f"{kb_} index --rebuild && {kb_} add {notes['d']} && {kb_} index --rebuild && {kb_} embed",
               f"{kb_} embed --rebuild && {kb_} index --rebuild"]
    env = {**os.environ, "KB_WORKERS": "1"}
    procs = [subprocess.Popen(w, shell=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for w in writers]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 45
    assert db.execute("SELECT count(*) FROM documents WHERE chunked_sha256 IS NOT content_sha256 OR NOT EXISTS "
                      "(SELECT 1 FROM chunks c WHERE c.document_id = documents.id)").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM chunks WHERE embedding IS NULL").fetchone()[0] == 0
    assert get_setting(db, "embedding_model") == settings.DEFAULT_MODEL
    assert _matches(db, settings.paths(db_path).index)
    run = cli(db_path)
    assert "Nothing new to embed" in run("embed").output
    assert "Error" not in run("index").output
    for path in notes.values():
        title = path.read_text(encoding="utf-8").splitlines()[0][2:]
        hits = run.json("search", title, "--mode", "semantic", "--by", "document", "-k", "1", "--scope", "all")
        assert hits[0]["title"] == title
