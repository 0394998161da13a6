"""`kb update` as cron runs it: real processes, a real local web server, real files.

Sources: real saved news pages served on 127.0.0.1 (with ETags, so a second
run costs only conditional GETs), a slice of the real VCDB folder, and a DOJ
API address that fails every request.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb import settings
from kb.index import vector_index
from kb.storage.db import open_db
from tests.conftest import local_sources_toml
from tests.webserver import failing, serve, stall

PAGES = ["californiaglobe.com.amazon.html", "japantimes.co.jp.surgical.html", "guardian.co.tt-massy.html"]
EXIT_SOURCE_FAILED, EXIT_LOCKED = 3, 75


def update_folder(tmp_path, shared, site, pages: list[str], **sources) -> Path:
    """The database path in a db folder whose sources.toml points at `pages` served by the local
    site and a 25-record VCDB slice (DOJ's API failing there); `sources`: more local_sources_toml keys."""
    vcdb = tmp_path / "vcdb"
    vcdb.mkdir()
    for file in sorted((shared / "vcdb" / "json").glob("*.json"))[:25]:
        shutil.copy(file, vcdb / file.name)
    urls = []
    for i, name in enumerate(pages):
        site.page(f"/news/{i}.html", (shared / "news" / "pages" / name).read_bytes(), etag=f'"v{i}"')
        urls.append(site.url(f"/news/{i}.html"))
    site.route("/api/v1/press_releases.json", failing(10**6, 500))
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    local_sources_toml(db_dir / "sources.toml", urls, vcdb, fetch="read_timeout = 5.0", **sources)
    return db_dir / "kb.db"


@pytest.fixture
def setup(tmp_path, shared, site):
    """A db folder with a sources.toml pointing at the local site and a VCDB slice."""
    return update_folder(tmp_path, shared, site, PAGES,
                         doj=f'api_url = "{site.url("/api/v1/press_releases.json")}"\nmax_pages = 1')


def slowly(seconds: float, handler):
    """Answer like `handler`, after `seconds`."""
    def slow(req):
        time.sleep(seconds)
        handler(req)
    return slow


def kb_update(db_path: Path, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kb.cli", "--db", str(db_path), "update", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def run_update(db_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", "--db", str(db_path), "update", *args],
                          capture_output=True, text=True, timeout=600)


def check_consistent(db_path: Path) -> None:
    """Integrity, no duplicates, and (after a clean run) an index level with the vectors."""
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM (SELECT source, external_id FROM documents "
                        "GROUP BY 1, 2 HAVING count(*) > 1)").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM (SELECT document_id, seq FROM chunks "
                        "GROUP BY 1, 2 HAVING count(*) > 1)").fetchone()[0] == 0
    conn.close()


def test_update_runs_due_sources_survives_a_failing_one_then_costs_only_conditional_gets(setup, site):
    first = run_update(setup)
    assert first.returncode == EXIT_SOURCE_FAILED, first.stderr
    assert "doj: failed" in first.stdout
    assert "article: ok, 3 seen, 3 new" in first.stdout and "vcdb: ok" in first.stdout
    check_consistent(setup)
    db = open_db(setup)
    embedded = db.execute("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()[0]
    assert embedded >= 28 and vector_index.load(settings.paths(setup).index).ntotal == embedded
    errors = db.execute("SELECT e.url, e.reason FROM run_errors e JOIN runs r ON r.id = e.run_id "
                        "WHERE r.source = 'doj'").fetchall()
    assert errors and "500" in errors[0][1]
    assert (setup.parent / "kb.log").read_text().count("doj: failed") >= 1

    # Nothing due but doj (it failed): articles and vcdb are skipped until their interval passes.
    second = run_update(setup)
    assert "article: not due" in second.stdout and "vcdb: not due" in second.stdout

    # Forced re-run of the unchanged sources: 304s, nothing new, no model work.
    site.requests.clear()
    started = time.perf_counter()
    third = run_update(setup, "article", "vcdb")
    took = time.perf_counter() - started
    assert third.returncode == 0, third.stderr
    assert "article: ok, 3 seen, 0 new, 0 updated, 3 unchanged" in third.stdout
    assert "embedding" not in third.stderr and "embedded 0 chunks" in third.stdout
    page_hits = [h for p, h in site.requests if p.startswith("/news/")]
    assert len(page_hits) == 3 and all(h.get("if-none-match") for h in page_hits)
    print(f"unchanged update took {took:.2f}s")

    history = json.loads(subprocess.run(
        [sys.executable, "-m", "kb.cli", "--db", str(setup), "runs", "--json", "--limit", "50"],
        capture_output=True, text=True, check=True).stdout)
    assert {r["source"] for r in history} >= {"article", "vcdb", "doj"}
    assert any(r["errors"] for r in history if r["source"] == "doj")


def test_a_second_update_exits_at_once_with_the_lock_code(setup, site):
    site.route("/news/0.html", stall(6.0))  # keeps the first run busy
    first = kb_update(setup, "article")
    log = setup.parent / "kb.log"
    deadline = time.time() + 60
    while time.time() < deadline and not (log.exists() and "article: scraping" in log.read_text()):
        time.sleep(0.1)
    started = time.perf_counter()
    second = run_update(setup)
    assert second.returncode == EXIT_LOCKED
    assert "another kb update is running" in second.stderr and f"pid {first.pid}" in second.stderr
    assert time.perf_counter() - started < 10
    first.wait(timeout=120)
    assert first.returncode in (0, EXIT_SOURCE_FAILED)


def kill_update_at(setup, site, marker: str) -> None:
    """Start `kb update` (article, vcdb) and kill -9 it once `marker` shows in kb.log."""
    body = (settings.shared_data() / "news" / "pages" / PAGES[1]).read_bytes()
    site.route("/news/1.html", slowly(1.0, serve(body, etag='"v1"')))  # widen the scraping window
    proc = kb_update(setup, "article", "vcdb")
    log = setup.parent / "kb.log"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and marker in log.read_text():
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("marker", ["article: scraping", "embedding:", "writing index"])
def test_kill_9_at_any_point_then_a_clean_rerun(setup, site, marker):
    kill_update_at(setup, site, marker)
    check_consistent(setup)
    rerun = run_update(setup, "article", "vcdb")
    assert rerun.returncode == 0, rerun.stderr
    check_consistent(setup)
    db = open_db(setup)
    assert db.execute("SELECT count(*) FROM documents WHERE source = 'article'").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM documents WHERE source = 'vcdb'").fetchone()[0] == 25
    embedded = db.execute("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()[0]
    assert embedded == db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert vector_index.load(settings.paths(setup).index).ntotal == embedded


def test_cron_prints_absolute_paths_and_systemd_units(setup):
    out = subprocess.run([sys.executable, "-m", "kb.cli", "--db", str(setup), "cron"],
                         capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l and not l.startswith("#"))
    fields = line.split()
    assert len(fields[:5]) == 5 and fields[5] == "cd"
    assert f"--db {setup.resolve()} update" in line and ">> " in line and "2>&1" in line
    assert str(Path(sys.executable).with_name("kb")) in line
    assert "[Timer]" in out and "OnCalendar=" in out and "ExecStart=" in out and "SuccessExitStatus=75" in out
