"""Bookkeeping of runs: one row in `runs` per source per run, one `run_errors` row per failure.

    run_id = start_run(db, "doj", command="scrape")
    record_error(db, run_id, url, "HTTP 500 (gave up after 4 tries)")
    status = finish_run(db, run_id, {"seen": 10, "new": 2, ..., "failed": 1})

Each call commits on its own, so a crash leaves the run row as 'running'
with the errors recorded so far.
"""

from __future__ import annotations

import os
import json
from typing import Any

from .sql import now_iso

COUNTS = ("seen", "new", "updated", "unchanged", "failed")
OK, PARTIAL, FAILED = "ok", "partial", "failed"
RUNNING, INTERRUPTED, LIMITED = "running", "interrupted", "limited"  # limited: stopped at --limit


def start_run(db, source: str, command: str | None = None) -> int:
    """Open a run of `source`; returns its id. Runs left 'running' by dead processes end 'interrupted'."""
    mark_interrupted(db)
    return db["runs"].insert({"source": source, "command": command, "started": now_iso(),
                              "status": RUNNING, "pid": os.getpid()}).last_pk


def mark_interrupted(db) -> int:
    """Mark 'interrupted' every run still 'running' whose process is gone; returns how many."""
    dead = [row["id"] for row in db.query("SELECT id, pid FROM runs WHERE status = ?", [RUNNING])
            if not _alive(row["pid"])]
    for run_id in dead:
        db["runs"].update(run_id, {"status": INTERRUPTED, "message": "the process running it ended"})
    return len(dead)


def _alive(pid: int | None) -> bool:
    """True when a process with this id runs on this machine (runs without a pid are old: dead)."""
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def record_error(db, run_id: int, url: str | None, reason: str) -> None:
    """Record one failure (the URL or file that failed, and why)."""
    db["run_errors"].insert({"run_id": run_id, "url": url, "reason": reason, "at": now_iso()})


def status_of(counts: dict[str, int]) -> str:
    """ok: no failures; partial: failures beside successes; failed: nothing but failures."""
    if not counts.get("failed"):
        return OK
    done = sum(counts.get(k, 0) for k in ("new", "updated", "unchanged"))
    return PARTIAL if done else FAILED


def finish_run(db, run_id: int, counts: dict[str, int], status: str | None = None,
               message: str | None = None) -> str:
    """Close a run with its counts; the status defaults to `status_of(counts)`. Returns it."""
    status = status or status_of(counts)
    db.execute(
        "UPDATE runs SET finished = ?, status = ?, seen = ?, new = ?, updated = ?, unchanged = ?, "
        "failed = ?, message = ? WHERE id = ?",
        [now_iso(), status, *(counts.get(k, 0) for k in COUNTS), message, run_id],
    )
    return status


def last_runs(db) -> dict[str, dict[str, Any]]:
    """The latest run of each source, as a dict per source."""
    rows = db.query("SELECT * FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY source)")
    return {row["source"]: row for row in rows}


def last_success(db, source: str) -> str | None:
    """When the latest run of `source` that finished without failures started."""
    row = db.execute(
        "SELECT started FROM runs WHERE source = ? AND status = ? ORDER BY id DESC LIMIT 1",
        [source, OK],
    ).fetchone()
    return row[0] if row else None


def run_errors(db, run_id: int) -> list[tuple[str | None, str]]:
    """(url, reason) of every failure of a run."""
    return [tuple(r) for r in db.execute(
        "SELECT url, reason FROM run_errors WHERE run_id = ? ORDER BY id", [run_id]).fetchall()]


def history(db, limit: int = 20) -> list[dict[str, Any]]:
    """The latest runs, newest first, with their duration and errors."""
    rows = list(db.query(
        "SELECT *, (julianday(finished) - julianday(started)) * 86400.0 AS duration_s "
        "FROM runs ORDER BY id DESC LIMIT ?", [limit]))
    for row in rows:
        row["errors"] = [{"url": url, "reason": reason} for url, reason in run_errors(db, row["id"])]
    return rows


def load_state(db, source: str) -> dict[str, Any]:
    """The state a source kept between runs (its backfill cursor); {} when none."""
    row = db.execute("SELECT state FROM source_state WHERE source = ?", [source]).fetchone()
    return json.loads(row[0]) if row else {}


def save_state(db, source: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into the source's stored state; returns the new state."""
    state = {**load_state(db, source), **changes}
    db.execute("INSERT INTO source_state (source, state, updated) VALUES (?, ?, ?) "
               "ON CONFLICT(source) DO UPDATE SET state = excluded.state, updated = excluded.updated",
               [source, json.dumps(state, sort_keys=True), now_iso()])
    return state
