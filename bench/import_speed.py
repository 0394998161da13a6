"""VCDB import speed: documents/second of each stage, against reading the JSON files alone.

Usage: .venv/bin/python bench/import_speed.py [VCDB_JSON_FOLDER]
Compare with older code back to back, in one run (the machine is shared: compare ratios), e.g.
`git archive OLD | tar -x -C /tmp/old && (cd /tmp/old && PYTHONPATH=. ../.venv/bin/python bench/import_speed.py)`.
Stages, on one database: parse (VERIS JSON -> records), store (kb.storage.store, with
FTS triggers), process (kb.extract.pipeline.STEPS: entity extraction and incident
linking). Then, on a fresh database, the whole write path as `kb import vcdb`
runs it (KB.ingest: store and process, one transaction per batch), and
a second, idempotent import that finds everything unchanged.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from kb import settings
from kb.extract import pipeline as ingest
from kb.storage.db import open_db
from kb.sources import vcdb
from kb.storage.store import save_many


def timed(label: str, count: int, func):
    """Run `func`; print documents/s by the clock and by this process's CPU time (steadier where
    other processes share the machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = func()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<34} {count:>6} docs {seconds:7.2f}s {count / seconds:9.0f} docs/s "
          f"({count / max(cpu, 1e-9):6.0f} docs/s of CPU)")
    return result, seconds


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else settings.shared_data() / "vcdb" / "json"
    files = sorted(folder.glob("*.json"))
    n = len(files)
    _, baseline = timed("baseline: json.load only", n, lambda: [json.loads(f.read_text()) for f in files])
    result, parse = timed("parse to records", n, lambda: vcdb.read_folder(folder))
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "stages.db")
        stored, _ = timed("store (kb.storage.store)", n, lambda: save_many(db, result.records))
        timed("process: extract + link (STEPS)", n, lambda: ingest.finish(db))
        db = open_db(Path(tmp) / "kb.db")
        done, write = timed("ingest: store + process", n, lambda: ingest.ingest(db, result.records))
        again, _ = timed("re-import (all unchanged)", n, lambda: ingest.ingest(db, vcdb.read_folder(folder).records))
    total = parse + write
    print(f"{'whole import (parse + ingest)':<34} {n:>6} docs {total:7.2f}s {n / total:9.0f} docs/s "
          f"({total / baseline:.1f}x the time of json.load alone)")
    new = sum(status == "new" for status, _ in stored)
    assert new == done.counts["new"] == n and again.counts["unchanged"] == n


if __name__ == "__main__":
    main()
