"""The one write path (KB.ingest): the Python API, and `kill -9` at random points of real runs.

A killed `kb import vcdb` (3 random points) or `kb update` (2, while it scrapes and
links), followed by one more ordinary run,
must leave the same documents, entity rows, links and incidents as a clean
run, and a database that passes `pragma integrity_check`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils

from kb.extract import pipeline as ingest
from kb.storage import runs, store
from kb.storage.schema import MIGRATIONS
from kb.storage.db import open_db
from kb.sources import files, starter, vcdb
from tests.conftest import local_sources_toml
from tests.test_update import PAGES, slowly
from tests.webserver import serve

STARTER_KEY = "starter:bytedance-intern-model-training-sabotage-2024"
VCDB_FILES = 1200
SEED = random.randrange(10**6)  # printed, so a failing draw can be replayed
KILLS = 3


@pytest.fixture
def seed_file(shared) -> Path:
    found = sorted((shared / "news" / "seed").glob("*.zh.md"))
    if not found:
        pytest.skip("seed article not found")
    return found[0]


# --- the Python API --------------------------------------------------------------------

def test_ingest_from_python_links_documents_to_incidents(db, seed_file):
    result = ingest.ingest(db, [*starter.iter_records(), files.read_file(seed_file)])
    assert result.counts["new"] == len(result.documents) > 50
    assert result.steps["link"]["linked"] >= 1
    seed_id = result.documents[-1][1]
    (incident_key,) = [r[0] for r in db.execute(
        "SELECT i.key FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
        "WHERE l.document_id = ?", [seed_id])]
    assert incident_key == STARTER_KEY
    again = ingest.ingest(db, [files.read_file(seed_file)])
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 1} and not again.steps


def test_documents_stored_without_processing_are_finished_by_the_next_write(db, seed_file):
    saved = store.save_many(db, starter.iter_records())  # storage only, as a program might call it
    assert db.execute("SELECT count(*) FROM incident_documents WHERE method = 'auto'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM document_entities").fetchone()[0] == 0
    result = ingest.ingest(db, [files.read_file(seed_file)])
    assert result.finished == len(saved)
    assert db.execute("SELECT count(*) FROM document_entities").fetchone()[0] > 0
    assert db.execute("SELECT count(*) FROM documents WHERE processed_sha256 IS NOT content_sha256"
                      ).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM incident_documents l JOIN incidents i ON i.id = l.incident_id "
                      "WHERE i.key = ?", [STARTER_KEY]).fetchone()[0] >= 2  # the seed joined the case


def test_an_older_database_left_half_imported_is_repaired_by_the_next_write(tmp_path, vcdb_dir):
    """Schema 3, a `kb import vcdb` killed after storing: documents and links, no entity rows."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    records = vcdb.read_folder(vcdb_dir).records[:30]
    store.save_many(sqlite_utils.Database(conn), records)
    conn.close()
    db = open_db(path)  # migrates
    assert db.execute("SELECT count(*) FROM document_entities").fetchone()[0] == 0
    result = ingest.ingest(db, records)
    assert result.finished == 30 and result.counts["unchanged"] == 30
    assert db.execute("SELECT count(DISTINCT document_id) FROM document_entities").fetchone()[0] >= 25


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(db):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run_id = runs.start_run(db, "doj", command="scrape")
    db.execute("UPDATE runs SET pid = ? WHERE id = ?", [dead.pid, run_id])
    live = runs.start_run(db, "rss", command="scrape")  # this process: alive
    ingest.ingest(db, [])
    status = dict(db.execute("SELECT id, status FROM runs").fetchall())
    assert status == {run_id: runs.INTERRUPTED, live: runs.RUNNING}


# --- kill -9 at random points ----------------------------------------------------------

def integrity_ok(db_path: Path) -> bool:
    """`pragma integrity_check` (a process killed before it created the file leaves none)."""
    if not db_path.exists():
        return True
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def fingerprint(db_path: Path) -> dict:
    """Documents, entity rows, links and incidents by natural keys (row ids may differ)."""
    assert integrity_ok(db_path)
    conn = sqlite3.connect(db_path)
    doc = "d.source || '/' || d.external_id"
    inc = ("CASE WHEN i.key LIKE 'auto:d%' THEN 'auto:' || (SELECT x.source || '/' || x.external_id "
           "FROM documents x WHERE x.id = CAST(substr(i.key, 7) AS INTEGER)) ELSE i.key END")
    queries = {
        "documents": f"SELECT {doc}, d.content_sha256, d.processed_sha256 FROM documents d",
        "entities": f"SELECT {doc}, e.kind, e.name, de.span_start, de.span_end, de.value, de.label "
                    "FROM document_entities de JOIN documents d ON d.id = de.document_id "
                    "JOIN entities e ON e.id = de.entity_id",
        "links": f"SELECT {doc}, {inc}, l.method, round(l.confidence, 4) FROM incident_documents l "
                 "JOIN documents d ON d.id = l.document_id JOIN incidents i ON i.id = l.incident_id",
        "incidents": f"SELECT {inc}, i.title, i.organisation, i.year FROM incidents i",
        "cases": "SELECT court, case_number, case_type FROM cases",
        "legal facts": f"SELECT {doc}, f.kind, f.status, f.start_offset, f.sentence FROM legal_facts f "
                       "JOIN documents d ON d.id = f.document_id",
    }
    out = {name: sorted(map(tuple, conn.execute(sql).fetchall()), key=repr) for name, sql in queries.items()}
    conn.close()
    return out


def kill_at(args: list[str], seconds: float) -> int | None:
    """Start `python -m kb.cli ARGS`, SIGKILL it after `seconds`; its exit code if it ended first."""
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def run_kb(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], capture_output=True, text=True, timeout=600)


def test_kill_9_vcdb_import_at_random_points_then_one_more_run(tmp_path, vcdb_dir, seed_file):
    folder = tmp_path / "vcdb"
    folder.mkdir()
    for file in sorted(vcdb_dir.glob("*.json"))[:VCDB_FILES]:
        shutil.copy(file, folder / file.name)

    def prepare(db_path: Path) -> None:  # a database that already holds documents to join
        assert run_kb(["--db", str(db_path), "import", "starter"]).returncode == 0
        assert run_kb(["--db", str(db_path), "add", str(seed_file)]).returncode == 0

    clean = tmp_path / "clean.db"
    prepare(clean)
    prepared = len(fingerprint(clean)["documents"])
    started = time.perf_counter()
    done = run_kb(["--db", str(clean), "import", "vcdb", str(folder)])
    took = time.perf_counter() - started
    assert done.returncode == 0 and f"{VCDB_FILES} new" in done.stdout, done.stderr
    expected = fingerprint(clean)
    assert len(expected["documents"]) == VCDB_FILES + prepared and expected["entities"] and expected["links"]

    rng = random.Random(SEED)
    points = sorted(rng.uniform(0.3, took) for _ in range(KILLS))
    print(f"seed {SEED}: clean import {took:.2f}s, kills at {', '.join(f'{p:.2f}s' for p in points)}")
    for n, seconds in enumerate(points):
        db_path = tmp_path / f"killed{n}.db"
        prepare(db_path)
        kill_at(["--db", str(db_path), "import", "vcdb", str(folder)], seconds)
        assert integrity_ok(db_path)  # consistent right after the kill
        rerun = run_kb(["--db", str(db_path), "import", "vcdb", str(folder)])
        assert rerun.returncode == 0, rerun.stderr
        assert fingerprint(db_path) == expected, f"killed at {seconds:.2f}s (seed {SEED})"


def test_an_import_on_worker_processes_stores_what_one_process_does(tmp_path, vcdb_dir):
    """Entities and legal facts of a big write are extracted on forked processes ($KB_WORKERS,
    default one per core): the same rows as with KB_WORKERS=1."""
    found = {}
    for workers in ("1", "2"):
        db_path = tmp_path / f"workers{workers}.db"
        done = subprocess.run([sys.executable, "-m", "kb.cli", "--db", str(db_path), "import", "vcdb", str(vcdb_dir)],
                              capture_output=True, text=True, timeout=600, env={**os.environ, "KB_WORKERS": workers})
        assert done.returncode == 0, done.stderr
        found[workers] = fingerprint(db_path)
    assert found["1"]["entities"] and found["1"]["legal facts"]
    assert found["2"] == found["1"]


def test_worker_processes_do_the_work_and_are_gone_after_the_write():
    program = """
import json, multiprocessing, os, sys, threading, time
from kb import settings
from kb.extract import workers
def where(item):
    return os.getpid()
out = {"parent": os.getpid()}
processes = settings.resolve().workers  # KB_WORKERS
with workers.sharing(processes):
    out["small"] = sorted(set(workers.map_all(where, list(range(10)))))
    out["big"] = sorted(set(workers.map_all(where, list(range(workers.MIN_ITEMS * 4)))))
    out["alive"] = len(multiprocessing.active_children())
out["after"] = len(multiprocessing.active_children())
threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
with workers.sharing(processes):  # another thread runs: no fork, the work stays in this process
    out["threaded"] = sorted(set(workers.map_all(where, list(range(workers.MIN_ITEMS * 4)))))
print(json.dumps(out))
"""
    for count, forked in (("2", True), ("1", False)):
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "KB_WORKERS": count})
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["small"] == [out["parent"]] and out["threaded"] == [out["parent"]]
        assert out["after"] == 0
        if forked:
            assert out["parent"] not in out["big"] and out["alive"] == 2
        else:
            assert out["big"] == [out["parent"]] and out["alive"] == 0



def test_a_bad_kb_workers_value_is_one_clear_error_before_any_write(tmp_path):
    db_path = tmp_path / "kb.db"
    bad = subprocess.run([sys.executable, "-m", "kb.cli", "--db", str(db_path), "import", "starter"],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "KB_WORKERS": "many"})
    assert bad.returncode != 0
    assert bad.stderr.strip() == "Error: KB_WORKERS must be a whole number of processes from 1 to 1024, not 'many'"
    assert not db_path.exists()  # settings are read before the database is even opened


@pytest.fixture
def update_setup(tmp_path, shared, site) -> Path:
    """sources.toml with three real news pages on a local site and a slice of VCDB."""
    vcdb = tmp_path / "vcdb"
    vcdb.mkdir()
    for file in sorted((shared / "vcdb" / "json").glob("*.json"))[:40]:
        shutil.copy(file, vcdb / file.name)
    urls = []
    for i, name in enumerate(PAGES):  # each page takes 0.5 s: a wider window to kill in
        site.route(f"/news/{i}.html", slowly(0.5, serve((shared / "news" / "pages" / name).read_bytes(),
                                                        etag=f'"v{i}"')))
        urls.append(site.url(f"/news/{i}.html"))
    return local_sources_toml(tmp_path / "sources.toml", urls, vcdb)


def _update_db(tmp_path: Path, conf: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(conf, folder / "sources.toml")
    return folder / "kb.db"


def test_kill_9_update_at_random_points_then_one_more_run(tmp_path, update_setup):
    clean = _update_db(tmp_path, update_setup, "clean")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "--db", str(clean), "update"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = clean.parent / "kb.log"
    linked_by = None  # seconds until the scraping and linking were over (embedding began)
    while proc.poll() is None:
        if linked_by is None and log.exists() and "embedding:" in log.read_text():
            linked_by = time.perf_counter() - started
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    linked_by = linked_by or time.perf_counter() - started
    expected = fingerprint(clean)
    assert len([d for d in expected["documents"] if d[0].startswith("article/")]) == 3
    assert len(expected["documents"]) == 43 and expected["entities"] and expected["links"]

    # One kill in each half of the scraping and linking window (a kill while embedding: test_update).
    rng = random.Random(SEED + 1)
    middle = (1.0 + linked_by) / 2
    points = [rng.uniform(1.0, middle), rng.uniform(middle, linked_by)]
    print(f"seed {SEED}: scraped and linked by {linked_by:.2f}s, kills at {', '.join(f'{p:.2f}s' for p in points)}")
    for n, seconds in enumerate(points):
        db_path = _update_db(tmp_path, update_setup, f"killed{n}")
        kill_at(["--db", str(db_path), "update"], seconds)
        assert integrity_ok(db_path)
        rerun = run_kb(["--db", str(db_path), "update", "article", "vcdb"])
        assert rerun.returncode == 0, rerun.stderr
        assert fingerprint(db_path) == expected, f"killed at {seconds:.2f}s (seed {SEED})"
        db = open_db(db_path)
        assert db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0
